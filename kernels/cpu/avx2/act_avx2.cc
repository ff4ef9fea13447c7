// The general epilogue row pass with AVX2+FMA (the activations: act_avx2.h).
#include "cpu/avx2/act_avx2.h"

namespace cnnrt {
namespace {

// SiLU without a residual (EfficientNet's activation after every expand and depthwise conv):
// its own loop, so that nothing but the SiLU runs per vector.
void silu_rows(float* y, int64_t ldy, int64_t rows, int64_t n) {
  for (int64_t r = 0; r < rows; ++r, y += ldy) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, silu8(_mm256_loadu_ps(y + i)));
    if (i < n) {
      const __m256i m = tail_mask(n - i);
      _mm256_maskstore_ps(y + i, m, silu8(_mm256_maskload_ps(y + i, m)));
    }
  }
}

}  // namespace

void epi_rows__avx2(float* y, int64_t ldy, const float* res, int64_t ldr, int64_t rows,
                    int64_t n, const EpiParams& p) {
  if (p.e.act == Act::Silu && !res) return silu_rows(y, ldy, rows, n);
  const bool has_res = res != nullptr;
  for (int64_t row = 0; row < rows; ++row, y += ldy, res = has_res ? res + ldr : nullptr) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
      const __m256 r = has_res ? _mm256_loadu_ps(res + i) : _mm256_setzero_ps();
      _mm256_storeu_ps(y + i, epi8(_mm256_loadu_ps(y + i), r, has_res, p.e));
    }
    if (i < n) {  // masked tail: no access past the row's end
      const __m256i m = tail_mask(n - i);
      const __m256 r = has_res ? _mm256_maskload_ps(res + i, m) : _mm256_setzero_ps();
      _mm256_maskstore_ps(y + i, m, epi8(_mm256_maskload_ps(y + i, m), r, has_res, p.e));
    }
  }
}

}  // namespace cnnrt
