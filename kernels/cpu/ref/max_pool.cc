// max_pool: 2-D max over each window, windows clipped to the input (pads and ceil_mode
// windows that run past them only shrink the window). Planes (N*C) run in parallel. This is
// the oracle (isa=ref); every other ISA gets the separable kernel of kernels/cpu/max_pool.cc.
#include <algorithm>
#include <limits>

#include "cnnrt/parallel_for.h"
#include "cnnrt/pool_geom.h"

namespace cnnrt {

std::unique_ptr<StepKernel> make_max_pool_separable(const Pool2d& g);  // kernels/cpu/max_pool.cc

std::unique_ptr<StepKernel> make_max_pool_step(const StepSpec& s) {
  const Pool2d g = read_pool2d(s);
  if (s.isa != Isa::Ref) return make_max_pool_separable(g);
  return make_fn_kernel("f32_max_pool__ref", [=](const StepArgs& a) {
    parallel_for(a.par, g.N * g.C, grain_for(g.OH * g.OW * g.KH * g.KW), [&](int64_t p0, int64_t p1, int) {
      for (int64_t p = p0; p < p1; ++p) {
        const float* x = a.in[0] + p * g.H * g.W;
        float* y = a.out[0] + p * g.OH * g.OW;
        for (int64_t oh = 0; oh < g.OH; ++oh) {
          int64_t kh0, kh1;
          Pool2d::taps(oh, g.SH, g.PT, g.DH, g.KH, 0, g.H, kh0, kh1);
          for (int64_t ow = 0; ow < g.OW; ++ow) {
            int64_t kw0, kw1;
            Pool2d::taps(ow, g.SW, g.PL, g.DW, g.KW, 0, g.W, kw0, kw1);
            float m = std::numeric_limits<float>::lowest();  // an empty window gives lowest, as ORT
            for (int64_t kh = kh0; kh < kh1; ++kh) {
              const float* xr = x + (oh * g.SH - g.PT + kh * g.DH) * g.W + ow * g.SW - g.PL;
              for (int64_t kw = kw0; kw < kw1; ++kw) m = std::max(m, xr[kw * g.DW]);
            }
            y[oh * g.OW + ow] = m;
          }
        }
      }
    });
  });
}

}  // namespace cnnrt
