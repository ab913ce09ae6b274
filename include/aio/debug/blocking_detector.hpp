// SPDX-License-Identifier: MIT
#pragma once
// The blocking detector: a watchdog thread that notices when a loop has not
// come back from a step (a task resumption or a callback) for longer than a
// threshold, and reports *while it blocks* where the loop thread is: the
// loop thread's stack, captured by a signal and symbolised to function, file
// and line. CPU loops and sleeping system calls are caught alike. A long
// stall is reported again at 2x, 4x, 8x… the threshold; when the step ends,
// the loop itself logs a slow-step summary (asyncio's slow_callback_duration
// warning, with the place named).
//
//   aio::debug::enable_blocking_detector(loop, {.threshold = 50ms});
//
// Or for every loop of a program linked with aiocpp::debug: AIO_SLOW_STEP_MS=100.
//
// Cost: the loop publishes a step counter (one relaxed store and one relaxed
// load per step, no clock read); the watchdog samples it every threshold/4
// while the loop runs and sleeps (on a futex) while the loop waits for I/O,
// so an idle loop costs nothing and is never reported.
//
// The capture signal (a real-time signal, SIGRTMIN+6 by default) interrupts
// the blocked system call on the loop thread: calls that restart (SA_RESTART)
// go on; calls Linux never restarts (nanosleep goes on through its remaining
// time in std::this_thread::sleep_for; poll, epoll_wait, select) may return EINTR.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "aio/core/loop.hpp"

namespace aio::debug {

/// One frame of a captured stack, innermost first.
struct stack_frame {
  std::uintptr_t address = 0;
  std::string function;  // demangled; empty when no symbol covers the address
  std::string file;      // empty without debug information
  int line = 0;
  std::string module;  // the executable or shared library
};

/// What the detector tells its logger.
struct stall_report {
  enum class kind {
    stalled,    ///< the loop is blocked right now (the first report of a stall, or a repeat)
    slow_step,  ///< a stalled step has ended (asyncio's "Executing <Task…> took 0.3 seconds")
  };
  kind what = kind::stalled;
  /// Empty when the step was a callback (call_soon, call_later), not a task.
  std::string task_name;
  /// Stalled: how long the step has run so far; slow_step: its whole length.
  /// Measured from the watchdog's first sight of the step, so up to a quarter
  /// of the threshold short.
  std::chrono::milliseconds duration{0};
  std::chrono::milliseconds threshold{0};
  /// 0: the first report of this stall; k: the repeat at 2^k times the threshold.
  unsigned repeat = 0;
  /// Reports the rate limit dropped since the previous report.
  std::uint64_t suppressed = 0;
  /// The coroutine the step resumed (the outermost coroutine body on the
  /// stack): "function at file:line"; empty for a callback.
  std::string resumed_in;
  /// slow_step of a task: where the step left it — "function at file:line,
  /// waiting on socket read" — or "(the task finished)".
  std::string suspended_in;
  /// The loop thread's stack during the stall (for a slow_step, as first
  /// taken); empty when it could not be taken in time.
  std::vector<stack_frame> stack;
  /// The report as the default logger writes it (several lines, no trailing newline).
  std::string text() const;
};

/// Options of enable_blocking_detector.
struct blocking_detector_options {
  /// A step running longer than this is a stall (asyncio's slow_callback_duration, 100 ms).
  std::chrono::milliseconds threshold{100};
  /// Rate limit: at most this many reports per minute per loop; the rest are
  /// counted (stall_report::suppressed) and dropped. Slow-step summaries count too.
  unsigned max_reports_per_minute = 20;
  /// Where reports go; called from the watchdog thread (live reports) and
  /// from the loop thread (slow-step summaries), never concurrently. Default:
  /// stall_report::text() on stderr.
  std::function<void(const stall_report&)> logger;
  /// The signal used to capture the stack: a real-time one (SIGRTMIN to
  /// SIGRTMAX; std::invalid_argument otherwise), 0 for SIGRTMIN+6. Its
  /// handler is installed process-wide on first use and kept.
  int signal = 0;
};

/// What the detector of a loop has seen so far.
struct blocking_detector_stats {
  std::uint64_t stalls = 0;      ///< distinct stalled steps (each counted once, however long)
  std::uint64_t reports = 0;     ///< reports handed to the logger
  std::uint64_t suppressed = 0;  ///< reports dropped by the rate limit
  /// Sampled step durations while the detector ran: one step in 64 is timed
  /// (so the cost stays off the other 63); bucket 0 counts samples under
  /// 1 µs, bucket i samples in [2^(i-1), 2^i) µs, the last one all longer.
  std::vector<std::uint64_t> step_histogram;
  /// How many steps one sample stands for (64).
  std::uint64_t steps_per_sample = 0;
};

/// Starts a blocking detector on `loop` (replacing one already there, with
/// the new options). Like `loop.set_debug(True)` with
/// `loop.slow_callback_duration`, and beyond it: asyncio's debug mode only
/// says afterwards which step was slow, not where it blocked. Not a
/// coroutine: nothing to cancel. The first call of a process reads the
/// program's debug information (tens of milliseconds, on the calling
/// thread). Loop thread only (invalid_state_error otherwise); throws
/// std::invalid_argument for a threshold under 1 ms or a signal that is not
/// a real-time one, std::system_error when
/// the watchdog thread, the alternate signal stack or the signal cannot be set up.
void enable_blocking_detector(event_loop& loop, blocking_detector_options options = {});

/// Stops the detector of `loop` (joins its watchdog); false if it had none.
/// Like `loop.set_debug(False)`. Loop thread only (invalid_state_error).
bool disable_blocking_detector(event_loop& loop);

/// Whether `loop` has a detector. Like `loop.get_debug()`. Loop thread only (invalid_state_error).
bool blocking_detector_enabled(event_loop& loop);

/// The detector's counters (no asyncio equivalent); all zero when `loop`
/// has none. Loop thread only (invalid_state_error).
blocking_detector_stats blocking_detector_stats_of(event_loop& loop);

/// AIO_SLOW_STEP_MS as a threshold, 0 ms meaning "no detector": when unset,
/// "0", or not a non-negative number (then also said on stderr). Every new
/// loop of a program linked with aiocpp::debug gets a detector with this
/// threshold when it is not 0 (as PYTHONASYNCIODEBUG turns on debug mode).
/// Never throws; any thread.
std::chrono::milliseconds slow_step_threshold_from_env() noexcept;

}  // namespace aio::debug
