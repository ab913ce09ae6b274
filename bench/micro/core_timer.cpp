// SPDX-License-Identifier: MIT
// Google Benchmark timings of the timers: call_later + cancel (insert and
// remove, with state.range(0) other timers pending), and a task cancelled in
// sleep (timer insert, suspension, cancel, resumption).
//
//   build/bench/bench/core_micro --benchmark_filter=timer

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <vector>

#include "aio/aio.hpp"

namespace {

using namespace std::chrono_literals;

aio::run_options quiet() {
  aio::run_options o;
  o.handle_sigint = false;
  return o;
}

/// call_later(d) + cancel(), with `pending` other timers spread over 0..60 s.
aio::task<> call_later_cancel(benchmark::State& state) {
  auto& loop = aio::get_running_loop();
  auto pending = static_cast<std::int64_t>(state.range(0));
  std::vector<aio::callback_handle> others;
  others.reserve(static_cast<std::size_t>(pending));
  for (std::int64_t i = 0; i < pending; ++i)
    others.push_back(loop.call_later(std::chrono::milliseconds(1 + (i * 7919) % 60'000), [] {}));
  std::int64_t k = 0;
  for (auto _ : state) {
    auto h = loop.call_later(std::chrono::milliseconds(1 + (k++ * 104'729) % 60'000), [] {});
    h.cancel();
  }
  for (auto& h : others) h.cancel();
  state.SetItemsProcessed(state.iterations());
  co_return;
}
void timer_call_later_cancel(benchmark::State& state) { aio::run(call_later_cancel(state), quiet()); }
BENCHMARK(timer_call_later_cancel)->Arg(0)->Arg(100'000);

aio::task<> sleeper() { co_await aio::sleep(10s); }

/// A task that sleeps 10 s is cancelled: create, suspend in sleep, cancel, finish.
aio::task<> sleep_cancel(benchmark::State& state) {
  for (auto _ : state) {
    auto h = aio::create_task(sleeper());
    co_await aio::sleep(0s);  // the task reaches its sleep
    h.cancel();
    co_await aio::sleep(0s);  // it finishes, cancelled
  }
  state.SetItemsProcessed(state.iterations());
}
void timer_sleep_cancel(benchmark::State& state) { aio::run(sleep_cancel(state), quiet()); }
BENCHMARK(timer_sleep_cancel);

}  // namespace
