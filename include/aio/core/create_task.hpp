// SPDX-License-Identifier: MIT
#pragma once
// create_task schedules a coroutine to run concurrently and returns a handle
// to the running task (asyncio.Task). The loop owns every task until it
// finishes: dropping the handle never loses a running task (asyncio keeps
// only weak references and does; we do not).
//
//   auto t = aio::create_task(fetch(url), "fetch");
//   …
//   auto body = co_await t;          // any number of tasks may await it
//
// `task_handle<>` refers to a task of any result type (its result is not
// reachable through it, only done/cancel/exception/await).

#include <source_location>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aio/core/task.hpp"

namespace aio {

template <class T = void>
class task_handle;

namespace detail {

/// The awaiter of a task_handle: waits for the task, then yields its outcome.
/// Cancelling the awaiting task cancels the awaited one (as asyncio does) and
/// keeps waiting for it to finish.
struct handle_wait : done_node, waiter {
  promise_base* target;
  promise_base* self = nullptr;

  explicit handle_wait(promise_base* t) noexcept : target(t) {
    on_done_ = [](done_node* n, promise_base&) noexcept { wake(*static_cast<handle_wait*>(n)->self); };
    cancel_ = [](waiter* w) noexcept {
      auto* hw = static_cast<handle_wait*>(w);
      // Still waiting (and still cancellable: a target that swallowed this
      // cancel gets the next one too, as asyncio keeps _fut_waiter). Set
      // first: a target that ends at once wakes us, which clears it.
      hw->self->waiter_ = hw;
      hw->target->cancel(hw->self->extras_ ? hw->self->extras_->cancel_message : std::string_view{});
    };
  }
  bool await_ready() const noexcept { return target->done(); }
  void await_suspend(std::coroutine_handle<> h);
  /// Rethrows the target's exception; a cancellation is reported as this task's own.
  void check() const {
    if (!target->exception_) return;
    target->retrieved_ = true;
    if (target->cancelled_ && self && self->must_cancel_) self->throw_cancelled();
    std::rethrow_exception(target->exception_);
  }
};

}  // namespace detail

template <class T>
class task_handle {
 public:
  task_handle() noexcept = default;
  /// Adopts one reference to `p` (create_task's).
  task_handle(detail::promise_base* p, std::false_type /*add_ref*/) noexcept : p_(p) {}
  task_handle(const task_handle& o) noexcept : p_(o.p_) {
    if (p_) p_->add_ref();
  }
  task_handle(task_handle&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  template <class U>
    requires(std::is_void_v<T> && !std::is_void_v<U>)
  task_handle(const task_handle<U>& o) noexcept : p_(o.promise()) {  // NOLINT: any handle views as task_handle<>
    if (p_) p_->add_ref();
  }
  task_handle& operator=(task_handle o) noexcept {
    std::swap(p_, o.p_);
    return *this;
  }
  ~task_handle() {
    if (p_) p_->release();
  }

  explicit operator bool() const noexcept { return p_ != nullptr; }
  friend bool operator==(const task_handle& a, const task_handle& b) noexcept { return a.p_ == b.p_; }

  /// Like Task.cancel(msg): false if the task is done; else its current (or
  /// next) suspension point throws cancelled_error. Loop thread only.
  bool cancel(std::string_view msg = {}) { return p_->cancel(msg); }
  /// Like Task.cancelling(): cancel requests not yet uncancelled.
  std::uint32_t cancelling() const noexcept { return p_->cancel_requests_; }
  /// Like Task.uncancel().
  std::uint32_t uncancel() noexcept { return p_->uncancel(); }
  bool done() const noexcept { return p_->done(); }
  bool cancelled() const noexcept { return p_->done() && p_->cancelled_; }

  /// Like Task.result(): the value, or rethrows. invalid_state_error if not done.
  T result() const {
    require_done("result");
    return detail::take_result<T, false>(static_cast<detail::task_promise<T>&>(*p_));
  }
  /// Like Task.exception(): nullptr when it succeeded; cancelled_error if it
  /// was cancelled; invalid_state_error if not done.
  std::exception_ptr exception() const {
    require_done("exception");
    p_->retrieved_ = true;
    if (p_->cancelled_) std::rethrow_exception(p_->exception_);
    return p_->exception_;
  }
  /// Like Task.add_done_callback: `fn(handle)` runs via call_soon once the task is done.
  template <class F>
  void add_done_callback(F fn) {
    auto cb = [fn = std::move(fn), self = *this]() mutable { fn(self); };
    if (done()) p_->loop_->call_soon(std::move(cb));
    else p_->extras().callbacks.emplace_back(std::move(cb));
  }
  std::string get_name() const { return p_->name(); }
  void set_name(std::string name) { p_->extras().name = std::move(name); }
  /// The loop the task runs on.
  event_loop& get_loop() const noexcept { return *p_->loop_; }

  struct awaiter : detail::handle_wait {
    using detail::handle_wait::handle_wait;
    T await_resume() const {
      check();
      if constexpr (!std::is_void_v<T>) return T(*static_cast<detail::task_promise<T>*>(target)->value_ptr());
    }
  };
  /// Waits for the task and returns a copy of its result (or rethrows).
  awaiter operator co_await() const noexcept { return awaiter{p_}; }

  detail::promise_base* promise() const noexcept { return p_; }

 private:
  void require_done(const char* what) const {
    if (!p_->done())
      throw invalid_state_error(std::string(what) + "() called on task '" + p_->name() + "' that is not done");
  }

  detail::promise_base* p_ = nullptr;
};

namespace detail {
template <class T>
task_handle<T> spawn(event_loop& loop, task<T> t, std::string name,
                     std::source_location where = std::source_location::current()) {
  auto h = t.release();
  auto& p = h.promise();
  p.loop_ = &loop;
  p.continuation_ = h;  // a spawned task keeps its own frame there
  p.state_ = task_state::pending;
  p.resume_ = h;
  p.refs_ = 2;  // the loop's, until it finishes, and the handle's
  p.created_at_ = where;
  if (!name.empty()) p.extras().name = std::move(name);
  loop.link_task(p);
  loop.schedule(p);
  return task_handle<T>(&p, std::false_type{});
}
}  // namespace detail

/// Like `asyncio.create_task(coro, name=…)`: schedules `t` on the running loop.
/// Throws invalid_state_error outside a running loop or for a consumed task.
/// `where` (the call site) is kept for reports, like asyncio's debug-mode
/// creation traceback (a never-retrieved exception names it).
template <class T>
task_handle<T> create_task(task<T> t, std::string name = {},
                           std::source_location where = std::source_location::current()) {
  return detail::spawn(get_running_loop(), std::move(t), std::move(name), where);
}

/// Like `asyncio.current_task()`: the running task, or an empty handle.
task_handle<> current_task() noexcept;
/// Like `asyncio.all_tasks()`: the running loop's tasks that are not done.
std::vector<task_handle<>> all_tasks();

}  // namespace aio
