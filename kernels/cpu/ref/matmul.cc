// matmul: numpy matmul of A (..., M, K) and B (..., K, N), batch dims broadcast; a 1-D A is
// (1, K) and a 1-D B is (K, 1), with that dim dropped from Y, as numpy does. Either operand may
// be a runtime value or a constant. The batch offsets are resolved at
// compile; each output row is accumulated i-k-j so the inner loop runs over contiguous N.
#include <algorithm>
#include <cstring>

#include "cnnrt/parallel_for.h"
#include "cnnrt/step.h"

namespace cnnrt {

std::unique_ptr<StepKernel> make_matmul_step(const StepSpec& s) {
  s.expect_arity(2, 2, 1);
  const Shape &A0 = s.in(0), &B0 = s.in(1), &Y = s.out(0);
  expect(!A0.empty() && !B0.empty(), "A and B must have rank >= 1, got " + shape_str(A0) + " and " + shape_str(B0));
  Shape A = A0, B = B0;
  if (A.size() == 1) A.insert(A.begin(), 1);
  if (B.size() == 1) B.push_back(1);
  const int64_t M = A[A.size() - 2], K = A.back(), N = B.back();
  expect(B[B.size() - 2] == K, "inner dimensions differ: " + shape_str(A) + " @ " + shape_str(B));
  // Broadcast the batch dims (all but the last two) to Y's.
  const size_t rb = std::max(A.size(), B.size()) - 2;
  Shape ab(rb, 1), bb(rb, 1), yb(rb);
  std::copy(A.begin(), A.end() - 2, ab.end() - (A.size() - 2));
  std::copy(B.begin(), B.end() - 2, bb.end() - (B.size() - 2));
  for (size_t d = 0; d < rb; ++d) {
    expect(ab[d] == bb[d] || ab[d] == 1 || bb[d] == 1,
           "batch dimensions do not broadcast: " + shape_str(A) + " @ " + shape_str(B));
    yb[d] = std::max(ab[d], bb[d]);
  }
  Shape want = yb;
  if (A0.size() > 1) want.push_back(M);
  if (B0.size() > 1) want.push_back(N);
  expect(Y == want, "Y must be " + shape_str(want) + ", got " + shape_str(Y));

  // (A offset, B offset) of each output batch.
  const Shape as = dense_strides(ab), bs = dense_strides(bb);
  const int64_t batches = numel(yb);
  std::vector<int64_t> aoff(batches), boff(batches);
  for (int64_t i = 0; i < batches; ++i) {
    int64_t rest = i, oa = 0, ob = 0;
    for (size_t d = rb; d-- > 0;) {
      const int64_t k = rest % yb[d];
      rest /= yb[d];
      oa += (ab[d] == 1 ? 0 : k * as[d]), ob += (bb[d] == 1 ? 0 : k * bs[d]);
    }
    aoff[i] = oa * M * K, boff[i] = ob * K * N;
  }
  return make_fn_kernel("f32_matmul__ref", [=](const StepArgs& a) {
    parallel_for(a.par, batches * M, grain_for(K * N), [&](int64_t r0, int64_t r1, int) {
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t bi = r / M, i = r % M;
        const float* x = a.in[0] + aoff[bi] + i * K;
        const float* w = a.in[1] + boff[bi];
        float* y = a.out[0] + r * N;
        std::fill(y, y + N, 0.f);
        for (int64_t k = 0; k < K; ++k) {
          const float xv = x[k];
          const float* wk = w + k * N;
          for (int64_t j = 0; j < N; ++j) y[j] += xv * wk[j];
        }
      }
    });
  });
}

}  // namespace cnnrt
