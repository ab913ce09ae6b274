// SPDX-License-Identifier: MIT
// aio::lifo_queue and aio::priority_queue, and queue shutdown (Python 3.13).
#include <functional>
#include <memory>

#include "aio_test.hpp"

using namespace std::chrono_literals;

AIO_TEST_SUITE(queue_kinds_test);

namespace {
aio::task<> yield(int n = 1) {
  for (int i = 0; i < n; ++i) co_await aio::sleep(0s);
}
}  // namespace

AIO_TEST(queue_kinds_test, lifo_queue_returns_the_last_item_first) {
  aio::lifo_queue<int> q(3);
  for (int i = 0; i < 3; ++i) co_await q.put(i);
  EXPECT_TRUE(q.full());
  EXPECT_THROW(q.put_nowait(9), aio::queue_full);
  EXPECT_EQ(co_await q.get(), 2);
  q.put_nowait(5);
  EXPECT_EQ(q.get_nowait(), 5);
  EXPECT_EQ(q.get_nowait(), 1);
  EXPECT_EQ(q.get_nowait(), 0);
  EXPECT_THROW(q.get_nowait(), aio::queue_empty);
}

AIO_TEST(queue_kinds_test, priority_queue_returns_the_smallest_first) {
  aio::priority_queue<std::pair<int, std::string>> q;
  q.put_nowait({5, "e"});
  q.put_nowait({1, "a"});
  q.put_nowait({3, "c"});
  co_await q.put({2, "b"});
  q.put_nowait({4, "d"});
  std::string out;
  while (!q.empty()) out += (co_await q.get()).second;
  EXPECT_EQ(out, "abcde");
}

AIO_TEST(queue_kinds_test, priority_queue_with_custom_compare_and_move_only_items) {
  auto by_value = [](const std::unique_ptr<int>& a, const std::unique_ptr<int>& b) {
    return *a > *b;
  };
  aio::priority_queue<std::unique_ptr<int>, decltype(by_value)> q(0, by_value);  // largest first
  for (int v : {3, 9, 1, 7}) q.put_nowait(std::make_unique<int>(v));
  std::vector<int> out;
  while (!q.empty()) out.push_back(*q.get_nowait());
  EXPECT_EQ(out, (std::vector<int>{9, 7, 3, 1}));
  co_return;
}

AIO_TEST(queue_kinds_test, priority_queue_hands_items_to_a_waiting_getter) {
  aio::priority_queue<int, std::greater<int>> q(2);
  auto getter = [&]() -> aio::task<int> { co_return co_await q.get(); };
  auto g = aio::create_task(getter());
  co_await yield();
  q.put_nowait(4);
  q.put_nowait(8);
  q.put_nowait(6);
  EXPECT_EQ(co_await g, 4);  // it was waiting: the first put is its
  EXPECT_EQ(q.get_nowait(), 8);
  EXPECT_EQ(q.get_nowait(), 6);
}

AIO_TEST(queue_kinds_test, shutdown_refuses_puts_and_drains_gets) {
  aio::queue<int> q;
  q.put_nowait(1);
  q.put_nowait(2);
  q.shutdown();
  EXPECT_TRUE(q.is_shut_down());
  EXPECT_THROW(q.put_nowait(3), aio::queue_shut_down);
  EXPECT_THROW(co_await q.put(3), aio::queue_shut_down);
  EXPECT_EQ(co_await q.get(), 1);  // items still there can be got
  EXPECT_EQ(q.get_nowait(), 2);
  EXPECT_THROW(co_await q.get(), aio::queue_shut_down);
  EXPECT_THROW(q.get_nowait(), aio::queue_shut_down);
  q.task_done();
  q.task_done();
  co_await q.join();
}

AIO_TEST(queue_kinds_test, shutdown_wakes_waiting_getters_and_putters) {
  aio::queue<int> empty_q, full_q(1);
  full_q.put_nowait(0);
  int getter_errors = 0, putter_errors = 0;
  auto getter = [&]() -> aio::task<> {
    try {
      (void)co_await empty_q.get();
    } catch (const aio::queue_shut_down&) {
      ++getter_errors;
    }
  };
  auto putter = [&]() -> aio::task<> {
    try {
      co_await full_q.put(1);
    } catch (const aio::queue_shut_down&) {
      ++putter_errors;
    }
  };
  std::vector<aio::task_handle<>> ts;
  for (int i = 0; i < 3; ++i) ts.push_back(aio::create_task(getter()));
  for (int i = 0; i < 2; ++i) ts.push_back(aio::create_task(putter()));
  co_await yield();
  empty_q.shutdown();
  full_q.shutdown();
  for (auto& t : ts) co_await t;
  EXPECT_EQ(getter_errors, 3);
  EXPECT_EQ(putter_errors, 2);
  EXPECT_EQ(full_q.qsize(), 1u);  // the woken putters' items never went in
  EXPECT_EQ(full_q.get_nowait(), 0);
}

AIO_TEST(queue_kinds_test, immediate_shutdown_drains_and_releases_join) {
  aio::queue<std::unique_ptr<int>> q;
  for (int i = 0; i < 3; ++i) q.put_nowait(std::make_unique<int>(i));
  auto got = q.get_nowait();  // one taken, not yet task_done
  bool joined = false;
  auto joiner = [&]() -> aio::task<> {
    co_await q.join();
    joined = true;
  };
  auto j = aio::create_task(joiner());
  co_await yield();
  q.shutdown(true);
  EXPECT_TRUE(q.empty());
  EXPECT_THROW(co_await q.get(), aio::queue_shut_down);
  EXPECT_EQ(q.unfinished_tasks(), 1u);  // the item we hold
  co_await yield();
  EXPECT_FALSE(joined);
  q.task_done();
  co_await j;
  EXPECT_TRUE(joined);
}

AIO_TEST(queue_kinds_test, immediate_shutdown_with_everything_dropped_releases_join_at_once) {
  aio::queue<int> q;
  q.put_nowait(1);
  auto joiner = [&]() -> aio::task<> { co_await q.join(); };
  auto j = aio::create_task(joiner());
  co_await yield();
  q.shutdown(true);
  EXPECT_EQ(q.unfinished_tasks(), 0u);
  co_await j;
}
