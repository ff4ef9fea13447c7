// The fused epilogue as the optimized kernels see it, prepared once at kernel creation.
//
// Clamp-like activations (none, relu, clip) are applied inside the micro-kernels while the
// accumulators are still in registers; the others (sigmoid, silu, ...) go through an
// ISA-specific row function over the just-stored tile, which is still in L1.
//
// This header is included by the per-ISA units: keep it free of inline functions and
// templates with external linkage (an ISA unit's copy could be picked by the linker for
// baseline code and then run on a CPU without that ISA).
#pragma once
#include <cstdint>

#include "cpu/kernel_api.h"

namespace cnnrt {

struct EpiParams {
  Epilogue e;
  bool clamp_only;     // act and post_act are each none/relu/clip: the micro-kernel does it all
  bool clamp;          // clamp_only and act != none: y = min(max(y, lo), hi)
  float lo, hi;
  bool post_clamp;     // clamp_only and post_act != none (after the residual add)
  float post_lo, post_hi;
};
EpiParams make_epi_params(const Epilogue& e);

// For each of `rows` rows (y row r at y + r*ldy, its residual at res + r*ldr): y[i] = act(y[i]);
// if res: y[i] = post_act(y[i] + res[i]), for i in [0, n). Bias is not part of it: the kernels
// fold bias into their accumulator initialisation. Rows come in one call (a GEMM tile's 6):
// a call per 16-float row cost more than the SiLU itself.
using EpiRowsFn = void (*)(float* y, int64_t ldy, const float* res, int64_t ldr, int64_t rows,
                           int64_t n, const EpiParams& p);

void epi_rows__portable(float* y, int64_t ldy, const float* res, int64_t ldr, int64_t rows,
                        int64_t n, const EpiParams& p);
void epi_rows__avx2(float* y, int64_t ldy, const float* res, int64_t ldr, int64_t rows,
                    int64_t n, const EpiParams& p);

}  // namespace cnnrt
