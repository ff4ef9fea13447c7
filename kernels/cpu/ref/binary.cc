// binary: Y = act(A op B) with numpy broadcasting (rank <= 6), op one of add sub mul div max
// min pow. At compile the output dims are coalesced (adjacent dims that broadcast the same way
// merge), so same-shape, scalar and per-channel cases all end in one contiguous inner loop
// with stride 1 or 0 per operand, which the compiler vectorizes. isa "ref" skips coalescing
// and uses the plain strided loop (the oracle for the fast paths).
#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "cnnrt/parallel_for.h"
#include "cnnrt/step.h"

namespace cnnrt {

namespace {
constexpr int kMaxRank = 6;

struct Geom {  // output dims with the element strides of A and B (0 where broadcast)
  int rank = 0;
  int64_t dim[kMaxRank], sa[kMaxRank], sb[kMaxRank];
};

Geom make_geom(const Shape& A, const Shape& B, const Shape& Y, bool coalesce) {
  const size_t r = Y.size();
  expect(r <= kMaxRank && A.size() <= r && B.size() <= r,
         "broadcasting " + shape_str(A) + " with " + shape_str(B) + " to " + shape_str(Y) +
             " (rank <= 6, inputs of rank <= Y's)");
  Shape a(r - A.size(), 1), b(r - B.size(), 1);
  a.insert(a.end(), A.begin(), A.end());
  b.insert(b.end(), B.begin(), B.end());
  const Shape as = dense_strides(a), bs = dense_strides(b);
  Geom g;
  for (size_t d = 0; d < r; ++d) {
    const int64_t want = a[d] == 1 ? b[d] : (b[d] == 1 || b[d] == a[d] ? a[d] : -1);
    expect(want == Y[d], "cannot broadcast " + shape_str(A) + " with " + shape_str(B) + " to " + shape_str(Y));
    if (coalesce && Y[d] == 1) continue;  // size-1 dims carry no work
    const int64_t sa = a[d] == 1 ? 0 : as[d], sb = b[d] == 1 ? 0 : bs[d];
    const int k = g.rank - 1;
    if (coalesce && k >= 0 && g.sa[k] == sa * Y[d] && g.sb[k] == sb * Y[d]) {
      g.dim[k] *= Y[d];  // same broadcast pattern as the previous dim: merge
      g.sa[k] = sa, g.sb[k] = sb;
      continue;
    }
    g.dim[g.rank] = Y[d], g.sa[g.rank] = sa, g.sb[g.rank] = sb;
    ++g.rank;
  }
  if (g.rank == 0) g.rank = 1, g.dim[0] = 1, g.sa[0] = g.sb[0] = 0;
  return g;
}

template <class Op>
void row(Op op, const float* a, int64_t sa, const float* b, int64_t sb, float* y, int64_t n, bool generic) {
  if (!generic && sa == 1 && sb == 1) {
    for (int64_t i = 0; i < n; ++i) y[i] = op(a[i], b[i]);
  } else if (!generic && sa == 1 && sb == 0) {
    const float bv = *b;
    for (int64_t i = 0; i < n; ++i) y[i] = op(a[i], bv);
  } else if (!generic && sa == 0 && sb == 1) {
    const float av = *a;
    for (int64_t i = 0; i < n; ++i) y[i] = op(av, b[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) y[i] = op(a[i * sa], b[i * sb]);
  }
}

template <class Op>
std::unique_ptr<StepKernel> make(const std::string& name, Op op, const Geom& g, const ActParams& act, Isa isa) {
  const bool ref = isa == Isa::Ref;
  int64_t rows = 1;
  for (int d = 0; d + 1 < g.rank; ++d) rows *= g.dim[d];
  const int64_t inner = g.dim[g.rank - 1];
  return make_fn_kernel(name, [=](const StepArgs& args) {
    parallel_for(args.par, rows, grain_for(inner), [&](int64_t r0, int64_t r1, int) {
      for (int64_t r = r0; r < r1; ++r) {
        int64_t oa = 0, ob = 0, rest = r;
        for (int d = g.rank - 2; d >= 0; --d) {
          const int64_t i = rest % g.dim[d];
          rest /= g.dim[d];
          oa += i * g.sa[d], ob += i * g.sb[d];
        }
        float* y = args.out[0] + r * inner;
        row(op, args.in[0] + oa, g.sa[g.rank - 1], args.in[1] + ob, g.sb[g.rank - 1], y, inner, ref);
        if (act.act != Act::None) act_apply(act, y, y, inner, isa);
      }
    });
  });
}
}  // namespace

std::unique_ptr<StepKernel> make_binary_step(const StepSpec& s) {
  s.expect_arity(2, 2, 1);
  const bool ref = s.isa == Isa::Ref;
  const Geom g = make_geom(s.in(0), s.in(1), s.out(0), !ref);
  const std::string kind = s.attrs->s("kind");
  const ActParams act = read_act(*s.attrs, "");
  const std::string name = "f32_" + kind + (act.act != Act::None ? "_" + s.attrs->s("act") : "") +
                           (g.rank == 1 ? "" : "_bcast") + "__ref";
  if (kind == "add") return make(name, [](float a, float b) { return a + b; }, g, act, s.isa);
  if (kind == "sub") return make(name, [](float a, float b) { return a - b; }, g, act, s.isa);
  if (kind == "mul") return make(name, [](float a, float b) { return a * b; }, g, act, s.isa);
  if (kind == "div") return make(name, [](float a, float b) { return a / b; }, g, act, s.isa);
  if (kind == "max") return make(name, [](float a, float b) { return std::max(a, b); }, g, act, s.isa);
  if (kind == "min") return make(name, [](float a, float b) { return std::min(a, b); }, g, act, s.isa);
  if (kind == "pow") return make(name, [](float a, float b) { return std::pow(a, b); }, g, act, s.isa);
  throw std::invalid_argument("unknown kind '" + kind + "' (expected add sub mul div max min pow)");
}

}  // namespace cnnrt
