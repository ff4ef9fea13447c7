// The thread pool: workers sleep on a condition variable until a job is published, then all
// participants (workers + the caller) take chunks of indices from one atomic counter.
#include "cnnrt/threadpool.h"

#include <algorithm>

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
  }
  wake_.notify_all();
  for (auto& w : workers_) w.join();
}

void ThreadPool::work(int tid) const {
  InLoop mark(this, tid);
  try {
    for (int64_t i0; (i0 = next_.fetch_add(chunk_)) < n_;)
      for (int64_t i = i0, e = std::min(n_, i0 + chunk_); i < e; ++i) (*job_)(i, tid);
  } catch (...) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!error_) error_ = std::current_exception();
    next_.store(n_);  // stop handing out work
  }
}

void ThreadPool::worker(int tid) {
  uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
    }
    work(tid);
    std::lock_guard<std::mutex> lock(mu_);
    if (--pending_ == 0) done_.notify_one();
  }
}

void ThreadPool::for_each(int64_t n, const std::function<void(int64_t, int)>& f) const {
  if (n <= 0) return;
  bool idle = false;
  if (tls_pool == this || workers_.empty() || n == 1 || !busy_.compare_exchange_strong(idle, true)) {
    // Nested (keep the caller's id), single-threaded, or the workers serve another run().
    const int tid = tls_pool == this ? tls_tid : 0;
    InLoop mark(this, tid);
    for (int64_t i = 0; i < n; ++i) f(i, tid);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    job_ = &f;
    n_ = n;
    chunk_ = std::max<int64_t>(1, n / (4 * threads_));
    next_.store(0);
    error_ = nullptr;
    pending_ = static_cast<int>(workers_.size());
    ++generation_;
  }
  wake_.notify_all();
  work(0);
  std::exception_ptr err;
  {
    std::unique_lock<std::mutex> lock(mu_);
    done_.wait(lock, [&] { return pending_ == 0; });
    job_ = nullptr;
    err = error_;
  }
  busy_.store(false);
  if (err) std::rethrow_exception(err);
}

}  // namespace cnnrt
