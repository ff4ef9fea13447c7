// AVX2+FMA depthwise conv, 3x3 and 5x5 with stride 1 or 2, 8 channels at a time. The
// plane-wise kernel (dwconv_avx2.cc) spends about half of a 7x7 plane's time preparing rows
// and starting passes, and leaves a lane of 8 idle on a 7-wide row; here 8 planes are
// interleaved into one zero-padded buffer (pixel-major, 8 channels a pixel), every tap is one
// full-width load and FMA for 8 channels, and the result is de-interleaved into the 8 output
// planes, where the ISA's epilogue row pass runs (ReLU/ReLU6 without a residual is clamped in
// registers instead). Large maps go in bands of output rows whose input stays within 64 KiB,
// so the buffers live in L2 (a whole 112 px map did not: 1.1x slower than plane-wise).
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "cpu/avx2/act_avx2.h"
#include "cpu/dwconv.h"

namespace cnnrt {
namespace {

constexpr int kC = 8;  // channels per group = lanes
constexpr int64_t kBandFloats = 16384;  // a band's padded input: 64 KiB, stays in L2

// Transposes 8 rows of 8 floats (r[i] at src[i*ld]) into dst[j*8 + i].
inline void transpose8(const float* src, int64_t ld, float* dst) {
  __m256 r[8];
  for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src + i * ld);
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 s0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 s1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 s2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 s3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 s4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 s5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 s6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 s7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
  _mm256_storeu_ps(dst + 0 * 8, _mm256_permute2f128_ps(s0, s4, 0x20));
  _mm256_storeu_ps(dst + 1 * 8, _mm256_permute2f128_ps(s1, s5, 0x20));
  _mm256_storeu_ps(dst + 2 * 8, _mm256_permute2f128_ps(s2, s6, 0x20));
  _mm256_storeu_ps(dst + 3 * 8, _mm256_permute2f128_ps(s3, s7, 0x20));
  _mm256_storeu_ps(dst + 4 * 8, _mm256_permute2f128_ps(s0, s4, 0x31));
  _mm256_storeu_ps(dst + 5 * 8, _mm256_permute2f128_ps(s1, s5, 0x31));
  _mm256_storeu_ps(dst + 6 * 8, _mm256_permute2f128_ps(s2, s6, 0x31));
  _mm256_storeu_ps(dst + 7 * 8, _mm256_permute2f128_ps(s3, s7, 0x31));
}

// out[(oh*OW + ow)*8 + c] = clamp(bias[c] + sum over taps of w[(kh*K + kw)*8 + c] *
// in[((oh*S + kh)*PW + ow*S + kw)*8 + c], lo, hi), four output pixels of a row at a time.
template <int K, int S>
void compute(const float* in, int64_t pw, const float* w, const float* bias, float* out,
             int64_t oh_n, int64_t ow_n, float lo, float hi) {
  const __m256 b = _mm256_loadu_ps(bias), vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
  for (int64_t oh = 0; oh < oh_n; ++oh) {
    float* orow = out + oh * ow_n * kC;
    int64_t ow = 0;
    for (; ow + 4 <= ow_n; ow += 4) {
      __m256 acc[4] = {b, b, b, b};
#pragma GCC unroll 5
      for (int kh = 0; kh < K; ++kh) {
        const float* irow = in + ((oh * S + kh) * pw + ow * S) * kC;
#pragma GCC unroll 5
        for (int kw = 0; kw < K; ++kw) {
          const __m256 wv = _mm256_loadu_ps(w + (kh * K + kw) * kC);
#pragma GCC unroll 4
          for (int j = 0; j < 4; ++j)
            acc[j] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(irow + (j * S + kw) * kC), acc[j]);
        }
      }
      for (int j = 0; j < 4; ++j)
        _mm256_storeu_ps(orow + (ow + j) * kC, _mm256_min_ps(_mm256_max_ps(acc[j], vlo), vhi));
    }
    for (; ow < ow_n; ++ow) {
      __m256 acc = b;
      for (int kh = 0; kh < K; ++kh) {
        const float* irow = in + ((oh * S + kh) * pw + ow * S) * kC;
        for (int kw = 0; kw < K; ++kw)
          acc = _mm256_fmadd_ps(_mm256_loadu_ps(w + (kh * K + kw) * kC),
                                _mm256_loadu_ps(irow + kw * kC), acc);
      }
      _mm256_storeu_ps(orow + ow * kC, _mm256_min_ps(_mm256_max_ps(acc, vlo), vhi));
    }
  }
}

using ComputeFn = void (*)(const float*, int64_t, const float*, const float*, float*, int64_t,
                           int64_t, float, float);

class DwConvC8 final : public ConvKernel {
 public:
  DwConvC8(const ConvDesc& d, const float* w, const float* b, const char* name, ComputeFn fn)
      : d_(d), name_(name), epi_(make_epi_params(d.epi)), compute_(fn) {
    const int64_t K = d.KH, groups = (d.C + kC - 1) / kC;
    pw_ = (d.OW - 1) * d.SW + K;  // the padded columns the taps read
    // Output rows per band: the band's padded input rows stay within kBandFloats
    const int64_t rows_in = std::max<int64_t>(K, kBandFloats / (kC * pw_));
    band_ = std::clamp<int64_t>((rows_in - K) / d.SH + 1, 1, d.OH);
    ph_ = (band_ - 1) * d.SH + K;
    w_.assign(size_t(groups * K * K * kC), 0.f);
    b_.assign(size_t(groups * kC), 0.f);
    for (int64_t c = 0; c < d.C; ++c) {
      for (int64_t t = 0; t < K * K; ++t) w_[size_t((c / kC * K * K + t) * kC + c % kC)] = w[c * K * K + t];
      if (b) b_[size_t(c)] = b[c];
    }
    // ReLU/ReLU6 without a residual (MobileNet) is clamped in registers: no epilogue pass
    in_register_ = epi_.clamp_only && !d.epi.has_residual;
    lo_ = in_register_ && epi_.clamp ? epi_.lo : -INFINITY;
    hi_ = in_register_ && epi_.clamp ? epi_.hi : INFINITY;
  }

  const char* name() const override { return name_; }

  size_t scratch_bytes(int threads) const override {
    return size_t(std::max(threads, 1)) * per_thread_floats() * sizeof(float);
  }

  void run(const float* x, float* y, const float* residual, void* scratch,
           const Parallel& par) const override {
    const int64_t groups = (d_.C + kC - 1) / kC;
    const float* res = d_.epi.has_residual ? residual : nullptr;
    // a few groups per task: each task zeroes its padded buffer once
    const int64_t total = d_.N * groups;
    const int64_t tasks = std::min<int64_t>(total, 4 * int64_t(std::max(par.threads(), 1)));
    par.for_each(tasks, [&](int64_t t, int tid) {
      float* in = static_cast<float*>(scratch) + size_t(tid) * per_thread_floats();
      float* out = in + ph_ * pw_ * kC;
      std::memset(in, 0, size_t(ph_ * pw_ * kC) * sizeof(float));  // the pad columns stay 0
      for (int64_t i = total * t / tasks, e = total * (t + 1) / tasks; i < e; ++i)
        for (int64_t oh = 0; oh < d_.OH; oh += band_)
          group(x, y, res, i / groups, i % groups, oh, std::min(d_.OH, oh + band_), in, out);
    });
  }

 private:
  size_t per_thread_floats() const {
    return size_t((ph_ * pw_ + band_ * d_.OW) * kC + 16);  // + 16: 64-byte steps stay inside
  }

  // Output rows [oh0, oh1) of channels [8g, 8g + nc) of image n. Buffer row r holds input
  // row oh0*SH - PT + r (zeros above and below the input), padded column j input column j - PL.
  void group(const float* x, float* y, const float* res, int64_t n, int64_t g, int64_t oh0,
             int64_t oh1, float* in, float* out) const {
    const ConvDesc& d = d_;
    const int64_t c0 = g * kC, nc = std::min<int64_t>(kC, d.C - c0);
    const float* xg = x + (n * d.C + c0) * d.H * d.W;
    const int64_t rows = (oh1 - oh0 - 1) * d.SH + d.KH, top = oh0 * d.SH - d.PT;
    const int64_t iw1 = std::min<int64_t>(d.W, pw_ - d.PL);  // PL >= 0: columns [0, iw1)
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t ih = top + r;
      float* dst = in + (r * pw_ + d.PL) * kC;
      if (ih < 0 || ih >= d.H) {  // a padding row (a band before may have left data here)
        std::memset(dst, 0, size_t(std::max<int64_t>(iw1, 0) * kC) * sizeof(float));
        continue;
      }
      int64_t iw = 0;
      if (nc == kC)
        for (; iw + 8 <= iw1; iw += 8) transpose8(xg + ih * d.W + iw, d.H * d.W, dst + iw * kC);
      for (; iw < iw1; ++iw)
        for (int64_t c = 0; c < nc; ++c) dst[iw * kC + c] = xg[c * d.H * d.W + ih * d.W + iw];
    }
    compute_(in, pw_, w_.data() + g * d.KH * d.KW * kC, b_.data() + g * kC, out, oh1 - oh0,
             d.OW, lo_, hi_);
    // de-interleave into the output planes, then the epilogue on each
    const int64_t P = d.OH * d.OW, p0 = oh0 * d.OW, np = (oh1 - oh0) * d.OW;
    float* yg = y + n * d.out_batch_stride + c0 * P + p0;
    int64_t p = 0;
    if (nc == kC)
      for (; p + 8 <= np; p += 8) {
        alignas(32) float tmp[64];
        transpose8(out + p * kC, kC, tmp);  // tmp[c*8 + j] = out[(p+j)*8 + c]
        for (int64_t c = 0; c < kC; ++c) std::memcpy(yg + c * P + p, tmp + c * 8, 8 * sizeof(float));
      }
    for (; p < np; ++p)
      for (int64_t c = 0; c < nc; ++c) yg[c * P + p] = out[p * kC + c];
    if (in_register_) return;
    const float* rg = res ? res + (n * d.M + c0) * P + p0 : nullptr;
    epi_rows__avx2(yg, P, rg, P, nc, np, epi_);
  }

  ConvDesc d_;
  const char* name_;
  EpiParams epi_;
  ComputeFn compute_;
  int64_t pw_, band_, ph_;  // padded columns, output rows per band, padded rows of a band
  bool in_register_;  // the whole epilogue is compute()'s clamp
  float lo_, hi_;
  std::vector<float> w_, b_;  // [group][tap][8], [group][8]
};

}  // namespace

std::unique_ptr<ConvKernel> make_dwconv_c8(const ConvDesc& d, const float* weights,
                                           const float* bias, const DwC8Ops& ops,
                                           const char* name) {
  (void)ops;
  const bool dw = d.G == d.C && d.M == d.C;
  const bool shape = d.KH == d.KW && (d.KH == 3 || d.KH == 5) && d.SH == d.SW &&
                     (d.SH == 1 || d.SH == 2) && d.DH == 1 && d.DW == 1;
  if (!dw || !shape) return nullptr;
  ComputeFn fn = d.KH == 3 ? (d.SH == 1 ? &compute<3, 1> : &compute<3, 2>)
                           : (d.SH == 1 ? &compute<5, 1> : &compute<5, 2>);
  return std::make_unique<DwConvC8>(d, weights, bias, name, fn);
}

const DwC8Ops f32_dwconv_c8_ops__avx2 = {};

}  // namespace cnnrt
