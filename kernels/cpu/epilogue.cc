// Splits an Epilogue into what the micro-kernels fuse (clamps) and what needs a row pass.
#include <limits>

#include "cpu/epilogue.h"

namespace cnnrt {
namespace {

bool is_clamp(Act a) { return a == Act::None || a == Act::Relu || a == Act::Clip; }

void clamp_bounds(Act a, float alpha, float beta, float* lo, float* hi) {
  const float inf = std::numeric_limits<float>::infinity();
  *lo = a == Act::Relu ? 0.f : a == Act::Clip ? alpha : -inf;
  *hi = a == Act::Clip ? beta : inf;
}

}  // namespace

EpiParams make_epi_params(const Epilogue& e) {
  EpiParams p{};
  p.e = e;
  p.clamp_only = is_clamp(e.act) && (!e.has_residual || is_clamp(e.post_act));
  p.clamp = p.clamp_only && e.act != Act::None;
  clamp_bounds(e.act, e.alpha, e.beta, &p.lo, &p.hi);
  p.post_clamp = p.clamp_only && e.has_residual && e.post_act != Act::None;
  clamp_bounds(e.post_act, e.post_alpha, e.post_beta, &p.post_lo, &p.post_hi);
  return p;
}

}  // namespace cnnrt
