// SPDX-License-Identifier: MIT
#pragma once
// The options of aio::workers::run (one loop per process, under a
// supervisor) and aio::workers::run_threads (one loop per thread). Python
// has no single equivalent: they are what gunicorn's or uvicorn's
// --workers, --graceful-timeout and restart policy are, as code.

#include <chrono>
#include <cstddef>
#include <functional>
#include <string_view>

#include "aio/core/loop.hpp"

namespace aio::workers {

/// How workers run, stop and are restarted. Set the fields on a variable
/// (`aio::workers::options o; o.shutdown_timeout = 5s;`): not an aggregate,
/// like the other option structs (GCC 12 destroys an aggregate temporary
/// inside a co_await expression twice). Fields marked "processes" mean
/// nothing to run_threads.
struct options {
  options() noexcept = default;

  /// Each worker's event loop (its backend).
  loop_options loop;
  /// Graceful stop: when a worker is told to stop, its main is cancelled
  /// (a server's serve_forever then stops accepting and waits for its
  /// handlers, as asyncio's does), and `stopping()` completes. With false,
  /// only `stopping()` completes and main is expected to wind down and
  /// return by itself.
  bool cancel_main_on_stop = true;
  /// Deadline of a graceful stop: when it passes, the worker cancels its
  /// main again (and aio::run then cancels every task left), so in-flight
  /// work has this long to finish.
  std::chrono::milliseconds shutdown_timeout{30'000};
  /// Processes: how long after `shutdown_timeout` the supervisor waits
  /// before it kills a worker that still has not exited (SIGKILL).
  std::chrono::milliseconds kill_timeout{5'000};
  /// Processes: the first delay before a dead worker is started again; it
  /// doubles with each failure at startup in a row, up to
  /// `max_restart_delay`.
  std::chrono::milliseconds restart_delay{100};
  std::chrono::milliseconds max_restart_delay{30'000};
  /// Processes: a worker that dies before it is ready or sooner than this
  /// after it started failed "at startup"; one that lived longer resets its
  /// slot's count of failures.
  std::chrono::milliseconds min_uptime{1'000};
  /// Processes: after this many failures at startup in a row of the same
  /// worker, the supervisor gives up: it stops the other workers and run()
  /// throws supervisor_error (no fork bomb).
  int max_startup_failures = 5;
  /// Processes: with true, a worker is ready (for a rolling restart, and
  /// for `min_uptime`'s "before it is ready") only once its main calls
  /// `aio::workers::notify_ready()`, e.g. after its server listens; with
  /// false, as soon as its loop runs main.
  bool wait_ready = false;
  /// Processes: how long a new worker of a rolling restart may take to
  /// become ready before the restart is abandoned (the old one keeps serving).
  std::chrono::milliseconds ready_timeout{30'000};
  /// Where the supervisor's messages go (a worker restarted and why, a
  /// worker's main failed, …), one line each without the newline. Empty:
  /// "aio.workers: <line>" on stderr. Called on the supervisor's thread, or
  /// in the worker for a worker's own failure.
  std::function<void(std::string_view)> log;
};

}  // namespace aio::workers
