// Plan's private run-time structures, shared by plan.cc (compile) and executor.cc (run); not
// part of the public API.
#pragma once
#include <cstdint>
#include <cstdlib>

#include "cnnrt/plan.h"

namespace cnnrt {

struct Plan::Where {
  enum Kind { None, Arena, Input, Const } kind = None;
  int64_t index = 0;  // Input: graph input position; Const: vid
  int64_t bytes = 0;  // byte offset from the base (arena start, input buffer, constant data)
};

struct Plan::Arena {
  explicit Arena(size_t n) : size((n + 63) / 64 * 64 + 64), data(std::aligned_alloc(64, size)) {
    if (!data) throw std::bad_alloc();
  }
  ~Arena() { std::free(data); }
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;
  size_t size;
  void* data;
};

}  // namespace cnnrt
