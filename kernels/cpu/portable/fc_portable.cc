// Portable FC block: 4 weight rows at a time share each x load; 8 independent partial sums
// per row (lane arrays the compiler turns into SIMD without reassociating a reduction).
#include <cstdint>

#include "cpu/fc.h"

namespace cnnrt {
namespace {

constexpr int kRows = 4, kLanes = 8;

void block(const float* w, const float* bias, const float* x, float* y, int64_t N, int64_t K,
           int64_t M, int64_t m0, int64_t m1) {
  for (int64_t m = m0; m < m1; m += kRows) {
    const int rows = int(m1 - m < kRows ? m1 - m : kRows);
    for (int64_t n = 0; n < N; ++n) {
      const float* xn = x + n * K;
      float acc[kRows][kLanes] = {};
      int64_t k = 0;
      for (; k + kLanes <= K; k += kLanes)
        for (int r = 0; r < rows; ++r)
          for (int l = 0; l < kLanes; ++l) acc[r][l] += w[(m + r) * K + k + l] * xn[k + l];
      for (int r = 0; r < rows; ++r) {
        float s = bias[m + r];
        for (int l = 0; l < kLanes; ++l) s += acc[r][l];
        for (int64_t kk = k; kk < K; ++kk) s += w[(m + r) * K + kk] * xn[kk];
        y[n * M + m + r] = s;
      }
    }
  }
}

}  // namespace

const FcOps f32_fc_block__portable = {&block, &epi_rows__portable};

}  // namespace cnnrt
