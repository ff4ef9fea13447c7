// The packed-SGEMM conv driver shared by every ISA: weight packing, K/N/M cache blocking,
// im2col packing of B, tails and the epilogue are all here (compiled once, with baseline
// flags); an ISA contributes only its register-blocked micro-kernel (GemmUkernel).
//
// Per group the conv is C(Mg, P) = A(Mg, Kg) * B(Kg, P) with A the weights (packed once into
// MR-row panels per K block), B the input (1x1 s1 p0: the input itself) or its im2col
// (packed per N block into NR-column panels), P = OH*OW, Kg = C/G*KH*KW.
#pragma once
#include <cstdint>
#include <memory>

#include "cpu/epilogue.h"
#include "cpu/kernel_api.h"

namespace cnnrt {

// What a micro-kernel does around its kc-long rank-1 update loop on one full MR x NR tile.
struct UkArgs {
  const float* bias;   // MR values: the accumulator start when !load_c
  int rows;            // rows of C (and of the residual) to load and store, <= MR; the rows
                       // past it are computed from A's zero padding and dropped (M tail)
  bool load_c;         // start from the values in C (a later K block)
  // Applied only on the last K block (flags false otherwise):
  bool clamp;          // y = min(max(y, lo), hi)
  float lo, hi;
  const float* res;    // residual tile (row stride ldr) added after the clamp, or nullptr
  int64_t ldr;
  bool post_clamp;     // after the residual add
  float post_lo, post_hi;
};

// c[i*ldc + j] (i < args.rows, j < NR) = init + sum_k a[k*MR + i] * b[k*ldb + j], then UkArgs.
using GemmUkFn = void (*)(int64_t kc, const float* a, const float* b, int64_t ldb, float* c,
                          int64_t ldc, const UkArgs& args);

struct GemmUkernel {
  int mr, nr;
  GemmUkFn fn;
  EpiRowsFn epi;     // the general epilogue of the same ISA
  GemmUkFn fn_half;  // MR x NR/2 (b still has row stride ldb), or nullptr: a ragged last
                     // panel of <= NR/2 columns (P = 49, 196) then costs half a tile
};

constexpr int kMaxMR = 8, kMaxNR = 32;  // bounds for the driver's tail tiles

extern const GemmUkernel f32_gemm_ukernel_4x8__portable;
extern const GemmUkernel f32_gemm_ukernel_6x16__avx2;
extern const GemmUkernel f32_gemm_ukernel_8x32__avx512;

// The conv kernel over the given micro-kernel; handles every valid ConvDesc.
std::unique_ptr<ConvKernel> make_conv_gemm(const ConvDesc& d, const float* weights,
                                           const float* bias, const GemmUkernel& uk,
                                           const char* name);

}  // namespace cnnrt
