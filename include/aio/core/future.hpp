// SPDX-License-Identifier: MIT
#pragma once
// future<T> is asyncio.Future: a result that arrives later, set by a callback
// API. Tasks await it; whoever holds a copy may set it. Copies share state.
//
//   aio::future<int> f;
//   loop.call_later(10ms, [f]() mutable { f.set_result(42); });
//   int x = co_await f;
//
// Loop thread only. From another thread, hand the setter to
// call_soon_threadsafe.

#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "aio/core/detail/wait_list.hpp"

namespace aio {

namespace detail {
template <class T>
struct future_state {
  std::conditional_t<std::is_void_v<T>, bool, std::optional<T>> value{};
  std::exception_ptr exception;
  bool done = false;
  bool cancelled = false;
  std::string cancel_message;
  wait_list waiters;
  std::vector<unique_function> callbacks;
};
}  // namespace detail

template <class T = void>
class future {
 public:
  future() : s_(std::make_shared<detail::future_state<T>>()) {}

  bool done() const noexcept { return s_->done; }
  bool cancelled() const noexcept { return s_->cancelled; }

  /// Like Future.set_result. invalid_state_error if already done.
  template <class U = T>
    requires(!std::is_void_v<T>)
  void set_result(U&& v) {
    require_pending("set_result");
    s_->value.emplace(std::forward<U>(v));
    complete();
  }
  void set_result()
    requires std::is_void_v<T>
  {
    require_pending("set_result");
    s_->value = true;
    complete();
  }
  /// Like Future.set_exception. invalid_state_error if already done.
  void set_exception(std::exception_ptr e) {
    require_pending("set_exception");
    if (!e) throw std::invalid_argument("future::set_exception: null exception_ptr");
    s_->exception = std::move(e);
    complete();
  }
  /// Like Future.cancel: false if already done; else awaiters get cancelled_error.
  bool cancel(std::string_view msg = {}) {
    if (s_->done) return false;
    s_->cancelled = true;
    s_->cancel_message = std::string(msg);
    s_->exception = std::make_exception_ptr(cancelled_error(s_->cancel_message));
    complete();
    return true;
  }

  /// Like Future.result: the value (copied) or rethrows; invalid_state_error if pending.
  T result() const {
    if (!s_->done) throw invalid_state_error("future::result() called before the result was set");
    if (s_->exception) std::rethrow_exception(s_->exception);
    if constexpr (!std::is_void_v<T>) return *s_->value;
  }
  /// Like Future.exception: nullptr on success; cancelled_error if cancelled.
  std::exception_ptr exception() const {
    if (!s_->done) throw invalid_state_error("future::exception() called before the result was set");
    if (s_->cancelled) std::rethrow_exception(s_->exception);
    return s_->exception;
  }
  /// Like Future.add_done_callback: fn(future) runs via call_soon once done.
  template <class F>
  void add_done_callback(F fn) {
    auto cb = [fn = std::move(fn), self = *this]() mutable { fn(self); };
    if (s_->done) get_running_loop().call_soon(std::move(cb));
    else s_->callbacks.emplace_back(std::move(cb));
  }

  /// Waits for the result. Cancelling the awaiting task cancels the future
  /// (asyncio's behaviour), so every awaiter sees cancelled_error.
  struct awaiter : detail::wait_node {
    std::shared_ptr<detail::future_state<T>> s;
    explicit awaiter(std::shared_ptr<detail::future_state<T>> st) : s(std::move(st)) {
      cancel_ = [](detail::waiter* w) noexcept {
        auto* a = static_cast<awaiter*>(w);
        future f(a->s);
        f.cancel(a->task->extras_ ? a->task->extras_->cancel_message : std::string_view{});
      };
    }
    bool await_ready() const noexcept { return s->done; }
    void await_suspend(std::coroutine_handle<> h) { s->waiters.suspend(*this, h); }
    T await_resume() const {
      if (s->cancelled && task && task->must_cancel_) task->throw_cancelled();
      return future(s).result();
    }
  };
  awaiter operator co_await() const { return awaiter{s_}; }

 private:
  explicit future(std::shared_ptr<detail::future_state<T>> s) noexcept : s_(std::move(s)) {}
  void require_pending(const char* what) const {
    if (s_->done) throw invalid_state_error(std::string("future::") + what + ": the future is already done");
  }
  void complete() {
    s_->done = true;
    while (s_->waiters.wake_front()) {
    }
    if (!s_->callbacks.empty()) {
      event_loop& loop = get_running_loop();
      for (auto& cb : s_->callbacks) loop.call_soon(std::move(cb));
      s_->callbacks.clear();
    }
  }

  std::shared_ptr<detail::future_state<T>> s_;
};

}  // namespace aio
