// A fixed set of worker threads plus the calling thread, implementing cnnrt::Parallel.
// One for_each at a time owns the workers; a concurrent call from another run() (pool busy)
// runs its loop inline on its own thread with thread id 0, which is safe because each run has
// its own scratch; a nested call from inside a loop body runs inline with the caller's id.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "cpu/kernel_api.h"

namespace cnnrt {

class ThreadPool final : public Parallel {
 public:
  explicit ThreadPool(int threads);  // threads <= 0: std::thread::hardware_concurrency()
  ~ThreadPool() override;
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int threads() const override { return threads_; }
  void for_each(int64_t n, const std::function<void(int64_t, int)>& f) const override;

 private:
  using Job = std::function<void(int64_t, int)>;
  void worker(int tid);
  void work(const Job& job, int tid) const;  // takes chunks of the current job until none are left

  int threads_;
  std::vector<std::thread> workers_;
  mutable std::atomic<bool> busy_{false};
  mutable std::mutex mu_;
  mutable std::condition_variable wake_, done_;
  mutable std::atomic<uint64_t> generation_{0};  // bumped (under mu_) for each new job
  mutable const Job* job_ = nullptr;  // under mu_; nullptr once the caller ran out of chunks
  mutable int sleeping_ = 0;          // under mu_: workers waiting on wake_
  mutable std::atomic<int> active_{0};  // workers that joined the current job and are in it
  mutable int64_t n_ = 0, chunk_ = 1;
  mutable std::atomic<int64_t> next_{0};
  mutable std::exception_ptr error_;
  bool stop_ = false;  // under mu_
};

}  // namespace cnnrt
