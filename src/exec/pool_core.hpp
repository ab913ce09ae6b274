// SPDX-License-Identifier: MIT
#pragma once
// The state of a thread_pool_executor that its worker threads share. Workers
// hold it by shared_ptr: a worker the destructor had to detach (stuck in a
// job) still finds it alive when its job ends.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "aio/exec/detail/job.hpp"

namespace aio::detail {

class pool_core {
 public:
  pool_core(std::size_t max_workers, std::string name)
      : running_(max_workers, nullptr), max_workers_(max_workers), name_(std::move(name)) {}

  std::mutex mutex_;
  std::condition_variable work_cv_;  // workers wait here for jobs
  std::condition_variable exit_cv_;  // the destructor waits here for workers to end
  job_base* head_ = nullptr;
  job_base* tail_ = nullptr;
  // Jobs not yet taken by a worker. Written under the mutex; the spinning
  // worker reads it without.
  std::atomic<std::size_t> queued_{0};
  std::size_t idle_ = 0;      // workers blocked on work_cv_
  std::size_t notified_ = 0;  // of those, woken for a job and not yet running
  bool spinning_ = false;     // one worker at most polls queued_ before blocking
  std::size_t live_ = 0;      // workers not yet ended
  std::size_t started_ = 0;   // workers ever started
  std::vector<std::thread> threads_;
  std::vector<job_base*>
      running_;  // per worker (index - 1): its job, for the deadline's stop request
  bool shutdown_ = false;
  const std::size_t max_workers_;
  const std::string name_;

  // Growth when stalled (thread_pool_executor::set_growth); extra 0 is off.
  std::chrono::milliseconds grow_after_{0};
  std::size_t grow_extra_ = 0;
  std::uint64_t taken_ = 0;           // jobs workers took, ever: the watcher's sign of progress
  bool watching_ = false;             // the watcher thread runs
  bool watch_idle_ = false;           // it waits for jobs to queue (an enqueue wakes it)
  std::condition_variable watch_cv_;  // the watcher waits here

  /// Starts worker number started_ + 1. Mutex held; throws what std::thread throws.
  void start_worker_locked(const std::shared_ptr<pool_core>& self);
  /// After a push with every thread busy: starts the watcher, or wakes it.
  void saturated_locked(const std::shared_ptr<pool_core>& self) noexcept;
  /// The watcher: while jobs wait and none was taken for grow_after_, starts
  /// one more worker per period, up to max_workers_ + grow_extra_.
  static void watch(std::shared_ptr<pool_core> self) noexcept;

  void push(job_base* j) noexcept {
    j->next_ = nullptr;
    if (tail_)
      tail_->next_ = j;
    else
      head_ = j;
    tail_ = j;
    queued_.store(queued_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  }
  job_base* pop() noexcept {
    job_base* j = head_;
    head_ = j->next_;
    if (!head_) tail_ = nullptr;
    queued_.store(queued_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
    ++taken_;
    return j;
  }
  /// Waits for work: spins briefly if no other worker does (a job submitted
  /// right after the last one then starts without a futex wake-up), else
  /// blocks. Called and returns with the mutex held.
  void wait_for_work(std::unique_lock<std::mutex>& lock) noexcept;
  static void work(std::shared_ptr<pool_core> self, std::size_t index) noexcept;
};

}  // namespace aio::detail
