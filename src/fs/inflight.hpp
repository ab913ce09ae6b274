// SPDX-License-Identifier: MIT
#pragma once
// The per-loop bound on file operations in flight. Every file_io_awaiter but
// a close takes a slot for the time its op is in the kernel (or on the pool);
// read_file takes one for its whole open..close (inflight_slot), so a gather
// of 10,000 read_file holds at most `limit` fds and buffers at once and hands
// the kernel bursts of at most `limit` ops: the loop's timers and other tasks
// run between them. Beyond the bound an op waits in a FIFO (intrusive: the
// node is in the awaiter) and starts as soon as a slot frees up; cancelling a
// waiting op just takes it out of the queue.
//
// Closes never wait (a close is what frees an fd). An op that may wait
// forever (a read of an empty FIFO) holds its slot meanwhile: when no file
// operation of the loop has finished for `stall_after` while others wait, the
// first waiter starts anyway (one more per further stall), so a full set of
// such ops cannot block the one that would end them.

#include <chrono>
#include <cstddef>

#include "aio/core/detail/promise.hpp"
#include "aio/core/detail/wait_list.hpp"
#include "aio/core/loop.hpp"

namespace aio::fs::detail {

/// Slots per loop: enough to keep io_uring or the pool busy, few enough to
/// bound fds, buffers and io-wq workers. Measured on 10,000 cached files of
/// 4 KiB read at once: io_uring is as fast with 32 to 128 slots as a plain
/// synchronous loop; the pool's threads idle less with 128 than with 64.
inline constexpr std::size_t max_in_flight_uring = 64;
inline constexpr std::size_t max_in_flight_pool = 128;

/// How long the queue waits without any completion before it admits one op
/// beyond the bound.
inline constexpr auto stall_after = std::chrono::milliseconds(50);

/// A place in the FIFO (the core's wait_list), inside the waiting awaiter.
struct inflight_node : aio::detail::wait_node {
  /// Runs (on the loop thread) when the node is given its slot.
  void (*admit_)(inflight_node*) noexcept = nullptr;
};

/// The limiter of one loop (a loop extension, made on first use).
class inflight final : public loop_extension {
 public:
  explicit inflight(event_loop& loop) noexcept;
  ~inflight() override;
  inflight(const inflight&) = delete;
  inflight& operator=(const inflight&) = delete;

  /// The limiter of `loop`. Loop thread only.
  static inflight& of(event_loop& loop);

  /// Takes a slot when one is free and nobody waits; false otherwise.
  bool try_take() noexcept {
    if (!queue_.empty() || in_flight_ >= limit_) return false;
    ++in_flight_;
    return true;
  }
  /// Queues `n` (FIFO); admit_ runs once it holds a slot.
  void enqueue(inflight_node& n) noexcept;
  /// Takes a queued node out (its wait was cancelled): it never gets a slot.
  void dequeue(inflight_node& n) noexcept;
  /// Gives a slot back: the first waiters get it.
  void release() noexcept;

  std::size_t in_flight() const noexcept { return in_flight_; }
  std::size_t waiting() const noexcept { return queue_.size(); }
  std::size_t limit() const noexcept { return limit_; }
  /// Changes the bound (tests); waiters are admitted at once if it grew.
  void set_limit(std::size_t n) noexcept;
  /// Changes the stall period (tests; from the next time the timer is armed).
  void set_stall_after(event_loop::duration d) noexcept { stall_after_ = d; }

 private:
  void admit_waiters() noexcept;
  void admit_front() noexcept;
  void arm_stall_timer() noexcept;
  static void on_stall(aio::detail::timer_node* t) noexcept;

  struct stall_timer : aio::detail::timer_node {
    inflight* self = nullptr;
  };

  event_loop& loop_;
  stall_timer stall_;
  aio::detail::wait_list queue_;
  std::size_t in_flight_ = 0;
  std::size_t limit_ = max_in_flight_uring;
  event_loop::duration stall_after_ = stall_after;
  std::uint64_t finished_ = 0;       // slots given back so far
  std::uint64_t finished_armed_ = 0;  // finished_ when the stall timer was armed
  bool admitting_ = false;
};

/// One slot held for a whole job (read_file's open, reads and close), given
/// back by the destructor or release(). The ops of the job set
/// file_io_awaiter::admitted so that they do not take a second slot.
///   inflight_slot slot; co_await slot.acquire();
/// The wait is cancel-safe: a cancelled wait holds nothing (the wait_node's
/// own cancel hook takes it out of the queue).
class inflight_slot : inflight_node {
 public:
  inflight_slot() noexcept;
  ~inflight_slot() { release(); }
  inflight_slot(const inflight_slot&) = delete;
  inflight_slot& operator=(const inflight_slot&) = delete;

  struct acquire_awaiter {
    inflight_slot& s;
    bool await_ready();
    void await_suspend(std::coroutine_handle<> h);
    void await_resume() const { s.resume_or_throw(); }
  };
  /// Waits for a slot of the running loop (at once when one is free).
  acquire_awaiter acquire() noexcept { return {*this}; }
  /// Gives the slot back now (idempotent).
  void release() noexcept {
    if (held_) {
      held_ = false;
      limiter_->release();
    }
  }
  bool held() const noexcept { return held_; }

 private:
  inflight* limiter_ = nullptr;
  bool held_ = false;
};

}  // namespace aio::fs::detail
