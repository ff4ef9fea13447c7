// Portable depthwise pass, one output row at a time: start from the bias and accumulate one
// tap at a time over the whole row. Prepared rows make every tap a unit-stride read, so the
// compiler vectorizes the inner loop for any stride.
#include <cstdint>

#include "cpu/dwconv.h"

namespace cnnrt {
namespace {

float clampf(float v, float lo, float hi) { return v < lo ? lo : v > hi ? hi : v; }

void prep(const float* x, float* row, int64_t, const DwGeom& g) {
  for (int64_t m = 0; m < g.W; ++m) {
    const int64_t j = m + g.PL;
    row[j % g.SW * g.hl + j / g.SW] = x[m];
  }
}

void pass(const float* const* rows, const float* w, float bias, float* y, const float* res,
          int64_t nrows, int64_t, const DwGeom& g, const EpiParams& p) {
  for (int64_t r = 0; r < nrows; ++r) {
    float* yr = y + r * g.OW;
    for (int64_t ow = 0; ow < g.OW; ++ow) yr[ow] = bias;
    for (int64_t kh = 0; kh < g.KH; ++kh) {
      const float* xr = rows[r * g.SH + kh * g.DH];
      for (int64_t kw = 0; kw < g.KW; ++kw) {
        const float wv = w[kh * g.KW + kw];
        const float* xt = xr + g.toff[kw];
        for (int64_t ow = 0; ow < g.OW; ++ow) yr[ow] += wv * xt[ow];
      }
    }
    const float* rr = res ? res + r * g.OW : nullptr;
    if (!p.clamp_only) {
      epi_rows__portable(yr, 0, rr, 0, 1, g.OW, p);
      continue;
    }
    for (int64_t ow = 0; ow < g.OW; ++ow) {
      float v = yr[ow];
      if (p.clamp) v = clampf(v, p.lo, p.hi);
      if (rr) {
        v += rr[ow];
        if (p.post_clamp) v = clampf(v, p.post_lo, p.post_hi);
      }
      yr[ow] = v;
    }
  }
}

DwPassFn choose(DwGeom* g) {
  g->R = 1;
  return &pass;
}

}  // namespace

const DwOps f32_dwconv_plane__portable = {&prep, 1, &choose};

}  // namespace cnnrt
