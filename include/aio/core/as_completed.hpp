// SPDX-License-Identifier: MIT
#pragma once
// as_completed hands back running tasks one at a time in the order they
// finish, like asyncio.as_completed. Watching starts when as_completed is
// called; a task that finishes while nobody is in next() is queued.
//
//   auto ready = aio::as_completed(handles, 5s);
//   while (auto t = co_await ready.next()) use(co_await *t);   // timeout_error after 5 s

#include <chrono>
#include <optional>
#include <vector>

#include "aio/core/create_task.hpp"
#include "aio/core/detail/as_completed_core.hpp"

namespace aio {

/// What as_completed returns. Neither copyable nor movable (the tasks point at
/// it); keep it where it was created, and let one task at a time await next().
template <class T>
class as_completed_queue {
 public:
  /// Starts watching `handles` (see as_completed). invalid_argument for an empty handle.
  as_completed_queue(std::vector<task_handle<T>> handles,
                     std::optional<event_loop::time_point> deadline)
      : handles_(std::move(handles)), core_(promises(handles_), deadline) {}

  /// What next() returns; see next().
  struct next_awaiter : detail::as_completed_core::next_awaiter {
    next_awaiter(detail::as_completed_core& c, const std::vector<task_handle<T>>& hs) noexcept
        : detail::as_completed_core::next_awaiter(c), handles(&hs) {}
    std::optional<task_handle<T>> await_resume() {
      auto i = detail::as_completed_core::next_awaiter::await_resume();
      if (!i) return std::nullopt;
      return (*handles)[*i];
    }
    const std::vector<task_handle<T>>* handles;
  };

  /// The next task to finish (done; await it or call result() for its
  /// outcome), or nullopt once every task was delivered. Like one step of
  /// `for t in asyncio.as_completed(...)`. Throws timeout_error when the
  /// deadline passed before another task finished (asyncio's TimeoutError);
  /// tasks are not cancelled by it. invalid_state_error if another task is
  /// already waiting in next().
  /// Cancel-safe: a cancelled next() throws cancelled_error and loses no
  /// completion (the next call returns it).
  next_awaiter next() noexcept { return next_awaiter(core_, handles_); }
  /// Tasks not delivered by next() yet (a timeout_error counts as a delivery).
  std::size_t remaining() const noexcept { return core_.remaining(); }

 private:
  static std::vector<detail::promise_base*> promises(const std::vector<task_handle<T>>& hs) {
    std::vector<detail::promise_base*> ps;
    ps.reserve(hs.size());
    for (const auto& h : hs) {
      if (!h) throw std::invalid_argument("aio::as_completed: empty task_handle");
      ps.push_back(h.promise());
    }
    return ps;
  }

  std::vector<task_handle<T>> handles_;
  detail::as_completed_core core_;
};

/// Like `asyncio.as_completed(tasks)`: yields the tasks in completion order.
/// Empty input: next() returns nullopt at once. Loop thread only.
template <class T>
as_completed_queue<T> as_completed(std::vector<task_handle<T>> handles) {
  return as_completed_queue<T>(std::move(handles), std::nullopt);
}

/// Like `asyncio.as_completed(tasks, timeout=…)`: the deadline is counted
/// from this call; once it passes, next() throws timeout_error once for each
/// task not yet finished, then returns nullopt (tasks that finished before
/// the deadline are still delivered first). Nothing is cancelled.
template <class T, class Rep, class Period>
as_completed_queue<T> as_completed(std::vector<task_handle<T>> handles,
                                   std::chrono::duration<Rep, Period> timeout) {
  return as_completed_queue<T>(
      std::move(handles),
      get_running_loop().time() + std::chrono::ceil<event_loop::duration>(timeout));
}

/// Like `asyncio.as_completed(coros)`: starts each task (create_task) first.
template <class T>
as_completed_queue<T> as_completed(std::vector<task<T>> tasks) {
  std::vector<task_handle<T>> hs;
  hs.reserve(tasks.size());
  for (auto& t : tasks) hs.push_back(create_task(std::move(t)));
  return as_completed(std::move(hs));
}

}  // namespace aio
