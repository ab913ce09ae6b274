// SPDX-License-Identifier: MIT
#pragma once
// `aio::event` is asyncio.Event: a flag tasks can wait for. set() wakes every
// waiter; wait() on a set event returns at once.
//
//   aio::event ready;
//   … co_await ready.wait(); …        // elsewhere: ready.set();
//
// Not thread-safe: use it from the loop's own thread (other threads go
// through loop.call_soon_threadsafe).

#include <coroutine>

#include "aio/core/detail/wait_list.hpp"

namespace aio {

/// Like `asyncio.Event`. Loop thread only.
class event {
 public:
  /// Like `asyncio.Event()`: initially not set.
  event() noexcept = default;
  event(const event&) = delete;
  event& operator=(const event&) = delete;

  /// The awaiter of wait(). Its state lives in the awaiting frame.
  struct wait_awaiter : detail::wait_node {
    event* e;
    explicit wait_awaiter(event& ev) noexcept : e(&ev) {}
    bool await_ready() const noexcept { return e->set_; }
    void await_suspend(std::coroutine_handle<> h) {
      what_ = "event";
      e->waiters_.suspend(*this, h);
    }
    void await_resume() const { resume_or_throw(); }
  };

  /// Like `await Event.wait()`: returns once the event is set; does not suspend
  /// if it already is. A waiter woken by set() returns normally even if the
  /// event is cleared before it runs. Cancel-safe: a cancelled waiter leaves
  /// the queue and throws cancelled_error; nothing else is affected.
  [[nodiscard]] wait_awaiter wait() noexcept { return wait_awaiter(*this); }
  /// Like `Event.set()`: sets the flag and wakes every waiter (in FIFO order).
  void set() noexcept {
    set_ = true;
    while (waiters_.wake_front()) {
    }
  }
  /// Like `Event.clear()`: later wait() calls suspend until the next set().
  void clear() noexcept { set_ = false; }
  /// Like `Event.is_set()`.
  bool is_set() const noexcept { return set_; }
  /// The number of tasks waiting in wait().
  std::size_t waiting() const noexcept { return waiters_.size(); }

 private:
  detail::wait_list waiters_;
  bool set_ = false;
};

}  // namespace aio
