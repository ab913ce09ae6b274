// SPDX-License-Identifier: MIT
#pragma once
// One event loop per thread in one process: aio::workers::run_threads(n,
// main) runs main(index) under aio::run on each of n threads. Share-nothing:
// each loop owns its tasks, sockets and servers (serve one port from every
// loop with server_options::reuse_port, or one socket with
// server_options::sock); loops talk only by posting work to each other:
// peer(i).call_soon_threadsafe(fn), or co_await run_on(i, fn) (run_on.hpp),
// which returns fn's result to the caller's loop.
//
//   aio::workers::run_threads(0, [](std::size_t i) { return serve(i); });
//
// SIGTERM and SIGINT to the process stop every worker as workers::run
// does (main cancelled, stopping() done, cancelled again after
// shutdown_timeout). The signals are blocked in the calling thread and in
// every thread the library starts (executors, pools); a thread of the
// program's own that was started before run_threads without them blocked
// may still take them (block them in main() first, as for any signalfd).
// Unlike worker processes, a worker thread that fails
// is not restarted (a crash takes the whole process), and a thread that
// blocks forever keeps run_threads from returning.

#include <cstddef>
#include <functional>
#include <memory>
#include <utility>

#include "aio/core/detail/function.hpp"
#include "aio/workers/options.hpp"
#include "aio/workers/run.hpp"
#include "aio/workers/worker.hpp"

namespace aio::detail {
struct loop_link;
}

namespace aio::workers {

/// Another worker thread's loop, as any thread may reach it. Copyable;
/// valid while run_threads runs (afterwards every post fails).
class worker_ref {
 public:
  explicit worker_ref(std::size_t index, std::shared_ptr<aio::detail::loop_link> link) noexcept
      : index_(index), link_(std::move(link)) {}
  /// The worker's index.
  std::size_t index() const noexcept { return index_; }
  /// Like `loop.call_soon_threadsafe(fn)` on that worker's loop: `fn` runs
  /// there, in the order posted. Any thread. False (fn dropped) when the
  /// worker's loop has already closed.
  bool call_soon_threadsafe(aio::detail::unique_function fn) const;

 private:
  std::size_t index_;
  std::shared_ptr<aio::detail::loop_link> link_;
};

/// Worker `i` of the run_threads group the calling worker belongs to
/// (every loop of the group runs before any main starts, so any worker can
/// be reached from the first step of main). Throws invalid_state_error
/// outside a run_threads worker; std::out_of_range for i >= worker_count().
worker_ref peer(std::size_t i);

namespace detail {
int run_thread_group(std::size_t n, main_factory make, const options& o);
}

/// Runs `main(i)` under aio::run on each of `n` threads (0: one per core)
/// and waits for all of them. No asyncio equivalent (asyncio has one loop
/// per thread but no group of them). Returns 0 when every main returned 0
/// (or was stopped), else the first non-zero status (a main's int, or 1 for
/// a main that threw: logged). SIGTERM/SIGINT arriving meanwhile stop the
/// workers (they are blocked in the calling thread and read there; the
/// signal mask is restored on return). Throws invalid_state_error when
/// called on a thread that runs a loop; std::system_error if a thread
/// cannot be started (the ones started are stopped first). Blocks.
template <worker_main Main>
int run_threads(std::size_t n, Main main, const options& o = options()) {
  return detail::run_thread_group(n, detail::factory_of(std::move(main)), o);
}

}  // namespace aio::workers
