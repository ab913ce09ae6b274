// SPDX-License-Identifier: MIT
#pragma once
// shield protects a task from the cancellation of its awaiter, like
// asyncio.shield: the awaiter gets cancelled_error at once, the shielded task
// runs on (the loop owns it) and can be awaited again later.
//
//   auto h = aio::create_task(commit());
//   co_await aio::shield(h);   // cancelling us does not cancel commit()

#include "aio/core/create_task.hpp"

namespace aio {

namespace detail {
template <class T>
struct shield_awaiter : done_node, waiter {
  task_handle<T> inner;
  promise_base* self = nullptr;
  bool aborted = false;

  explicit shield_awaiter(task_handle<T> h) noexcept : inner(std::move(h)) {
    on_done_ = [](done_node* n, promise_base&) noexcept { wake(*static_cast<shield_awaiter*>(n)->self); };
    cancel_ = [](waiter* w) noexcept {
      auto* s = static_cast<shield_awaiter*>(w);
      s->inner.promise()->remove_done(*s);
      s->aborted = true;
      wake(*s->self);
    };
  }
  bool await_ready() const noexcept { return inner.done(); }
  void await_suspend(std::coroutine_handle<> h) {
    self = &enter_wait();
    inner.promise()->add_done(*this);
    self->suspend(h, this);
  }
  T await_resume() {
    if (aborted) self->throw_cancelled();
    return inner.result();
  }
};
}  // namespace detail

/// Like `asyncio.shield(task)`: awaits `h` without letting a cancellation of
/// the awaiting task reach it. Cancelled, the awaiter throws cancelled_error
/// at once and `h` keeps running.
template <class T>
detail::shield_awaiter<T> shield(task_handle<T> h) {
  return detail::shield_awaiter<T>(std::move(h));
}
/// Like `asyncio.shield(coro)`: runs `t` as a task (create_task) and shields it.
template <class T>
detail::shield_awaiter<T> shield(task<T> t) {
  return detail::shield_awaiter<T>(create_task(std::move(t)));
}

}  // namespace aio
