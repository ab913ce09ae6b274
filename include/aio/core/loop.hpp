// SPDX-License-Identifier: MIT
#pragma once
// The event loop: one per thread, like asyncio's. It runs ready tasks and
// callbacks in FIFO order, fires timers, and waits for I/O on one of two
// backends (io_uring, or epoll where io_uring cannot be set up).
//
// A loop is touched only by the thread that runs it. Other threads reach it
// through `call_soon_threadsafe`. Most programs never name the loop: they call
// `aio::run(main())` and use the free functions (create_task, sleep, …).

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "aio/core/detail/function.hpp"
#include "aio/core/detail/nodes.hpp"

namespace aio {

class event_loop;

/// Which I/O backend a loop uses. `automatic` takes `AIO_BACKEND` (uring or
/// epoll) from the environment, else io_uring, falling back to epoll (logged
/// once) when the kernel or a seccomp profile refuses io_uring.
enum class backend_kind { automatic, uring, epoll };

struct loop_options {
  backend_kind backend = backend_kind::automatic;
  /// How long a loop with nothing to run watches for completions before it
  /// sleeps in the kernel. One that arrives meanwhile costs no sleep and no
  /// wake-up: a loopback round trip between two such loops takes a fifth of
  /// the time, and a bulk receiver wakes its sender less (docs/benchmarks.md).
  /// Spins that find nothing make the next ones rarer (down to one in 64
  /// waits), so an idle loop costs next to nothing. Unset: `AIO_SPIN_US` from
  /// the environment, else 50 µs; zero sleeps at once (the least CPU). At
  /// most 1 s; std::invalid_argument otherwise.
  std::optional<std::chrono::microseconds> spin;
};

/// What the loop passes to its exception handler. Like asyncio's context dict.
struct exception_context {
  std::string message;
  std::exception_ptr exception;
  std::string task_name;  // empty when no task is involved
  std::string created_at;  // where the task was created ("file:line in function"), if known
};

/// Per-loop state that a higher layer attaches to a loop (the default
/// executor, the DNS resolver, …). Destroyed when the loop closes: after its
/// tasks have finished, before its backend closes, newest first.
class loop_extension {
 public:
  virtual ~loop_extension() = default;
};

namespace detail {
class promise_base;
struct callback_node;
struct loop_impl;
inline thread_local event_loop* running_loop_ = nullptr;

/// What a loop publishes for a blocking detector on another thread
/// (aiocpp::debug's watchdog). The loop thread is the only writer of `steps`;
/// a step costs it one relaxed store and one relaxed load, no clock read.
struct loop_progress {
  /// Bumped before every ready-queue step, at every iteration, and on return
  /// from the poller: a value that stays put means the loop is stuck.
  std::atomic<std::uint64_t> steps{0};
  /// Why the loop cannot be stalled now: `in_poller` (waiting for I/O or a
  /// timer), `not_running` (outside run_forever). `watched` is the watchdog's
  /// bit: it sleeps on this word (a futex) and the loop wakes it when it clears.
  static constexpr std::uint32_t in_poller = 1, not_running = 2, watched = 4;
  std::atomic<std::uint32_t> idle{not_running};
  /// Set by the watchdog when the current step overran its threshold: the
  /// loop calls `on_stall_end` (on its own thread) once the step is over,
  /// with the task the step ran — now suspended, or done but not yet freed —
  /// or nullptr (a callback, or a task already gone).
  std::atomic<bool> stalled{false};
  void (*on_stall_end)(event_loop&, detail::promise_base*) noexcept = nullptr;
  /// The task that finished in the current step, if any (cleared before each
  /// task step; compared, never read).
  const void* last_done = nullptr;

  /// Step durations, sampled: with `sample_steps` on, one step in
  /// `sample_every` is timed (two clock reads) and counted in
  /// `step_histogram[i]`: bucket 0 under 1 µs, bucket i in [2^(i-1), 2^i) µs,
  /// the last one everything longer. Loop thread only (not atomic).
  static constexpr std::uint64_t sample_every = 64;
  static constexpr std::size_t histogram_buckets = 24;
  bool sample_steps = false;
  std::uint64_t step_histogram[histogram_buckets] = {};

  std::uint64_t bump() noexcept {
    std::uint64_t v = steps.load(std::memory_order_relaxed) + 1;
    steps.store(v, std::memory_order_relaxed);
    return v;
  }
};

/// Called at the end of every event_loop constructor, on the loop's thread,
/// when set: how a linked aiocpp::debug turns its detector on for every loop
/// (AIO_SLOW_STEP_MS) without core depending on it.
inline std::atomic<void (*)(event_loop&) noexcept> loop_created_hook{nullptr};
}  // namespace detail

/// A callback scheduled with call_soon / call_later / call_at.
/// Like asyncio's `Handle` / `TimerHandle`. Dropping it does not cancel.
class callback_handle {
 public:
  callback_handle() noexcept = default;
  explicit callback_handle(detail::callback_node* n) noexcept;
  callback_handle(const callback_handle& o) noexcept;
  callback_handle& operator=(callback_handle o) noexcept;
  ~callback_handle();
  /// Cancels the callback if it has not run; a timer leaves the wheel at once.
  void cancel() noexcept;
  bool cancelled() const noexcept;

 private:
  detail::callback_node* node_ = nullptr;
};

class event_loop {
 public:
  using clock = std::chrono::steady_clock;
  using time_point = clock::time_point;
  using duration = clock::duration;

  explicit event_loop(loop_options options = {});
  ~event_loop();
  event_loop(const event_loop&) = delete;
  event_loop& operator=(const event_loop&) = delete;

  /// Runs until `stop()`. Like `loop.run_forever()`. Loop thread only.
  void run_forever();
  /// Makes run_forever return after the current iteration. Loop thread only.
  void stop() noexcept;
  bool is_running() const noexcept;
  /// One iteration: poll I/O, fire due timers, run what was ready. Loop thread only.
  void run_once();

  /// Like `loop.call_soon`. Loop thread only (else invalid_state_error).
  callback_handle call_soon(detail::unique_function fn);
  /// Like `loop.call_later`. Loop thread only.
  callback_handle call_later(duration delay, detail::unique_function fn);
  /// Like `loop.call_at`. Loop thread only.
  callback_handle call_at(time_point when, detail::unique_function fn);
  /// Like `loop.call_soon_threadsafe`: any thread; wakes the loop if it sleeps.
  /// Callbacks run on the loop thread in the order they were queued.
  void call_soon_threadsafe(detail::unique_function fn);

  /// The loop's clock. Like `loop.time()` (a time_point, not float seconds).
  time_point time() const noexcept;
  /// "io_uring" or "epoll".
  std::string_view backend_name() const noexcept;

  /// Virtual time, like tokio's `time::pause`: the clock stops, and when the
  /// loop has nothing to run it jumps to the next timer instead of sleeping.
  /// Lets tests of timeouts run instantly. I/O is still polled, without waiting.
  void set_virtual_time(bool on);
  bool virtual_time() const noexcept;

  /// Like `loop.set_exception_handler`: called for exceptions that escape
  /// callbacks and for task exceptions never retrieved. Default: log to stderr.
  void set_exception_handler(std::function<void(event_loop&, const exception_context&)> handler);
  void call_exception_handler(const exception_context& context);

  /// Like `loop.add_signal_handler` (signalfd): `fn` runs on the loop thread.
  /// Replaces an earlier handler for the same signal. Loop thread only.
  void add_signal_handler(int signum, std::function<void()> fn);
  /// Like `loop.remove_signal_handler`: true if a handler was removed.
  bool remove_signal_handler(int signum);

  /// Throws invalid_state_error unless called on the thread that owns this loop.
  void check_thread(const char* what) const;

  /// The extension stored under `key` (any unique address), or nullptr. Loop thread only.
  loop_extension* find_extension(const void* key) const noexcept;
  /// Stores `ext` under `key` (replacing none: invalid_state_error if taken). Loop thread only.
  loop_extension& add_extension(const void* key, std::unique_ptr<loop_extension> ext);

  // --- internals used by the awaitables in include/aio/core ---------------
  void schedule(detail::ready_node& n) noexcept {
    n.ready_next_ = nullptr;
    if (ready_tail_) ready_tail_->ready_next_ = &n; else ready_head_ = &n;
    ready_tail_ = &n;
  }
  detail::promise_base* current_task() const noexcept { return current_; }
  void set_current_task(detail::promise_base* t) noexcept { current_ = t; }
  detail::loop_impl& impl() noexcept { return *impl_; }
  void add_timer(detail::timer_node& t, time_point when) noexcept;
  void cancel_timer(detail::timer_node& t) noexcept;
  /// Starts an I/O operation. True when it finished at once (res_ set, complete_ not called).
  bool start_io(detail::io_op& op);
  /// Asks the backend to abandon `op`; complete_ still runs, later or at once.
  void cancel_io(detail::io_op& op) noexcept;
  void link_task(detail::promise_base& t) noexcept;
  void unlink_task(detail::promise_base& t) noexcept;
  detail::promise_base* first_task() const noexcept { return tasks_; }
  std::size_t task_count() const noexcept { return task_count_; }
  /// The counters a blocking detector watches (aiocpp::debug). Any thread may read them.
  detail::loop_progress& progress() noexcept { return progress_; }
  /// The step the watchdog flagged is over: tells the detector, with the
  /// task that ran (nullptr for a callback).
  void end_stall(detail::promise_base* task = nullptr) noexcept;

 private:
  void run_ready();
  void run_timed(detail::ready_node* n) noexcept;
  void leave_idle(std::uint32_t why) noexcept;

  detail::ready_node* ready_head_ = nullptr;
  detail::ready_node* ready_tail_ = nullptr;
  detail::promise_base* current_ = nullptr;
  detail::promise_base* tasks_ = nullptr;
  std::size_t task_count_ = 0;
  std::unique_ptr<detail::loop_impl> impl_;
  detail::loop_progress progress_;
};

/// The loop running on this thread. Like `asyncio.get_running_loop()`.
/// Throws invalid_state_error when no loop runs on this thread.
event_loop& get_running_loop();

/// The running loop, or nullptr. Like `asyncio._get_running_loop()`.
inline event_loop* try_get_running_loop() noexcept { return detail::running_loop_; }

}  // namespace aio
