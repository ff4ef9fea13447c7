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

// y[i] = act(y[i]); if res: y[i] = post_act(y[i] + res[i]), for i in [0, n). Bias is not
// part of it: the kernels fold bias into their accumulator initialisation.
using EpiRowFn = void (*)(float* y, const float* res, int64_t n, const EpiParams& p);

void epi_row__portable(float* y, const float* res, int64_t n, const EpiParams& p);
void epi_row__avx2(float* y, const float* res, int64_t n, const EpiParams& p);

}  // namespace cnnrt
