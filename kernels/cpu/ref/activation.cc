// activation: y = act(x) elementwise. One loop per activation kind (the switch is outside the
// loop) so the compiler vectorizes the cheap ones; the exp/tanh-based ones use the kernel
// library's AVX2 epilogue row where the ISA allows (std::exp does not vectorize here);
// isa "ref" uses the scalar apply_act oracle.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "cnnrt/parallel_for.h"
#include "cnnrt/step.h"
#include "cpu/epilogue.h"

#ifndef CNNRT_X86
#define CNNRT_X86 0
#endif

namespace cnnrt {

namespace {
template <class F>
void map(const float* x, float* y, int64_t n, F f) {
  for (int64_t i = 0; i < n; ++i) y[i] = f(x[i]);
}
}  // namespace

void act_apply(const ActParams& p, const float* x, float* y, int64_t n, Isa isa) {
  const float a = p.alpha, b = p.beta;
  if (isa == Isa::Ref) return map(x, y, n, [&](float v) { return apply_act(p.act, v, a, b); });
#if CNNRT_X86
  if (isa >= Isa::Avx2 && (p.act == Act::Sigmoid || p.act == Act::Silu || p.act == Act::Tanh)) {
    Epilogue e;
    e.act = p.act, e.alpha = a, e.beta = b;
    if (x != y && n > 0) std::memmove(y, x, n * sizeof(float));
    return epi_rows__avx2(y, 0, nullptr, 0, 1, n, make_epi_params(e));
  }
#endif
  switch (p.act) {
    case Act::None:
      if (x != y && n > 0) std::memmove(y, x, n * sizeof(float));
      return;
    case Act::Relu: return map(x, y, n, [](float v) { return std::max(v, 0.f); });
    case Act::Clip: return map(x, y, n, [=](float v) { return std::min(std::max(v, a), b); });
    case Act::LeakyRelu: return map(x, y, n, [=](float v) { return v >= 0.f ? v : a * v; });
    case Act::Sigmoid: return map(x, y, n, [](float v) { return 1.f / (1.f + std::exp(-v)); });
    case Act::Silu: return map(x, y, n, [](float v) { return v / (1.f + std::exp(-v)); });
    case Act::Tanh: return map(x, y, n, [](float v) { return std::tanh(v); });
    case Act::HardSigmoid:
      return map(x, y, n, [=](float v) { return std::max(0.f, std::min(1.f, a * v + b)); });
    case Act::HardSwish:
      return map(x, y, n, [](float v) { return v * std::max(0.f, std::min(1.f, v / 6.f + 0.5f)); });
  }
}

std::unique_ptr<StepKernel> make_activation_step(const StepSpec& s) {
  s.expect_arity(1, 1, 1);
  expect(s.in(0) == s.out(0), "Y must have X's shape " + shape_str(s.in(0)) + ", got " + shape_str(s.out(0)));
  const ActParams p = read_act(*s.attrs, "");
  const int64_t n = numel(s.in(0));
  const Isa isa = s.isa;
  const bool avx2 = CNNRT_X86 && isa >= Isa::Avx2 && (p.act == Act::Sigmoid || p.act == Act::Silu || p.act == Act::Tanh);
  return make_fn_kernel("f32_" + s.attrs->s_or("act", "none") + (avx2 ? "__avx2" : "__ref"), [=](const StepArgs& a) {
    parallel_for(a.par, n, 1 << 14, [&](int64_t b, int64_t e, int) {
      act_apply(p, a.in[0] + b, a.out[0] + b, e - b, isa);
    });
  });
}

}  // namespace cnnrt
