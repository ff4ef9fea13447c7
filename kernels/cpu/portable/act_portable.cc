// The general epilogue row pass, scalar: apply_act is the definition.
#include "cpu/epilogue.h"

namespace cnnrt {

void epi_rows__portable(float* y, int64_t ldy, const float* res, int64_t ldr, int64_t rows,
                        int64_t n, const EpiParams& p) {
  const Epilogue& e = p.e;
  for (int64_t r = 0; r < rows; ++r, y += ldy, res = res ? res + ldr : nullptr)
    for (int64_t i = 0; i < n; ++i) {
      float v = apply_act(e.act, y[i], e.alpha, e.beta);
      if (res) v = apply_act(e.post_act, v + res[i], e.post_alpha, e.post_beta);
      y[i] = v;
    }
}

}  // namespace cnnrt
