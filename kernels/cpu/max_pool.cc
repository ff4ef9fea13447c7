// max_pool, separable: the max over a KH x KW window is the max over KW columns of the max
// over KH rows. Per output row: a vertical pass takes the max of the clipped KH input rows
// (whole rows, contiguous: vectorized); a horizontal pass takes, at every input column where
// the KW taps all fit, the max of the KW shifted copies of that row (contiguous again), and
// picks every SW-th of them; only the border columns, whose taps are clipped, go tap by tap.
// ResNet's 3x3/2 pool on 112x112x64: 506 us when the horizontal pass went tap by tap for every
// output (onnxruntime: 118 us). Clipping and empty windows (lowest) are the reference kernel's
// (ref/max_pool.cc); the result is bit-identical to it.
#include <algorithm>
#include <limits>
#include <vector>

#include "cnnrt/parallel_for.h"
#include "cnnrt/pool_geom.h"

namespace cnnrt {
namespace {

// d[i] = max(a[i], b[i]); d may be a (vectorizes: the arrays are contiguous)
void max_of(const float* a, const float* b, float* d, int64_t n) {
  for (int64_t i = 0; i < n; ++i) d[i] = std::max(a[i], b[i]);
}

}  // namespace

std::unique_ptr<StepKernel> make_max_pool_separable(const Pool2d& g) {
  std::vector<int64_t> w0(size_t(g.OW)), w1(size_t(g.OW)), h0(size_t(g.OH)), h1(size_t(g.OH));
  for (int64_t ow = 0; ow < g.OW; ++ow) Pool2d::taps(ow, g.SW, g.PL, g.DW, g.KW, 0, g.W, w0[ow], w1[ow]);
  for (int64_t oh = 0; oh < g.OH; ++oh) Pool2d::taps(oh, g.SH, g.PT, g.DH, g.KH, 0, g.H, h0[oh], h1[oh]);
  // Columns with every tap inside the row: one contiguous run [ow_lo, ow_hi), whose window
  // starts i = ow*SW - PL lie in [0, dense) with dense = W - (KW-1)*DW.
  const int64_t dense = std::max<int64_t>(0, g.W - (g.KW - 1) * g.DW);
  int64_t ow_lo = 0, ow_hi = 0;
  while (ow_lo < g.OW && w1[ow_lo] - w0[ow_lo] < g.KW) ++ow_lo;
  for (ow_hi = ow_lo; ow_hi < g.OW && w1[ow_hi] - w0[ow_hi] == g.KW; ++ow_hi) {}
  return make_fn_kernel("f32_max_pool_separable", [=](const StepArgs& a) {
    constexpr float kLowest = std::numeric_limits<float>::lowest();
    parallel_for(a.par, g.N * g.C, grain_for(g.OH * g.W * (g.KH + g.KW)),
                 [&](int64_t p0, int64_t p1, int) {
      std::vector<float> col(static_cast<size_t>(g.W)), win(static_cast<size_t>(dense));
      for (int64_t p = p0; p < p1; ++p) {
        const float* x = a.in[0] + p * g.H * g.W;
        float* y = a.out[0] + p * g.OH * g.OW;
        for (int64_t oh = 0; oh < g.OH; ++oh) {
          float* c = col.data();
          const int64_t taps = h1[oh] - h0[oh];
          auto row = [&](int64_t kh) { return x + (oh * g.SH - g.PT + kh * g.DH) * g.W; };
          // the first two rows in one pass, then one more per further row
          if (taps == 0) std::fill(c, c + g.W, kLowest);
          if (taps == 1) std::copy(row(h0[oh]), row(h0[oh]) + g.W, c);
          if (taps >= 2) max_of(row(h0[oh]), row(h0[oh] + 1), c, g.W);
          for (int64_t kh = h0[oh] + 2; kh < h1[oh]; ++kh) max_of(c, row(kh), c, g.W);
          float* yr = y + oh * g.OW;
          if (ow_hi > ow_lo) {
            float* d = win.data();
            if (g.KW == 1) std::copy(c, c + dense, d);
            else max_of(c, c + g.DW, d, dense);
            for (int64_t kw = 2; kw < g.KW; ++kw) max_of(d, c + kw * g.DW, d, dense);
            const float* d0 = d - g.PL;
            for (int64_t ow = ow_lo; ow < ow_hi; ++ow) yr[ow] = d0[ow * g.SW];
          }
          auto clipped = [&](int64_t ow) {
            const float* cw = c + ow * g.SW - g.PL;
            float m = kLowest;
            for (int64_t kw = w0[ow]; kw < w1[ow]; ++kw) m = std::max(m, cw[kw * g.DW]);
            yr[ow] = m;
          };
          for (int64_t ow = 0; ow < ow_lo; ++ow) clipped(ow);
          for (int64_t ow = ow_hi; ow < g.OW; ++ow) clipped(ow);
        }
      }
    });
  });
}

}  // namespace cnnrt
