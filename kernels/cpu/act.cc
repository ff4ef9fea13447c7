// Activation names and the scalar definition every vectorized activation is tested against.
#include <cmath>
#include <stdexcept>
#include <string>

#include "cpu/kernel_api.h"

namespace cnnrt {

Act act_from_name(const std::string& name) {
  static const struct { const char* name; Act act; } kNames[] = {
      {"none", Act::None},       {"relu", Act::Relu},         {"clip", Act::Clip},
      {"leaky_relu", Act::LeakyRelu}, {"sigmoid", Act::Sigmoid}, {"silu", Act::Silu},
      {"tanh", Act::Tanh},       {"hard_sigmoid", Act::HardSigmoid},
      {"hard_swish", Act::HardSwish}};
  for (const auto& n : kNames)
    if (name == n.name) return n.act;
  throw std::invalid_argument("unknown activation '" + name +
                              "' (expected one of: none relu clip leaky_relu sigmoid silu tanh "
                              "hard_sigmoid hard_swish)");
}

float apply_act(Act act, float x, float alpha, float beta) {
  switch (act) {
    case Act::None: return x;
    case Act::Relu: return x > 0.f ? x : 0.f;
    case Act::Clip: return std::fmin(std::fmax(x, alpha), beta);
    case Act::LeakyRelu: return x >= 0.f ? x : alpha * x;
    case Act::Sigmoid: return 1.f / (1.f + std::exp(-x));
    case Act::Silu: return x / (1.f + std::exp(-x));
    case Act::Tanh: return std::tanh(x);
    case Act::HardSigmoid: return std::fmax(0.f, std::fmin(1.f, alpha * x + beta));
    case Act::HardSwish: return x * std::fmax(0.f, std::fmin(1.f, x / 6.f + 0.5f));
  }
  return x;
}

}  // namespace cnnrt
