// SPDX-License-Identifier: MIT
#include "aio/exec/thread_pool_executor.hpp"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <system_error>

#include "aio/core/detail/signal_free_thread.hpp"
#include "pool_core.hpp"

namespace aio {

namespace detail {

namespace {
// The pool this thread works for: shutdown(wait=true) from one of its own
// threads would wait for itself. (The threads_ list cannot tell: a
// concurrent shutdown may have taken it already.)
thread_local const pool_core* own_pool = nullptr;
}  // namespace

void pool_core::work(std::shared_ptr<pool_core> self, std::size_t index) noexcept {
  own_pool = self.get();
  std::string thread_name = self->name_ + "-" + std::to_string(index);
  thread_name.resize(std::min<std::size_t>(thread_name.size(), 15));  // the kernel's limit
  ::pthread_setname_np(::pthread_self(), thread_name.c_str());

  std::unique_lock lock(self->mutex_);
  for (;;) {
    while (!self->head_ && !self->shutdown_) self->wait_for_work(lock);
    if (!self->head_) break;  // shut down and nothing left
    job_base* j = self->pop();
    self->running_[index - 1] = j;
    lock.unlock();
    j->execute();
    lock.lock();
    self->running_[index - 1] = nullptr;
    lock.unlock();
    j->release();  // the queue's; may run the result's destructor: not under the mutex
    lock.lock();
  }
  --self->live_;
  self->exit_cv_.notify_all();
}

void pool_core::wait_for_work(std::unique_lock<std::mutex>& lock) noexcept {
  if (!spinning_) {
    // Bounded: 50 µs, only one spinner per pool, so a burst of trivial jobs
    // (to_thread in a loop) avoids two context switches per job, and an idle
    // pool costs nothing after the first 50 µs.
    spinning_ = true;
    lock.unlock();
    auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(50);
    for (unsigned i = 1;; ++i) {
      if (queued_.load(std::memory_order_acquire) != 0) break;
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
      if (i % 16 == 0) {
        if (std::chrono::steady_clock::now() >= until) break;
        ::sched_yield();  // the loop thread may be waiting for this CPU
      }
    }
    lock.lock();
    spinning_ = false;
    if (head_ || shutdown_) return;
  }
  ++idle_;
  work_cv_.wait(lock);
  --idle_;
  if (notified_ > 0) --notified_;
}

}  // namespace detail

namespace {
std::size_t default_workers() {
  std::size_t cores = std::max(1u, std::thread::hardware_concurrency());
  return std::min<std::size_t>(32, cores + 4);
}
}  // namespace

thread_pool_executor::thread_pool_executor(std::size_t max_workers, std::string name,
                                           std::chrono::milliseconds destructor_deadline)
    : core_(std::make_shared<detail::pool_core>(max_workers ? max_workers : default_workers(),
                                                std::move(name))),
      deadline_(destructor_deadline) {
  if (core_->name_.empty()) throw std::invalid_argument("thread_pool_executor: empty name");
}

thread_pool_executor::~thread_pool_executor() {
  auto& c = *core_;
  std::vector<std::thread> threads;
  {
    std::unique_lock lock(c.mutex_);
    c.shutdown_ = true;
    c.work_cv_.notify_all();
    c.watch_cv_.notify_all();
    bool ended = c.exit_cv_.wait_for(lock, deadline_, [&] { return c.live_ == 0; });
    threads.swap(c.threads_);
    if (!ended) {
      // Nothing more starts after the destructor returned; the running jobs
      // are asked to stop (those that take a stop_token) and left to finish.
      detail::job_base* queued = c.head_;
      c.head_ = c.tail_ = nullptr;
      std::size_t dropped = c.queued_.exchange(0);
      std::size_t busy = c.live_;
      for (detail::job_base* j : c.running_)
        if (j) j->request_stop();
      lock.unlock();
      while (queued) {
        detail::job_base* j = queued;
        queued = j->next_;
        j->drop(true);
        j->release();
      }
      std::fprintf(
          stderr,
          "aio: thread_pool_executor '%s' destroyed with %zu thread(s) still busy after %lld ms; "
          "requested a stop, dropped %zu queued job(s), detaching the busy threads\n",
          c.name_.c_str(), busy, static_cast<long long>(deadline_.count()), dropped);
      for (auto& t : threads) t.detach();
      return;
    }
  }
  for (auto& t : threads) {
    if (t.get_id() == std::this_thread::get_id())
      t.detach();
    else
      t.join();
  }
}

void thread_pool_executor::enqueue(detail::job_base* j) {
  auto& c = *core_;
  bool notify = false;
  {
    std::lock_guard lock(c.mutex_);
    if (c.shutdown_)
      throw invalid_state_error("thread_pool_executor '" + c.name_ + "': submit after shutdown");
    j->add_ref();  // the queue's
    c.push(j);
    std::size_t queued = c.queued_.load(std::memory_order_relaxed);
    std::size_t coming = c.notified_ + (c.spinning_ ? 1 : 0);  // will take a job soon
    const bool all_busy = queued > c.idle_ + (c.spinning_ ? 1 : 0);
    if (all_busy && c.started_ >= c.max_workers_ && c.grow_extra_ > 0) c.saturated_locked(core_);
    if (all_busy && c.started_ < c.max_workers_) {
      try {
        c.start_worker_locked(core_);
      } catch (...) {
        if (c.started_ == 0) {  // nobody would ever run it
          c.head_ = c.tail_ = nullptr;
          c.queued_.store(0);
          j->release();
          throw;
        }
      }
    }
    if (queued > coming && c.idle_ > c.notified_) {
      ++c.notified_;
      notify = true;
    }
  }
  if (notify) c.work_cv_.notify_one();
}

void thread_pool_executor::shutdown(bool wait, bool cancel_futures) {
  auto& c = *core_;
  detail::job_base* cancelled = nullptr;
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(c.mutex_);
    if (wait && detail::own_pool == &c)
      throw invalid_state_error("thread_pool_executor '" + c.name_ +
                                "': shutdown(wait=true) called from one of its own threads");
    c.shutdown_ = true;
    if (cancel_futures) {
      cancelled = c.head_;
      c.head_ = c.tail_ = nullptr;
      c.queued_.store(0);
    }
    if (wait) threads.swap(c.threads_);
  }
  c.work_cv_.notify_all();
  c.watch_cv_.notify_all();
  while (cancelled) {
    detail::job_base* j = cancelled;
    cancelled = j->next_;
    j->drop(true);
    j->release();  // the queue's
  }
  for (auto& t : threads) t.join();
  if (wait) {  // another shutdown(wait) may have taken some threads to join: wait for them too
    std::unique_lock lock(c.mutex_);
    c.exit_cv_.wait(lock, [&] { return c.live_ == 0; });
  }
}

const std::string& thread_pool_executor::name() const noexcept { return core_->name_; }
std::size_t thread_pool_executor::max_workers() const noexcept { return core_->max_workers_; }
std::size_t thread_pool_executor::thread_count() const noexcept {
  std::lock_guard lock(core_->mutex_);
  return core_->started_;
}

}  // namespace aio
