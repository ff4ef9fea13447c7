// The reference conv: direct loops with double accumulation, no blocking, no tricks. It is
// the oracle every optimized conv variant is tested against, and handles every valid desc.
#include <vector>

#include "cpu/variants.h"

namespace cnnrt {
namespace {

class RefConv final : public ConvKernel {
 public:
  RefConv(const ConvDesc& d, const float* w, const float* b)
      : d_(d), w_(w, w + d.M * (d.C / d.G) * d.KH * d.KW), b_(b ? b : w, b ? b + d.M : w) {}

  const char* name() const override { return "f32_conv__ref"; }
  size_t scratch_bytes(int) const override { return 0; }

  void run(const float* x, float* y, const float* residual, void*,
           const Parallel& par) const override {
    const ConvDesc& d = d_;
    par.for_each(d.N * d.M, [&](int64_t i, int) { plane(i / d.M, i % d.M, x, y, residual); });
  }

 private:
  // Output channel m of image n.
  void plane(int64_t n, int64_t m, const float* x, float* y, const float* residual) const {
    const ConvDesc& d = d_;
    const int64_t cg = d.C / d.G, mg = d.M / d.G, g = m / mg;
    const int64_t osz = d.OH * d.OW;
    float* yp = y + n * d.out_batch_stride + m * osz;
    const float* rp = residual && d.epi.has_residual ? residual + (n * d.M + m) * osz : nullptr;
    for (int64_t oh = 0; oh < d.OH; ++oh)
      for (int64_t ow = 0; ow < d.OW; ++ow) {
        double acc = b_.empty() ? 0.0 : b_[m];
        for (int64_t c = 0; c < cg; ++c) {
          const float* xp = x + (n * d.C + g * cg + c) * d.H * d.W;
          const float* wp = w_.data() + ((m * cg + c) * d.KH) * d.KW;
          for (int64_t kh = 0; kh < d.KH; ++kh) {
            const int64_t ih = oh * d.SH - d.PT + kh * d.DH;
            if (ih < 0 || ih >= d.H) continue;
            for (int64_t kw = 0; kw < d.KW; ++kw) {
              const int64_t iw = ow * d.SW - d.PL + kw * d.DW;
              if (iw < 0 || iw >= d.W) continue;
              acc += double(xp[ih * d.W + iw]) * wp[kh * d.KW + kw];
            }
          }
        }
        const Epilogue& e = d.epi;
        float v = apply_act(e.act, float(acc), e.alpha, e.beta);
        if (rp) v = apply_act(e.post_act, v + rp[oh * d.OW + ow], e.post_alpha, e.post_beta);
        yp[oh * d.OW + ow] = v;
      }
  }

  ConvDesc d_;
  std::vector<float> w_, b_;
};

}  // namespace

std::unique_ptr<ConvKernel> make_ref_conv(const ConvDesc& d, const float* w, const float* b) {
  validate_conv_desc(d);
  return std::make_unique<RefConv>(d, w, b);
}

}  // namespace cnnrt
