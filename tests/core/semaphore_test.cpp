// SPDX-License-Identifier: MIT
// aio::semaphore and aio::bounded_semaphore: permits, errors, FIFO hand-off,
// the RAII form, and cancellation while queued and after being handed a permit.
#include "aio_test.hpp"

using namespace std::chrono_literals;

AIO_TEST_SUITE(semaphore_test);

namespace {
aio::task<> yield(int n = 1) {
  for (int i = 0; i < n; ++i) co_await aio::sleep(0s);
}
}  // namespace

TEST(semaphore_test_plain, negative_initial_value_is_rejected) {
  EXPECT_THROW(aio::semaphore(-1), std::invalid_argument);
  EXPECT_THROW(aio::bounded_semaphore(-3), std::invalid_argument);
  aio::semaphore zero(0);
  EXPECT_TRUE(zero.locked());
  EXPECT_EQ(zero.value(), 0);
}

AIO_TEST(semaphore_test, acquire_and_release_count_permits) {
  aio::semaphore s(2);
  EXPECT_FALSE(s.locked());
  co_await s.acquire();
  EXPECT_EQ(s.value(), 1);
  co_await s.acquire();
  EXPECT_TRUE(s.locked());
  EXPECT_FALSE(s.try_acquire());
  s.release();
  s.release();
  EXPECT_EQ(s.value(), 2);
  s.release();  // unbounded: may exceed the initial value, as in asyncio
  EXPECT_EQ(s.value(), 3);
}

AIO_TEST(semaphore_test, bounded_semaphore_refuses_too_many_releases) {
  aio::bounded_semaphore s(1);
  EXPECT_THROW(s.release(), aio::invalid_state_error);
  try {
    s.release();
  } catch (const aio::invalid_state_error& e) {
    EXPECT_NE(std::string(e.what()).find("bounded_semaphore"), std::string::npos);
  }
  co_await s.acquire();
  s.release();
  EXPECT_THROW(s.release(), aio::invalid_state_error);
  EXPECT_EQ(s.value(), 1);
  {
    auto g = co_await s.scoped();
    EXPECT_EQ(s.value(), 0);
  }
  EXPECT_EQ(s.value(), 1);
}

AIO_TEST(semaphore_test, bounded_release_hands_over_to_a_waiter) {
  aio::bounded_semaphore s(1);
  co_await s.acquire();
  bool got = false;
  auto w = [&]() -> aio::task<> {
    co_await s.acquire();
    got = true;
    s.release();
  };
  auto t = aio::create_task(w());
  co_await yield();
  s.release();
  co_await t;
  EXPECT_TRUE(got);
  EXPECT_EQ(s.value(), 1);
  EXPECT_THROW(s.release(), aio::invalid_state_error);
}

AIO_TEST(semaphore_test, scoped_guard_releases_its_permit) {
  aio::semaphore s(1);
  {
    auto g = co_await s.scoped();
    EXPECT_TRUE(s.locked());
  }
  EXPECT_FALSE(s.locked());
  EXPECT_EQ(s.value(), 1);
}

AIO_TEST(semaphore_test, waiters_are_served_in_fifo_order_without_barging) {
  aio::semaphore s(0);
  std::vector<int> order;
  auto worker = [&](int id) -> aio::task<> {
    co_await s.acquire();
    order.push_back(id);
  };
  std::vector<aio::task_handle<>> ts;
  for (int i = 0; i < 4; ++i) ts.push_back(aio::create_task(worker(i)));
  co_await yield();
  EXPECT_EQ(s.waiting(), 4u);
  s.release();  // handed to worker 0 directly
  EXPECT_EQ(s.value(), 0);
  EXPECT_FALSE(s.try_acquire());
  s.release();
  s.release();
  s.release();
  for (auto& t : ts) co_await t;
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(s.value(), 0);
}

AIO_TEST(semaphore_test, limits_concurrency) {
  aio::semaphore s(3);
  int inside = 0, peak = 0;
  auto worker = [&]() -> aio::task<> {
    auto g = co_await s.scoped();
    peak = std::max(peak, ++inside);
    co_await yield(2);
    --inside;
  };
  std::vector<aio::task_handle<>> ts;
  for (int i = 0; i < 20; ++i) ts.push_back(aio::create_task(worker()));
  for (auto& t : ts) co_await t;
  EXPECT_EQ(peak, 3);
  EXPECT_EQ(s.value(), 3);
}

AIO_TEST(semaphore_test, cancelled_queued_waiter_takes_no_permit) {
  aio::semaphore s(0);
  bool a_got = false, b_got = false;
  auto a_body = [&]() -> aio::task<> {
    co_await s.acquire();
    a_got = true;
  };
  auto b_body = [&]() -> aio::task<> {
    co_await s.acquire();
    b_got = true;
  };
  auto a = aio::create_task(a_body());
  auto b = aio::create_task(b_body());
  co_await yield();
  a.cancel();
  EXPECT_EQ(s.waiting(), 1u);
  EXPECT_THROW(co_await a, aio::cancelled_error);
  s.release();
  co_await b;
  EXPECT_FALSE(a_got);
  EXPECT_TRUE(b_got);
  EXPECT_EQ(s.value(), 0);
}

AIO_TEST(semaphore_test, woken_then_cancelled_waiter_keeps_its_permit) {
  aio::semaphore s(0);
  bool acquired = false;
  auto body = [&]() -> aio::task<> {
    auto g = co_await s.scoped();
    acquired = true;
    co_await yield();  // the cancel lands here; the guard gives the permit back
  };
  auto t = aio::create_task(body());
  co_await yield();
  s.release();
  t.cancel();
  EXPECT_EQ(s.value(), 0);
  EXPECT_THROW(co_await t, aio::cancelled_error);
  EXPECT_TRUE(acquired);
  EXPECT_EQ(s.value(), 1);  // not leaked, not duplicated
}

AIO_TEST(semaphore_test, pending_cancel_throws_only_where_acquire_would_suspend) {
  aio::semaphore s(1);
  auto body = [&]() -> aio::task<> {
    aio::current_task().cancel();
    co_await s.acquire();  // a permit is free: taken, no throw
    co_await s.acquire();  // would suspend: throws
  };
  EXPECT_THROW(co_await aio::create_task(body()), aio::cancelled_error);
  EXPECT_EQ(s.value(), 0);
  EXPECT_EQ(s.waiting(), 0u);
}

AIO_VTEST(semaphore_test, cancellation_storm_never_leaks_a_permit) {
  aio::semaphore s(2);
  int inside = 0, peak = 0, finished = 0;
  auto worker = [&](int delay_ms) -> aio::task<> {
    auto g = co_await s.scoped();
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
  for (int i = 0; i < 200; ++i) ts.push_back(aio::create_task(worker(1 + i % 3)));
  std::uint32_t seed = 12345;
  for (int round = 0; round < 60; ++round) {
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
  EXPECT_EQ(peak, 2);
  EXPECT_EQ(inside, 0);
  EXPECT_EQ(s.value(), 2);
  EXPECT_EQ(s.waiting(), 0u);
}
