// Portable 4x8 SGEMM micro-kernel: plain C++ written so the compiler keeps the 4x8
// accumulator block in (SSE) registers and vectorizes along the 8 columns.
#include <cstdint>

#include "cpu/gemm_blocking.h"

namespace cnnrt {
namespace {

constexpr int MR = 4, NR = 8;

float clampf(float v, float lo, float hi) { return v < lo ? lo : v > hi ? hi : v; }

void ukernel(int64_t kc, const float* a, const float* b, int64_t ldb, float* c, int64_t ldc,
             const UkArgs& args) {
  float acc[MR][NR];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j)
      acc[i][j] = !args.load_c ? args.bias[i] : i < args.rows ? c[i * ldc + j] : 0.f;
  for (int64_t k = 0; k < kc; ++k, a += MR, b += ldb)
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NR; ++j) acc[i][j] += a[i] * b[j];
  for (int i = 0; i < args.rows; ++i)
    for (int j = 0; j < NR; ++j) {
      float v = acc[i][j];
      if (args.clamp) v = clampf(v, args.lo, args.hi);
      if (args.res) {
        v += args.res[i * args.ldr + j];
        if (args.post_clamp) v = clampf(v, args.post_lo, args.post_hi);
      }
      c[i * ldc + j] = v;
    }
}

}  // namespace

const GemmUkernel f32_gemm_ukernel_4x8__portable = {MR, NR, &ukernel, &epi_rows__portable, nullptr};

}  // namespace cnnrt
