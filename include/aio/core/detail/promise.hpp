// SPDX-License-Identifier: MIT
#pragma once
// The state every coroutine frame of a `task<T>` carries. Awaited inline, a
// task uses only `continuation_` and the result. Spawned by create_task, the
// same promise *is* the running task (asyncio.Task): no second allocation.
//
// The protocol leaf awaiters follow (sleep, I/O, lock, queue, …):
//   await_suspend(h):  auto& t = detail::enter_wait();     // throws if a cancel is pending
//                      …start the wait…; t.suspend(h, &my_waiter);
//   on completion:     detail::wake(t);                    // schedules the task
//   my_waiter.cancel_: abandon the wait, then wake(t) (now or later)
//   await_resume():    if the wait was abandoned: t.throw_cancelled();

#include <coroutine>
#include <cstdint>
#include <exception>
#include <source_location>
#include <string>
#include <string_view>
#include <vector>

#include "aio/core/detail/function.hpp"
#include "aio/core/detail/nodes.hpp"
#include "aio/core/errors.hpp"
#include "aio/core/loop.hpp"

namespace aio::detail {

/// Rarely used per-task data, allocated on first use.
struct task_extras {
  std::string name;
  std::string cancel_message;
  std::vector<unique_function> callbacks;  // add_done_callback, run via call_soon
};

enum class task_state : std::uint8_t { created, pending, done };

class promise_base : public ready_node {
 public:
  promise_base() noexcept { run_ = &run_task; }
  promise_base(const promise_base&) = delete;
  ~promise_base();

  // --- inline await --------------------------------------------------------
  // The awaiting coroutine; for a spawned task (nobody awaits it inline), its
  // own frame, so that the last reference can destroy it. One field, not two:
  // a million sleeping tasks are a million frames.
  std::coroutine_handle<> continuation_;
  std::exception_ptr exception_;

  // --- spawned task --------------------------------------------------------
  event_loop* loop_ = nullptr;
  std::coroutine_handle<> resume_;  // where the suspended task continues
  waiter* waiter_ = nullptr;        // how to cancel the current suspension
  promise_base* task_prev_ = nullptr;
  promise_base* task_next_ = nullptr;
  done_node* done_head_ = nullptr;
  task_extras* extras_ = nullptr;
  std::source_location created_at_;  // where create_task was called (spawned tasks)
  std::uint32_t refs_ = 0;           // the loop's while it runs + every handle
  std::uint32_t cancel_requests_ = 0;  // asyncio's num_cancels_requested
  task_state state_ = task_state::created;
  bool started_ = false;
  bool inline_ = false;            // running inside its awaiter's await_suspend
  bool completed_inline_ = false;  // finished there: the awaiter need not suspend
  bool must_cancel_ = false;
  bool cancelled_ = false;           // finished by cancelled_error
  bool retrieved_ = false;           // its exception was looked at
  bool has_value_ = false;

  bool spawned() const noexcept { return loop_ != nullptr; }
  bool done() const noexcept { return state_ == task_state::done; }

  /// Records where the task continues and how to cancel this suspension.
  void suspend(std::coroutine_handle<> h, waiter* w) noexcept {
    resume_ = h;
    waiter_ = w;
  }
  /// Throws cancelled_error and clears the pending cancel (asyncio's _must_cancel).
  [[noreturn]] void throw_cancelled();
  /// Like Task.cancel(): false if done; else asks the current suspension to throw.
  bool cancel(std::string_view msg = {});
  /// Like Task.uncancel(): decrements the count of pending cancel requests.
  std::uint32_t uncancel() noexcept {
    if (cancel_requests_ > 0) --cancel_requests_;
    if (cancel_requests_ == 0) must_cancel_ = false;
    return cancel_requests_;
  }
  task_extras& extras();
  std::string name() const;
  /// "file:line in function" of the create_task call, or "" if unknown.
  std::string creation_point() const;

  void add_done(done_node& n) noexcept {
    n.done_prev_ = nullptr;
    n.done_next_ = done_head_;
    if (done_head_) done_head_->done_prev_ = &n;
    done_head_ = &n;
  }
  void remove_done(done_node& n) noexcept {
    if (n.done_prev_) n.done_prev_->done_next_ = n.done_next_; else if (done_head_ == &n) done_head_ = n.done_next_;
    if (n.done_next_) n.done_next_->done_prev_ = n.done_prev_;
    n.done_prev_ = n.done_next_ = nullptr;
  }

  void add_ref() noexcept { ++refs_; }
  void release() noexcept {
    if (--refs_ == 0) continuation_.destroy();  // a spawned task's own frame
  }

  /// Spawned task reached final_suspend: publish, notify, drop the loop's reference.
  void finish() noexcept;
  /// Finishes a task cancelled before its first step, without running it.
  void finish_unstarted() noexcept;

 private:
  static void run_task(ready_node* n) noexcept;
};

/// The task running on this thread's loop; throws if none (a leaf awaiter used outside a task).
promise_base& current_task_or_throw();

/// Start of a leaf awaiter's await_suspend: the current task, or cancelled_error
/// if a cancel is pending (the suspension point throws instead of suspending).
inline promise_base& enter_wait() {
  event_loop* loop = running_loop_;
  promise_base* t = loop ? loop->current_task() : nullptr;
  if (!t) [[unlikely]]
    return current_task_or_throw();
  if (t->must_cancel_) [[unlikely]]
    t->throw_cancelled();
  return *t;
}

/// Makes a suspended task runnable again. Its waiter is gone: a cancel that
/// arrives now waits for the next suspension point.
inline void wake(promise_base& t) noexcept {
  t.waiter_ = nullptr;
  t.loop_->schedule(t);
}

}  // namespace aio::detail
