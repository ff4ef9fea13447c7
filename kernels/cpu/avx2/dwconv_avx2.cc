// AVX2+FMA depthwise plane, vectorized along the output width for stride 1 and 2 (stride 2
// loads 16 inputs and keeps the even ones), up to 4 vectors (32 outputs) per step so that
// 8 independent FMA chains are in flight (even/odd taps apart); 3x3 and 5x5 have their taps fully unrolled.
// Reads stay inside the padded plane (dwconv.cc sizes the rows for 8 lanes); the output
// tail is stored with a mask.
#include <immintrin.h>

#include <cstdint>

#include "cpu/dwconv.h"

namespace cnnrt {
namespace {

constexpr int kLanes = 8;

template <int S>
inline __m256 load_s(const float* p) {
  if (S == 1) return _mm256_loadu_ps(p);
  const __m256 a = _mm256_loadu_ps(p), b = _mm256_loadu_ps(p + 8);
  // a0 a2 b0 b2 | a4 a6 b4 b6  ->  a0 a2 a4 a6 b0 b2 b4 b6
  const __m256 t = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0));
  return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(t), _MM_SHUFFLE(3, 1, 2, 0)));
}

inline __m256i tail_mask(int64_t n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(int(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

inline __m256 clamp8(__m256 v, float lo, float hi) {
  return _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(lo)), _mm256_set1_ps(hi));
}

// NB vectors of one output row starting at column ow0. K == 0: kernel size from g.
template <int K, int S, int NB>
inline void block(const float* xr, const float* w, float bias, float* yr, const float* rr,
                  int64_t ow0, const DwGeom& g, const EpiParams& p) {
  const int64_t KH = K ? K : g.KH, KW = K ? K : g.KW;
  // Even and odd taps go to separate accumulators: 2*NB independent FMA chains.
  __m256 acc[2][NB];
  for (int b = 0; b < NB; ++b) acc[0][b] = _mm256_set1_ps(bias), acc[1][b] = _mm256_setzero_ps();
  const float* x0 = xr + ow0 * S;
  for (int64_t kh = 0; kh < KH; ++kh) {
    const float* xk = x0 + kh * g.DH * g.pw;
    for (int64_t kw = 0; kw < KW; ++kw) {
      const int64_t t = kh * KW + kw;
      const __m256 wv = _mm256_broadcast_ss(w + t);
      const float* xt = xk + kw * g.DW;
      __m256* a = acc[t & 1];
      for (int b = 0; b < NB; ++b) a[b] = _mm256_fmadd_ps(load_s<S>(xt + b * kLanes * S), wv, a[b]);
    }
  }
  for (int b = 0; b < NB; ++b) {
    const int64_t ow = ow0 + b * kLanes;
    const bool full = ow + kLanes <= g.OW;
    const __m256i m = tail_mask(g.OW - ow);
    __m256 v = _mm256_add_ps(acc[0][b], acc[1][b]);
    if (p.clamp_only) {
      if (p.clamp) v = clamp8(v, p.lo, p.hi);
      if (rr) {
        v = _mm256_add_ps(v, full ? _mm256_loadu_ps(rr + ow) : _mm256_maskload_ps(rr + ow, m));
        if (p.post_clamp) v = clamp8(v, p.post_lo, p.post_hi);
      }
    }
    if (full)
      _mm256_storeu_ps(yr + ow, v);
    else
      _mm256_maskstore_ps(yr + ow, m, v);
  }
}

template <int K, int S>
void plane_vec(const float* xp, const float* w, float bias, float* y, const float* res,
               const DwGeom& g, const EpiParams& p) {
  const int64_t nv = (g.OW + kLanes - 1) / kLanes;
  for (int64_t oh = 0; oh < g.OH; ++oh) {
    const float* xr = xp + oh * g.SH * g.pw;
    float* yr = y + oh * g.OW;
    const float* rr = res ? res + oh * g.OW : nullptr;
    int64_t v = 0;
    for (; v + 4 <= nv; v += 4) block<K, S, 4>(xr, w, bias, yr, rr, v * kLanes, g, p);
    switch (nv - v) {
      case 3: block<K, S, 3>(xr, w, bias, yr, rr, v * kLanes, g, p); break;
      case 2: block<K, S, 2>(xr, w, bias, yr, rr, v * kLanes, g, p); break;
      case 1: block<K, S, 1>(xr, w, bias, yr, rr, v * kLanes, g, p); break;
      default: break;
    }
    if (!p.clamp_only) epi_row__avx2(yr, rr, g.OW, p);
  }
}

// Strides above 2 (rare in depthwise convs): scalar.
void plane_scalar(const float* xp, const float* w, float bias, float* y, const float* res,
                  const DwGeom& g, const EpiParams& p) {
  for (int64_t oh = 0; oh < g.OH; ++oh) {
    float* yr = y + oh * g.OW;
    for (int64_t ow = 0; ow < g.OW; ++ow) {
      float acc = bias;
      for (int64_t kh = 0; kh < g.KH; ++kh)
        for (int64_t kw = 0; kw < g.KW; ++kw)
          acc += w[kh * g.KW + kw] * xp[(oh * g.SH + kh * g.DH) * g.pw + ow * g.SW + kw * g.DW];
      yr[ow] = acc;
    }
    const float* rr = res ? res + oh * g.OW : nullptr;
    if (p.clamp_only) {
      for (int64_t ow = 0; ow < g.OW; ++ow) {
        float v = yr[ow];
        if (p.clamp) v = v < p.lo ? p.lo : v > p.hi ? p.hi : v;
        if (rr) {
          v += rr[ow];
          if (p.post_clamp) v = v < p.post_lo ? p.post_lo : v > p.post_hi ? p.post_hi : v;
        }
        yr[ow] = v;
      }
    } else {
      epi_row__avx2(yr, rr, g.OW, p);
    }
  }
}

void plane(const float* xp, const float* w, float bias, float* y, const float* res,
           const DwGeom& g, const EpiParams& p) {
  const bool k3 = g.KH == 3 && g.KW == 3, k5 = g.KH == 5 && g.KW == 5;
  if (g.SW == 1) {
    if (k3) return plane_vec<3, 1>(xp, w, bias, y, res, g, p);
    if (k5) return plane_vec<5, 1>(xp, w, bias, y, res, g, p);
    return plane_vec<0, 1>(xp, w, bias, y, res, g, p);
  }
  if (g.SW == 2) {
    if (k3) return plane_vec<3, 2>(xp, w, bias, y, res, g, p);
    if (k5) return plane_vec<5, 2>(xp, w, bias, y, res, g, p);
    return plane_vec<0, 2>(xp, w, bias, y, res, g, p);
  }
  plane_scalar(xp, w, bias, y, res, g, p);
}

}  // namespace

const DwOps f32_dwconv_plane__avx2 = {&plane, kLanes};

}  // namespace cnnrt
