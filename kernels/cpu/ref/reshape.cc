// reshape: same elements, new shape. The memory planner makes Y an alias of X, so this kernel
// only runs (as a copy) if the planner ever declines to alias; the factory still validates.
#include <cstring>

#include "cnnrt/step.h"

namespace cnnrt {

std::unique_ptr<StepKernel> make_reshape_step(const StepSpec& s) {
  s.expect_arity(1, 1, 1);
  expect(numel(s.in(0)) == numel(s.out(0)), "cannot reshape " + shape_str(s.in(0)) + " (" +
                                                std::to_string(numel(s.in(0))) + " elements) to " +
                                                shape_str(s.out(0)));
  const int64_t n = numel(s.in(0));
  return make_fn_kernel("f32_copy__ref", [=](const StepArgs& a) {
    if (n > 0 && a.in[0] != a.out[0]) std::memcpy(a.out[0], a.in[0], n * sizeof(float));
  });
}

}  // namespace cnnrt
