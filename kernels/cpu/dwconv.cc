// Depthwise conv driver (see dwconv.h): parallel over the N*C planes; each plane is copied
// into a zero-padded per-thread buffer, then the ISA's plane function runs without bounds
// checks. The copy costs ~1/(KH*KW) of the loads of the compute.
#include <algorithm>
#include <cstring>
#include <vector>

#include "cpu/dwconv.h"

namespace cnnrt {
namespace {

int64_t round_up(int64_t a, int64_t b) { return (a + b - 1) / b * b; }

class DwConv final : public ConvKernel {
 public:
  DwConv(const ConvDesc& d, const float* w, const float* b, const DwOps& ops, const char* name)
      : d_(d), ops_(ops), name_(name), epi_(make_epi_params(d.epi)),
        w_(w, w + d.C * d.KH * d.KW), b_(size_t(d.C), 0.f) {
    if (b) std::copy(b, b + d.C, b_.begin());
    g_ = {d.KH, d.KW, d.SH, d.SW, d.DH, d.DW, d.OH, d.OW, 0};
    // Vector lanes read up to SW*round_up(OW, lanes) + (KW-1)*DW + lanes columns.
    const int64_t need = d.SW * round_up(d.OW, ops.lanes) + (d.KW - 1) * d.DW + ops.lanes;
    g_.pw = round_up(std::max(d.W + d.PL + d.PR, need), 16);
    ph_ = d.H + d.PT + d.PB;
  }

  const char* name() const override { return name_; }

  size_t scratch_bytes(int threads) const override {
    return size_t(std::max(threads, 1)) * per_thread_bytes();
  }

  void run(const float* x, float* y, const float* residual, void* scratch,
           const Parallel& par) const override {
    const ConvDesc& d = d_;
    const float* res = d.epi.has_residual ? residual : nullptr;
    const int64_t osz = d.OH * d.OW;
    par.for_each(d.N * d.C, [&](int64_t i, int tid) {
      float* xp = reinterpret_cast<float*>(static_cast<char*>(scratch) +
                                           size_t(tid) * per_thread_bytes());
      const int64_t n = i / d.C, c = i % d.C;
      pad_plane(x + i * d.H * d.W, xp);
      ops_.plane(xp, w_.data() + c * d.KH * d.KW, b_[c], y + n * d.out_batch_stride + c * osz,
                 res ? res + i * osz : nullptr, g_, epi_);
    });
  }

 private:
  size_t per_thread_bytes() const {
    return size_t(round_up(ph_ * g_.pw * int64_t(sizeof(float)), 64));
  }

  void pad_plane(const float* src, float* dst) const {
    const ConvDesc& d = d_;
    const int64_t pw = g_.pw;
    std::memset(dst, 0, size_t(d.PT * pw) * sizeof(float));
    for (int64_t h = 0; h < d.H; ++h) {
      float* row = dst + (d.PT + h) * pw;
      std::memset(row, 0, size_t(d.PL) * sizeof(float));
      std::memcpy(row + d.PL, src + h * d.W, size_t(d.W) * sizeof(float));
      std::memset(row + d.PL + d.W, 0, size_t(pw - d.PL - d.W) * sizeof(float));
    }
    std::memset(dst + (d.PT + d.H) * pw, 0, size_t(d.PB * pw) * sizeof(float));
  }

  ConvDesc d_;
  DwOps ops_;
  const char* name_;
  EpiParams epi_;
  std::vector<float> w_, b_;
  DwGeom g_;
  int64_t ph_;
};

}  // namespace

std::unique_ptr<ConvKernel> make_dwconv(const ConvDesc& d, const float* weights, const float* bias,
                                        const DwOps& ops, const char* name) {
  if (!(d.G == d.C && d.M == d.C)) return nullptr;
  return std::make_unique<DwConv>(d, weights, bias, ops, name);
}

}  // namespace cnnrt
