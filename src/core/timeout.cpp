// SPDX-License-Identifier: MIT
#include "aio/core/timeout.hpp"

namespace aio {

void timeout_scope::enter() {
  if (state_ != state::created) throw invalid_state_error("a timeout scope can be run only once");
  task_ = &detail::current_task_or_throw();
  cancelling_ = task_->cancel_requests_;
  state_ = state::entered;
  arm();
}

void timeout_scope::arm() {
  if (!when_) return;
  timer_.scope = this;
  timer_.fire_ = &on_deadline;
  task_->loop_->add_timer(timer_, *when_);
}

void timeout_scope::disarm() noexcept {
  if (task_ && timer_.level_ >= 0) task_->loop_->cancel_timer(timer_);
}

void timeout_scope::on_deadline(detail::timer_node* t) noexcept {
  timeout_scope* s = static_cast<timer*>(t)->scope;
  s->state_ = state::expiring;
  s->task_->cancel();
}

void timeout_scope::reschedule(std::optional<time_point> when) {
  if (state_ != state::created && state_ != state::entered)
    throw invalid_state_error("cannot reschedule a timeout scope that has expired or exited");
  when_ = when;
  if (state_ == state::entered) {
    disarm();
    arm();
  }
}

bool timeout_scope::exit(bool cancelled) noexcept {
  disarm();
  if (state_ == state::expiring) {
    state_ = state::expired;
    return task_->uncancel() <= cancelling_ && cancelled;
  }
  if (state_ == state::entered) state_ = state::exited;
  return false;
}

}  // namespace aio
