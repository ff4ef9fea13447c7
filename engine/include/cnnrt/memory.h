// The memory planner: decides which values share storage (reshape outputs alias their input;
// the inputs of an inplace concat become views of their channel slice of its output) and
// packs the remaining buffers into one arena by their lifetimes (best-fit by size, 64-byte
// aligned offsets).
#pragma once
#include <cstdint>
#include <vector>

#include "cnnrt/plan.h"

namespace cnnrt {

struct MemoryPlan {
  std::vector<int> root;                   // per vid: the value owning its storage (itself if none)
  std::vector<int64_t> elem_offset;        // per vid: element offset inside root
  std::vector<int64_t> arena_offset;       // per vid: byte offset of an arena root, else -1
  std::vector<std::vector<bool>> in_view;  // per step, per input: lives inside the step's output
  std::vector<bool> eliminated;            // per step: nothing to run (alias / all views)
  size_t arena_bytes = 0, naive_bytes = 0;
};

MemoryPlan plan_memory(const std::vector<Value>& values, const std::vector<Step>& steps,
                       const std::vector<int>& inputs, const std::vector<int>& outputs);

// Offsets for buffers of the given sizes alive over [first, last] (inclusive step indices):
// buffers with overlapping lifetimes never overlap in memory. Returns the arena size.
size_t pack_buffers(const std::vector<size_t>& bytes, const std::vector<int>& first,
                    const std::vector<int>& last, std::vector<size_t>& offsets);

}  // namespace cnnrt
