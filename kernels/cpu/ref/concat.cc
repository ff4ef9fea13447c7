// concat along `axis`: each input's rows are copied into its slice of Y. Inputs that the
// memory planner turned into views of their slice (attribute inplace=1) are already in place
// and skipped; when all are, the planner drops the step entirely.
#include <cstring>

#include "cnnrt/parallel_for.h"
#include "cnnrt/step.h"

namespace cnnrt {

std::unique_ptr<StepKernel> make_concat_step(const StepSpec& s) {
  s.expect_arity(1, 1 << 16, 1);
  const Shape& y = s.out(0);
  const int64_t axis = s.attrs->i("axis"), inplace = s.attrs->i_or("inplace", 0);
  expect(axis >= 0 && axis < int64_t(y.size()), "axis must be in [0, " + std::to_string(y.size()) + ")");
  expect(inplace == 0 || inplace == 1, "inplace must be 0 or 1");
  const int64_t outer = numel(y, 0, axis), tail = numel(y, axis + 1, y.size());
  struct Part { size_t input; int64_t offset, len; };  // elements per outer row
  std::vector<Part> parts;
  int64_t at = 0;
  for (size_t i = 0; i < s.in_shapes.size(); ++i) {
    const Shape& x = s.in(i);
    bool fits = x.size() == y.size();
    for (size_t d = 0; fits && d < y.size(); ++d) fits = d == size_t(axis) || x[d] == y[d];
    expect(fits, "input " + std::to_string(i) + " " + shape_str(x) + " does not fit Y " + shape_str(y) +
                     " along axis " + std::to_string(axis));
    if (!s.in_view[i]) parts.push_back({i, at * tail, x[axis] * tail});
    at += x[axis];
  }
  expect(at == y[axis], "the inputs add up to " + std::to_string(at) + " along axis " + std::to_string(axis) +
                            ", Y has " + std::to_string(y[axis]));
  const int64_t row = y[axis] * tail;
  return make_fn_kernel(parts.size() < s.in_shapes.size() ? "f32_concat_partial__ref" : "f32_concat__ref",
                        [=](const StepArgs& a) {
    parallel_for(a.par, outer, grain_for(row), [&](int64_t o0, int64_t o1, int) {
      for (int64_t o = o0; o < o1; ++o)
        for (const Part& p : parts)
          if (p.len > 0) std::memcpy(a.out[0] + o * row + p.offset, a.in[p.input] + o * p.len, p.len * sizeof(float));
    });
  });
}

}  // namespace cnnrt
