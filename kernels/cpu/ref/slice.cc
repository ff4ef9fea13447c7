// slice: Y[i0, i1, ...] = X[starts[0] + i0 * steps[0], ...] with the normalized per-axis
// starts and (non-zero, possibly negative) steps; Y's shape gives the count per axis.
#include "cnnrt/parallel_for.h"
#include "cnnrt/step.h"

namespace cnnrt {

std::unique_ptr<StepKernel> make_slice_step(const StepSpec& s) {
  s.expect_arity(1, 1, 1);
  const Shape &x = s.in(0), &y = s.out(0);
  expect(x.size() == y.size() && !x.empty(), "X " + shape_str(x) + " and Y " + shape_str(y) + " must have the same rank >= 1");
  const std::vector<int64_t> starts = s.attrs->ints_n("starts", x.size());
  const std::vector<int64_t> steps = s.attrs->ints_n("steps", x.size());
  for (size_t d = 0; d < x.size(); ++d) {
    const int64_t last = starts[d] + (y[d] - 1) * steps[d];
    expect(steps[d] != 0, "steps must be non-zero");
    expect(y[d] >= 0 && (y[d] == 0 || (starts[d] >= 0 && starts[d] < x[d] && last >= 0 && last < x[d])),
           "axis " + std::to_string(d) + ": " + std::to_string(y[d]) + " elements from " +
               std::to_string(starts[d]) + " by " + std::to_string(steps[d]) + " leave X " + shape_str(x));
  }
  const Shape xs = dense_strides(x);
  const int64_t inner = y.back(), rows = numel(y, 0, y.size() - 1), step = steps.back() * xs.back();
  return make_fn_kernel("f32_slice__ref", [=](const StepArgs& a) {
    if (inner == 0) return;
    parallel_for(a.par, rows, grain_for(inner), [&](int64_t r0, int64_t r1, int) {
      for (int64_t r = r0; r < r1; ++r) {
        int64_t off = starts.back() * xs.back(), rest = r;
        for (size_t d = y.size() - 1; d-- > 0;) {
          off += (starts[d] + (rest % y[d]) * steps[d]) * xs[d];
          rest /= y[d];
        }
        const float* xr = a.in[0] + off;
        float* yr = a.out[0] + r * inner;
        for (int64_t j = 0; j < inner; ++j) yr[j] = xr[j * step];
      }
    });
  });
}

}  // namespace cnnrt
