// The geometry of a 2-D pooling window, shared by max_pool and avg_pool: read from the
// attributes and the X/Y shapes, validated (Y's spatial size may be the floor or ceil_mode one).
#pragma once
#include <cstdint>
#include <utility>

#include "cnnrt/step.h"

namespace cnnrt {

struct Pool2d {
  int64_t N, C, H, W, OH, OW, KH, KW, SH, SW, PT, PL, PB, PR, DH, DW;
  // The kernel taps k in [begin, end) whose row o*S - P + k*D falls inside [lo, hi).
  static void taps(int64_t o, int64_t S, int64_t P, int64_t D, int64_t K, int64_t lo, int64_t hi,
                   int64_t& begin, int64_t& end);
};

Pool2d read_pool2d(const StepSpec& s);

// Global pools: checks X (N, C, spatial...) -> Y (N, C, 1, ...); returns {planes N*C, plane size}.
std::pair<int64_t, int64_t> read_global_pool(const StepSpec& s);

}  // namespace cnnrt
