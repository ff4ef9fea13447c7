// The memory planner. Three stages:
//   1. aliasing: a reshape output is its input (same bytes); each eligible input of an
//      inplace concat becomes a view of its channel slice of the concat output, so its
//      producer writes straight into the concat output;
//   2. lifetimes: every arena-backed root lives from the first step touching it (or any
//      alias/view of it) to the last (graph outputs: to the end);
//   3. packing: roots get offsets in one arena, best-fit by size (pack_buffers).
#include "cnnrt/memory.h"

#include <algorithm>
#include <limits>
#include <numeric>

namespace cnnrt {

namespace {
constexpr size_t kAlign = 64;

// Can input k of concat step s become a view of its slice of the output? (STEPS.md rules)
bool can_view(const std::vector<Value>& values, const std::vector<Step>& steps, size_t s, size_t k,
              const std::vector<int>& producer, const std::vector<int>& uses,
              const std::vector<int>& parent, int64_t c_off) {
  const Step& st = steps[s];
  const int v = st.inputs[k], y = st.outputs[0];
  if (v < 0 || values[v].is_const || producer[v] < 0 || uses[v] != 1 || parent[v] >= 0) return false;
  const Shape &xs = values[v].shape, &ys = values[y].shape;
  if (xs.size() != ys.size() || ys.size() < 2 || xs[0] != ys[0] || c_off + xs[1] > ys[1]) return false;
  if (!std::equal(xs.begin() + 2, xs.end(), ys.begin() + 2)) return false;
  const std::string& op = steps[producer[v]].op;
  return op == "conv" || (ys[0] == 1 && op != "reshape");
}
}  // namespace

MemoryPlan plan_memory(const std::vector<Value>& values, const std::vector<Step>& steps,
                       const std::vector<int>& inputs, const std::vector<int>& outputs) {
  const size_t nv = values.size(), ns = steps.size();
  MemoryPlan mp;
  std::vector<int> producer(nv, -1), uses(nv, 0), parent(nv, -1);
  std::vector<int64_t> offset(nv, 0);  // element offset inside parent
  for (size_t s = 0; s < ns; ++s) {
    for (int v : steps[s].inputs) uses[std::max(v, 0)] += v >= 0;
    for (int v : steps[s].outputs) producer[v] = static_cast<int>(s);
  }
  for (int v : outputs) uses[v] += 2;  // graph outputs are never views
  for (int v : inputs) producer[v] = -1;

  // 1. aliasing
  mp.in_view.resize(ns);
  mp.eliminated.assign(ns, false);
  for (size_t s = 0; s < ns; ++s) {
    const Step& st = steps[s];
    mp.in_view[s].assign(st.inputs.size(), false);
    if (st.op == "reshape" && st.inputs.size() == 1 && st.outputs.size() == 1 && st.inputs[0] >= 0 &&
        numel(values[st.inputs[0]].shape) == numel(values[st.outputs[0]].shape)) {
      parent[st.outputs[0]] = st.inputs[0];
      mp.eliminated[s] = true;
    } else if (st.op == "concat" && st.attrs.int_is("inplace", 1) && st.attrs.int_is("axis", 1)) {
      const Shape& ys = values[st.outputs[0]].shape;
      int64_t c_off = 0;
      bool all = true;
      for (size_t k = 0; k < st.inputs.size(); ++k) {
        const int v = st.inputs[k];
        if (can_view(values, steps, s, k, producer, uses, parent, c_off)) {
          parent[v] = st.outputs[0];
          offset[v] = c_off * numel(ys, 2, ys.size());
          mp.in_view[s][k] = true;
        } else all = false;
        c_off += v >= 0 && values[v].shape.size() > 1 ? values[v].shape[1] : 0;
      }
      mp.eliminated[s] = all;
    }
  }
  mp.root.resize(nv);
  mp.elem_offset.assign(nv, 0);
  for (size_t v = 0; v < nv; ++v) {
    int r = static_cast<int>(v);
    for (; parent[r] >= 0; r = parent[r]) mp.elem_offset[v] += offset[r];
    mp.root[v] = r;
  }

  // 2. lifetimes of arena roots (not constants, not graph inputs)
  std::vector<bool> is_input(nv, false);
  for (int v : inputs) is_input[v] = true;
  std::vector<int> first(nv, std::numeric_limits<int>::max()), last(nv, -1);
  auto touch = [&](int v, int s) {
    if (v < 0) return;
    first[mp.root[v]] = std::min(first[mp.root[v]], s);
    last[mp.root[v]] = std::max(last[mp.root[v]], s);
  };
  for (size_t s = 0; s < ns; ++s) {
    for (int v : steps[s].inputs) touch(v, static_cast<int>(s));
    for (int v : steps[s].outputs) touch(v, static_cast<int>(s));
  }
  for (int v : outputs) touch(v, static_cast<int>(ns));

  // 3. packing
  std::vector<int> roots, f, l;
  std::vector<size_t> bytes;
  for (size_t v = 0; v < nv; ++v) {
    if (!values[v].defined || values[v].is_const) continue;
    mp.naive_bytes += numel(values[v].shape) * sizeof(float);
    if (is_input[v] || mp.root[v] != static_cast<int>(v) || last[v] < 0) continue;
    roots.push_back(static_cast<int>(v));
    bytes.push_back(numel(values[v].shape) * sizeof(float));
    f.push_back(first[v]);
    l.push_back(last[v]);
  }
  std::vector<size_t> offs;
  mp.arena_bytes = pack_buffers(bytes, f, l, offs);
  mp.arena_offset.assign(nv, -1);
  for (size_t i = 0; i < roots.size(); ++i) mp.arena_offset[roots[i]] = static_cast<int64_t>(offs[i]);
  return mp;
}

size_t pack_buffers(const std::vector<size_t>& bytes, const std::vector<int>& first,
                    const std::vector<int>& last, std::vector<size_t>& offsets) {
  // Greedy by size, best fit: largest buffers first; each takes the smallest gap between the
  // already placed buffers whose lifetimes overlap its own, or goes above them all.
  const size_t n = bytes.size();
  std::vector<size_t> order(n), placed;
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return bytes[a] > bytes[b]; });
  offsets.assign(n, 0);
  size_t arena = 0;
  for (size_t b : order) {
    const size_t size = (bytes[b] + kAlign - 1) / kAlign * kAlign;
    std::vector<std::pair<size_t, size_t>> busy;  // [offset, end) of live neighbours
    for (size_t p : placed)
      if (first[p] <= last[b] && first[b] <= last[p])
        busy.emplace_back(offsets[p], offsets[p] + (bytes[p] + kAlign - 1) / kAlign * kAlign);
    std::sort(busy.begin(), busy.end());
    size_t best = SIZE_MAX, best_gap = SIZE_MAX, cursor = 0;
    for (auto [off, end] : busy) {
      const size_t gap = off > cursor ? off - cursor : 0;
      if (gap >= size && gap < best_gap) best = cursor, best_gap = gap;
      cursor = std::max(cursor, end);
    }
    offsets[b] = best != SIZE_MAX ? best : cursor;
    arena = std::max(arena, offsets[b] + size);
    placed.push_back(b);
  }
  return arena;
}

}  // namespace cnnrt
