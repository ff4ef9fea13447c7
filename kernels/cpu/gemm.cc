// make_gemm_kernel: validates the desc and picks the first kernels.inc gemm variant whose ISA
// is at most the requested one.
#include <stdexcept>
#include <string>

#include "cpu/variants.h"

namespace cnnrt {

void validate_gemm_desc(const GemmDesc& d) {
  if (d.N <= 0 || d.K <= 0 || d.M <= 0)
    throw std::invalid_argument("invalid gemm N=" + std::to_string(d.N) + " K=" +
                                std::to_string(d.K) + " M=" + std::to_string(d.M) +
                                ": sizes must be positive");
}

std::unique_ptr<GemmKernel> make_gemm_kernel(const GemmDesc& d, const float* weights,
                                             const float* bias, Isa isa) {
  validate_gemm_desc(d);
  if (!weights) throw std::invalid_argument("gemm: weights must not be null");
  if (isa == Isa::Ref) return make_ref_gemm(d, weights, bias);
  if (!isa_supported(isa))
    throw std::invalid_argument(std::string("gemm: ISA ") + isa_name(isa) +
                                " is not supported by this CPU");
  for (const GemmVariant& v : gemm_variants()) {
    if (int(v.isa) > int(isa) || !isa_supported(v.isa)) continue;
    if (auto k = v.create(d, weights, bias)) return k;
  }
  return make_ref_gemm(d, weights, bias);
}

}  // namespace cnnrt
