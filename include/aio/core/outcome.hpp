// SPDX-License-Identifier: MIT
#pragma once
// outcome<T>: a finished task's result, either a value or an exception. This
// is what `gather(aio::return_exceptions, …)` returns per child, where asyncio
// returns the value or the exception object in the same list.
//
//   auto [a, b] = co_await aio::gather(aio::return_exceptions, fetch(x), fetch(y));
//   if (a.has_value()) use(a.value()); else log(aio::describe(a.exception()));

#include <exception>
#include <optional>
#include <utility>

namespace aio {

/// A value or an exception_ptr. Like the items of `asyncio.gather(...,
/// return_exceptions=True)`'s list. A cancelled task's outcome holds its
/// cancelled_error. Not thread-safe (a plain value type).
template <class T>
class outcome {
 public:
  /// Holds a value.
  explicit outcome(T v) : value_(std::move(v)) {}
  /// Holds an exception (must not be null).
  explicit outcome(std::exception_ptr e) noexcept : error_(std::move(e)) {}

  /// True when it holds a value.
  bool has_value() const noexcept { return value_.has_value(); }
  explicit operator bool() const noexcept { return has_value(); }
  /// The value; rethrows the held exception when there is none.
  T& value() & {
    if (!value_) std::rethrow_exception(error_);
    return *value_;
  }
  const T& value() const& {
    if (!value_) std::rethrow_exception(error_);
    return *value_;
  }
  T&& value() && {
    if (!value_) std::rethrow_exception(error_);
    return std::move(*value_);
  }
  /// The exception, or nullptr when it holds a value.
  const std::exception_ptr& exception() const noexcept { return error_; }

 private:
  std::optional<T> value_;
  std::exception_ptr error_;
};

/// outcome of a task returning void: success, or an exception.
template <>
class outcome<void> {
 public:
  /// Success.
  outcome() noexcept = default;
  /// Holds an exception (nullptr means success).
  explicit outcome(std::exception_ptr e) noexcept : error_(std::move(e)) {}

  bool has_value() const noexcept { return !error_; }
  explicit operator bool() const noexcept { return has_value(); }
  /// Returns on success; rethrows the held exception otherwise.
  void value() const {
    if (error_) std::rethrow_exception(error_);
  }
  /// The exception, or nullptr on success.
  const std::exception_ptr& exception() const noexcept { return error_; }

 private:
  std::exception_ptr error_;
};

}  // namespace aio
