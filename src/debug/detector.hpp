// SPDX-License-Identifier: MIT
#pragma once
// The blocking detector of one loop: its watchdog thread, the stall it is
// following, the rate limit, and the hand-off of the slow-step summary to
// the loop thread.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "aio/debug/blocking_detector.hpp"
#include "aio/core/detail/promise.hpp"
#include "stack_capture.hpp"
#include "symbolizer.hpp"

namespace aio::debug::detail {

class detector {
 public:
  using clock = std::chrono::steady_clock;

  /// On the loop thread; starts the watchdog.
  detector(event_loop& loop, blocking_detector_options options);
  /// On the loop thread; stops and joins the watchdog.
  ~detector();
  detector(const detector&) = delete;
  detector& operator=(const detector&) = delete;

  /// The loop thread has finished a step the watchdog flagged as stalled;
  /// `task` is the task it ran (suspended again, or done), or nullptr.
  void step_ended(aio::detail::promise_base* task) noexcept;
  blocking_detector_stats stats() const noexcept;

 private:
  struct stall {
    bool active = false;
    std::uint64_t steps = 0;  // the loop's step counter during the stall
    clock::time_point since;  // when the watchdog first saw that counter
    bool described = false;   // the first capture was symbolised (or failed)
    bool ended = false;       // the loop has left the step
    std::chrono::milliseconds duration{0};
    std::string task_name;
    std::string resumed_in;
    // Where the step left its task, as raw values the loop thread can take
    // without symbolising (that is the watchdog's job, off the loop).
    bool had_task = false, task_done = false, task_cancelled = false;
    std::uintptr_t suspended_fn = 0;    // the suspended frame's resume function
    std::uintptr_t suspended_hook = 0;  // its waiter's cancel hook
    std::string suspended_what;         // a wait_list primitive's own label
    std::vector<stack_frame> stack;
  };

  void watch();
  bool park();  // sleeps while the loop waits in its poller; false when stopping
  void report(std::uint64_t steps, std::chrono::milliseconds blocked, unsigned repeat);
  stall_report summary_locked();  // under m_; then finish_summary outside it
  void finish_summary(stall_report& r, const stall& raw);
  void log_due_summary();
  void log(stall_report& r);

  event_loop& loop_;
  aio::detail::loop_progress& progress_;
  blocking_detector_options options_;
  capture_channel channel_;

  std::mutex m_;
  std::condition_variable cv_;
  std::atomic<bool> stop_{false};
  stall stall_;  // under m_
  stall summary_raw_;  // under m_: what summary_locked took from stall_
  std::atomic<bool> summary_due_{false};  // the loop ended a described stall

  std::mutex log_mutex_;
  std::deque<clock::time_point> recent_;  // under log_mutex_: reports of the last minute
  std::uint64_t suppressed_since_ = 0;    // under log_mutex_

  std::atomic<std::uint64_t> stalls_{0}, reports_{0}, suppressed_{0};
  std::thread thread_;
};

}  // namespace aio::debug::detail
