// SPDX-License-Identifier: MIT
#pragma once
// `task<T>` is what `async def` is in Python: a lazy coroutine. Nothing runs
// until it is awaited (inline, in the awaiting task) or handed to
// `create_task` (then it runs concurrently, owned by the loop).
//
//   aio::task<int> answer() { co_await aio::sleep(10ms); co_return 42; }
//   aio::task<> main() { int x = co_await answer(); }
//
// A chain of a million immediately-ready awaits neither recurses nor
// overflows the stack, at any optimisation level.

#include <cxxabi.h>

#include <coroutine>
#include <cstdio>
#include <exception>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include "aio/core/detail/frame_allocator.hpp"
#include "aio/core/detail/promise.hpp"

namespace aio {

template <class T = void>
class task;

namespace detail {

struct final_awaiter {
  bool await_ready() const noexcept { return false; }
  template <class P>
  std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
    promise_base& p = h.promise();
    if (p.spawned()) {
      p.finish();  // may destroy the frame: touch nothing after
      return std::noop_coroutine();
    }
    {
      // Finished inside the awaiter's resume() call: just return to it (see
      // task::awaiter). Otherwise the awaiter is suspended: continue it.
      if (p.inline_) {
        p.completed_inline_ = true;
        return std::noop_coroutine();
      }
      return p.continuation_;
    }
  }
  void await_resume() const noexcept {}
};

template <class T>
class task_promise_storage : public promise_base {
 public:
  ~task_promise_storage() {
    if (has_value_) value_ptr()->~T();
  }
  template <class U>
  void return_value(U&& v) {
    ::new (static_cast<void*>(storage_)) T(std::forward<U>(v));
    has_value_ = true;
  }
  T* value_ptr() noexcept { return std::launder(reinterpret_cast<T*>(storage_)); }

 private:
  alignas(T) unsigned char storage_[sizeof(T)];
};

template <>
class task_promise_storage<void> : public promise_base {
 public:
  void return_void() noexcept { has_value_ = true; }
};

template <class T>
class task_promise final : public task_promise_storage<T> {
 public:
  static void* operator new(std::size_t size) { return allocate_frame(size); }
  static void operator delete(void* p, std::size_t size) noexcept { deallocate_frame(p, size); }
  task<T> get_return_object() noexcept;
  std::suspend_always initial_suspend() const noexcept { return {}; }
  final_awaiter final_suspend() const noexcept { return {}; }
  void unhandled_exception() noexcept {
    this->exception_ = std::current_exception();
    // Ask the type instead of rethrowing: a throw costs a microsecond of
    // unwinding, and cancellation storms throw once per task already.
    const std::type_info* type = abi::__cxa_current_exception_type();
    this->cancelled_ = type && *type == typeid(cancelled_error);
  }
};

/// Hands a finished promise's outcome to its awaiter: moves (or copies) the
/// value out, or rethrows.
template <class T, bool Move>
decltype(auto) take_result(task_promise<T>& p) {
  if (p.exception_) {
    p.retrieved_ = true;
    std::rethrow_exception(p.exception_);
  }
  if constexpr (std::is_void_v<T>) {
    return;
  } else if constexpr (Move) {
    return T(std::move(*p.value_ptr()));
  } else {
    return T(*p.value_ptr());
  }
}

void report_never_awaited(void* frame) noexcept;

}  // namespace detail

/// A lazy coroutine returning T. Like a Python coroutine object: await it once,
/// or pass it to create_task. Move-only. Awaiting a consumed task throws
/// invalid_state_error. Destroying a task that never ran is reported in debug
/// builds ("coroutine was never awaited").
template <class T>
class [[nodiscard]] task {
 public:
  using promise_type = detail::task_promise<T>;
  using value_type = T;
  using handle_type = std::coroutine_handle<promise_type>;

  task() noexcept = default;
  explicit task(handle_type h) noexcept : h_(h) {}
  task(task&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  task& operator=(task&& o) noexcept {
    if (this != &o) {
      destroy();
      h_ = std::exchange(o.h_, {});
    }
    return *this;
  }
  ~task() { destroy(); }

  /// True while the task holds a coroutine that has not been consumed.
  bool valid() const noexcept { return h_ && h_.promise().state_ == detail::task_state::created; }

  struct awaiter {
    handle_type h;
    bool await_ready() const noexcept { return false; }
    // Runs the child inside this call rather than by symmetric transfer: GCC
    // turns symmetric transfer into a tail call only when optimising, so at -O0
    // or under sanitizers a loop of ready awaits would grow the stack. A child
    // that finishes here lets the parent continue without suspending.
    bool await_suspend(std::coroutine_handle<> parent) {
      auto& p = h.promise();
      p.continuation_ = parent;
      p.inline_ = true;
      h.resume();
      p.inline_ = false;
      return !p.completed_inline_;
    }
    decltype(auto) await_resume() { return detail::take_result<T, true>(h.promise()); }
  };

  /// Runs the coroutine inline in the awaiting task; returns its result or rethrows.
  awaiter operator co_await() && { return awaiter{consume()}; }
  awaiter operator co_await() & { return awaiter{consume()}; }

  /// Takes the coroutine out (create_task uses it). The task becomes empty.
  handle_type release() {
    if (!valid()) throw invalid_state_error("task was already awaited or handed to create_task");
    return std::exchange(h_, {});
  }

 private:
  handle_type consume() {
    if (!valid()) throw invalid_state_error("task was already awaited or handed to create_task");
    h_.promise().state_ = detail::task_state::pending;
    return h_;
  }
  void destroy() noexcept {
    if (!h_) return;
#ifndef NDEBUG
    if (h_.promise().state_ == detail::task_state::created) detail::report_never_awaited(h_.address());
#endif
    h_.destroy();
    h_ = {};
  }

  handle_type h_;
};

template <class T>
task<T> detail::task_promise<T>::get_return_object() noexcept {
  return task<T>(std::coroutine_handle<task_promise<T>>::from_promise(*this));
}

}  // namespace aio
