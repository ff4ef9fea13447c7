// transpose: Y = X permuted by `perm` (Y.shape[i] = X.shape[perm[i]]). Walks Y row by row; the
// inner loop reads X with the stride of the axis that became Y's last.
#include <algorithm>

#include "cnnrt/parallel_for.h"
#include "cnnrt/step.h"

namespace cnnrt {

std::unique_ptr<StepKernel> make_transpose_step(const StepSpec& s) {
  s.expect_arity(1, 1, 1);
  const Shape &x = s.in(0), &y = s.out(0);
  const std::vector<int64_t> perm = s.attrs->ints_n("perm", x.size());
  std::vector<int64_t> sorted = perm;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < sorted.size(); ++i) expect(sorted[i] == int64_t(i), "perm must be a permutation of the axes");
  Shape want(x.size()), st(x.size());  // Y's shape and X's stride along each Y axis
  const Shape xs = dense_strides(x);
  for (size_t i = 0; i < x.size(); ++i) want[i] = x[perm[i]], st[i] = xs[perm[i]];
  expect(y == want, "Y must be " + shape_str(want) + ", got " + shape_str(y));
  if (y.empty()) return make_fn_kernel("f32_transpose__ref", [](const StepArgs& a) { a.out[0][0] = a.in[0][0]; });
  const int64_t inner = y.back(), rows = numel(y) / std::max<int64_t>(inner, 1), step = st.back();
  return make_fn_kernel("f32_transpose__ref", [=](const StepArgs& a) {
    if (inner == 0) return;
    parallel_for(a.par, rows, grain_for(inner), [&](int64_t r0, int64_t r1, int) {
      for (int64_t r = r0; r < r1; ++r) {
        int64_t off = 0, rest = r;
        for (size_t d = want.size() - 1; d-- > 0;) off += (rest % want[d]) * st[d], rest /= want[d];
        const float* xr = a.in[0] + off;
        float* yr = a.out[0] + r * inner;
        for (int64_t j = 0; j < inner; ++j) yr[j] = xr[j * step];
      }
    });
  });
}

}  // namespace cnnrt
