// SPDX-License-Identifier: MIT
// Cancellation at each kind of suspension point, before the first step, and
// racing completion.
#include "aio_test.hpp"

using namespace std::chrono_literals;

AIO_TEST_SUITE(cancel_test);

namespace {
aio::task<> sleep_forever(bool* cancelled = nullptr) {
  try {
    co_await aio::sleep(1h);
  } catch (const aio::cancelled_error&) {
    if (cancelled) *cancelled = true;
    throw;
  }
}
}  // namespace

AIO_VTEST(cancel_test, cancel_during_sleep) {
  bool saw = false;
  auto h = aio::create_task(sleep_forever(&saw));
  co_await aio::sleep(1ms);
  EXPECT_TRUE(h.cancel("stop now"));
  EXPECT_EQ(h.cancelling(), 1u);
  try {
    co_await h;
    ADD_FAILURE() << "awaiting a cancelled task must throw";
  } catch (const aio::cancelled_error& e) {
    EXPECT_STREQ(e.what(), "stop now");
  }
  EXPECT_TRUE(saw);
  EXPECT_TRUE(h.cancelled());
  EXPECT_THROW(h.result(), aio::cancelled_error);
  EXPECT_THROW(h.exception(), aio::cancelled_error);
  EXPECT_FALSE(h.cancel());  // done: nothing to cancel
}

AIO_TEST(cancel_test, cancel_before_first_step_never_runs_the_body) {
  bool ran = false;
  auto body0 = [&]() -> aio::task<> {
    ran = true;
    co_return;
  };
  auto h = aio::create_task(body0());
  EXPECT_TRUE(h.cancel());
  EXPECT_THROW(co_await h, aio::cancelled_error);
  EXPECT_FALSE(ran);
  EXPECT_TRUE(h.cancelled());
}

AIO_VTEST(cancel_test, cancel_racing_completion_delivers_the_result) {
  // The callback and the sleeper's timer fire in the same tick, the callback
  // first: the sleeper is already woken when cancel() arrives. It resumes
  // normally and the cancel lands at its next suspension point.
  std::vector<std::string> log;
  aio::task_handle<> h;
  aio::get_running_loop().call_later(1ms, [&] {
    log.push_back("cancel");
    h.cancel();
  });
  auto body1 = [&]() -> aio::task<> {
    co_await aio::sleep(1ms);
    log.push_back("resumed");
    try {
      co_await aio::sleep(0s);
    } catch (const aio::cancelled_error&) {
      log.push_back("cancelled at next suspension");
      throw;
    }
  };
  h = aio::create_task(body1());
  EXPECT_THROW(co_await h, aio::cancelled_error);
  EXPECT_EQ(log, (std::vector<std::string>{"cancel", "resumed", "cancelled at next suspension"}));
}

AIO_TEST(cancel_test, cancel_during_yield) {
  bool after = false;
  auto body2 = [&]() -> aio::task<> {
    co_await aio::sleep(0s);
    after = true;
  };
  auto h = aio::create_task(body2());
  co_await aio::sleep(0s);  // h has run and sits in its sleep(0)
  h.cancel();
  EXPECT_THROW(co_await h, aio::cancelled_error);
  EXPECT_FALSE(after);
}

AIO_TEST(cancel_test, woken_by_future_then_cancelled_keeps_the_value) {
  aio::future<int> f;
  int got = 0;
  bool cancelled_later = false;
  auto body3 = [&]() -> aio::task<> {
    got = co_await f;
    try {
      co_await aio::sleep(1h);
    } catch (const aio::cancelled_error&) {
      cancelled_later = true;
      throw;
    }
  };
  auto h = aio::create_task(body3());
  co_await aio::sleep(0s);
  f.set_result(7);  // h is woken (queued), then cancelled before it runs
  h.cancel();
  EXPECT_THROW(co_await h, aio::cancelled_error);
  EXPECT_EQ(got, 7);
  EXPECT_TRUE(cancelled_later);
}

AIO_TEST(cancel_test, task_may_catch_and_uncancel) {
  auto h = aio::create_task([]() -> aio::task<int> {
    try {
      co_await aio::sleep(1h);
    } catch (const aio::cancelled_error&) {
      auto me = aio::current_task();
      EXPECT_EQ(me.cancelling(), 1u);
      EXPECT_EQ(me.uncancel(), 0u);
    }
    co_await aio::sleep(1ms);  // no pending cancel: sleeps normally
    co_return 5;
  }());
  co_await aio::sleep(0s);
  h.cancel();
  EXPECT_EQ(co_await h, 5);
  EXPECT_FALSE(h.cancelled());
}

AIO_TEST(cancel_test, cancelling_awaiter_cancels_awaited_task) {
  bool inner_cancelled = false;
  auto inner = aio::create_task(sleep_forever(&inner_cancelled));
  auto outer = aio::create_task([](aio::task_handle<> t) -> aio::task<> { co_await t; }(inner));
  co_await aio::sleep(0s);
  outer.cancel();
  EXPECT_THROW(co_await outer, aio::cancelled_error);
  EXPECT_TRUE(inner_cancelled);
  EXPECT_TRUE(inner.cancelled());
}

AIO_TEST(cancel_test, self_cancel_lands_at_next_suspension) {
  auto h = aio::create_task([]() -> aio::task<> {
    aio::current_task().cancel();
    co_await aio::sleep(1h);
  }());
  EXPECT_THROW(co_await h, aio::cancelled_error);
}

AIO_VTEST(cancel_test, cancellation_storm_leaks_nothing) {
  std::vector<aio::task_handle<>> hs;
  for (int i = 0; i < 2000; ++i) {
    hs.push_back(aio::create_task([](int i) -> aio::task<> {
      co_await aio::sleep(std::chrono::milliseconds(i % 7));
      co_await aio::sleep(std::chrono::milliseconds(i % 3));
    }(i)));
  }
  co_await aio::sleep(2ms);
  int cancelled = 0;
  for (std::size_t i = 0; i < hs.size(); i += 2) cancelled += hs[i].cancel();
  int failures = 0, cancels = 0;
  for (auto& h : hs) {
    try {
      co_await h;
    } catch (const aio::cancelled_error&) {
      ++cancels;
    } catch (...) {
      ++failures;
    }
  }
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(cancels, cancelled);
  EXPECT_GT(cancelled, 0);
}

namespace {
// Swallows the first cancel, ends at the second.
aio::task<int> swallows_one_cancel(int& seen) {
  for (;;) {
    try {
      co_await aio::sleep(1h);
      co_return -1;
    } catch (const aio::cancelled_error&) {
      if (++seen == 2) co_return seen;
    }
  }
}
aio::task<> await_handle(aio::task_handle<int> h) { co_await h; }
aio::task<> await_gathered(aio::task_handle<int> h) { co_await aio::gather(h); }

// `wait_on` awaits a task that swallows one cancel; it is cancelled twice: that task
// must see both cancels, and the awaiting one ends cancelled.
aio::task<> cancel_twice_through(aio::task<> (*wait_on)(aio::task_handle<int>)) {
  int seen = 0;
  auto inner = aio::create_task(swallows_one_cancel(seen));
  auto outer = aio::create_task(wait_on(inner));
  co_await aio::sleep(0ms);
  outer.cancel();
  co_await aio::sleep(0ms);
  outer.cancel();
  co_await aio::sleep(10ms);
  EXPECT_EQ(seen, 2);
  EXPECT_TRUE(inner.done());
  bool cancelled = false;
  try {
    co_await outer;
  } catch (const aio::cancelled_error&) {
    cancelled = true;
  }
  EXPECT_TRUE(cancelled);
}
}  // namespace

// A second cancel of a task awaiting another reaches that other task again
// (asyncio keeps _fut_waiter for this): the awaited one may have swallowed
// the first.
AIO_VTEST(cancel_test, a_second_cancel_reaches_an_awaited_task_that_swallowed_the_first) {
  co_await cancel_twice_through(&await_handle);
}

AIO_VTEST(cancel_test, a_second_cancel_reaches_gathered_children_again) {
  co_await cancel_twice_through(&await_gathered);
}
