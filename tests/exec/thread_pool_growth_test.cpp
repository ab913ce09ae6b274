// SPDX-License-Identifier: MIT
// thread_pool_executor's growth when stalled: jobs that wait on each other
// finish once a thread joins; a pool that keeps moving never grows; the
// library's internal pool has it on; bad settings are errors.
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "aio_test.hpp"

using namespace std::chrono_literals;

AIO_TEST_SUITE(thread_pool_growth_test);

namespace {
// Waits (at most 10 s, so that a broken pool fails instead of hanging) for `flag`.
bool wait_for_flag(const std::atomic<bool>& flag) {
  for (int i = 0; i < 10'000 && !flag; ++i) std::this_thread::sleep_for(1ms);
  return flag;
}
}  // namespace

AIO_TEST(thread_pool_growth_test, a_job_waiting_for_one_queued_behind_it_finishes_once_a_thread_joins) {
  aio::thread_pool_executor pool(1, "grows");
  pool.set_growth({50ms, 2});
  std::atomic<bool> released{false};
  auto waiting = pool.submit([&] { return wait_for_flag(released); });
  auto releasing = pool.submit([&] { released = true; });  // queued behind: only a new thread runs it
  EXPECT_TRUE(co_await waiting);
  co_await releasing;
  EXPECT_EQ(pool.thread_count(), 2u);  // one more, not the two allowed
}

AIO_TEST(thread_pool_growth_test, growth_stops_at_its_limit) {
  aio::thread_pool_executor pool(1, "capped");
  pool.set_growth({20ms, 2});
  std::atomic<bool> released{false};
  std::vector<aio::concurrent_future<bool>> stuck;
  for (int i = 0; i < 4; ++i) stuck.push_back(pool.submit([&] { return wait_for_flag(released); }));
  for (int i = 0; i < 500 && pool.thread_count() < 3; ++i) co_await aio::sleep(2ms);
  co_await aio::sleep(100ms);  // five periods more: no fourth thread
  EXPECT_EQ(pool.thread_count(), 3u);
  released = true;
  for (auto& s : stuck) EXPECT_TRUE(co_await s);
}

AIO_TEST(thread_pool_growth_test, a_pool_that_keeps_moving_never_grows) {
  aio::thread_pool_executor pool(1, "steady");
  pool.set_growth({500ms, 4});
  std::vector<aio::concurrent_future<void>> jobs;
  for (int i = 0; i < 40; ++i) jobs.push_back(pool.submit([] { std::this_thread::sleep_for(5ms); }));
  for (auto& j : jobs) co_await j;  // 200 ms of work, a job taken every 5 ms
  EXPECT_EQ(pool.thread_count(), 1u);
}

AIO_TEST(thread_pool_growth_test, settings_defaults_and_errors) {
  aio::thread_pool_executor pool(2, "settings");
  EXPECT_EQ(pool.get_growth().extra_threads, 0u);  // off by default, as in Python
  pool.set_growth({100ms, 3});
  EXPECT_EQ(pool.get_growth().after, 100ms);
  EXPECT_EQ(pool.get_growth().extra_threads, 3u);
  EXPECT_THROW(pool.set_growth({0ms, 1}), std::invalid_argument);
  EXPECT_THROW(pool.set_growth({1ms, std::size_t{1} << 40}), std::invalid_argument);
  EXPECT_EQ(pool.get_growth().extra_threads, 3u);  // a refused setting changes nothing
  pool.set_growth({});  // off again
  EXPECT_EQ(pool.get_growth().extra_threads, 0u);
  const auto internal = aio::detail::internal_executor().get_growth();
  EXPECT_EQ(internal.after, 250ms);
  EXPECT_EQ(internal.extra_threads + aio::detail::internal_executor().max_workers(), 64u);
  co_return;
}

AIO_TEST(thread_pool_growth_test, the_destructor_ends_the_watcher_with_the_workers) {
  // The watcher is one of the pool's threads: the destructor wakes and joins
  // it (a watcher left waiting would hang it, or leak under LSan).
  std::atomic<bool> released{false};
  const auto start = std::chrono::steady_clock::now();
  {
    aio::thread_pool_executor pool(1, "watched");  // the default deadline: 10 s
    pool.set_growth({10ms, 1});
    auto a = pool.submit([&] { return wait_for_flag(released); });
    auto b = pool.submit([&] { return wait_for_flag(released); });
    for (int i = 0; i < 500 && pool.thread_count() < 2; ++i) co_await aio::sleep(2ms);
    EXPECT_EQ(pool.thread_count(), 2u);
    released = true;
    EXPECT_TRUE(co_await a);
    EXPECT_TRUE(co_await b);
  }  // joins both workers and the watcher
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);  // not the deadline's 10 s
}
