// SPDX-License-Identifier: MIT
// aio::condition: wait/notify with its own or a shared lock, wait_for, errors
// without the lock, and cancellation (the lock is re-acquired first; a
// notification that reached a cancelled waiter is passed on).
#include "aio_test.hpp"

using namespace std::chrono_literals;

AIO_TEST_SUITE(condition_test);

namespace {
aio::task<> yield(int n = 1) {
  for (int i = 0; i < n; ++i) co_await aio::sleep(0s);
}
}  // namespace

AIO_TEST(condition_test, wait_and_notify_without_the_lock_throw) {
  aio::condition c;
  EXPECT_THROW(co_await c.wait(), aio::invalid_state_error);
  EXPECT_THROW(c.notify(), aio::invalid_state_error);
  EXPECT_THROW(c.notify_all(), aio::invalid_state_error);
  EXPECT_THROW(co_await c.wait_for([] { return false; }), aio::invalid_state_error);
  EXPECT_THROW(c.release(), aio::invalid_state_error);
  EXPECT_FALSE(c.locked());
}

AIO_TEST(condition_test, notify_wakes_one_in_fifo_order_and_lock_is_held_after_wait) {
  aio::condition c;
  std::vector<int> order;
  auto waiter = [&](int id) -> aio::task<> {
    auto g = co_await c.scoped();
    co_await c.wait();
    EXPECT_TRUE(c.locked());
    order.push_back(id);
  };
  std::vector<aio::task_handle<>> ts;
  for (int i = 0; i < 3; ++i) ts.push_back(aio::create_task(waiter(i)));
  co_await yield();
  EXPECT_EQ(c.waiting(), 3u);
  EXPECT_FALSE(c.locked());  // every waiter released it
  {
    auto g = co_await c.scoped();
    c.notify();
    EXPECT_EQ(c.waiting(), 2u);
  }
  co_await yield(2);
  EXPECT_EQ(order, (std::vector<int>{0}));
  {
    auto g = co_await c.scoped();
    c.notify(5);  // more than wait: wakes the two left
    EXPECT_EQ(c.waiting(), 0u);
  }
  for (auto& t : ts) co_await t;
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
  EXPECT_FALSE(c.locked());
}

AIO_TEST(condition_test, notify_all_and_shared_lock) {
  aio::lock l;
  aio::condition c(l);
  EXPECT_EQ(&c.get_lock(), &l);
  int woke = 0;
  auto waiter = [&]() -> aio::task<> {
    co_await l.acquire();
    co_await c.wait();
    ++woke;
    l.release();
  };
  std::vector<aio::task_handle<>> ts;
  for (int i = 0; i < 4; ++i) ts.push_back(aio::create_task(waiter()));
  co_await yield();
  co_await l.acquire();
  EXPECT_TRUE(c.locked());
  c.notify_all();
  EXPECT_EQ(c.waiting(), 0u);
  co_await yield();
  EXPECT_EQ(woke, 0);  // they need the lock, which we still hold
  l.release();
  for (auto& t : ts) co_await t;
  EXPECT_EQ(woke, 4);
}

AIO_TEST(condition_test, wait_for_predicate) {
  aio::condition c;
  int value = 0;
  auto consumer = [&]() -> aio::task<bool> {
    auto g = co_await c.scoped();
    bool r = co_await c.wait_for([&] { return value >= 3; });
    EXPECT_TRUE(c.locked());
    co_return r;
  };
  auto t = aio::create_task(consumer());
  for (int i = 0; i < 3; ++i) {
    co_await yield();
    auto g = co_await c.scoped();
    ++value;
    c.notify();
  }
  EXPECT_TRUE(co_await t);
  // Already true: returns without waiting (and without releasing the lock).
  auto g = co_await c.scoped();
  EXPECT_TRUE(co_await c.wait_for([&] { return value == 3; }));
  EXPECT_TRUE(c.locked());
}

AIO_TEST(condition_test, cancelled_waiter_reacquires_the_lock_before_throwing) {
  aio::condition c;
  bool held_on_cancel = false;
  auto waiter = [&]() -> aio::task<> {
    co_await c.acquire();
    try {
      co_await c.wait();
    } catch (const aio::cancelled_error&) {
      held_on_cancel = c.locked();
      c.release();
      throw;
    }
  };
  auto t = aio::create_task(waiter());
  co_await yield();
  co_await c.acquire();  // hold the lock while the waiter is cancelled
  t.cancel();
  co_await yield(3);
  EXPECT_FALSE(t.done());  // cancelled, but still waiting for the lock
  c.release();
  EXPECT_THROW(co_await t, aio::cancelled_error);
  EXPECT_TRUE(held_on_cancel);
  EXPECT_FALSE(c.locked());
  EXPECT_EQ(c.waiting(), 0u);
}

AIO_TEST(condition_test, cancel_while_reacquiring_still_reacquires_and_passes_notification_on) {
  aio::condition c;
  std::vector<std::string> log;
  auto waiter = [&](std::string name) -> aio::task<> {
    co_await c.acquire();
    try {
      co_await c.wait();
      log.push_back(name + " notified");
    } catch (const aio::cancelled_error&) {
      log.push_back(name + " cancelled, locked=" + (c.locked() ? "yes" : "no"));
      c.release();
      throw;
    }
    c.release();
  };
  auto a = aio::create_task(waiter("a"));
  auto b = aio::create_task(waiter("b"));
  co_await yield();
  co_await c.acquire();
  c.notify();  // reaches a, which then waits for the lock
  co_await yield();
  a.cancel();  // a is now queued on the lock: cancelled while re-acquiring
  c.release();
  EXPECT_THROW(co_await a, aio::cancelled_error);
  co_await b;  // a passed its notification on to b
  EXPECT_EQ(log, (std::vector<std::string>{"a cancelled, locked=yes", "b notified"}));
  EXPECT_FALSE(c.locked());
}

AIO_TEST(condition_test, notified_then_cancelled_before_running) {
  aio::condition c;
  bool returned = false;
  auto waiter = [&]() -> aio::task<> {
    auto g = co_await c.scoped();
    co_await c.wait();
    returned = true;
  };
  auto t = aio::create_task(waiter());
  co_await yield();
  {
    auto g = co_await c.scoped();
    c.notify();
    t.cancel();  // woken by notify, then cancelled before it ran
  }
  // The notification is delivered: the lock is free again when it runs, so
  // wait() re-acquires it without suspending and returns. The cancel lands
  // at its next suspension point (here: none, so the task ends cancelled).
  EXPECT_THROW(co_await t, aio::cancelled_error);
  EXPECT_TRUE(returned);
  EXPECT_FALSE(c.locked());
  EXPECT_EQ(c.waiting(), 0u);
}

AIO_VTEST(condition_test, wait_under_timeout_holds_the_lock_afterwards) {
  aio::condition c;
  co_await c.acquire();
  EXPECT_THROW(co_await aio::wait_for(c.wait(), 5ms), aio::timeout_error);
  EXPECT_TRUE(c.locked());
  EXPECT_EQ(c.waiting(), 0u);
  c.release();
}

AIO_TEST(condition_test, cancelled_wait_for_holds_the_lock_and_leaves_no_waiter) {
  aio::condition c;
  bool held = false;
  int checks = 0;
  auto waiter = [&]() -> aio::task<> {
    auto g = co_await c.scoped();
    try {
      co_await c.wait_for([&] {
        ++checks;
        return false;
      });
    } catch (const aio::cancelled_error&) {
      held = c.locked();
      throw;
    }
  };
  auto t = aio::create_task(waiter());
  co_await yield();
  {
    auto g = co_await c.scoped();
    c.notify();  // a spurious wake-up: the predicate is checked again
  }
  co_await yield(2);
  EXPECT_EQ(checks, 2);
  EXPECT_EQ(c.waiting(), 1u);
  t.cancel();
  EXPECT_THROW(co_await t, aio::cancelled_error);
  EXPECT_TRUE(held);
  EXPECT_FALSE(c.locked());
  EXPECT_EQ(c.waiting(), 0u);
}
