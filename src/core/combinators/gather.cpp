// SPDX-License-Identifier: MIT
#include "aio/core/detail/gather_core.hpp"

namespace aio::detail {

bool gather_core::all_done(const gather_child* c, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i)
    if (!c[i].task().done()) return false;
  return true;
}

bool gather_core::suspend(std::coroutine_handle<> h, gather_child* c, std::size_t n) {
  self_ = &current_task_or_throw();
  children_ = c;
  count_ = n;
  cancel_ = &on_cancel;
  pending_ = 0;
  // Children that finished before the await: their order is unknown, so the
  // first failure is taken in argument order.
  for (std::size_t i = 0; i < n; ++i) {
    promise_base& t = c[i].task();
    if (!t.done())
      ++pending_;
    else if (t.exception_ && failed_ == SIZE_MAX)
      failed_ = i;
  }
  if (self_->must_cancel_) {
    // A cancel that was pending when we got here cancels the children too.
    cancelling_ = true;
    cancel_children(self_->extras_ ? self_->extras_->cancel_message : std::string_view{});
  } else if (failed_ != SIZE_MAX) {
    if (mode_ == gather_mode::propagate) return false;
    if (mode_ == gather_mode::cancel_on_error) cancel_children({});
  }
  if (pending_ == 0) return false;
  for (std::size_t i = 0; i < n; ++i) {
    promise_base& t = c[i].task();
    if (t.done()) continue;
    c[i].owner = this;
    c[i].on_done_ = &on_child_done;
    t.add_done(c[i]);
  }
  self_->suspend(h, this);
  return true;
}

void gather_core::on_child_done(done_node* n, promise_base& p) noexcept {
  auto* child = static_cast<gather_child*>(n);
  gather_core* g = child->owner;
  g->child_done(p, static_cast<std::size_t>(child - g->children_));
}

void gather_core::child_done(promise_base& p, std::size_t index) noexcept {
  --pending_;
  if (p.exception_ && failed_ == SIZE_MAX) {
    failed_ = index;
    if (!cancelling_) {
      if (mode_ == gather_mode::propagate) {
        finish();  // asyncio: the first failure reaches the awaiter at once
        return;
      }
      if (mode_ == gather_mode::cancel_on_error) cancel_children({});
    }
  }
  if (pending_ == 0) finish();
}

void gather_core::on_cancel(waiter* w) noexcept {
  auto* g = static_cast<gather_core*>(w);
  g->cancelling_ = true;
  promise_base* self = g->self_;
  self->waiter_ = g;  // still cancellable: a later cancel reaches the children again (cleared if they all end now)
  g->cancel_children(self->extras_ ? self->extras_->cancel_message : std::string_view{});
  // Keep waiting: the awaiter resumes once every child has finished.
}

void gather_core::cancel_children(std::string_view msg) noexcept {
  for (std::size_t i = 0; i < count_; ++i) {
    promise_base& t = children_[i].task();
    if (!t.done()) {
      try {
        t.cancel(msg);
      } catch (...) {  // only a failed allocation of the message copy
        t.cancel();
      }
    }
  }
}

void gather_core::finish() noexcept {
  finished_ = true;
  for (std::size_t i = 0; i < count_; ++i) {
    promise_base& t = children_[i].task();
    t.remove_done(children_[i]);
    // asyncio's gather retrieves the exceptions of children that fail after
    // it has raised: they are not reported as "never retrieved" either.
    t.retrieved_ = true;
  }
  wake(*self_);
}

void gather_core::check(gather_child* c, std::size_t n) {
  if (failed_ == SIZE_MAX) {
    for (std::size_t i = 0; i < n; ++i)
      if (c[i].task().done() && c[i].task().exception_) {
        failed_ = i;
        break;
      }
  }
  // The gather looked at every finished child's outcome (asyncio retrieves them too).
  for (std::size_t i = 0; i < n; ++i)
    if (c[i].task().done()) c[i].task().retrieved_ = true;
  if (cancelling_) self_->throw_cancelled();
  if (mode_ != gather_mode::return_exceptions && failed_ != SIZE_MAX)
    std::rethrow_exception(c[failed_].task().exception_);
}

}  // namespace aio::detail
