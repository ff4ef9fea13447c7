// The contract between the engine (engine/) and the optimized CPU kernels (kernels/cpu/).
//
// The engine owns threads, memory and the plan; a kernel object owns its packed weights and
// knows how to compute one step. Kernels are created once at compile time (shapes known,
// weights packed) and then run many times, possibly from several threads at once: run() is
// const and must not mutate the kernel object. Per-call temporary memory comes from the
// `scratch` buffer the engine provides (scratch_bytes() tells how much).
//
// Activations are float32, NCHW, dense within an image; an output may have a batch stride
// larger than C*H*W (it is a channel slice of a concat output), see ConvDesc::out_batch_stride.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace cnnrt {

// Instruction sets a kernel variant may be built for. Chosen at run time from CPUID.
enum class Isa { Ref = 0, Portable = 1, Avx2 = 2, Avx512 = 3 };
const char* isa_name(Isa isa);
Isa detect_isa();        // the best ISA this CPU supports (and the OS enables: XGETBV)
bool isa_supported(Isa isa);

// Activation functions, shared by the standalone activation op and fused epilogues.
//   Clip:        min(max(x, alpha), beta)          (ReLU6 is Clip with 0, 6)
//   LeakyRelu:   x >= 0 ? x : alpha * x
//   HardSigmoid: max(0, min(1, alpha * x + beta))
//   HardSwish:   x * max(0, min(1, x / 6 + 0.5))
//   Silu:        x * sigmoid(x)
enum class Act { None = 0, Relu, Clip, LeakyRelu, Sigmoid, Silu, Tanh, HardSigmoid, HardSwish };
Act act_from_name(const std::string& name);  // "none", "relu", "clip", ...; throws on unknown
float apply_act(Act act, float x, float alpha, float beta);  // scalar reference

// What follows the accumulation of a conv/gemm output element:
//   y = acc + bias[channel]
//   y = act(y, alpha, beta)
//   if residual: y = post_act(y + residual[same index], post_alpha, post_beta)
struct Epilogue {
  Act act = Act::None;
  float alpha = 0.f, beta = 0.f;
  bool has_residual = false;  // residual has the output's shape; dense NCHW (batch stride = M*OH*OW)
  Act post_act = Act::None;
  float post_alpha = 0.f, post_beta = 0.f;
};

// Splits work over the engine's thread pool. for_each(n, f) calls f(i, thread_id) for every i
// in [0, n) exactly once and returns when all are done; thread_id is in [0, threads()).
struct Parallel {
  virtual ~Parallel() = default;
  virtual int threads() const = 0;
  virtual void for_each(int64_t n, const std::function<void(int64_t i, int thread_id)>& f) const = 0;
};

// A 2-D convolution, NCHW in and out, weights (M, C/G, KH, KW), optional bias (M).
struct ConvDesc {
  int64_t N, C, H, W;          // input
  int64_t M, OH, OW;           // output channels and spatial size (computed by the caller)
  int64_t KH, KW, SH, SW;      // kernel, stride
  int64_t PT, PL, PB, PR;      // pads: top, left, bottom, right
  int64_t DH, DW;              // dilation
  int64_t G;                   // groups; C % G == 0 and M % G == 0
  int64_t out_batch_stride;    // elements between images in the output (>= M*OH*OW)
  Epilogue epi;
};

// A fully connected layer: Y(N, M) = X(N, K) * W(M, K)^T + bias(M), then epi.
struct GemmDesc {
  int64_t N, K, M;
  Epilogue epi;
  // Set: the weights stay valid while this lives, and a kernel that reads them as given (the
  // fully connected one) keeps a share instead of a copy (VGG19's 411 MB first FC layer).
  std::shared_ptr<const void> weights_owner;
};

class ConvKernel {
 public:
  virtual ~ConvKernel() = default;
  virtual const char* name() const = 0;  // e.g. "f32_conv_gemm_6x16__avx2", "f32_dwconv3x3__avx2"
  virtual size_t scratch_bytes(int threads) const = 0;
  // x: input (N,C,H,W) dense; y: output with desc.out_batch_stride; residual: dense (N,M,OH,OW)
  // or nullptr; scratch: scratch_bytes(par.threads()) bytes, 64-byte aligned.
  virtual void run(const float* x, float* y, const float* residual, void* scratch,
                   const Parallel& par) const = 0;
};

class GemmKernel {
 public:
  virtual ~GemmKernel() = default;
  virtual const char* name() const = 0;
  virtual size_t scratch_bytes(int threads) const = 0;
  virtual void run(const float* x, float* y, const float* residual, void* scratch,
                   const Parallel& par) const = 0;
};

// Factories: pick the best variant for the shape and ISA and pack the weights (copied; the
// caller's arrays may be freed afterwards). isa == Isa::Ref gives the naive reference kernel.
// bias may be nullptr.
std::unique_ptr<ConvKernel> make_conv_kernel(const ConvDesc& d, const float* weights,
                                             const float* bias, Isa isa);
std::unique_ptr<GemmKernel> make_gemm_kernel(const GemmDesc& d, const float* weights,
                                             const float* bias, Isa isa);

}  // namespace cnnrt
