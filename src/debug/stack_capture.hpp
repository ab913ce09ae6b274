// SPDX-License-Identifier: MIT
#pragma once
// Taking a loop thread's stack from the watchdog thread: a real-time signal
// to the loop thread, whose handler (on an alternate signal stack) unwinds
// with libunwind into a preallocated slot. Nothing here allocates or locks in
// the handler; symbolising happens later, on the watchdog thread.

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

#include "aio/core/loop.hpp"

namespace aio::debug::detail {

/// What one capture brings back.
struct capture {
  static constexpr std::size_t max_frames = 64;
  static constexpr std::size_t max_name = 128;
  std::uintptr_t frames[max_frames];
  std::size_t depth = 0;
  char task_name[max_name];
  std::size_t name_len = 0;
  bool in_task = false;              // a task's step, not a callback
  const void* task_frame = nullptr;  // the task's frame (its default name), never dereferenced
  bool moved_on = false;             // the loop had left the step when the signal landed
};

/// A loop thread's capture channel: one per enabled detector, from a static
/// pool (the signal carries its index and a generation, so a late signal
/// never touches a reused or freed slot).
class capture_channel {
 public:
  /// Takes a free slot and readies `thread`'s alternate signal stack and the
  /// handler of `signo`. On the loop thread. Throws std::system_error.
  capture_channel(event_loop& loop, int signo);
  ~capture_channel();  // on the loop thread
  capture_channel(const capture_channel&) = delete;
  capture_channel& operator=(const capture_channel&) = delete;

  /// Asks the loop thread for its stack if it is still in step `steps`; waits
  /// up to `limit`. Watchdog thread. False when no capture came back in time
  /// (the capture is then abandoned; `out` is untouched).
  bool take(std::uint64_t steps, std::chrono::milliseconds limit, capture& out);

 private:
  std::size_t index_ = 0;
  pthread_t thread_;
  int signo_ = 0;
  void* altstack_ = nullptr;
  stack_t old_altstack_{};
};

}  // namespace aio::debug::detail
