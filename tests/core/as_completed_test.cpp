// SPDX-License-Identifier: MIT
#include "aio/core/as_completed.hpp"

#include "aio_test.hpp"

using namespace std::chrono_literals;

using aio::test::value_after;

AIO_TEST_SUITE(as_completed_test);

namespace {
std::vector<aio::task_handle<int>> spawn(std::initializer_list<int> delays_ms) {
  std::vector<aio::task_handle<int>> hs;
  for (int d : delays_ms)
    hs.push_back(aio::create_task(value_after(d, std::chrono::milliseconds(d))));
  return hs;
}
}  // namespace

AIO_VTEST(as_completed_test, delivers_in_completion_order) {
  auto ready = aio::as_completed(spawn({30, 10, 20, 40}));
  std::vector<int> got;
  while (auto t = co_await ready.next()) {
    EXPECT_TRUE(t->done());
    got.push_back(co_await *t);
  }
  EXPECT_EQ(got, (std::vector<int>{10, 20, 30, 40}));
  EXPECT_EQ(ready.remaining(), 0u);
  EXPECT_FALSE((co_await ready.next()).has_value());  // stays exhausted
}

AIO_VTEST(as_completed_test, completions_while_nobody_waits_are_queued) {
  auto ready = aio::as_completed(spawn({20, 5, 10}));
  co_await aio::sleep(50ms);  // all finish before the first next()
  std::vector<int> got;
  while (auto t = co_await ready.next()) got.push_back(t->result());
  EXPECT_EQ(got, (std::vector<int>{5, 10, 20}));
}

AIO_VTEST(as_completed_test, already_done_tasks_come_first_in_input_order) {
  auto hs = spawn({0, 0, 50});
  co_await hs[1];
  co_await hs[0];
  auto ready = aio::as_completed(hs);
  std::vector<int> got;
  while (auto t = co_await ready.next()) got.push_back(t->result());
  EXPECT_EQ(got, (std::vector<int>{0, 0, 50}));
}

AIO_VTEST(as_completed_test, failures_are_delivered_not_thrown) {
  std::vector<aio::task_handle<int>> hs = spawn({20});
  hs.push_back(aio::create_task([]() -> aio::task<int> {
    co_await aio::sleep(5ms);
    throw std::runtime_error("bad");
  }()));
  auto ready = aio::as_completed(hs);
  auto first = co_await ready.next();
  CO_ASSERT_TRUE(first.has_value());
  EXPECT_TRUE(*first == hs[1]);
  EXPECT_THROW(co_await *first, std::runtime_error);
  auto second = co_await ready.next();
  CO_ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->result(), 20);
}

AIO_VTEST(as_completed_test, timeout_raises_after_the_finished_ones) {
  auto hs = spawn({10, 100, 200});
  auto t0 = aio::get_running_loop().time();
  auto ready = aio::as_completed(hs, 50ms);
  auto first = co_await ready.next();
  CO_ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->result(), 10);
  EXPECT_THROW(co_await ready.next(), aio::timeout_error);
  EXPECT_GE(aio::get_running_loop().time() - t0, 50ms);
  EXPECT_THROW(co_await ready.next(), aio::timeout_error);  // one per unfinished task, as asyncio
  EXPECT_EQ(ready.remaining(), 0u);
  EXPECT_FALSE((co_await ready.next()).has_value());
  EXPECT_FALSE(hs[1].done());  // nothing is cancelled
  EXPECT_EQ(co_await hs[1], 100);
  EXPECT_EQ(co_await hs[2], 200);
}

AIO_VTEST(as_completed_test, completed_before_the_deadline_is_delivered_after_it) {
  auto hs = spawn({10, 100});
  auto ready = aio::as_completed(hs, 50ms);
  co_await aio::sleep(60ms);
  auto first = co_await ready.next();
  CO_ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->result(), 10);
  EXPECT_THROW(co_await ready.next(), aio::timeout_error);
  for (auto& h : hs) h.cancel();
}

AIO_VTEST(as_completed_test, cancelled_next_loses_no_completion) {
  auto hs = spawn({20, 40});
  auto ready = aio::as_completed(hs);
  auto body = [&]() -> aio::task<> { (void)co_await ready.next(); };
  auto waiter = aio::create_task(body());
  co_await aio::sleep(5ms);
  waiter.cancel();
  EXPECT_THROW(co_await waiter, aio::cancelled_error);
  std::vector<int> got;
  while (auto t = co_await ready.next()) got.push_back(t->result());
  EXPECT_EQ(got, (std::vector<int>{20, 40}));
}

AIO_VTEST(as_completed_test, cancel_after_the_wake_up_still_delivers) {
  auto hs = spawn({10});
  auto ready = aio::as_completed(hs);
  std::optional<aio::task_handle<int>> got;
  bool cancelled_later = false;
  auto body = [&]() -> aio::task<> {
    got = co_await ready.next();
    try {
      co_await aio::sleep(1s);
    } catch (const aio::cancelled_error&) {
      cancelled_later = true;
    }
  };
  auto waiter = aio::create_task(body());
  auto canceller = [&]() -> aio::task<> {
    co_await hs[0];  // runs right after the task finished, before `waiter` resumes
    waiter.cancel();
  };
  co_await aio::create_task(canceller());
  co_await waiter;
  CO_ASSERT_TRUE(got.has_value());
  EXPECT_EQ((*got).result(), 10);
  EXPECT_TRUE(cancelled_later);
}

AIO_TEST(as_completed_test, empty_and_coroutine_inputs) {
  auto none = aio::as_completed(std::vector<aio::task_handle<int>>{});
  EXPECT_FALSE((co_await none.next()).has_value());
  std::vector<aio::task<int>> ts;
  ts.push_back(value_after(2, 2ms));
  ts.push_back(value_after(1, 1ms));
  auto ready = aio::as_completed(std::move(ts));
  EXPECT_EQ(ready.remaining(), 2u);
  auto a = co_await ready.next();
  auto b = co_await ready.next();
  CO_ASSERT_TRUE(a && b);
  EXPECT_EQ(a->result() + b->result(), 3);
}

AIO_TEST(as_completed_test, destroyed_early_unregisters) {
  auto hs = spawn({5});
  { auto ready = aio::as_completed(hs, 1s); }
  EXPECT_EQ(co_await hs[0], 5);  // finishing does not touch the destroyed object (ASan)
}

AIO_VTEST(as_completed_test, second_concurrent_next_is_refused) {
  auto hs = spawn({20});
  auto ready = aio::as_completed(hs);
  auto body = [&]() -> aio::task<int> {
    auto t = co_await ready.next();
    co_return t ? t->result() : -1;
  };
  auto first = aio::create_task(body());
  co_await aio::sleep(1ms);  // `first` is now waiting in next()
  EXPECT_THROW(co_await ready.next(), aio::invalid_state_error);
  EXPECT_EQ(co_await first, 20);
}
