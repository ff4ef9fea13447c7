// The thread pool: the caller publishes a job under the mutex; workers that see it join it
// (active_) and take chunks of indices from one atomic counter together with the caller. When
// the caller runs out of chunks it closes the job and waits only for the workers that joined,
// so a worker that wakes late (descheduled on a busy machine) costs nothing. Workers and the
// waiting caller spin briefly before sleeping: steps are often 20-100 us apart and a futex
// wake-up costs tens of microseconds; the spin is bounded so idle pools give the cores back.
#include "cnnrt/threadpool.h"

#include <algorithm>
#include <chrono>

namespace cnnrt {

namespace {
// Set while a thread executes a loop body of some pool: nested loops then run inline.
thread_local const ThreadPool* tls_pool = nullptr;
thread_local int tls_tid = 0;

struct InLoop {  // marks the current thread as running a body of `pool` with id `tid`
  const ThreadPool* saved_pool;
  int saved_tid;
  InLoop(const ThreadPool* pool, int tid) : saved_pool(tls_pool), saved_tid(tls_tid) {
    tls_pool = pool;
    tls_tid = tid;
  }
  ~InLoop() {
    tls_pool = saved_pool;
    tls_tid = saved_tid;
  }
};

constexpr auto kSpin = std::chrono::microseconds(100);

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  std::this_thread::yield();
#endif
}

// Spins until done() or kSpin has passed; returns done().
template <class Pred>
bool spin_until(Pred done) {
  const auto end = std::chrono::steady_clock::now() + kSpin;
  for (int i = 1;; ++i) {
    if (done()) return true;
    cpu_relax();
    if (i % 64 == 0 && std::chrono::steady_clock::now() > end) return done();
  }
}
}  // namespace

ThreadPool::ThreadPool(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::thread::hardware_concurrency());
  threads_ = std::max(threads, 1);
  for (int t = 1; t < threads_; ++t) workers_.emplace_back([this, t] { worker(t); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    generation_.fetch_add(1);
  }
  wake_.notify_all();
  for (auto& w : workers_) w.join();
}

void ThreadPool::work(const Job& job, int tid) const {
  InLoop mark(this, tid);
  try {
    for (int64_t i0; (i0 = next_.fetch_add(chunk_)) < n_;)
      for (int64_t i = i0, e = std::min(n_, i0 + chunk_); i < e; ++i) job(i, tid);
  } catch (...) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!error_) error_ = std::current_exception();
    next_.store(n_);  // stop handing out work
  }
}

void ThreadPool::worker(int tid) {
  uint64_t seen = 0;
  for (;;) {
    const bool fresh = spin_until([&] { return generation_.load(std::memory_order_acquire) != seen; });
    const Job* job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (!fresh) {
        ++sleeping_;
        wake_.wait(lock, [&] { return generation_.load() != seen; });
        --sleeping_;
      }
      if (stop_) return;
      seen = generation_.load();
      job = job_;
      if (!job) continue;  // the caller already did all of it
      active_.fetch_add(1);
    }
    work(*job, tid);
    if (active_.fetch_sub(1) == 1) {
      std::lock_guard<std::mutex> lock(mu_);  // pairs with the caller's predicate check
      done_.notify_one();
    }
  }
}

void ThreadPool::for_each(int64_t n, const Job& f) const {
  if (n <= 0) return;
  bool idle = false;
  if (tls_pool == this || workers_.empty() || n == 1 || !busy_.compare_exchange_strong(idle, true)) {
    // Nested (keep the caller's id), single-threaded, or the workers serve another run().
    const int tid = tls_pool == this ? tls_tid : 0;
    InLoop mark(this, tid);
    for (int64_t i = 0; i < n; ++i) f(i, tid);
    return;
  }
  bool wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    job_ = &f;
    n_ = n;
    chunk_ = std::max<int64_t>(1, n / (4 * threads_));
    next_.store(0);
    error_ = nullptr;
    generation_.fetch_add(1);
    wake = sleeping_ > 0;
  }
  if (wake) wake_.notify_all();
  work(f, 0);
  std::exception_ptr err;
  {
    std::unique_lock<std::mutex> lock(mu_);
    job_ = nullptr;  // late workers skip this job
  }
  if (!spin_until([&] { return active_.load() == 0; })) {
    std::unique_lock<std::mutex> lock(mu_);
    done_.wait(lock, [&] { return active_.load() == 0; });
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    err = error_;
  }
  busy_.store(false);
  if (err) std::rethrow_exception(err);
}

}  // namespace cnnrt
