// Running a compiled Plan: lease an arena (activations + kernel scratch) from the pool of free
// arenas, bind the graph inputs in place (no copy), run the steps in order, copy the outputs
// out and return the arena. Several threads may run at once: each holds its own arena.
#include <chrono>
#include <cstring>
#include <stdexcept>

#include "cnnrt/plugin_registry.h"
#include "cnnrt/threadpool.h"
#include "cnnrt/plan_internal.h"

namespace cnnrt {

std::unique_ptr<Plan::Arena> Plan::take_arena() const {
  {
    std::lock_guard<std::mutex> lock(arenas_mu_);
    if (!free_arenas_.empty()) {
      auto a = std::move(free_arenas_.back());
      free_arenas_.pop_back();
      return a;
    }
  }
  const size_t act = (arena_bytes_ + 63) / 64 * 64;
  return std::make_unique<Arena>(act + scratch_bytes_);
}

void Plan::give_back(std::unique_ptr<Arena> a) const {
  std::lock_guard<std::mutex> lock(arenas_mu_);
  free_arenas_.push_back(std::move(a));
}

void Plan::run(const std::vector<const float*>& in, const std::vector<float*>& out) const {
  if (!compiled_) throw std::invalid_argument("run: the plan is not compiled");
  if (in.size() != inputs_.size() || out.size() != outputs_.size())
    throw std::invalid_argument("run: expected " + std::to_string(inputs_.size()) + " inputs and " +
                                std::to_string(outputs_.size()) + " outputs");
  std::unique_ptr<Arena> arena = take_arena();
  struct Return {  // hands the arena back however run() exits
    const Plan* p;
    std::unique_ptr<Arena>& a;
    ~Return() { p->give_back(std::move(a)); }
  } ret{this, arena};

  char* base = static_cast<char*>(arena->data);
  void* scratch = base + (arena_bytes_ + 63) / 64 * 64;
  std::vector<float*> ptr(values_.size(), nullptr);
  for (size_t v = 0; v < values_.size(); ++v) {
    const Where& w = where_[v];
    const char* b = nullptr;
    if (w.kind == Where::Arena) b = base;
    else if (w.kind == Where::Input) b = reinterpret_cast<const char*>(in[w.index]);
    else if (w.kind == Where::Const) b = reinterpret_cast<const char*>(values_[w.index].data);
    // Inputs and constants are only ever read: steps never write to values rooted there.
    if (b) ptr[v] = reinterpret_cast<float*>(const_cast<char*>(b) + w.bytes);
  }

  std::vector<const float*> ins;
  std::vector<float*> outs;
  for (size_t s = 0; s < steps_.size(); ++s) {
    if (!kernels_[s]) continue;
    const Step& st = steps_[s];
    ins.clear();
    outs.clear();
    for (int v : st.inputs) ins.push_back(v >= 0 ? ptr[v] : nullptr);
    for (int v : st.outputs) outs.push_back(ptr[v]);
    using Clock = std::chrono::steady_clock;
    const bool timed = profiling();
    const Clock::time_point t0 = timed ? Clock::now() : Clock::time_point{};
    try {
      kernels_[s]->run(StepArgs{ins.data(), outs.data(), scratch, *pool_});
      if (timed)
        step_ns_[s] += std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count();
    } catch (const std::exception& e) {
      throw StepRunError("step '" + st.name + "' (" + st.op + "): " + e.what());
    }
  }
  for (size_t i = 0; i < outputs_.size(); ++i) {
    const int64_t n = numel(values_[outputs_[i]].shape);
    if (n > 0) std::memcpy(out[i], ptr[outputs_[i]], n * sizeof(float));
  }
}

}  // namespace cnnrt
