// Fully connected layer Y(N, M) = X(N, K) * W(M, K)^T + b: with N small (usually 1) it is a
// matrix-vector product bound by reading W, so W is kept row-major and each ISA provides a
// dot-product block kernel vectorized over K; the driver splits M over threads.
#pragma once
#include <cstdint>
#include <memory>

#include "cpu/epilogue.h"
#include "cpu/kernel_api.h"

namespace cnnrt {

// For m in [m0, m1) and n in [0, N): y[n*M + m] = bias[m] + dot(x[n*K ...], w[m*K ...]).
using FcBlockFn = void (*)(const float* w, const float* bias, const float* x, float* y,
                           int64_t N, int64_t K, int64_t M, int64_t m0, int64_t m1);

struct FcOps {
  FcBlockFn block;
  EpiRowsFn epi;
};

extern const FcOps f32_fc_block__portable;
extern const FcOps f32_fc_block__avx2;

std::unique_ptr<GemmKernel> make_fc(const GemmDesc& d, const float* weights, const float* bias,
                                    const FcOps& ops, const char* name);

}  // namespace cnnrt
