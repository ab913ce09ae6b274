// SPDX-License-Identifier: MIT
#include "aio/core/task_group.hpp"

#include <string>

namespace aio {

namespace {
bool is_cancellation(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const cancelled_error&) {
    return true;
  } catch (...) {
    return false;
  }
}
// asyncio re-raises BaseExceptions (KeyboardInterrupt, SystemExit) on their own.
bool is_base_error(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const keyboard_interrupt&) {
    return true;
  } catch (...) {
    return false;
  }
}
}  // namespace

task_group::task_group() : loop_(&get_running_loop()), parent_(&detail::current_task_or_throw()) {
  entry_cancels_ = parent_->cancel_requests_;
  parent_->add_ref();
}

task_group::~task_group() {
  if (running_ > 0) {
    std::size_t n = running_;
    while (child* c = head_) {
      unlink(c);
      c->task->remove_done(*c);
      c->task->cancel();
      c->task->release();
      delete c;
    }
    running_ = 0;
    std::string msg = "task_group destroyed without join while " + std::to_string(n) +
                      " child task(s) were running; they were cancelled";
    report(msg.c_str(), nullptr);
  }
  if (!joined_)
    for (const auto& e : errors_) report("task_group destroyed without join: a child failed", e);
  parent_->release();
}

void task_group::report(const char* what, const std::exception_ptr& e) noexcept {
  try {
    loop_->call_exception_handler({what, e, parent_->name()});
  } catch (...) {  // the handler itself failed: nothing more to do from a destructor
  }
}

const char* task_group::closed_reason() const noexcept {
  if (joined_ || (exiting_ && running_ == 0)) return "task_group is finished";
  if (aborting_) return "task_group is shutting down";
  return nullptr;
}

void task_group::adopt(child* c, detail::promise_base& t) noexcept {
  c->group = this;
  c->task = &t;
  c->on_done_ = &on_child_done;
  t.add_ref();
  t.add_done(*c);
  c->next = head_;
  if (head_) head_->prev = c;
  head_ = c;
  ++running_;
}

void task_group::unlink(child* c) noexcept {
  if (c->prev)
    c->prev->next = c->next;
  else
    head_ = c->next;
  if (c->next) c->next->prev = c->prev;
  --running_;
}

void task_group::abort() noexcept {
  aborting_ = true;
  for (child* c = head_; c; c = c->next) {
    try {
      c->task->cancel();
    } catch (...) {  // cancel() allocates only for a message; none is given
    }
  }
}

void task_group::on_child_done(detail::done_node* n, detail::promise_base& p) noexcept {
  auto* c = static_cast<child*>(n);
  task_group* g = c->group;
  g->unlink(c);
  if (p.exception_ && !p.cancelled_) {
    p.retrieved_ = true;
    try {
      g->errors_.push_back(p.exception_);
    } catch (...) {
      p.retrieved_ = false;  // out of memory: let the task report it when it goes
    }
    if (!g->aborting_ && !g->parent_cancel_requested_) {
      g->abort();
      if (!g->parent_->done()) {
        g->parent_cancel_requested_ = true;
        g->parent_->cancel();
      }
    }
  }
  p.release();
  delete c;
  if (g->running_ == 0 && g->joiner_) {
    join_awaiter* j = g->joiner_;
    g->joiner_ = nullptr;
    detail::wake(*j->self_);
  }
}

task_group::join_awaiter task_group::join(std::exception_ptr body_error) noexcept {
  return join_awaiter(*this, std::move(body_error));
}

bool task_group::join_awaiter::await_suspend(std::coroutine_handle<> h) {
  task_group& g = *group_;
  if (g.joined_ || g.joiner_) throw invalid_state_error("task_group joined twice");
  self_ = &detail::current_task_or_throw();
  if (self_ != g.parent_)
    throw invalid_state_error("task_group must be joined by the task that created it");
  g.exiting_ = true;
  if (body_error_) {
    if (is_cancellation(body_error_)) received_cancel_ = true;
    if (!g.aborting_) g.abort();
  }
  if (self_->must_cancel_) {
    // A cancel that has not reached the body yet is delivered here.
    self_->must_cancel_ = false;
    received_cancel_ = true;
    if (!g.aborting_) g.abort();
  }
  if (g.running_ == 0) return false;
  cancel_ = &on_cancel;
  g.joiner_ = this;
  self_->suspend(h, this);
  return true;
}

void task_group::join_awaiter::on_cancel(detail::waiter* w) noexcept {
  auto* j = static_cast<join_awaiter*>(w);
  // Delivered, not thrown: the join keeps waiting for the children, and stays
  // cancellable so that a later cancel is counted too.
  j->self_->must_cancel_ = false;
  j->received_cancel_ = true;
  if (!j->group_->aborting_) j->group_->abort();
  j->self_->waiter_ = j;
}

void task_group::join_awaiter::await_resume() {
  task_group& g = *group_;
  g.joined_ = true;
  if (self_->must_cancel_) received_cancel_ = true;  // arrived after the wake-up
  // Whose cancellation was it? The group's own request is taken back; what
  // is left above the count at entry came from outside.
  bool outside = true;
  if (g.parent_cancel_requested_)
    outside = self_->uncancel() > g.entry_cancels_ || self_->must_cancel_;
  std::vector<std::exception_ptr> errors = std::move(g.errors_);
  g.errors_.clear();
  if (body_error_ && is_base_error(body_error_)) std::rethrow_exception(body_error_);
  for (const auto& e : errors)
    if (is_base_error(e)) std::rethrow_exception(e);
  if (received_cancel_ && outside) {
    for (const auto& e : errors)
      g.report("task_group: child failure discarded, the group was cancelled", e);
    if (body_error_ && is_cancellation(body_error_)) {
      self_->must_cancel_ = false;
      std::rethrow_exception(body_error_);
    }
    self_->throw_cancelled();
  }
  if (body_error_ && !is_cancellation(body_error_)) errors.push_back(body_error_);
  if (!errors.empty()) throw exception_group("unhandled errors in a task_group", std::move(errors));
}

}  // namespace aio
