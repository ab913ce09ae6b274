// SPDX-License-Identifier: MIT
#pragma once
// The non-template part of wait(): watch a set of tasks until a condition
// holds or a deadline passes. Nodes live in one vector inside the awaiter.

#include <cstdint>
#include <optional>
#include <vector>

#include "aio/core/create_task.hpp"

namespace aio {

/// When wait() returns. Like asyncio's FIRST_COMPLETED / FIRST_EXCEPTION / ALL_COMPLETED.
enum class return_when : std::uint8_t { first_completed, first_exception, all_completed };
/// Like `asyncio.FIRST_COMPLETED`.
inline constexpr return_when first_completed = return_when::first_completed;
/// Like `asyncio.FIRST_EXCEPTION`: a task that finished by raising (cancelled ones do not count).
inline constexpr return_when first_exception = return_when::first_exception;
/// Like `asyncio.ALL_COMPLETED`.
inline constexpr return_when all_completed = return_when::all_completed;

}  // namespace aio

namespace aio::detail {

class wait_core : public waiter, public timer_node {
 public:
  struct node : done_node {
    promise_base* task = nullptr;
    wait_core* owner = nullptr;
  };

  wait_core(std::vector<promise_base*> tasks, return_when when,
            std::optional<event_loop::time_point> deadline);
  wait_core(const wait_core&) = delete;
  ~wait_core();

  bool await_ready() const noexcept { return satisfied(); }
  bool await_suspend(std::coroutine_handle<> h);
  void await_resume();

 private:
  bool satisfied() const noexcept;
  void stop() noexcept;
  static void on_task_done(done_node* n, promise_base& p) noexcept;
  static void on_cancel(waiter* w) noexcept;
  static void on_deadline(timer_node* t) noexcept;

  std::vector<node> nodes_;
  std::optional<event_loop::time_point> deadline_;
  promise_base* self_ = nullptr;
  std::size_t pending_ = 0;
  return_when when_;
  bool armed_ = false;
  bool aborted_ = false;
};

}  // namespace aio::detail
