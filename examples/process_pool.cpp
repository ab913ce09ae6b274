// SPDX-License-Identifier: MIT
// process_pool_executor: CPU-bound work on the other cores, awaited from
// coroutines, while the loop stays responsive.
//
// The guide's cpu_bound_task (sum of i*n for i below n) runs four times in a
// pool of 1 worker, then of 2, while a ticker prints every 100 ms on the loop;
// the speed-up of 2 workers over 1 is printed at the end. Then a crashing job
// shows that a dead worker fails only its own job.
//
//   ./example_process_pool [n]     (n defaults to 300,000,000)
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "aio/aio.hpp"

using namespace std::chrono_literals;

// A job is a plain function registered by name: the worker (a fork of this
// program) finds it by that name. Arguments and results are serialised.
std::uint64_t cpu_bound_task(std::uint64_t n) {
  std::uint64_t s = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    s += i * n;
    asm volatile("" : "+r"(s));  // keeps the compiler from solving the sum in closed form
  }
  return s;
}
AIO_PROCESS_JOB(cpu_bound_task);

int crash() {
  std::abort();
}
AIO_PROCESS_JOB(crash);

namespace {

aio::task<> ticker(const bool& done) {
  auto start = std::chrono::steady_clock::now();
  while (!done) {
    co_await aio::sleep(100ms);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    std::printf("  tick %lld ms\n", static_cast<long long>(ms.count()));
  }
}

aio::task<double> four_tasks(aio::process_pool_executor& pool, std::uint64_t n) {
  bool done = false;
  auto tick = aio::create_task(ticker(done));
  auto t0 = std::chrono::steady_clock::now();
  std::vector<aio::concurrent_future<std::uint64_t>> jobs;
  for (int i = 0; i < 4; ++i) jobs.push_back(pool.submit(cpu_bound_task, n));
  for (auto& j : jobs) co_await j;
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  done = true;
  co_await tick;
  co_return seconds;
}

aio::task<> amain(aio::process_pool_executor& one, aio::process_pool_executor& two, std::uint64_t n) {
  std::printf("4 x cpu_bound_task(%llu) with 1 worker:\n", static_cast<unsigned long long>(n));
  double t1 = co_await four_tasks(one, n);
  std::printf("4 x cpu_bound_task(%llu) with 2 workers:\n", static_cast<unsigned long long>(n));
  double t2 = co_await four_tasks(two, n);
  std::printf("1 worker %.2f s, 2 workers %.2f s: speed-up %.2fx\n", t1, t2, t1 / t2);

  try {
    co_await two.submit(crash);
  } catch (const aio::broken_process_pool_error& e) {
    std::printf("crash: %s\n", e.what());
  }
  std::printf("the pool goes on: %llu\n", static_cast<unsigned long long>(co_await two.submit(cpu_bound_task, 10)));
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 300'000'000;
  // The pools start their workers here, before the loop or any other thread.
  aio::process_pool_executor one(1), two(2);
  aio::run(amain(one, two, n));
}
