// SPDX-License-Identifier: MIT
#include "aio/core/detail/wait_core.hpp"

namespace aio::detail {

namespace {
bool raised(const promise_base& t) noexcept { return t.done() && t.exception_ && !t.cancelled_; }
}  // namespace

wait_core::wait_core(std::vector<promise_base*> tasks, return_when when,
                     std::optional<event_loop::time_point> deadline)
    : nodes_(tasks.size()), deadline_(deadline), when_(when) {
  for (std::size_t i = 0; i < tasks.size(); ++i) nodes_[i].task = tasks[i];
}

wait_core::~wait_core() { stop(); }

bool wait_core::satisfied() const noexcept {
  std::size_t done = 0;
  for (const node& n : nodes_) {
    if (!n.task->done()) continue;
    ++done;
    if (when_ == return_when::first_completed) return true;
    if (when_ == return_when::first_exception && raised(*n.task)) return true;
  }
  return done == nodes_.size();
}

bool wait_core::await_suspend(std::coroutine_handle<> h) {
  self_ = &enter_wait();
  if (deadline_ && *deadline_ <= self_->loop_->time()) return false;  // timeout <= 0: report as is
  cancel_ = &on_cancel;
  fire_ = &on_deadline;
  pending_ = 0;
  for (node& n : nodes_) {
    if (n.task->done()) continue;
    ++pending_;
    n.owner = this;
    n.on_done_ = &on_task_done;
    n.task->add_done(n);
  }
  if (deadline_) {
    self_->loop_->add_timer(*this, *deadline_);
    armed_ = true;
  }
  self_->suspend(h, this);
  return true;
}

void wait_core::await_resume() {
  if (aborted_) self_->throw_cancelled();
}

void wait_core::stop() noexcept {
  for (node& n : nodes_)
    if (n.owner) {
      n.task->remove_done(n);
      n.owner = nullptr;
    }
  if (armed_) {
    self_->loop_->cancel_timer(*this);
    armed_ = false;
  }
}

void wait_core::on_task_done(done_node* d, promise_base& p) noexcept {
  auto* n = static_cast<node*>(d);
  wait_core* w = n->owner;
  n->owner = nullptr;  // promise_base::finish already unlinked it
  --w->pending_;
  bool wake_now = w->pending_ == 0 || w->when_ == return_when::first_completed ||
                  (w->when_ == return_when::first_exception && raised(p));
  if (!wake_now) return;
  w->stop();
  wake(*w->self_);
}

void wait_core::on_deadline(timer_node* t) noexcept {
  auto* w = static_cast<wait_core*>(t);
  w->armed_ = false;  // the wheel already dropped it
  w->stop();
  wake(*w->self_);
}

void wait_core::on_cancel(waiter* wt) noexcept {
  auto* w = static_cast<wait_core*>(wt);
  w->aborted_ = true;
  w->stop();
  wake(*w->self_);
}

}  // namespace aio::detail
