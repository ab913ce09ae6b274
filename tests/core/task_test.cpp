// SPDX-License-Identifier: MIT
#include <cstdint>
#include <utility>
#include <vector>

#include "aio/core/detail/frame_allocator.hpp"
#include "aio_test.hpp"

using namespace std::chrono_literals;

AIO_TEST_SUITE(task_test);

namespace {
aio::task<int> value(int x) { co_return x; }
aio::task<> fail() {
  throw std::runtime_error("boom");
  co_return;
}
aio::task<int> add_one(int x) { co_return co_await value(x) + 1; }
}  // namespace

AIO_TEST(task_test, await_returns_value) {
  EXPECT_EQ(co_await value(41), 41);
  EXPECT_EQ(co_await add_one(41), 42);
}

AIO_TEST(task_test, await_rethrows) {
  EXPECT_THROW(co_await fail(), std::runtime_error);
}

AIO_TEST(task_test, awaiting_consumed_task_is_an_error) {
  auto t = value(1);
  EXPECT_EQ(co_await t, 1);
  EXPECT_THROW(co_await t, aio::invalid_state_error);
  auto u = value(2);
  auto h = aio::create_task(std::move(u));
  EXPECT_THROW(aio::create_task(std::move(u)), aio::invalid_state_error);
  EXPECT_EQ(co_await h, 2);
}

AIO_TEST(task_test, million_ready_awaits_do_not_overflow_the_stack) {
  long sum = 0;
  for (int i = 0; i < 1'000'000; ++i) sum += co_await value(1);
  EXPECT_EQ(sum, 1'000'000);
}

namespace {
aio::task<long> deep(int n) {
  if (n == 0) co_return 0;
  co_return 1 + co_await deep(n - 1);
}
}  // namespace

AIO_TEST(task_test, deep_recursion_of_awaits) {
  EXPECT_EQ(co_await deep(1000), 1000);
}

AIO_TEST(task_test, move_only_results) {
  auto make = []() -> aio::task<std::unique_ptr<int>> { co_return std::make_unique<int>(7); };
  auto p = co_await make();
  CO_ASSERT_TRUE(p);
  EXPECT_EQ(*p, 7);
}

AIO_TEST(task_test, create_task_runs_concurrently) {
  std::vector<int> order;
  auto worker = [&](int id) -> aio::task<> {
    order.push_back(id);
    co_await aio::sleep(0s);
    order.push_back(id + 10);
  };
  auto a = aio::create_task(worker(1));
  auto b = aio::create_task(worker(2));
  EXPECT_TRUE(order.empty());  // nothing runs until we suspend
  co_await a;
  co_await b;
  EXPECT_EQ(order, (std::vector<int>{1, 2, 11, 12}));
}

AIO_TEST(task_test, handle_result_and_state) {
  auto h = aio::create_task(value(5), "five");
  EXPECT_EQ(h.get_name(), "five");
  EXPECT_FALSE(h.done());
  EXPECT_THROW(h.result(), aio::invalid_state_error);
  EXPECT_THROW(h.exception(), aio::invalid_state_error);
  EXPECT_EQ(co_await h, 5);
  EXPECT_TRUE(h.done());
  EXPECT_FALSE(h.cancelled());
  EXPECT_EQ(h.result(), 5);
  EXPECT_EQ(h.exception(), nullptr);
  EXPECT_FALSE(h.cancel());
  h.set_name("renamed");
  EXPECT_EQ(h.get_name(), "renamed");
}

AIO_TEST(task_test, many_awaiters_of_one_task) {
  auto slow = []() -> aio::task<int> {
    co_await aio::sleep(5ms);
    co_return 9;
  };
  auto h = aio::create_task(slow());
  int total = 0;
  auto waiter = [&](aio::task_handle<int> t) -> aio::task<> { total += co_await t; };
  std::vector<aio::task_handle<>> ws;
  for (int i = 0; i < 5; ++i) ws.push_back(aio::create_task(waiter(h)));
  for (auto& w : ws) co_await w;
  EXPECT_EQ(total, 45);
}

AIO_TEST(task_test, dropped_handle_keeps_task_running) {
  bool ran = false;
  auto body = [&]() -> aio::task<> {
    co_await aio::sleep(2ms);
    ran = true;
  };
  (void)aio::create_task(body());
  co_await aio::sleep(20ms);
  EXPECT_TRUE(ran);
}

AIO_TEST(task_test, current_task_and_all_tasks) {
  auto me = aio::current_task();
  CO_ASSERT_TRUE(me);
  EXPECT_EQ(me.get_name(), "main");
  auto sleeper = aio::create_task([]() -> aio::task<> { co_await aio::sleep(50ms); }(), "sleeper");
  auto all = aio::all_tasks();
  EXPECT_EQ(all.size(), 2u);
  sleeper.cancel();
  EXPECT_THROW(co_await sleeper, aio::cancelled_error);
}

AIO_TEST(task_test, add_done_callback_runs_after_completion) {
  auto h = aio::create_task(value(3));
  int seen = 0;
  h.add_done_callback([&](const aio::task_handle<int>& t) { seen = t.result(); });
  co_await h;
  EXPECT_EQ(seen, 0);  // scheduled with call_soon, not run inline
  co_await aio::sleep(0s);
  EXPECT_EQ(seen, 3);
  h.add_done_callback([&](const aio::task_handle<int>& t) { seen = t.result() * 2; });
  co_await aio::sleep(0s);
  EXPECT_EQ(seen, 6);
}

AIO_TEST(task_test, awaiting_itself_is_an_error) {
  auto me = aio::current_task();
  EXPECT_THROW(co_await me, aio::invalid_state_error);
}

TEST(task_run, run_returns_result_and_rethrows) {
  EXPECT_EQ(aio::run(value(3)), 3);
  EXPECT_THROW(aio::run(fail()), std::runtime_error);
}

TEST(task_run, run_inside_running_loop_is_an_error) {
  auto inner = []() -> aio::task<> {
    EXPECT_THROW(aio::run(value(1)), aio::invalid_state_error);
    co_return;
  };
  aio::run(inner());
}

TEST(task_run, no_running_loop_outside_run) {
  EXPECT_THROW(aio::get_running_loop(), aio::invalid_state_error);
  EXPECT_EQ(aio::try_get_running_loop(), nullptr);
}

TEST(task_run, unretrieved_exception_is_reported) {
  std::vector<std::string> reports;
  std::string where;
  int line = 0;
  auto body = [&]() -> aio::task<> {
    aio::get_running_loop().set_exception_handler(
        [&](aio::event_loop&, const aio::exception_context& c) {
          reports.push_back(c.message + ":" + c.task_name);
          where = c.created_at;
        });
    (void)aio::create_task(fail(), "lost"); line = __LINE__;
    co_await aio::sleep(1ms);
  };
  aio::run(body());
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0], "Task exception was never retrieved:lost");
  // asyncio's debug mode shows where the task was created; we always do.
  EXPECT_NE(where.find("task_test.cpp:" + std::to_string(line)), std::string::npos) << where;
}

TEST(task_run, leftover_tasks_are_cancelled_at_exit) {
  bool cancelled = false;
  auto body = [&]() -> aio::task<> {
    auto forever = [&]() -> aio::task<> {
      try {
        co_await aio::sleep(1h);
      } catch (const aio::cancelled_error&) {
        cancelled = true;
        throw;
      }
    };
    (void)aio::create_task(forever());
    co_await aio::sleep(0s);
  };
  aio::run(body());
  EXPECT_TRUE(cancelled);
}

// Frames are aligned as operator new aligns them, whatever their size (the
// per-thread cache of Release builds included; sanitizer builds use malloc).
TEST(frame_allocator, every_frame_is_aligned_like_operator_new) {
  std::vector<std::pair<void*, std::size_t>> frames;
  for (std::size_t size = 1; size <= 1100; size += 7) {
    void* p = aio::detail::allocate_frame(size);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % __STDCPP_DEFAULT_NEW_ALIGNMENT__, 0u) << size;
    frames.emplace_back(p, size);
  }
  for (auto [p, size] : frames) aio::detail::deallocate_frame(p, size);
}
