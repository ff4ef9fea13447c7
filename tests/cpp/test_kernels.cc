// Tests every optimized CPU conv/gemm kernel of kernels/cpu/kernels.inc that this machine can
// run against the naive reference kernels, on fixed awkward shapes and random descs, with a
// serial and a threaded Parallel. Exit code 0 = all passed.
//
//   test_kernels [--quick] [--seed N]
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "cpu/epilogue.h"
#include "cpu/kernel_api.h"
#include "cpu/variants.h"

using namespace cnnrt;

namespace {

// ---- Parallel implementations -------------------------------------------------------------

struct SerialPar : Parallel {
  int threads() const override { return 1; }
  void for_each(int64_t n, const std::function<void(int64_t, int)>& f) const override {
    for (int64_t i = 0; i < n; ++i) f(i, 0);
  }
};

// Spawns its threads per call; items are handed out dynamically.
struct ThreadPar : Parallel {
  explicit ThreadPar(int t) : t_(t) {}
  int threads() const override { return t_; }
  void for_each(int64_t n, const std::function<void(int64_t, int)>& f) const override {
    std::atomic<int64_t> next{0};
    std::vector<std::thread> ts;
    for (int t = 0; t < t_; ++t)
      ts.emplace_back([&, t] {
        for (int64_t i; (i = next.fetch_add(1)) < n;) f(i, t);
      });
    for (auto& th : ts) th.join();
  }
  int t_;
};

// ---- helpers ------------------------------------------------------------------------------

int g_failures = 0, g_checks = 0;

void fail(const std::string& msg) {
  ++g_failures;
  std::fprintf(stderr, "FAIL: %s\n", msg.c_str());
}

std::vector<float> random_vec(std::mt19937& rng, size_t n, float scale) {
  std::uniform_real_distribution<float> u(-scale, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = u(rng);
  return v;
}

// Scratch filled with NaN bytes: kernels must not rely on its contents.
struct Scratch {
  explicit Scratch(size_t bytes) : n((bytes + 63) / 64 * 64 + 64) {
    p = std::aligned_alloc(64, n);
    std::memset(p, 0xff, n);
  }
  ~Scratch() { std::free(p); }
  size_t n;
  void* p;
};

const float kSentinel = -12345.5f;

std::string desc_str(const ConvDesc& d) {
  char b[400];
  std::snprintf(b, sizeof b,
                "N=%ld C=%ld H=%ld W=%ld M=%ld OH=%ld OW=%ld K=%ldx%ld S=%ldx%ld P=%ld,%ld,%ld,%ld "
                "D=%ldx%ld G=%ld obs=%ld act=%d res=%d post=%d",
                long(d.N), long(d.C), long(d.H), long(d.W), long(d.M), long(d.OH), long(d.OW),
                long(d.KH), long(d.KW), long(d.SH), long(d.SW), long(d.PT), long(d.PL), long(d.PB),
                long(d.PR), long(d.DH), long(d.DW), long(d.G), long(d.out_batch_stride),
                int(d.epi.act), int(d.epi.has_residual), int(d.epi.post_act));
  return b;
}

int64_t out_size(int64_t in, int64_t p0, int64_t p1, int64_t k, int64_t s, int64_t d) {
  return (in + p0 + p1 - d * (k - 1) - 1) / s + 1;
}

ConvDesc conv(int64_t N, int64_t C, int64_t H, int64_t W, int64_t M, int64_t KH, int64_t KW,
              int64_t S, int64_t pt, int64_t pl, int64_t pb, int64_t pr, int64_t D = 1,
              int64_t G = 1, int64_t gap = 0) {
  ConvDesc d{};
  d.N = N, d.C = C, d.H = H, d.W = W, d.M = M, d.KH = KH, d.KW = KW, d.SH = S, d.SW = S;
  d.PT = pt, d.PL = pl, d.PB = pb, d.PR = pr, d.DH = D, d.DW = D, d.G = G;
  d.OH = out_size(H, pt, pb, KH, S, D);
  d.OW = out_size(W, pl, pr, KW, S, D);
  d.out_batch_stride = M * d.OH * d.OW + gap;
  return d;
}

// Activation parameters that exercise each function's shape.
Epilogue epilogue(Act act, bool res, Act post) {
  Epilogue e;
  auto params = [](Act a, float* al, float* be) {
    *al = 0.f, *be = 0.f;
    if (a == Act::Clip) *al = -0.25f, *be = 0.6f;
    if (a == Act::LeakyRelu) *al = 0.1f;
    if (a == Act::HardSigmoid) *al = 0.2f, *be = 0.5f;
  };
  e.act = act;
  params(act, &e.alpha, &e.beta);
  e.has_residual = res;
  e.post_act = res ? post : Act::None;
  params(e.post_act, &e.post_alpha, &e.post_beta);
  return e;
}

const Act kActs[] = {Act::None,    Act::Relu, Act::Clip,        Act::LeakyRelu, Act::Sigmoid,
                     Act::Silu,    Act::Tanh, Act::HardSigmoid, Act::HardSwish};

// Runs k into a fresh sentinel-filled output; returns it.
template <class Kernel>
std::vector<float> run_kernel(const Kernel& k, const Parallel& par, const float* x,
                              const float* res, size_t out_elems) {
  std::vector<float> y(out_elems + 67, kSentinel);  // + a guard after the last image
  Scratch s(k.scratch_bytes(par.threads()));
  k.run(x, y.data(), res, s.p, par);
  return y;
}

// Compares y against ref over the valid elements; every other element must be untouched.
void compare(const std::vector<float>& y, const std::vector<float>& ref,
             const std::function<bool(size_t)>& valid, const std::string& what) {
  ++g_checks;
  float scale = 0.f;
  for (size_t i = 0; i < ref.size(); ++i)
    if (valid(i)) scale = std::max(scale, std::fabs(ref[i]));
  scale = std::max(scale, 1e-6f);
  double worst = 0.0;
  size_t worst_i = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    if (!valid(i)) {
      if (std::memcmp(&y[i], &kSentinel, sizeof(float)) != 0) {
        fail(what + ": wrote outside the output at element " + std::to_string(i));
        return;
      }
      continue;
    }
    const double e = std::isfinite(y[i]) ? std::fabs(double(y[i]) - ref[i]) / scale : 1e30;
    if (e > worst) worst = e, worst_i = i;
  }
  if (worst > 1e-4) {
    char b[200];
    std::snprintf(b, sizeof b, ": rel err %.3g at %zu (got %g, want %g, scale %g)", worst,
                  worst_i, y[worst_i], ref[worst_i], scale);
    fail(what + b);
  }
}

// ---- conv ---------------------------------------------------------------------------------

void check_conv(ConvDesc d, uint32_t seed, const std::vector<Parallel*>& pars) {
  std::mt19937 rng(seed);
  const int64_t cg = d.C / d.G, osz = d.OH * d.OW;
  const float wscale = 1.7f / std::sqrt(float(cg * d.KH * d.KW));  // outputs of order 1
  auto x = random_vec(rng, size_t(d.N * d.C * d.H * d.W), 1.f);
  auto w = random_vec(rng, size_t(d.M * cg * d.KH * d.KW), wscale);
  auto b = random_vec(rng, size_t(d.M), 0.5f);
  auto r = random_vec(rng, size_t(d.N * d.M * osz), 1.f);
  const bool with_bias = seed % 5 != 0;
  const float* res = d.epi.has_residual ? r.data() : nullptr;
  const size_t out_elems = size_t((d.N - 1) * d.out_batch_stride + d.M * osz);
  auto valid = [&](size_t i) {
    return i < out_elems && int64_t(i) % d.out_batch_stride < d.M * osz;
  };
  SerialPar serial;
  auto ref_k = make_ref_conv(d, w.data(), with_bias ? b.data() : nullptr);
  const auto ref = run_kernel(*ref_k, serial, x.data(), res, out_elems);
  for (const ConvVariant& v : conv_variants()) {
    if (!isa_supported(v.isa)) continue;
    auto k = v.create(d, w.data(), with_bias ? b.data() : nullptr);
    if (!k) continue;
    for (Parallel* par : pars) {
      const auto y = run_kernel(*k, *par, x.data(), res, out_elems);
      compare(y, ref, valid,
              std::string(k->name()) + " T=" + std::to_string(par->threads()) + " " + desc_str(d));
    }
  }
}

std::vector<ConvDesc> fixed_convs() {
  std::vector<ConvDesc> v = {
      conv(1, 96, 56, 56, 24, 1, 1, 1, 0, 0, 0, 0),        // MobileNetV2 project 1x1
      conv(1, 320, 7, 7, 1280, 1, 1, 1, 0, 0, 0, 0),       // last 1x1: P=49, K blocks
      conv(1, 16, 20, 20, 96, 1, 1, 1, 0, 0, 0, 0),        // expand
      conv(1, 8, 100, 100, 8, 1, 1, 1, 0, 0, 0, 0),        // several N blocks
      conv(1, 80, 15, 15, 100, 1, 1, 1, 0, 0, 0, 0),       // unaligned rows packed (P = 225,
      conv(1, 600, 15, 15, 100, 1, 1, 1, 0, 0, 0, 0),      // 17 M panels), M panels outside
      conv(1, 600, 5, 9, 9, 1, 1, 1, 0, 0, 0, 0),          // K = 600: 3 K blocks, M tail
      conv(1, 32, 28, 28, 32, 3, 3, 1, 1, 1, 1, 1),        // 3x3 s1
      conv(1, 64, 9, 11, 20, 3, 3, 1, 1, 1, 1, 1),         // 3x3, K = 576
      conv(2, 300, 17, 18, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1, 7),  // Winograd: 2 K blocks, M tail,
                                                           // ragged tiles, N=2 with a gap
      conv(1, 16, 16, 70, 16, 3, 3, 1, 0, 2, 1, 0),        // Winograd: asymmetric pads, whole
                                                           // 16-tile panels inside the input
      conv(1, 300, 7, 7, 70, 3, 3, 1, 1, 1, 1, 1),         // 7x7 map: im2col packed once for
      conv(1, 48, 7, 7, 40, 5, 5, 1, 2, 2, 2, 2),          // all M blocks (threaded), K blocks
      conv(1, 3, 56, 56, 32, 3, 3, 2, 0, 0, 1, 1),         // stem 3x3 s2 (TF pads)
      conv(1, 3, 57, 57, 32, 3, 3, 2, 1, 1, 1, 1),         // stem 3x3 s2
      conv(1, 8, 17, 19, 12, 5, 5, 1, 2, 2, 2, 2),         // 5x5
      conv(1, 3, 45, 45, 16, 7, 7, 2, 3, 3, 3, 3),         // 7x7 s2 stem
      conv(1, 3, 63, 63, 16, 11, 11, 4, 2, 2, 2, 2),       // 11x11 s4 (AlexNet)
      conv(1, 6, 15, 13, 10, 3, 3, 1, 2, 2, 2, 2, 2),      // dilation 2
      conv(1, 5, 12, 11, 6, 3, 3, 1, 0, 1, 2, 0),          // asymmetric pads
      conv(1, 5, 12, 11, 6, 3, 3, 2, 2, 0, 1, 2),          // asymmetric pads, s2
      conv(1, 16, 14, 14, 32, 1, 1, 2, 0, 0, 0, 0),        // 1x1 s2 (stride > kernel)
      conv(1, 4, 13, 16, 6, 2, 2, 3, 0, 0, 0, 0),          // 2x2 s3
      conv(1, 8, 10, 9, 12, 3, 3, 1, 1, 1, 1, 1, 1, 2),    // groups 2
      conv(1, 16, 9, 10, 8, 3, 3, 2, 1, 1, 1, 1, 1, 4),    // groups 4
      conv(1, 12, 7, 7, 24, 1, 1, 1, 0, 0, 0, 0, 1, 4),    // grouped 1x1
      conv(1, 3, 11, 9, 7, 3, 3, 1, 1, 1, 1, 1),           // ragged C=3 M=7
      conv(3, 3, 11, 9, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 5),  // N=3 with a gap
      conv(3, 24, 9, 7, 13, 1, 1, 1, 0, 0, 0, 0, 1, 1, 40),// 1x1, N=3, gap
      conv(1, 2, 1, 1, 3, 1, 1, 1, 0, 0, 0, 0),            // 1x1 image
      conv(1, 2, 3, 3, 3, 3, 3, 1, 0, 0, 0, 0),            // output 1x1
      // depthwise
      conv(1, 13, 15, 17, 13, 3, 3, 1, 1, 1, 1, 1, 1, 13),
      conv(1, 144, 28, 28, 144, 3, 3, 1, 1, 1, 1, 1, 1, 144),
      conv(1, 13, 15, 15, 13, 3, 3, 2, 0, 0, 1, 1, 1, 13),
      conv(1, 9, 16, 21, 9, 3, 3, 2, 1, 1, 1, 1, 1, 9),
      conv(1, 7, 15, 19, 7, 5, 5, 1, 2, 2, 2, 2, 1, 7),
      conv(1, 7, 15, 19, 7, 5, 5, 2, 1, 1, 2, 2, 1, 7),
      conv(1, 5, 14, 13, 5, 3, 3, 1, 2, 2, 2, 2, 2, 5),    // dilated
      conv(1, 5, 14, 13, 5, 3, 3, 3, 1, 1, 1, 1, 1, 5),    // stride 3: scalar path
      conv(1, 4, 16, 40, 4, 7, 7, 1, 3, 3, 3, 3, 1, 4),    // 7x7: runtime-K vector path
      conv(1, 4, 16, 40, 4, 4, 2, 2, 1, 2, 0, 1, 1, 4),    // 4x2, asymmetric pads
      conv(3, 6, 7, 7, 6, 3, 3, 1, 1, 1, 1, 1, 1, 6, 11),  // 7x7 plane, N=3, gap
      conv(2, 6, 5, 3, 6, 3, 3, 1, 1, 1, 1, 1, 1, 6),      // width 3
      conv(1, 4, 9, 9, 8, 3, 3, 1, 1, 1, 1, 1, 1, 4),      // channel multiplier 2 (GEMM path)
      // depthwise passes of several rows (dwconv.h): odd sizes, a pad of its own on each side
      conv(1, 5, 13, 19, 5, 3, 3, 1, 1, 2, 2, 1, 1, 5),    // 3x3 s1, 2 vectors: 4 rows/pass
      conv(1, 6, 17, 23, 6, 3, 3, 2, 0, 1, 1, 0, 1, 6),    // 3x3 s2, odd PL and W
      conv(1, 3, 5, 70, 3, 3, 3, 1, 1, 1, 1, 1, 1, 3),     // 9 vectors: groups of 4 + 1
      conv(1, 4, 11, 9, 4, 5, 5, 1, 2, 2, 2, 2, 1, 4),     // 5x5 s1, 4 rows/pass
      conv(1, 3, 12, 33, 3, 5, 5, 2, 2, 1, 1, 2, 1, 3),    // 5x5 s2, 3 vectors
      conv(2, 3, 9, 2, 3, 3, 3, 1, 1, 1, 1, 1, 1, 3),      // width 2: 8 rows/pass, spills span rows
      conv(1, 4, 3, 12, 4, 3, 3, 1, 0, 1, 0, 1, 1, 4),     // one output row
      conv(1, 2, 40, 7, 2, 3, 3, 2, 1, 1, 1, 1, 1, 2),     // s2 to width 4, many passes
      // depthwise on small maps, 8 channels at a time (dwconv_c8): full groups (8x8
      // transposes in and out) and a partial one
      conv(1, 24, 14, 14, 24, 3, 3, 1, 1, 1, 1, 1, 1, 24), // MobileNet's 14x14 stage
      conv(2, 20, 7, 7, 20, 5, 5, 1, 2, 2, 2, 2, 1, 20, 3),// 5x5 at 7x7, N=2 with a gap
      conv(1, 16, 14, 14, 16, 3, 3, 2, 0, 0, 1, 1, 1, 16), // 14 -> 7, TF-style pads
      conv(1, 9, 6, 30, 9, 3, 3, 1, 1, 1, 1, 1, 1, 9),     // 30 wide: 8-pixel runs + tails
      conv(1, 10, 40, 128, 10, 3, 3, 1, 1, 1, 1, 1, 1, 10),// bands of 13 rows, pad rows at both ends
      conv(1, 9, 37, 150, 9, 5, 5, 2, 2, 2, 2, 2, 1, 9),   // 5x5 s2: bands of 5 rows
      conv(1, 10, 40, 128, 10, 3, 3, 1, 1, 1, 1, 1, 1, 10),// (again, with the next epilogue)
      // GEMM N tails: half-width panels (P = 8, 24, 196) with M tails
      conv(1, 5, 2, 4, 7, 1, 1, 1, 0, 0, 0, 0),            // P = 8: exactly a half panel
      conv(1, 20, 14, 14, 13, 1, 1, 1, 0, 0, 0, 0),        // P = 196: 12 panels + 4 columns
      conv(1, 3, 6, 8, 9, 3, 3, 1, 0, 0, 0, 0),            // im2col, P = 24 = 16 + 8
      conv(1, 300, 7, 7, 20, 1, 1, 1, 0, 0, 0, 0),         // P = 49, 2 K blocks
  };
  for (size_t i = 0; i < v.size(); ++i) {
    // Cycle the epilogues over the shapes.
    const Act a = kActs[i % 9], post = kActs[(i * 4 + 1) % 9];
    v[i].epi = epilogue(a, i % 3 != 1, post);
  }
  return v;
}

ConvDesc random_conv(std::mt19937& rng) {
  auto ri = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (;;) {
    const int64_t KH = ri(1, 5), KW = ri(1, 5), S = ri(1, 3), D = ri(1, 2);
    const int64_t H = ri(1, 20), W = ri(1, 24), N = ri(1, 3);
    const int64_t pt = ri(0, 2), pl = ri(0, 2), pb = ri(0, 2), pr = ri(0, 2);
    int64_t G = 1, C, M;
    switch (ri(0, 3)) {
      case 0: C = M = G = ri(1, 12); break;  // depthwise
      case 1: G = ri(2, 3), C = G * ri(1, 4), M = G * ri(1, 5); break;
      default: C = ri(1, 20), M = ri(1, 30); break;
    }
    if (H + pt + pb - D * (KH - 1) - 1 < 0 || W + pl + pr - D * (KW - 1) - 1 < 0) continue;
    ConvDesc d = conv(N, C, H, W, M, KH, KW, S, pt, pl, pb, pr, D, G);
    d.SW = ri(1, 3);  // strides may differ
    d.OW = out_size(W, pl, pr, KW, d.SW, D);
    d.out_batch_stride = M * d.OH * d.OW + ri(0, 1) * ri(1, 30);
    d.epi = epilogue(kActs[ri(0, 8)], ri(0, 1), kActs[ri(0, 8)]);
    return d;
  }
}

// ---- gemm ---------------------------------------------------------------------------------

void check_gemm(GemmDesc d, uint32_t seed, const std::vector<Parallel*>& pars) {
  std::mt19937 rng(seed);
  auto x = random_vec(rng, size_t(d.N * d.K), 1.f);
  auto w = random_vec(rng, size_t(d.M * d.K), 1.7f / std::sqrt(float(d.K)));
  auto b = random_vec(rng, size_t(d.M), 0.5f);
  auto r = random_vec(rng, size_t(d.N * d.M), 1.f);
  const float* res = d.epi.has_residual ? r.data() : nullptr;
  const size_t out = size_t(d.N * d.M);
  auto valid = [&](size_t i) { return i < out; };
  SerialPar serial;
  const float* bias = seed % 4 ? b.data() : nullptr;
  const auto ref = run_kernel(*make_ref_gemm(d, w.data(), bias), serial, x.data(), res, out);
  char what[120];
  std::snprintf(what, sizeof what, "N=%ld K=%ld M=%ld act=%d res=%d post=%d", long(d.N),
                long(d.K), long(d.M), int(d.epi.act), int(d.epi.has_residual),
                int(d.epi.post_act));
  for (const GemmVariant& v : gemm_variants()) {
    if (!isa_supported(v.isa)) continue;
    auto k = v.create(d, w.data(), bias);
    if (!k) continue;
    for (Parallel* par : pars)
      compare(run_kernel(*k, *par, x.data(), res, out), ref, valid,
              std::string(k->name()) + " T=" + std::to_string(par->threads()) + " " + what);
  }
}

// ---- the rest -----------------------------------------------------------------------------

// The vectorized activations against apply_act over a wide range (exp over/underflow).
void check_epilogue_rows() {
  std::vector<float> xs;
  for (float v = -100.f; v <= 100.f; v += 0.37f) xs.push_back(v);
  for (float v = -3.f; v <= 3.f; v += 0.001f) xs.push_back(v);
  xs.push_back(0.f), xs.push_back(-0.f), xs.push_back(1e-7f), xs.push_back(-1e-7f);
  std::vector<std::pair<const char*, EpiRowsFn>> fns = {{"portable", &epi_rows__portable}};
#if CNNRT_X86
  if (isa_supported(Isa::Avx2)) fns.push_back({"avx2", &epi_rows__avx2});
#endif
  // Rows of 37 values 41 apart (the gaps hold a sentinel that must survive), with and without
  // a residual (rows 43 apart) and a post-activation.
  constexpr int64_t kN = 37, kLdy = 41, kLdr = 43;
  const int64_t rows = int64_t(xs.size()) / kN;
  const float kSentinel = -12345.f;
  for (Act a : kActs)
    for (bool with_res : {false, true})
      for (auto& [name, fn] : fns) {
        ++g_checks;
        const Act post = with_res ? Act::Silu : Act::None;
        const EpiParams p = make_epi_params(epilogue(a, with_res, post));
        std::vector<float> y(size_t(rows * kLdy), kSentinel), res(size_t(rows * kLdr));
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t i = 0; i < kN; ++i) {
            y[r * kLdy + i] = xs[r * kN + i];
            res[r * kLdr + i] = 0.01f * float((r * 7 + i) % 13) - 0.06f;
          }
        fn(y.data(), kLdy, with_res ? res.data() : nullptr, kLdr, rows, kN, p);
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t i = 0; i < kLdy; ++i) {
            const float got = y[r * kLdy + i];
            float want = kSentinel;
            if (i < kN) {
              want = apply_act(a, xs[r * kN + i], p.e.alpha, p.e.beta);
              if (with_res) want = apply_act(post, want + res[r * kLdr + i], 0.f, 0.f);
            }
            if (!(std::fabs(got - want) <= 2e-6f * std::max(1.f, std::fabs(want)))) {
              fail(std::string("epi_rows__") + name + " act " + std::to_string(int(a)) +
                   (with_res ? " with residual" : "") + " row " + std::to_string(r) + " col " +
                   std::to_string(i) + ": got " + std::to_string(got) + " want " +
                   std::to_string(want));
              r = rows;
              break;
            }
          }
      }
}

template <class F>
void expect_invalid(const char* what, F f) {
  ++g_checks;
  try {
    f();
    fail(std::string("expected std::invalid_argument: ") + what);
  } catch (const std::invalid_argument&) {
  }
}

void check_api() {
  // act_from_name
  const char* names[] = {"none", "relu", "clip", "leaky_relu", "sigmoid",
                         "silu", "tanh", "hard_sigmoid", "hard_swish"};
  for (int i = 0; i < 9; ++i)
    if (act_from_name(names[i]) != kActs[i]) fail(std::string("act_from_name ") + names[i]);
  ++g_checks;
  try {
    act_from_name("swish2");
    fail("act_from_name accepted 'swish2'");
  } catch (const std::invalid_argument& e) {
    if (!std::strstr(e.what(), "swish2")) fail("act_from_name error does not name the input");
  }
  // Desc validation.
  std::vector<float> w(4096, 0.5f);
  ConvDesc ok = conv(1, 4, 8, 8, 6, 3, 3, 1, 1, 1, 1, 1, 1, 2);
  auto bad = [&](const char* what, std::function<void(ConvDesc&)> edit) {
    ConvDesc d = ok;
    edit(d);
    expect_invalid(what, [&] { make_conv_kernel(d, w.data(), nullptr, detect_isa()); });
  };
  bad("C % G", [](ConvDesc& d) { d.G = 3; });
  bad("M % G", [](ConvDesc& d) { d.M = 7; d.out_batch_stride = 7 * 64; });
  bad("OH", [](ConvDesc& d) { d.OH = 7; });
  bad("OW", [](ConvDesc& d) { d.OW = 9; });
  bad("zero C", [](ConvDesc& d) { d.C = 0; });
  bad("negative pad", [](ConvDesc& d) { d.PT = -1; });
  bad("zero stride", [](ConvDesc& d) { d.SH = 0; });
  bad("batch stride", [](ConvDesc& d) { d.out_batch_stride = 10; });
  bad("kernel larger than input", [](ConvDesc& d) { d.KH = 11; d.OH = 0; });
  expect_invalid("gemm K=0", [&] { make_gemm_kernel({1, 0, 3, {}}, w.data(), nullptr, Isa::Ref); });
  // Factories: each supported ISA gives a kernel of that ISA or below, Ref the reference.
  for (Isa isa : {Isa::Ref, Isa::Portable, Isa::Avx2, Isa::Avx512}) {
    ++g_checks;
    if (!isa_supported(isa)) {
      expect_invalid("unsupported ISA", [&] { make_conv_kernel(ok, w.data(), nullptr, isa); });
      continue;
    }
    auto k = make_conv_kernel(ok, w.data(), nullptr, isa);
    auto g = make_gemm_kernel({2, 7, 5, {}}, w.data(), nullptr, isa);
    std::printf("  %-8s conv -> %s, gemm -> %s\n", isa_name(isa), k->name(), g->name());
  }
  ConvDesc dw = conv(1, 8, 9, 9, 8, 3, 3, 1, 1, 1, 1, 1, 1, 8);
  const char* dwname = make_conv_kernel(dw, w.data(), nullptr, detect_isa())->name();
  if (!std::strstr(dwname, "dwconv")) fail(std::string("depthwise conv got ") + dwname);
  // CNNRT_ISA caps detect_isa (the caller's setting is restored afterwards).
  const Isa before = detect_isa();
  const char* env = std::getenv("CNNRT_ISA");
  const std::string saved = env ? env : "";
  setenv("CNNRT_ISA", "portable", 1);
  if (detect_isa() != Isa::Portable) fail("CNNRT_ISA=portable not honoured");
  setenv("CNNRT_ISA", "ref", 1);
  if (detect_isa() != Isa::Ref) fail("CNNRT_ISA=ref not honoured");
  unsetenv("CNNRT_ISA");
  if (!isa_supported(detect_isa()) || detect_isa() < before) fail("detect_isa without a cap");
  if (env) setenv("CNNRT_ISA", saved.c_str(), 1);
  if (detect_isa() != before) fail("detect_isa changed after restoring CNNRT_ISA");
  g_checks += 4;
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  uint32_t seed = 20240611;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--quick")) quick = true;
    if (!std::strcmp(argv[i], "--seed") && i + 1 < argc) seed = uint32_t(std::atoi(argv[++i]));
  }
  std::printf("cpu: best ISA %s (avx2 %d, avx512 %d); seed %u\n", isa_name(detect_isa()),
              isa_supported(Isa::Avx2), isa_supported(Isa::Avx512), seed);
  for (const ConvVariant& v : conv_variants())
    std::printf("  conv variant %-30s %s\n", v.name, isa_supported(v.isa) ? "tested" : "skipped (ISA)");
  for (const GemmVariant& v : gemm_variants())
    std::printf("  gemm variant %-30s %s\n", v.name, isa_supported(v.isa) ? "tested" : "skipped (ISA)");

  SerialPar serial;
  ThreadPar two(2), three(3);
  const std::vector<Parallel*> pars = {&serial, &two, &three};

  check_api();
  check_epilogue_rows();

  const auto fixed = fixed_convs();
  for (size_t i = 0; i < fixed.size(); ++i) check_conv(fixed[i], seed + uint32_t(i), pars);

  // Every act x post_act with a residual, on a GEMM shape with M and N tails, a depthwise
  // one and a Winograd one (20 tiles, M tail).
  for (int a = 0; a < 9; ++a)
    for (int p = 0; p < 9; ++p) {
      ConvDesc g = conv(2, 5, 7, 9, 11, 3, 3, 1, 1, 1, 1, 1, 1, 1, 3);
      ConvDesc dw = conv(1, 3, 9, 11, 3, 3, 3, 2, 1, 1, 1, 1, 1, 3);
      ConvDesc wg = conv(1, 16, 16, 18, 17, 3, 3, 1, 1, 1, 1, 1);
      g.epi = dw.epi = wg.epi = epilogue(kActs[a], true, kActs[p]);
      check_conv(g, seed + 1000 + a * 9 + p, {&serial});
      check_conv(dw, seed + 2000 + a * 9 + p, {&serial});
      check_conv(wg, seed + 3000 + a * 9 + p, {&serial});
    }

  std::mt19937 rng(seed);
  const int nrandom = quick ? 60 : 400;
  for (int i = 0; i < nrandom; ++i) check_conv(random_conv(rng), seed + 5000 + i, pars);

  const int64_t Ns[] = {1, 2, 3, 5}, Ks[] = {1, 7, 8, 15, 16, 17, 100, 1280},
                Ms[] = {1, 3, 4, 5, 17, 40, 1000};
  int gi = 0;
  for (int64_t N : Ns)
    for (int64_t K : Ks)
      for (int64_t M : Ms) {
        if (quick && gi % 3) { ++gi; continue; }
        GemmDesc d{N, K, M, epilogue(kActs[gi % 9], gi % 2 == 0, kActs[(gi / 2) % 9])};
        check_gemm(d, seed + 9000 + gi++, pars);
      }

  std::printf("%d checks, %d failures\n", g_checks, g_failures);
  return g_failures ? 1 : 0;
}
