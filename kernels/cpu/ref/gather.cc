// gather along `axis` with constant indices (normalized, non-negative):
// Y = X[:, ..., indices, ...] with shape X[:axis] + indices_shape + X[axis+1:].
#include <cstring>

#include "cnnrt/parallel_for.h"
#include "cnnrt/step.h"

namespace cnnrt {

std::unique_ptr<StepKernel> make_gather_step(const StepSpec& s) {
  s.expect_arity(1, 1, 1);
  const Shape& x = s.in(0);
  const int64_t axis = s.attrs->i("axis");
  expect(axis >= 0 && axis < int64_t(x.size()), "axis must be in [0, " + std::to_string(x.size()) + ")");
  const std::vector<int64_t> idx = s.attrs->ints("indices");
  const Shape ishape = s.attrs->ints("indices_shape");
  expect(numel(ishape) == int64_t(idx.size()), "indices_shape " + shape_str(ishape) + " does not hold " +
                                                   std::to_string(idx.size()) + " indices");
  for (int64_t i : idx) expect(i >= 0 && i < x[axis], "index " + std::to_string(i) + " is out of range for axis size " + std::to_string(x[axis]));
  Shape want(x.begin(), x.begin() + axis);
  want.insert(want.end(), ishape.begin(), ishape.end());
  want.insert(want.end(), x.begin() + axis + 1, x.end());
  expect(s.out(0) == want, "Y must be " + shape_str(want) + ", got " + shape_str(s.out(0)));
  const int64_t outer = numel(x, 0, axis), tail = numel(x, axis + 1, x.size()), n = idx.size();
  return make_fn_kernel("f32_gather__ref", [=](const StepArgs& a) {
    if (tail == 0) return;
    parallel_for(a.par, outer * n, grain_for(tail), [&](int64_t r0, int64_t r1, int) {
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t o = r / n, j = r % n;
        std::memcpy(a.out[0] + r * tail, a.in[0] + (o * x[axis] + idx[j]) * tail, tail * sizeof(float));
      }
    });
  });
}

}  // namespace cnnrt
