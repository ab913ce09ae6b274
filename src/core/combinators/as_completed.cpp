// SPDX-License-Identifier: MIT
#include "aio/core/detail/as_completed_core.hpp"

namespace aio::detail {

as_completed_core::as_completed_core(std::vector<promise_base*> tasks,
                                     std::optional<event_loop::time_point> deadline)
    : nodes_(tasks.size()), order_(tasks.size()), loop_(&get_running_loop()) {
  fire_ = &on_deadline;
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    node& n = nodes_[i];
    n.owner = this;
    n.task = tasks[i];
    n.on_done_ = &on_task_done;
    if (n.task->done()) {
      push(i);
    } else {
      n.task->add_done(n);
      n.linked = true;
    }
  }
  if (deadline && tail_ < nodes_.size()) loop_->add_timer(*this, *deadline);
}

as_completed_core::~as_completed_core() {
  unlink_all();
  loop_->cancel_timer(*this);
}

void as_completed_core::unlink_all() noexcept {
  for (node& n : nodes_)
    if (n.linked) {
      n.task->remove_done(n);
      n.linked = false;
    }
}

void as_completed_core::push(std::size_t index) noexcept {
  order_[tail_++] = index;
  if (next_awaiter* w = waiting_) {
    waiting_ = nullptr;
    wake(*w->self_);
  }
}

void as_completed_core::on_task_done(done_node* d, promise_base&) noexcept {
  auto* n = static_cast<node*>(d);
  n->linked = false;  // promise_base::finish unlinked it
  as_completed_core* c = n->owner;
  c->push(static_cast<std::size_t>(n - c->nodes_.data()));
  if (c->tail_ == c->nodes_.size()) c->loop_->cancel_timer(*c);
}

void as_completed_core::on_deadline(timer_node* t) noexcept {
  auto* c = static_cast<as_completed_core*>(t);
  c->timed_out_ = true;
  c->unlink_all();  // asyncio stops watching at the deadline
  if (next_awaiter* w = c->waiting_) {
    c->waiting_ = nullptr;
    wake(*w->self_);
  }
}

std::optional<std::size_t> as_completed_core::take() {
  if (head_ < tail_) return order_[head_++];
  if (remaining() == 0) return std::nullopt;
  ++timeouts_;  // as asyncio: one TimeoutError per task that did not finish in time
  throw timeout_error();
}

void as_completed_core::next_awaiter::await_suspend(std::coroutine_handle<> h) {
  if (core_->waiting_)
    throw invalid_state_error("as_completed: next() is already awaited by another task");
  self_ = &enter_wait();
  cancel_ = &on_cancel;
  core_->waiting_ = this;
  self_->suspend(h, this);
}

void as_completed_core::next_awaiter::on_cancel(waiter* w) noexcept {
  auto* a = static_cast<next_awaiter*>(w);
  a->core_->waiting_ = nullptr;
  a->aborted_ = true;
  wake(*a->self_);
}

std::optional<std::size_t> as_completed_core::next_awaiter::await_resume() {
  if (aborted_) self_->throw_cancelled();
  return core_->take();
}

}  // namespace aio::detail
