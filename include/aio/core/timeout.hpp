// SPDX-License-Identifier: MIT
#pragma once
// Deadlines, with asyncio 3.11 semantics: a timeout scope cancels its task
// when the deadline passes and turns *that* cancellation into timeout_error.
// Scopes nest; an outer cancellation is never swallowed (the task's cancel
// count decides whose cancellation it was, as asyncio's uncancel() does).
//
//   auto r = co_await aio::wait_for(fetch(), 2s);          // asyncio.wait_for
//   co_await aio::timeout(2s).run(fetch());                 // async with asyncio.timeout(2)
//   auto cm = aio::timeout(2s);                             // a scope to look at or reschedule
//   co_await cm.run(work(cm));  if (cm.expired()) …

#include <chrono>
#include <optional>

#include "aio/core/detail/awaitable.hpp"
#include "aio/core/task.hpp"

namespace aio {

/// Like `asyncio.Timeout`. Not copyable or movable: `run` refers to it, so it
/// must outlive the awaited run (a temporary in the same expression does).
class timeout_scope {
 public:
  using time_point = event_loop::time_point;
  explicit timeout_scope(std::optional<time_point> when) noexcept : when_(when) {}
  timeout_scope(const timeout_scope&) = delete;
  timeout_scope& operator=(const timeout_scope&) = delete;
  ~timeout_scope() { disarm(); }

  /// The deadline, or nullopt for none.
  std::optional<time_point> when() const noexcept { return when_; }
  /// Moves the deadline (nullopt: none). Allowed before and inside run().
  void reschedule(std::optional<time_point> when);
  /// True once the deadline passed while running (even if the body then finished).
  bool expired() const noexcept { return state_ == state::expiring || state_ == state::expired; }

  /// Awaits `aw` under this deadline in the current task. Throws timeout_error
  /// if the deadline cancelled it; rethrows anything else, cancelled_error
  /// from elsewhere included. A scope runs once (invalid_state_error after).
  template <class A>
  task<detail::await_result_t<A>> run(A aw) {
    enter();
    try {
      if constexpr (std::is_void_v<detail::await_result_t<A>>) {
        co_await std::move(aw);
        exit(false);
      } else {
        auto r = co_await std::move(aw);
        exit(false);
        co_return r;
      }
    } catch (const cancelled_error&) {
      if (exit(true)) throw timeout_error();
      throw;
    } catch (...) {
      exit(false);
      throw;
    }
  }

 private:
  enum class state { created, entered, expiring, expired, exited };
  struct timer : detail::timer_node {
    timeout_scope* scope;
  };
  void enter();
  /// Leaves the scope; true when a cancellation leaving it is this scope's own.
  bool exit(bool cancelled) noexcept;
  void arm();
  void disarm() noexcept;
  static void on_deadline(detail::timer_node* t) noexcept;

  std::optional<time_point> when_;
  state state_ = state::created;
  detail::promise_base* task_ = nullptr;
  std::uint32_t cancelling_ = 0;
  timer timer_{};
};

/// Like `asyncio.timeout(delay)`: a scope whose deadline is now + delay.
template <class Rep, class Period>
timeout_scope timeout(std::chrono::duration<Rep, Period> delay) {
  return timeout_scope(get_running_loop().time() + std::chrono::ceil<event_loop::duration>(delay));
}
/// Like `asyncio.timeout(None)`: no deadline until rescheduled.
inline timeout_scope timeout(std::nullopt_t) { return timeout_scope(std::nullopt); }
/// Like `asyncio.timeout_at(when)`.
inline timeout_scope timeout_at(event_loop::time_point when) { return timeout_scope(when); }

/// Like `asyncio.wait_for(aw, timeout)`: the result of `aw`, or timeout_error.
/// A task_handle that times out is cancelled and waited for, as in asyncio.
template <class A, class Rep, class Period>
task<detail::await_result_t<A>> wait_for(A aw, std::chrono::duration<Rep, Period> delay) {
  timeout_scope scope(get_running_loop().time() + std::chrono::ceil<event_loop::duration>(delay));
  co_return co_await scope.run(std::move(aw));
}

}  // namespace aio
