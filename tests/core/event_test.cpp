// SPDX-License-Identifier: MIT
// aio::event: set wakes every waiter, wait on a set event does not suspend,
// clear, and cancellation while waiting and after being woken.
#include "aio_test.hpp"

using namespace std::chrono_literals;

AIO_TEST_SUITE(event_test);

namespace {
aio::task<> yield(int n = 1) {
  for (int i = 0; i < n; ++i) co_await aio::sleep(0s);
}
}  // namespace

AIO_TEST(event_test, wait_on_a_set_event_does_not_suspend) {
  aio::event e;
  EXPECT_FALSE(e.is_set());
  e.set();
  EXPECT_TRUE(e.is_set());
  int ran = 0;
  auto other = [&]() -> aio::task<> {
    ++ran;
    co_return;
  };
  auto t = aio::create_task(other());
  co_await e.wait();  // no suspension: the other task has not run yet
  EXPECT_EQ(ran, 0);
  co_await t;
  EXPECT_EQ(ran, 1);
}

AIO_TEST(event_test, set_wakes_every_waiter_in_fifo_order) {
  aio::event e;
  std::vector<int> order;
  auto waiter = [&](int id) -> aio::task<> {
    co_await e.wait();
    order.push_back(id);
  };
  std::vector<aio::task_handle<>> ts;
  for (int i = 0; i < 4; ++i) ts.push_back(aio::create_task(waiter(i)));
  co_await yield();
  EXPECT_EQ(e.waiting(), 4u);
  EXPECT_TRUE(order.empty());
  e.set();
  EXPECT_EQ(e.waiting(), 0u);
  for (auto& t : ts) co_await t;
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3}));
}

AIO_TEST(event_test, clear_makes_wait_suspend_again) {
  aio::event e;
  e.set();
  e.clear();
  EXPECT_FALSE(e.is_set());
  bool done = false;
  auto waiter = [&]() -> aio::task<> {
    co_await e.wait();
    done = true;
  };
  auto t = aio::create_task(waiter());
  co_await yield(3);
  EXPECT_FALSE(done);
  e.set();
  co_await t;
  EXPECT_TRUE(done);
}

AIO_TEST(event_test, waiter_woken_then_cleared_still_returns) {
  aio::event e;
  bool done = false;
  auto waiter = [&]() -> aio::task<> {
    co_await e.wait();
    done = true;
  };
  auto t = aio::create_task(waiter());
  co_await yield();
  e.set();
  e.clear();  // the waiter was already woken: the wake-up is not taken back
  co_await t;
  EXPECT_TRUE(done);
}

AIO_TEST(event_test, cancelled_waiter_leaves_and_others_still_wake) {
  aio::event e;
  int woke = 0;
  auto waiter = [&]() -> aio::task<> {
    co_await e.wait();
    ++woke;
  };
  auto a = aio::create_task(waiter());
  auto b = aio::create_task(waiter());
  co_await yield();
  EXPECT_TRUE(a.cancel());
  EXPECT_EQ(e.waiting(), 1u);
  EXPECT_THROW(co_await a, aio::cancelled_error);
  e.set();
  co_await b;
  EXPECT_EQ(woke, 1);
}

AIO_TEST(event_test, woken_then_cancelled_waiter_returns_and_cancel_lands_later) {
  aio::event e;
  bool returned = false, cancelled_later = false;
  auto waiter = [&]() -> aio::task<> {
    co_await e.wait();
    returned = true;
    try {
      co_await yield();
    } catch (const aio::cancelled_error&) {
      cancelled_later = true;
      throw;
    }
  };
  auto t = aio::create_task(waiter());
  co_await yield();
  e.set();
  t.cancel();
  EXPECT_THROW(co_await t, aio::cancelled_error);
  EXPECT_TRUE(returned);
  EXPECT_TRUE(cancelled_later);
}

AIO_TEST(event_test, pending_cancel_throws_only_when_wait_would_suspend) {
  aio::event e;
  auto body = [&]() -> aio::task<int> {
    aio::current_task().cancel();
    e.set();
    co_await e.wait();  // set: no suspension, no throw
    e.clear();
    co_await e.wait();  // would suspend: throws
    co_return 1;
  };
  EXPECT_THROW(co_await aio::create_task(body()), aio::cancelled_error);
  EXPECT_EQ(e.waiting(), 0u);
}

AIO_VTEST(event_test, wait_under_timeout) {
  aio::event e;
  EXPECT_THROW(co_await aio::wait_for(e.wait(), 5ms), aio::timeout_error);
  EXPECT_EQ(e.waiting(), 0u);
  aio::get_running_loop().call_later(5ms, [&] { e.set(); });
  co_await aio::wait_for(e.wait(), 1s);
  EXPECT_TRUE(e.is_set());
}

AIO_TEST(event_test, ping_pong_between_two_tasks) {
  aio::event ping, pong;
  int rounds = 0;
  auto responder = [&]() -> aio::task<> {
    for (int i = 0; i < 1000; ++i) {
      co_await ping.wait();
      ping.clear();
      pong.set();
    }
  };
  auto t = aio::create_task(responder());
  for (int i = 0; i < 1000; ++i) {
    ping.set();
    co_await pong.wait();
    pong.clear();
    ++rounds;
  }
  co_await t;
  EXPECT_EQ(rounds, 1000);
}
