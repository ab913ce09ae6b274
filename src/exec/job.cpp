// SPDX-License-Identifier: MIT
#include "aio/exec/detail/job.hpp"

#include <chrono>
#include <cstdio>
#include <string>

namespace aio::detail {

void job_base::execute() noexcept {
  std::uint8_t expected = queued;
  if (state_.compare_exchange_strong(expected, running, std::memory_order_acq_rel)) {
    invoke();
    complete();
  }
}

bool job_base::claim() noexcept {
  std::uint8_t expected = queued;
  return state_.compare_exchange_strong(expected, running, std::memory_order_acq_rel);
}

void job_base::complete() noexcept {
  state_.store(finished, std::memory_order_release);
  publish(true);
}

bool job_base::drop(bool notify_awaiter) noexcept {
  std::uint8_t expected = queued;
  if (!state_.compare_exchange_strong(expected, dropped, std::memory_order_acq_rel)) return false;
  // The CAS made this thread the only owner of the callable and the outcome.
  discard();
  exception_ = std::make_exception_ptr(cancelled_error());
  publish(notify_awaiter);
  return true;
}

void job_base::publish(bool notify_awaiter) noexcept {
  std::uint32_t before = flags_.fetch_or(done_bit, std::memory_order_acq_rel);
  if ((before & awaiting_bit) && notify_awaiter) {
    // The awaiter published link_ and task_ before awaiting_bit (acquire above).
    add_ref();
    job_ref ref(this);
    std::lock_guard lock(link_->mutex);
    if (link_->loop) {
      try {
        link_->loop->call_soon_threadsafe(std::move(ref));
      } catch (...) {
        // Out of memory queueing the hand-back: the awaiter cannot be woken.
        std::fputs("aio: executor job could not hand its result back to its loop\n", stderr);
      }
    }
  }
  flags_.notify_all();
}

bool job_base::spin_briefly() const noexcept {
  if (!spin_) return done();
  // Up to 4 µs: about what the loop itself spends on one hand-back (eventfd
  // write, wake-up, poll re-arm), so a job that is not done by then costs the
  // loop at most twice, and a quick one costs it nothing but this. A job no
  // worker picked up within 1 µs waits behind others: no spinning for it.
  auto start = std::chrono::steady_clock::now();
  auto picked_up_by = start + std::chrono::microseconds(1);
  auto until = start + std::chrono::microseconds(4);
  for (unsigned i = 1;; ++i) {
    if (done()) return true;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
    if (i % 8 == 0) {
      auto now = std::chrono::steady_clock::now();
      if (now >= until || (now >= picked_up_by && state() == queued)) return false;
    }
  }
}

void job_base::wait_done() const noexcept {
  for (std::uint32_t f = flags_.load(std::memory_order_acquire); !(f & done_bit);
       f = flags_.load(std::memory_order_acquire))
    flags_.wait(f, std::memory_order_acquire);
}

bool job_base::start_await(promise_base& t) {
  if (flags_.load(std::memory_order_relaxed) & (awaiting_bit | retrieved_bit))
    throw invalid_state_error("concurrent_future: already awaited or its result already taken");
  link_ = link_of(*t.loop_);
  task_ = &t;
  std::uint32_t before = flags_.fetch_or(awaiting_bit, std::memory_order_acq_rel);
  return !(before & done_bit);
}

void job_base::abandon() noexcept {
  abandoned_ = true;
  if (!drop(false)) stop_.request_stop();
}

void job_base::deliver() noexcept {
  if (abandoned_) return;
  wake(*task_);
}

void job_base::retrieve() {
  if (flags_.fetch_or(retrieved_bit, std::memory_order_acq_rel) & retrieved_bit)
    throw invalid_state_error("concurrent_future: the result was already taken");
}

}  // namespace aio::detail
