// AVX-512 8x32 SGEMM micro-kernel: 16 zmm accumulators, 2 B loads and 8 A broadcasts per k.
// Same contract and driver as the AVX2 6x16 one (gemm_blocking.h); the 8x16 half (NB = 1)
// serves a ragged last panel of <= 16 columns. The general epilogue reuses the AVX2 row pass
// (every AVX-512 CPU has AVX2).
#include <immintrin.h>

// GCC 12 warns about _mm512_undefined_ps() inside _mm512_max_ps/_mm512_min_ps (a false
// positive of its own headers).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <cstdint>

#include "cpu/gemm_blocking.h"

namespace cnnrt {
namespace {

constexpr int MR = 8, NR = 32;

// MR x 16*NB tile.
template <int NB>
void ukernel(int64_t kc, const float* a, const float* b, int64_t ldb, float* c, int64_t ldc,
             const UkArgs& args) {
  __m512 acc[MR][NB];
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NB; ++j)
      acc[i][j] = !args.load_c ? _mm512_set1_ps(args.bias[i])
                  : i < args.rows ? _mm512_loadu_ps(c + i * ldc + 16 * j) : _mm512_setzero_ps();
  for (int64_t k = 0; k < kc; ++k, a += MR, b += ldb) {
    __m512 bv[NB];
    for (int j = 0; j < NB; ++j) bv[j] = _mm512_loadu_ps(b + 16 * j);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const __m512 ai = _mm512_set1_ps(a[i]);
      for (int j = 0; j < NB; ++j) acc[i][j] = _mm512_fmadd_ps(ai, bv[j], acc[i][j]);
    }
  }
  if (args.clamp) {
    const __m512 lo = _mm512_set1_ps(args.lo), hi = _mm512_set1_ps(args.hi);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NB; ++j) acc[i][j] = _mm512_min_ps(_mm512_max_ps(acc[i][j], lo), hi);
  }
  if (args.res) {
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NB; ++j)
        if (i < args.rows)
          acc[i][j] = _mm512_add_ps(acc[i][j], _mm512_loadu_ps(args.res + i * args.ldr + 16 * j));
    if (args.post_clamp) {
      const __m512 lo = _mm512_set1_ps(args.post_lo), hi = _mm512_set1_ps(args.post_hi);
#pragma GCC unroll 8
      for (int i = 0; i < MR; ++i)
        for (int j = 0; j < NB; ++j) acc[i][j] = _mm512_min_ps(_mm512_max_ps(acc[i][j], lo), hi);
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
    if (i < args.rows)
      for (int j = 0; j < NB; ++j) _mm512_storeu_ps(c + i * ldc + 16 * j, acc[i][j]);
}

}  // namespace

const GemmUkernel f32_gemm_ukernel_8x32__avx512 = {MR, NR, &ukernel<2>, &epi_rows__avx2, &ukernel<1>};

}  // namespace cnnrt
