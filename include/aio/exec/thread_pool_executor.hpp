// SPDX-License-Identifier: MIT
#pragma once
// thread_pool_executor is Python's concurrent.futures.ThreadPoolExecutor: a
// pool of named threads, started lazily up to max_workers (and beyond, if set
// to grow when stalled: set_growth), that runs blocking or CPU-bound
// functions off the loop. Coroutines await what submit returns.
//
//   aio::thread_pool_executor pool(4, "resize");
//   auto img = co_await pool.submit(resize, std::move(raw), 640, 480);
//
// Threads are named "name-N" (visible in top -H, gdb, perf). The destructor
// shuts the pool down and waits for the queued and running jobs, but never
// forever: past a deadline (10 s by default) it logs an error naming the pool,
// drops the jobs still queued, asks the running ones to stop (their
// std::stop_token) and detaches their threads; those jobs keep their shared
// state (and the pool's) alive until they end.
//
// A worker that runs out of jobs polls for the next one for 50 µs before it
// sleeps (one worker at a time): back-to-back trivial jobs then start without
// a futex wake-up.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <utility>

#include "aio/exec/concurrent_future.hpp"

namespace aio {

namespace detail {
class pool_core;
}

class thread_pool_executor {
 public:
  /// How long the destructor waits for busy workers before detaching them.
  static constexpr std::chrono::milliseconds default_destructor_deadline{10'000};

  /// Like `ThreadPoolExecutor(max_workers, thread_name_prefix)`. max_workers 0
  /// means min(32, cores + 4), Python's default. No thread starts until a job
  /// needs one. Throws std::invalid_argument for an empty name.
  explicit thread_pool_executor(
      std::size_t max_workers = 0, std::string name = "aio-pool",
      std::chrono::milliseconds destructor_deadline = default_destructor_deadline);
  /// Like `shutdown(wait=True)`, bounded by the destructor deadline: past it,
  /// queued jobs are dropped, running ones asked to stop and their threads
  /// detached, with an error on stderr (see above). Must not run on one of the
  /// pool's own threads.
  ~thread_pool_executor();
  thread_pool_executor(const thread_pool_executor&) = delete;
  thread_pool_executor& operator=(const thread_pool_executor&) = delete;

  /// Like `Executor.submit(fn, *args)`: queues fn(args…) — or fn(stop_token,
  /// args…) when fn accepts a std::stop_token first — and returns its future.
  /// Arguments are decay-copied (use std::ref to pass a reference). Any thread.
  /// Throws invalid_state_error after shutdown; std::system_error if no
  /// thread at all can be started.
  template <class F, class... A>
  concurrent_future<detail::job_result_t<F, A...>> submit(F&& fn, A&&... args) {
    using R = detail::job_result_t<F, A...>;
    auto* j = new detail::job_impl<R, std::decay_t<F>, std::decay_t<A>...>(
        std::forward<F>(fn), std::forward<A>(args)...);
    concurrent_future<R> f(j);  // the future's reference; the queue takes a second
    enqueue(j);
    return f;
  }

  /// Like `Executor.shutdown(wait, cancel_futures)`: no new jobs; with
  /// cancel_futures, the queued jobs are dropped (their futures throw
  /// cancelled_error); with wait, blocks until every job ran and the threads
  /// exited (no deadline: that is the destructor's). Idempotent; any thread
  /// but the pool's own (which would wait for itself: invalid_state_error).
  void shutdown(bool wait = true, bool cancel_futures = false);

  const std::string& name() const noexcept;
  std::size_t max_workers() const noexcept;
  /// Threads started so far (they start lazily and stay until shutdown).
  std::size_t thread_count() const noexcept;

  /// Growth when stalled, for pools whose jobs may wait on each other (a
  /// FIFO's reader waiting for its writer's open, queued behind it): once
  /// jobs wait with every thread busy and no thread has taken a job for
  /// `after` (measured by a watcher thread, "name-gw": up to twice that),
  /// one more thread starts, and one more each further `after`, up to
  /// max_workers + extra_threads. A pool whose threads take a job at least
  /// every `after` never grows; one whose every thread is busy longer than
  /// that (slow jobs, not only stuck ones) does. Grown threads stay until
  /// shutdown. Off (extra_threads 0) by default, as in Python; the library's
  /// internal pool grows after 250 ms, up to 64 threads. No Python equivalent.
  struct growth {
    std::chrono::milliseconds after{0};
    std::size_t extra_threads = 0;
  };
  static constexpr std::size_t max_extra_threads = 1024;
  /// Any thread; std::invalid_argument for extra_threads > 0 with after <= 0,
  /// or above max_extra_threads.
  void set_growth(growth g);
  growth get_growth() const;

 private:
  void enqueue(detail::job_base* j);
  std::shared_ptr<detail::pool_core> core_;
  std::chrono::milliseconds deadline_;
};

namespace detail {
/// The process-wide pool of the library's own blocking work (file I/O on the
/// epoll backend, DNS fallback): 4 threads, started lazily, growing when
/// stalled (250 ms, up to 64), separate from the user's default executor so
/// that user jobs never delay them. Never destroyed (its idle threads end
/// with the process).
thread_pool_executor& internal_executor();

/// Work handed to the internal pool that the program expects done although
/// nobody awaits it (a dropped temporary's removal, a dropped file's queued
/// writes): +1 when handed over, -1 when done (any thread). The pool's
/// threads do not hold the process open, so exit waits for that work (up to
/// 30 s), as Python runs its finalizers and flushes its files at exit: the
/// first call registers an atexit handler.
void exit_waits_for(int delta) noexcept;
/// Waits (up to 30 s) until no such work is left: the atexit handler, and a
/// prefork worker before its _exit.
void wait_for_exit_work() noexcept;
}  // namespace detail

}  // namespace aio
