// The C++ test programs' check: report a failed condition with its place and go on (the
// program's exit status counts the failures).
#pragma once
#include <cstdio>

namespace cnnrt_test {
inline int failures = 0;
}  // namespace cnnrt_test

#define CHECK(cond)                                                        \
  do {                                                                     \
    if (!(cond)) {                                                         \
      std::printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);          \
      ++cnnrt_test::failures;                                              \
    }                                                                      \
  } while (0)
