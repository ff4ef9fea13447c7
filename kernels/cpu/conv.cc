// make_conv_kernel: validates the desc, then takes the first kernels.inc variant whose ISA
// is at most the requested one and which accepts the shape (kernels.inc order = preference).
#include <stdexcept>
#include <string>

#include "cpu/variants.h"

namespace cnnrt {
namespace {

std::string dims(const ConvDesc& d) {
  auto s = [](int64_t v) { return std::to_string(v); };
  return "conv N=" + s(d.N) + " C=" + s(d.C) + " H=" + s(d.H) + " W=" + s(d.W) + " M=" + s(d.M) +
         " OH=" + s(d.OH) + " OW=" + s(d.OW) + " K=" + s(d.KH) + "x" + s(d.KW) + " S=" + s(d.SH) +
         "x" + s(d.SW) + " pads=" + s(d.PT) + "," + s(d.PL) + "," + s(d.PB) + "," + s(d.PR) +
         " D=" + s(d.DH) + "x" + s(d.DW) + " G=" + s(d.G);
}

void check(bool ok, const ConvDesc& d, const std::string& what) {
  if (!ok) throw std::invalid_argument("invalid " + dims(d) + ": " + what);
}

// floor((in + pads - dil*(k-1) - 1) / stride) + 1, or <= 0 when the kernel does not fit.
int64_t out_size(int64_t in, int64_t pad0, int64_t pad1, int64_t k, int64_t s, int64_t dil) {
  const int64_t span = in + pad0 + pad1 - dil * (k - 1) - 1;
  return span < 0 ? 0 : span / s + 1;
}

}  // namespace

void validate_conv_desc(const ConvDesc& d) {
  check(d.N > 0 && d.C > 0 && d.H > 0 && d.W > 0 && d.M > 0, d, "sizes must be positive");
  check(d.KH > 0 && d.KW > 0 && d.SH > 0 && d.SW > 0 && d.DH > 0 && d.DW > 0, d,
        "kernel, stride and dilation must be positive");
  check(d.PT >= 0 && d.PL >= 0 && d.PB >= 0 && d.PR >= 0, d, "pads must be non-negative");
  check(d.G > 0 && d.C % d.G == 0 && d.M % d.G == 0, d, "C and M must be multiples of G");
  const int64_t oh = out_size(d.H, d.PT, d.PB, d.KH, d.SH, d.DH);
  const int64_t ow = out_size(d.W, d.PL, d.PR, d.KW, d.SW, d.DW);
  check(oh > 0 && ow > 0, d, "the dilated kernel is larger than the padded input");
  check(d.OH == oh && d.OW == ow, d,
        "OH/OW must be floor((H+PT+PB-DH*(KH-1)-1)/SH)+1 = " + std::to_string(oh) + "x" +
            std::to_string(ow));
  check(d.out_batch_stride >= d.M * d.OH * d.OW, d, "out_batch_stride must be >= M*OH*OW");
}

std::unique_ptr<ConvKernel> make_conv_kernel(const ConvDesc& d, const float* weights,
                                             const float* bias, Isa isa) {
  validate_conv_desc(d);
  if (!weights) throw std::invalid_argument("conv: weights must not be null");
  if (isa == Isa::Ref) return make_ref_conv(d, weights, bias);
  if (!isa_supported(isa))
    throw std::invalid_argument(std::string("conv: ISA ") + isa_name(isa) +
                                " is not supported by this CPU");
  for (const ConvVariant& v : conv_variants()) {
    if (int(v.isa) > int(isa) || !isa_supported(v.isa)) continue;
    if (auto k = v.create(d, weights, bias)) return k;
  }
  return make_ref_conv(d, weights, bias);  // unreachable: the portable GEMM takes every desc
}

}  // namespace cnnrt
