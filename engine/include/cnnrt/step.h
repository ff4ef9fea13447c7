// What the engine hands a step factory at compile time (shapes, constants, attributes, where
// the outputs live) and what a compiled step kernel gets at run time (buffer pointers, scratch,
// the thread pool). Factories validate everything and throw std::invalid_argument; the plan
// prefixes the message with the step's name and op.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cnnrt/attrs.h"
#include "cpu/kernel_api.h"

namespace cnnrt {

using Shape = std::vector<int64_t>;
int64_t numel(const Shape& s);
int64_t numel(const Shape& s, size_t begin, size_t end);  // product of s[begin:end]
std::string shape_str(const Shape& s);
Shape dense_strides(const Shape& s);  // row-major element strides

struct StepSpec {
  std::string op, name;
  const Attrs* attrs = nullptr;
  std::vector<Shape> in_shapes;            // {} for an absent (-1) input
  std::vector<bool> in_present;
  std::vector<const float*> in_const;      // constant data, nullptr for runtime values
  std::vector<std::shared_ptr<const void>> in_const_owner;  // keeps in_const[i] alive
  std::vector<bool> in_view;               // concat: the input already lives in its slice of Y
  std::vector<Shape> out_shapes;
  std::vector<int64_t> out_batch_stride;   // elements between images of each output
  Isa isa = Isa::Ref;
  int threads = 1;

  // The shape of input i; throws if the input is absent or out of range.
  const Shape& in(size_t i) const;
  const Shape& out(size_t i) const;
  // Throws unless the step has [lo, hi] inputs and exactly n_out outputs (n_out < 0: any >= 1).
  void expect_arity(size_t lo, size_t hi, int n_out) const;
};

struct StepArgs {
  const float* const* in;  // one per input, nullptr where absent
  float* const* out;       // one per output
  void* scratch;           // scratch_bytes(par.threads()) bytes, 64-byte aligned
  const Parallel& par;
};

class StepKernel {
 public:
  virtual ~StepKernel() = default;
  virtual std::string name() const = 0;
  virtual size_t scratch_bytes(int /*threads*/) const { return 0; }
  virtual void run(const StepArgs& args) const = 0;  // const: may run on several threads at once
};

using StepFactory = std::unique_ptr<StepKernel> (*)(const StepSpec&);

// A kernel that is a name plus a closure over its compile-time geometry (most ops need no more).
template <class F>
class FnKernel final : public StepKernel {
 public:
  FnKernel(std::string name, F fn) : name_(std::move(name)), fn_(std::move(fn)) {}
  std::string name() const override { return name_; }
  void run(const StepArgs& a) const override { fn_(a); }

 private:
  std::string name_;
  F fn_;
};
template <class F>
std::unique_ptr<StepKernel> make_fn_kernel(std::string name, F fn) {
  return std::make_unique<FnKernel<F>>(std::move(name), std::move(fn));
}

// Throws std::invalid_argument(msg) unless cond.
void expect(bool cond, const std::string& msg);

// y[i] = act(x[i]) for i < n (x may equal y). Isa::Ref uses the scalar apply_act oracle; other
// ISAs use vectorizable loops (and the AVX2 epilogue row for exp/tanh-based activations).
// Defined in kernels/cpu/ref/activation.cc, shared with binary.
void act_apply(const ActParams& p, const float* x, float* y, int64_t n, Isa isa);

}  // namespace cnnrt
