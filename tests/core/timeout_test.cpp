// SPDX-License-Identifier: MIT
#include "aio_test.hpp"

using namespace std::chrono_literals;

AIO_TEST_SUITE(timeout_test);

namespace {
aio::task<int> slow(std::chrono::milliseconds d, int v) {
  co_await aio::sleep(d);
  co_return v;
}
}  // namespace

AIO_VTEST(timeout_test, wait_for_returns_in_time) {
  EXPECT_EQ(co_await aio::wait_for(slow(10ms, 3), 50ms), 3);
}

AIO_VTEST(timeout_test, wait_for_raises_timeout_error) {
  auto start = aio::get_running_loop().time();
  EXPECT_THROW(co_await aio::wait_for(slow(1h, 3), 20ms), aio::timeout_error);
  auto elapsed = aio::get_running_loop().time() - start;
  EXPECT_GE(elapsed, 20ms);
  EXPECT_LT(elapsed, 1h);
  EXPECT_EQ(aio::current_task().cancelling(), 0u);  // its own cancel was uncancelled
}

AIO_VTEST(timeout_test, wait_for_cancels_an_awaited_task_handle) {
  auto h = aio::create_task(slow(1h, 1));
  EXPECT_THROW(co_await aio::wait_for(h, 5ms), aio::timeout_error);
  EXPECT_TRUE(h.cancelled());  // asyncio.wait_for cancels and waits for the task
}

AIO_VTEST(timeout_test, scope_reports_expired_and_can_be_rescheduled) {
  auto& loop = aio::get_running_loop();
  auto cm = aio::timeout(10ms);
  EXPECT_FALSE(cm.expired());
  auto body = [&]() -> aio::task<> {
    cm.reschedule(loop.time() + 100ms);  // push the deadline out from inside
    co_await aio::sleep(50ms);
  };
  co_await cm.run(body());
  EXPECT_FALSE(cm.expired());

  auto cm2 = aio::timeout(std::nullopt);
  EXPECT_FALSE(cm2.when().has_value());
  auto body2 = [&]() -> aio::task<> {
    cm2.reschedule(loop.time() + 5ms);
    co_await aio::sleep(1h);
  };
  EXPECT_THROW(co_await cm2.run(body2()), aio::timeout_error);
  EXPECT_TRUE(cm2.expired());
  EXPECT_THROW(cm2.reschedule(std::nullopt), aio::invalid_state_error);
  EXPECT_THROW(co_await cm2.run(slow(1ms, 1)), aio::invalid_state_error);
}

AIO_VTEST(timeout_test, timeout_at_absolute_deadline) {
  auto& loop = aio::get_running_loop();
  EXPECT_THROW(co_await aio::timeout_at(loop.time() + 3ms).run(slow(1h, 0)), aio::timeout_error);
  EXPECT_EQ(co_await aio::timeout_at(loop.time() + 1h).run(slow(3ms, 4)), 4);
}

AIO_VTEST(timeout_test, inner_timeout_expires_first) {
  auto& loop = aio::get_running_loop();
  auto outer = aio::timeout(1h);
  auto inner_body = []() -> aio::task<std::string> {
    try {
      co_await aio::wait_for(slow(1h, 0), 5ms);
    } catch (const aio::timeout_error&) {
      co_return "inner";
    }
    co_return "none";
  };
  EXPECT_EQ(co_await outer.run(inner_body()), "inner");
  EXPECT_FALSE(outer.expired());
  (void)loop;
}

AIO_VTEST(timeout_test, outer_timeout_is_not_taken_by_inner) {
  // The outer deadline passes while the inner scope runs: the inner scope must
  // let the cancellation through; the outer one turns it into timeout_error.
  auto outer = aio::timeout(5ms);
  bool inner_saw_timeout = false;
  auto body = [&]() -> aio::task<> {
    try {
      co_await aio::wait_for(slow(1h, 0), 1h);
    } catch (const aio::timeout_error&) {
      inner_saw_timeout = true;
    }
  };
  EXPECT_THROW(co_await outer.run(body()), aio::timeout_error);
  EXPECT_FALSE(inner_saw_timeout);
  EXPECT_TRUE(outer.expired());
}

AIO_VTEST(timeout_test, outer_cancel_is_never_swallowed_by_an_expiring_timeout) {
  // Both the inner deadline and an outer cancel() arrive before the task runs
  // again: the scope must re-raise cancelled_error, not timeout_error.
  auto& loop = aio::get_running_loop();
  auto h = aio::create_task([]() -> aio::task<> {
    co_await aio::wait_for(slow(1h, 0), 10ms);
  }());
  loop.call_later(10ms, [h]() mutable { h.cancel(); });  // same tick as the deadline
  EXPECT_THROW(co_await h, aio::cancelled_error);
  EXPECT_TRUE(h.cancelled());
}

AIO_VTEST(timeout_test, timeout_inside_timeout_with_outer_cancel) {
  std::string seen;
  auto body0 = [&]() -> aio::task<> {
    auto body = [&]() -> aio::task<> {
      try {
        co_await aio::wait_for(slow(1h, 0), 30ms);
      } catch (const aio::timeout_error&) {
        seen = "inner timeout";
      }
    };
    co_await aio::wait_for(body(), 1h);
  };
  auto h = aio::create_task(body0());
  co_await aio::sleep(10ms);
  h.cancel();
  EXPECT_THROW(co_await h, aio::cancelled_error);
  EXPECT_EQ(seen, "");
}

AIO_VTEST(timeout_test, exception_inside_scope_passes_through) {
  auto body = []() -> aio::task<> {
    co_await aio::sleep(1ms);
    throw std::runtime_error("inner failure");
  };
  EXPECT_THROW(co_await aio::wait_for(body(), 1h), std::runtime_error);
}

AIO_VTEST(timeout_test, zero_timeout_on_a_suspending_body) {
  EXPECT_THROW(co_await aio::wait_for(slow(1ms, 0), 0ms), aio::timeout_error);
}
