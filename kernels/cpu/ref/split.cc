// split along `axis` into outputs of `sizes`: the inverse of concat's copy path.
#include <cstring>

#include "cnnrt/parallel_for.h"
#include "cnnrt/step.h"

namespace cnnrt {

std::unique_ptr<StepKernel> make_split_step(const StepSpec& s) {
  s.expect_arity(1, 1, -1);
  const Shape& x = s.in(0);
  const int64_t axis = s.attrs->i("axis");
  expect(axis >= 0 && axis < int64_t(x.size()), "axis must be in [0, " + std::to_string(x.size()) + ")");
  const std::vector<int64_t> sizes = s.attrs->ints_n("sizes", s.out_shapes.size());
  const int64_t outer = numel(x, 0, axis), tail = numel(x, axis + 1, x.size()), row = x[axis] * tail;
  std::vector<int64_t> offset, len;
  int64_t at = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    Shape want = x;
    want[axis] = sizes[i];
    expect(sizes[i] >= 0 && s.out(i) == want, "output " + std::to_string(i) + " must be " + shape_str(want) +
                                                  ", got " + shape_str(s.out(i)));
    offset.push_back(at * tail), len.push_back(sizes[i] * tail);
    at += sizes[i];
  }
  expect(at == x[axis], "sizes add up to " + std::to_string(at) + ", X has " + std::to_string(x[axis]) +
                            " along axis " + std::to_string(axis));
  return make_fn_kernel("f32_split__ref", [=](const StepArgs& a) {
    parallel_for(a.par, outer, grain_for(row), [&](int64_t o0, int64_t o1, int) {
      for (int64_t o = o0; o < o1; ++o)
        for (size_t i = 0; i < len.size(); ++i)
          if (len[i] > 0) std::memcpy(a.out[i] + o * len[i], a.in[0] + o * row + offset[i], len[i] * sizeof(float));
    });
  });
}

}  // namespace cnnrt
