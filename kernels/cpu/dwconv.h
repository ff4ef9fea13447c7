// Depthwise conv (G == C == M): the shared driver pads each input plane into per-thread
// scratch (so the inner loops never test bounds) and an ISA function computes the plane.
#pragma once
#include <cstdint>
#include <memory>

#include "cpu/epilogue.h"
#include "cpu/kernel_api.h"

namespace cnnrt {

struct DwGeom {
  int64_t KH, KW, SH, SW, DH, DW;
  int64_t OH, OW;
  int64_t pw;  // row stride of the padded plane; rows hold PL zeros, W values, zeros
};

// Computes one output plane y (OH x OW, dense) from the padded plane xp:
// y[oh][ow] = epi(bias + sum w[kh*KW + kw] * xp[(oh*SH + kh*DH)*pw + ow*SW + kw*DW]).
// res is the residual plane or nullptr.
using DwPlaneFn = void (*)(const float* xp, const float* w, float bias, float* y,
                           const float* res, const DwGeom& g, const EpiParams& p);

struct DwOps {
  DwPlaneFn plane;
  int lanes;  // the padded rows must allow reading SW*round_up(OW, lanes) + (KW-1)*DW + lanes
};

extern const DwOps f32_dwconv_plane__portable;
extern const DwOps f32_dwconv_plane__avx2;

// nullptr when d is not a depthwise conv with channel multiplier 1.
std::unique_ptr<ConvKernel> make_dwconv(const ConvDesc& d, const float* weights, const float* bias,
                                        const DwOps& ops, const char* name);

}  // namespace cnnrt
