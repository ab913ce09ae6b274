// SPDX-License-Identifier: MIT
#include "aio/core/detail/promise.hpp"

#include <cstdio>

#include "aio/core/create_task.hpp"

namespace aio::detail {

promise_base::~promise_base() {
  if (spawned() && exception_ && !retrieved_ && !cancelled_) {
    exception_context c{"Task exception was never retrieved", exception_, name(), creation_point()};
    if (event_loop* l = running_loop_) l->call_exception_handler(c);
    else std::fprintf(stderr, "aio: %s\n  task: %s (created at %s)\n  exception: %s\n", c.message.c_str(),
                      c.task_name.c_str(), c.created_at.c_str(), describe(c.exception).c_str());
  }
  delete extras_;
}

task_extras& promise_base::extras() {
  if (!extras_) extras_ = new task_extras;
  return *extras_;
}

std::string promise_base::name() const {
  if (extras_ && !extras_->name.empty()) return extras_->name;
  char buf[32];
  std::snprintf(buf, sizeof buf, "Task-%p", continuation_.address());
  return buf;
}

std::string promise_base::creation_point() const {
  if (!created_at_.line()) return {};
  return std::string(created_at_.file_name()) + ":" + std::to_string(created_at_.line()) + " in " +
         created_at_.function_name();
}

void promise_base::throw_cancelled() {
  must_cancel_ = false;
  throw cancelled_error(extras_ ? extras_->cancel_message : std::string());
}

bool promise_base::cancel(std::string_view msg) {
  if (done()) return false;
  ++cancel_requests_;
  must_cancel_ = true;
  if (!msg.empty()) extras().cancel_message = std::string(msg);
  if (waiter_) {
    waiter* w = waiter_;
    waiter_ = nullptr;
    w->cancel_(w);
  }
  return true;
}

void promise_base::finish() noexcept {
  if (must_cancel_ && !exception_) {
    // Cancelled after its last suspension: it ends cancelled, as in asyncio
    // (Task.__step cancels a coroutine that returns with _must_cancel set).
    must_cancel_ = false;
    exception_ = std::make_exception_ptr(cancelled_error(extras_ ? extras_->cancel_message : std::string()));
    cancelled_ = true;
  }
  state_ = task_state::done;
  waiter_ = nullptr;
  event_loop* loop = loop_;
  auto& progress = loop->progress();
  progress.last_done = this;
  if (progress.stalled.load(std::memory_order_relaxed)) [[unlikely]]
    loop->end_stall(this);  // still alive: the report can name it
  loop->unlink_task(*this);
  while (done_node* n = done_head_) {
    remove_done(*n);
    n->on_done_(n, *this);
  }
  if (extras_ && !extras_->callbacks.empty()) {
    for (auto& cb : extras_->callbacks) loop->call_soon(std::move(cb));
    extras_->callbacks.clear();
  }
  // The frame may be destroyed now, and parameters' destructors run after
  // the promise's: whatever they do is no longer this task's (the blocking
  // detector's signal handler must not read its freed name).
  if (loop->current_task() == this) loop->set_current_task(nullptr);
  release();
}

void promise_base::finish_unstarted() noexcept {
  exception_ = std::make_exception_ptr(cancelled_error(extras_ ? extras_->cancel_message : std::string()));
  cancelled_ = true;
  finish();
}

void promise_base::run_task(ready_node* n) noexcept {
  auto* t = static_cast<promise_base*>(n);
  if (!t->started_) {
    t->started_ = true;
    if (t->must_cancel_) {
      t->finish_unstarted();
      return;
    }
  }
  event_loop* loop = t->loop_;
  auto& progress = loop->progress();
  // Cleared per step: a new task may reuse the address of one that finished
  // in an earlier step.
  progress.last_done = nullptr;
  promise_base* prev = loop->current_task();
  loop->set_current_task(t);
  t->waiter_ = nullptr;  // whatever it waited on is over once it runs
  t->resume_.resume();
  loop->set_current_task(prev);
  // A step the watchdog flagged: the detector reports where the task
  // suspended. A task that finished in this step told it already (its
  // frame may be gone now).
  if (progress.stalled.load(std::memory_order_relaxed)) [[unlikely]]
    loop->end_stall(progress.last_done == t ? nullptr : t);
}

promise_base& current_task_or_throw() {
  if (!running_loop_) throw invalid_state_error("awaited outside a running event loop (start it with aio::run)");
  if (!running_loop_->current_task()) throw invalid_state_error("awaited outside a task");
  return *running_loop_->current_task();
}

void report_never_awaited(void* frame) noexcept {
  char buf[160];
  std::snprintf(buf, sizeof buf,
                "task (coroutine frame %p) was destroyed without being awaited or passed to create_task",
                frame);
  if (event_loop* l = running_loop_) l->call_exception_handler({buf, nullptr, {}});
  else std::fprintf(stderr, "aio: %s\n", buf);
}

}  // namespace aio::detail

namespace aio {

void detail::handle_wait::await_suspend(std::coroutine_handle<> h) {
  if (target->loop_ != running_loop_)
    throw invalid_state_error("awaiting task '" + target->name() + "', which belongs to another event loop");
  self = &enter_wait();
  if (self == target) throw invalid_state_error("task '" + target->name() + "' cannot await itself");
  target->add_done(*this);
  self->suspend(h, this);
}

task_handle<> current_task() noexcept {
  event_loop* l = detail::running_loop_;
  detail::promise_base* p = l ? l->current_task() : nullptr;
  if (!p) return {};
  p->add_ref();
  return task_handle<>(p, std::false_type{});
}

std::vector<task_handle<>> all_tasks() {
  std::vector<task_handle<>> out;
  event_loop& l = get_running_loop();
  out.reserve(l.task_count());
  for (detail::promise_base* p = l.first_task(); p; p = p->task_next_) {
    p->add_ref();
    out.emplace_back(p, std::false_type{});
  }
  return out;
}

}  // namespace aio
