// avg_pool: 2-D mean over each window. The sum covers the window clipped to the input; the
// divisor is the window clipped to the padded extent [-pad_begin, H + pad_end) when
// count_include_pad, else clipped to the input [0, H). Planes (N*C) run in parallel.
#include "cnnrt/parallel_for.h"
#include "cnnrt/pool_geom.h"

namespace cnnrt {

std::unique_ptr<StepKernel> make_avg_pool_step(const StepSpec& s) {
  const Pool2d g = read_pool2d(s);
  const int64_t cip = s.attrs->i_or("count_include_pad", 0);
  expect(cip == 0 || cip == 1, "count_include_pad must be 0 or 1");
  return make_fn_kernel("f32_avg_pool__ref", [=](const StepArgs& a) {
    parallel_for(a.par, g.N * g.C, grain_for(g.OH * g.OW * g.KH * g.KW), [&](int64_t p0, int64_t p1, int) {
      for (int64_t p = p0; p < p1; ++p) {
        const float* x = a.in[0] + p * g.H * g.W;
        float* y = a.out[0] + p * g.OH * g.OW;
        for (int64_t oh = 0; oh < g.OH; ++oh) {
          int64_t kh0, kh1, ch0, ch1;
          Pool2d::taps(oh, g.SH, g.PT, g.DH, g.KH, 0, g.H, kh0, kh1);
          Pool2d::taps(oh, g.SH, g.PT, g.DH, g.KH, cip ? -g.PT : 0, cip ? g.H + g.PB : g.H, ch0, ch1);
          for (int64_t ow = 0; ow < g.OW; ++ow) {
            int64_t kw0, kw1, cw0, cw1;
            Pool2d::taps(ow, g.SW, g.PL, g.DW, g.KW, 0, g.W, kw0, kw1);
            Pool2d::taps(ow, g.SW, g.PL, g.DW, g.KW, cip ? -g.PL : 0, cip ? g.W + g.PR : g.W, cw0, cw1);
            float sum = 0.f;
            for (int64_t kh = kh0; kh < kh1; ++kh) {
              const float* xr = x + (oh * g.SH - g.PT + kh * g.DH) * g.W + ow * g.SW - g.PL;
              for (int64_t kw = kw0; kw < kw1; ++kw) sum += xr[kw * g.DW];
            }
            const int64_t count = (ch1 - ch0) * (cw1 - cw0);
            y[oh * g.OW + ow] = count > 0 ? sum / float(count) : 0.f;
          }
        }
      }
    });
  });
}

}  // namespace cnnrt
