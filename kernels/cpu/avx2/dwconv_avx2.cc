// AVX2+FMA depthwise: row preparation and passes (see dwconv.h).
//
// A pass computes R output rows x NB vectors of 8 columns with R*NB <= 8 accumulators: each
// input vector is loaded once and feeds every output row whose window covers its row (a 3x3
// s1 pass of 2 rows: 12 loads for 18 FMAs instead of 18), and narrow planes (7 or 14
// columns) get more rows per pass so that up to 8 independent FMA chains stay in flight.
// 3x3 and 5x5 with stride 1 or 2 along H (dilation 1 along H) are unrolled; other shapes
// take the runtime-geometry pass with one row. Stride along W is free: prepared rows are
// split into phases (even/odd columns for stride 2), so every tap is a plain unaligned load.
#include <immintrin.h>

#include <cstdint>

#include "cpu/avx2/act_avx2.h"
#include "cpu/dwconv.h"

namespace cnnrt {
namespace {

constexpr int kLanes = 8;

// ---- row preparation ------------------------------------------------------------------------
// Masked stores are slow on AMD cores (and this runs once per input row): the tails are
// loaded whole where the plane allows (else masked), zeroed past the row, and stored whole.

// x[m, m+8) with the lanes at or past W zeroed; avail: values readable from x on.
inline __m256 load_tail(const float* x, int64_t m, int64_t W, int64_t avail) {
  const __m256i k = tail_mask(W - m);
  if (avail - m < kLanes) return _mm256_maskload_ps(x + m, k);
  return _mm256_and_ps(_mm256_loadu_ps(x + m), _mm256_castsi256_ps(k));
}

void prep_s1(const float* x, float* row, int64_t avail, const DwGeom& g) {
  float* dst = row + g.PL;
  int64_t m = 0;
  for (; m + kLanes <= g.W; m += kLanes) _mm256_storeu_ps(dst + m, _mm256_loadu_ps(x + m));
  if (m < g.W) _mm256_storeu_ps(dst + m, load_tail(x, m, g.W, avail));
}

// Even input columns go to one phase, odd ones to the other; which is which depends on PL.
void prep_s2(const float* x, float* row, int64_t avail, const DwGeom& g) {
  float* de = row + g.PL % 2 * g.hl + g.PL / 2;                // x[0], x[2], ...
  float* dodd = row + (g.PL + 1) % 2 * g.hl + (g.PL + 1) / 2;  // x[1], x[3], ...
  const __m256i order = _mm256_setr_epi32(0, 1, 4, 5, 2, 3, 6, 7);
  for (int64_t m = 0; m < g.W; m += 2 * kLanes) {
    __m256 a, b;
    if (m + 2 * kLanes <= g.W) {
      a = _mm256_loadu_ps(x + m), b = _mm256_loadu_ps(x + m + kLanes);
    } else if (m + kLanes <= g.W) {
      a = _mm256_loadu_ps(x + m);
      b = m + kLanes < g.W ? load_tail(x, m + kLanes, g.W, avail) : _mm256_setzero_ps();
    } else {
      a = load_tail(x, m, g.W, avail), b = _mm256_setzero_ps();
    }
    // a0 a2 b0 b2 | a4 a6 b4 b6  ->  a0 a2 a4 a6 b0 b2 b4 b6 (and the odd ones alike)
    const __m256 ev = _mm256_permutevar8x32_ps(_mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0)), order);
    const __m256 od = _mm256_permutevar8x32_ps(_mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1)), order);
    _mm256_storeu_ps(de + m / 2, ev);
    _mm256_storeu_ps(dodd + m / 2, od);
  }
}

void prep(const float* x, float* row, int64_t avail, const DwGeom& g) {
  if (g.SW == 1) return prep_s1(x, row, avail, g);
  if (g.SW == 2) return prep_s2(x, row, avail, g);
  for (int64_t m = 0; m < g.W; ++m) {
    const int64_t j = m + g.PL;
    row[j % g.SW * g.hl + j / g.SW] = x[m];
  }
}

// ---- passes ---------------------------------------------------------------------------------

// Stores NB vectors of a row (columns from ow0) with the clamp-like epilogue fused. left:
// rows from this one to the end of the plane; a partial final vector is stored whole when
// that stays inside the plane (see DwPassFn), else masked.
template <int NB>
inline void store_row(const __m256* acc, float* yr, const float* rr, int64_t ow0, int64_t OW,
                      int64_t left, const EpiParams& p) {
#pragma GCC unroll 4
  for (int b = 0; b < NB; ++b) {
    const int64_t ow = ow0 + b * kLanes;
    const bool full = left * OW - ow >= kLanes;
    const __m256i m = tail_mask(OW - ow);
    __m256 v = acc[b];
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

// w, hidden from the optimizer: without it the compiler merges the up to R broadcasts of a
// weight into one register held across the whole tile, and a 5x5 tile's 25 weights spill.
inline const float* opaque(const float* w) {
  asm volatile("" : "+r"(w));
  return w;
}

// R rows x NB vectors from column ow0 of a K x K kernel, stride SH along H, DH == 1.
template <int K, int SH, int R, int NB>
inline void tile(const float* const* rows, const float* w, float bias, float* y,
                 const float* res, int64_t nrows, int64_t left, int64_t ow0, const DwGeom& g,
                 const EpiParams& p) {
  constexpr int Q = (R - 1) * SH + K;
  __m256 acc[R][NB];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int b = 0; b < NB; ++b) acc[r][b] = _mm256_set1_ps(bias);
#pragma GCC unroll 20
  for (int j = 0; j < Q; ++j) {
    const float* xr = rows[j] + ow0;
#pragma GCC unroll 5
    for (int kw = 0; kw < K; ++kw) {
      const float* xt = xr + g.toff[kw];
      __m256 xv[NB];
#pragma GCC unroll 4
      for (int b = 0; b < NB; ++b) xv[b] = _mm256_loadu_ps(xt + b * kLanes);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        const int kh = j - r * SH;
        if (kh < 0 || kh >= K) continue;
        const __m256 wv = _mm256_broadcast_ss(opaque(w) + kh * K + kw);
#pragma GCC unroll 4
        for (int b = 0; b < NB; ++b) acc[r][b] = _mm256_fmadd_ps(xv[b], wv, acc[r][b]);
      }
    }
  }
  // Rows past nrows are not stored. (A store condition inside the unrolled row loop makes
  // GCC 12 hoist every load of the tile and spill; one test for the whole tile does not.)
  if (nrows == R) {
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
      store_row<NB>(acc[r], y + r * g.OW, res ? res + r * g.OW : nullptr, ow0, g.OW, left - r, p);
  } else {
    alignas(32) float tmp[R][NB * kLanes];
    for (int r = 0; r < R; ++r)
      for (int b = 0; b < NB; ++b) _mm256_store_ps(tmp[r] + b * kLanes, acc[r][b]);
    for (int64_t r = 0; r < nrows; ++r) {
      __m256 a[NB];
      for (int b = 0; b < NB; ++b) a[b] = _mm256_load_ps(tmp[r] + b * kLanes);
      store_row<NB>(a, y + r * g.OW, res ? res + r * g.OW : nullptr, ow0, g.OW, left - r, p);
    }
  }
}

// One row x NB vectors, any kernel size, stride and dilation.
template <int NB>
inline void tile_any(const float* const* rows, const float* w, float bias, float* y,
                     const float* res, int64_t, int64_t left, int64_t ow0, const DwGeom& g,
                     const EpiParams& p) {
  __m256 acc[NB];
#pragma GCC unroll 4
  for (int b = 0; b < NB; ++b) acc[b] = _mm256_set1_ps(bias);
  for (int64_t kh = 0; kh < g.KH; ++kh) {
    const float* xr = rows[kh * g.DH] + ow0;
    for (int64_t kw = 0; kw < g.KW; ++kw) {
      const __m256 wv = _mm256_broadcast_ss(w + kh * g.KW + kw);
      const float* xt = xr + g.toff[kw];
#pragma GCC unroll 4
      for (int b = 0; b < NB; ++b) acc[b] = _mm256_fmadd_ps(_mm256_loadu_ps(xt + b * kLanes), wv, acc[b]);
    }
  }
  store_row<NB>(acc, y, res, ow0, g.OW, left, p);
}

template <int NB, int K, int SH, int R>
inline void tile_nb(const float* const* rows, const float* w, float bias, float* y,
                    const float* res, int64_t nrows, int64_t left, int64_t ow0, const DwGeom& g,
                    const EpiParams& p) {
  if constexpr (K == 0)
    tile_any<NB>(rows, w, bias, y, res, nrows, left, ow0, g, p);
  else
    tile<K, SH, R, NB>(rows, w, bias, y, res, nrows, left, ow0, g, p);
}

// K == 0: tile_any (R == 1). The remainder group (holding the partial final vector, which
// may spill into the next row) goes first, then groups of NBMAX vectors.
template <int K, int SH, int R>
void pass(const float* const* rows, const float* w, float bias, float* y, const float* res,
          int64_t nrows, int64_t left, const DwGeom& g, const EpiParams& p) {
  constexpr int NBMAX = R <= 2 ? 4 : 8 / R;
  const int64_t nv = (g.OW + kLanes - 1) / kLanes, rem = nv % NBMAX, v0 = nv - rem;
  if constexpr (NBMAX > 3)
    if (rem == 3) tile_nb<3, K, SH, R>(rows, w, bias, y, res, nrows, left, v0 * kLanes, g, p);
  if constexpr (NBMAX > 2)
    if (rem == 2) tile_nb<2, K, SH, R>(rows, w, bias, y, res, nrows, left, v0 * kLanes, g, p);
  if constexpr (NBMAX > 1)
    if (rem == 1) tile_nb<1, K, SH, R>(rows, w, bias, y, res, nrows, left, v0 * kLanes, g, p);
  for (int64_t v = v0 - NBMAX; v >= 0; v -= NBMAX)
    tile_nb<NBMAX, K, SH, R>(rows, w, bias, y, res, nrows, left, v * kLanes, g, p);
  if (!p.clamp_only) epi_rows__avx2(y, g.OW, res, g.OW, nrows, g.OW, p);
}

template <int K, int SH>
DwPassFn pick_r(int64_t R) {
  switch (R) {
    case 1: return &pass<K, SH, 1>;
    case 2: return &pass<K, SH, 2>;
    case 4: return &pass<K, SH, 4>;
    default: return &pass<K, SH, 8>;
  }
}

// R: enough rows for 8 accumulators with up to 4 vectors per row, but no more than the
// plane's rows need.
DwPassFn choose(DwGeom* g) {
  const int64_t K = g->KH;
  const bool unrolled = g->KH == g->KW && (K == 3 || K == 5) && (g->SH == 1 || g->SH == 2) &&
                        g->DH == 1;
  if (!unrolled) {
    g->R = 1;
    return &pass<0, 0, 1>;
  }
  const int64_t nv = (g->OW + kLanes - 1) / kLanes;
  int64_t R = nv >= 3 ? 2 : nv == 2 ? 4 : 8;
  while (R > 1 && R / 2 >= g->OH) R /= 2;
  g->R = R;
  if (K == 3) return g->SH == 1 ? pick_r<3, 1>(R) : pick_r<3, 2>(R);
  return g->SH == 1 ? pick_r<5, 1>(R) : pick_r<5, 2>(R);
}

}  // namespace

const DwOps f32_dwconv_plane__avx2 = {&prep, kLanes, &choose};

}  // namespace cnnrt
