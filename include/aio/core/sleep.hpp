// SPDX-License-Identifier: MIT
#pragma once
// sleep suspends the calling task; the loop runs others meanwhile. Never call
// std::this_thread::sleep_for in a coroutine: it stalls every task.
//
//   co_await aio::sleep(100ms);
//   co_await aio::sleep(0s);   // yield to the other ready tasks

#include <chrono>

#include "aio/core/detail/promise.hpp"

namespace aio {

namespace detail {

/// Sleep state lives in the awaiting frame: a timer node and a cancel hook.
/// Kept small on purpose: it is most of a sleeping task's memory.
struct sleep_awaiter : waiter, timer_node {  // this order lets the flags sit in timer_node's tail padding
  bool yield_only;
  bool aborted = false;
  promise_base* task = nullptr;

  sleep_awaiter(event_loop::time_point when, bool yield) noexcept : yield_only(yield) {
    // The deadline waits in tick_ until add_timer turns it into a wheel tick.
    tick_ = static_cast<std::uint64_t>(when.time_since_epoch().count());
    fire_ = [](timer_node* t) noexcept { wake(*static_cast<sleep_awaiter*>(t)->task); };
    cancel_ = [](waiter* w) noexcept {
      auto* s = static_cast<sleep_awaiter*>(w);
      s->aborted = true;
      if (s->yield_only) return;  // already in the ready queue
      s->task->loop_->cancel_timer(*s);
      wake(*s->task);
    };
  }
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    task = &enter_wait();
    if (yield_only) task->loop_->schedule(*task);
    else task->loop_->add_timer(*this, event_loop::time_point(event_loop::duration(static_cast<event_loop::duration::rep>(tick_))));
    task->suspend(h, this);
  }
  void await_resume() {
    if (aborted) task->throw_cancelled();
  }
};

}  // namespace detail

/// Like `asyncio.sleep(d)`. `sleep(0s)` (or less) yields once to the other
/// ready tasks. Timers have 1 ms resolution and never fire early.
/// Cancel-safe: cancellation removes the timer and throws cancelled_error.
template <class Rep, class Period>
detail::sleep_awaiter sleep(std::chrono::duration<Rep, Period> d) {
  event_loop& loop = get_running_loop();
  if (d <= d.zero()) return detail::sleep_awaiter(loop.time(), true);
  return detail::sleep_awaiter(loop.time() + std::chrono::ceil<event_loop::duration>(d), false);
}

/// Sleeps until the loop's clock reaches `when`. Cancel-safe like sleep.
inline detail::sleep_awaiter sleep_until(event_loop::time_point when) {
  event_loop& loop = get_running_loop();
  return detail::sleep_awaiter(when, when <= loop.time());
}

}  // namespace aio
