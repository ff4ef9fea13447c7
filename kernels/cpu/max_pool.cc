// max_pool, separable: the max over a KH x KW window is the max over KH rows of the max over
// KW columns. A row pass (per input row, per output column, the clipped KW taps) fills a
// per-thread H x OW buffer; a column pass (per output row, the clipped KH rows) is contiguous
// over the output columns, so the compiler vectorizes it. KH + KW comparisons per output
// instead of KH * KW, and the tap clipping is computed once per column and row, not per
// element. Clipping and empty windows (lowest) are the reference kernel's (ref/max_pool.cc).
#include <algorithm>
#include <limits>
#include <vector>

#include "cnnrt/parallel_for.h"
#include "cnnrt/pool_geom.h"

namespace cnnrt {

std::unique_ptr<StepKernel> make_max_pool_separable(const Pool2d& g) {
  std::vector<int64_t> w0(size_t(g.OW)), w1(size_t(g.OW)), h0(size_t(g.OH)), h1(size_t(g.OH));
  for (int64_t ow = 0; ow < g.OW; ++ow) Pool2d::taps(ow, g.SW, g.PL, g.DW, g.KW, 0, g.W, w0[ow], w1[ow]);
  for (int64_t oh = 0; oh < g.OH; ++oh) Pool2d::taps(oh, g.SH, g.PT, g.DH, g.KH, 0, g.H, h0[oh], h1[oh]);
  return make_fn_kernel("f32_max_pool_separable", [=](const StepArgs& a) {
    constexpr float kLowest = std::numeric_limits<float>::lowest();
    parallel_for(a.par, g.N * g.C, grain_for(g.H * g.OW * g.KW + g.OH * g.OW * g.KH),
                 [&](int64_t p0, int64_t p1, int) {
      std::vector<float> rows(size_t(g.H * g.OW));
      for (int64_t p = p0; p < p1; ++p) {
        const float* x = a.in[0] + p * g.H * g.W;
        float* y = a.out[0] + p * g.OH * g.OW;
        for (int64_t ih = 0; ih < g.H; ++ih) {
          const float* xr = x + ih * g.W;
          float* r = rows.data() + ih * g.OW;
          for (int64_t ow = 0; ow < g.OW; ++ow) {
            const float* xw = xr + ow * g.SW - g.PL;
            float m = kLowest;
            for (int64_t kw = w0[ow]; kw < w1[ow]; ++kw) m = std::max(m, xw[kw * g.DW]);
            r[ow] = m;
          }
        }
        for (int64_t oh = 0; oh < g.OH; ++oh) {
          float* yr = y + oh * g.OW;
          std::fill(yr, yr + g.OW, kLowest);
          for (int64_t kh = h0[oh]; kh < h1[oh]; ++kh) {
            const float* r = rows.data() + (oh * g.SH - g.PT + kh * g.DH) * g.OW;
            for (int64_t ow = 0; ow < g.OW; ++ow) yr[ow] = std::max(yr[ow], r[ow]);
          }
        }
      }
    });
  });
}

}  // namespace cnnrt
