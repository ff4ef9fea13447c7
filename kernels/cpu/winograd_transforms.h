// The F(4x4, 3x3) tile transforms over one panel of L tiles, vectorized across the tiles by the
// compiler with the including ISA folder's flags. Raw loops only and everything in an anonymous
// namespace: no ISA's copy of a template may be picked by the linker for another (epilogue.h).
//   B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
//   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
#pragma once
#include "cpu/winograd.h"

namespace cnnrt {
namespace {

constexpr int kWinoT = 6, kWinoOut = 4;

// out[a*s + j] = sum_k B^T[a][k] in[k*s + j], j < L.
template <int L>
inline void wino_bt(const float* __restrict__ in, int64_t s, float* __restrict__ out, int64_t so) {
#pragma GCC ivdep  // in and out never overlap; without it GCC keeps strided outputs scalar
  for (int j = 0; j < L; ++j) {
    const float d0 = in[0 * s + j], d1 = in[1 * s + j], d2 = in[2 * s + j], d3 = in[3 * s + j],
                d4 = in[4 * s + j], d5 = in[5 * s + j];
    out[0 * so + j] = 4.f * d0 - 5.f * d2 + d4;
    out[1 * so + j] = -4.f * (d1 + d2) + d3 + d4;
    out[2 * so + j] = 4.f * (d1 - d2) - d3 + d4;
    out[3 * so + j] = -2.f * (d1 - d3) - d2 + d4;
    out[4 * so + j] = 2.f * (d1 - d3) - d2 + d4;
    out[5 * so + j] = 4.f * d1 - 5.f * d3 + d5;
  }
}

// out[a*so + j] = sum_k A^T[a][k] in[k*s + j], 4 rows.
template <int L>
inline void wino_at(const float* __restrict__ in, int64_t s, float* __restrict__ out, int64_t so) {
#pragma GCC ivdep
  for (int j = 0; j < L; ++j) {
    const float s0 = in[0 * s + j], s1 = in[1 * s + j], s2 = in[2 * s + j], s3 = in[3 * s + j],
                s4 = in[4 * s + j], s5 = in[5 * s + j];
    const float p12 = s1 + s2, m12 = s1 - s2, p34 = s3 + s4, m34 = s3 - s4;
    out[0 * so + j] = s0 + p12 + p34;
    out[1 * so + j] = m12 + 2.f * m34;
    out[2 * so + j] = p12 + 4.f * p34;
    out[3 * so + j] = m12 + 8.f * m34 + s5;
  }
}

template <int L>
void wino_input(const WinoTiles& g, int64_t t0, int64_t nt, float* v, int64_t xi_stride) {
  alignas(64) float d[kWinoT * kWinoT * L];  // d[(a*6 + b)*L + j]
  const int64_t r0 = g.tr0 + t0 / g.tw, c0 = t0 % g.tw;
  const int64_t iy0 = r0 * kWinoOut - g.pt, ix0 = c0 * kWinoOut - g.pl;
  if (t0 + L <= nt && c0 + L <= g.tw && iy0 >= 0 && ix0 >= 0 && iy0 + kWinoT <= g.h &&
      ix0 + kWinoOut * (L - 1) + kWinoT <= g.w) {
    // the whole panel is one run of tiles inside the input: six rows, stride-4 windows
    for (int a = 0; a < kWinoT; ++a) {
      const float* row = g.x + (iy0 + a) * g.w + ix0;
      for (int b = 0; b < kWinoT; ++b)
        for (int j = 0; j < L; ++j) d[(a * kWinoT + b) * L + j] = row[kWinoOut * j + b];
    }
  } else {
    // tile by tile (a panel spans tile rows whenever a row has fewer than L tiles: every map
    // of ResNet's 3x3 convs); a tile inside the input is a plain 6x6 copy, only border tiles
    // check each element
    for (int j = 0; j < L; ++j) {
      const int64_t t = t0 + j, ty = g.tr0 + t / g.tw, tx = t % g.tw;
      const int64_t y0 = ty * kWinoOut - g.pt, x0 = tx * kWinoOut - g.pl;
      if (t < nt && y0 >= 0 && x0 >= 0 && y0 + kWinoT <= g.h && x0 + kWinoT <= g.w) {
        const float* src = g.x + y0 * g.w + x0;
        for (int a = 0; a < kWinoT; ++a)
          for (int b = 0; b < kWinoT; ++b) d[(a * kWinoT + b) * L + j] = src[a * g.w + b];
        continue;
      }
      for (int a = 0; a < kWinoT; ++a) {
        const int64_t iy = y0 + a;
        const bool row_in = t < nt && iy >= 0 && iy < g.h;
        for (int b = 0; b < kWinoT; ++b) {
          const int64_t ix = x0 + b;
          d[(a * kWinoT + b) * L + j] = row_in && ix >= 0 && ix < g.w ? g.x[iy * g.w + ix] : 0.f;
        }
      }
    }
  }
  alignas(64) float t[kWinoT * kWinoT * L];
  for (int b = 0; b < kWinoT; ++b)  // columns: t[.][b] = B^T d[.][b]
    wino_bt<L>(d + b * L, kWinoT * L, t + b * L, kWinoT * L);
  for (int a = 0; a < kWinoT; ++a)  // rows: v[a][.] = t[a][.] B
    wino_bt<L>(t + a * kWinoT * L, L, v + a * kWinoT * xi_stride, xi_stride);
}

template <int L>
void wino_output(const float* m, int64_t xi_stride, const WinoTiles& g, int64_t t0, int64_t nt,
                 float bias, float* ym, int64_t oh, int64_t ow) {
  alignas(64) float t[kWinoOut * kWinoT * L], o[kWinoOut * kWinoOut * L];
  for (int b = 0; b < kWinoT; ++b)  // columns: t[.][b] = A^T m[.][b]
    wino_at<L>(m + b * xi_stride, kWinoT * xi_stride, t + b * L, kWinoT * L);
  for (int a = 0; a < kWinoOut; ++a)  // rows: o[a][.] = t[a][.] A
    wino_at<L>(t + a * kWinoT * L, L, o + a * kWinoOut * L, L);
  const int64_t r0 = g.tr0 + t0 / g.tw, c0 = t0 % g.tw;
  const int64_t oy0 = r0 * kWinoOut, ox0 = c0 * kWinoOut;
  if (t0 + L <= nt && c0 + L <= g.tw && oy0 + kWinoOut <= oh && ox0 + kWinoOut * L <= ow) {
    for (int a = 0; a < kWinoOut; ++a) {  // one run of tiles: four contiguous output rows
      float* row = ym + (oy0 + a) * ow + ox0;
      for (int j = 0; j < L; ++j)
        for (int q = 0; q < kWinoOut; ++q) row[kWinoOut * j + q] = o[(a * kWinoOut + q) * L + j] + bias;
    }
    return;
  }
  for (int j = 0; j < L && t0 + j < nt; ++j) {
    const int64_t tt = t0 + j, y0 = (g.tr0 + tt / g.tw) * kWinoOut, x0 = tt % g.tw * kWinoOut;
    if (y0 + kWinoOut <= oh && x0 + kWinoOut <= ow) {  // a whole 4x4 tile: no clipping
      for (int a = 0; a < kWinoOut; ++a)
        for (int q = 0; q < kWinoOut; ++q)
          ym[(y0 + a) * ow + x0 + q] = o[(a * kWinoOut + q) * L + j] + bias;
      continue;
    }
    for (int a = 0; a < kWinoOut && y0 + a < oh; ++a)
      for (int q = 0; q < kWinoOut && x0 + q < ow; ++q)
        ym[(y0 + a) * ow + x0 + q] = o[(a * kWinoOut + q) * L + j] + bias;
  }
}

}  // namespace
}  // namespace cnnrt
