// SPDX-License-Identifier: MIT
#pragma once
// The state of one worker (a process of workers::run or a thread of
// run_threads), reachable from its loop thread through a thread_local, and
// the loop every worker runs its main on.

#include <cstddef>
#include <string>
#include <string_view>

#include "aio/core/create_task.hpp"
#include "aio/core/event.hpp"
#include "aio/workers/options.hpp"
#include "aio/workers/run.hpp"

namespace aio::workers::detail {

struct worker_context {
  std::size_t index = 0;
  std::size_t count = 0;
  const options* opts = nullptr;
  int ready_fd = -1;            // processes: the supervisor's readiness pipe
  bool ready_sent = false;
  bool handle_signals = false;  // processes: SIGTERM/SIGINT are stop requests
  bool stop_requested = false;
  event stop_event;             // loop thread only
  event_loop* loop = nullptr;   // set once the worker's loop runs
  task_handle<int> main;
  callback_handle deadline;
  /// Threads: called on the loop thread once the loop runs (ctx.loop set).
  void (*on_started)(worker_context&) noexcept = nullptr;
  void* owner = nullptr;        // for on_started

  /// The stop request, on the loop thread: stopping() completes, main is
  /// cancelled (per options), and the shutdown deadline starts. Idempotent.
  void request_stop();
  /// The stop's effect on main (cancel, deadline), once main exists.
  void begin_stop();
  /// Processes: writes this process's pid to the readiness pipe, once.
  void send_ready() noexcept;
};

/// The worker whose loop runs on this thread, or nullptr.
worker_context* current() noexcept;

/// Runs `make(ctx.index)` as the worker's main on a new loop (aio::run) and
/// returns its exit status: main's int, 0 for task<> or for a main
/// cancelled by a stop request, 1 (logged) for an exception or an
/// unexpected cancellation.
int run_worker_loop(worker_context& ctx, main_factory& make);

/// options::log, or stderr.
void log_line(const options& o, std::string_view line) noexcept;

}  // namespace aio::workers::detail
