// Unit tests of the engine's own machinery, below the Python API: the arena packer (buffers
// with overlapping lifetimes never overlap; best fit reuses the tightest hole), and the thread
// pool (every index exactly once, thread ids in range, nested loops, concurrent callers,
// exceptions). Exit code 0 = all passed.
//
//   test_engine [--seed N]
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

#include "cnnrt/memory.h"
#include "cnnrt/threadpool.h"

#include "check.h"

using namespace cnnrt;

namespace {
using cnnrt_test::failures;

void test_pack_random(std::mt19937& rng) {
  for (int trial = 0; trial < 200; ++trial) {
    const int n = 1 + int(rng() % 40), steps = 1 + int(rng() % 30);
    std::vector<size_t> bytes(n);
    std::vector<int> first(n), last(n);
    for (int i = 0; i < n; ++i) {
      bytes[i] = 1 + rng() % 5000;
      first[i] = int(rng() % steps);
      last[i] = first[i] + int(rng() % (steps - first[i]));
    }
    std::vector<size_t> off;
    const size_t arena = pack_buffers(bytes, first, last, off);
    size_t peak = 0;  // the largest sum of live sizes at one step: a lower bound for the arena
    for (int s = 0; s < steps; ++s) {
      size_t live = 0;
      for (int i = 0; i < n; ++i) live += first[i] <= s && s <= last[i] ? bytes[i] : 0;
      peak = std::max(peak, live);
    }
    CHECK(arena >= peak);
    for (int i = 0; i < n; ++i) {
      CHECK(off[i] % 64 == 0);
      CHECK(off[i] + bytes[i] <= arena);
      for (int j = i + 1; j < n; ++j) {
        const bool live_together = first[i] <= last[j] && first[j] <= last[i];
        const bool disjoint = off[i] + bytes[i] <= off[j] || off[j] + bytes[j] <= off[i];
        CHECK(!live_together || disjoint);
      }
    }
  }
}

void test_pack_best_fit() {
  // A, C live over steps 0..1; B, D over 0..3 -> at steps 2..3 the free holes are A's
  // [0, 1024) and C's [2048, 2816); E (256 B, steps 2..3) takes the tighter one, C's.
  std::vector<size_t> off;
  const size_t arena =
      pack_buffers({1024, 1024, 768, 512, 256}, {0, 0, 0, 0, 2}, {1, 3, 1, 3, 3}, off);
  CHECK(off[0] == 0 && off[1] == 1024 && off[2] == 2048 && off[3] == 2816);
  CHECK(off[4] == 2048);
  CHECK(arena == 3328);
  CHECK(pack_buffers({100, 100, 100}, {0, 1, 2}, {0, 1, 2}, off) == 128);  // a chain reuses one slot
}

void test_pool(int threads) {
  ThreadPool pool(threads);
  CHECK(pool.threads() == threads);
  for (int64_t n : {0, 1, 2, 7, 1000, 100000}) {
    std::vector<std::atomic<int>> hits(n);
    std::atomic<bool> bad_tid{false};
    pool.for_each(n, [&](int64_t i, int tid) {
      hits[i].fetch_add(1);
      if (tid < 0 || tid >= threads) bad_tid = true;
    });
    for (auto& h : hits) CHECK(h.load() == 1);
    CHECK(!bad_tid);
  }
  // Nested: the inner loop runs inline on the outer body's thread, with its id.
  std::atomic<int64_t> sum{0};
  std::atomic<bool> wrong{false};
  pool.for_each(8, [&](int64_t, int tid) {
    pool.for_each(100, [&](int64_t j, int inner) {
      sum += j;
      if (inner != tid) wrong = true;
    });
  });
  CHECK(sum == 8 * 4950 && !wrong);
  // Several callers at once: each call still sees every index exactly once.
  std::vector<std::thread> callers;
  std::atomic<int> ok{0};
  for (int c = 0; c < 6; ++c)
    callers.emplace_back([&] {
      for (int rep = 0; rep < 50; ++rep) {
        std::atomic<int64_t> s{0};
        pool.for_each(1000, [&](int64_t i, int) { s += i; });
        if (s == 499500) ++ok;
      }
    });
  for (auto& t : callers) t.join();
  CHECK(ok == 300);
  // An exception in a body reaches the caller, and the pool keeps working.
  bool caught = false;
  try {
    pool.for_each(100, [](int64_t i, int) {
      if (i == 57) throw std::runtime_error("boom");
    });
  } catch (const std::runtime_error&) {
    caught = true;
  }
  CHECK(caught);
  std::atomic<int> after{0};
  pool.for_each(10, [&](int64_t, int) { ++after; });
  CHECK(after == 10);
}
}  // namespace

int main(int argc, char** argv) {
  uint32_t seed = std::random_device{}();
  for (int i = 1; i < argc; ++i)
    if (!std::strcmp(argv[i], "--seed") && i + 1 < argc) seed = uint32_t(std::atoi(argv[++i]));
  std::printf("test_engine: seed %u\n", seed);
  std::mt19937 rng(seed);
  test_pack_random(rng);
  test_pack_best_fit();
  for (int t : {1, 2, 3, 5}) test_pool(t);
  CHECK(ThreadPool(0).threads() == int(std::max(1u, std::thread::hardware_concurrency())));
  std::printf("%s (%d failures)\n", failures ? "FAILED" : "all passed", failures);
  return failures ? 1 : 0;
}
