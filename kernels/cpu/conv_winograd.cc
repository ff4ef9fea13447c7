// Winograd F(4x4, 3x3) for 3x3 stride-1 undilated ungrouped convs (Lavin & Gray, 2016): each
// 4x4 output tile comes from a 6x6 input tile with 36 multiplies per (input, output) channel
// pair instead of 144, so the GEMM work drops 4x. Per block of whole tile rows:
//   1. input transform  V[xi][c][tile] = (B^T d B)[xi]     (parallel over channels)
//   2. 36 GEMMs         M[xi] = U[xi] (M x C) * V[xi] (C x tiles), with the ISA's packed-SGEMM
//                       micro-kernel; U = G g G^T is packed once at creation, like the GEMM
//                       driver's A panels                 (parallel over xi x M chunks)
//   3. output transform y = A^T M A + bias, then the fused epilogue row by row (parallel over M)
// Accuracy: the transforms' constants (up to 8 and 1/24) cost about one decimal digit over a
// direct fp32 conv; the kernel tests hold every variant to 1e-4 of the largest output.
// The driver is compiled with baseline flags like conv_gemm.cc; the ISA contributes the
// micro-kernel, the epilogue row function and the tile transforms (winograd_transforms.h).
#include <algorithm>
#include <vector>

#include "cpu/winograd.h"

namespace cnnrt {
namespace {

constexpr int kT = 6, kOut = 4, kXi = kT * kT;  // input tile, output tile, transformed points
constexpr int64_t kKcMax = 256;
constexpr int64_t kBlockBytes = 4 << 20;          // V + M scratch budget per block of tile rows
constexpr int64_t kMinBlockTiles = 64;            // ... but at least this many tiles: U is
                                                  // streamed once per block (late layers)
constexpr int64_t kMChunkPanels = 4;              // M panels per GEMM work item

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

class ConvWinograd final : public ConvKernel {
 public:
  ConvWinograd(const ConvDesc& d, const float* w, const float* b, const WinogradUkernel& wk,
               const char* name)
      : d_(d), uk_(*wk.gemm), wk_(wk), name_(name), epi_(make_epi_params(d.epi)) {
    const GemmUkernel& uk = uk_;
    mr_ = uk.mr;
    nr_ = uk.nr;
    mpanels_ = ceil_div(d.M, mr_);
    mpad_ = mpanels_ * mr_;
    th_ = ceil_div(d.OH, kOut);
    tw_ = ceil_div(d.OW, kOut);
    const int64_t nkb = ceil_div(d.C, kKcMax);
    const int64_t kc = ceil_div(d.C, nkb);
    for (int64_t k = 0; k < d.C; k += kc) kstart_.push_back(k);
    kstart_.push_back(d.C);
    // Tile rows per block: what the scratch budget allows, or enough for kMinBlockTiles. The
    // budget keeps V and M near the caches on big maps (64 channels at 224: 2-6 MB blocks ran
    // 0.95x onnxruntime, 16 MB 1.2x); late layers (512 channels at 14-28) need every tile in one
    // block, or U (36 x M x C, 38 MB) is streamed once per block (2 MB blocks: 2x slower).
    const int64_t per_row = kXi * round_up(tw_, nr_) * (d.C + mpad_) * 4;
    rows_ = std::clamp<int64_t>(std::max(kBlockBytes / std::max<int64_t>(per_row, 1),
                                         ceil_div(kMinBlockTiles, tw_)), 1, th_);
    ntp_max_ = round_up(rows_ * tw_, nr_);
    identity_epi_ = d.epi.act == Act::None && !d.epi.has_residual;
    pack_weights(w, b);
  }

  const char* name() const override { return name_; }

  size_t scratch_bytes(int) const override {
    return size_t(kXi * ntp_max_ * (d_.C + mpad_) + kMaxMR) * sizeof(float) + 64;
  }

  void run(const float* x, float* y, const float* residual, void* scratch,
           const Parallel& par) const override {
    float* v = static_cast<float*>(scratch);
    float* mt = v + kXi * ntp_max_ * d_.C;
    float* zeros = mt + kXi * ntp_max_ * mpad_;
    std::fill(zeros, zeros + kMaxMR, 0.f);
    const float* res = d_.epi.has_residual ? residual : nullptr;
    for (int64_t n = 0; n < d_.N; ++n)
      for (int64_t tr0 = 0; tr0 < th_; tr0 += rows_) {
        const int64_t tr1 = std::min(th_, tr0 + rows_);
        const int64_t nt = (tr1 - tr0) * tw_, ntp = round_up(nt, nr_);
        const float* xn = x + n * d_.C * d_.H * d_.W;
        par.for_each(d_.C, [&](int64_t c, int) { input_tiles(xn, c, tr0, nt, ntp, v); });
        const int64_t chunks = ceil_div(mpanels_, kMChunkPanels);
        par.for_each(kXi * chunks, [&](int64_t i, int) {
          gemm(i / chunks, i % chunks * kMChunkPanels, ntp, v, mt, zeros);
        });
        float* yn = y + n * d_.out_batch_stride;
        const float* rn = res ? res + n * d_.M * d_.OH * d_.OW : nullptr;
        par.for_each(d_.M, [&](int64_t m, int) {
          output_tiles(m, tr0, tr1, nt, ntp, mt, yn, rn);
        });
      }
  }

 private:
  // U[xi] = (G g G^T)[xi] for every (m, c), packed per xi as the GEMM driver packs A: per K
  // block, per MR-row panel, kc x MR k-major, zero rows past M.
  void pack_weights(const float* w, const float* b) {
    static const double G[kT][3] = {{1 / 4., 0, 0},         {-1 / 6., -1 / 6., -1 / 6.},
                                    {-1 / 6., 1 / 6., -1 / 6.}, {1 / 24., 1 / 12., 1 / 6.},
                                    {1 / 24., -1 / 12., 1 / 6.}, {0, 0, 1}};
    const int64_t C = d_.C;
    u_.assign(size_t(kXi * C * mpad_), 0.f);
    for (int64_t m = 0; m < d_.M; ++m)
      for (int64_t c = 0; c < C; ++c) {
        const float* g = w + (m * C + c) * 9;
        double t[kT][3];  // G g
        for (int a = 0; a < kT; ++a)
          for (int j = 0; j < 3; ++j)
            t[a][j] = G[a][0] * g[0 * 3 + j] + G[a][1] * g[1 * 3 + j] + G[a][2] * g[2 * 3 + j];
        const size_t kb = std::upper_bound(kstart_.begin(), kstart_.end(), c) - kstart_.begin() - 1;
        const int64_t k0 = kstart_[kb], kc = kstart_[kb + 1] - k0;
        for (int a = 0; a < kT; ++a)
          for (int bb = 0; bb < kT; ++bb) {
            const double u = t[a][0] * G[bb][0] + t[a][1] * G[bb][1] + t[a][2] * G[bb][2];
            u_[a_offset(a * kT + bb, k0, m / mr_, kc) + (c - k0) * mr_ + m % mr_] = float(u);
          }
      }
    bias_.assign(size_t(d_.M), 0.f);
    if (b) std::copy(b, b + d_.M, bias_.begin());
  }

  int64_t a_offset(int64_t xi, int64_t k0, int64_t mp, int64_t kc) const {
    return xi * d_.C * mpad_ + k0 * mpad_ + mp * mr_ * kc;
  }

  // Channel c of the tiles [tr0*TW, tr0*TW + nt): V[xi][panel][c][NR] = (B^T d B)[xi].
  void input_tiles(const float* xn, int64_t c, int64_t tr0, int64_t nt, int64_t ntp,
                   float* v) const {
    const ConvDesc& d = d_;
    const WinoTiles g{xn + c * d.H * d.W, d.H, d.W, d.PT, d.PL, tw_, tr0};
    const int64_t npan = ntp / nr_;
    for (int64_t p = 0; p < npan; ++p)
      wk_.input(g, p * nr_, nt, v + (p * d.C + c) * nr_, npan * d.C * nr_);
  }

  // M[xi][m][t] for the M panels [mp0, mp0 + kMChunkPanels): all K blocks, all tile panels.
  void gemm(int64_t xi, int64_t mp0, int64_t ntp, const float* v, float* mt,
            const float* zeros) const {
    const int64_t npan = ntp / nr_, mp1 = std::min(mpanels_, mp0 + kMChunkPanels);
    const size_t nkb = kstart_.size() - 1;
    for (size_t kb = 0; kb < nkb; ++kb) {
      const int64_t k0 = kstart_[kb], kc = kstart_[kb + 1] - k0;
      UkArgs args{};
      args.bias = zeros;
      args.load_c = kb > 0;
      for (int64_t p = 0; p < npan; ++p) {
        const float* bp = v + ((xi * npan + p) * d_.C + k0) * nr_;
        for (int64_t mp = mp0; mp < mp1; ++mp) {
          args.rows = int(std::min<int64_t>(mr_, d_.M - mp * mr_));
          uk_.fn(kc, u_.data() + a_offset(xi, k0, mp, kc), bp, nr_,
                 mt + (xi * mpad_ + mp * mr_) * ntp + p * nr_, ntp, args);
        }
      }
    }
  }

  // Output channel m of the block: y = A^T M A + bias on every 4x4 tile, then the epilogue.
  void output_tiles(int64_t m, int64_t tr0, int64_t tr1, int64_t nt, int64_t ntp,
                    const float* mt, float* yn, const float* rn) const {
    const ConvDesc& d = d_;
    float* ym = yn + m * d.OH * d.OW;
    const WinoTiles g{nullptr, d.H, d.W, d.PT, d.PL, tw_, tr0};
    for (int64_t t0 = 0; t0 < nt; t0 += nr_)
      wk_.output(mt + m * ntp + t0, mpad_ * ntp, g, t0, nt, bias_[m], ym, d.OH, d.OW);
    if (identity_epi_) return;
    const int64_t oy1 = std::min(d.OH, tr1 * kOut);
    for (int64_t oy = tr0 * kOut; oy < oy1; ++oy)
      uk_.epi(ym + oy * d.OW, 0, rn ? rn + (m * d.OH + oy) * d.OW : nullptr, 0, 1, d.OW, epi_);
  }

  ConvDesc d_;
  GemmUkernel uk_;
  WinogradUkernel wk_;
  const char* name_;
  EpiParams epi_;
  int64_t mr_, nr_, mpanels_, mpad_, th_, tw_, rows_, ntp_max_;
  bool identity_epi_;
  std::vector<int64_t> kstart_;
  std::vector<float> u_, bias_;
};

}  // namespace

std::unique_ptr<ConvKernel> make_conv_winograd(const ConvDesc& d, const float* weights,
                                               const float* bias, const WinogradUkernel& wk,
                                               const char* name) {
  // 3x3 stride 1, no dilation, no groups. Small channel counts do not pay for the transforms,
  // and neither do maps of fewer than 16 tiles: the transformed weights (4x the direct ones)
  // then cost more to stream than the GEMM work saved (512 channels at 7x7: 2.6x slower).
  if (d.KH != 3 || d.KW != 3 || d.SH != 1 || d.SW != 1 || d.DH != 1 || d.DW != 1 || d.G != 1 ||
      d.C < 16 || d.M < 16 || ceil_div(d.OH, kOut) * ceil_div(d.OW, kOut) < 16)
    return nullptr;
  return std::make_unique<ConvWinograd>(d, weights, bias, wk, name);
}

}  // namespace cnnrt
