// SPDX-License-Identifier: MIT
// Google Benchmark timings of aio::queue: put/get that do not suspend, and a
// producer/consumer pair that hands every item over through a full queue.
//
//   build/bench/bench/core_micro --benchmark_filter=queue

#include <benchmark/benchmark.h>

#include <cstdint>

#include "aio/aio.hpp"
#include "aio/core/queue.hpp"

namespace {

aio::run_options quiet() {
  aio::run_options o;
  o.handle_sigint = false;
  return o;
}

/// put_nowait + get_nowait on an unbounded queue.
aio::task<> nowait(benchmark::State& state) {
  aio::queue<std::int64_t> q;
  std::int64_t sum = 0;
  for (auto _ : state) {
    q.put_nowait(1);
    sum += q.get_nowait();
  }
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(state.iterations());
  co_return;
}
void queue_put_get_nowait(benchmark::State& state) { aio::run(nowait(state), quiet()); }
BENCHMARK(queue_put_get_nowait);

/// co_await put + co_await get when neither has to wait.
aio::task<> await_ready(benchmark::State& state) {
  aio::queue<std::int64_t> q(16);
  std::int64_t sum = 0;
  for (auto _ : state) {
    co_await q.put(1);
    sum += co_await q.get();
  }
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(state.iterations());
}
void queue_put_get_ready(benchmark::State& state) { aio::run(await_ready(state), quiet()); }
BENCHMARK(queue_put_get_ready);

aio::task<> consume(aio::queue<std::int64_t>& q, std::int64_t& sum) {
  for (;;) {
    std::int64_t v = co_await q.get();
    if (v < 0) co_return;
    sum += v;
  }
}

/// Producer and consumer through a queue of size state.range(0): every put
/// that finds the queue full waits for the consumer.
aio::task<> handoff(benchmark::State& state) {
  aio::queue<std::int64_t> q(static_cast<std::size_t>(state.range(0)));
  std::int64_t sum = 0;
  auto consumer = aio::create_task(consume(q, sum));
  for (auto _ : state) co_await q.put(1);
  co_await q.put(-1);
  co_await consumer;
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(state.iterations());
}
void queue_handoff(benchmark::State& state) { aio::run(handoff(state), quiet()); }
BENCHMARK(queue_handoff)->Arg(1)->Arg(64);

}  // namespace
