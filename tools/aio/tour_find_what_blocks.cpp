// SPDX-License-Identifier: MIT
// Lesson "find-what-blocks": a ticker task should tick every 10 ms while two
// tasks do the wrong thing (a blocking sleep, a CPU spin). The blocking
// detector reports, while the loop is blocked, the function, file and line
// that block it. Then the same work goes through aio::to_thread: the loop
// stays responsive, and the detector stays quiet.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "aio/core/create_task.hpp"
#include "aio/core/run.hpp"
#include "aio/core/sleep.hpp"
#include "aio/debug/blocking_detector.hpp"
#include "aio/exec/to_thread.hpp"
#include "tour.hpp"

namespace aio::tour {

namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::steady_clock;

// The two mistakes, as plain functions: what the detector must name.
[[gnu::noinline]] void load_settings(milliseconds d) {
  std::this_thread::sleep_for(d);  // a blocking call: file, database, DNS…
  asm volatile("" ::: "memory");
}

[[gnu::noinline]] unsigned long checksum(milliseconds d) {
  unsigned long x = 1;
  const auto end = steady_clock::now() + d;
  while (steady_clock::now() < end)  // a long computation without a suspension point
    for (int i = 0; i < 1000; ++i) x = x * 6364136223846793005ul + 1442695040888963407ul;
  return x;
}

// "aio::tour::load_settings()" for "aio::tour::(anonymous
// namespace)::load_settings(std::chrono::…)".
std::string short_name(std::string f) {
  const std::string anon = "(anonymous namespace)::";
  for (auto at = f.find(anon); at != std::string::npos; at = f.find(anon)) f.erase(at, anon.size());
  if (auto paren = f.find('('); paren != std::string::npos) f.resize(paren);
  return f + "()";
}

// The function of the program's own code nearest to where the loop blocked.
std::string where(const debug::stall_report& r) {
  for (const auto& f : r.stack)
    if (f.file.starts_with("/") && !f.file.starts_with("/usr/") && !f.function.empty())
      return short_name(f.function) + " at " + f.file.substr(f.file.rfind('/') + 1) + ":" +
             std::to_string(f.line);
  for (const auto& f : r.stack)
    if (f.function.find("load_settings") != std::string::npos ||
        f.function.find("checksum") != std::string::npos)
      return short_name(f.function) + " (no line: build with -g for file and line)";
  return r.stack.empty() ? std::string("(no stack)") : r.stack.front().function;
}

// The detector's logger: prints the first report of each stall as it comes
// (from the watchdog thread, while the loop is still blocked).
struct live_log {
  std::mutex m;
  int stalls = 0;
  void operator()(const debug::stall_report& r) {
    if (r.what != debug::stall_report::kind::stalled || r.repeat != 0) return;
    std::lock_guard lock(m);
    ++stalls;
    std::printf("    %s blocked for %lld ms in task '%s':\n      %s\n",
                dim("[detector, live]").c_str(), static_cast<long long>(r.duration.count()),
                r.task_name.c_str(), bold(where(r)).c_str());
    std::fflush(stdout);
  }
};

task<> blocking_settings(milliseconds d) {
  co_await aio::sleep(20ms);
  load_settings(d);
}
task<> blocking_checksum(milliseconds d) {
  co_await aio::sleep(20ms + d * 2);
  checksum(d);
}
task<> offloaded_settings(milliseconds d) {
  co_await aio::sleep(20ms);
  co_await aio::to_thread(load_settings, d);
}
task<> offloaded_checksum(milliseconds d) {
  co_await aio::sleep(20ms + d * 2);
  co_await aio::to_thread(checksum, d);
}

// Runs the two jobs next to the ticker; returns the ticker's worst lateness.
task<nanoseconds> with_ticker(task<> a, task<> b) {
  bool stop = false;
  nanoseconds worst{};
  auto tick = create_task(ticker(stop, worst), "ticker");
  auto ta = create_task(std::move(a), "settings");
  auto tb = create_task(std::move(b), "checksum");
  co_await ta;
  co_await tb;
  stop = true;
  co_await tick;
  co_return worst;
}

task<> lesson_main(milliseconds d) {
  paragraph(
      "A ticker task wants to run every 10 ms. Next to it, task 'settings' calls "
      "std::this_thread::sleep_for(" +
      std::to_string(d.count()) +
      "ms) and task 'checksum' computes for as long without a co_await. The blocking "
      "detector (threshold 50 ms) watches the loop from another thread: when a step runs "
      "too long, it takes the loop thread's stack and names the line, while it blocks.");
  std::printf("\n  %s\n", bold("1. blocking inside coroutines").c_str());
  live_log log;
  debug::enable_blocking_detector(get_running_loop(),
                                  {.threshold = 50ms, .logger = [&log](const auto& r) { log(r); }});
  const nanoseconds blocked = co_await with_ticker(blocking_settings(d), blocking_checksum(d));
  const int stalls_blocked = log.stalls;
  std::printf("    ticker's worst lateness: %s\n", bold(format_duration(blocked)).c_str());

  std::printf("\n  %s\n", bold("2. the same work through co_await aio::to_thread(...)").c_str());
  const nanoseconds offloaded = co_await with_ticker(offloaded_settings(d), offloaded_checksum(d));
  std::printf("    detector reports: %d\n", log.stalls - stalls_blocked);
  std::printf("    ticker's worst lateness: %s\n\n", bold(format_duration(offloaded)).c_str());
  debug::disable_blocking_detector(get_running_loop());

  paragraph(
      "The detector reported " + std::to_string(stalls_blocked) +
      " stall(s) while they were happening, the blocking call and the CPU loop alike, "
      "with the function and line (asyncio's debug mode only says afterwards which step "
      "was slow). The remedy is the same for both: run the blocking or long work on a "
      "thread with aio::to_thread (asyncio.to_thread), and the loop keeps serving the others.");
  std::printf("\n");
  paragraph(
      dim("Any program linked with aiocpp::debug gets the detector with AIO_SLOW_STEP_MS=100 "
          "in its environment; aio::dump_tasks() lists what every task waits on."));
}

}  // namespace

void find_what_blocks(const options& opts) { aio::run(lesson_main(opts.quick ? 150ms : 300ms)); }

}  // namespace aio::tour
