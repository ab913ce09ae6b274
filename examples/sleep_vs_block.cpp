// SPDX-License-Identifier: MIT
// Never block a coroutine: ten tasks each wait 100 ms, first with a blocking
// std::this_thread::sleep_for (the loop stalls: about 1 s in all), then with
// aio::sleep (the waits overlap: about 100 ms). `aio tour never-block` is the
// longer, measured version of this lesson.
//
//   build/release/examples/example_sleep_vs_block

#include <aio/aio.hpp>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

// Wrong: blocks the thread, and with it the loop and every other task.
aio::task<> blocking_wait() {
  std::this_thread::sleep_for(100ms);
  co_return;
}

// Right: suspends this task; the loop runs the others meanwhile.
aio::task<> suspending_wait() { co_await aio::sleep(100ms); }

// Runs ten tasks made by `make` concurrently; returns the wall time in ms.
aio::task<long long> ten_at_once(aio::task<> (*make)()) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<aio::task_handle<>> tasks;
  for (int i = 0; i < 10; ++i) tasks.push_back(aio::create_task(make()));
  for (auto& t : tasks) co_await t;
  co_return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  start)
      .count();
}

aio::task<> amain() {
  const long long blocked = co_await ten_at_once(&blocking_wait);
  const long long slept = co_await ten_at_once(&suspending_wait);
  std::printf("10 x std::this_thread::sleep_for(100ms): %5lld ms\n", blocked);
  std::printf("10 x co_await aio::sleep(100ms):         %5lld ms\n", slept);
}

int main() {
  aio::run(amain());
  return 0;
}
