// SPDX-License-Identifier: MIT
// to_thread and run_in_executor: results on the awaiting loop, cancellation
// before and while a job runs, many jobs at once, the default executor's life.
#include <pthread.h>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "aio_test.hpp"

using namespace std::chrono_literals;

using aio::test::thread_name;

AIO_TEST_SUITE(to_thread_test);


AIO_TEST(to_thread_test, result_exception_and_resumes_on_the_loop_thread) {
  auto loop_thread = std::this_thread::get_id();
  auto [name, id] =
      co_await aio::to_thread([] { return std::pair(thread_name(), std::this_thread::get_id()); });
  EXPECT_EQ(name.rfind("aio-default-", 0), 0u) << name;
  EXPECT_NE(id, loop_thread);
  EXPECT_EQ(std::this_thread::get_id(), loop_thread);
  EXPECT_THROW(co_await aio::to_thread([] { throw std::out_of_range("x"); }), std::out_of_range);
  EXPECT_EQ(std::this_thread::get_id(), loop_thread);
  int x = 0;
  co_await aio::to_thread([](int& r) { r = 5; }, std::ref(x));
  EXPECT_EQ(x, 5);
}

AIO_TEST(to_thread_test, run_in_executor_uses_the_given_or_default_executor) {
  aio::thread_pool_executor pool(1, "mine");
  EXPECT_EQ(co_await aio::run_in_executor(&pool, thread_name), "mine-1");
  auto name = co_await aio::run_in_executor(nullptr, thread_name);
  EXPECT_EQ(name.rfind("aio-default-", 0), 0u) << name;
}

AIO_TEST(to_thread_test, default_executor_is_reused_and_replaceable) {
  auto& e = aio::default_executor();
  EXPECT_EQ(&e, &aio::default_executor());
  std::size_t cores = std::max(1u, std::thread::hardware_concurrency());
  EXPECT_EQ(e.max_workers(), std::min<std::size_t>(32, cores + 4));
  co_await aio::to_thread([] {});
  co_await aio::to_thread([] {});
  EXPECT_EQ(&e, &aio::default_executor());
  aio::set_default_executor(std::make_unique<aio::thread_pool_executor>(1, "replaced"));
  EXPECT_EQ(co_await aio::to_thread(thread_name), "replaced-1");
}

namespace {
struct gate {
  std::atomic<bool> open{false};
  std::atomic<bool> entered{false};
  void pass() {
    entered = true;
    while (!open) std::this_thread::sleep_for(100us);
  }
};
}  // namespace

AIO_TEST(to_thread_test, cancel_before_start_resumes_at_once_and_drops_the_job) {
  aio::thread_pool_executor pool(1, "one");
  gate g;
  std::atomic<bool> ran{false};
  auto blocker = pool.submit([&] { g.pass(); });
  auto body = [&]() -> aio::task<> { co_await pool.submit([&] { ran = true; }); };
  auto waiter = aio::create_task(body());
  co_await aio::sleep(0ms);  // waiter is suspended on the queued job
  waiter.cancel();
  // Resumes at once although the only worker is still blocked.
  bool cancelled = false;
  try {
    co_await waiter;
  } catch (const aio::cancelled_error&) {
    cancelled = true;
  }
  EXPECT_TRUE(cancelled);
  EXPECT_TRUE(waiter.cancelled());
  g.open = true;
  co_await blocker;
  pool.shutdown();
  EXPECT_FALSE(ran.load());
}

AIO_TEST(to_thread_test, cancel_while_running_requests_stop_and_discards_the_late_result) {
  std::atomic<bool> started{false}, saw_stop{false};
  auto result_dtor = std::make_shared<std::atomic<int>>(0);
  struct counted {
    std::shared_ptr<std::atomic<int>> n;
    ~counted() {
      if (n) ++*n;
    }
  };
  // (Coroutine lambdas are named: their captures live in the closure.)
  auto body = [&]() -> aio::task<> {
    auto f = aio::to_thread([&, result_dtor](std::stop_token st) {
      started = true;
      while (!st.stop_requested()) std::this_thread::sleep_for(100us);
      saw_stop = true;
      std::this_thread::sleep_for(5ms);  // finishes well after the awaiter left
      return counted{result_dtor};
    });
    co_await f;
    ADD_FAILURE() << "resumed with a value";
  };
  auto waiter = aio::create_task(body());
  while (!started) co_await aio::sleep(1ms);
  waiter.cancel();
  EXPECT_THROW(co_await waiter, aio::cancelled_error);
  // The job saw the stop request; its result is destroyed with the shared state.
  for (int i = 0; i < 5000 && !saw_stop; ++i) co_await aio::sleep(1ms);
  EXPECT_TRUE(saw_stop.load());
  for (int i = 0; i < 5000 && result_dtor->load() == 0; ++i) co_await aio::sleep(1ms);
  EXPECT_GE(result_dtor->load(), 1);
}

AIO_TEST(to_thread_test, pending_cancel_at_the_await_drops_the_job) {
  aio::thread_pool_executor pool(1, "pending");
  gate g;
  std::atomic<bool> ran{false};
  auto blocker = pool.submit([&] { g.pass(); });
  auto body = [&]() -> aio::task<> {
    auto f = pool.submit([&] { ran = true; });
    aio::current_task().cancel();
    co_await f;  // throws at once: the cancel is pending
  };
  auto t = aio::create_task(body());
  EXPECT_THROW(co_await t, aio::cancelled_error);
  g.open = true;
  co_await blocker;
  pool.shutdown();
  EXPECT_FALSE(ran.load());
}

AIO_TEST(to_thread_test, timeout_around_to_thread) {
  EXPECT_THROW(co_await aio::wait_for(aio::to_thread([](std::stop_token st) {
                                        while (!st.stop_requested())
                                          std::this_thread::sleep_for(100us);
                                      }),
                                      10ms),
               aio::timeout_error);
}

AIO_TEST(to_thread_test, hundred_thousand_jobs_from_ten_coroutines_delivered_once) {
  constexpr int per = 10'000;
  std::vector<std::atomic<int>> runs(10 * per);
  std::vector<int> seen(10 * per, 0);
  std::vector<aio::task_handle<>> workers;
  auto work = [&](int w) -> aio::task<> {
    for (int i = 0; i < per; ++i) {
      int got = co_await aio::to_thread(
          [&runs](int k) {
            runs[k].fetch_add(1);
            return k;
          },
          w * per + i);
      ++seen[got];
    }
  };
  for (int w = 0; w < 10; ++w) workers.push_back(aio::create_task(work(w)));
  for (auto& h : workers) co_await h;
  int bad = 0;
  for (int i = 0; i < 10 * per; ++i) bad += (runs[i].load() != 1) + (seen[i] != 1);
  EXPECT_EQ(bad, 0);
}

// Plain loops (not under AIO_TEST's run) to watch what happens when they close.
class thread_loop_close_test : public ::testing::TestWithParam<aio::backend_kind> {};
INSTANTIATE_TEST_SUITE_P(backends, thread_loop_close_test,
                         ::testing::Values(aio::backend_kind::uring, aio::backend_kind::epoll),
                         aio::test::backend_name{});

TEST_P(thread_loop_close_test, default_executor_shut_down_and_waited_for_at_loop_close) {
  std::atomic<bool> finished{false};
  auto body = [&]() -> aio::task<> {
    // Never awaited: the loop's close still waits for it (asyncio.run's
    // shutdown_default_executor).
    auto f = aio::to_thread([&] {
      std::this_thread::sleep_for(50ms);
      finished = true;
    });
    co_return;
  };
  aio::run(body(), {.loop = {.backend = GetParam()}, .handle_sigint = false});
  EXPECT_TRUE(finished.load());
}

TEST_P(thread_loop_close_test, job_finishing_after_its_loop_closed_does_not_touch_it) {
  aio::thread_pool_executor pool(1, "outlives");
  std::atomic<bool> started{false};
  // A task still awaiting a job (that ignores stop) when the loop closes.
  auto stuck = [&]() -> aio::task<> {
    co_await pool.submit([&] {
      started = true;
      std::this_thread::sleep_for(50ms);
      return std::string(100, 'x');
    });
  };
  auto body = [&]() -> aio::task<> {
    aio::create_task(stuck());
    while (!started) co_await aio::sleep(1ms);
  };
  aio::run(body(), {.loop = {.backend = GetParam()}, .handle_sigint = false});
  pool.shutdown();  // the job finishes now, with its loop gone
}
