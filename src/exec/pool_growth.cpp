// SPDX-License-Identifier: MIT
// A pool that grows when its jobs stop moving: every thread is busy, jobs
// wait, and no worker took one for a while. Jobs that block on each other (a
// FIFO read waiting for the open of its writer, queued behind it) would
// otherwise wait for ever; so would everything queued behind them.

#include <pthread.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "aio/core/detail/signal_free_thread.hpp"
#include "aio/exec/thread_pool_executor.hpp"
#include "pool_core.hpp"

namespace aio {

namespace detail {

void pool_core::start_worker_locked(const std::shared_ptr<pool_core>& self) {
  threads_.reserve(threads_.size() + 1);  // a push_back that threw would drop a joinable thread
  threads_.push_back(signal_free_thread(&pool_core::work, self, started_ + 1));
  ++started_;
  ++live_;
}

void pool_core::saturated_locked(const std::shared_ptr<pool_core>& self) noexcept {
  if (watching_) {
    if (watch_idle_) watch_cv_.notify_one();  // it waits for the queue to fill
    return;
  }
  try {
    threads_.reserve(threads_.size() + 1);
    threads_.push_back(signal_free_thread(&pool_core::watch, self));
    watching_ = true;
    ++live_;
  } catch (...) {
    // No thread for the watcher: the pool stays at its size, as without growth.
  }
}

void pool_core::watch(std::shared_ptr<pool_core> self) noexcept {
  std::string thread_name = self->name_.substr(0, 12) + "-gw";  // the kernel's limit is 15
  ::pthread_setname_np(::pthread_self(), thread_name.c_str());
  using clock = std::chrono::steady_clock;
  std::unique_lock lock(self->mutex_);
  std::uint64_t seen = self->taken_;
  auto since = clock::now();
  while (!self->shutdown_) {
    if (!self->head_ || self->grow_extra_ == 0) {  // nothing waits: sleep until something does
      self->watch_idle_ = true;
      self->watch_cv_.wait(lock);
      self->watch_idle_ = false;
      seen = self->taken_;
      since = clock::now();
      continue;
    }
    if (self->taken_ != seen) {  // moving: measure from the last job taken
      seen = self->taken_;
      since = clock::now();
    }
    const auto until = since + self->grow_after_;
    if (clock::now() < until) {
      self->watch_cv_.wait_until(lock, until);
      continue;
    }
    if (self->idle_ == 0 && self->started_ < self->max_workers_ + self->grow_extra_) {
      try {
        self->start_worker_locked(self);
      } catch (...) {
        // No thread now: try again next period.
      }
    }
    since = clock::now();  // one more thread per period at most
  }
  self->watching_ = false;
  --self->live_;
  self->exit_cv_.notify_all();
}

}  // namespace detail

void thread_pool_executor::set_growth(growth g) {
  auto& c = *core_;
  if (g.extra_threads > 0 && g.after <= std::chrono::milliseconds::zero())
    throw std::invalid_argument("thread_pool_executor '" + c.name_ + "': growth.after must be > 0");
  if (g.extra_threads > max_extra_threads)
    throw std::invalid_argument("thread_pool_executor '" + c.name_ + "': growth.extra_threads " +
                                std::to_string(g.extra_threads) + " is above " +
                                std::to_string(max_extra_threads));
  {
    std::lock_guard lock(c.mutex_);
    // The slots first: a worker started past them would index out of range.
    c.running_.resize(std::max(c.running_.size(), c.max_workers_ + g.extra_threads), nullptr);
    c.grow_after_ = g.after;
    c.grow_extra_ = g.extra_threads;
  }
  c.watch_cv_.notify_all();  // a changed period applies at once
}

thread_pool_executor::growth thread_pool_executor::get_growth() const {
  std::lock_guard lock(core_->mutex_);
  return {core_->grow_after_, core_->grow_extra_};
}

}  // namespace aio
