// SPDX-License-Identifier: MIT
#pragma once
// What a worker's own code can ask of aio::workers: which worker it is,
// whether it has been told to stop, and (processes) tell the supervisor it
// is ready. The same calls work in a worker process (workers::run) and in a
// worker thread (workers::run_threads); they are answered for the loop
// thread they are called on.
//
//   aio::task<> serve(std::size_t index) {
//     auto srv = co_await aio::start_server(handle, "", 8080, opts);
//     aio::workers::notify_ready();
//     co_await srv.serve_forever();  // cancelled on SIGTERM: stops accepting, drains
//   }

#include <cstddef>

#include "aio/core/task.hpp"

namespace aio::workers {

/// This worker's index, 0 … worker_count() - 1 (the argument its main got).
/// A replacement of a dead worker gets the index of the one it replaces.
/// Throws invalid_state_error when the calling thread is not a worker's.
std::size_t worker_index();

/// How many workers were asked for (n, or the number of cores for 0).
/// Throws invalid_state_error outside a worker.
std::size_t worker_count();

/// True in a worker's loop thread.
bool in_worker() noexcept;

/// True once this worker has been told to stop (the supervisor got SIGTERM
/// or SIGINT, a rolling restart replaces it, or run_threads is stopping).
/// False outside a worker.
bool stop_requested() noexcept;

/// Completes when this worker is told to stop (at once if it already
/// was): the hook for a main that winds down by itself (see
/// options::cancel_main_on_stop). No asyncio equivalent (it is gunicorn's
/// graceful-shutdown notice). Throws invalid_state_error outside a worker.
/// Cancel-safe: a cancelled wait is just abandoned.
task<> stopping();

/// Tells the supervisor this worker is ready to serve (like systemd's
/// sd_notify READY=1): with options::wait_ready a rolling restart stops the
/// old worker only after the new one said so. Idempotent; a no-op in a
/// worker thread. Throws invalid_state_error outside a worker. Never blocks.
void notify_ready();

}  // namespace aio::workers
