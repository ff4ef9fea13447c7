// AVX2+FMA FC block: 4 weight rows x 2 accumulators each (8 FMA chains) over K, the K tail
// with masked loads; a matrix-vector product limited by reading the weights.
#include <immintrin.h>

#include <cstdint>

#include "cpu/avx2/act_avx2.h"
#include "cpu/fc.h"

namespace cnnrt {
namespace {

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Sums of 4 vectors -> one vector of 4 floats.
inline __m128 hsum4(__m256 a0, __m256 a1, __m256 a2, __m256 a3) {
  const __m256 s = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
  return _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
}

void rows4(const float* w, const float* xn, int64_t K, __m128* out) {
  const float* w0 = w;
  const float* w1 = w + K;
  const float* w2 = w + 2 * K;
  const float* w3 = w + 3 * K;
  __m256 a[4] = {}, b[4] = {};
  int64_t k = 0;
  for (; k + 16 <= K; k += 16) {
    const __m256 x0 = _mm256_loadu_ps(xn + k), x1 = _mm256_loadu_ps(xn + k + 8);
    a[0] = _mm256_fmadd_ps(_mm256_loadu_ps(w0 + k), x0, a[0]);
    a[1] = _mm256_fmadd_ps(_mm256_loadu_ps(w1 + k), x0, a[1]);
    a[2] = _mm256_fmadd_ps(_mm256_loadu_ps(w2 + k), x0, a[2]);
    a[3] = _mm256_fmadd_ps(_mm256_loadu_ps(w3 + k), x0, a[3]);
    b[0] = _mm256_fmadd_ps(_mm256_loadu_ps(w0 + k + 8), x1, b[0]);
    b[1] = _mm256_fmadd_ps(_mm256_loadu_ps(w1 + k + 8), x1, b[1]);
    b[2] = _mm256_fmadd_ps(_mm256_loadu_ps(w2 + k + 8), x1, b[2]);
    b[3] = _mm256_fmadd_ps(_mm256_loadu_ps(w3 + k + 8), x1, b[3]);
  }
  for (; k < K; k += 8) {
    const __m256i m = tail_mask(K - k);
    const __m256 x0 = _mm256_maskload_ps(xn + k, m);
    a[0] = _mm256_fmadd_ps(_mm256_maskload_ps(w0 + k, m), x0, a[0]);
    a[1] = _mm256_fmadd_ps(_mm256_maskload_ps(w1 + k, m), x0, a[1]);
    a[2] = _mm256_fmadd_ps(_mm256_maskload_ps(w2 + k, m), x0, a[2]);
    a[3] = _mm256_fmadd_ps(_mm256_maskload_ps(w3 + k, m), x0, a[3]);
  }
  *out = hsum4(_mm256_add_ps(a[0], b[0]), _mm256_add_ps(a[1], b[1]), _mm256_add_ps(a[2], b[2]),
               _mm256_add_ps(a[3], b[3]));
}

float row1(const float* w, const float* xn, int64_t K) {
  __m256 a = _mm256_setzero_ps(), b = _mm256_setzero_ps();
  int64_t k = 0;
  for (; k + 16 <= K; k += 16) {
    a = _mm256_fmadd_ps(_mm256_loadu_ps(w + k), _mm256_loadu_ps(xn + k), a);
    b = _mm256_fmadd_ps(_mm256_loadu_ps(w + k + 8), _mm256_loadu_ps(xn + k + 8), b);
  }
  for (; k < K; k += 8) {
    const __m256i m = tail_mask(K - k);
    a = _mm256_fmadd_ps(_mm256_maskload_ps(w + k, m), _mm256_maskload_ps(xn + k, m), a);
  }
  return hsum(_mm256_add_ps(a, b));
}

void block(const float* w, const float* bias, const float* x, float* y, int64_t N, int64_t K,
           int64_t M, int64_t m0, int64_t m1) {
  int64_t m = m0;
  for (; m + 4 <= m1; m += 4)
    for (int64_t n = 0; n < N; ++n) {
      __m128 s;
      rows4(w + m * K, x + n * K, K, &s);
      _mm_storeu_ps(y + n * M + m, _mm_add_ps(s, _mm_loadu_ps(bias + m)));
    }
  for (; m < m1; ++m)
    for (int64_t n = 0; n < N; ++n) y[n * M + m] = bias[m] + row1(w + m * K, x + n * K, K);
}

}  // namespace

const FcOps f32_fc_block__avx2 = {&block, &epi_rows__avx2};

}  // namespace cnnrt
