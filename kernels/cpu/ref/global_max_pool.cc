// global_max_pool: the max of each (n, c) plane of X (N, C, ...) -> Y (N, C, 1, ...).
#include <algorithm>
#include <limits>

#include "cnnrt/parallel_for.h"
#include "cnnrt/pool_geom.h"
#include "cnnrt/step.h"

namespace cnnrt {

std::unique_ptr<StepKernel> make_global_max_pool_step(const StepSpec& s) {
  const auto geom = read_global_pool(s);
  const int64_t planes = geom.first, plane = geom.second;
  return make_fn_kernel("f32_global_max_pool__ref", [=](const StepArgs& a) {
    parallel_for(a.par, planes, grain_for(plane), [&](int64_t p0, int64_t p1, int) {
      for (int64_t p = p0; p < p1; ++p) {
        const float* xp = a.in[0] + p * plane;
        float m = std::numeric_limits<float>::lowest();
        for (int64_t i = 0; i < plane; ++i) m = std::max(m, xp[i]);
        a.out[0][p] = m;
      }
    });
  });
}

}  // namespace cnnrt
