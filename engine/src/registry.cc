// The kernel registry: an explicit table of op -> factory. (Self-registering objects would be
// dropped by the linker from the static library, so the list is written out here.)
#include "cnnrt/registry.h"

#include <map>

namespace cnnrt {

#define CNNRT_STEP_OPS(X)                                                                    \
  X(conv) X(gemm) X(matmul) X(activation) X(binary) X(batch_norm) X(max_pool) X(avg_pool)   \
  X(global_avg_pool) X(global_max_pool) X(reduce_mean) X(lrn) X(softmax) X(reshape)          \
  X(transpose) X(concat) X(split) X(slice) X(pad) X(gather) X(copy) X(plugin)

// Factories: engine/src/{conv,gemm,plugin}_step.cc and kernels/cpu/ref/<op>.cc.
#define DECLARE(op) std::unique_ptr<StepKernel> make_##op##_step(const StepSpec&);
CNNRT_STEP_OPS(DECLARE)
#undef DECLARE

namespace {
const std::map<std::string, StepFactory>& table() {
#define ENTRY(op) {#op, &make_##op##_step},
  static const std::map<std::string, StepFactory> t{CNNRT_STEP_OPS(ENTRY)};
#undef ENTRY
  return t;
}
}  // namespace

StepFactory find_step_factory(const std::string& op) {
  auto it = table().find(op);
  return it == table().end() ? nullptr : it->second;
}

std::vector<std::string> step_ops() {
  std::vector<std::string> ops;
  for (const auto& kv : table()) ops.push_back(kv.first);
  return ops;
}

}  // namespace cnnrt
