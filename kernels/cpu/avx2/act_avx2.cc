// The general epilogue row pass with AVX2+FMA: every activation vectorized, exp by range
// reduction (x = n*ln2 + r) and a degree-6 polynomial (Cephes expf, ~1 ulp).
#include <immintrin.h>

#include <cstdint>

#include "cpu/epilogue.h"

namespace cnnrt {
namespace {

// exp(x) for x clamped to [-87, 88] so that 2^n stays a normal float.
inline __m256 exp8(__m256 x) {
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.f)), _mm256_set1_ps(88.f));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);  // ln2 split in two
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.f)));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

inline __m256 sigmoid8(__m256 x) {
  const __m256 one = _mm256_set1_ps(1.f);
  return _mm256_div_ps(one, _mm256_add_ps(one, exp8(_mm256_sub_ps(_mm256_setzero_ps(), x))));
}

inline __m256 clamp8(__m256 x, float lo, float hi) {
  return _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(lo)), _mm256_set1_ps(hi));
}

inline __m256 act8(__m256 x, Act act, float alpha, float beta) {
  switch (act) {
    case Act::None: return x;
    case Act::Relu: return _mm256_max_ps(x, _mm256_setzero_ps());
    case Act::Clip: return clamp8(x, alpha, beta);
    case Act::LeakyRelu: {
      const __m256 neg = _mm256_mul_ps(x, _mm256_set1_ps(alpha));
      return _mm256_blendv_ps(neg, x, _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GE_OQ));
    }
    case Act::Sigmoid: return sigmoid8(x);
    case Act::Silu: return _mm256_mul_ps(x, sigmoid8(x));
    case Act::Tanh: {  // sign(x) * (1 - e) / (1 + e), e = exp(-2|x|)
      const __m256 sign = _mm256_set1_ps(-0.f), one = _mm256_set1_ps(1.f);
      const __m256 ax = _mm256_andnot_ps(sign, x);
      const __m256 e = exp8(_mm256_mul_ps(ax, _mm256_set1_ps(-2.f)));
      const __m256 t = _mm256_div_ps(_mm256_sub_ps(one, e), _mm256_add_ps(one, e));
      return _mm256_or_ps(t, _mm256_and_ps(sign, x));
    }
    case Act::HardSigmoid:
      return clamp8(_mm256_fmadd_ps(x, _mm256_set1_ps(alpha), _mm256_set1_ps(beta)), 0.f, 1.f);
    case Act::HardSwish:
      return _mm256_mul_ps(x, clamp8(_mm256_fmadd_ps(x, _mm256_set1_ps(1.f / 6.f),
                                                     _mm256_set1_ps(0.5f)), 0.f, 1.f));
  }
  return x;
}

inline __m256i tail_mask(int64_t n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(int(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// One 8-lane (or masked tail) step of the whole epilogue.
inline __m256 epi8(__m256 v, __m256 r, bool has_res, const Epilogue& e) {
  v = act8(v, e.act, e.alpha, e.beta);
  if (has_res) v = act8(_mm256_add_ps(v, r), e.post_act, e.post_alpha, e.post_beta);
  return v;
}

}  // namespace

void epi_row__avx2(float* y, const float* res, int64_t n, const EpiParams& p) {
  const bool has_res = res != nullptr;
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

}  // namespace cnnrt
