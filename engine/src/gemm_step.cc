// The gemm step: a fully connected layer Y = post_act(act(X W^T + B) + R) with W constant,
// handed to the kernel library, which packs W at compile time (or, for the fully connected
// kernel, shares the plan's buffer).
#include <stdexcept>

#include "cnnrt/step.h"

namespace cnnrt {

namespace {
class GemmStep final : public StepKernel {
 public:
  GemmStep(std::unique_ptr<GemmKernel> k, bool residual) : k_(std::move(k)), residual_(residual) {}
  std::string name() const override { return k_->name(); }
  size_t scratch_bytes(int threads) const override { return k_->scratch_bytes(threads); }
  void run(const StepArgs& a) const override { 
    k_->run(a.in[0], a.out[0], residual_ ? a.in[3] : nullptr, a.scratch, a.par);
  }

 private:
  std::unique_ptr<GemmKernel> k_;
  bool residual_;
};
}  // namespace

std::unique_ptr<StepKernel> make_gemm_step(const StepSpec& s) {
  s.expect_arity(2, 4, 1);
  const Shape &x = s.in(0), &w = s.in(1), &y = s.out(0);
  expect(x.size() == 2, "X must be 2-D (N,K), got " + shape_str(x));
  expect(w.size() == 2 && w[1] == x[1], "W must be (M,K) with K = " + std::to_string(x[1]) +
                                            ", got " + shape_str(w));
  expect(s.in_const[1] != nullptr, "W must be a constant");
  GemmDesc g{};
  g.N = x[0], g.K = x[1], g.M = w[0];
  g.weights_owner = s.in_const_owner.size() > 1 ? s.in_const_owner[1] : nullptr;
  expect(y == Shape{g.N, g.M}, "Y must be " + shape_str({g.N, g.M}) + ", got " + shape_str(y));
  const float* bias = nullptr;
  if (s.in_shapes.size() > 2 && s.in_present[2]) {
    expect(s.in_const[2] != nullptr && numel(s.in(2)) == g.M, "B must be a constant of M elements");
    bias = s.in_const[2];
  }
  if (s.in_shapes.size() > 3 && s.in_present[3]) {
    expect(s.in(3) == y, "R must have Y's shape " + shape_str(y) + ", got " + shape_str(s.in(3)));
    g.epi.has_residual = true;
  }
  const ActParams act = read_act(*s.attrs, ""), post = read_act(*s.attrs, "post_");
  g.epi.act = act.act, g.epi.alpha = act.alpha, g.epi.beta = act.beta;
  g.epi.post_act = post.act, g.epi.post_alpha = post.alpha, g.epi.post_beta = post.beta;

  auto k = make_gemm_kernel(g, s.in_const[1], bias, s.isa);
  if (!k) throw std::invalid_argument("no gemm kernel for this shape and ISA");
  return std::make_unique<GemmStep>(std::move(k), g.epi.has_residual);
}

}  // namespace cnnrt
