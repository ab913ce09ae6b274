// SPDX-License-Identifier: MIT
// aio::barrier: arrival indices, cyclic rounds, tasks arriving while a round
// drains, reset, abort/broken, and cancellation while filling or blocked.
#include <algorithm>

#include "aio_test.hpp"

using namespace std::chrono_literals;

AIO_TEST_SUITE(barrier_test);

namespace {
aio::task<> yield(int n = 1) {
  for (int i = 0; i < n; ++i) co_await aio::sleep(0s);
}
}  // namespace

TEST(barrier_test_plain, zero_parties_is_rejected) {
  EXPECT_THROW(aio::barrier(0), std::invalid_argument);
  aio::barrier b(4);
  EXPECT_EQ(b.parties(), 4u);
  EXPECT_EQ(b.n_waiting(), 0u);
  EXPECT_FALSE(b.broken());
}

AIO_TEST(barrier_test, all_pass_together_with_distinct_indices) {
  aio::barrier b(3);
  std::vector<std::size_t> idx;
  int passed = 0;
  auto party = [&]() -> aio::task<> {
    idx.push_back(co_await b.wait());
    ++passed;
  };
  auto t1 = aio::create_task(party());
  auto t2 = aio::create_task(party());
  co_await yield();
  EXPECT_EQ(b.n_waiting(), 2u);
  EXPECT_EQ(passed, 0);
  std::size_t mine = co_await b.wait();  // the last arrival: does not wait
  EXPECT_EQ(mine, 2u);
  co_await t1;
  co_await t2;
  idx.push_back(mine);
  std::sort(idx.begin(), idx.end());
  EXPECT_EQ(idx, (std::vector<std::size_t>{0, 1, 2}));
  EXPECT_EQ(b.n_waiting(), 0u);
  EXPECT_FALSE(b.broken());
}

AIO_TEST(barrier_test, single_party_never_waits) {
  aio::barrier b(1);
  EXPECT_EQ(co_await b.wait(), 0u);
  EXPECT_EQ(co_await b.wait(), 0u);
}

AIO_TEST(barrier_test, rounds_repeat_and_late_arrivals_wait_for_the_drain) {
  aio::barrier b(2);
  std::vector<std::string> log;
  auto party = [&](std::string name, int rounds) -> aio::task<> {
    for (int r = 0; r < rounds; ++r) {
      co_await b.wait();
      log.push_back(name + std::to_string(r));
    }
  };
  auto a = aio::create_task(party("a", 3));
  auto c = aio::create_task(party("b", 3));
  co_await a;
  co_await c;
  EXPECT_EQ(log.size(), 6u);
  // Nobody runs ahead by a round.
  for (std::size_t i = 0; i < log.size(); ++i)
    EXPECT_EQ(log[i].back(), static_cast<char>('0' + i / 2));
}

AIO_TEST(barrier_test, abort_breaks_waiters_and_later_waits) {
  aio::barrier b(3);
  auto party = [&]() -> aio::task<> { co_await b.wait(); };
  auto t = aio::create_task(party());
  co_await yield();
  b.abort();
  EXPECT_TRUE(b.broken());
  EXPECT_THROW(co_await t, aio::broken_barrier_error);
  EXPECT_THROW(co_await b.wait(), aio::broken_barrier_error);
  b.reset();
  EXPECT_FALSE(b.broken());
  auto t2 = aio::create_task(party());
  auto t3 = aio::create_task(party());
  co_await b.wait();
  co_await t2;
  co_await t3;
}

AIO_TEST(barrier_test, reset_breaks_the_current_round_then_refills) {
  aio::barrier b(3);
  auto party = [&]() -> aio::task<std::size_t> { co_return co_await b.wait(); };
  auto t1 = aio::create_task(party());
  auto t2 = aio::create_task(party());
  co_await yield();
  EXPECT_EQ(b.n_waiting(), 2u);
  b.reset();
  EXPECT_FALSE(b.broken());
  EXPECT_EQ(b.n_waiting(), 0u);
  // Arrivals while the broken round drains wait, then start a fresh round.
  auto t3 = aio::create_task(party());
  EXPECT_THROW(co_await t1, aio::broken_barrier_error);
  EXPECT_THROW(co_await t2, aio::broken_barrier_error);
  auto t4 = aio::create_task(party());
  co_await yield();
  EXPECT_EQ(b.n_waiting(), 2u);
  std::size_t mine = co_await b.wait();
  EXPECT_EQ(mine, 2u);
  EXPECT_EQ(co_await t3, 0u);
  EXPECT_EQ(co_await t4, 1u);
}

AIO_TEST(barrier_test, cancelled_waiter_leaves_the_round) {
  aio::barrier b(3);
  auto party = [&]() -> aio::task<std::size_t> { co_return co_await b.wait(); };
  auto t1 = aio::create_task(party());
  auto t2 = aio::create_task(party());
  co_await yield();
  EXPECT_EQ(b.n_waiting(), 2u);
  t1.cancel();
  EXPECT_EQ(b.n_waiting(), 1u);
  EXPECT_THROW(co_await t1, aio::cancelled_error);
  EXPECT_FALSE(b.broken());
  auto t3 = aio::create_task(party());
  co_await yield();
  EXPECT_EQ(b.n_waiting(), 2u);
  EXPECT_EQ(co_await b.wait(), 2u);
  std::vector<std::size_t> got;
  got.push_back(co_await t2);
  got.push_back(co_await t3);
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::size_t>{0, 1}));
}

AIO_TEST(barrier_test, woken_then_cancelled_waiter_passes) {
  aio::barrier b(2);
  bool passed = false;
  auto party = [&]() -> aio::task<> {
    co_await b.wait();
    passed = true;
    co_await yield();  // the cancel lands here
  };
  auto t = aio::create_task(party());
  co_await yield();
  EXPECT_EQ(co_await b.wait(), 1u);  // completes the round, waking t
  t.cancel();
  EXPECT_THROW(co_await t, aio::cancelled_error);
  EXPECT_TRUE(passed);
  EXPECT_EQ(b.n_waiting(), 0u);
  // The barrier is usable for the next round.
  // Not a capturing temporary lambda: its closure would be gone before the coroutine runs.
  auto pass = [](aio::barrier& bar) -> aio::task<> { co_await bar.wait(); };
  auto t2 = aio::create_task(pass(b));
  co_await b.wait();
  co_await t2;
}

AIO_TEST(barrier_test, arrivals_during_a_drain_wait_and_can_be_cancelled_there) {
  aio::barrier b(2);
  aio::task_handle<std::size_t> late_a, late_b;
  auto party = [&]() -> aio::task<std::size_t> { co_return co_await b.wait(); };
  auto canceller = [&]() -> aio::task<> {
    late_a.cancel();  // late_a is blocked behind the draining round
    co_return;
  };
  auto t1 = aio::create_task(party());
  co_await yield();
  // Ready queue from here: late_a, late_b, canceller, then t1 once woken.
  late_a = aio::create_task(party());
  late_b = aio::create_task(party());
  auto c = aio::create_task(canceller());
  EXPECT_EQ(co_await b.wait(), 1u);  // completes the round: t1 woken, barrier draining
  EXPECT_EQ(b.n_waiting(), 0u);      // draining: nobody fills
  co_await c;
  EXPECT_THROW(co_await late_a, aio::cancelled_error);
  EXPECT_EQ(co_await t1, 0u);
  // The drain ended: late_b moved into the next round, alone.
  co_await yield();
  EXPECT_EQ(b.n_waiting(), 1u);
  EXPECT_EQ(co_await b.wait(), 1u);
  EXPECT_EQ(co_await late_b, 0u);
}

AIO_TEST(barrier_test, pending_cancel_before_arrival_does_not_count) {
  aio::barrier b(2);
  auto body = [&]() -> aio::task<> {
    aio::current_task().cancel();
    co_await b.wait();
  };
  EXPECT_THROW(co_await aio::create_task(body()), aio::cancelled_error);
  EXPECT_EQ(b.n_waiting(), 0u);
  EXPECT_FALSE(b.broken());
}
