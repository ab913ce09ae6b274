// SPDX-License-Identifier: MIT
#include "aio/core/gather.hpp"

#include <string>

#include "aio_test.hpp"

using namespace std::chrono_literals;

using aio::test::fail_after;
using aio::test::value_after;

AIO_TEST_SUITE(gather_test);

namespace {
aio::task<> nothing() { co_return; }

}  // namespace

AIO_VTEST(gather_test, results_in_argument_order) {
  auto [a, b, c] = co_await aio::gather(value_after(1, 30ms), value_after(2, 10ms), nothing());
  EXPECT_EQ(a, 1);
  EXPECT_EQ(b, 2);
  EXPECT_EQ(c, std::monostate{});
}

AIO_VTEST(gather_test, handles_and_tasks_mixed) {
  auto h = aio::create_task(value_after(7, 5ms));
  auto [a, b] = co_await aio::gather(h, value_after(8, 1ms));
  EXPECT_EQ(a, 7);
  EXPECT_EQ(b, 8);
  EXPECT_EQ(h.result(), 7);            // a handle's result is copied, not moved out
  auto [c] = co_await aio::gather(h);  // already done: no suspension needed
  EXPECT_EQ(c, 7);
}

AIO_TEST(gather_test, empty_gathers) {
  auto t = co_await aio::gather();
  EXPECT_EQ(std::tuple_size_v<decltype(t)>, 0u);
  auto v = co_await aio::gather(std::vector<aio::task<int>>{});
  EXPECT_TRUE(v.empty());
}

AIO_TEST(gather_test, move_only_results) {
  auto make = []() -> aio::task<std::unique_ptr<int>> { co_return std::make_unique<int>(3); };
  auto [p] = co_await aio::gather(make());
  CO_ASSERT_TRUE(p);
  EXPECT_EQ(*p, 3);
}

AIO_VTEST(gather_test, first_exception_propagates_at_once_others_keep_running) {
  bool slow_finished = false;
  auto slow = [&]() -> aio::task<int> {
    co_await aio::sleep(100ms);
    slow_finished = true;
    co_return 1;
  };
  auto s = aio::create_task(slow());
  auto t0 = aio::get_running_loop().time();
  try {
    co_await aio::gather(s, fail_after("first", 10ms), fail_after("second", 20ms));
    ADD_FAILURE() << "gather did not throw";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "first");
  }
  EXPECT_LT(aio::get_running_loop().time() - t0, 50ms);
  EXPECT_FALSE(slow_finished);
  EXPECT_FALSE(s.done());
  EXPECT_EQ(co_await s, 1);  // not cancelled, as in asyncio
  EXPECT_TRUE(slow_finished);
}

AIO_VTEST(gather_test, first_exception_is_in_completion_order) {
  try {
    co_await aio::gather(fail_after("late", 30ms), fail_after("early", 10ms));
    ADD_FAILURE() << "gather did not throw";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "early");
  }
  int reported = 0;
  aio::get_running_loop().set_exception_handler(
      [&](aio::event_loop&, const aio::exception_context&) { ++reported; });
  co_await aio::sleep(50ms);  // the later failure happens and its task is freed...
  EXPECT_EQ(reported, 0);     // ...without a "never retrieved" report, as in asyncio
  aio::get_running_loop().set_exception_handler(nullptr);
}

AIO_VTEST(gather_test, return_exceptions_returns_every_outcome) {
  auto cancelled = aio::create_task(value_after(5, 1s));
  cancelled.cancel();
  auto [a, b, c, d] = co_await aio::gather(aio::return_exceptions, value_after(1, 20ms),
                                           fail_after("bad", 10ms), nothing(), cancelled);
  CO_ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a.value(), 1);
  EXPECT_FALSE(b.has_value());
  EXPECT_EQ(aio::describe(b.exception()), "bad");
  EXPECT_THROW(b.value(), std::runtime_error);
  EXPECT_TRUE(c.has_value());
  EXPECT_FALSE(d.has_value());
  EXPECT_EQ(aio::describe(d.exception()), "cancelled_error: cancelled");
}

AIO_VTEST(gather_test, return_exceptions_range_keeps_order) {
  std::vector<aio::task<>> ts;
  ts.push_back(fail_after("0", 30ms));
  ts.push_back(nothing());
  ts.push_back(fail_after("2", 10ms));
  auto out = co_await aio::gather(aio::return_exceptions, std::move(ts));
  CO_ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(aio::describe(out[0].exception()), "0");
  EXPECT_TRUE(out[1].has_value());
  EXPECT_EQ(aio::describe(out[2].exception()), "2");
}

AIO_VTEST(gather_test, cancel_on_error_cancels_siblings_and_waits) {
  bool sibling_cancelled = false;
  bool sibling_cleaned_up = false;
  auto sibling = [&]() -> aio::task<int> {
    try {
      co_await aio::sleep(1s);
    } catch (const aio::cancelled_error&) {
      sibling_cancelled = true;
    }
    co_await aio::sleep(5ms);  // cleanup after cancellation: gather waits for it
    sibling_cleaned_up = true;
    co_return 0;
  };
  try {
    co_await aio::gather(aio::cancel_on_error, sibling(), fail_after("boom", 10ms),
                         value_after(1, 1ms));
    ADD_FAILURE() << "gather did not throw";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "boom");
  }
  EXPECT_TRUE(sibling_cancelled);
  EXPECT_TRUE(sibling_cleaned_up);
}

AIO_VTEST(gather_test, cancel_on_error_range) {
  std::vector<aio::task<int>> ts;
  ts.push_back(value_after(1, 1s));
  ts.push_back([]() -> aio::task<int> {
    co_await aio::sleep(1ms);
    throw std::logic_error("x");
  }());
  auto t0 = aio::get_running_loop().time();
  EXPECT_THROW(co_await aio::gather(aio::cancel_on_error, std::move(ts)), std::logic_error);
  EXPECT_LT(aio::get_running_loop().time() - t0, 500ms);
}

AIO_TEST(gather_test, ten_thousand_tasks) {
  std::vector<aio::task<int>> ts;
  ts.reserve(10'000);
  auto square = [](int i) -> aio::task<int> { co_return i* i; };
  for (int i = 0; i < 10'000; ++i) ts.push_back(square(i));
  auto out = co_await aio::gather(std::move(ts));
  CO_ASSERT_EQ(out.size(), 10'000u);
  for (int i = 0; i < 10'000; ++i) EXPECT_EQ(out[static_cast<std::size_t>(i)], i * i);

  int ran = 0;
  std::vector<aio::task<>> vs;
  for (int i = 0; i < 10'000; ++i)
    vs.push_back([](int& r) -> aio::task<> {
      co_await aio::sleep(0s);
      ++r;
    }(ran));
  static_assert(std::is_void_v<decltype(aio::gather(std::move(vs)).await_resume())>);
  co_await aio::gather(std::move(vs));
  EXPECT_EQ(ran, 10'000);
}

AIO_VTEST(gather_test, handles_range) {
  std::vector<aio::task_handle<int>> hs;
  for (int i = 0; i < 5; ++i)
    hs.push_back(aio::create_task(value_after(i, std::chrono::milliseconds(10 - i))));
  auto out = co_await aio::gather(hs);
  EXPECT_EQ(out, (std::vector<int>{0, 1, 2, 3, 4}));
}

AIO_VTEST(gather_test, cancelling_the_awaiter_cancels_children_and_waits) {
  int cancelled = 0;
  bool cleaned = false;
  auto child = [&](std::chrono::milliseconds cleanup) -> aio::task<int> {
    bool was_cancelled = false;
    try {
      co_await aio::sleep(1s);
    } catch (const aio::cancelled_error&) {
      ++cancelled;
      was_cancelled = true;
    }
    if (was_cancelled && cleanup > 0ms) {
      co_await aio::sleep(cleanup);
      cleaned = true;
    }
    if (was_cancelled) throw aio::cancelled_error();
    co_return 1;
  };
  auto done_early = aio::create_task(value_after(9, 1ms));
  auto body = [&]() -> aio::task<> { co_await aio::gather(child(0ms), child(20ms), done_early); };
  auto waiter = aio::create_task(body());
  co_await aio::sleep(10ms);
  EXPECT_TRUE(done_early.done());
  waiter.cancel("stop");
  try {
    co_await waiter;
    ADD_FAILURE() << "not cancelled";
  } catch (const aio::cancelled_error& e) {
    EXPECT_STREQ(e.what(), "stop");
  }
  EXPECT_EQ(cancelled, 2);
  EXPECT_TRUE(cleaned);  // the awaiter resumed only after every child finished
  EXPECT_TRUE(waiter.cancelled());
}

AIO_VTEST(gather_test, cancel_pending_before_the_await_cancels_children) {
  bool child_cancelled = false;
  auto child = [&]() -> aio::task<> {
    try {
      co_await aio::sleep(1s);
    } catch (const aio::cancelled_error&) {
      child_cancelled = true;
      throw;
    }
  };
  aio::task_handle<> c;
  auto body = [&]() -> aio::task<> {
    c = aio::create_task(child());
    co_await aio::sleep(0s);  // the child starts and sleeps
    aio::current_task().cancel();
    co_await aio::gather(c, child());  // the second child is cancelled before it starts
  };
  auto h = aio::create_task(body());
  EXPECT_THROW(co_await h, aio::cancelled_error);
  EXPECT_TRUE(child_cancelled);
  EXPECT_TRUE(c.cancelled());
}

AIO_VTEST(gather_test, cancelled_child_raises_cancelled_error) {
  auto c = aio::create_task(value_after(1, 1s));
  auto body = [&]() -> aio::task<> { co_await aio::gather(c, value_after(2, 1ms)); };
  auto h = aio::create_task(body());
  co_await aio::sleep(5ms);
  c.cancel();
  EXPECT_THROW(co_await h, aio::cancelled_error);
}

AIO_VTEST(gather_test, cancel_after_the_wake_up_delivers_the_result) {
  auto c = aio::create_task(value_after(3, 10ms));
  std::optional<int> got;
  bool cancelled_later = false;
  auto body = [&]() -> aio::task<> {
    auto [v] = co_await aio::gather(c);
    got = v;
    try {
      co_await aio::sleep(1s);
    } catch (const aio::cancelled_error&) {
      cancelled_later = true;
    }
  };
  auto h = aio::create_task(body());
  auto canceller = [&]() -> aio::task<> {
    co_await c;  // woken with the gather's awaiter, cancels it before it runs
    h.cancel();
  };
  co_await aio::create_task(canceller());
  co_await h;
  EXPECT_EQ(got, 3);
  EXPECT_TRUE(cancelled_later);
}

AIO_VTEST(gather_test, return_exceptions_awaiter_cancelled) {
  bool child_cancelled = false;
  auto child = [&]() -> aio::task<int> {
    try {
      co_await aio::sleep(1s);
    } catch (const aio::cancelled_error&) {
      child_cancelled = true;
      throw;
    }
    co_return 1;
  };
  auto body = [&]() -> aio::task<> {
    (void)co_await aio::gather(aio::return_exceptions, child(), value_after(1, 1ms));
  };
  auto h = aio::create_task(body());
  co_await aio::sleep(5ms);
  h.cancel();
  EXPECT_THROW(co_await h, aio::cancelled_error);
  EXPECT_TRUE(child_cancelled);
}

AIO_VTEST(gather_test, cancelling_a_gather_of_ten_thousand) {
  int cancelled = 0;
  std::vector<aio::task<>> ts;
  for (int i = 0; i < 10'000; ++i)
    ts.push_back([](int& c) -> aio::task<> {
      try {
        co_await aio::sleep(1s);
      } catch (const aio::cancelled_error&) {
        ++c;
        throw;
      }
    }(cancelled));
  auto body = [&]() -> aio::task<> { co_await aio::gather(std::move(ts)); };
  auto h = aio::create_task(body());
  co_await aio::sleep(1ms);
  h.cancel();
  EXPECT_THROW(co_await h, aio::cancelled_error);
  EXPECT_EQ(cancelled, 10'000);
}
