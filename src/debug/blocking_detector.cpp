// SPDX-License-Identifier: MIT
#include "aio/debug/blocking_detector.hpp"

#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "detector.hpp"

namespace aio::debug {

namespace {

const char extension_key = 0;

// The loop owns its detector through an extension: it goes when the loop
// closes, after the last task (whose stalls it may still report).
struct detector_holder final : loop_extension {
  std::unique_ptr<detail::detector> d;
};

detector_holder* holder_of(event_loop& loop) {
  return static_cast<detector_holder*>(loop.find_extension(&extension_key));
}

void on_stall_end(event_loop& loop, aio::detail::promise_base* task) noexcept {
  if (detector_holder* h = holder_of(loop); h && h->d) h->d->step_ended(task);
}

bool system_module(const std::string& m) {
  return m.starts_with("/lib/") || m.starts_with("/lib64/") || m.starts_with("/usr/lib/") ||
         m.starts_with("/usr/lib64/");
}

// Where a stall happened, for a one-line summary: the innermost frame of the
// program's own code (not a system library or header) with a source line, else the innermost with a
// line, else the innermost.
const stack_frame* blocked_at(const std::vector<stack_frame>& stack) {
  for (const auto& f : stack)
    if (f.file.starts_with("/") && !f.file.starts_with("/usr/") && !system_module(f.module))
      return &f;
  for (const auto& f : stack)
    if (!f.file.empty()) return &f;
  return stack.empty() ? nullptr : &stack.front();
}

std::string ms(std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; }

}  // namespace

void enable_blocking_detector(event_loop& loop, blocking_detector_options options) {
  loop.check_thread("enable_blocking_detector");
  if (options.threshold < std::chrono::milliseconds(1))
    throw std::invalid_argument("enable_blocking_detector: the threshold must be at least 1 ms");
  // A standard signal would take over one the program or the loop uses
  // (SIGINT reaches the loop through a signalfd, SIGSEGV is a crash).
  if (options.signal != 0 && (options.signal < SIGRTMIN || options.signal > SIGRTMAX))
    throw std::invalid_argument("enable_blocking_detector: the signal must be a real-time one (SIGRTMIN.." +
                                std::to_string(SIGRTMAX) + "), not " + std::to_string(options.signal));
  detector_holder* h = holder_of(loop);
  if (!h)
    h = static_cast<detector_holder*>(
        &loop.add_extension(&extension_key, std::make_unique<detector_holder>()));
  h->d.reset();  // one watchdog per loop: the old one stops first
  h->d = std::make_unique<detail::detector>(loop, std::move(options));
  loop.progress().on_stall_end = &on_stall_end;
  loop.progress().sample_steps = true;
}

bool disable_blocking_detector(event_loop& loop) {
  loop.check_thread("disable_blocking_detector");
  detector_holder* h = holder_of(loop);
  if (!h || !h->d) return false;
  h->d.reset();
  loop.progress().on_stall_end = nullptr;
  loop.progress().sample_steps = false;
  return true;
}

bool blocking_detector_enabled(event_loop& loop) {
  loop.check_thread("blocking_detector_enabled");
  detector_holder* h = holder_of(loop);
  return h && h->d;
}

blocking_detector_stats blocking_detector_stats_of(event_loop& loop) {
  loop.check_thread("blocking_detector_stats_of");
  detector_holder* h = holder_of(loop);
  if (!h || !h->d) return {};
  blocking_detector_stats s = h->d->stats();
  const auto& p = loop.progress();
  s.step_histogram.assign(std::begin(p.step_histogram), std::end(p.step_histogram));
  s.steps_per_sample = aio::detail::loop_progress::sample_every;
  return s;
}

std::chrono::milliseconds slow_step_threshold_from_env() noexcept {
  const char* v = std::getenv("AIO_SLOW_STEP_MS");
  if (!v || !*v) return std::chrono::milliseconds(0);
  char* end = nullptr;
  const long n = std::strtol(v, &end, 10);
  if (*end != '\0' || n < 0) {
    std::fprintf(stderr,
                 "aio: AIO_SLOW_STEP_MS=%s is not a number of milliseconds; the blocking detector "
                 "stays off\n",
                 v);
    return std::chrono::milliseconds(0);
  }
  return std::chrono::milliseconds(n);
}

std::string stall_report::text() const {
  // No name: a callback's step if the stack was taken, else unknown.
  const std::string who = !task_name.empty() ? "task '" + task_name + "'"
                          : stack.empty()    ? std::string("a step")
                                             : std::string("a callback");
  std::string out;
  if (what == kind::slow_step) {
    out = "aio: slow step: " + who + " ran for " + ms(duration) + " without yielding (threshold " +
          ms(threshold) + ")";
    if (!resumed_in.empty()) out += "\n  resumed in: " + resumed_in;
    if (!suspended_in.empty()) out += "\n  then suspended in: " + suspended_in;
    if (const stack_frame* at = blocked_at(stack))
      out += "\n  blocked at: " + detail::describe(*at);
  } else {
    out = "aio: event loop blocked for " + ms(duration) + " (threshold " + ms(threshold) + ") in " +
          who;
    if (repeat > 0) out += ", still (report " + std::to_string(repeat + 1) + " of this stall)";
    if (!resumed_in.empty()) out += "\n  resumed in: " + resumed_in;
    if (stack.empty()) out += "\n  (the loop thread's stack could not be taken)";
    for (std::size_t i = 0; i < stack.size(); ++i)
      out += "\n  #" + std::to_string(i) + " " + detail::describe(stack[i]);
  }
  if (suppressed > 0)
    out += "\n  (" + std::to_string(suppressed) + " earlier report(s) dropped by the rate limit)";
  return out;
}

}  // namespace aio::debug
