// SPDX-License-Identifier: MIT
#pragma once
// process_pool_executor is Python's concurrent.futures.ProcessPoolExecutor
// (with the forkserver start method): worker processes, started once, run
// CPU-bound jobs on the other cores while the loop stays free; coroutines await
// what submit returns.
//
//   long cpu_bound_task(long n) { long s = 0; for (long i = 0; i < n; ++i) s += i * n; return s; }
//   AIO_PROCESS_JOB(cpu_bound_task);
//
//   aio::task<> amain(aio::process_pool_executor& pool) {
//     long r = co_await pool.submit(cpu_bound_task, 100'000'000L);
//   }
//   int main() {
//     aio::process_pool_executor pool(2);       // before any thread: starts the fork server
//     aio::run(amain(pool));
//   }
//
// How workers start (the start method). Forking a process that runs threads
// is unsafe (another thread may hold the malloc lock, or any lock, at that
// instant). So the first pool, or an earlier aio::start_fork_server(), forks
// one *fork server* while the process has a single thread (checked in
// /proc/self/task; invalid_state_error naming the threads otherwise). The
// fork server stays single-threaded and forks every worker of every pool, so
// workers are copies of the program as it was then: its registered jobs, its
// globals. A program that starts threads before its first pool calls
// aio::start_fork_server() at the top of main; a GoogleTest binary calls it
// from a global test environment's SetUp (after every static initialiser,
// before any test). Workers ignore SIGINT (the parent decides what Ctrl-C
// means) and die with the fork server, which dies with the program.
//
// The pool's supervisor is one thread per pool: it feeds idle workers,
// reads results from all of them with one poll(), and hands each result to
// the awaiting task's loop exactly as the thread pool does. (One thread, not
// the loop, because a pool is shared by any number of loops and threads,
// and because crashes, deadlines and max_tasks_per_child must be handled
// even when no loop runs, e.g. in shutdown(wait) after aio::run returned.)
//
// Better than Python's on purpose: a worker that crashes (segfault, abort,
// SIGKILL, the OOM killer) fails only the job it was running, with
// broken_process_pool_error naming the signal; the pool starts a replacement
// and goes on (Python's pool breaks for good). A job that throws comes back as
// process_job_error carrying the exception's type name and what().

#include <sys/types.h>

#include <chrono>
#include <concepts>
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "aio/exec/concurrent_future.hpp"
#include "aio/exec/detail/process_call.hpp"
#include "aio/exec/process_job.hpp"

namespace aio {

/// A worker died while running a job (killed by a signal, or it exited), or
/// the pool could not run it at all. Like
/// `concurrent.futures.process.BrokenProcessPool`, but only this job failed:
/// the pool goes on with a replacement worker.
class broken_process_pool_error : public std::runtime_error {
 public:
  broken_process_pool_error(const std::string& what, int signal, int exit_status, pid_t pid)
      : std::runtime_error(what), signal_(signal), exit_status_(exit_status), pid_(pid) {}
  /// The signal that killed the worker (SIGKILL, SIGSEGV, …), 0 if it exited.
  int signal() const noexcept { return signal_; }
  /// The worker's exit status when it exited, -1 when a signal killed it.
  int exit_status() const noexcept { return exit_status_; }
  /// The worker's process id (0 if none was started).
  pid_t pid() const noexcept { return pid_; }

 private:
  int signal_;
  int exit_status_;
  pid_t pid_;
};

/// A job threw: its exception cannot cross the process boundary, so it comes
/// back as this, with the exception's type name and message. (Python
/// re-raises a pickled copy of the exception; C++ exceptions cannot be
/// rebuilt from bytes.) what() is "job 'name' raised type: message".
class process_job_error : public std::runtime_error {
 public:
  process_job_error(std::string job, std::string type_name, std::string message);
  /// The registered name of the job.
  const std::string& job() const noexcept { return job_; }
  /// The demangled type of what the job threw, e.g. "std::out_of_range".
  const std::string& type_name() const noexcept { return type_name_; }
  /// Its what() (empty for a type that is not a std::exception).
  const std::string& message() const noexcept { return message_; }

 private:
  std::string job_, type_name_, message_;
};

/// The settings of a process_pool_executor. Not an aggregate (GCC 12): set
/// fields on a named variable.
struct process_pool_options {
  process_pool_options() noexcept {}
  /// Worker processes; 0 means one per core (Python's os.cpu_count()).
  std::size_t max_workers = 0;
  /// Like `max_tasks_per_child`: a worker exits after this many jobs and a
  /// fresh one replaces it; 0 means never.
  std::size_t max_tasks_per_child = 0;
  /// Cancelling the task awaiting a running job (or future.request_stop())
  /// kills the worker running it (SIGKILL) and starts a replacement. False
  /// (Python's behaviour): the job runs to its end and its result is dropped.
  bool kill_on_cancel = false;
  /// Jobs a worker holds at once: the one it runs and the next ones, already
  /// sent, so that it goes on without a round trip through the pool (a
  /// trivial job then costs no wake-up). Jobs are dealt round robin, and a
  /// worker that runs dry asks back a job waiting behind a running one on
  /// another worker, so a short job does not stay behind a long one while a
  /// worker idles. If a worker dies, the jobs behind the one it ran go to
  /// another worker. Sent jobs count as running: cancel() is false for them
  /// and shutdown(cancel_futures) does not drop them (as for the jobs in
  /// Python's call queue). 1: every job goes to a free worker. With
  /// kill_on_cancel it is 1 (a kill must hit only the cancelled job).
  std::size_t pipeline_depth = 4;
  /// For error messages.
  std::string name = "aio-process";
  /// How long the destructor waits for queued and running jobs before it
  /// kills the workers.
  std::chrono::milliseconds destructor_deadline{10'000};
};

namespace detail {
class process_pool_core;
}

/// Starts the process-wide fork server now (process_pool_executor does it on
/// first use). Call it at the top of main when the program starts threads
/// before its first pool. Idempotent. Throws invalid_state_error if the
/// process already runs more than one thread (naming them), std::system_error
/// if it cannot fork. Any thread, but only the first call forks.
void start_fork_server();

class process_pool_executor {
 public:
  /// No deadline for shutdown().
  static constexpr std::chrono::milliseconds no_deadline = std::chrono::milliseconds::max();

  /// Like `ProcessPoolExecutor(max_workers)`: starts the workers (0: one per core).
  /// Throws as start_fork_server, or std::system_error.
  explicit process_pool_executor(std::size_t max_workers = 0);
  /// With all settings (max_tasks_per_child, kill_on_cancel, …).
  explicit process_pool_executor(const process_pool_options& options);
  /// Like `shutdown(wait=True)`, bounded by options.destructor_deadline: past
  /// it, queued jobs are dropped and the workers still busy are killed.
  ~process_pool_executor();
  process_pool_executor(const process_pool_executor&) = delete;
  process_pool_executor& operator=(const process_pool_executor&) = delete;

  /// Like `Executor.submit(fn, *args)`: queues fn(args…) for a worker and
  /// returns its future (a concurrent_future: co_await it, or result()). fn
  /// must be a function registered with AIO_PROCESS_JOB (std::invalid_argument
  /// otherwise); the arguments are converted to its parameter types and
  /// serialised now, so later changes to them are not seen. A lambda, a
  /// function object or an unsupported type is a compile-time error. Any
  /// thread. Throws invalid_state_error after shutdown, std::length_error for
  /// arguments over 4 GiB encoded, broken_process_pool_error once the fork
  /// server has died (nothing can start a worker any more; jobs queued then
  /// fail with it too). Cancelling the
  /// awaiting task: a queued job is dropped (never runs); a running one is
  /// killed with its worker when kill_on_cancel is set, else it finishes and
  /// its result is discarded.
  template <class F, class... A>
  concurrent_future<detail::process_result_t<F>> submit(F&& fn, A&&... args) {
    using traits = detail::process_fn_traits<std::decay_t<F>>;
    static_assert(traits::is_function,
                  "aio::process_pool_executor: a job must be a function registered with "
                  "AIO_PROCESS_JOB; lambdas and function objects cannot cross a process boundary");
    if constexpr (traits::is_function) {
      using R = typename traits::result;
      static_assert(detail::check_process_result<R>());
      typename traits::pointer f = fn;
      const auto& entry = detail::find_process_job(reinterpret_cast<void (*)()>(f));
      std::string encoded;
      byte_writer w(encoded);
      encode_args(w, static_cast<typename traits::params*>(nullptr), std::forward<A>(args)...);
      if (encoded.size() > max_encoded_args)
        throw std::length_error("process_pool_executor::submit: the arguments exceed 4 GiB");
      auto* j = new detail::process_call<R>(entry, std::move(encoded), kill_on_cancel_);
      concurrent_future<R> future(j);  // the future's reference; the queue takes another
      enqueue(j);
      return future;
    }
  }

  /// Like `Executor.shutdown(wait, cancel_futures)`: no new jobs; with
  /// cancel_futures, the queued jobs are dropped (their futures throw
  /// cancelled_error); with wait, blocks the calling thread until every job
  /// ended and every worker exited and was reaped — but past `deadline`
  /// (beyond Python) the busy workers are killed, the job each was running
  /// failing with broken_process_pool_error ("at the shutdown deadline"), and
  /// every job not started yet (queued here, or waiting inside a worker
  /// behind the running one) is dropped: its future throws cancelled_error.
  /// Idempotent; any thread.
  void shutdown(bool wait = true, bool cancel_futures = false,
                std::chrono::milliseconds deadline = no_deadline);

  const std::string& name() const noexcept;
  std::size_t max_workers() const noexcept;
  /// The process ids of the live workers whose start the fork server has
  /// confirmed (a worker may run its first job a moment before); for
  /// monitoring and tests. Any thread.
  std::vector<pid_t> worker_pids() const;
  /// Workers started so far, replacements included.
  std::size_t workers_started() const noexcept;

 private:
  template <class... P, class... A>
  static void encode_args(byte_writer& w, std::tuple<P...>*, A&&... args) {
    static_assert(sizeof...(P) == sizeof...(A),
                  "aio::process_pool_executor::submit: wrong number of arguments for this job");
    if constexpr (sizeof...(P) == sizeof...(A)) (encode_one<P>(w, std::forward<A>(args)), ...);
  }
  template <class P, class X>
  static void encode_one(byte_writer& w, X&& x) {
    using D = std::remove_cvref_t<P>;
    static_assert(detail::check_process_param<P>());
    static_assert(std::is_constructible_v<D, X&&>,
                  "aio::process_pool_executor::submit: an argument does not convert to the job's "
                  "parameter type");
    if constexpr (std::is_same_v<std::remove_cvref_t<X>, D>)
      w.write(static_cast<const D&>(x));
    else
      w.write(static_cast<const D&>(D(std::forward<X>(x))));
  }
  void enqueue(detail::remote_call* call);
  static constexpr std::size_t max_encoded_args = 0xfffe'0000;  // a u32 frame, with the name

  std::unique_ptr<detail::process_pool_core> core_;
  bool kill_on_cancel_ = false;
};

/// Like `loop.run_in_executor(executor, fn, *args)` with a ProcessPoolExecutor:
/// `executor->submit(fn, args…)`. (A template so that run_in_executor(nullptr,
/// …) still means the thread pool default executor: there is no default
/// process pool.) Throws std::invalid_argument for a null executor, else as
/// submit. Cancel-safe as submit.
template <std::same_as<process_pool_executor> P, class F, class... A>
concurrent_future<detail::process_result_t<F>> run_in_executor(P* executor, F&& fn, A&&... args) {
  if (!executor) throw std::invalid_argument("run_in_executor: null process_pool_executor");
  return executor->submit(std::forward<F>(fn), std::forward<A>(args)...);
}

}  // namespace aio
