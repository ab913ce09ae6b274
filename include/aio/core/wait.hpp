// SPDX-License-Identifier: MIT
#pragma once
// wait watches running tasks until the first completes, the first raises, or
// all complete — or a timeout passes — and splits them into done and pending,
// like asyncio.wait. Nothing is cancelled and no timeout_error is raised: the
// caller decides what to do with what is still pending.
//
//   auto [done, pending] = co_await aio::wait(handles, aio::first_completed, 2s);
//   for (auto& t : pending) t.cancel();

#include <chrono>
#include <optional>
#include <stdexcept>
#include <vector>

#include "aio/core/create_task.hpp"
#include "aio/core/detail/wait_core.hpp"

namespace aio {

/// What wait() returns: the tasks that finished and the others, each in input order.
template <class T>
struct wait_result {
  std::vector<task_handle<T>> done;
  std::vector<task_handle<T>> pending;
};

namespace detail {
template <class T>
task<wait_result<T>> wait_impl(std::vector<task_handle<T>> hs, return_when when,
                               std::optional<event_loop::duration> timeout) {
  if (hs.empty()) throw std::invalid_argument("aio::wait: the set of tasks is empty");
  std::vector<promise_base*> tasks;
  tasks.reserve(hs.size());
  for (const auto& h : hs) {
    if (!h) throw std::invalid_argument("aio::wait: empty task_handle");
    tasks.push_back(h.promise());
  }
  std::optional<event_loop::time_point> deadline;
  if (timeout) deadline = get_running_loop().time() + *timeout;
  co_await wait_core(std::move(tasks), when, deadline);
  wait_result<T> r;
  for (auto& h : hs) (h.done() ? r.done : r.pending).push_back(std::move(h));
  co_return r;
}
}  // namespace detail

/// Like `asyncio.wait(tasks, return_when=…)`: waits until `when` holds and
/// returns {done, pending} (input order). Throws std::invalid_argument for an
/// empty vector (asyncio: ValueError) or an empty handle, when awaited.
/// Cancel-safe: cancelling the awaiter throws cancelled_error and leaves the
/// tasks running (asyncio does the same). Loop thread only.
template <class T>
task<wait_result<T>> wait(std::vector<task_handle<T>> handles, return_when when = all_completed) {
  return detail::wait_impl(std::move(handles), when, std::nullopt);
}

/// Like `asyncio.wait(tasks, timeout=…, return_when=…)`: as wait(), but also
/// returns when `timeout` (counted from the await) passes. A timeout cancels
/// nothing and raises nothing: what is not done is in `pending`.
template <class T, class Rep, class Period>
task<wait_result<T>> wait(std::vector<task_handle<T>> handles, return_when when,
                          std::chrono::duration<Rep, Period> timeout) {
  return detail::wait_impl(std::move(handles), when,
                           std::chrono::ceil<event_loop::duration>(timeout));
}

/// `wait(handles, timeout)`: all_completed with a timeout.
template <class T, class Rep, class Period>
task<wait_result<T>> wait(std::vector<task_handle<T>> handles,
                          std::chrono::duration<Rep, Period> timeout) {
  return wait(std::move(handles), all_completed, timeout);
}

}  // namespace aio
