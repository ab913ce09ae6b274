// SPDX-License-Identifier: MIT
// Lesson "never-block": the same N waits, once blocking the thread inside
// each coroutine and once suspending with aio::sleep. A heartbeat task
// measures how long the loop went without running anything else.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "aio/core/create_task.hpp"
#include "aio/core/run.hpp"
#include "aio/core/sleep.hpp"
#include "tour.hpp"

namespace aio::tour {

namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::steady_clock;

struct measurement {
  nanoseconds wall{};
  nanoseconds longest_stall{};  // longest gap between two heartbeats
};

// Wakes every millisecond while the loop is healthy; a gap between two
// beats is time the loop spent unable to run anything else.
task<> heartbeat(const bool& stop, nanoseconds& longest) {
  auto last = steady_clock::now();
  while (!stop) {
    co_await aio::sleep(1ms);
    const auto now = steady_clock::now();
    longest = std::max<nanoseconds>(longest, now - last);
    last = now;
  }
}

// The mistake: a blocking call inside a coroutine.
task<> blocking_wait(milliseconds d) {
  std::this_thread::sleep_for(d);
  co_return;
}

// The fix: suspend this coroutine, let the loop run the others.
task<> suspending_wait(milliseconds d) { co_await aio::sleep(d); }

// Starts `n` tasks made by `make(d)` at once, then waits for all of them.
task<measurement> measure(int n, milliseconds d, task<> (*make)(milliseconds)) {
  bool stop = false;
  nanoseconds longest{};
  auto beat = create_task(heartbeat(stop, longest), "heartbeat");
  co_await aio::sleep(0s);  // let the heartbeat take its first step

  const auto start = steady_clock::now();
  std::vector<task_handle<>> tasks;
  tasks.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) tasks.push_back(create_task(make(d)));
  for (auto& t : tasks) co_await t;
  const nanoseconds wall = since(start);

  stop = true;
  co_await beat;
  co_return measurement{wall, longest};
}

// A round figure for the prose: "10 s", "1.5 s", "100 ms".
std::string nominal(milliseconds d) {
  char buf[32];
  if (d >= 1s && d % 1s == 0ms)
    std::snprintf(buf, sizeof buf, "%lld s", static_cast<long long>(d / 1s));
  else if (d >= 1s)
    std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(d.count()) / 1000);
  else
    std::snprintf(buf, sizeof buf, "%lld ms", static_cast<long long>(d.count()));
  return buf;
}

constexpr int label_width = 38;
constexpr int wall_width = 11;
constexpr int stall_width = 22;

task<> lesson_main(int n, milliseconds d) {
  const std::string ms = std::to_string(d.count()) + "ms";
  const std::string_view backend = get_running_loop().backend_name();
  paragraph(
      std::to_string(n) + " coroutines each wait " + ms +
      ", all started at once with create_task and then awaited; the only difference is how each "
      "one waits. A heartbeat task that wakes every millisecond measures the loop's longest stall "
      "(backend: " +
      std::string(backend) + ").");
  std::printf("\n");

  {
    char head[160];
    std::snprintf(head, sizeof head, "    %-*s %*s %*s", label_width, "inside each coroutine",
                  wall_width, "wall time", stall_width, "loop's longest stall");
    std::printf("%s\n", bold(head).c_str());
  }

  // The label goes out first so the reader knows what the pause is.
  const std::string block_label = "std::this_thread::sleep_for(" + ms + ")";
  row_label(label_width, block_label);
  const measurement blocked = co_await measure(n, d, &blocking_wait);
  std::printf("%*s %*s\n", wall_width, format_duration(blocked.wall).c_str(), stall_width,
              format_duration(blocked.longest_stall).c_str());

  const std::string sleep_label = "co_await aio::sleep(" + ms + ")";
  row_label(label_width, sleep_label);
  const measurement slept = co_await measure(n, d, &suspending_wait);
  std::printf("%*s %*s\n", wall_width, format_duration(slept.wall).c_str(), stall_width,
              format_duration(slept.longest_stall).c_str());

  const double ratio =
      static_cast<double>(blocked.wall.count()) / static_cast<double>(slept.wall.count());
  char line[96];
  std::snprintf(line, sizeof line, "aio::sleep finished %.*fx sooner.", ratio >= 10 ? 0 : 1, ratio);
  std::printf("\n  %s\n\n", bold(line).c_str());

  paragraph(
      "Why: sleep_for blocks the thread, and that thread is the event loop, so while one coroutine "
      "sleeps no other coroutine (not even the heartbeat) can run and the " +
      std::to_string(n) + " waits add up to about " + nominal(d * n) +
      ", whereas aio::sleep suspends only its own coroutine and hands the thread back to the loop, "
      "so the waits overlap and all finish after about " +
      nominal(d) + ".");
  std::printf("\n");
  paragraph(dim(
      "In Python it is the same with time.sleep and asyncio.sleep. The rule: inside a coroutine, "
      "wait only with co_await; never call a function that blocks."));
}

}  // namespace

void never_block(const options& opts) {
  const int n = opts.quick ? 20 : 100;
  const milliseconds d = opts.quick ? 50ms : 100ms;
  aio::run(lesson_main(n, d));
}

}  // namespace aio::tour
