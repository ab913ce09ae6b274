// SPDX-License-Identifier: MIT
#pragma once
// A snapshot of every task of a loop, like `python -m asyncio ps`: name,
// state, what it waits on (sleep, socket read, lock, queue get, another
// task…), its coroutine and the coroutine it is suspended in, with file and
// line where debug information allows.
//
//   aio::dump_tasks();                        // to stderr
//   for (auto& t : aio::debug::list_tasks(aio::get_running_loop())) …
//
// With AIO_DUMP_ON_SIGNAL=1, every loop of a program linked with
// aiocpp::debug writes this dump to stderr on SIGUSR1.

#include <cstdio>
#include <string>
#include <vector>

#include "aio/core/loop.hpp"

namespace aio {

namespace debug {

/// One task, as list_tasks sees it.
struct task_info {
  std::string name;
  /// "running" (the task calling list_tasks), "ready" (scheduled to run),
  /// "created" (not started yet), or "waiting".
  std::string state;
  /// What a waiting task waits on: "sleep", "socket read", "socket write",
  /// "lock", "event", "queue get", "task 'name'", "gather"…; empty otherwise.
  std::string waiting_on;
  std::string coroutine;     ///< the task's own coroutine: "function at file:line"
  std::string suspended_in;  ///< the innermost coroutine it is suspended in (empty when running)
  /// A waiting task's coroutines, outermost first: its own, then each
  /// aio::task it awaits, down to suspended_in (like `python -m asyncio ps`).
  std::vector<std::string> await_chain;
  std::string created_at;    ///< where create_task was called: "file:line in function"
  bool cancelling = false;   ///< a cancel is pending
};

/// Every task of `loop` (its list, newest first). Loop thread only
/// (invalid_state_error otherwise). The first call reads the program's
/// symbols (tens of milliseconds); it blocks the loop meanwhile.
std::vector<task_info> list_tasks(event_loop& loop);

/// The table dump_tasks writes.
std::string format_tasks(const std::vector<task_info>& tasks);

}  // namespace debug

/// Writes every task of the running loop to `out` (default stderr), like
/// `python -m asyncio ps`. Throws invalid_state_error when no loop runs on
/// this thread. Not a coroutine: nothing to cancel.
void dump_tasks(std::FILE* out = stderr);

}  // namespace aio
