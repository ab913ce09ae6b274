// SPDX-License-Identifier: MIT
// Find what blocks the loop: the blocking detector names the blocking line
// while it blocks. A ticker task should tick every 20 ms; one task calls a
// blocking sleep, another spins on the CPU. The detector (threshold 50 ms)
// prints, on stderr, the loop thread's stack during each stall, and a
// slow-step summary once the step ends. The ticker's worst lateness shows
// what every other task suffered.
//
//   build/dev/examples/example_find_blocking
//
// Without code changes, any program linked with aiocpp::debug does the same
// with AIO_SLOW_STEP_MS=50 in its environment.

#include <aio/aio.hpp>
#include <chrono>
#include <cstdio>
#include <thread>

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

// Wrong: a blocking call inside a coroutine stalls every task of the loop.
aio::task<> fetch_config() {
  co_await aio::sleep(30ms);
  std::this_thread::sleep_for(200ms);  // the detector's report points here
}

// Wrong too: a long computation without a suspension point.
aio::task<> crunch_numbers() {
  co_await aio::sleep(300ms);
  unsigned long x = 1;
  const auto end = clock_type::now() + 150ms;
  while (clock_type::now() < end) x = x * 6364136223846793005ul + 1;  // and here
  std::printf("crunched: %lu\n", x & 0xff);
}

// Ticks every 20 ms and records how late each tick was.
aio::task<> ticker(std::chrono::milliseconds* worst) {
  for (int i = 0; i < 30; ++i) {
    auto due = clock_type::now() + 20ms;
    co_await aio::sleep(20ms);
    auto late = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - due);
    if (late > *worst) *worst = late;
  }
}

aio::task<> amain() {
  aio::debug::enable_blocking_detector(aio::get_running_loop(), {.threshold = 50ms});
  std::chrono::milliseconds worst{0};
  auto t = aio::create_task(ticker(&worst), "ticker");
  auto a = aio::create_task(fetch_config(), "fetch_config");
  auto b = aio::create_task(crunch_numbers(), "crunch_numbers");
  co_await a;
  co_await b;
  co_await t;
  auto stats = aio::debug::blocking_detector_stats_of(aio::get_running_loop());
  std::printf("ticker's worst lateness: %lld ms; stalls seen: %llu\n",
              static_cast<long long>(worst.count()), static_cast<unsigned long long>(stats.stalls));
}

int main() {
  aio::run(amain());
  return 0;
}
