// global_avg_pool: the mean of each (n, c) plane of X (N, C, ...) -> Y (N, C, 1, ...).
// Summed in double so large planes keep float precision. The oracle (isa=ref); other ISAs get
// kernels/cpu/global_avg_pool.cc.
#include "cnnrt/parallel_for.h"
#include "cnnrt/pool_geom.h"
#include "cnnrt/step.h"

namespace cnnrt {

std::unique_ptr<StepKernel> make_global_avg_pool_lanes(int64_t planes, int64_t plane);

std::unique_ptr<StepKernel> make_global_avg_pool_step(const StepSpec& s) {
  const auto geom = read_global_pool(s);
  const int64_t planes = geom.first, plane = geom.second;
  if (s.isa != Isa::Ref) return make_global_avg_pool_lanes(planes, plane);  // kernels/cpu/
  return make_fn_kernel("f32_global_avg_pool__ref", [=](const StepArgs& a) {
    parallel_for(a.par, planes, grain_for(plane), [&](int64_t p0, int64_t p1, int) {
      for (int64_t p = p0; p < p1; ++p) {
        const float* xp = a.in[0] + p * plane;
        double sum = 0;
        for (int64_t i = 0; i < plane; ++i) sum += xp[i];
        a.out[0][p] = plane > 0 ? float(sum / plane) : 0.f;
      }
    });
  });
}

}  // namespace cnnrt
