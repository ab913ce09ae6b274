// SPDX-License-Identifier: MIT
// Cancellation storms on executor jobs: tasks cancelled while their job is
// queued, running, or just finished (its hand-back in flight), in every
// interleaving the scheduler happens to produce. Each job runs at most once,
// each task ends exactly once with its value or cancelled_error, and nothing
// touches a frame that is gone (ASan, TSan).
#include <atomic>
#include <random>
#include <stop_token>
#include <thread>
#include <vector>

#include "aio_test.hpp"

using namespace std::chrono_literals;

AIO_TEST_SUITE(thread_cancel_test);

AIO_TEST(thread_cancel_test, storm_of_cancels_at_every_stage) {
  constexpr int n = 2000;
  aio::thread_pool_executor pool(2, "storm");
  std::vector<std::atomic<int>> runs(n);
  std::vector<int> outcome(n, 0);  // 1 value, 2 cancelled
  auto one = [&](int i, int spin_us) -> aio::task<> {
    try {
      int v = co_await pool.submit([&runs, i, spin_us](std::stop_token st) {
        runs[i].fetch_add(1);
        auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(spin_us);
        while (!st.stop_requested() && std::chrono::steady_clock::now() < until) {
        }
        return i;
      });
      EXPECT_EQ(v, i);
      outcome[i] += 1;
    } catch (const aio::cancelled_error&) {
      outcome[i] += 2;
    }
  };
  std::mt19937 rng(12345);
  std::vector<aio::task_handle<>> tasks;
  for (int i = 0; i < n; ++i)
    tasks.push_back(aio::create_task(one(i, static_cast<int>(rng() % 50))));
  for (int i = 0; i < n; ++i) {
    if (rng() % 4 == 0) co_await aio::sleep(0ms);  // let some progress happen first
    if (rng() % 2 == 0) tasks[i].cancel();
  }
  for (auto& t : tasks) {
    try {
      co_await t;
    } catch (const aio::cancelled_error&) {
    }
  }
  pool.shutdown();
  int cancelled = 0, bad = 0;
  for (int i = 0; i < n; ++i) {
    EXPECT_LE(runs[i].load(), 1) << i;
    bad += runs[i].load() > 1;
    // 0: the task was cancelled before its first step, so it never submitted.
    bool never_started = outcome[i] == 0 && tasks[i].cancelled() && runs[i].load() == 0;
    EXPECT_TRUE(outcome[i] == 1 || outcome[i] == 2 || never_started) << i << ": " << outcome[i];
    bad += outcome[i] != 1 && outcome[i] != 2 && !never_started;
    cancelled += outcome[i] == 2 || tasks[i].cancelled();
  }
  EXPECT_EQ(bad, 0);
  EXPECT_GT(cancelled, 0);
}

AIO_TEST(thread_cancel_test, timeouts_racing_job_completion) {
  std::atomic<int> started{0};
  int values = 0, timeouts = 0;
  for (int i = 0; i < 300; ++i) {
    try {
      int v = co_await aio::wait_for(
          aio::to_thread(
              [&started](std::stop_token st, int k) {
                ++started;
                auto until = std::chrono::steady_clock::now() + 900us;
                while (!st.stop_requested() && std::chrono::steady_clock::now() < until) {
                }
                return k;
              },
              i),
          1ms);
      EXPECT_EQ(v, i);
      ++values;
    } catch (const aio::timeout_error&) {
      ++timeouts;
    }
  }
  EXPECT_EQ(values + timeouts, 300);
  EXPECT_LE(started.load(), 300);
}

AIO_TEST(thread_cancel_test, dropped_future_handle_while_job_runs) {
  // Fire and forget: the handle goes first, the job finishes later into the
  // shared state, which the last reference frees.
  aio::thread_pool_executor pool(2, "forget");
  std::atomic<int> done{0};
  for (int i = 0; i < 1000; ++i) {
    (void)pool.submit([&done] {
      std::this_thread::yield();
      return std::vector<int>(16, ++done);
    });
  }
  pool.shutdown();
  EXPECT_EQ(done.load(), 1000);
  co_return;
}
