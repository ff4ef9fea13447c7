// lrn (ONNX LRN): y = x / (bias + alpha / size * sum of x^2 over the channels
// [c - floor((size-1)/2), c + ceil((size-1)/2)])^beta, per position of X (N, C, ...).
#include <algorithm>
#include <cmath>

#include "cnnrt/parallel_for.h"
#include "cnnrt/step.h"

namespace cnnrt {

std::unique_ptr<StepKernel> make_lrn_step(const StepSpec& s) {
  s.expect_arity(1, 1, 1);
  const Shape& x = s.in(0);
  expect(x.size() >= 3, "X must be (N, C, H, W), got " + shape_str(x));
  expect(s.out(0) == x, "Y must have X's shape " + shape_str(x) + ", got " + shape_str(s.out(0)));
  const int64_t size = s.attrs->i("size");
  expect(size >= 1, "size must be >= 1");
  const float alpha = float(s.attrs->f_or("alpha", 1e-4)), beta = float(s.attrs->f_or("beta", 0.75));
  const float bias = float(s.attrs->f_or("bias", 1.0));
  const int64_t C = x[1], plane = numel(x, 2, x.size()), lo = (size - 1) / 2, hi = size - 1 - lo;
  return make_fn_kernel("f32_lrn__ref", [=](const StepArgs& a) {
    parallel_for(a.par, x[0] * C, grain_for(plane * size), [&](int64_t p0, int64_t p1, int) {
      for (int64_t p = p0; p < p1; ++p) {
        const int64_t n = p / C, c = p % C;
        const int64_t c0 = std::max<int64_t>(0, c - lo), c1 = std::min(C - 1, c + hi);
        const float* xn = a.in[0] + n * C * plane;
        float* y = a.out[0] + p * plane;
        for (int64_t i = 0; i < plane; ++i) {
          float sq = 0.f;
          for (int64_t cc = c0; cc <= c1; ++cc) sq += xn[cc * plane + i] * xn[cc * plane + i];
          y[i] = xn[c * plane + i] / std::pow(bias + alpha / float(size) * sq, beta);
        }
      }
    });
  });
}

}  // namespace cnnrt
