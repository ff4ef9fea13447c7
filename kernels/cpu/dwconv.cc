// Depthwise conv driver (see dwconv.h). The N*C planes are split into a few contiguous tasks
// per thread (the pool balances them dynamically); a task zeroes its row ring once, then for
// each plane prepares every input row once, in order, into ring slot ih % Q (the Q rows of a
// pass never share a slot, and a slot is only reused once its row is behind every later
// pass) and runs the ISA pass over R output rows at a time, top to bottom (a pass may spill
// into the next row's first columns, see DwPassFn).
#include <algorithm>
#include <cstring>
#include <vector>

#include "cpu/dwconv.h"

namespace cnnrt {
namespace {

int64_t round_up(int64_t a, int64_t b) { return (a + b - 1) / b * b; }
int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

class DwConv final : public ConvKernel {
 public:
  DwConv(const ConvDesc& d, const float* w, const float* b, const DwOps& ops, const char* name)
      : d_(d), ops_(ops), name_(name), epi_(make_epi_params(d.epi)),
        w_(w, w + d.C * d.KH * d.KW), b_(size_t(d.C), 0.f) {
    if (b) std::copy(b, b + d.C, b_.begin());
    const int64_t S = d.SW, span = (d.KW - 1) * d.DW;
    // A phase holds the data columns [PL, PL+W) (+ lanes for prep's full-vector stores) and
    // the reads of every tap.
    const int64_t hl = round_up(std::max(ceil_div(d.PL + d.W, S) + ops.lanes,
                                         span / S + round_up(d.OW, ops.lanes)), 16);
    for (int64_t kw = 0; kw < d.KW; ++kw) toff_.push_back(kw * d.DW % S * hl + kw * d.DW / S);
    g_ = {d.KH, d.KW, d.SH, d.DH, d.W, d.PL, S, d.OH, d.OW, hl, toff_.data(), 1, 0};
    pass_ = ops.choose(&g_);
    g_.Q = (g_.R - 1) * d.SH + (d.KH - 1) * d.DH + 1;
    k_first_ = (g_.Q - d.PT % g_.Q) % g_.Q;  // row -PT lives in slot (-PT) mod Q
    k_step_ = g_.R * d.SH % g_.Q;
  }

  const char* name() const override { return name_; }

  size_t scratch_bytes(int threads) const override {
    return size_t(std::max(threads, 1)) * per_thread_bytes();
  }

  void run(const float* x, float* y, const float* residual, void* scratch,
           const Parallel& par) const override {
    const int64_t planes = d_.N * d_.C;
    const int64_t tasks = std::min<int64_t>(planes, 8 * int64_t(std::max(par.threads(), 1)));
    const float* res = d_.epi.has_residual ? residual : nullptr;
    par.for_each(tasks, [&](int64_t t, int tid) {
      char* mine = static_cast<char*>(scratch) + size_t(tid) * per_thread_bytes();
      float* ring = reinterpret_cast<float*>(mine);
      const float** rows = reinterpret_cast<const float**>(mine + ring_bytes());
      std::memset(ring, 0, ring_bytes());
      const int64_t i0 = planes * t / tasks, i1 = planes * (t + 1) / tasks;
      int64_t n = i0 / d_.C, c = i0 % d_.C;  // plane i = image n, channel c
      for (int64_t i = i0; i < i1; ++i) {
        plane(x, y, res, i, n, c, ring, rows);
        if (++c == d_.C) c = 0, ++n;
      }
    });
  }

 private:
  int64_t slot() const { return g_.SW * g_.hl; }  // floats per prepared row
  // Per thread: the ring (Q row slots, then the zero row), then a pass's Q row pointers.
  size_t ring_bytes() const { return size_t(round_up((g_.Q + 1) * slot() * int64_t(sizeof(float)), 64)); }
  size_t per_thread_bytes() const {
    return ring_bytes() + size_t(round_up(g_.Q * int64_t(sizeof(float*)), 64));
  }

  // Plane i = (image n, channel c).
  void plane(const float* x, float* y, const float* res, int64_t i, int64_t n, int64_t c,
             float* ring, const float** rv) const {
    const ConvDesc& d = d_;
    const int64_t osz = d.OH * d.OW;
    const float* xp = x + i * d.H * d.W;
    float* yp = y + n * d.out_batch_stride + c * osz;
    const float* rp = res ? res + i * osz : nullptr;
    const float* zero = ring + g_.Q * slot();
    int64_t ready = -1;     // the last input row prepared
    int64_t k0 = k_first_;  // ring slot of the pass's first row ih0 (kept without divisions)
    for (int64_t oh = 0; oh < d.OH; oh += g_.R) {
      const int64_t ih0 = oh * d.SH - d.PT;
      for (int64_t j = 0, k = k0; j < g_.Q; ++j, k = k + 1 == g_.Q ? 0 : k + 1) {
        const int64_t ih = ih0 + j;
        if (ih < 0 || ih >= d.H) {
          rv[j] = zero;
          continue;
        }
        float* s = ring + k * slot();
        if (ih > ready) ops_.prep(xp + ih * d.W, s, (d.H - ih) * d.W, g_), ready = ih;
        rv[j] = s;
      }
      pass_(rv, w_.data() + c * d.KH * d.KW, b_[c], yp + oh * d.OW, rp ? rp + oh * d.OW : nullptr,
            std::min(g_.R, d.OH - oh), d.OH - oh, g_, epi_);
      k0 += k_step_;
      if (k0 >= g_.Q) k0 -= g_.Q;
    }
  }

  ConvDesc d_;
  DwOps ops_;
  const char* name_;
  EpiParams epi_;
  std::vector<float> w_, b_;
  std::vector<int64_t> toff_;
  DwGeom g_;
  DwPassFn pass_;
  int64_t k_first_, k_step_;  // ring slot of the first pass's row ih0, and its step per pass
};

}  // namespace

std::unique_ptr<ConvKernel> make_dwconv(const ConvDesc& d, const float* weights, const float* bias,
                                        const DwOps& ops, const char* name) {
  if (!(d.G == d.C && d.M == d.C)) return nullptr;
  return std::make_unique<DwConv>(d, weights, bias, ops, name);
}

}  // namespace cnnrt
