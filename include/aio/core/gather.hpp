// SPDX-License-Identifier: MIT
#pragma once
// gather runs tasks concurrently and collects their results in argument
// order, like asyncio.gather. Coroutines (`task<T>`) are wrapped with
// create_task when gather is called, as asyncio wraps them; running tasks
// (`task_handle<T>`) are awaited as they are.
//
//   auto [a, b] = co_await aio::gather(fetch(x), fetch(y));        // std::tuple
//   std::vector<int> all = co_await aio::gather(std::move(tasks));  // a vector of task<int>
//   auto [r1, r2] = co_await aio::gather(aio::return_exceptions, f(), g());  // outcome<T> each
//
// The cost per child is its done_node inside the gather object: no allocation
// beyond the task frames, the vector of children (range form) and the result.

#include <array>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "aio/core/create_task.hpp"
#include "aio/core/detail/gather_core.hpp"
#include "aio/core/outcome.hpp"

namespace aio {

/// Tag: `gather(aio::return_exceptions, …)` returns an outcome<T> per child
/// instead of raising. Like `return_exceptions=True`.
struct return_exceptions_t {
  explicit return_exceptions_t() = default;
};
inline constexpr return_exceptions_t return_exceptions{};

/// Tag: `gather(aio::cancel_on_error, …)` cancels the other children at the
/// first failure and waits for them before rethrowing it. asyncio has no such
/// option (its gather leaves the others running); this is the opt-in for it.
struct cancel_on_error_t {
  explicit cancel_on_error_t() = default;
};
inline constexpr cancel_on_error_t cancel_on_error{};

namespace detail {

template <class A>
struct gather_arg : std::false_type {};
template <class T>
struct gather_arg<task<T>> : std::true_type {
  using value_type = T;
  static constexpr bool owned = true;  // only gather holds it: results are moved out
  static task_handle<> spawn(task<T>&& t) { return create_task(std::move(t)); }
};
template <class T>
struct gather_arg<task_handle<T>> : std::true_type {
  using value_type = T;
  static constexpr bool owned = false;  // others may await it: results are copied
  static task_handle<> spawn(const task_handle<T>& h) { return h; }
};

template <class A>
concept gatherable = gather_arg<std::remove_cvref_t<A>>::value;

template <class T>
using gather_value_t = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

template <class T, bool Move>
gather_value_t<T> gather_take(promise_base& p) {
  if constexpr (std::is_void_v<T>) {
    return {};
  } else {
    T* v = static_cast<task_promise<T>&>(p).value_ptr();
    if constexpr (Move)
      return T(std::move(*v));
    else
      return T(*v);
  }
}

template <class T, bool Move>
outcome<T> gather_outcome(promise_base& p) {
  if (p.exception_) return outcome<T>(p.exception_);
  if constexpr (std::is_void_v<T>)
    return outcome<void>();
  else
    return outcome<T>(gather_take<T, Move>(p));
}

/// The awaitable of gather(a, b, …). Await it once; do not move it once awaited.
template <gather_mode M, class... A>
class gather_tuple_awaiter {
 public:
  template <class... U>
  explicit gather_tuple_awaiter(U&&... args)
      : children_{{gather_child(gather_arg<A>::spawn(std::forward<U>(args)))...}}, core_(M) {}
  gather_tuple_awaiter(gather_tuple_awaiter&&) noexcept = default;
  gather_tuple_awaiter(const gather_tuple_awaiter&) = delete;

  bool await_ready() const noexcept {
    return gather_core::all_done(children_.data(), sizeof...(A));
  }
  bool await_suspend(std::coroutine_handle<> h) {
    return core_.suspend(h, children_.data(), sizeof...(A));
  }
  auto await_resume() {
    core_.check(children_.data(), sizeof...(A));
    return results(std::index_sequence_for<A...>{});
  }

 private:
  template <std::size_t... I>
  auto results(std::index_sequence<I...>) {
    if constexpr (M == gather_mode::return_exceptions)
      return std::tuple<outcome<typename gather_arg<A>::value_type>...>(
          gather_outcome<typename gather_arg<A>::value_type, gather_arg<A>::owned>(
              children_[I].task())...);
    else
      return std::tuple<gather_value_t<typename gather_arg<A>::value_type>...>(
          gather_take<typename gather_arg<A>::value_type, gather_arg<A>::owned>(
              children_[I].task())...);
  }

  std::array<gather_child, sizeof...(A)> children_;
  gather_core core_;
};

/// The awaitable of gather(vector). Await it once; do not move it once awaited.
template <gather_mode M, class T, bool Owned>
class gather_range_awaiter {
 public:
  explicit gather_range_awaiter(std::vector<gather_child> children) noexcept
      : children_(std::move(children)), core_(M) {}
  gather_range_awaiter(gather_range_awaiter&&) noexcept = default;
  gather_range_awaiter(const gather_range_awaiter&) = delete;

  bool await_ready() const noexcept {
    return gather_core::all_done(children_.data(), children_.size());
  }
  bool await_suspend(std::coroutine_handle<> h) {
    return core_.suspend(h, children_.data(), children_.size());
  }
  auto await_resume() {
    core_.check(children_.data(), children_.size());
    if constexpr (M == gather_mode::return_exceptions) {
      std::vector<outcome<T>> out;
      out.reserve(children_.size());
      for (auto& c : children_) out.push_back(gather_outcome<T, Owned>(c.task()));
      return out;
    } else if constexpr (!std::is_void_v<T>) {
      std::vector<T> out;
      out.reserve(children_.size());
      for (auto& c : children_) out.push_back(gather_take<T, Owned>(c.task()));
      return out;
    }
  }

 private:
  std::vector<gather_child> children_;
  gather_core core_;
};

template <gather_mode M, class T>
gather_range_awaiter<M, T, true> gather_tasks(std::vector<task<T>>&& ts) {
  std::vector<gather_child> children;
  children.reserve(ts.size());
  for (auto& t : ts) children.emplace_back(create_task(std::move(t)));
  return gather_range_awaiter<M, T, true>(std::move(children));
}

template <gather_mode M, class T>
gather_range_awaiter<M, T, false> gather_handles(const std::vector<task_handle<T>>& hs) {
  std::vector<gather_child> children;
  children.reserve(hs.size());
  for (const auto& h : hs) children.emplace_back(task_handle<>(h));
  return gather_range_awaiter<M, T, false>(std::move(children));
}

}  // namespace detail

/// Like `asyncio.gather(a, b, …)`: runs the children concurrently and returns
/// their results as a std::tuple in argument order (void gives std::monostate).
/// `task<T>` arguments (rvalues) are started with create_task at this call;
/// `task_handle<T>` arguments are awaited (their results are copied).
/// Throws: the first child failure (a cancelled child's cancelled_error
/// included) reaches the awaiter at once and the other children keep running,
/// as in asyncio.
/// Cancellation: cancelling the awaiting task cancels every child, waits for
/// all of them, then throws cancelled_error (asyncio does not wait).
/// A child failing after the gather raised is not reported as "never
/// retrieved" (asyncio's gather retrieves it too).
/// Difference: children that finished before the await are looked at in
/// argument order (their completion order is unknown). Loop thread only.
template <class... A>
requires(detail::gatherable<A>&&...) auto gather(A&&... a) {
  return detail::gather_tuple_awaiter<detail::gather_mode::propagate, std::remove_cvref_t<A>...>(
      std::forward<A>(a)...);
}

/// Like `asyncio.gather(…, return_exceptions=True)`: waits for every child and
/// returns a std::tuple of outcome<T> (a cancelled child holds its
/// cancelled_error). Throws only cancelled_error, when the awaiting task is
/// cancelled (children cancelled and awaited first).
template <class... A>
requires(detail::gatherable<A>&&...) auto gather(return_exceptions_t, A&&... a) {
  return detail::gather_tuple_awaiter<detail::gather_mode::return_exceptions,
                                      std::remove_cvref_t<A>...>(std::forward<A>(a)...);
}

/// gather with structured failure handling (no asyncio equivalent): at the
/// first child failure every other child is cancelled; once all have finished
/// the first failure is rethrown. Results and cancellation as gather(a, b, …).
template <class... A>
requires(detail::gatherable<A>&&...) auto gather(cancel_on_error_t, A&&... a) {
  return detail::gather_tuple_awaiter<detail::gather_mode::cancel_on_error,
                                      std::remove_cvref_t<A>...>(std::forward<A>(a)...);
}

/// Like `asyncio.gather(*coros)`: starts every task (create_task) and returns
/// their results as a std::vector<T> in input order (void tasks: returns
/// void). Throws and cancels as gather(a, b, …). Empty input: an empty result.
template <class T>
auto gather(std::vector<task<T>> ts) {
  return detail::gather_tasks<detail::gather_mode::propagate>(std::move(ts));
}
/// Like `asyncio.gather(*tasks)` on running tasks; results are copied.
template <class T>
auto gather(const std::vector<task_handle<T>>& hs) {
  return detail::gather_handles<detail::gather_mode::propagate>(hs);
}
/// Range form of gather(aio::return_exceptions, …): a std::vector<outcome<T>>.
template <class T>
auto gather(return_exceptions_t, std::vector<task<T>> ts) {
  return detail::gather_tasks<detail::gather_mode::return_exceptions>(std::move(ts));
}
template <class T>
auto gather(return_exceptions_t, const std::vector<task_handle<T>>& hs) {
  return detail::gather_handles<detail::gather_mode::return_exceptions>(hs);
}
/// Range form of gather(aio::cancel_on_error, …).
template <class T>
auto gather(cancel_on_error_t, std::vector<task<T>> ts) {
  return detail::gather_tasks<detail::gather_mode::cancel_on_error>(std::move(ts));
}
template <class T>
auto gather(cancel_on_error_t, const std::vector<task_handle<T>>& hs) {
  return detail::gather_handles<detail::gather_mode::cancel_on_error>(hs);
}

}  // namespace aio
