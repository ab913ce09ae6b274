// SPDX-License-Identifier: MIT
// aio::lock: ownership, errors, FIFO hand-off without barging, the RAII form,
// and cancellation while queued, before suspending, and after being handed the lock.
#include "aio_test.hpp"

using namespace std::chrono_literals;

AIO_TEST_SUITE(lock_test);

namespace {
aio::task<> yield(int n = 1) {
  for (int i = 0; i < n; ++i) co_await aio::sleep(0s);
}
}  // namespace

AIO_TEST(lock_test, acquire_and_release) {
  aio::lock l;
  EXPECT_FALSE(l.locked());
  co_await l.acquire();  // free: does not suspend
  EXPECT_TRUE(l.locked());
  EXPECT_FALSE(l.try_acquire());
  l.release();
  EXPECT_FALSE(l.locked());
  EXPECT_TRUE(l.try_acquire());
  l.release();
}

AIO_TEST(lock_test, release_of_unlocked_lock_throws) {
  aio::lock l;
  EXPECT_THROW(l.release(), aio::invalid_state_error);
  co_await l.acquire();
  l.release();
  EXPECT_THROW(l.release(), aio::invalid_state_error);
  EXPECT_FALSE(l.locked());
}

AIO_TEST(lock_test, scoped_guard_releases_at_scope_end) {
  aio::lock l;
  {
    auto g = co_await l.scoped();
    EXPECT_TRUE(g.owns());
    EXPECT_TRUE(l.locked());
    auto g2 = std::move(g);
    EXPECT_FALSE(g.owns());
    EXPECT_TRUE(l.locked());
  }
  EXPECT_FALSE(l.locked());
  auto g = co_await l.scoped();
  g.reset();
  EXPECT_FALSE(l.locked());
  g.reset();  // no-op once released
  EXPECT_FALSE(l.locked());
}

AIO_TEST(lock_test, scoped_guard_releases_on_exception) {
  aio::lock l;
  auto body = [&]() -> aio::task<> {
    auto g = co_await l.scoped();
    throw std::runtime_error("boom");
  };
  EXPECT_THROW(co_await body(), std::runtime_error);
  EXPECT_FALSE(l.locked());
}

AIO_TEST(lock_test, waiters_get_the_lock_in_fifo_order) {
  aio::lock l;
  std::vector<int> order;
  auto worker = [&](int id) -> aio::task<> {
    auto g = co_await l.scoped();
    order.push_back(id);
    co_await yield();
  };
  co_await l.acquire();
  std::vector<aio::task_handle<>> ts;
  for (int i = 0; i < 5; ++i) ts.push_back(aio::create_task(worker(i)));
  co_await yield();
  EXPECT_EQ(l.waiting(), 5u);
  l.release();
  for (auto& t : ts) co_await t;
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_FALSE(l.locked());
}

AIO_TEST(lock_test, release_hands_over_without_barging) {
  aio::lock l;
  std::vector<std::string> log;
  auto waiter = [&]() -> aio::task<> {
    co_await l.acquire();
    log.push_back("waiter");
    co_await yield();
    l.release();
  };
  co_await l.acquire();
  auto w = aio::create_task(waiter());
  co_await yield();
  l.release();  // handed to the waiter, which has not run yet
  EXPECT_TRUE(l.locked());
  EXPECT_FALSE(l.try_acquire());
  co_await l.acquire();  // queues behind the waiter
  log.push_back("main");
  l.release();
  co_await w;
  EXPECT_EQ(log, (std::vector<std::string>{"waiter", "main"}));
}

AIO_TEST(lock_test, cancelled_queued_waiter_leaves_the_queue) {
  aio::lock l;
  bool a_got = false, b_got = false;
  auto a_body = [&]() -> aio::task<> {
    co_await l.acquire();
    a_got = true;
    l.release();
  };
  auto b_body = [&]() -> aio::task<> {
    co_await l.acquire();
    b_got = true;
    l.release();
  };
  co_await l.acquire();
  auto a = aio::create_task(a_body());
  auto b = aio::create_task(b_body());
  co_await yield();
  EXPECT_EQ(l.waiting(), 2u);
  a.cancel();
  EXPECT_EQ(l.waiting(), 1u);
  EXPECT_THROW(co_await a, aio::cancelled_error);
  EXPECT_FALSE(a_got);
  l.release();
  co_await b;
  EXPECT_TRUE(b_got);
  EXPECT_FALSE(l.locked());
}

AIO_TEST(lock_test, woken_then_cancelled_waiter_keeps_the_lock) {
  aio::lock l;
  bool acquired = false, cancelled_later = false;
  auto body = [&]() -> aio::task<> {
    co_await l.acquire();
    acquired = true;
    try {
      co_await yield();
    } catch (const aio::cancelled_error&) {
      cancelled_later = true;
      l.release();
      throw;
    }
  };
  co_await l.acquire();
  auto t = aio::create_task(body());
  co_await yield();
  l.release();  // the lock now belongs to t, which has not run
  t.cancel();
  EXPECT_TRUE(l.locked());
  EXPECT_THROW(co_await t, aio::cancelled_error);
  EXPECT_TRUE(acquired);
  EXPECT_TRUE(cancelled_later);
  EXPECT_FALSE(l.locked());
}

AIO_TEST(lock_test, pending_cancel_throws_only_where_acquire_would_suspend) {
  aio::lock l;
  bool first = false;
  auto body = [&]() -> aio::task<> {
    aio::current_task().cancel();
    co_await l.acquire();  // free: taken without suspending, as in asyncio
    first = true;
    l.release();
    co_await l.acquire();  // still free: no suspension, no throw
    // Held by us now; a second acquire must suspend and so throws.
    co_await l.acquire();
  };
  EXPECT_THROW(co_await aio::create_task(body()), aio::cancelled_error);
  EXPECT_TRUE(first);
  EXPECT_EQ(l.waiting(), 0u);
  EXPECT_TRUE(l.locked());  // the body never released its second acquisition
  l.release();
}

AIO_VTEST(lock_test, acquire_under_timeout_leaves_the_queue) {
  aio::lock l;
  co_await l.acquire();
  EXPECT_THROW(co_await aio::wait_for(l.acquire(), 10ms), aio::timeout_error);
  EXPECT_EQ(l.waiting(), 0u);
  l.release();
  EXPECT_FALSE(l.locked());
}

AIO_TEST(lock_test, many_tasks_increment_under_the_lock) {
  aio::lock l;
  int counter = 0;
  auto worker = [&]() -> aio::task<> {
    for (int i = 0; i < 100; ++i) {
      auto g = co_await l.scoped();
      int v = counter;
      co_await yield();
      counter = v + 1;
    }
  };
  std::vector<aio::task_handle<>> ts;
  for (int i = 0; i < 10; ++i) ts.push_back(aio::create_task(worker()));
  for (auto& t : ts) co_await t;
  EXPECT_EQ(counter, 1000);
  EXPECT_FALSE(l.locked());
}

AIO_VTEST(lock_test, cancellation_storm_keeps_mutual_exclusion_and_never_leaks) {
  aio::lock l;
  int inside = 0, peak = 0, finished = 0;
  auto worker = [&](int delay_ms) -> aio::task<> {
    auto g = co_await l.scoped();
    peak = std::max(peak, ++inside);
    try {
      co_await aio::sleep(std::chrono::milliseconds(delay_ms));
    } catch (const aio::cancelled_error&) {
      --inside;
      throw;
    }
    --inside;
    ++finished;
  };
  std::vector<aio::task_handle<>> ts;
  for (int i = 0; i < 200; ++i) ts.push_back(aio::create_task(worker(i % 2)));
  std::uint32_t seed = 99;
  for (int round = 0; round < 80; ++round) {
    seed = seed * 1103515245u + 12345u;
    ts[(seed >> 8) % ts.size()].cancel();
    seed = seed * 1103515245u + 12345u;
    if (seed & 0x100)
      co_await aio::sleep(1ms);
    else
      co_await yield();
  }
  int cancelled = 0;
  for (auto& t : ts) {
    try {
      co_await t;
    } catch (const aio::cancelled_error&) {
      ++cancelled;
    }
  }
  EXPECT_GT(cancelled, 0);
  EXPECT_EQ(finished + cancelled, 200);
  EXPECT_EQ(peak, 1);
  EXPECT_EQ(inside, 0);
  EXPECT_FALSE(l.locked());
  EXPECT_EQ(l.waiting(), 0u);
}
