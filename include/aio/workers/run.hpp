// SPDX-License-Identifier: MIT
#pragma once
// One event loop per process: aio::workers::run(n, main) forks n worker
// processes, each running aio::run(main(index)), and supervises them — the
// prefork model of gunicorn and uvicorn --workers, with asyncio's loop in
// each worker. Servers in the workers share one listening socket opened
// before the fork (listening_socket + server_options::sock: one accept
// queue, nothing lost when a worker stops), or each binds the same port
// with server_options::reuse_port (the kernel spreads connections).
//
//   int main() {
//     aio::workers::listening_socket sock("127.0.0.1", 8080);
//     return aio::workers::run(0, [&](std::size_t) { return serve(sock.fd()); });
//   }
//
// The supervisor (the calling process):
// - restarts a worker that dies (a non-zero exit, or a signal), saying why,
//   after `restart_delay`, doubled for each failure at startup in a row;
//   after `max_startup_failures` of them it gives up (supervisor_error).
//   A worker whose main returns 0 by itself has finished: not restarted.
// - SIGTERM or SIGINT: graceful shutdown. Every worker gets SIGTERM, which
//   its loop turns into a stop request (main cancelled — serve_forever
//   stops accepting and waits for its handlers — and stopping() done);
//   after `shutdown_timeout` the worker cancels what is left, and after
//   `kill_timeout` more the supervisor kills it. A second SIGTERM/SIGINT
//   kills the workers at once.
// - SIGHUP: rolling restart, one worker at a time: the new worker starts
//   and becomes ready before the old one is told to stop, so with a shared
//   listening socket no connection is refused or dropped.
//
// Why the supervisor is a plain blocking loop (poll on a signalfd and a
// readiness pipe) and not an aio loop: it must stay single-threaded and
// hold nothing a child could inherit half-made (an io_uring ring, its
// kernel worker threads, a resolver's sockets), since it forks again at any
// restart; and it has nothing to do concurrently that poll() does not cover.

#include <cstddef>
#include <functional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "aio/core/task.hpp"
#include "aio/workers/options.hpp"
#include "aio/workers/worker.hpp"

namespace aio::workers {

/// The supervisor gave up: a worker kept failing at startup (the message
/// names it and how it last died), or a fork failed.
class supervisor_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
/// Makes worker `index`'s main, as an exit status.
using main_factory = std::function<task<int>(std::size_t)>;
task<int> exit_status_of(task<> main);
inline task<int> exit_status_of(task<int> main) { return main; }
int supervise(std::size_t n, main_factory make, const options& o);
/// The number of CPUs this process may run on (its affinity mask).
std::size_t usable_cores() noexcept;
}  // namespace detail

namespace detail {
/// `main` as a main_factory (its task<> or task<int> as an exit status).
template <class Main>
main_factory factory_of(Main main) {
  return [m = std::move(main)](std::size_t i) mutable { return exit_status_of(std::invoke(m, i)); };
}
}  // namespace detail

/// A worker's main: called with the worker's index, returns task<> or
/// task<int> (the worker's exit status).
template <class Main>
concept worker_main = std::is_invocable_v<Main&, std::size_t> &&
                      (std::is_same_v<std::invoke_result_t<Main&, std::size_t>, task<>> ||
                       std::is_same_v<std::invoke_result_t<Main&, std::size_t>, task<int>>);

/// Runs `main(i)` under aio::run in each of `n` worker processes (0: one
/// per core) and supervises them until they have all finished, or until a
/// SIGTERM/SIGINT shutdown. No asyncio equivalent (one loop per process,
/// as the guide recommends, with a supervisor).
///
/// Returns 0 when every worker finished cleanly (main returned 0 by itself,
/// or stopped as asked); otherwise the first failure seen during the
/// shutdown: a worker's exit status, or 128 + the signal that killed it
/// (137 when killed at the deadline). Throws invalid_state_error when
/// called on a thread running a loop, or when the process has other threads
/// (fork is only safe while single-threaded: call it before starting thread
/// pools or to_thread); supervisor_error when it gave up on a worker (the
/// others are stopped first). Blocks the calling thread; not a coroutine.
/// Each worker exits with _exit after main, without running the parent's
/// atexit handlers or static destructors (stdio is flushed).
template <worker_main Main>
int run(std::size_t n, Main main, const options& o = options()) {
  return detail::supervise(n, detail::factory_of(std::move(main)), o);
}

}  // namespace aio::workers
