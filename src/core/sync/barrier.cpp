// SPDX-License-Identifier: MIT
#include "aio/core/barrier.hpp"

namespace aio {

struct barrier::block_awaiter : detail::wait_node {
  barrier* b;
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    what_ = "barrier";
    b->blocked_.suspend(*this, h);
  }
  void await_resume() const { resume_or_throw(); }
};

// Waiting in a filling round. Its outcome is decided when it is woken, so a
// task woken by a completed round returns its index even if the barrier is
// reset or aborted before it runs.
struct barrier::fill_awaiter : detail::wait_node {
  barrier* b;
  outcome result = outcome::pending;
  std::size_t index = 0;

  explicit fill_awaiter(barrier* bar) noexcept : b(bar) {
    cancel_ = [](detail::waiter* w) noexcept {
      auto* f = static_cast<fill_awaiter*>(w);
      f->b->fill_.remove(*f);
      f->aborted = true;
      f->b->leave();
      detail::wake(*f->task);
    };
  }
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) { b->fill_.suspend(*this, h); }
  std::size_t await_resume() const {
    resume_or_throw();
    return index;
  }
};

barrier::barrier(std::size_t parties) : parties_(parties) {
  if (parties == 0) throw std::invalid_argument("barrier: parties must be > 0");
}

// Indices are given out when a round completes, in arrival order, so they
// stay distinct even when a waiter was cancelled out of the round.
void barrier::wake_all(detail::wait_list& l, outcome o) noexcept {
  std::size_t index = 0;
  while (detail::wait_node* n = l.pop_front()) {
    if (&l == &fill_) {
      auto* f = static_cast<fill_awaiter*>(n);
      f->result = o;
      f->index = index++;
    }
    n->woken = true;
    detail::wake(*n->task);
  }
}

// A task leaves wait(): the last one out of a drained or reset round opens
// the barrier for the next round.
void barrier::leave() noexcept {
  --count_;
  if (count_ == 0 && (state_ == state::draining || state_ == state::resetting)) {
    state_ = state::filling;
    wake_all(blocked_, outcome::passed);
  }
}

task<std::size_t> barrier::wait() {
  while (state_ == state::draining || state_ == state::resetting) {
    block_awaiter w;
    w.b = this;
    co_await w;
  }
  if (state_ == state::broken) throw broken_barrier_error();
  if (++count_ == parties_) {
    std::size_t index = fill_.size();
    state_ = state::draining;
    wake_all(fill_, outcome::passed);
    leave();
    co_return index;
  }
  fill_awaiter w(this);
  std::size_t index;
  try {
    index = co_await w;
  } catch (...) {
    // Cancelled while queued: the cancel hook already left the round. A
    // cancel pending before the task could suspend has not.
    if (!w.aborted) leave();
    throw;
  }
  leave();
  if (w.result != outcome::passed) throw broken_barrier_error();
  co_return index;
}

void barrier::reset() noexcept {
  if (count_ > 0) {
    if (state_ != state::resetting) {
      state_ = state::resetting;
      wake_all(fill_, outcome::broken);
    }
  } else {
    state_ = state::filling;
    wake_all(blocked_, outcome::passed);
  }
}

void barrier::abort() noexcept {
  state_ = state::broken;
  wake_all(fill_, outcome::broken);
  wake_all(blocked_, outcome::broken);
}

}  // namespace aio
