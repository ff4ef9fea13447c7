// AVX2+FMA activations and lane masks on 8 lanes, shared by the AVX2 units (the epilogue pass,
// the depthwise kernel's clamps and tails).
//
// Included only by units compiled with -mavx2 -mfma; everything here has internal linkage, so
// no baseline unit can ever link against these AVX2 bodies.
#pragma once
#include <immintrin.h>

#include <cstdint>

#include "cpu/epilogue.h"

namespace cnnrt {
namespace {

// exp(x) for x clamped to [-87, 88] so that 2^n stays a normal float: range reduction
// x = n*ln2 + r and a degree-6 polynomial (Cephes expf, ~1 ulp).
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

// 1/d for d in [1, 2^127): the 12-bit estimate and one Newton step (~2 ulp), a third of the
// cost of a division, which issues only every few cycles.
inline __m256 recip8(__m256 d) {
  const __m256 r = _mm256_rcp_ps(d);
  return _mm256_mul_ps(r, _mm256_fnmadd_ps(d, r, _mm256_set1_ps(2.f)));
}

inline __m256 sigmoid8(__m256 x) {
  return recip8(_mm256_add_ps(_mm256_set1_ps(1.f), exp8(_mm256_sub_ps(_mm256_setzero_ps(), x))));
}

inline __m256 silu8(__m256 x) { return _mm256_mul_ps(x, sigmoid8(x)); }

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
    case Act::Silu: return silu8(x);
    case Act::Tanh: {  // sign(x) * (1 - e) / (1 + e), e = exp(-2|x|)
      const __m256 sign = _mm256_set1_ps(-0.f), one = _mm256_set1_ps(1.f);
      const __m256 ax = _mm256_andnot_ps(sign, x);
      const __m256 e = exp8(_mm256_mul_ps(ax, _mm256_set1_ps(-2.f)));
      const __m256 t = _mm256_mul_ps(_mm256_sub_ps(one, e), recip8(_mm256_add_ps(one, e)));
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

// One 8-lane step of the whole epilogue: act, then (with a residual r) post_act(v + r).
inline __m256 epi8(__m256 v, __m256 r, bool has_res, const Epilogue& e) {
  v = act8(v, e.act, e.alpha, e.beta);
  if (has_res) v = act8(_mm256_add_ps(v, r), e.post_act, e.post_alpha, e.post_beta);
  return v;
}

}  // namespace
}  // namespace cnnrt
