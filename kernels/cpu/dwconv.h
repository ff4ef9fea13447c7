// Depthwise conv (G == C == M), NCHW. The shared driver (dwconv.cc) walks each plane in
// passes of R output rows. It prepares every input row once into a small per-thread ring of
// zero-padded rows and an ISA function computes the R rows of a pass from them.
//
// A prepared row holds the input row with its left/right padding, split into SW phases so
// that every tap is a unit-stride read: phase q holds the padded columns j = q + SW*i at
// index i (for SW == 1 it is just the padded row; for SW == 2 the even and odd columns).
// Output column ow of tap kw then reads row[toff[kw] + ow], toff[kw] = (t % SW)*hl + t / SW
// with t = kw*DW. Rows above or below the input are a shared all-zero row.
#pragma once
#include <cstdint>
#include <memory>

#include "cpu/epilogue.h"
#include "cpu/kernel_api.h"

namespace cnnrt {

struct DwGeom {
  int64_t KH, KW, SH, DH;  // kernel rows, stride and dilation along H
  int64_t W, PL, SW;       // input width, left pad, stride along W (row preparation)
  int64_t OH, OW;
  int64_t hl;              // length of one phase of a prepared row (a multiple of 16)
  const int64_t* toff;     // KW tap offsets into a prepared row
  int64_t R;               // output rows per pass
  int64_t Q;               // input rows a pass reads: (R-1)*SH + (KH-1)*DH + 1
};

// Writes the W values of input row x into their columns of the prepared row `row` (SW*hl
// floats). Columns left of the data are never written; up to `lanes` columns right of it may
// be written, with zeros. The driver zeroes the ring once per task, so the padding stays zero.
// avail: the values readable from x on (to the end of its plane, >= W); reads past the row
// stay below it.
using DwPrepFn = void (*)(const float* x, float* row, int64_t avail, const DwGeom& g);

// Computes output rows [0, nrows) (nrows <= R) of a pass into y (row stride OW):
// y[r][ow] = epi(bias + sum w[kh*KW + kw] * rows[r*SH + kh*DH][toff[kw] + ow]), res (rows of
// the residual, same layout as y) or nullptr. rows: Q prepared rows (or the zero row), each
// readable up to toff[KW-1] + round_up(OW, lanes). left: rows from y to the end of the
// plane (>= nrows). A row's final vector may write (and read the residual of) up to lanes - 1
// columns past the row while they stay inside the plane; rows are written top to bottom, so
// those columns are rewritten with their final values later.
using DwPassFn = void (*)(const float* const* rows, const float* w, float bias, float* y,
                          const float* res, int64_t nrows, int64_t left, const DwGeom& g,
                          const EpiParams& p);

struct DwOps {
  DwPrepFn prep;
  int lanes;  // the vector width the reads are rounded up to
  // Picks the pass function for the shape and sets g->R (g->Q is set by the caller).
  DwPassFn (*choose)(DwGeom* g);
};

extern const DwOps f32_dwconv_plane__portable;
extern const DwOps f32_dwconv_plane__avx2;

// nullptr when d is not a depthwise conv with channel multiplier 1.
std::unique_ptr<ConvKernel> make_dwconv(const ConvDesc& d, const float* weights, const float* bias,
                                        const DwOps& ops, const char* name);

// 8 channels at a time in an interleaved buffer, in bands of output rows
// (avx2/dwconv_c8_avx2.cc): 3x3 and 5x5, stride 1 or 2, no dilation; nullptr for anything
// else (the plane-wise kernel above takes those). 0.58-0.80x the plane-wise kernel's time from
// 7 to 300 px maps. The ops struct only names the ISA (the kernel is written for it).
struct DwC8Ops {};
extern const DwC8Ops f32_dwconv_c8_ops__avx2;
std::unique_ptr<ConvKernel> make_dwconv_c8(const ConvDesc& d, const float* weights,
                                           const float* bias, const DwC8Ops& ops,
                                           const char* name);

}  // namespace cnnrt
