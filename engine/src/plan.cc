// Building and compiling a Plan: recording values and steps, validating the graph (every error
// names the step and its op), planning memory and creating one kernel per step.
#include "cnnrt/plan.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <set>
#include <stdexcept>

#include "cnnrt/memory.h"
#include "cnnrt/registry.h"
#include "cnnrt/threadpool.h"
#include "cnnrt/plan_internal.h"

namespace cnnrt {

namespace {
constexpr int kMaxVid = 1 << 24;
constexpr int64_t kMaxElems = int64_t{1} << 40;

std::invalid_argument step_error(const Step& s, const std::string& msg) {
  return std::invalid_argument("step '" + s.name + "' (" + s.op + "): " + msg);
}

Isa parse_isa(const std::string& name) {
  if (name == "auto") return detect_isa();
  static const std::pair<const char*, Isa> table[] = {
      {"ref", Isa::Ref}, {"portable", Isa::Portable}, {"avx2", Isa::Avx2}, {"avx512", Isa::Avx512}};
  for (const auto& [n, isa] : table) {
    if (name != n) continue;
    if (!isa_supported(isa)) throw std::invalid_argument("isa '" + name + "' is not supported by this CPU");
    return isa;
  }
  throw std::invalid_argument("unknown isa '" + name + "' (expected auto, avx512, avx2, portable or ref)");
}
}  // namespace

Plan::Plan() = default;
Plan::~Plan() = default;

void Plan::check_not_compiled(const char* what) const {
  if (compiled_) throw std::invalid_argument(std::string(what) + ": the plan is already compiled");
}

void Plan::add_value(int vid, const Shape& shape) {
  check_not_compiled("add_value");
  if (vid < 0 || vid >= kMaxVid) throw std::invalid_argument("add_value: bad vid " + std::to_string(vid));
  if (vid < static_cast<int>(values_.size()) && values_[vid].defined)
    throw std::invalid_argument("add_value: vid " + std::to_string(vid) + " is already defined");
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0 || (d > 0 && n > kMaxElems / d))
      throw std::invalid_argument("add_value: bad shape " + shape_str(shape) + " for vid " + std::to_string(vid));
    n *= d;
  }
  if (vid >= static_cast<int>(values_.size())) values_.resize(vid + 1);
  values_[vid].defined = true;
  values_[vid].shape = shape;
}

void Plan::add_constant(int vid, const Shape& shape, const float* data) {
  auto copy = std::make_shared<std::vector<float>>(data, data + numel(shape));
  const float* p = copy->data();
  add_constant(vid, shape, p, std::move(copy));
}

void Plan::add_constant(int vid, const Shape& shape, const float* data,
                        std::shared_ptr<const void> owner) {
  add_value(vid, shape);
  values_[vid].is_const = true;
  values_[vid].data = data;
  values_[vid].owner = std::move(owner);
}

void Plan::add_step(const std::string& op, const std::vector<int>& inputs,
                    const std::vector<int>& outputs, const Attrs& attrs, const std::string& name) {
  check_not_compiled("add_step");
  Step s{op, name, inputs, outputs, attrs};
  if (!find_step_factory(op)) throw step_error(s, "unknown op '" + op + "'");
  for (int v : inputs)
    if (v < -1 || v >= kMaxVid) throw step_error(s, "bad input vid " + std::to_string(v));
  if (outputs.empty()) throw step_error(s, "a step needs at least one output");
  for (int v : outputs)
    if (v < 0 || v >= kMaxVid) throw step_error(s, "bad output vid " + std::to_string(v));
  steps_.push_back(std::move(s));
}

void Plan::set_io(const std::vector<int>& inputs, const std::vector<int>& outputs) {
  check_not_compiled("set_io");
  inputs_ = inputs;
  outputs_ = outputs;
  io_set_ = true;
}

// Topological order as given: every input is a graph input, a constant or an earlier output.
void Plan::validate_graph() const {
  if (!io_set_) throw std::invalid_argument("compile: set_io was not called");
  auto defined = [&](int v) { return v >= 0 && v < static_cast<int>(values_.size()) && values_[v].defined; };
  std::vector<bool> ready(values_.size(), false);
  std::set<int> seen_inputs;
  for (int v : inputs_) {
    if (!defined(v) || values_[v].is_const || !seen_inputs.insert(v).second)
      throw std::invalid_argument("set_io: input vid " + std::to_string(v) +
                                  " must be a defined non-constant value, listed once");
    ready[v] = true;
  }
  for (size_t v = 0; v < values_.size(); ++v) ready[v] = ready[v] || values_[v].is_const;
  for (const Step& s : steps_) {
    for (int v : s.inputs) {
      if (v == -1) continue;
      if (!defined(v)) throw step_error(s, "input vid " + std::to_string(v) + " is not defined");
      if (!ready[v]) throw step_error(s, "input vid " + std::to_string(v) + " is not computed before this step");
    }
    for (int v : s.outputs) {
      if (!defined(v)) throw step_error(s, "output vid " + std::to_string(v) + " is not defined");
      if (ready[v]) throw step_error(s, "output vid " + std::to_string(v) +
                                            " is a graph input, a constant or written twice");
      ready[v] = true;
    }
  }
  for (int v : outputs_)
    if (!defined(v) || !ready[v])
      throw std::invalid_argument("set_io: output vid " + std::to_string(v) + " is never computed");
}

// conv/gemm kernels pack their weights and bias into their own layout at compile time, so
// the raw copies are never read at run time. compile() frees each one as soon as the last
// kernel packing it exists (EfficientNet-L2: 1.9 GB; ResNet-152: the raw and the packed
// weights are never all alive at once). Returns, per value, the step after which it can go
// (-1: read at run time, or not a constant).
std::vector<int> Plan::packed_constants_last_use() const {
  std::vector<bool> read_at_run(values_.size(), false);
  std::vector<int> last(values_.size(), -1);
  for (size_t s = 0; s < steps_.size(); ++s) {
    const Step& st = steps_[s];
    for (size_t i = 0; i < st.inputs.size(); ++i) {
      const int v = st.inputs[i];
      if (v < 0) continue;
      const bool packed = (st.op == "conv" || st.op == "gemm") && (i == 1 || i == 2);
      if (packed) last[v] = static_cast<int>(s);
      else read_at_run[v] = true;
    }
  }
  for (int v : outputs_) read_at_run[v] = true;
  for (size_t v = 0; v < values_.size(); ++v)
    if (!values_[v].is_const || read_at_run[v]) last[v] = -1;
  return last;
}

void Plan::compile(int num_threads, const std::string& isa) {
  check_not_compiled("compile");
  if (num_threads < 0) throw std::invalid_argument("compile: num_threads must be >= 0");
  validate_graph();
  kernels_.clear();  // an earlier compile may have failed halfway
  kernel_names_.clear();
  scratch_bytes_ = 0;
  const Isa chosen = parse_isa(isa);
  pool_ = std::make_unique<ThreadPool>(num_threads);
  num_threads_ = pool_->threads();
  isa_name_ = isa_name(chosen);

  const MemoryPlan mp = plan_memory(values_, steps_, inputs_, outputs_);
  const std::vector<int> release_after = packed_constants_last_use();
  for (size_t s = 0; s < steps_.size(); ++s) {
    const Step& st = steps_[s];
    for (int v : st.inputs)
      if (v >= 0 && values_[v].is_const && !values_[v].owner && numel(values_[v].shape) > 0)
        throw step_error(st, "its constant input " + std::to_string(v) +
                                 " was released by an earlier compile that failed; rebuild the plan");
    StepSpec spec;
    spec.op = st.op;
    spec.name = st.name;
    spec.attrs = &st.attrs;
    spec.isa = chosen;
    spec.threads = num_threads_;
    spec.in_view = mp.in_view[s];
    for (int v : st.inputs) {
      spec.in_present.push_back(v >= 0);
      spec.in_shapes.push_back(v >= 0 ? values_[v].shape : Shape{});
      spec.in_const.push_back(v >= 0 && values_[v].is_const ? values_[v].data : nullptr);
      spec.in_const_owner.push_back(v >= 0 && values_[v].is_const ? values_[v].owner : nullptr);
    }
    for (int v : st.outputs) {
      const Shape& root = values_[mp.root[v]].shape;
      spec.out_shapes.push_back(values_[v].shape);
      spec.out_batch_stride.push_back(root.empty() || root[0] == 0 ? 0 : numel(root) / root[0]);
    }
    std::unique_ptr<StepKernel> k;
    try {
      k = find_step_factory(st.op)(spec);  // validates even steps that end up eliminated
    } catch (const std::exception& e) {
      throw step_error(st, e.what());
    }
    if (mp.eliminated[s]) k.reset();
    kernel_names_.push_back(k ? k->name() : "");
    if (k) scratch_bytes_ = std::max(scratch_bytes_, k->scratch_bytes(num_threads_));
    kernels_.push_back(std::move(k));
    for (int v : st.inputs)  // packed by now, and by every earlier kernel that needs it
      if (v >= 0 && release_after[v] == static_cast<int>(s))
        values_[v].data = nullptr, values_[v].owner.reset();
  }

  where_.assign(values_.size(), Where{});
  for (size_t i = 0; i < inputs_.size(); ++i) where_[inputs_[i]] = {Where::Input, static_cast<int64_t>(i), 0};
  for (size_t v = 0; v < values_.size(); ++v) {
    if (!values_[v].defined) continue;
    const int r = mp.root[v];
    const int64_t off = mp.elem_offset[v] * static_cast<int64_t>(sizeof(float));
    if (values_[r].is_const) where_[v] = {Where::Const, r, off};
    else if (mp.arena_offset[r] >= 0) where_[v] = {Where::Arena, 0, mp.arena_offset[r] + off};
    else if (where_[r].kind == Where::Input) where_[v] = {Where::Input, where_[r].index, off};
  }
  const char* prof = std::getenv("CNNRT_PROFILE");
  if (prof && std::strcmp(prof, "") != 0 && std::strcmp(prof, "0") != 0) set_profiling(true);
  step_ns_ = std::make_unique<std::atomic<int64_t>[]>(steps_.size());
  for (size_t s = 0; s < steps_.size(); ++s) step_ns_[s] = 0;
  arena_bytes_ = mp.arena_bytes;
  naive_bytes_ = mp.naive_bytes;
  compiled_ = true;
}

std::vector<double> Plan::step_times() const {
  std::vector<double> t(compiled_ ? steps_.size() : 0);
  for (size_t s = 0; s < t.size(); ++s) t[s] = double(step_ns_[s].load()) * 1e-9;
  return t;
}

}  // namespace cnnrt
