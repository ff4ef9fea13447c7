// AVX2+FMA 6x16 SGEMM micro-kernel: 12 ymm accumulators (enough independent FMA chains to
// cover the FMA latency on two pipes), 2 B loads and 6 A broadcasts per k. The 6x8 half
// (NB = 1) serves a ragged last panel of <= 8 columns.
#include <immintrin.h>

#include <cstdint>

#include "cpu/gemm_blocking.h"

namespace cnnrt {
namespace {

constexpr int MR = 6, NR = 16;

// MR x 8*NB tile.
template <int NB>
void ukernel(int64_t kc, const float* a, const float* b, int64_t ldb, float* c, int64_t ldc,
             const UkArgs& args) {
  __m256 acc[MR][NB];
#pragma GCC unroll 6
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NB; ++j)
      acc[i][j] = !args.load_c ? _mm256_broadcast_ss(args.bias + i)
                  : i < args.rows ? _mm256_loadu_ps(c + i * ldc + 8 * j) : _mm256_setzero_ps();
  for (int64_t k = 0; k < kc; ++k, a += MR, b += ldb) {
    __m256 bv[NB];
    for (int j = 0; j < NB; ++j) bv[j] = _mm256_loadu_ps(b + 8 * j);
#pragma GCC unroll 6
    for (int i = 0; i < MR; ++i) {
      const __m256 ai = _mm256_broadcast_ss(a + i);
      for (int j = 0; j < NB; ++j) acc[i][j] = _mm256_fmadd_ps(ai, bv[j], acc[i][j]);
    }
  }
  if (args.clamp) {
    const __m256 lo = _mm256_set1_ps(args.lo), hi = _mm256_set1_ps(args.hi);
#pragma GCC unroll 6
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NB; ++j) acc[i][j] = _mm256_min_ps(_mm256_max_ps(acc[i][j], lo), hi);
  }
  if (args.res) {
#pragma GCC unroll 6
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NB; ++j)
        if (i < args.rows)
          acc[i][j] = _mm256_add_ps(acc[i][j], _mm256_loadu_ps(args.res + i * args.ldr + 8 * j));
    if (args.post_clamp) {
      const __m256 lo = _mm256_set1_ps(args.post_lo), hi = _mm256_set1_ps(args.post_hi);
#pragma GCC unroll 6
      for (int i = 0; i < MR; ++i)
        for (int j = 0; j < NB; ++j) acc[i][j] = _mm256_min_ps(_mm256_max_ps(acc[i][j], lo), hi);
    }
  }
#pragma GCC unroll 6
  for (int i = 0; i < MR; ++i)
    if (i < args.rows)
      for (int j = 0; j < NB; ++j) _mm256_storeu_ps(c + i * ldc + 8 * j, acc[i][j]);
}

}  // namespace

const GemmUkernel f32_gemm_ukernel_6x16__avx2 = {MR, NR, &ukernel<2>, &epi_rows__avx2, &ukernel<1>};

}  // namespace cnnrt
