// The tables of kernels.inc: one creator per listed variant.
#include "cpu/dwconv.h"
#include "cpu/fc.h"
#include "cpu/gemm_blocking.h"
#include "cpu/variants.h"
#include "cpu/winograd.h"

namespace cnnrt {
namespace {

#define CNNRT_CONV_KERNEL(name, isa, family, impl)                                        \
  std::unique_ptr<ConvKernel> create_##name(const ConvDesc& d, const float* w,            \
                                            const float* b) {                             \
    return family(d, w, b, impl, #name);                                                  \
  }
#define CNNRT_GEMM_KERNEL(name, isa, family, impl)                                        \
  std::unique_ptr<GemmKernel> create_##name(const GemmDesc& d, const float* w,            \
                                            const float* b) {                             \
    return family(d, w, b, impl, #name);                                                  \
  }
#include "cpu/kernels.inc"

}  // namespace

const std::vector<ConvVariant>& conv_variants() {
  static const std::vector<ConvVariant> v = {
#define CNNRT_CONV_KERNEL(name, isa, family, impl) {#name, Isa::isa, &create_##name},
#include "cpu/kernels.inc"
  };
  return v;
}

const std::vector<GemmVariant>& gemm_variants() {
  static const std::vector<GemmVariant> v = {
#define CNNRT_GEMM_KERNEL(name, isa, family, impl) {#name, Isa::isa, &create_##name},
#include "cpu/kernels.inc"
  };
  return v;
}

}  // namespace cnnrt
