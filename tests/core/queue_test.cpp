// SPDX-License-Identifier: MIT
// aio::queue: FIFO order, bounded put, the *_nowait forms and their errors,
// move-only items, task_done/join, and fair hand-off between waiting tasks.
// Shutdown, lifo/priority queues and cancellation are in queue_cancel_test.cpp
// and queue_kinds_test.cpp.
#include <memory>

#include "aio_test.hpp"

using namespace std::chrono_literals;

AIO_TEST_SUITE(queue_test);

namespace {
aio::task<> yield(int n = 1) {
  for (int i = 0; i < n; ++i) co_await aio::sleep(0s);
}
}  // namespace

AIO_TEST(queue_test, fifo_order_and_sizes) {
  aio::queue<int> q;
  EXPECT_TRUE(q.empty());
  EXPECT_FALSE(q.full());  // unbounded: never full
  EXPECT_EQ(q.maxsize(), 0u);
  for (int i = 0; i < 100; ++i) co_await q.put(i);
  EXPECT_EQ(q.qsize(), 100u);
  EXPECT_FALSE(q.full());
  for (int i = 0; i < 100; ++i) EXPECT_EQ(co_await q.get(), i);
  EXPECT_TRUE(q.empty());
}

AIO_TEST(queue_test, nowait_forms_and_their_errors) {
  aio::queue<int> q(2);
  EXPECT_THROW(q.get_nowait(), aio::queue_empty);
  q.put_nowait(1);
  q.put_nowait(2);
  EXPECT_TRUE(q.full());
  EXPECT_THROW(q.put_nowait(3), aio::queue_full);
  EXPECT_EQ(q.qsize(), 2u);
  EXPECT_EQ(q.get_nowait(), 1);
  EXPECT_EQ(q.get_nowait(), 2);
  EXPECT_THROW(q.get_nowait(), aio::queue_empty);
  co_return;
}

AIO_TEST(queue_test, ring_buffer_wraps_and_grows) {
  aio::queue<std::string> q;
  int next_in = 0, next_out = 0;
  for (int round = 0; round < 50; ++round) {
    for (int i = 0; i < 7; ++i) q.put_nowait(std::to_string(next_in++));
    for (int i = 0; i < 5; ++i) EXPECT_EQ(q.get_nowait(), std::to_string(next_out++));
  }
  while (!q.empty()) EXPECT_EQ(q.get_nowait(), std::to_string(next_out++));
  EXPECT_EQ(next_in, next_out);
  co_return;
}

AIO_TEST(queue_test, move_only_items) {
  aio::queue<std::unique_ptr<int>> q(1);
  co_await q.put(std::make_unique<int>(1));
  auto consumer = [&]() -> aio::task<int> {
    int sum = 0;
    for (int i = 0; i < 3; ++i) sum += *co_await q.get();
    co_return sum;
  };
  auto c = aio::create_task(consumer());
  co_await q.put(std::make_unique<int>(2));  // full: waits for the consumer
  q.put_nowait(std::make_unique<int>(3));
  EXPECT_EQ(co_await c, 6);
}

AIO_TEST(queue_test, bounded_put_waits_until_there_is_room) {
  aio::queue<int> q(1);
  std::vector<std::string> log;
  auto producer = [&]() -> aio::task<> {
    for (int i = 0; i < 3; ++i) {
      co_await q.put(i);
      log.push_back("put " + std::to_string(i));
    }
  };
  auto p = aio::create_task(producer());
  co_await yield(2);
  EXPECT_EQ(log, (std::vector<std::string>{"put 0"}));
  EXPECT_TRUE(q.full());
  EXPECT_EQ(co_await q.get(), 0);  // takes in the waiting putter's item at once
  EXPECT_EQ(q.qsize(), 1u);
  EXPECT_TRUE(q.full());
  EXPECT_EQ(co_await q.get(), 1);
  EXPECT_EQ(co_await q.get(), 2);
  co_await p;
  EXPECT_EQ(log, (std::vector<std::string>{"put 0", "put 1", "put 2"}));
}

AIO_TEST(queue_test, getters_are_served_in_fifo_order) {
  aio::queue<int> q;
  std::vector<std::pair<int, int>> got;
  auto getter = [&](int id) -> aio::task<> { got.emplace_back(id, co_await q.get()); };
  std::vector<aio::task_handle<>> ts;
  for (int i = 0; i < 4; ++i) ts.push_back(aio::create_task(getter(i)));
  co_await yield();
  for (int i = 0; i < 4; ++i) q.put_nowait(10 + i);
  EXPECT_EQ(q.qsize(), 0u);  // handed straight to the waiting getters
  for (auto& t : ts) co_await t;
  EXPECT_EQ(got, (std::vector<std::pair<int, int>>{{0, 10}, {1, 11}, {2, 12}, {3, 13}}));
}

AIO_TEST(queue_test, no_barging_past_waiting_getters_or_putters) {
  aio::queue<int> q(1);
  auto getter = [&]() -> aio::task<int> { co_return co_await q.get(); };
  auto g = aio::create_task(getter());
  co_await yield();
  q.put_nowait(7);  // belongs to the waiting getter now
  EXPECT_THROW(q.get_nowait(), aio::queue_empty);
  EXPECT_EQ(co_await g, 7);

  q.put_nowait(1);
  auto putter = [&]() -> aio::task<> { co_await q.put(2); };
  auto p = aio::create_task(putter());
  co_await yield();
  EXPECT_EQ(q.get_nowait(), 1);  // the waiting putter's 2 goes in right away
  EXPECT_THROW(q.put_nowait(3), aio::queue_full);
  EXPECT_EQ(q.get_nowait(), 2);
  co_await p;
}

AIO_TEST(queue_test, putters_are_served_in_fifo_order) {
  aio::queue<int> q(1);
  q.put_nowait(0);
  auto putter = [&](int v) -> aio::task<> { co_await q.put(v); };
  std::vector<aio::task_handle<>> ts;
  for (int i = 1; i <= 4; ++i) ts.push_back(aio::create_task(putter(i)));
  co_await yield();
  for (int i = 0; i <= 4; ++i) EXPECT_EQ(co_await q.get(), i);
  for (auto& t : ts) co_await t;
}

AIO_TEST(queue_test, task_done_and_join) {
  aio::queue<int> q;
  co_await q.join();  // nothing pending: does not suspend
  EXPECT_THROW(q.task_done(), aio::invalid_state_error);
  for (int i = 0; i < 3; ++i) q.put_nowait(i);
  EXPECT_EQ(q.unfinished_tasks(), 3u);
  bool joined = false;
  auto joiner = [&]() -> aio::task<> {
    co_await q.join();
    joined = true;
  };
  auto j = aio::create_task(joiner());
  for (int i = 0; i < 3; ++i) {
    (void)co_await q.get();
    co_await yield();
    EXPECT_FALSE(joined);
    q.task_done();
  }
  co_await j;
  EXPECT_TRUE(joined);
  EXPECT_THROW(q.task_done(), aio::invalid_state_error);
  EXPECT_EQ(q.unfinished_tasks(), 0u);
}

AIO_TEST(queue_test, join_counts_items_taken_in_from_waiting_putters) {
  aio::queue<int> q(1);
  q.put_nowait(1);
  auto putter = [&]() -> aio::task<> { co_await q.put(2); };
  auto p = aio::create_task(putter());
  co_await yield();
  EXPECT_EQ(q.unfinished_tasks(), 1u);  // the waiting put has not happened yet
  (void)q.get_nowait();
  EXPECT_EQ(q.unfinished_tasks(), 2u);
  q.task_done();
  (void)q.get_nowait();
  q.task_done();
  co_await q.join();
  co_await p;
}

AIO_TEST(queue_test, cancelled_join_leaves_the_queue_untouched) {
  aio::queue<int> q;
  q.put_nowait(1);
  auto joiner = [&]() -> aio::task<> { co_await q.join(); };
  auto j = aio::create_task(joiner());
  co_await yield();
  j.cancel();
  EXPECT_THROW(co_await j, aio::cancelled_error);
  EXPECT_EQ(q.unfinished_tasks(), 1u);
  EXPECT_EQ(q.get_nowait(), 1);
  q.task_done();
  co_await q.join();
}

AIO_TEST(queue_test, ping_pong_through_size_one_queues) {
  aio::queue<int> req(1), rep(1);
  auto server = [&]() -> aio::task<> {
    for (int i = 0; i < 1000; ++i) co_await rep.put(co_await req.get() + 1);
  };
  auto s = aio::create_task(server());
  long sum = 0;
  for (int i = 0; i < 1000; ++i) {
    co_await req.put(i);
    sum += co_await rep.get();
  }
  co_await s;
  EXPECT_EQ(sum, 1000L * 999 / 2 + 1000);
}
