// SPDX-License-Identifier: MIT
#include "inflight.hpp"

#include <memory>
#include <stdexcept>

#include "aio/fs/in_flight.hpp"

namespace aio::fs::detail {

namespace {
const char limiter_key = 0;  // its address names the extension
}  // namespace

inflight::inflight(event_loop& loop) noexcept : loop_(loop) {
  stall_.self = this;
  stall_.fire_ = &on_stall;
  // The pool (epoll backend) keeps its 4 threads busier with a deeper queue.
  limit_ = loop.backend_name() == "io_uring" ? max_in_flight_uring : max_in_flight_pool;
}

inflight::~inflight() {
  if (stall_.level_ >= 0) loop_.cancel_timer(stall_);
}

inflight& inflight::of(event_loop& loop) {
  if (loop_extension* e = loop.find_extension(&limiter_key)) return static_cast<inflight&>(*e);
  return static_cast<inflight&>(loop.add_extension(&limiter_key, std::make_unique<inflight>(loop)));
}

void inflight::enqueue(inflight_node& n) noexcept {
  n.woken = n.aborted = false;
  queue_.push_back(n);
  if (stall_.level_ < 0) arm_stall_timer();
}

void inflight::dequeue(inflight_node& n) noexcept { queue_.remove(n); }

void inflight::release() noexcept {
  --in_flight_;
  ++finished_;
  admit_waiters();
}

void inflight::set_limit(std::size_t n) noexcept {
  limit_ = n == 0 ? 1 : n;
  admit_waiters();
}

void inflight::admit_waiters() noexcept {
  // An admitted op that fails at once gives its slot back from inside admit_:
  // the outer loop goes on admitting, without recursion.
  if (admitting_) return;
  admitting_ = true;
  while (!queue_.empty() && in_flight_ < limit_) admit_front();
  admitting_ = false;
}

void inflight::admit_front() noexcept {
  auto* n = static_cast<inflight_node*>(queue_.pop_front());
  n->woken = true;
  ++in_flight_;
  n->admit_(n);
}

void inflight::arm_stall_timer() noexcept {
  finished_armed_ = finished_;
  loop_.add_timer(stall_, loop_.time() + stall_after_);
}

void inflight::on_stall(aio::detail::timer_node* t) noexcept {
  inflight& self = *static_cast<stall_timer*>(t)->self;
  if (self.queue_.empty()) return;  // nobody waits: the next enqueue arms it again
  // Nothing finished for a whole period: the ops in flight may be waiting for
  // one of the queued ones. Let the first one go beyond the bound.
  if (self.finished_ == self.finished_armed_) self.admit_front();
  if (!self.queue_.empty() && self.stall_.level_ < 0) self.arm_stall_timer();
}

// --- inflight_slot ---------------------------------------------------------------

inflight_slot::inflight_slot() noexcept {
  what_ = "a file-operation slot";
  admit_ = [](inflight_node* n) noexcept {
    auto* s = static_cast<inflight_slot*>(n);
    s->held_ = true;
    aio::detail::wake(*s->task);
  };
}

bool inflight_slot::acquire_awaiter::await_ready() {
  if (s.held_) return true;
  s.limiter_ = &inflight::of(aio::get_running_loop());
  s.held_ = s.limiter_->try_take();
  return s.held_;
}

void inflight_slot::acquire_awaiter::await_suspend(std::coroutine_handle<> h) {
  s.task = &aio::detail::enter_wait();
  s.limiter_->enqueue(s);
  s.task->suspend(h, &s);
}

}  // namespace aio::fs::detail

namespace aio::fs {

std::size_t max_in_flight() { return detail::inflight::of(get_running_loop()).limit(); }

void set_max_in_flight(std::size_t n) {
  if (n == 0) throw std::invalid_argument("set_max_in_flight: the bound must be at least 1");
  detail::inflight::of(get_running_loop()).set_limit(n);
}

}  // namespace aio::fs
