// Shape helpers and the arity/shape checks every step factory starts with.
#include "cnnrt/step.h"

#include <stdexcept>

namespace cnnrt {

int64_t numel(const Shape& s) { return numel(s, 0, s.size()); }

int64_t numel(const Shape& s, size_t begin, size_t end) {
  int64_t n = 1;
  for (size_t i = begin; i < end && i < s.size(); ++i) n *= s[i];
  return n;
}

std::string shape_str(const Shape& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

Shape dense_strides(const Shape& s) {
  Shape st(s.size(), 1);
  for (size_t i = s.size(); i-- > 1;) st[i - 1] = st[i] * s[i];
  return st;
}

void expect(bool cond, const std::string& msg) {
  if (!cond) throw std::invalid_argument(msg);
}

const Shape& StepSpec::in(size_t i) const {
  expect(i < in_shapes.size() && in_present[i], "input " + std::to_string(i) + " is required");
  return in_shapes[i];
}

const Shape& StepSpec::out(size_t i) const {
  expect(i < out_shapes.size(), "output " + std::to_string(i) + " is required");
  return out_shapes[i];
}

void StepSpec::expect_arity(size_t lo, size_t hi, int n_out) const {
  const size_t n = in_shapes.size();
  expect(n >= lo && n <= hi, "expects " + (lo == hi ? std::to_string(lo) : std::to_string(lo) + ".." +
                                 std::to_string(hi)) + " inputs, got " + std::to_string(n));
  if (n_out >= 0) {
    expect(out_shapes.size() == static_cast<size_t>(n_out),
           "expects " + std::to_string(n_out) + " outputs, got " + std::to_string(out_shapes.size()));
  } else {
    expect(!out_shapes.empty(), "expects at least one output");
  }
}

}  // namespace cnnrt
