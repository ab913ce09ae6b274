// SPDX-License-Identifier: MIT
#pragma once
// concurrent_future<R> is what thread_pool_executor::submit, to_thread and
// run_in_executor return: Python's concurrent.futures.Future, awaitable from a
// task as if asyncio.wrap_future had been applied. The job's outcome lives in
// state shared with the worker (one allocation per job), so whatever happens to
// the awaiting task, a job finishing late never writes into its frame.
//
//   aio::thread_pool_executor pool(4, "hash");
//   auto f = pool.submit(sha256, std::move(data));  // runs at once on a worker
//   auto digest = co_await f;                       // or co_await pool.submit(…)
//
// Cancelling the awaiting task (better than asyncio, which waits for a running
// job): the task resumes at once with cancelled_error; a job not started yet
// is dropped and never runs; a running one is asked to stop through the
// std::stop_token its function takes as first parameter (if it takes one),
// and its late result is discarded with the shared state.

#include <exception>
#include <utility>

#include "aio/exec/detail/job.hpp"

namespace aio {

/// The pending outcome of a job on an executor. Like `concurrent.futures.Future`
/// (and, awaited, like `asyncio.wrap_future` of it). Move-only; dropping it
/// does not cancel the job (as in Python). Any thread may call its members;
/// `co_await` needs a task on a loop.
template <class R>
class concurrent_future {
 public:
  /// An empty future (valid() is false), to assign to later.
  concurrent_future() noexcept = default;
  /// Adopts one reference to `j`.
  explicit concurrent_future(detail::job<R>* j) noexcept : j_(j) {}
  concurrent_future(concurrent_future&& o) noexcept : j_(std::exchange(o.j_, nullptr)) {}
  concurrent_future& operator=(concurrent_future&& o) noexcept {
    if (this != &o) {
      reset();
      j_ = std::exchange(o.j_, nullptr);
    }
    return *this;
  }
  ~concurrent_future() { reset(); }

  /// False for a default-constructed or moved-from future; the other members
  /// must not be called on such an empty one.
  bool valid() const noexcept { return j_ != nullptr; }
  /// Like Future.done(): finished, failed or cancelled.
  bool done() const noexcept { return j_->done(); }
  /// Like Future.running(): a worker is running it now.
  bool running() const noexcept { return j_->state() == detail::job_base::running; }
  /// Like Future.cancelled(): dropped before it started.
  bool cancelled() const noexcept { return j_->state() == detail::job_base::dropped; }

  /// Like Future.cancel(): drops the job if no worker started it (it will
  /// never run; awaiting it throws cancelled_error) and returns true; false if
  /// it is running or done. Any thread.
  bool cancel() noexcept { return j_->drop(true); }
  /// Asks a running job to stop through its std::stop_token (beyond Python).
  /// False if its function takes no stop_token or a stop was already requested.
  bool request_stop() noexcept { return j_->request_stop(); }

  /// Like Future.result() without timeout: blocks the calling thread until the
  /// job is done, then returns its value (moved out, once) or rethrows its
  /// exception (cancelled_error if it was dropped). invalid_state_error the
  /// second time. Never call it on a loop thread: `co_await` the future there.
  R result() {
    j_->wait_done();
    return j_->take();
  }

  /// Awaits the outcome from a task: the task resumes on its own loop (the
  /// result is handed back with call_soon_threadsafe). Returns the value
  /// (moved out) or rethrows the job's exception. One await per future
  /// (invalid_state_error otherwise). Cancel-safe (see the file comment): on
  /// cancellation the task resumes at once with cancelled_error and the job's
  /// outcome is discarded.
  struct awaiter : detail::waiter {
    detail::job<R>* j;
    detail::promise_base* task = nullptr;
    bool aborted = false;

    explicit awaiter(detail::job<R>* p) noexcept : j(p) {
      cancel_ = [](detail::waiter* w) noexcept {
        auto* a = static_cast<awaiter*>(w);
        a->aborted = true;
        a->j->abandon();
        detail::wake(*a->task);
      };
    }
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h) {
      try {
        task = &detail::enter_wait();
      } catch (...) {  // a cancel was pending: the job is not wanted any more
        if (!j->drop(true)) j->request_stop();
        throw;
      }
      if (j->spin_briefly()) return false;       // a quick job: no hand-back needed
      if (!j->start_await(*task)) return false;  // already done: resume now
      task->suspend(h, this);
      return true;
    }
    R await_resume() {
      if (aborted) task->throw_cancelled();
      return j->take();
    }
  };
  awaiter operator co_await() const noexcept { return awaiter(j_); }

 private:
  void reset() noexcept {
    if (j_) std::exchange(j_, nullptr)->release();
  }
  detail::job<R>* j_ = nullptr;
};

}  // namespace aio
