// SPDX-License-Identifier: MIT
#pragma once
// run_on(i, fn): runs fn on worker i's loop (run_threads) and hands its
// result back to the caller's loop — the cross-loop call that share-nothing
// workers use instead of shared state. `fn` returns a value (called on the
// worker's loop thread as a callback) or a task<T> (run there as a task).
//
//   std::size_t n = co_await aio::workers::run_on(0, [] { return cache().size(); });
//   auto page = co_await aio::workers::run_on(1, [key] { return fetch(key); });  // fetch: task<std::string>

#include <atomic>
#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "aio/core/create_task.hpp"
#include "aio/exec/detail/job.hpp"
#include "aio/workers/run_threads.hpp"

namespace aio::workers {

namespace detail {

template <class R>
struct task_value {
  using type = R;
  static constexpr bool is_task = false;
};
template <class T>
struct task_value<task<T>> {
  using type = T;
  static constexpr bool is_task = true;
};

/// Posts `fn` to `link`'s loop; false if that loop has closed. Any thread.
bool post(const std::shared_ptr<aio::detail::loop_link>& link, aio::detail::unique_function fn);

/// One cross-loop call. The caller's loop owns `task` and `abandoned`; the
/// target's loop owns `remote`; the outcome is written on the target before
/// the hand-back is queued (the queue orders it before deliver reads it).
template <class T>
struct remote_call {
  struct nothing {};
  aio::detail::promise_base* task = nullptr;
  bool abandoned = false;
  bool waiting = false;  // the caller suspended on it (a failed post never did)
  std::shared_ptr<aio::detail::loop_link> caller, target;
  std::optional<std::conditional_t<std::is_void_v<T>, nothing, T>> value;
  std::exception_ptr error;
  std::atomic<bool> cancel{false};
  // The task running a coroutine `fn` while it runs (no handle: the task
  // holds this state, a handle here would keep both alive forever).
  aio::detail::promise_base* remote = nullptr;
  bool finished = false;  // the remote task's body ran to its end
  struct remote_done : aio::detail::done_node {
    std::shared_ptr<remote_call> keep;  // until that task is done: its done_node lives here
  } done;

  // Target loop: queue the outcome back to the caller (dropped if its loop
  // closed). Never throws: out of memory, the caller waits until cancelled.
  static void hand_back(const std::shared_ptr<remote_call>& self) noexcept {
    try {
      post(self->caller, [self] {
        if (!self->abandoned && self->waiting) aio::detail::wake(*self->task);
      });
    } catch (...) {
    }
  }
};

// The posted start of a call: if the target's loop drops it unrun (it closed
// after the post), the caller is told so instead of waiting for ever.
template <class T>
struct start_guard {
  std::shared_ptr<remote_call<T>> call;  // null once started (or moved from)
  explicit start_guard(std::shared_ptr<remote_call<T>> c) noexcept : call(std::move(c)) {}
  start_guard(start_guard&&) noexcept = default;
  start_guard& operator=(start_guard&&) = delete;
  ~start_guard() {
    if (!call) return;
    try {
      call->error = std::make_exception_ptr(
          invalid_state_error("aio::workers::run_on: the worker's loop closed before it ran the call"));
    } catch (...) {
      call->error = std::current_exception();
    }
    remote_call<T>::hand_back(call);
  }
};

template <class T, class F>
task<> run_remote_task(std::shared_ptr<remote_call<T>> call, F fn) {
  try {
    if constexpr (std::is_void_v<T>)
      co_await fn();
    else
      call->value.emplace(co_await fn());
  } catch (...) {  // cancelled_error too: the caller gets it
    call->error = std::current_exception();
  }
  call->finished = true;  // the task's done_node hands the outcome back
}

// Target loop: runs `fn` unless the caller gave up first.
template <class T, class F>
void start_remote(const std::shared_ptr<remote_call<T>>& call, F& fn) {
  if (call->cancel.load(std::memory_order_acquire)) return;
  if constexpr (task_value<std::invoke_result_t<F&>>::is_task) {
    auto h = create_task(run_remote_task<T, F>(call, std::move(fn)), "run_on");
    call->remote = h.promise();
    call->done.keep = call;
    // Runs when the task ends, also when it was cancelled before its first
    // step (a closing loop does that) and its body never ran.
    call->done.on_done_ = [](aio::detail::done_node* n, aio::detail::promise_base&) noexcept {
      std::shared_ptr<remote_call<T>> self = std::move(static_cast<typename remote_call<T>::remote_done*>(n)->keep);
      self->remote = nullptr;
      if (!self->finished && !self->error) self->error = std::make_exception_ptr(cancelled_error());
      remote_call<T>::hand_back(self);
    };
    call->remote->add_done(call->done);
    return;
  } else {
    try {
      if constexpr (std::is_void_v<T>)
        fn();
      else
        call->value.emplace(fn());
    } catch (...) {
      call->error = std::current_exception();
    }
    remote_call<T>::hand_back(call);
  }
}

template <class T>
struct remote_awaiter : aio::detail::waiter {
  std::shared_ptr<remote_call<T>> call;
  bool aborted = false;

  explicit remote_awaiter(std::shared_ptr<remote_call<T>> c) noexcept : call(std::move(c)) {
    cancel_ = [](aio::detail::waiter* w) noexcept {
      auto* a = static_cast<remote_awaiter*>(w);
      a->aborted = true;
      abandon(a->call);
      aio::detail::wake(*a->call->task);
    };
  }
  static void abandon(const std::shared_ptr<remote_call<T>>& call) noexcept {
    call->abandoned = true;
    call->cancel.store(true, std::memory_order_release);
    try {
      post(call->target, [call] {
        if (call->remote) call->remote->cancel("run_on caller cancelled");
      });
    } catch (...) {  // out of memory: the remote task runs to its end, its result is dropped
    }
  }
  bool await_ready() const noexcept { return false; }
  template <class Start>
  void suspend(std::coroutine_handle<> h, Start start) {
    call->task = &aio::detail::enter_wait();  // a pending cancel throws here: nothing was posted
    if (!post(call->target, std::move(start)))
      throw invalid_state_error("aio::workers::run_on: the worker's loop has closed");
    call->waiting = true;  // a hand-back runs on this thread, after this step: it sees it
    call->task->suspend(h, this);
  }
  T await_resume() {
    if (aborted) call->task->throw_cancelled();
    // Moved out, not copied: the exception then lives and dies on this
    // thread, whichever loop drops the shared state last.
    if (call->error) std::rethrow_exception(std::exchange(call->error, nullptr));
    if constexpr (!std::is_void_v<T>) return std::move(*call->value);
  }
};

template <class T, class F>
struct run_on_awaiter : remote_awaiter<T> {
  F fn;
  run_on_awaiter(std::shared_ptr<remote_call<T>> c, F f) : remote_awaiter<T>(std::move(c)), fn(std::move(f)) {}
  void await_suspend(std::coroutine_handle<> h) {
    this->suspend(h, [g = start_guard<T>(this->call), f = std::move(fn)]() mutable {
      std::shared_ptr<remote_call<T>> call = std::move(g.call);
      start_remote<T, F>(call, f);
    });
  }
};

std::shared_ptr<aio::detail::loop_link> caller_link();
std::shared_ptr<aio::detail::loop_link> peer_link(std::size_t i);

}  // namespace detail

/// Runs `fn()` on worker `i`'s loop (a run_threads worker, this one
/// included) and returns its result (or rethrows its exception) on the
/// caller's loop. `fn` is moved to the other thread: capture by value.
/// No asyncio equivalent (asyncio.run_coroutine_threadsafe + wrap_future
/// is the closest). Throws invalid_state_error outside a run_threads worker
/// or when worker i's loop has closed, std::out_of_range for a bad index.
/// If worker i's loop closes meanwhile, the caller still resumes: with
/// cancelled_error when the closing loop cancelled the call's task (even
/// before its first step), invalid_state_error when it dropped the call unrun.
/// Cancel-safe on the caller's side: the caller resumes at once with
/// cancelled_error, a call not started yet never runs, a task<T> already
/// running there is cancelled, and a late result is discarded.
template <class F>
  requires std::is_invocable_v<F&>
auto run_on(std::size_t i, F fn) -> task<typename detail::task_value<std::invoke_result_t<F&>>::type> {
  using T = typename detail::task_value<std::invoke_result_t<F&>>::type;
  auto call = std::make_shared<detail::remote_call<T>>();
  call->target = detail::peer_link(i);
  call->caller = detail::caller_link();
  co_return co_await detail::run_on_awaiter<T, F>(std::move(call), std::move(fn));
}

}  // namespace aio::workers
