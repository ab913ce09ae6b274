// SPDX-License-Identifier: MIT
#pragma once
// `aio::condition` is asyncio.Condition: tasks wait, holding a lock, until
// another task notifies them. It uses its own lock or one passed in.
//
//   aio::condition cv;
//   { auto g = co_await cv.scoped(); co_await cv.wait_for([&] { return ready; }); … }
//   { auto g = co_await cv.scoped(); ready = true; cv.notify_all(); }
//
// Not thread-safe: use it from the loop's own thread.

#include <coroutine>
#include <cstddef>
#include <type_traits>

#include "aio/core/lock.hpp"
#include "aio/core/task.hpp"

namespace aio {

/// Like `asyncio.Condition`. Loop thread only.
class condition {
 public:
  /// Like `asyncio.Condition()`: a condition with its own lock.
  condition() noexcept : lock_(&own_) {}
  /// Like `asyncio.Condition(lock)`: shares `l`, which must outlive it.
  explicit condition(aio::lock& l) noexcept : lock_(&l) {}
  condition(const condition&) = delete;
  condition& operator=(const condition&) = delete;

  /// Acquires the underlying lock (see lock::acquire; same cancellation).
  [[nodiscard]] lock::acquire_awaiter acquire() noexcept { return lock_->acquire(); }
  /// Like `async with cond:` (see lock::scoped).
  [[nodiscard]] lock::scoped_awaiter scoped() noexcept { return lock_->scoped(); }
  /// Releases the underlying lock; invalid_state_error if it is not locked.
  void release() { lock_->release(); }
  /// True while the underlying lock is held.
  bool locked() const noexcept { return lock_->locked(); }
  /// The underlying lock.
  aio::lock& get_lock() const noexcept { return *lock_; }

  /// Like `await Condition.wait()`: releases the lock, waits to be notified,
  /// and re-acquires the lock before returning. Throws invalid_state_error if
  /// the lock is not held. Cancellation: the lock is re-acquired before
  /// cancelled_error propagates (as in asyncio), so the caller always holds
  /// it on exit; a notification that had already reached the cancelled
  /// waiter is passed on to the next waiter (a spurious wake-up for it,
  /// which the condition-variable protocol allows), so none is lost.
  task<> wait();

  /// Like `await Condition.wait_for(predicate)`: wait() until `pred()` is
  /// truthy; returns its last value. Needs the lock held, like wait().
  /// Cancellation as wait(): the lock is held when cancelled_error propagates.
  template <class Pred>
  task<std::decay_t<std::invoke_result_t<Pred&>>> wait_for(Pred pred) {
    auto r = pred();
    while (!r) {
      co_await wait();
      r = pred();
    }
    co_return r;
  }

  /// Like `Condition.notify(n)`: wakes up to `n` waiters (FIFO). Throws
  /// invalid_state_error if the lock is not held.
  void notify(std::size_t n = 1);
  /// Like `Condition.notify_all()`. Throws invalid_state_error if the lock is not held.
  void notify_all();
  /// The number of tasks waiting in wait().
  std::size_t waiting() const noexcept { return waiters_.size(); }

 private:
  struct wait_awaiter : detail::wait_node {
    detail::wait_list* list;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) {
      what_ = "condition";
      list->suspend(*this, h);
    }
    void await_resume() const { resume_or_throw(); }
  };
  void wake(std::size_t n) noexcept;
  void require_locked(const char* what) const;

  aio::lock own_;
  aio::lock* lock_;
  detail::wait_list waiters_;
};

}  // namespace aio
