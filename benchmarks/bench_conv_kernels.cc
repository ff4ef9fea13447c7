// Times the CPU conv kernels on MobileNetV2 / EfficientNet-Lite0 shapes, as GFLOP/s and as a
// fraction of the measured FMA peak of one core (an in-register FMA loop, same process).
// Results and predictions are kept in benchmarks/NOTES.md.
//
// Build (after building cnnrt_core, e.g. in build/kernels-dev):
//   g++ -O2 -std=c++17 -Ikernels -Iengine/include -DCNNRT_X86=1 benchmarks/bench_conv_kernels.cc \
//       build/kernels-dev/libcnnrt_core.a -lpthread -o build/bench_conv_kernels
//   ./build/bench_conv_kernels [filter] [--portable]
// The 1-thread column is thread CPU time (preemption by other processes does not count), the
// 2-thread one wall time. BENCH_PEAK=<GFLOP/s> skips the ~1 s FMA probe (for repeated A/B runs);
// BENCH_COLD=1 times each run with every cache flushed first (weights cold, as in a model).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <immintrin.h>

#include "cpu/kernel_api.h"
#include "cpu/variants.h"

using namespace cnnrt;
using Clock = std::chrono::steady_clock;

namespace {

// A persistent pool (the caller works too), so that timing excludes thread creation.
class Pool : public Parallel {
 public:
  explicit Pool(int t) : t_(t) {
    for (int i = 1; i < t; ++i) ws_.emplace_back([this, i] { worker(i); });
  }
  ~Pool() override {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
      ++gen_;
    }
    cv_.notify_all();
    for (auto& w : ws_) w.join();
  }
  int threads() const override { return t_; }
  void for_each(int64_t n, const std::function<void(int64_t, int)>& f) const override {
    {
      std::lock_guard<std::mutex> l(mu_);
      f_ = &f, n_ = n, next_ = 0, busy_ = t_ - 1;
      ++gen_;
    }
    cv_.notify_all();
    drain(0);
    std::unique_lock<std::mutex> l(mu_);
    done_.wait(l, [&] { return busy_ == 0; });
  }

 private:
  void drain(int tid) const {
    for (int64_t i; (i = next_.fetch_add(1)) < n_;) (*f_)(i, tid);
  }
  void worker(int tid) const {
    uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> l(mu_);
        cv_.wait(l, [&] { return gen_ != seen; });
        seen = gen_;
        if (stop_) return;
      }
      drain(tid);
      std::lock_guard<std::mutex> l(mu_);
      if (--busy_ == 0) done_.notify_one();
    }
  }
  int t_;
  std::vector<std::thread> ws_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_, done_;
  mutable const std::function<void(int64_t, int)>* f_ = nullptr;
  mutable int64_t n_ = 0;
  mutable std::atomic<int64_t> next_{0};
  mutable int busy_ = 0;
  mutable uint64_t gen_ = 0;
  bool stop_ = false;
};

// 12 independent FMA chains: the core's FMA throughput (2 x 8 lanes x 2 flops per cycle).
__attribute__((target("avx2,fma"))) double fma_peak_gflops() {
  __m256 a[12];
  const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
  for (int i = 0; i < 12; ++i) a[i] = _mm256_set1_ps(float(i));
  const int64_t iters = 100000000;
  const auto t0 = Clock::now();
  for (int64_t k = 0; k < iters; ++k) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) a[i] = _mm256_fmadd_ps(a[i], m, c);
  }
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  float sink = 0.f;
  for (int i = 0; i < 12; ++i) sink += a[i][0];
  if (sink == 12345.f) std::printf(" ");  // keep the loop alive
  return iters * 12 * 16 / s * 1e-9;
}

struct Shape {
  const char* what;
  int64_t C, H, W, M, K, S, pad, G;
};

ConvDesc desc(const Shape& s) {
  ConvDesc d{};
  d.N = 1, d.C = s.C, d.H = s.H, d.W = s.W, d.M = s.M, d.KH = d.KW = s.K, d.SH = d.SW = s.S;
  d.PT = d.PL = d.PB = d.PR = s.pad, d.DH = d.DW = 1, d.G = s.G;
  d.OH = (s.H + 2 * s.pad - s.K) / s.S + 1, d.OW = (s.W + 2 * s.pad - s.K) / s.S + 1;
  d.out_batch_stride = d.M * d.OH * d.OW;
  d.epi.act = Act::Clip, d.epi.alpha = 0.f, d.epi.beta = 6.f;  // ReLU6, as in MobileNetV2
  return d;
}

// Seconds of CPU time of the calling thread: with one thread, preemption by other processes
// on the shared machine does not count (wall time does).
double thread_cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

// Best of 7 timings (the machine is shared: the minimum is the least disturbed), each of enough
// repetitions for ~20 ms; cpu: thread CPU time instead of wall time (one-thread runs only).
// BENCH_COLD=1: every timed run starts with the weights out of cache, as inside a model (a
// 64 MB buffer written between runs, not timed): best of 15 single runs.
double time_cold(const ConvKernel& k, const Parallel& par, const float* x, float* y, void* scr,
                 bool cpu) {
  static std::vector<char> flush(64 << 20);
  double best = 1e30;
  for (int i = 0; i < 15; ++i) {
    for (size_t j = 0; j < flush.size(); j += 64) flush[j] = char(flush[j] + 1);
    const auto t0 = Clock::now();
    const double c0 = thread_cpu_seconds();
    k.run(x, y, nullptr, scr, par);
    best = std::min(best, cpu ? thread_cpu_seconds() - c0
                              : std::chrono::duration<double>(Clock::now() - t0).count());
  }
  return best;
}

double time_run(const ConvKernel& k, const Parallel& par, const float* x, float* y, void* scr,
                bool cpu = false) {
  if (std::getenv("BENCH_COLD")) return time_cold(k, par, x, y, scr, cpu);
  k.run(x, y, nullptr, scr, par);
  int reps = 1;
  for (;;) {
    const auto t0 = Clock::now();
    for (int r = 0; r < reps; ++r) k.run(x, y, nullptr, scr, par);
    if (std::chrono::duration<double>(Clock::now() - t0).count() > 0.02) break;
    reps *= 2;
  }
  std::vector<double> ts;
  for (int i = 0; i < 7; ++i) {
    const auto t0 = Clock::now();
    const double c0 = thread_cpu_seconds();
    for (int r = 0; r < reps; ++r) k.run(x, y, nullptr, scr, par);
    ts.push_back((cpu ? thread_cpu_seconds() - c0
                      : std::chrono::duration<double>(Clock::now() - t0).count()) / reps);
  }
  std::sort(ts.begin(), ts.end());
  return ts[0];
}

}  // namespace

int main(int argc, char** argv) {
  const char* filter = argc > 1 ? argv[1] : "";
  const bool with_portable = argc > 2 && !std::strcmp(argv[2], "--portable");
  const double peak = std::getenv("BENCH_PEAK") ? std::atof(std::getenv("BENCH_PEAK")) : fma_peak_gflops();
  std::printf("measured FMA peak: %.1f GFLOP/s per core\n", peak);
  const Shape shapes[] = {
      {"1x1 32->16 @112", 32, 112, 112, 16, 1, 1, 0, 1},
      {"1x1 96->24 @56", 96, 56, 56, 24, 1, 1, 0, 1},
      {"1x1 144->24 @56", 144, 56, 56, 24, 1, 1, 0, 1},
      {"1x1 24->144 @56", 24, 56, 56, 144, 1, 1, 0, 1},
      {"1x1 16->96 @112", 16, 112, 112, 96, 1, 1, 0, 1},
      {"1x1 32->192 @28", 32, 28, 28, 192, 1, 1, 0, 1},
      {"1x1 384->64 @14", 384, 14, 14, 64, 1, 1, 0, 1},
      {"1x1 96->576 @14", 96, 14, 14, 576, 1, 1, 0, 1},
      {"1x1 576->96 @14", 576, 14, 14, 96, 1, 1, 0, 1},
      {"1x1 80->480 @14", 80, 14, 14, 480, 1, 1, 0, 1},
      {"1x1 480->80 @14", 480, 14, 14, 80, 1, 1, 0, 1},
      {"1x1 576->160 @7", 576, 7, 7, 160, 1, 1, 0, 1},
      {"1x1 960->160 @7", 960, 7, 7, 160, 1, 1, 0, 1},
      {"1x1 160->960 @7", 160, 7, 7, 960, 1, 1, 0, 1},
      {"1x1 320->1280 @7", 320, 7, 7, 1280, 1, 1, 0, 1},
      {"3x3 s1 32->32 @112", 32, 112, 112, 32, 3, 1, 1, 1},
      {"3x3 s2 3->32 @224 (stem)", 3, 224, 224, 32, 3, 2, 1, 1},
      {"dw 3x3 s1 32 @112", 32, 112, 112, 32, 3, 1, 1, 32},
      {"dw 3x3 s2 96 @112", 96, 112, 112, 96, 3, 2, 1, 96},
      {"dw 3x3 s1 144 @56", 144, 56, 56, 144, 3, 1, 1, 144},
      {"dw 3x3 s1 192 @28", 192, 28, 28, 192, 3, 1, 1, 192},
      {"dw 3x3 s1 384 @14", 384, 14, 14, 384, 3, 1, 1, 384},
      {"dw 3x3 s2 144 @56", 144, 56, 56, 144, 3, 2, 1, 144},
      {"dw 3x3 s1 960 @7", 960, 7, 7, 960, 3, 1, 1, 960},
      {"dw 5x5 s1 480 @14", 480, 14, 14, 480, 5, 1, 2, 480},
      {"dw 5x5 s2 240 @28", 240, 28, 28, 240, 5, 2, 2, 240},
      {"dw 5x5 s1 1152 @7", 1152, 7, 7, 1152, 5, 1, 2, 1152},
      {"dw 3x3 s1 1344 @19 (B7)", 1344, 19, 19, 1344, 3, 1, 1, 1344},
      {"dw 5x5 s1 480 @38 (B7)", 480, 38, 38, 480, 5, 1, 2, 480},
      {"dw 5x5 s1 288 @75 (B7)", 288, 75, 75, 288, 5, 1, 2, 288},
      {"dw 3x3 s1 64 @300 (B7)", 64, 300, 300, 64, 3, 1, 1, 64},
      {"dw 3x3 s2 192 @300 (B7)", 192, 300, 300, 192, 3, 2, 1, 192},
      {"dw 5x5 s1 288 @150 (B7)", 288, 150, 150, 288, 5, 1, 2, 288},
      // ResNet-50's bottlenecks (stride 2 sits on the 3x3 conv and the projection)
      {"r50 stem 7x7 s2 3->64", 3, 224, 224, 64, 7, 2, 3, 1},
      {"r50 1x1 64->256 @56", 64, 56, 56, 256, 1, 1, 0, 1},
      {"r50 1x1 256->64 @56", 256, 56, 56, 64, 1, 1, 0, 1},
      {"r50 1x1 s2 256->512 @56", 256, 56, 56, 512, 1, 2, 0, 1},
      {"r50 3x3 s1 64 @56", 64, 56, 56, 64, 3, 1, 1, 1},
      {"r50 3x3 s1 256 @14", 256, 14, 14, 256, 3, 1, 1, 1},
      {"r50 3x3 s2 128 @56", 128, 56, 56, 128, 3, 2, 1, 1},
      {"r50 1x1 1024->256 @14", 1024, 14, 14, 256, 1, 1, 0, 1},
      {"r50 3x3 s2 512 @14", 512, 14, 14, 512, 3, 2, 1, 1},
      {"r50 1x1 512->2048 @7", 512, 7, 7, 2048, 1, 1, 0, 1},
      {"r50 1x1 2048->512 @7", 2048, 7, 7, 512, 1, 1, 0, 1},
      {"r50 3x3 s1 512 @7", 512, 7, 7, 512, 3, 1, 1, 1},
      // EfficientNet-B7 at 600 px: 1x1s on maps whose rows are not 16-float aligned
      {"b7 1x1 80->480 @75", 80, 75, 75, 480, 1, 1, 0, 1},
      {"b7 1x1 480->80 @75", 480, 75, 75, 80, 1, 1, 0, 1},
      {"b7 1x1 1344->224 @38", 1344, 38, 38, 224, 1, 1, 0, 1},
      {"b7 1x1 224->1344 @38", 224, 38, 38, 1344, 1, 1, 0, 1},
      {"b7 1x1 2304->384 @19", 2304, 19, 19, 384, 1, 1, 0, 1},
      {"b7 1x1 384->2304 @19", 384, 19, 19, 2304, 1, 1, 0, 1},
  };
  Pool p1(1), p2(2);
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::printf("%-26s %-30s %8s %8s %7s %8s %7s\n", "shape", "kernel", "cpu us(1T)", "GF/s", "%peak",
              "us(2T)", "x(2T)");
  for (const Shape& s : shapes) {
    if (!std::strstr(s.what, filter)) continue;
    const ConvDesc d = desc(s);
    std::vector<float> x(size_t(d.N * d.C * d.H * d.W)), w(size_t(d.M * d.C / d.G * d.KH * d.KW)),
        b(size_t(d.M)), y(size_t(d.out_batch_stride));
    for (auto* v : {&x, &w, &b})
      for (auto& e : *v) e = u(rng);
    const double flops = 2.0 * d.M * (d.C / d.G) * d.KH * d.KW * d.OH * d.OW;
    // The factory's choice, and the portable variant of the same family for comparison.
    for (Isa isa : {detect_isa(), Isa::Portable}) {
      auto k = make_conv_kernel(d, w.data(), b.data(), isa);
      if (isa == Isa::Portable && (!with_portable || isa == detect_isa())) continue;
      void* scr = std::aligned_alloc(64, (k->scratch_bytes(2) + 63) / 64 * 64 + 64);
      const double t1 = time_run(*k, p1, x.data(), y.data(), scr, /*cpu=*/true);
      const double t2 = time_run(*k, p2, x.data(), y.data(), scr);
      std::printf("%-26s %-30s %8.1f %8.1f %6.1f%% %8.1f %7.2f\n", s.what, k->name(), t1 * 1e6,
                  flops / t1 * 1e-9, 100.0 * flops / t1 * 1e-9 / peak, t2 * 1e6, t1 / t2);
      std::free(scr);
    }
  }
  return 0;
}
