// A Plan: the executable form of a graph. Built by add_value/add_constant/add_step/set_io,
// then compile() validates it, plans memory and creates one kernel per step (weights packed);
// run() binds buffers and executes the steps in order. run() is const and may be called from
// several threads at once: each call leases its own arena from a pool.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cnnrt/attrs.h"
#include "cnnrt/step.h"

namespace cnnrt {

class ThreadPool;

struct Value {
  bool defined = false;
  bool is_const = false;
  Shape shape;
  // Constants only: numel(shape) floats at data, kept alive by owner (the plan's own copy, or
  // the caller's buffer). Kernels that keep the weights as given share owner instead of copying.
  const float* data = nullptr;
  std::shared_ptr<const void> owner;
};

struct Step {
  std::string op, name;
  std::vector<int> inputs, outputs;  // vids; -1 marks an absent optional input
  Attrs attrs;
};

class Plan {
 public:
  Plan();
  ~Plan();

  void add_value(int vid, const Shape& shape);
  void add_constant(int vid, const Shape& shape, const float* data);  // copies data
  // No copy: data stays valid while owner (or a copy of it) lives; the plan drops its share
  // once every kernel has packed the constant.
  void add_constant(int vid, const Shape& shape, const float* data,
                    std::shared_ptr<const void> owner);
  void add_step(const std::string& op, const std::vector<int>& inputs,
                const std::vector<int>& outputs, const Attrs& attrs, const std::string& name);
  void set_io(const std::vector<int>& inputs, const std::vector<int>& outputs);
  void compile(int num_threads, const std::string& isa);  // isa: auto|avx512|avx2|portable|ref

  // in: one dense float32 buffer per graph input, shapes as input_shape(i) (the caller checks);
  // out: one dense buffer per graph output, filled with a copy of the result.
  void run(const std::vector<const float*>& in, const std::vector<float*>& out) const;

  bool compiled() const { return compiled_; }
  size_t num_inputs() const { return inputs_.size(); }
  size_t num_outputs() const { return outputs_.size(); }
  const Shape& input_shape(size_t i) const { return values_[inputs_[i]].shape; }
  const Shape& output_shape(size_t i) const { return values_[outputs_[i]].shape; }
  size_t arena_bytes() const { return arena_bytes_; }
  size_t naive_bytes() const { return naive_bytes_; }
  const std::vector<std::string>& step_kernels() const { return kernel_names_; }
  const std::string& isa() const { return isa_name_; }
  int num_threads() const { return num_threads_; }
  // Wall seconds spent in each step since compile, summed over runs. Recorded only while
  // profiling is on: set_profiling(true), or CNNRT_PROFILE=1 in the environment at compile
  // time (otherwise all zero and no clock reads).
  std::vector<double> step_times() const;
  void set_profiling(bool on) { profile_.store(on, std::memory_order_relaxed); }
  bool profiling() const { return profile_.load(std::memory_order_relaxed); }

 private:
  struct Where;   // where a value's storage is found at run time
  struct Arena;   // one per-call activation arena (+ scratch)
  void check_not_compiled(const char* what) const;
  void validate_graph() const;
  std::vector<int> packed_constants_last_use() const;
  std::unique_ptr<Arena> take_arena() const;
  void give_back(std::unique_ptr<Arena> a) const;

  std::vector<Value> values_;  // indexed by vid
  std::vector<Step> steps_;
  std::vector<int> inputs_, outputs_;
  bool io_set_ = false, compiled_ = false;

  // compiled state
  std::vector<std::unique_ptr<StepKernel>> kernels_;  // nullptr: eliminated step
  std::vector<std::string> kernel_names_;
  std::vector<Where> where_;
  std::unique_ptr<ThreadPool> pool_;
  size_t arena_bytes_ = 0, naive_bytes_ = 0, scratch_bytes_ = 0;
  std::string isa_name_;
  int num_threads_ = 0;
  std::atomic<bool> profile_{false};  // may be switched while other threads run
  std::unique_ptr<std::atomic<int64_t>[]> step_ns_;  // per step, when profile_

  mutable std::mutex arenas_mu_;
  mutable std::vector<std::unique_ptr<Arena>> free_arenas_;
};

}  // namespace cnnrt
