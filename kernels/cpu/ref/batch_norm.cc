// batch_norm (inference): y = (x - mean) / sqrt(var + epsilon) * scale + bias per channel of
// X (N, C, ...). The per-channel factors are recomputed per plane at run time (C values, cheap),
// so the parameters may be constants or runtime values alike.
#include <cmath>

#include "cnnrt/parallel_for.h"
#include "cnnrt/step.h"

namespace cnnrt {

std::unique_ptr<StepKernel> make_batch_norm_step(const StepSpec& s) {
  s.expect_arity(5, 5, 1);
  const Shape& x = s.in(0);
  expect(x.size() >= 2, "X must be (N, C, ...), got " + shape_str(x));
  expect(s.out(0) == x, "Y must have X's shape " + shape_str(x) + ", got " + shape_str(s.out(0)));
  const int64_t C = x[1], plane = numel(x, 2, x.size()), planes = x[0] * C;
  for (size_t i = 1; i < 5; ++i)
    expect(numel(s.in(i)) == C, "scale, bias, mean and var must have C = " + std::to_string(C) +
                                    " elements, input " + std::to_string(i) + " is " + shape_str(s.in(i)));
  const double eps = s.attrs->f_or("epsilon", 1e-5);
  return make_fn_kernel("f32_batch_norm__ref", [=](const StepArgs& a) {
    parallel_for(a.par, planes, grain_for(plane), [&](int64_t p0, int64_t p1, int) {
      for (int64_t p = p0; p < p1; ++p) {
        const int64_t c = p % C;
        const double k = a.in[1][c] / std::sqrt(double(a.in[4][c]) + eps);
        const float mul = float(k), add = float(a.in[2][c] - a.in[3][c] * k);
        const float* xp = a.in[0] + p * plane;
        float* yp = a.out[0] + p * plane;
        for (int64_t i = 0; i < plane; ++i) yp[i] = xp[i] * mul + add;
      }
    });
  });
}

}  // namespace cnnrt
