// The general epilogue row pass, scalar: apply_act is the definition.
#include "cpu/epilogue.h"

namespace cnnrt {

void epi_row__portable(float* y, const float* res, int64_t n, const EpiParams& p) {
  const Epilogue& e = p.e;
  for (int64_t i = 0; i < n; ++i) {
    float v = apply_act(e.act, y[i], e.alpha, e.beta);
    if (res) v = apply_act(e.post_act, v + res[i], e.post_alpha, e.post_beta);
    y[i] = v;
  }
}

}  // namespace cnnrt
