// copy: Y = X (Identity, Dropout, float->float Cast that survived optimization).
#include <cstring>

#include "cnnrt/parallel_for.h"
#include "cnnrt/step.h"

namespace cnnrt {

std::unique_ptr<StepKernel> make_copy_step(const StepSpec& s) {
  s.expect_arity(1, 1, 1);
  expect(s.in(0) == s.out(0), "Y must have X's shape " + shape_str(s.in(0)) + ", got " + shape_str(s.out(0)));
  const int64_t n = numel(s.in(0));
  return make_fn_kernel("f32_copy__ref", [=](const StepArgs& a) {
    parallel_for(a.par, n, 1 << 16, [&](int64_t b, int64_t e, int) {
      std::memcpy(a.out[0] + b, a.in[0] + b, (e - b) * sizeof(float));
    });
  });
}

}  // namespace cnnrt
