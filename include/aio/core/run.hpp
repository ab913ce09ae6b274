// SPDX-License-Identifier: MIT
#pragma once
// aio::run is asyncio.run: make a loop, run `main` to completion, cancel what
// is left, report task exceptions never retrieved, close the loop.
//
//   int main() { return aio::run(amain()); }

#include <csignal>
#include <optional>
#include <utility>

#include "aio/core/create_task.hpp"

namespace aio {

struct run_options {
  loop_options loop;
  /// SIGINT cancels the main task, and run throws keyboard_interrupt (asyncio's
  /// behaviour). Only on the main thread, and only when SIGINT has its default action.
  bool handle_sigint = true;
  /// Start with virtual time (see event_loop::set_virtual_time).
  bool virtual_time = false;
};

namespace detail {
/// Runs `main` on `loop` until it is done; with `shutdown`, then cancels and
/// drains the other tasks. Returns true if SIGINT interrupted it.
bool run_main(event_loop& loop, task_handle<> main, bool handle_sigint, bool shutdown);
}  // namespace detail

/// Like `loop.run_until_complete(coro)`: runs `t` to completion on `loop`
/// (not running yet) and returns its result or rethrows. Other tasks are left
/// as they are.
template <class T>
T run_until_complete(event_loop& loop, task<T> t) {
  event_loop* prev = detail::running_loop_;
  if (prev) throw invalid_state_error("run_until_complete() called while an event loop is running on this thread");
  detail::running_loop_ = &loop;  // create_task needs it; run_forever sets it again
  auto h = detail::spawn(loop, std::move(t), "main");
  detail::running_loop_ = nullptr;
  detail::run_main(loop, h, false, false);
  return h.result();
}

/// Like `asyncio.run(main())`. Throws invalid_state_error when a loop already
/// runs on this thread; rethrows what `main` throws; throws keyboard_interrupt
/// when SIGINT cancelled `main`.
template <class T>
T run(task<T> main, run_options options = {}) {
  if (detail::running_loop_) throw invalid_state_error("aio::run() cannot be called from a running event loop");
  event_loop loop(options.loop);
  if (options.virtual_time) loop.set_virtual_time(true);
  detail::running_loop_ = &loop;
  auto h = detail::spawn(loop, std::move(main), "main");
  detail::running_loop_ = nullptr;
  bool interrupted = detail::run_main(loop, h, options.handle_sigint, true);
  if (interrupted && h.cancelled()) throw keyboard_interrupt{};
  return h.result();
}

}  // namespace aio
