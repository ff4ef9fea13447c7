// The reference fully connected layer: Y(N, M) = X(N, K) * W(M, K)^T + b, then the epilogue,
// with double accumulation. The oracle for the optimized gemm variants.
#include <vector>

#include "cpu/variants.h"

namespace cnnrt {
namespace {

class RefGemm final : public GemmKernel {
 public:
  RefGemm(const GemmDesc& d, const float* w, const float* b)
      : d_(d), w_(w, w + d.M * d.K), b_(b ? b : w, b ? b + d.M : w) {}

  const char* name() const override { return "f32_gemm__ref"; }
  size_t scratch_bytes(int) const override { return 0; }

  void run(const float* x, float* y, const float* residual, void*,
           const Parallel& par) const override {
    const GemmDesc& d = d_;
    const Epilogue& e = d.epi;
    par.for_each(d.N * d.M, [&](int64_t i, int) {
      const int64_t n = i / d.M, m = i % d.M;
      double acc = b_.empty() ? 0.0 : b_[m];
      for (int64_t k = 0; k < d.K; ++k) acc += double(x[n * d.K + k]) * w_[m * d.K + k];
      float v = apply_act(e.act, float(acc), e.alpha, e.beta);
      if (residual && e.has_residual) v = apply_act(e.post_act, v + residual[i], e.post_alpha, e.post_beta);
      y[i] = v;
    });
  }

 private:
  GemmDesc d_;
  std::vector<float> w_, b_;
};

}  // namespace

std::unique_ptr<GemmKernel> make_ref_gemm(const GemmDesc& d, const float* w, const float* b) {
  validate_gemm_desc(d);
  return std::make_unique<RefGemm>(d, w, b);
}

}  // namespace cnnrt
