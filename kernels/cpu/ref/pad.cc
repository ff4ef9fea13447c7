// pad: Y = X with `pads` (begins then ends; negative ones crop, as ONNX) per axis, filled by mode:
// constant (`value`), reflect (mirror without repeating the edge, as numpy) or edge (repeat
// the edge). Each axis gets a map from Y index to X index (-1: constant fill) at compile.
#include <algorithm>

#include "cnnrt/parallel_for.h"
#include "cnnrt/step.h"

namespace cnnrt {

namespace {
int64_t source(int64_t i, int64_t n, const std::string& mode) {  // i is X's index, may be outside
  if (i >= 0 && i < n) return i;
  if (mode == "constant") return -1;
  if (mode == "edge") return i < 0 ? 0 : n - 1;
  if (n == 1) return 0;
  const int64_t period = 2 * (n - 1);  // reflect: x0 x1 .. xn-1 xn-2 .. x1 | x0 ...
  i %= period;
  if (i < 0) i += period;
  return i < n ? i : period - i;
}
}  // namespace

std::unique_ptr<StepKernel> make_pad_step(const StepSpec& s) {
  s.expect_arity(1, 1, 1);
  const Shape &x = s.in(0), &y = s.out(0);
  const size_t r = x.size();
  expect(r >= 1, "X must have rank >= 1");
  const std::vector<int64_t> pads = s.attrs->ints_n("pads", 2 * r);
  const std::string mode = s.attrs->s_or("mode", "constant");
  expect(mode == "constant" || mode == "reflect" || mode == "edge", "mode must be constant, reflect or edge, got '" + mode + "'");
  const float value = float(s.attrs->f_or("value", 0.0));
  Shape want(r);
  std::vector<std::vector<int64_t>> map(r);  // per axis: Y index -> X index or -1
  for (size_t d = 0; d < r; ++d) {
    want[d] = x[d] + pads[d] + pads[d + r];
    expect(want[d] >= 0, "pads crop axis " + std::to_string(d) + " below zero");
    expect(mode == "constant" || x[d] > 0 || want[d] == 0, mode + " padding needs non-empty axes");
    for (int64_t j = 0; j < want[d]; ++j) map[d].push_back(source(j - pads[d], x[d], mode));
  }
  expect(y == want, "Y must be " + shape_str(want) + ", got " + shape_str(y));
  const Shape xs = dense_strides(x);
  const int64_t inner = y.back(), rows = numel(y, 0, r - 1);
  return make_fn_kernel("f32_pad_" + mode + "__ref", [=](const StepArgs& a) {
    if (inner == 0) return;
    parallel_for(a.par, rows, grain_for(inner), [&](int64_t r0, int64_t r1, int) {
      for (int64_t row = r0; row < r1; ++row) {
        float* yr = a.out[0] + row * inner;
        int64_t off = 0, rest = row;
        bool fill = false;
        for (size_t d = r - 1; d-- > 0;) {
          const int64_t src = map[d][rest % y[d]];
          rest /= y[d];
          fill = fill || src < 0;
          off += src * xs[d];
        }
        if (fill) {
          std::fill(yr, yr + inner, value);
          continue;
        }
        const float* xr = a.in[0] + off;
        const std::vector<int64_t>& m = map[r - 1];
        for (int64_t j = 0; j < inner; ++j) yr[j] = m[j] < 0 ? value : xr[m[j]];
      }
    });
  });
}

}  // namespace cnnrt
