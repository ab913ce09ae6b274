// SPDX-License-Identifier: MIT
#pragma once
// The shared state of one executor job: the callable, then its outcome. It is
// the only allocation of a submit. Three parties hold references: the pool's
// queue (until a worker ran or dropped it), the concurrent_future, and a
// hand-back callback in flight to the awaiting loop. So a job that finishes
// after its awaiter gave up (cancelled) writes into this state, never into a
// coroutine frame.
//
// Two atomics settle every race:
//   state_  queued -> running -> finished, or queued -> dropped (never runs);
//           whoever wins the queued CAS owns the callable.
//   flags_  done (outcome published) and awaiting (a loop task waits). The
//           side that sets the second bit acts: the worker posts the hand-back
//           when it sees `awaiting`; the awaiter does not suspend when it sees `done`.

#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <tuple>
#include <type_traits>
#include <utility>

#include "aio/core/detail/promise.hpp"

namespace aio::detail {

/// A loop as seen from other threads: cleared (under the mutex) when the loop
/// closes, so that a job finishing later never touches a dead loop.
struct loop_link {
  std::mutex mutex;
  event_loop* loop = nullptr;
};

/// The link of `loop`, created on first use (a loop extension). Loop thread only.
const std::shared_ptr<loop_link>& link_of(event_loop& loop);

class job_base {
 public:
  enum : std::uint8_t { queued, running, finished, dropped };
  static constexpr std::uint32_t done_bit = 1, awaiting_bit = 2, retrieved_bit = 4;

  job_base() noexcept = default;
  job_base(const job_base&) = delete;
  virtual ~job_base() = default;

  void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release() noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  /// Worker: runs the job unless it was dropped (the queue's reference stays).
  void execute() noexcept;
  /// Drops a job that has not started (any thread): true if this call dropped it.
  /// The callable is destroyed at once; the outcome becomes cancelled_error.
  /// `notify_awaiter` false: the caller is the awaiter itself (its cancel hook).
  bool drop(bool notify_awaiter) noexcept;
  /// Asks a running job to stop (its std::stop_token), false if it takes none.
  bool request_stop() noexcept { return stop_.request_stop(); }
  /// A job run elsewhere (process_pool_executor): takes it from queued to
  /// running as execute() does, without invoking it; false if it was dropped.
  bool claim() noexcept;
  /// The other half: the caller of claim() stored the outcome; publishes it.
  void complete() noexcept;

  job_base* next_ = nullptr;  // the pool's queue (under its mutex)

  bool done() const noexcept { return flags_.load(std::memory_order_acquire) & done_bit; }
  std::uint8_t state() const noexcept { return state_.load(std::memory_order_acquire); }
  /// Polls done() for a few microseconds (the time a trivial job takes on a
  /// worker that was waiting for it). True if done: the awaiter then resumes
  /// without the hand-back's two context switches.
  bool spin_briefly() const noexcept;
  /// Blocks the calling thread until the outcome is published.
  void wait_done() const noexcept;

  // --- the awaiting side (a task on a loop) --------------------------------
  /// Registers `t` as the awaiter. False if the outcome is already there
  /// (do not suspend). invalid_state_error if someone already awaited.
  bool start_await(promise_base& t);
  /// The awaiter's cancel hook: give up, drop the job or ask it to stop.
  void abandon() noexcept;
  /// Marks the outcome taken; invalid_state_error the second time.
  void retrieve();

 protected:
  /// Runs the callable, stores the value or exception, destroys the callable.
  virtual void invoke() noexcept = 0;
  /// Destroys the callable unrun.
  virtual void discard() noexcept = 0;

  std::exception_ptr exception_;
  std::stop_source stop_{std::nostopstate};
  bool spin_ = true;  // false: spin_briefly never waits (a job that takes a round trip to another process)

 private:
  friend struct job_ref;
  void publish(bool notify_awaiter) noexcept;
  void deliver() noexcept;  // on the awaiter's loop

  std::atomic<std::uint32_t> refs_{1};
  std::atomic<std::uint32_t> flags_{0};
  std::atomic<std::uint8_t> state_{queued};
  bool abandoned_ = false;           // awaiter's loop thread only
  std::shared_ptr<loop_link> link_;  // written before awaiting_bit is published
  promise_base* task_ = nullptr;
};

/// Holds one reference to a job (a hand-back callback in flight).
struct job_ref {
  job_base* j;
  explicit job_ref(job_base* p) noexcept : j(p) {}
  job_ref(job_ref&& o) noexcept : j(std::exchange(o.j, nullptr)) {}
  job_ref(const job_ref&) = delete;
  ~job_ref() {
    if (j) j->release();
  }
  void operator()() noexcept { j->deliver(); }
};

/// The outcome of a job returning R.
template <class R>
class job : public job_base {
 public:
  /// Moves the value out or rethrows (once). The exception is moved out
  /// too: it then dies on the awaiting thread, not with the job on a worker.
  R take() {
    retrieve();
    if (exception_) std::rethrow_exception(std::exchange(exception_, nullptr));
    if constexpr (!std::is_void_v<R>) return std::move(*value_);
  }
  std::exception_ptr exception() const noexcept { return exception_; }

 protected:
  struct nothing {};
  std::optional<std::conditional_t<std::is_void_v<R>, nothing, R>> value_;
};

template <class Fn, class... A>
inline constexpr bool takes_stop_token_v = std::is_invocable_v<Fn, std::stop_token, A...>;

template <class Fn, class... A>
struct job_result {
  using type = std::remove_cvref_t<std::invoke_result_t<Fn, A...>>;
};
template <class Fn, class... A>
requires takes_stop_token_v<Fn, A...>
struct job_result<Fn, A...> {
  using type = std::remove_cvref_t<std::invoke_result_t<Fn, std::stop_token, A...>>;
};
/// What a job running fn(args…) (or fn(stop_token, args…)) returns, decayed.
template <class Fn, class... A>
using job_result_t = typename job_result<std::decay_t<Fn>, std::decay_t<A>...>::type;

template <class R, class Fn, class... A>
class job_impl final : public job<R> {
 public:
  template <class F2, class... A2>
  explicit job_impl(F2&& f, A2&&... a)
      : call_(std::in_place, std::forward<F2>(f), std::forward<A2>(a)...) {
    if constexpr (takes_stop_token_v<Fn, A...>) this->stop_ = std::stop_source();
  }

 private:
  void invoke() noexcept override {
    try {
      if constexpr (std::is_void_v<R>) {
        apply_call();
        this->value_.emplace();
      } else {
        this->value_.emplace(apply_call());
      }
    } catch (...) {
      this->exception_ = std::current_exception();
    }
    call_.reset();
  }
  decltype(auto) apply_call() {
    return std::apply(
        [this](Fn& fn, A&... xs) -> decltype(auto) {
          if constexpr (takes_stop_token_v<Fn, A...>)
            return std::invoke(std::move(fn), this->stop_.get_token(), std::move(xs)...);
          else
            return std::invoke(std::move(fn), std::move(xs)...);
        },
        *call_);
  }
  void discard() noexcept override { call_.reset(); }

  std::optional<std::tuple<Fn, A...>> call_;
};

}  // namespace aio::detail
