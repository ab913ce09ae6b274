// SPDX-License-Identifier: MIT
#pragma once
// The state of a process_pool_executor shared by the threads that submit and
// its supervisor thread, which alone touches the workers (process_supervisor.cpp).

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "aio/exec/process_pool_executor.hpp"

namespace aio::detail {

class process_pool_core {
 public:
  explicit process_pool_core(const process_pool_options& options);
  ~process_pool_core();
  process_pool_core(const process_pool_core&) = delete;

  /// Wakes the supervisor (any thread).
  void wake() noexcept;
  /// The supervisor thread's body.
  void supervise() noexcept;

  const process_pool_options options_;
  const std::size_t max_workers_;

  std::mutex mutex_;
  std::condition_variable finished_cv_;
  remote_call* head_ = nullptr;  // jobs no worker took yet
  remote_call* tail_ = nullptr;
  bool shutdown_ = false;
  bool kill_all_ = false;   // the shutdown deadline passed: kill every worker
  bool finished_ = false;   // the supervisor ended: every worker reaped
  std::string broken_;      // why nothing can run any more (the fork server died)
  std::vector<pid_t> pids_; // live workers
  std::thread thread_;
  std::atomic<std::size_t> started_{0};

  // The supervisor is (about to be) blocked in poll: a submit must write the
  // eventfd. While it runs, jobs are picked up without that system call.
  std::atomic<bool> sleeping_{false};
  int wake_fd_ = -1;  // eventfd
  int server_ = -1;   // the connection to the fork server (the supervisor's)

  void push(remote_call* c) noexcept {
    c->next = nullptr;
    if (tail_)
      tail_->next = c;
    else
      head_ = c;
    tail_ = c;
  }
  remote_call* pop() noexcept {
    remote_call* c = head_;
    if (c) {
      head_ = c->next;
      if (!head_) tail_ = nullptr;
    }
    return c;
  }
};

}  // namespace aio::detail
