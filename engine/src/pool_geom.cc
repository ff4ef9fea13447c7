// Pooling window geometry: attribute defaults, validation, and tap clipping.
#include "cnnrt/pool_geom.h"

#include <algorithm>

namespace cnnrt {

void Pool2d::taps(int64_t o, int64_t S, int64_t P, int64_t D, int64_t K, int64_t lo, int64_t hi,
                  int64_t& begin, int64_t& end) {
  const int64_t start = o * S - P;  // row of tap 0
  begin = start >= lo ? 0 : (lo - start + D - 1) / D;
  end = start >= hi ? 0 : std::min(K, (hi - start + D - 1) / D);
  if (end < begin) end = begin;
}

Pool2d read_pool2d(const StepSpec& s) {
  s.expect_arity(1, 1, 1);
  const Shape& x = s.in(0);
  const Shape& y = s.out(0);
  expect(x.size() == 4, "X must be 4-D (N,C,H,W), got " + shape_str(x));
  expect(y.size() == 4 && y[0] == x[0] && y[1] == x[1],
         "Y must be (N,C,OH,OW) with X's N and C, got " + shape_str(y) + " for X " + shape_str(x));
  const Attrs& a = *s.attrs;
  auto k = a.ints_n("kernel", 2);
  auto st = a.ints_n_or("strides", 2, {1, 1});
  auto p = a.ints_n_or("pads", 4, {0, 0, 0, 0});
  auto d = a.ints_n_or("dilations", 2, {1, 1});
  expect(k[0] >= 1 && k[1] >= 1 && st[0] >= 1 && st[1] >= 1 && d[0] >= 1 && d[1] >= 1,
         "kernel, strides and dilations must be >= 1");
  expect(p[0] >= 0 && p[1] >= 0 && p[2] >= 0 && p[3] >= 0, "pads must be non-negative");
  Pool2d g{x[0], x[1], x[2], x[3], y[2], y[3], k[0], k[1], st[0], st[1],
           p[0], p[1], p[2], p[3], d[0], d[1]};
  // Y's size is the floor one or (ceil_mode) one more window, never more.
  auto check = [&](int64_t in, int64_t pb, int64_t pe, int64_t kk, int64_t dd, int64_t ss,
                   int64_t out, const char* axis) {
    const int64_t span = in + pb + pe - ((kk - 1) * dd + 1);
    expect(span >= 0, std::string("the window is larger than the padded input along ") + axis);
    const int64_t lo = span / ss + 1, hi = (span + ss - 1) / ss + 1;
    expect(out >= lo && out <= hi, std::string("output ") + axis + " = " + std::to_string(out) +
                                       " does not match the window (expected " +
                                       std::to_string(lo) + (hi != lo ? " or " + std::to_string(hi) : "") + ")");
  };
  check(g.H, g.PT, g.PB, g.KH, g.DH, g.SH, g.OH, "H");
  check(g.W, g.PL, g.PR, g.KW, g.DW, g.SW, g.OW, "W");
  return g;
}

std::pair<int64_t, int64_t> read_global_pool(const StepSpec& s) {
  s.expect_arity(1, 1, 1);
  const Shape &x = s.in(0), &y = s.out(0);
  expect(x.size() >= 3, "X must be (N, C, H, W), got " + shape_str(x));
  Shape want(x.size(), 1);
  want[0] = x[0], want[1] = x[1];
  expect(y == want, "Y must be " + shape_str(want) + ", got " + shape_str(y));
  return {x[0] * x[1], numel(x, 2, x.size())};
}

}  // namespace cnnrt
