// reduce_mean: the mean over `axes` (sorted, non-negative), keeping them as size 1 when
// keepdims. Empty axes reduce all axes (ONNX's default) unless Y has X's shape, which is
// ONNX's noop_with_empty_axes (the two agree when every axis has size 1). Each output element walks its reduced sub-space with
// an odometer; sums are in double.
#include "cnnrt/parallel_for.h"
#include "cnnrt/step.h"

namespace cnnrt {

std::unique_ptr<StepKernel> make_reduce_mean_step(const StepSpec& s) {
  s.expect_arity(1, 1, 1);
  const Shape& x = s.in(0);
  std::vector<int64_t> axes = s.attrs->ints("axes");
  const int64_t keep = s.attrs->i_or("keepdims", 1);
  expect(keep == 0 || keep == 1, "keepdims must be 0 or 1");
  std::vector<bool> red(x.size(), axes.empty() && s.out(0) != x);
  for (size_t i = 0; i < axes.size(); ++i) {
    expect(axes[i] >= 0 && axes[i] < int64_t(x.size()) && (i == 0 || axes[i] > axes[i - 1]),
           "axes must be sorted, unique and in [0, " + std::to_string(x.size()) + ")");
    red[axes[i]] = true;
  }
  const Shape xs = dense_strides(x);
  Shape want, kdim, kstride, rdim, rstride;  // kept / reduced dims of X with their strides
  for (size_t d = 0; d < x.size(); ++d) {
    if (red[d]) {
      rdim.push_back(x[d]), rstride.push_back(xs[d]);
      if (keep) want.push_back(1);
    } else {
      kdim.push_back(x[d]), kstride.push_back(xs[d]), want.push_back(x[d]);
    }
  }
  expect(s.out(0) == want, "Y must be " + shape_str(want) + ", got " + shape_str(s.out(0)));
  const int64_t nout = numel(kdim), nred = numel(rdim);
  return make_fn_kernel("f32_reduce_mean__ref", [=](const StepArgs& a) {
    parallel_for(a.par, nout, grain_for(nred), [&](int64_t o0, int64_t o1, int) {
      std::vector<int64_t> idx(rdim.size());
      for (int64_t o = o0; o < o1; ++o) {
        int64_t base = 0, rest = o;
        for (size_t d = kdim.size(); d-- > 0;) base += (rest % kdim[d]) * kstride[d], rest /= kdim[d];
        std::fill(idx.begin(), idx.end(), 0);
        double sum = 0;
        for (int64_t r = 0, off = base; r < nred; ++r) {
          sum += a.in[0][off];
          for (size_t d = rdim.size(); d-- > 0;) {  // advance the odometer
            off += rstride[d];
            if (++idx[d] < rdim[d]) break;
            off -= idx[d] * rstride[d];
            idx[d] = 0;
          }
        }
        a.out[0][o] = nred > 0 ? float(sum / nred) : 0.f;
      }
    });
  });
}

}  // namespace cnnrt
