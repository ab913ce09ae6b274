// SPDX-License-Identifier: MIT
#pragma once
// The exceptions of the core runtime, named as asyncio names them.
//
// `cancelled_error` deliberately does not derive from std::exception, as
// asyncio.CancelledError derives from BaseException and not Exception: a
// `catch (const std::exception&)` meant for failures never swallows a
// cancellation. Catch it by name (or with `catch (...)`) and rethrow.

#include <cstddef>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace aio {

/// The awaiting task was cancelled. Like `asyncio.CancelledError`.
/// Not a std::exception (see above); `what()` gives the cancel message.
class cancelled_error {
 public:
  cancelled_error() = default;
  explicit cancelled_error(std::string msg) : msg_(std::move(msg)) {}
  /// The message passed to `cancel(msg)`, or "cancelled".
  const char* what() const noexcept { return msg_.empty() ? "cancelled" : msg_.c_str(); }
  const std::string& message() const noexcept { return msg_; }

 private:
  std::string msg_;
};

/// A deadline passed. Like `TimeoutError` raised by `asyncio.timeout` / `wait_for`.
class timeout_error : public std::runtime_error {
 public:
  timeout_error() : std::runtime_error("timeout") {}
  using std::runtime_error::runtime_error;
};

/// An operation was called in a state that does not allow it (result of a
/// pending task, a second set_result, a loop used from another thread…).
/// Like `asyncio.InvalidStateError`.
class invalid_state_error : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

/// A stream ended before a read could complete: `readexactly(n)` got fewer
/// than n bytes, or `readuntil(sep)` reached end of stream without `sep`.
/// Like `asyncio.IncompleteReadError` (an EOFError there).
class incomplete_read_error : public std::runtime_error {
 public:
  /// `expected`: the byte count asked for, or nullopt when unknown (readuntil).
  incomplete_read_error(std::string partial, std::optional<std::size_t> expected);
  /// The bytes read before end of stream (asyncio's `partial`).
  const std::string& partial() const noexcept { return partial_; }
  /// The total count asked for (asyncio's `expected`), nullopt for readuntil.
  std::optional<std::size_t> expected() const noexcept { return expected_; }

 private:
  std::string partial_;
  std::optional<std::size_t> expected_;
};

/// `readuntil` / `readline` looked past the stream's limit without finding
/// the separator. Like `asyncio.LimitOverrunError`.
class limit_overrun_error : public std::runtime_error {
 public:
  limit_overrun_error(const std::string& msg, std::size_t consumed)
      : std::runtime_error(msg), consumed_(consumed) {}
  /// How many bytes would have to be consumed (asyncio's `consumed`).
  std::size_t consumed() const noexcept { return consumed_; }

 private:
  std::size_t consumed_;
};

/// SIGINT arrived while `aio::run` was running; the main task was cancelled.
/// Like Python's `KeyboardInterrupt` out of `asyncio.run`.
class keyboard_interrupt {
 public:
  const char* what() const noexcept { return "interrupted by SIGINT"; }
};

/// Several exceptions raised together, e.g. by children of a `task_group`.
/// Like `ExceptionGroup` (PEP 654). Keeps every exception in the order raised.
class exception_group : public std::exception {
 public:
  exception_group(std::string msg, std::vector<std::exception_ptr> exceptions);
  const char* what() const noexcept override { return what_.c_str(); }
  const std::string& message() const noexcept { return msg_; }
  const std::vector<std::exception_ptr>& exceptions() const noexcept { return exceptions_; }

 private:
  std::string msg_;
  std::string what_;
  std::vector<std::exception_ptr> exceptions_;
};

/// Describes an exception_ptr for logs: its what() when it has one.
std::string describe(const std::exception_ptr& e);

}  // namespace aio
