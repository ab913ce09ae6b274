// SPDX-License-Identifier: MIT
#pragma once
// `aio::semaphore` is asyncio.Semaphore: a counter of permits for tasks of one
// loop; `aio::bounded_semaphore` is asyncio.BoundedSemaphore, which refuses
// to be released above its initial value. Both are fair (FIFO, no barging):
// release() hands its permit straight to the first waiter.
//
//   aio::semaphore slots(10);
//   auto g = co_await slots.scoped();   // async with slots:
//
// Not thread-safe: use it from the loop's own thread.

#include <coroutine>
#include <cstddef>

#include "aio/core/detail/sync_guard.hpp"
#include "aio/core/detail/wait_list.hpp"

namespace aio {

/// Like `asyncio.Semaphore`: fair, cancel-safe. Loop thread only.
class semaphore {
 public:
  /// RAII holder returned by scoped(); releases its permit when destroyed.
  using guard = detail::sync_guard<semaphore>;

  /// Like `asyncio.Semaphore(value)`. Throws std::invalid_argument if value < 0.
  explicit semaphore(std::ptrdiff_t value = 1);
  semaphore(const semaphore&) = delete;
  semaphore& operator=(const semaphore&) = delete;

  /// The awaiter of acquire(). Its state lives in the awaiting frame.
  struct acquire_awaiter : detail::wait_node {
    semaphore* s;
    explicit acquire_awaiter(semaphore& m) noexcept : s(&m) {}
    bool await_ready() const noexcept { return s->try_acquire(); }
    void await_suspend(std::coroutine_handle<> h) {
      what_ = "semaphore";
      s->waiters_.suspend(*this, h);
    }
    void await_resume() const { resume_or_throw(); }
  };
  /// The awaiter of scoped(): acquire(), then a guard.
  struct scoped_awaiter : acquire_awaiter {
    using acquire_awaiter::acquire_awaiter;
    guard await_resume() const {
      resume_or_throw();
      return guard(*s);
    }
  };

  /// Like `await Semaphore.acquire()`: takes a permit, waiting in FIFO order
  /// when none is free or others already wait. Does not suspend otherwise.
  /// Cancel-safe: a waiter cancelled while queued leaves without a permit; a
  /// waiter already handed a permit keeps it (the cancel lands at its next
  /// suspension point). No permit is ever leaked.
  [[nodiscard]] acquire_awaiter acquire() noexcept { return acquire_awaiter(*this); }
  /// Like `async with sem:`: acquire(), returning a guard that releases the
  /// permit when it goes out of scope. Cancellation as acquire().
  [[nodiscard]] scoped_awaiter scoped() noexcept { return scoped_awaiter(*this); }
  /// Takes a permit if one is free and nobody waits; never suspends.
  bool try_acquire() noexcept {
    if (value_ == 0 || !waiters_.empty()) return false;
    --value_;
    return true;
  }
  /// Like `Semaphore.release()`: hands a permit to the first waiter, or adds
  /// one. On a bounded_semaphore, throws invalid_state_error if that would
  /// raise the value above the initial one.
  void release() {
    if (waiters_.empty()) {
      if (value_ >= bound_) [[unlikely]]
        throw_too_many();
      ++value_;
    } else {
      waiters_.wake_front();
    }
  }
  /// Like `Semaphore.locked()`: true when acquire() would suspend.
  bool locked() const noexcept { return value_ == 0 || !waiters_.empty(); }
  /// The number of free permits (asyncio's `_value`).
  std::ptrdiff_t value() const noexcept { return value_; }
  /// The number of tasks waiting in acquire().
  std::size_t waiting() const noexcept { return waiters_.size(); }

 protected:
  /// A semaphore whose value may not exceed `bound` (bounded_semaphore).
  semaphore(std::ptrdiff_t value, std::ptrdiff_t bound);

 private:
  [[noreturn]] void throw_too_many() const;

  detail::wait_list waiters_;
  std::ptrdiff_t value_;
  std::ptrdiff_t bound_;
};

/// Like `asyncio.BoundedSemaphore`: a semaphore whose release() throws
/// invalid_state_error (asyncio's ValueError) when it would raise the value
/// above the initial one. Everything else is as semaphore.
class bounded_semaphore : public semaphore {
 public:
  /// Like `asyncio.BoundedSemaphore(value)`. Throws std::invalid_argument if value < 0.
  explicit bounded_semaphore(std::ptrdiff_t value = 1) : semaphore(value, value) {}
};

}  // namespace aio
