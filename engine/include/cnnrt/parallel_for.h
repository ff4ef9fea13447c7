// Blocked parallel loop over the engine's pool: f(begin, end, thread_id) for consecutive blocks
// of about `grain` items, so that per-item work stays a tight loop the compiler can vectorize.
#pragma once
#include <algorithm>
#include <cstdint>

#include "cpu/kernel_api.h"

namespace cnnrt {

template <class F>
void parallel_for(const Parallel& par, int64_t n, int64_t grain, F&& f) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  const int64_t blocks = (n + grain - 1) / grain;
  if (blocks == 1 || par.threads() <= 1) {
    f(int64_t{0}, n, 0);
    return;
  }
  par.for_each(blocks, [&](int64_t b, int tid) { f(b * grain, std::min(n, (b + 1) * grain), tid); });
}

// A grain that gives each block about `target` elements of work when one item costs `per_item`.
inline int64_t grain_for(int64_t per_item, int64_t target = 1 << 15) {
  return std::max<int64_t>(1, target / std::max<int64_t>(per_item, 1));
}

}  // namespace cnnrt
