// The packed-SGEMM conv driver (see gemm_blocking.h). Compiled with baseline flags and shared
// by every ISA, which contributes only the micro-kernel.
//
// Blocking, per task = (image, group, N block of nc columns, M block of mcp panels):
//   for each K block (kc <= ~256):            A: weights packed at creation, [g][kblock][panel]
//     pack B block (kc x nc) into scratch     im2col (1x1 s1 p0: B is the input itself, read
//                                             in place; only a ragged last panel is packed,
//                                             or all of it when rows are not NR-aligned)
//     for each NR-wide B panel:               stays in L1 across the M panels
//       for each MR-high A panel of the block: micro-kernel (last K block: fused epilogue)
//     (with <= kFewPanels B panels, e.g. 7x7 outputs, the two loops swap: see task())
// The B block fits L2 (<= 128 KiB) and the task's A block ~256 KiB, so the inner two loops
// run out of cache; C is revisited once per K block.
#include <algorithm>
#include <cstring>
#include <vector>

#include "cpu/gemm_blocking.h"

namespace cnnrt {
namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

constexpr int64_t kKcMax = 256;            // K block: B panel kc x NR stays in L1
constexpr int64_t kBBlockFloats = 32768;   // B block budget (128 KiB, L2)
constexpr int64_t kABlockFloats = 65536;   // A block budget per task (256 KiB, L2)
constexpr int64_t kFewPanels = 4;          // up to this many B panels: loop M panels outside
constexpr int64_t kSmallK = 48;            // K blocks up to this long: loop M panels outside
constexpr int64_t kTaskTiles = 2;
constexpr int64_t kPackRowsPanels = 12;    // M panels a task needs to pack unaligned 1x1 rows          // a task's fixed cost (start, first touches), in tiles

class ConvGemm final : public ConvKernel {
 public:
  ConvGemm(const ConvDesc& d, const float* w, const float* b, const GemmUkernel& uk,
           const char* name)
      : d_(d), uk_(uk), name_(name), epi_(make_epi_params(d.epi)) {
    mr_ = uk.mr;
    nr_ = uk.nr;
    kg_ = d.C / d.G * d.KH * d.KW;
    mg_ = d.M / d.G;
    p_ = d.OH * d.OW;
    mpanels_ = ceil_div(mg_, mr_);
    mpad_ = mpanels_ * mr_;
    direct_ = d.KH == 1 && d.KW == 1 && d.SH == 1 && d.SW == 1 && d.PT == 0 && d.PL == 0 &&
              d.PB == 0 && d.PR == 0;
    pack_rows_ = direct_ && p_ % nr_ != 0;
    const int64_t nkb = ceil_div(kg_, kKcMax);
    kcmax_ = ceil_div(kg_, nkb);  // balanced K blocks
    for (int64_t k = 0; k < kg_; k += kcmax_) kstart_.push_back(k);
    kstart_.push_back(kg_);
    nc_cache_ = std::max<int64_t>(nr_, kBBlockFloats / kcmax_ / nr_ * nr_);
    nc_cache_ = std::min(nc_cache_, round_up(p_, nr_));
    pack_weights(w, b);
  }

  const char* name() const override { return name_; }

  size_t scratch_bytes(int threads) const override {
    const size_t shared = shared_b(split(threads)) ? size_t(kg_ * round_up(p_, nr_)) * sizeof(float)
                                                   : 0;
    return size_t(std::max(threads, 1)) * per_thread_bytes() + shared;
  }

  void run(const float* x, float* y, const float* residual, void* scratch,
           const Parallel& par) const override {
    const Split s = split(par.threads());
    const float* res = d_.epi.has_residual ? residual : nullptr;
    const int64_t ntasks = d_.N * d_.G * s.nb * s.mb;
    // One image's whole im2col, packed once (in parallel over K blocks) for all M blocks.
    float* packed = nullptr;
    if (shared_b(s)) {
      packed = reinterpret_cast<float*>(static_cast<char*>(scratch) +
                                        size_t(std::max(par.threads(), 1)) * per_thread_bytes());
      const int64_t ncp = round_up(p_, nr_);
      par.for_each(int64_t(kstart_.size()) - 1, [&](int64_t kb, int) {
        pack_b_im2col(x, kstart_[kb], kstart_[kb + 1] - kstart_[kb], 0, p_, packed + kstart_[kb] * ncp);
      });
    }
    par.for_each(ntasks, [&](int64_t i, int tid) {
      float* bbuf = reinterpret_cast<float*>(static_cast<char*>(scratch) +
                                             size_t(tid) * per_thread_bytes());
      const int64_t mbi = i % s.mb, nbi = i / s.mb % s.nb, g = i / (s.mb * s.nb) % d_.G,
                    n = i / (s.mb * s.nb * d_.G);
      const int64_t n0 = nbi * s.nc, mp0 = mbi * s.mcp;
      task(x, y, res, n, g, n0, std::min(s.nc, p_ - n0), mp0,
           std::min(mpanels_, mp0 + s.mcp), bbuf, packed);
    });
  }

 private:
  struct Split {
    int64_t nc, nb;   // columns per N block, N blocks
    int64_t mcp, mb;  // M panels per M block, M blocks
  };

  // Small maps (one N block) split over M blocks would each im2col the same B: with one image
  // and group, pack it once for all of them (3x3 convs on 7x7 maps: 2.8-4x slower without).
  bool shared_b(const Split& s) const { return !direct_ && d_.N * d_.G == 1 && s.nb == 1 && s.mb > 1; }

  size_t per_thread_bytes() const {
    return size_t(round_up(kcmax_ * nc_cache_ * int64_t(sizeof(float)), 64));
  }

  // At least 4 tasks per thread where the layer has them (a thread that starts late, or is
  // preempted on a shared machine, leaves its tasks to the others), and among those the split
  // with the shortest estimated critical path: the busiest thread's tiles (a task count that
  // is not a multiple of the threads leaves one thread a whole task more: ResNet-50's 14x14
  // 1x1s had 9 tasks on 2 threads, 5 against 4) plus a per-task cost (start, and each M block
  // of one N block packing the same B again). Candidates start from the cache-sized blocks
  // and shrink them, N first (down to 4 panels), then M.
  Split split(int threads) const {
    const int64_t outer = d_.N * d_.G;
    const int64_t nb0 = ceil_div(p_, nc_cache_);
    const int64_t mb0 = ceil_div(mpanels_, std::max<int64_t>(1, kABlockFloats / (mr_ * kcmax_)));
    auto make = [&](int64_t nb, int64_t mb) {
      const int64_t nc = round_up(ceil_div(p_, nb), nr_), mcp = ceil_div(mpanels_, mb);
      return Split{nc, ceil_div(p_, nc), mcp, ceil_div(mpanels_, mcp)};
    };
    if (threads <= 1) return make(nb0, mb0);
    const int64_t want = 4 * int64_t(threads);
    // (too few tasks, then: fewer tasks the worse; enough: the estimated critical path)
    auto score = [&](const Split& s) {
      const int64_t tasks = outer * s.nb * s.mb;
      if (tasks < want) return std::make_pair(1, double(-tasks));
      const int64_t npanels = ceil_div(s.nc, nr_);
      const int64_t pack = direct_ ? 0 : npanels / 2;  // packing B: ~half a tile per panel
      return std::make_pair(0, double(ceil_div(tasks, threads)) *
                                   double(s.mcp * npanels + pack + kTaskTiles));
    };
    Split best = make(nb0, mb0);
    auto best_score = score(best);
    for (int64_t nb = nb0; nb <= nb0 + want; ++nb) {
      if (nb > nb0 && ceil_div(p_, nb) < 4 * nr_) break;
      for (int64_t mb = mb0; mb <= std::min(mpanels_, mb0 + 2 * want); ++mb) {
        const Split s = make(nb, mb);
        const auto sc = score(s);
        if (sc < best_score) best = s, best_score = sc;
      }
    }
    return best;
  }

  // A: per group, per K block [k0, k0+kc), per panel: kc x MR, k-major, zero rows past Mg.
  void pack_weights(const float* w, const float* b) {
    a_.assign(size_t(d_.G * kg_ * mpad_), 0.f);
    bias_.assign(size_t(d_.G * mpad_), 0.f);
    for (int64_t g = 0; g < d_.G; ++g) {
      for (size_t kb = 0; kb + 1 < kstart_.size(); ++kb) {
        const int64_t k0 = kstart_[kb], kc = kstart_[kb + 1] - k0;
        for (int64_t mp = 0; mp < mpanels_; ++mp) {
          float* dst = a_.data() + a_offset(g, k0, mp, kc);
          for (int64_t i = 0; i < mr_ && mp * mr_ + i < mg_; ++i) {
            const float* src = w + (g * mg_ + mp * mr_ + i) * kg_ + k0;
            for (int64_t k = 0; k < kc; ++k) dst[k * mr_ + i] = src[k];
          }
        }
      }
      if (b) std::copy(b + g * mg_, b + (g + 1) * mg_, bias_.begin() + g * mpad_);
    }
  }

  int64_t a_offset(int64_t g, int64_t k0, int64_t mp, int64_t kc) const {
    return g * kg_ * mpad_ + k0 * mpad_ + mp * mr_ * kc;
  }

  // packed: the whole B already packed (shared_b), or nullptr: pack per K block into bbuf.
  void task(const float* x, float* y, const float* res, int64_t n, int64_t g, int64_t n0,
            int64_t ncols, int64_t mp0, int64_t mp1, float* bbuf, const float* packed) const {
    const ConvDesc& d = d_;
    const float* xg = x + (n * d.C + g * (d.C / d.G)) * d.H * d.W;
    float* yg = y + n * d.out_batch_stride + g * mg_ * p_;
    const float* rg = res ? res + (n * d.M + g * mg_) * p_ : nullptr;
    const int64_t npanels = ceil_div(ncols, nr_);
    const size_t nkb = kstart_.size() - 1;
    // 1x1 rows that are not NR-aligned: every 16-float row of an in-place panel spans two
    // cache lines (and, P floats apart, as many pages); packing the panel pays once enough M
    // panels reuse it (EfficientNet-B7's 1x1s at 75/38/19 px, ResNet's at 7 px: 0.8-0.95x
    // the time; 11 panels at 14 px: 1.07x, so not there).
    const bool pack_rows = pack_rows_ && mp1 - mp0 >= kPackRowsPanels;
    for (size_t kb = 0; kb < nkb; ++kb) {
      const int64_t k0 = kstart_[kb], kc = kstart_[kb + 1] - k0;
      const bool first = kb == 0, last = kb + 1 == nkb;
      // 1x1: full panels are read in place (row stride P), only a ragged one is packed; or
      // every panel, for rows that are not NR-aligned (pack_rows).
      const float* bpan = packed ? packed + k0 * round_up(ncols, nr_) : bbuf;
      if (packed)
        ;  // packed once by run() for every M block
      else if (!direct_)
        pack_b_im2col(xg, k0, kc, n0, ncols, bbuf);
      else if (pack_rows)
        pack_b_rows(xg, k0, kc, n0, ncols, bbuf);
      else if (ncols % nr_)
        pack_b_rows(xg, k0, kc, n0 + (npanels - 1) * nr_, ncols % nr_, bbuf);
      auto tile = [&](int64_t mp, int64_t np) {
        const int64_t j0 = n0 + np * nr_, i0 = mp * mr_;
        const int nr = int(std::min<int64_t>(nr_, n0 + ncols - j0));
        const int mr = int(std::min<int64_t>(mr_, mg_ - i0));
        const float* bp = bpan + np * kc * nr_;
        int64_t ldb = nr_;
        if (direct_ && !pack_rows && nr == nr_) bp = xg + k0 * p_ + j0, ldb = p_;
        else if (direct_ && !pack_rows) bp = bbuf;
        UkArgs args{};
        args.bias = bias_.data() + g * mpad_ + i0;
        args.rows = mr;
        args.load_c = !first;
        if (last && epi_.clamp_only) {
          args.clamp = epi_.clamp;
          args.lo = epi_.lo;
          args.hi = epi_.hi;
          args.res = rg ? rg + i0 * p_ + j0 : nullptr;
          args.ldr = p_;
          args.post_clamp = epi_.post_clamp && rg;
          args.post_lo = epi_.post_lo;
          args.post_hi = epi_.post_hi;
        }
        float* c = yg + i0 * p_ + j0;
        const float* ap = a_.data() + a_offset(g, k0, mp, kc);
        const bool half = uk_.fn_half && 2 * nr <= nr_;
        if (nr == nr_)
          uk_.fn(kc, ap, bp, ldb, c, p_, args);
        else if (half && 2 * nr == nr_)
          uk_.fn_half(kc, ap, bp, ldb, c, p_, args);
        else
          tail_tile(half ? uk_.fn_half : uk_.fn, kc, ap, bp, ldb, c, mr, nr, args);
        if (last && !epi_.clamp_only)
          uk_.epi(c, p_, rg ? rg + i0 * p_ + j0 : nullptr, p_, mr, nr, epi_);
      };
      // Few columns (7x7, 14x14 outputs): B is small and stays in cache while each A panel,
      // streamed from memory (the weights of a late layer do not stay cached between
      // inferences), is used for every column before the next. A short K block (the 16-48
      // channel expand convs of MobileNet/EfficientNet) does so too: its tiles are mostly
      // stores, and M panels inside would scatter them over MR * mcp rows of a large map at
      // once (B7's 48 -> 288 expand: 13.4 -> 9.4 ms). So does a B block packed from
      // unaligned 1x1 rows: it is contiguous, so re-reading it from L2 for each A panel is
      // cheap, and each A panel's 6 output rows are then written in long runs instead of 16
      // floats on every row of the block per B panel (EfficientNet-B7's 1x1s at 75/38/19 px:
      // 0.71-0.95x the time). Otherwise the B panel, read in place, stays in L1 across the A
      // panels of the block (with K >= 64 the better order: ResNet's aligned 1x1s).
      if (npanels <= kFewPanels || kc <= kSmallK || pack_rows) {
        for (int64_t mp = mp0; mp < mp1; ++mp)
          for (int64_t np = 0; np < npanels; ++np) tile(mp, np);
      } else {
        for (int64_t np = 0; np < npanels; ++np) {
          // In place, the kc rows of a panel are kc streams P apart, more than the hardware
          // prefetcher follows: fetch the panel after next ahead of time.
          if (direct_ && !pack_rows && (np + 2) * nr_ < ncols)
            for (int64_t k = 0; k < kc; ++k)
              __builtin_prefetch(xg + (k0 + k) * p_ + n0 + (np + 2) * nr_);
          for (int64_t mp = mp0; mp < mp1; ++mp) tile(mp, np);
        }
      }
    }
  }

  // A tile with ragged columns (N tail): run micro-kernel fn (full or half width) on a local
  // MR x NR copy so the micro-kernels never see ragged columns, then copy the valid mr x nr
  // part back. (Ragged rows, the M tail, are the micro-kernels' own: UkArgs::rows.)
  void tail_tile(GemmUkFn fn, int64_t kc, const float* ap, const float* bp, int64_t ldb, float* c,
                 int mr, int nr, UkArgs args) const {
    alignas(64) float ct[kMaxMR * kMaxNR] = {};
    alignas(64) float rt[kMaxMR * kMaxNR] = {};
    if (args.load_c)
      for (int i = 0; i < mr; ++i) std::memcpy(ct + i * nr_, c + i * p_, nr * sizeof(float));
    if (args.res) {
      for (int i = 0; i < mr; ++i)
        std::memcpy(rt + i * nr_, args.res + i * args.ldr, nr * sizeof(float));
      args.res = rt;
      args.ldr = nr_;
    }
    fn(kc, ap, bp, ldb, ct, nr_, args);
    for (int i = 0; i < mr; ++i) std::memcpy(c + i * p_, ct + i * nr_, nr * sizeof(float));
  }

  // 1x1 s1 p0: B row k is input channel k0+k, columns [n0, n0+ncols); NR-wide panels, the
  // last one zero-padded (the driver packs a ragged last panel this way, or every panel of
  // unaligned rows).
  void pack_b_rows(const float* xg, int64_t k0, int64_t kc, int64_t n0, int64_t ncols,
                   float* dst) const {
    const int64_t full = ncols / nr_ * nr_, w = ncols - full;
    for (int64_t k = 0; k < kc; ++k) {
      const float* src = xg + (k0 + k) * p_ + n0;
      float* d = dst + k * nr_;
      for (int64_t j0 = 0; j0 < full; j0 += nr_, d += kc * nr_)
        for (int64_t t = 0; t < nr_; ++t) d[t] = src[j0 + t];
      if (w) {
        for (int64_t t = 0; t < w; ++t) d[t] = src[full + t];
        for (int64_t t = w; t < nr_; ++t) d[t] = 0.f;
      }
    }
  }

  // General conv: B(k, j) = x[c][oh*SH - PT + kh*DH][ow*SW - PL + kw*DW] (0 in the padding)
  // with k = (c*KH + kh)*KW + kw and j = oh*OW + ow, written straight into NR-wide panels.
  void pack_b_im2col(const float* xg, int64_t k0, int64_t kc, int64_t n0, int64_t ncols,
                     float* dst) const {
    const ConvDesc& d = d_;
    const int64_t panel = kc * nr_;
    if (ncols % nr_) {  // zero the padding columns of the last panel
      float* last = dst + ncols / nr_ * panel;
      for (int64_t k = 0; k < kc; ++k)
        std::fill(last + k * nr_ + ncols % nr_, last + (k + 1) * nr_, 0.f);
    }
    for (int64_t k = 0; k < kc; ++k) {
      const int64_t kk = k0 + k, c = kk / (d.KH * d.KW), r = kk % (d.KH * d.KW);
      const int64_t kh = r / d.KW, kw = r % d.KW;
      const float* xc = xg + c * d.H * d.W;
      // Output columns whose input column is inside [0, W): [ow_lo, ow_hi).
      const int64_t off = kw * d.DW - d.PL;
      const int64_t ow_lo = std::min(d.OW, off >= 0 ? 0 : ceil_div(-off, d.SW));
      const int64_t ow_hi = std::max(ow_lo, std::min(d.OW, off > d.W - 1 ? 0 : (d.W - 1 - off) / d.SW + 1));
      // Writes count values (src[t*stride], or zeros when src is null) to the next columns
      // of this row, in chunks that end at panel boundaries.
      float* dp = dst + k * nr_;  // current panel row
      int64_t j = 0;              // column within the panel
      auto emit = [&](const float* src, int64_t stride, int64_t count) {
        while (count > 0) {
          const int64_t n = std::min(count, nr_ - j);
          float* o = dp + j;
          if (!src)
            for (int64_t t = 0; t < n; ++t) o[t] = 0.f;
          else if (stride == 1)
            for (int64_t t = 0; t < n; ++t) o[t] = src[t];
          else if (stride == 2)  // constant stride: vectorized with shuffles
            for (int64_t t = 0; t < n; ++t) o[t] = src[2 * t];
          else
            for (int64_t t = 0; t < n; ++t) o[t] = src[t * stride];
          if (src) src += n * stride;
          count -= n;
          if ((j += n) == nr_) j = 0, dp += panel;
        }
      };
      for (int64_t col = n0, end = n0 + ncols; col < end;) {
        const int64_t oh = col / d.OW, ow0 = col % d.OW;
        const int64_t ow1 = std::min(d.OW, ow0 + (end - col));
        const int64_t ih = oh * d.SH - d.PT + kh * d.DH;
        if (ih < 0 || ih >= d.H) {
          emit(nullptr, 0, ow1 - ow0);
        } else {
          const int64_t a = std::clamp(ow_lo, ow0, ow1), b = std::clamp(ow_hi, a, ow1);
          emit(nullptr, 0, a - ow0);
          if (b > a) emit(xc + ih * d.W + a * d.SW + off, d.SW, b - a);
          emit(nullptr, 0, ow1 - b);
        }
        col += ow1 - ow0;
      }
    }
  }

  ConvDesc d_;
  GemmUkernel uk_;
  const char* name_;
  EpiParams epi_;
  int64_t mr_, nr_, kg_, mg_, p_, mpanels_, mpad_, kcmax_, nc_cache_;
  bool direct_;
  bool pack_rows_;  // 1x1 with rows not NR-aligned: B may be packed per K block (see task())
  std::vector<int64_t> kstart_;  // K block boundaries, kstart_.back() == kg_
  std::vector<float> a_;         // packed weights
  std::vector<float> bias_;      // [G][mpad_], zero-padded
};

}  // namespace

std::unique_ptr<ConvKernel> make_conv_gemm(const ConvDesc& d, const float* weights,
                                           const float* bias, const GemmUkernel& uk,
                                           const char* name) {
  return std::make_unique<ConvGemm>(d, weights, bias, uk, name);
}

}  // namespace cnnrt
