// The conv step: builds a ConvDesc from the attributes and the X/W/Y shapes (the output may be
// a channel slice of an inplace concat, hence out_batch_stride) and asks the kernel library
// for the best kernel for it.
#include <stdexcept>

#include "cnnrt/step.h"

namespace cnnrt {

namespace {
class ConvStep final : public StepKernel {
 public:
  ConvStep(std::unique_ptr<ConvKernel> k, bool residual) : k_(std::move(k)), residual_(residual) {}
  std::string name() const override { return k_->name(); }
  size_t scratch_bytes(int threads) const override { return k_->scratch_bytes(threads); }
  void run(const StepArgs& a) const override { 
    k_->run(a.in[0], a.out[0], residual_ ? a.in[3] : nullptr, a.scratch, a.par);
  }

 private:
  std::unique_ptr<ConvKernel> k_;
  bool residual_;
};
}  // namespace

std::unique_ptr<StepKernel> make_conv_step(const StepSpec& s) {
  s.expect_arity(2, 4, 1);
  const Shape &x = s.in(0), &w = s.in(1), &y = s.out(0);
  expect(x.size() == 4, "X must be 4-D (N,C,H,W), got " + shape_str(x));
  expect(w.size() == 4, "W must be 4-D (M,C/group,KH,KW), got " + shape_str(w));
  expect(s.in_const[1] != nullptr, "W must be a constant");
  const Attrs& a = *s.attrs;
  auto st = a.ints_n_or("strides", 2, {1, 1});
  auto p = a.ints_n_or("pads", 4, {0, 0, 0, 0});
  auto d = a.ints_n_or("dilations", 2, {1, 1});
  const int64_t g = a.i_or("group", 1);
  expect(st[0] >= 1 && st[1] >= 1 && d[0] >= 1 && d[1] >= 1, "strides and dilations must be >= 1");
  expect(p[0] >= 0 && p[1] >= 0 && p[2] >= 0 && p[3] >= 0, "pads must be non-negative");
  expect(g >= 1 && x[1] % g == 0 && w[0] % g == 0 && w[1] == x[1] / g,
         "W " + shape_str(w) + " does not fit X " + shape_str(x) + " with group " + std::to_string(g));

  ConvDesc c{};
  c.N = x[0], c.C = x[1], c.H = x[2], c.W = x[3];
  c.M = w[0], c.KH = w[2], c.KW = w[3], c.SH = st[0], c.SW = st[1];
  c.PT = p[0], c.PL = p[1], c.PB = p[2], c.PR = p[3], c.DH = d[0], c.DW = d[1], c.G = g;
  c.OH = (c.H + c.PT + c.PB - (c.DH * (c.KH - 1) + 1)) / c.SH + 1;
  c.OW = (c.W + c.PL + c.PR - (c.DW * (c.KW - 1) + 1)) / c.SW + 1;
  expect(c.H + c.PT + c.PB >= c.DH * (c.KH - 1) + 1 && c.W + c.PL + c.PR >= c.DW * (c.KW - 1) + 1,
         "the kernel is larger than the padded input");
  const Shape want{c.N, c.M, c.OH, c.OW};
  expect(y == want, "Y must be " + shape_str(want) + ", got " + shape_str(y));
  c.out_batch_stride = s.out_batch_stride[0];

  const float* bias = nullptr;
  if (s.in_shapes.size() > 2 && s.in_present[2]) {
    expect(s.in_const[2] != nullptr && numel(s.in(2)) == c.M, "B must be a constant of M elements");
    bias = s.in_const[2];
  }
  if (s.in_shapes.size() > 3 && s.in_present[3]) {
    expect(s.in(3) == y, "R must have Y's shape " + shape_str(y) + ", got " + shape_str(s.in(3)));
    c.epi.has_residual = true;
  }
  const ActParams act = read_act(a, ""), post = read_act(a, "post_");
  c.epi.act = act.act, c.epi.alpha = act.alpha, c.epi.beta = act.beta;
  c.epi.post_act = post.act, c.epi.post_alpha = post.alpha, c.epi.post_beta = post.beta;

  auto k = make_conv_kernel(c, s.in_const[1], bias, s.isa);
  if (!k) throw std::invalid_argument("no conv kernel for this shape and ISA");
  return std::make_unique<ConvStep>(std::move(k), c.epi.has_residual);
}

}  // namespace cnnrt
