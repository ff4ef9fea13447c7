// Winograd F(4x4, 3x3) convolution (conv_winograd.cc): the driver is ISA-neutral (baseline
// flags); an ISA contributes its GEMM micro-kernel and the two tile transforms, which work on
// one panel of NR tiles at a time (winograd_transforms.h, compiled in each ISA folder).
#pragma once
#include <cstdint>
#include <memory>

#include "cpu/gemm_blocking.h"

namespace cnnrt {

// Geometry of the tiles of one image: tile t is at tile row tr0 + t / tw, tile column t % tw;
// its 6x6 input window starts at (4 * row - pt, 4 * col - pl).
struct WinoTiles {
  const float* x;      // one input channel (H x W), or nullptr for the output transform
  int64_t h, w, pt, pl;
  int64_t tw, tr0;     // tiles per row, first tile row of the block
};

// input:  V[xi * xi_stride + j] = (B^T d_j B)[xi] for the NR tiles j of the panel starting at
//         tile t0 (tiles at or past nt are zeros).
using WinoInputFn = void (*)(const WinoTiles& g, int64_t t0, int64_t nt, float* v,
                             int64_t xi_stride);
// output: y = A^T M_j A + bias for the panel's tiles j < nt - t0, written into the output
//         channel ym (oh x ow), clipped at its edges; M[xi * xi_stride + j].
using WinoOutputFn = void (*)(const float* m, int64_t xi_stride, const WinoTiles& g, int64_t t0,
                              int64_t nt, float bias, float* ym, int64_t oh, int64_t ow);

struct WinogradUkernel {
  const GemmUkernel* gemm;
  WinoInputFn input;
  WinoOutputFn output;
};

extern const WinogradUkernel f32_winograd_4x8__portable;
extern const WinogradUkernel f32_winograd_6x16__avx2;
extern const WinogradUkernel f32_winograd_8x32__avx512;

// 3x3 stride-1 convs without dilation or groups, C and M >= 16, outputs of 16 tiles or more
// (14x14 and up); nullptr for anything else.
std::unique_ptr<ConvKernel> make_conv_winograd(const ConvDesc& d, const float* weights,
                                               const float* bias, const WinogradUkernel& wk,
                                               const char* name);

}  // namespace cnnrt
