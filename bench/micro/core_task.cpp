// SPDX-License-Identifier: MIT
// Google Benchmark timings of the task primitives: create_task, awaiting a
// lazy task inline, awaiting a task that is already done.
//
//   build/bench/bench/core_micro --benchmark_filter=task

#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "aio/aio.hpp"
#include "aio/core/gather.hpp"

namespace {

aio::run_options quiet() {
  aio::run_options o;
  o.handle_sigint = false;
  return o;
}

aio::task<> trivial() { co_return; }
aio::task<int> answer() { co_return 42; }

/// create_task + await of the new task: one frame, two switches.
aio::task<> create_and_await(benchmark::State& state) {
  for (auto _ : state) {
    auto h = aio::create_task(trivial());
    co_await h;
  }
  state.SetItemsProcessed(state.iterations());
}
void task_create_and_await(benchmark::State& state) { aio::run(create_and_await(state), quiet()); }
BENCHMARK(task_create_and_await);

/// create_task of a batch of state.range(0) tasks, then gather them.
aio::task<> create_batch(benchmark::State& state) {
  auto batch = static_cast<std::size_t>(state.range(0));
  std::vector<aio::task_handle<>> handles;
  handles.reserve(batch);
  for (auto _ : state) {
    for (std::size_t i = 0; i < batch; ++i) handles.push_back(aio::create_task(trivial()));
    co_await aio::gather(handles);
    handles.clear();
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
void task_create_batch(benchmark::State& state) { aio::run(create_batch(state), quiet()); }
BENCHMARK(task_create_batch)->Arg(100)->Arg(10'000);

/// co_await of a lazy task<int>: frame allocation, inline run, symmetric transfer back.
aio::task<> await_inline(benchmark::State& state) {
  std::int64_t sum = 0;
  for (auto _ : state) sum += co_await answer();
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(state.iterations());
}
void task_await_inline(benchmark::State& state) { aio::run(await_inline(state), quiet()); }
BENCHMARK(task_await_inline);

/// co_await of a handle whose task is already done: no suspension.
aio::task<> await_done(benchmark::State& state) {
  auto h = aio::create_task(answer());
  co_await aio::sleep(std::chrono::seconds(0));
  std::int64_t sum = 0;
  for (auto _ : state) sum += co_await h;
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(state.iterations());
}
void task_await_done_handle(benchmark::State& state) { aio::run(await_done(state), quiet()); }
BENCHMARK(task_await_done_handle);

/// sleep(0): one trip through the ready queue.
aio::task<> yield_once(benchmark::State& state) {
  for (auto _ : state) co_await aio::sleep(std::chrono::seconds(0));
  state.SetItemsProcessed(state.iterations());
}
void task_yield(benchmark::State& state) { aio::run(yield_once(state), quiet()); }
BENCHMARK(task_yield);

}  // namespace
