// SPDX-License-Identifier: MIT
#pragma once
// `aio::barrier` is asyncio.Barrier: `parties` tasks wait until all have
// arrived, then all proceed together. It is cyclic: once the tasks of one
// round have left, the next round fills. Tasks arriving while a round is
// still leaving wait for it to finish first.
//
//   aio::barrier b(3);
//   std::size_t i = co_await b.wait();   // 0, 1 or 2: the arrival index
//
// Not thread-safe: use it from the loop's own thread.

#include <coroutine>
#include <cstddef>
#include <stdexcept>

#include "aio/core/detail/wait_list.hpp"
#include "aio/core/task.hpp"

namespace aio {

/// A barrier was aborted or reset while a task waited on it, or is broken.
/// Like `asyncio.BrokenBarrierError`.
class broken_barrier_error : public std::runtime_error {
 public:
  broken_barrier_error() : std::runtime_error("barrier is broken") {}
  using std::runtime_error::runtime_error;
};

/// Like `asyncio.Barrier`. Loop thread only.
class barrier {
 public:
  /// Like `asyncio.Barrier(parties)`. Throws std::invalid_argument if parties == 0.
  explicit barrier(std::size_t parties);
  barrier(const barrier&) = delete;
  barrier& operator=(const barrier&) = delete;

  /// Like `await Barrier.wait()`: waits until `parties` tasks are waiting,
  /// then returns this task's arrival index (0 … parties-1, distinct within
  /// a round; unlike asyncio, also when a waiter was cancelled out). Throws
  /// broken_barrier_error if the barrier is broken, or is aborted or reset
  /// while this task waits. Cancel-safe: a task cancelled while the round
  /// fills leaves it (n_waiting() drops by one) and throws cancelled_error;
  /// a task whose round was already complete when cancelled returns its
  /// index (the cancel lands at its next suspension point).
  task<std::size_t> wait();
  /// Like `Barrier.reset()`: returns the barrier to its empty state. Tasks
  /// waiting in the current round get broken_barrier_error.
  void reset() noexcept;
  /// Like `Barrier.abort()`: breaks the barrier. Every waiting task and every
  /// later wait() throws broken_barrier_error, until reset().
  void abort() noexcept;
  /// Like `Barrier.parties`.
  std::size_t parties() const noexcept { return parties_; }
  /// Like `Barrier.n_waiting`: tasks waiting for the current round to fill.
  std::size_t n_waiting() const noexcept { return state_ == state::filling ? count_ : 0; }
  /// Like `Barrier.broken`.
  bool broken() const noexcept { return state_ == state::broken; }

 private:
  enum class state { filling, draining, resetting, broken };
  enum class outcome { pending, passed, broken };
  struct block_awaiter;
  struct fill_awaiter;

  void leave() noexcept;
  void wake_all(detail::wait_list& l, outcome o) noexcept;

  detail::wait_list fill_;     // arrived, waiting for the round to complete
  detail::wait_list blocked_;  // arrived while the previous round drains or resets
  std::size_t parties_;
  std::size_t count_ = 0;  // tasks inside wait() past the block (asyncio's _count)
  state state_ = state::filling;
};

}  // namespace aio
