// SPDX-License-Identifier: MIT
#include "detector.hpp"

#include "aio/core/detail/wait_list.hpp"
#include "task_walk.hpp"

#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <stdexcept>

namespace aio::debug::detail {

namespace {

using aio::detail::loop_progress;
using std::chrono::milliseconds;

void default_logger(const stall_report& r) {
  std::string text = r.text();
  text += '\n';
  std::fwrite(text.data(), 1, text.size(), stderr);
}

milliseconds since(detector::clock::time_point t, detector::clock::time_point now) {
  return std::chrono::duration_cast<milliseconds>(now - t);
}

// GCC names a coroutine's body "f() [clone .actor]", Clang "f() (.resume)".
bool is_coroutine_body(const std::string& function) {
  return function.find("[clone .actor]") != std::string::npos ||
         function.find(".resume") != std::string::npos;
}

// An unnamed task's default name, as promise_base::name() makes it.
std::string task_label(const void* frame) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "Task-%p", frame);
  return buf;
}

}  // namespace

detector::detector(event_loop& loop, blocking_detector_options options)
    : loop_(loop),
      progress_(loop.progress()),
      options_(std::move(options)),
      channel_(loop, options_.signal ? options_.signal : SIGRTMIN + 6) {
  if (!options_.logger) options_.logger = default_logger;
  // Here rather than on the watchdog: a stall during the first load of the
  // program's debug information would go unseen.
  warm_up_symbols();
  // The watchdog takes no signal: the process's signals (SIGINT for
  // aio::run, the loop's signalfd ones) must reach the loop thread, whatever
  // the loop blocks later. Blocked here, so that it is born with the mask.
  sigset_t all, old;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);
  struct restore_mask {
    sigset_t* old;
    ~restore_mask() { ::pthread_sigmask(SIG_SETMASK, old, nullptr); }
  } restore{&old};
  thread_ = std::thread([this] { watch(); });
}

detector::~detector() {
  {
    std::lock_guard lock(m_);
    stop_.store(true, std::memory_order_seq_cst);
  }
  cv_.notify_all();
  // A parked watchdog sleeps on the loop's idle word: change it, then wake it.
  progress_.idle.fetch_and(~loop_progress::watched, std::memory_order_seq_cst);
  ::syscall(SYS_futex, &progress_.idle, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
  thread_.join();
  progress_.stalled.store(false, std::memory_order_relaxed);
}

blocking_detector_stats detector::stats() const noexcept {
  return {stalls_.load(std::memory_order_relaxed), reports_.load(std::memory_order_relaxed),
          suppressed_.load(std::memory_order_relaxed)};
}

bool detector::park() {
  for (;;) {
    std::uint32_t st = progress_.idle.load(std::memory_order_acquire);
    if ((st & (loop_progress::in_poller | loop_progress::not_running)) == 0) return true;
    if (!(st & loop_progress::watched) &&
        !progress_.idle.compare_exchange_weak(st, st | loop_progress::watched,
                                              std::memory_order_seq_cst))
      continue;
    st |= loop_progress::watched;
    if (stop_.load(std::memory_order_seq_cst)) return false;
    if (summary_due_.load(std::memory_order_seq_cst)) return true;
    ::syscall(SYS_futex, &progress_.idle, FUTEX_WAIT_PRIVATE, st, nullptr, nullptr, 0);
    if (stop_.load(std::memory_order_seq_cst)) return false;
  }
}

void detector::watch() {
  ::pthread_setname_np(::pthread_self(), "aio-watchdog");
  const milliseconds threshold = options_.threshold;
  const auto period = std::max(milliseconds(1), threshold / 4);
  std::uint64_t last = progress_.steps.load(std::memory_order_relaxed);
  clock::time_point seen = clock::now();
  bool stalled = false;
  unsigned repeat = 0;
  milliseconds next_report = threshold;
  while (!stop_.load(std::memory_order_relaxed)) {
    if (summary_due_.exchange(false, std::memory_order_seq_cst)) log_due_summary();
    const std::uint32_t st = progress_.idle.load(std::memory_order_acquire);
    if (st & (loop_progress::in_poller | loop_progress::not_running)) {
      if (!park()) break;
      last = progress_.steps.load(std::memory_order_relaxed);
      seen = clock::now();
      stalled = false;
      continue;
    }
    const std::uint64_t steps = progress_.steps.load(std::memory_order_relaxed);
    const auto now = clock::now();
    if (steps != last) {
      last = steps;
      seen = now;
      stalled = false;
    } else if (const milliseconds blocked = since(seen, now);
               blocked >= (stalled ? next_report : threshold)) {
      if (!stalled) {
        stalled = true;
        repeat = 0;
        stalls_.fetch_add(1, std::memory_order_relaxed);
        {
          std::lock_guard lock(m_);
          stall_ = stall{};
          stall_.active = true;
          stall_.steps = steps;
          stall_.since = seen;
        }
        progress_.stalled.store(true, std::memory_order_relaxed);
      }
      report(steps, blocked, repeat);
      ++repeat;  // again at 2x, 4x, 8x… the threshold
      next_report = threshold * (std::int64_t{1} << std::min(repeat, 30u));
    }
    std::unique_lock lock(m_);
    cv_.wait_for(lock, period, [this] {
      return stop_.load(std::memory_order_relaxed) || summary_due_.load(std::memory_order_relaxed);
    });
  }
}

void detector::report(std::uint64_t steps, milliseconds blocked, unsigned repeat) {
  capture c;
  const milliseconds limit = std::clamp(options_.threshold, milliseconds(20), milliseconds(1000));
  const bool taken = channel_.take(steps, limit, c);
  // The step ended just as the signal landed: no live report, but the
  // summary still needs this stall marked as described.
  const bool moved_on = taken && c.moved_on;
  stall_report r;
  r.what = stall_report::kind::stalled;
  r.threshold = options_.threshold;
  r.duration = blocked;
  r.repeat = repeat;
  if (taken && !moved_on) {
    std::lock_guard symbols_lock(symbols_mutex());
    r.stack.reserve(c.depth);
    for (std::size_t i = 0; i < c.depth; ++i)
      r.stack.push_back(symbols().resolve(c.frames[i], i > 0));
    if (c.in_task) {
      r.task_name = c.name_len ? std::string(c.task_name, c.name_len) : task_label(c.task_frame);
      // The outermost coroutine body on the stack is the one the step resumed
      // (the task's own resume point may be gone: a finished inner coroutine).
      for (auto it = r.stack.rbegin(); it != r.stack.rend(); ++it)
        if (is_coroutine_body(it->function)) {
          r.resumed_in = describe(*it);
          break;
        }
    }
  }
  std::optional<stall_report> summary;
  {
    std::lock_guard lock(m_);
    if (stall_.active && stall_.steps == steps && !stall_.described) {
      stall_.described = true;
      stall_.task_name = r.task_name;
      stall_.resumed_in = r.resumed_in;
      stall_.stack = r.stack;
      if (stall_.ended) summary = summary_locked();  // the loop left it to us
    }
  }
  if (!moved_on) log(r);       // without a stack when the capture timed out
  if (summary) {  // the step ended while we symbolised: the loop left it to us
    finish_summary(*summary, summary_raw_);
    log(*summary);
  }
}

stall_report detector::summary_locked() {
  stall_report r;
  r.what = stall_report::kind::slow_step;
  r.threshold = options_.threshold;
  r.duration = stall_.duration;
  r.task_name = std::move(stall_.task_name);
  r.resumed_in = std::move(stall_.resumed_in);
  r.stack = std::move(stall_.stack);
  summary_raw_ = stall_;  // the raw suspension point, for finish_summary
  stall_.active = false;
  return r;
}

// Symbolises where the step left its task, on the watchdog: symbolising on
// the loop thread (line tables loaded on first use) would stall it again.
void detector::finish_summary(stall_report& r, const stall& raw) {
  if (!raw.had_task) return;
  if (raw.task_done) {
    r.suspended_in = raw.task_cancelled ? "(the task ended cancelled)" : "(the task finished)";
    return;
  }
  std::lock_guard symbols_lock(symbols_mutex());
  if (raw.suspended_fn) r.suspended_in = describe(symbols().resolve(raw.suspended_fn, false));
  if (!raw.suspended_what.empty())
    r.suspended_in += ", waiting on " + raw.suspended_what;
  else if (raw.suspended_hook)
    r.suspended_in += ", waiting on " + waiting_on_hook(symbols().resolve(raw.suspended_hook, false).function);
}

void detector::log_due_summary() {
  std::optional<stall_report> summary;
  stall raw;
  {
    std::lock_guard lock(m_);
    if (stall_.active && stall_.ended && stall_.described) {
      summary = summary_locked();
      raw = summary_raw_;
    }
  }
  if (!summary) return;
  finish_summary(*summary, raw);
  log(*summary);
}

void detector::step_ended(aio::detail::promise_base* task) noexcept {
  // Loop thread: only raw values here (no symbols, no logging); the
  // watchdog writes the summary.
  bool due = false;
  {
    std::lock_guard lock(m_);
    if (!stall_.active || stall_.ended) return;
    stall_.had_task = task != nullptr;
    if (task && task->done()) {
      stall_.task_done = true;
      stall_.task_cancelled = task->cancelled_;
    } else if (task) {
      if (void* frame = task->resume_.address()) stall_.suspended_fn = *static_cast<std::uintptr_t*>(frame);
      if (aio::detail::waiter* w = task->waiter_) {
        if (w->cancel_ == &aio::detail::wait_node::cancel_and_unlink) {
          try {
            stall_.suspended_what = static_cast<aio::detail::wait_node*>(w)->what_;
          } catch (...) {
            // out of memory: the label is lost, the hook still says something
          }
        }
        stall_.suspended_hook = reinterpret_cast<std::uintptr_t>(w->cancel_);
      }
    }
    stall_.ended = true;
    stall_.duration = since(stall_.since, clock::now());
    due = stall_.described;
  }
  if (!due) return;  // the watchdog is still describing it and will sum it up
  summary_due_.store(true, std::memory_order_seq_cst);
  cv_.notify_all();
  // A parked watchdog sleeps on the idle word: wake it to write the summary.
  ::syscall(SYS_futex, &progress_.idle, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

void detector::log(stall_report& r) {
  std::lock_guard lock(log_mutex_);
  const auto now = clock::now();
  while (!recent_.empty() && now - recent_.front() >= std::chrono::minutes(1)) recent_.pop_front();
  if (recent_.size() >= options_.max_reports_per_minute) {
    ++suppressed_since_;
    suppressed_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  recent_.push_back(now);
  r.suppressed = suppressed_since_;
  suppressed_since_ = 0;
  reports_.fetch_add(1, std::memory_order_relaxed);
  try {
    options_.logger(r);
  } catch (...) {
    std::fputs("aio: the blocking detector's logger threw; report dropped\n", stderr);
  }
}

}  // namespace aio::debug::detail
