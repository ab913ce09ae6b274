// SPDX-License-Identifier: MIT
#pragma once
// task_group is structured concurrency, like asyncio.TaskGroup: children
// started in a group never outlive it. The first child failure cancels the
// other children and the task running the body; every failure comes out
// together as one exception_group once all children have finished.
//
//   co_await aio::with_task_group([&](aio::task_group& tg) -> aio::task<> {   // async with
//   TaskGroup() as tg:
//     tg.create_task(fetch(a));
//     tg.create_task(fetch(b));
//     co_return;
//   });                                                                         // both done (or
//   all cancelled)
//
// The explicit form, for when a lambda is in the way:
//   aio::task_group tg;  tg.create_task(work());  co_await tg.join();

#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <source_location>
#include <string>
#include <type_traits>
#include <vector>

#include "aio/core/create_task.hpp"

namespace aio {

/// Like `asyncio.TaskGroup`. Create it in the task that will join it (its
/// "parent"); not copyable or movable. Loop thread only.
class task_group {
 public:
  /// Binds the group to the running task. invalid_state_error outside a task.
  task_group();
  task_group(const task_group&) = delete;
  task_group& operator=(const task_group&) = delete;
  /// Joined, it does nothing. Destroyed without join while children run (an
  /// exception left the scope between create_task and join): the children are
  /// cancelled, not awaited, and this is reported through the loop's exception
  /// handler with any child failure collected so far. Prefer with_task_group.
  ~task_group();

  /// Like `TaskGroup.create_task(coro, name=…)`: starts `t` as a child.
  /// Throws invalid_state_error when the group is shutting down (a child
  /// failed, or the body raised) or finished (joined); `t` is then discarded
  /// without running, as asyncio closes the coroutine.
  template <class T>
  task_handle<T> create_task(task<T> t, std::string name = {},
                             std::source_location where = std::source_location::current()) {
    if (const char* why = closed_reason()) {
      if (t.valid()) t.release().destroy();
      throw invalid_state_error(why);
    }
    auto c = std::make_unique<child>();
    task_handle<T> h = aio::create_task(std::move(t), std::move(name), where);
    adopt(c.release(), *h.promise());
    return h;
  }

  class join_awaiter;
  /// Like leaving `async with TaskGroup()`: waits for every child. Returns
  /// normally when none failed. Throws exception_group (children's failures
  /// in the order they happened, then `body_error` if it is not a
  /// cancellation) when any failed; keyboard_interrupt directly, as asyncio
  /// re-raises BaseExceptions. `body_error` is what ended the body, if
  /// anything: it cancels the children (with_task_group passes it).
  /// Cancellation: cancelling the parent cancels every child; join still
  /// waits for them all, then throws cancelled_error. The group's own
  /// cancellation of the parent (after a child failure) is absorbed with
  /// uncancel(); a cancellation from outside is never swallowed.
  /// Difference: when a cancellation from outside and child failures meet,
  /// asyncio raises the ExceptionGroup; we raise cancelled_error and report
  /// the failures to the loop's exception handler, so a cancel is never lost.
  /// Must be awaited by the task that created the group, once
  /// (invalid_state_error otherwise).
  join_awaiter join(std::exception_ptr body_error = nullptr) noexcept;

  /// Children still running (asyncio keeps this private).
  std::size_t size() const noexcept { return running_; }

  /// What join() returns: await it (once) in the group's parent task.
  class join_awaiter : detail::waiter {
   public:
    join_awaiter(task_group& g, std::exception_ptr body_error) noexcept
        : group_(&g), body_error_(std::move(body_error)) {}
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h);
    void await_resume();

   private:
    friend class task_group;
    static void on_cancel(detail::waiter* w) noexcept;
    task_group* group_;
    std::exception_ptr body_error_;
    detail::promise_base* self_ = nullptr;
    bool received_cancel_ = false;
  };

 private:
  struct child : detail::done_node {
    task_group* group = nullptr;
    detail::promise_base* task = nullptr;
    child* prev = nullptr;
    child* next = nullptr;
  };
  const char* closed_reason() const noexcept;
  void adopt(child* c, detail::promise_base& t) noexcept;
  void unlink(child* c) noexcept;
  void abort() noexcept;
  void report(const char* what, const std::exception_ptr& e) noexcept;
  static void on_child_done(detail::done_node* n, detail::promise_base& p) noexcept;

  event_loop* loop_;
  detail::promise_base* parent_;
  child* head_ = nullptr;
  std::size_t running_ = 0;
  std::vector<std::exception_ptr> errors_;
  join_awaiter* joiner_ = nullptr;
  std::uint32_t entry_cancels_;
  bool aborting_ = false;
  bool parent_cancel_requested_ = false;
  bool exiting_ = false;
  bool joined_ = false;
};

/// Like `async with asyncio.TaskGroup() as tg: <body>`: runs `body(tg)` in the
/// current task, then joins the group (see task_group::join for what it
/// throws and how cancellation works). If the body raises, the children are
/// cancelled and its exception joins the exception_group. Returns the body's
/// result when nothing failed. `body` is kept alive until the group is done.
template <class F>
requires std::is_invocable_v<F&, task_group&>
auto with_task_group(F body) -> task<typename std::invoke_result_t<F&, task_group&>::value_type> {
  using R = typename std::invoke_result_t<F&, task_group&>::value_type;
  task_group tg;
  std::exception_ptr error;
  if constexpr (std::is_void_v<R>) {
    try {
      co_await body(tg);
    } catch (...) {
      error = std::current_exception();
    }
    co_await tg.join(std::move(error));
  } else {
    std::optional<R> result;
    try {
      result.emplace(co_await body(tg));
    } catch (...) {
      error = std::current_exception();
    }
    co_await tg.join(std::move(error));
    co_return std::move(*result);
  }
}

}  // namespace aio
