// SPDX-License-Identifier: MIT
// to_thread: blocking work off the loop, so that the other tasks keep running.
//
// A ticker task prints every 100 ms while blocking calls run on the default
// executor; a slow job is then cancelled through its std::stop_token, a
// CPU-bound job runs on a pool of our own via run_in_executor, and a pool
// whose jobs wait on each other grows instead of stalling.
//
//   ./example_to_thread
#include <atomic>
#include <chrono>
#include <cstdio>
#include <numeric>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "aio/aio.hpp"

using namespace std::chrono_literals;

namespace {

/// A blocking call (a legacy client, a file on NFS…): never call it on the loop.
std::string blocking_lookup(int id) {
  std::this_thread::sleep_for(250ms);
  return "record " + std::to_string(id);
}

/// A long job that checks its stop_token: cancelling the awaiting task stops it.
int slow_scan(std::stop_token stop) {
  int chunks = 0;
  while (!stop.stop_requested() && chunks < 100) {
    std::this_thread::sleep_for(10ms);
    ++chunks;
  }
  std::printf("  slow_scan stopped after %d chunk(s)\n", chunks);
  return chunks;
}

aio::task<> ticker(const bool& done) {
  auto start = std::chrono::steady_clock::now();
  while (!done) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    std::printf("  tick at %lld ms\n", static_cast<long long>(ms.count()));
    co_await aio::sleep(100ms);
  }
}

aio::task<> amain() {
  bool done = false;
  auto tick = aio::create_task(ticker(done));

  // Two blocking calls at once, each on a default-executor thread.
  auto a = aio::to_thread(blocking_lookup, 1);
  auto b = aio::to_thread(blocking_lookup, 2);
  std::printf("got %s and %s\n", (co_await a).c_str(), (co_await b).c_str());

  // A job that would take a second, given 120 ms.
  try {
    co_await aio::wait_for(aio::to_thread(slow_scan), 120ms);
  } catch (const aio::timeout_error&) {
    std::printf("slow_scan timed out: the coroutine resumed at once, the job was asked to stop\n");
  }

  // CPU-bound work on a pool of our own (threads named "sum-N").
  aio::thread_pool_executor pool(2, "sum");
  auto sum = co_await aio::run_in_executor(&pool, [] {
    std::vector<long> v(10'000'000);
    std::iota(v.begin(), v.end(), 0L);
    return std::accumulate(v.begin(), v.end(), 0L);
  });
  std::printf("sum = %ld\n", sum);

  // Jobs that wait on each other: on a pool of one thread the consumer would
  // hold it for ever and the producer, queued behind, never run. Growth when
  // stalled adds a thread once nothing has moved for 50 ms.
  aio::thread_pool_executor pair_pool(1, "pair");
  pair_pool.set_growth({50ms, 1});
  std::atomic<bool> produced{false};
  auto consumer = pair_pool.submit([&produced] {
    while (!produced) std::this_thread::sleep_for(1ms);
    return 42;
  });
  auto producer = pair_pool.submit([&produced] { produced = true; });
  co_await producer;
  const int consumed = co_await consumer;
  std::printf("consumer got %d; the pool grew to %zu threads\n", consumed, pair_pool.thread_count());

  done = true;
  co_await tick;
}

}  // namespace

int main() {
  aio::run(amain());
  return 0;
}
