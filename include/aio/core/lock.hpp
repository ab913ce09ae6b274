// SPDX-License-Identifier: MIT
#pragma once
// `aio::lock` is asyncio.Lock: a mutex for tasks of one loop. It is fair
// (FIFO, no barging): release() hands the lock straight to the first waiter,
// and an acquire() issued while others wait queues behind them.
//
//   aio::lock l;
//   {
//     auto g = co_await l.scoped();   // async with l:
//     …
//   }                                 // released here
//
// Not thread-safe: a lock belongs to the loop of the tasks that use it.

#include <coroutine>

#include "aio/core/detail/sync_guard.hpp"
#include "aio/core/detail/wait_list.hpp"

namespace aio {

/// Like `asyncio.Lock`: fair, cancel-safe, not reentrant. Loop thread only.
class lock {
 public:
  /// RAII holder returned by scoped(); releases the lock when destroyed.
  using guard = detail::sync_guard<lock>;

  /// Like `asyncio.Lock()`: an unlocked lock.
  lock() noexcept = default;
  lock(const lock&) = delete;
  lock& operator=(const lock&) = delete;

  /// The awaiter of acquire(). Its state lives in the awaiting frame.
  struct acquire_awaiter : detail::wait_node {
    lock* l;
    explicit acquire_awaiter(lock& m) noexcept : l(&m) {}
    bool await_ready() const noexcept { return l->try_acquire(); }
    void await_suspend(std::coroutine_handle<> h) {
      what_ = "lock";
      l->waiters_.suspend(*this, h);
    }
    void await_resume() const { resume_or_throw(); }
  };
  /// The awaiter of scoped(): acquire(), then a guard.
  struct scoped_awaiter : acquire_awaiter {
    using acquire_awaiter::acquire_awaiter;
    guard await_resume() const {
      resume_or_throw();
      return guard(*l);
    }
  };

  /// Like `await Lock.acquire()`: takes the lock, waiting in FIFO order if it
  /// is held or others already wait. Does not suspend when the lock is free.
  /// Cancel-safe: a waiter cancelled while queued leaves the queue and throws
  /// cancelled_error without the lock; a waiter the lock was already handed to
  /// keeps it (the cancel lands at its next suspension point), so the lock
  /// is never leaked.
  [[nodiscard]] acquire_awaiter acquire() noexcept { return acquire_awaiter(*this); }
  /// Like `async with lock:`: acquire(), returning a guard that releases the
  /// lock when it goes out of scope. Cancellation as acquire().
  [[nodiscard]] scoped_awaiter scoped() noexcept { return scoped_awaiter(*this); }
  /// Takes the lock if it is free and nobody waits; never suspends.
  bool try_acquire() noexcept {
    if (locked_ || !waiters_.empty()) return false;
    locked_ = true;
    return true;
  }
  /// Like `Lock.release()`: hands the lock to the first waiter, or unlocks it.
  /// Throws invalid_state_error if the lock is not locked (asyncio's RuntimeError).
  void release() {
    if (!locked_) [[unlikely]]
      throw_not_locked();
    if (waiters_.wake_front() == nullptr) locked_ = false;
  }
  /// Like `Lock.locked()`: true while some task holds the lock.
  bool locked() const noexcept { return locked_; }
  /// The number of tasks waiting in acquire().
  std::size_t waiting() const noexcept { return waiters_.size(); }

 private:
  [[noreturn]] static void throw_not_locked();

  detail::wait_list waiters_;
  bool locked_ = false;
};

}  // namespace aio
