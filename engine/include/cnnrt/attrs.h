// A step's attributes (int, float, str, list[int], list[float] from Python) with typed getters
// that validate: a missing required attribute or a value of the wrong type throws
// std::invalid_argument naming the attribute, so every factory reports bad input the same way.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "cpu/kernel_api.h"

namespace cnnrt {

using Attr = std::variant<int64_t, double, std::string, std::vector<int64_t>, std::vector<double>>;

class Attrs {
 public:
  void set(const std::string& key, Attr value) { map_[key] = std::move(value); }
  bool has(const std::string& key) const { return map_.count(key) != 0; }
  const std::map<std::string, Attr>& items() const { return map_; }
  // True when `key` is present, an int, and equal to v (never throws: for pre-validation checks).
  bool int_is(const std::string& key, int64_t v) const {
    auto it = map_.find(key);
    return it != map_.end() && std::holds_alternative<int64_t>(it->second) && std::get<int64_t>(it->second) == v;
  }

  int64_t i(const std::string& key) const;
  int64_t i_or(const std::string& key, int64_t def) const;
  double f(const std::string& key) const;  // an int value is accepted
  double f_or(const std::string& key, double def) const;
  std::string s(const std::string& key) const;
  std::string s_or(const std::string& key, const std::string& def) const;
  std::vector<int64_t> ints(const std::string& key) const;
  std::vector<int64_t> ints_n(const std::string& key, size_t n) const;  // exactly n values
  std::vector<int64_t> ints_n_or(const std::string& key, size_t n, std::vector<int64_t> def) const;
  std::vector<double> floats(const std::string& key) const;  // an int list is accepted

 private:
  const Attr& get(const std::string& key) const;
  std::map<std::string, Attr> map_;
};

// An activation with its parameters, read from `act`/`alpha`/`beta` (prefix "") or
// `post_act`/`post_alpha`/`post_beta` (prefix "post_"); missing means none / 0.
struct ActParams {
  Act act = Act::None;
  float alpha = 0.f, beta = 0.f;
};
ActParams read_act(const Attrs& attrs, const std::string& prefix);

}  // namespace cnnrt
