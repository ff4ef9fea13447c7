// softmax along one axis, numerically stable (the max is subtracted before exp). X is viewed as
// (outer, L, inner); each (outer, inner) column is independent and they run in parallel.
#include <algorithm>
#include <cmath>

#include "cnnrt/parallel_for.h"
#include "cnnrt/step.h"

namespace cnnrt {

std::unique_ptr<StepKernel> make_softmax_step(const StepSpec& s) {
  s.expect_arity(1, 1, 1);
  const Shape& x = s.in(0);
  expect(s.out(0) == x, "Y must have X's shape " + shape_str(x) + ", got " + shape_str(s.out(0)));
  const int64_t axis = s.attrs->i("axis");
  expect(axis >= 0 && axis < int64_t(x.size()), "axis must be in [0, " + std::to_string(x.size()) + ")");
  const int64_t L = x[axis], inner = numel(x, axis + 1, x.size()), cols = numel(x, 0, axis) * inner;
  return make_fn_kernel("f32_softmax__ref", [=](const StepArgs& a) {
    parallel_for(a.par, cols, grain_for(L * 8), [&](int64_t c0, int64_t c1, int) {
      for (int64_t c = c0; c < c1; ++c) {
        const int64_t base = (c / inner) * L * inner + c % inner;
        const float* xc = a.in[0] + base;
        float* yc = a.out[0] + base;
        float m = -INFINITY;
        for (int64_t l = 0; l < L; ++l) m = std::max(m, xc[l * inner]);
        double sum = 0;
        for (int64_t l = 0; l < L; ++l) {
          const float e = std::exp(xc[l * inner] - m);
          yc[l * inner] = e;
          sum += e;
        }
        const float inv = float(1.0 / sum);
        for (int64_t l = 0; l < L; ++l) yc[l * inner] *= inv;
      }
    });
  });
}

}  // namespace cnnrt
