// SPDX-License-Identifier: MIT
#pragma once
// The non-template part of gather: one done_node per child (inside the
// awaiter), a counter, one wake-up of the awaiting task.

#include <cstddef>
#include <cstdint>

#include "aio/core/create_task.hpp"

namespace aio::detail {

class gather_core;

/// One child of a gather: the node its task calls when done, and a reference to it.
struct gather_child : done_node {
  task_handle<> handle;
  gather_core* owner = nullptr;

  explicit gather_child(task_handle<> h) noexcept : handle(std::move(h)) {}
  promise_base& task() const noexcept { return *handle.promise(); }
};

enum class gather_mode : std::uint8_t { propagate, return_exceptions, cancel_on_error };

class gather_core : public waiter {
 public:
  explicit gather_core(gather_mode mode) noexcept : mode_(mode) {}

  /// True when the awaiter need not suspend (every child done).
  static bool all_done(const gather_child* c, std::size_t n) noexcept;
  /// Registers on the children still running; false when there is nothing to wait for.
  bool suspend(std::coroutine_handle<> h, gather_child* c, std::size_t n);
  /// Throws what the gather raises (cancelled_error, or the first failure
  /// unless return_exceptions). Marks the children's exceptions retrieved.
  void check(gather_child* c, std::size_t n);

 private:
  static void on_child_done(done_node* n, promise_base& p) noexcept;
  static void on_cancel(waiter* w) noexcept;
  void child_done(promise_base& p, std::size_t index) noexcept;
  void cancel_children(std::string_view msg) noexcept;
  void finish() noexcept;

  gather_child* children_ = nullptr;
  std::size_t count_ = 0;
  std::size_t pending_ = 0;
  std::size_t failed_ = SIZE_MAX;  // first failure, in completion order
  promise_base* self_ = nullptr;
  gather_mode mode_;
  bool cancelling_ = false;  // the awaiting task was cancelled: children cancelled, waiting for all
  bool finished_ = false;
};

}  // namespace aio::detail
