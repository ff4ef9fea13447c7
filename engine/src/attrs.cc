// Typed attribute access: the one place that turns "missing" and "wrong type" into messages.
#include "cnnrt/attrs.h"

#include <stdexcept>

namespace cnnrt {

namespace {
[[noreturn]] void wrong(const std::string& key, const char* want) {
  throw std::invalid_argument("attribute '" + key + "' must be " + want);
}
}  // namespace

const Attr& Attrs::get(const std::string& key) const {
  auto it = map_.find(key);
  if (it == map_.end()) throw std::invalid_argument("missing attribute '" + key + "'");
  return it->second;
}

int64_t Attrs::i(const std::string& key) const {
  const Attr& a = get(key);
  if (auto p = std::get_if<int64_t>(&a)) return *p;
  wrong(key, "an int");
}
int64_t Attrs::i_or(const std::string& key, int64_t def) const { return has(key) ? i(key) : def; }

double Attrs::f(const std::string& key) const {
  const Attr& a = get(key);
  if (auto p = std::get_if<double>(&a)) return *p;
  if (auto p = std::get_if<int64_t>(&a)) return static_cast<double>(*p);
  wrong(key, "a float");
}
double Attrs::f_or(const std::string& key, double def) const { return has(key) ? f(key) : def; }

std::string Attrs::s(const std::string& key) const {
  const Attr& a = get(key);
  if (auto p = std::get_if<std::string>(&a)) return *p;
  wrong(key, "a str");
}
std::string Attrs::s_or(const std::string& key, const std::string& def) const {
  return has(key) ? s(key) : def;
}

std::vector<int64_t> Attrs::ints(const std::string& key) const {
  const Attr& a = get(key);
  if (auto p = std::get_if<std::vector<int64_t>>(&a)) return *p;
  wrong(key, "a list of ints");
}

std::vector<int64_t> Attrs::ints_n(const std::string& key, size_t n) const {
  std::vector<int64_t> v = ints(key);
  if (v.size() != n) {
    throw std::invalid_argument("attribute '" + key + "' must have " + std::to_string(n) +
                                " values, got " + std::to_string(v.size()));
  }
  return v;
}

std::vector<int64_t> Attrs::ints_n_or(const std::string& key, size_t n,
                                      std::vector<int64_t> def) const {
  return has(key) ? ints_n(key, n) : def;
}

std::vector<double> Attrs::floats(const std::string& key) const {
  const Attr& a = get(key);
  if (auto p = std::get_if<std::vector<double>>(&a)) return *p;
  if (auto p = std::get_if<std::vector<int64_t>>(&a)) return {p->begin(), p->end()};
  wrong(key, "a list of floats");
}

ActParams read_act(const Attrs& attrs, const std::string& prefix) {
  const std::string key = prefix.empty() ? "act" : prefix + "act";
  ActParams p;
  p.act = act_from_name(attrs.s_or(key, "none"));
  p.alpha = static_cast<float>(attrs.f_or(prefix + "alpha", 0.0));
  p.beta = static_cast<float>(attrs.f_or(prefix + "beta", 0.0));
  return p;
}

}  // namespace cnnrt
