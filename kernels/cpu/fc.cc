// Fully connected driver (see fc.h): weights row-major as given (shared with the caller when it
// says they stay valid, GemmDesc::weights_owner, else copied at creation), M split into
// 16-row blocks over the threads (each block's rows are re-read from L1/L2 for every image),
// the epilogue applied to each block's outputs right after they are computed.
#include <algorithm>
#include <vector>

#include "cpu/fc.h"

namespace cnnrt {
namespace {

constexpr int64_t kRowsPerTask = 16;

class Fc final : public GemmKernel {
 public:
  Fc(const GemmDesc& d, const float* w, const float* b, const FcOps& ops, const char* name)
      : d_(d), ops_(ops), name_(name), epi_(make_epi_params(d.epi)), w_(w), b_(size_t(d.M), 0.f) {
    if (!d.weights_owner) {
      copy_.assign(w, w + d.M * d.K);
      w_ = copy_.data();
    }
    if (b) std::copy(b, b + d.M, b_.begin());
  }

  const char* name() const override { return name_; }
  size_t scratch_bytes(int) const override { return 0; }

  void run(const float* x, float* y, const float* residual, void*,
           const Parallel& par) const override {
    const GemmDesc& d = d_;
    const float* res = d.epi.has_residual ? residual : nullptr;
    const bool epi = !(epi_.clamp_only && !epi_.clamp && !res);
    const int64_t tasks = (d.M + kRowsPerTask - 1) / kRowsPerTask;
    par.for_each(tasks, [&](int64_t t, int) {
      const int64_t m0 = t * kRowsPerTask, m1 = std::min(d.M, m0 + kRowsPerTask);
      ops_.block(w_, b_.data(), x, y, d.N, d.K, d.M, m0, m1);
      if (epi)
        for (int64_t n = 0; n < d.N; ++n)
          ops_.epi(y + n * d.M + m0, 0, res ? res + n * d.M + m0 : nullptr, 0, 1, m1 - m0, epi_);
    });
  }

 private:
  GemmDesc d_;
  FcOps ops_;
  const char* name_;
  EpiParams epi_;
  const float* w_;            // d_.weights_owner's or copy_'s
  std::vector<float> copy_, b_;
};

}  // namespace

std::unique_ptr<GemmKernel> make_fc(const GemmDesc& d, const float* weights, const float* bias,
                                    const FcOps& ops, const char* name) {
  return std::make_unique<Fc>(d, weights, bias, ops, name);
}

}  // namespace cnnrt
