// Portable depthwise plane: per output row, start from the bias and accumulate one tap at a
// time over the whole row (a unit-stride loop the compiler vectorizes for SW == 1).
#include <cstdint>

#include "cpu/dwconv.h"

namespace cnnrt {
namespace {

float clampf(float v, float lo, float hi) { return v < lo ? lo : v > hi ? hi : v; }

void plane(const float* xp, const float* w, float bias, float* y, const float* res,
           const DwGeom& g, const EpiParams& p) {
  for (int64_t oh = 0; oh < g.OH; ++oh) {
    float* yr = y + oh * g.OW;
    for (int64_t ow = 0; ow < g.OW; ++ow) yr[ow] = bias;
    for (int64_t kh = 0; kh < g.KH; ++kh) {
      const float* xr = xp + (oh * g.SH + kh * g.DH) * g.pw;
      for (int64_t kw = 0; kw < g.KW; ++kw) {
        const float wv = w[kh * g.KW + kw];
        const float* xt = xr + kw * g.DW;
        if (g.SW == 1)
          for (int64_t ow = 0; ow < g.OW; ++ow) yr[ow] += wv * xt[ow];
        else
          for (int64_t ow = 0; ow < g.OW; ++ow) yr[ow] += wv * xt[ow * g.SW];
      }
    }
    const float* rr = res ? res + oh * g.OW : nullptr;
    if (!p.clamp_only) {
      epi_row__portable(yr, rr, g.OW, p);
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

}  // namespace

const DwOps f32_dwconv_plane__portable = {&plane, 1};

}  // namespace cnnrt
