// SPDX-License-Identifier: MIT
#include "aio_test.hpp"

using namespace std::chrono_literals;

AIO_TEST_SUITE(shield_test);

AIO_VTEST(shield_test, cancel_reaches_the_awaiter_not_the_shielded_task) {
  bool committed = false;
  auto body0 = [&]() -> aio::task<int> {
    co_await aio::sleep(20ms);
    committed = true;
    co_return 1;
  };
  auto commit = aio::create_task(body0());
  auto h = aio::create_task([](aio::task_handle<int> c) -> aio::task<int> { co_return co_await aio::shield(c); }(commit));
  co_await aio::sleep(5ms);
  h.cancel();
  EXPECT_THROW(co_await h, aio::cancelled_error);
  EXPECT_FALSE(commit.done());
  EXPECT_EQ(co_await commit, 1);
  EXPECT_TRUE(committed);
}

AIO_VTEST(shield_test, result_and_exception_pass_through) {
  auto ok = []() -> aio::task<int> {
    co_await aio::sleep(1ms);
    co_return 3;
  };
  EXPECT_EQ(co_await aio::shield(ok()), 3);
  auto bad = []() -> aio::task<int> {
    co_await aio::sleep(1ms);
    throw std::runtime_error("inner");
  };
  EXPECT_THROW(co_await aio::shield(bad()), std::runtime_error);
}

AIO_VTEST(shield_test, shield_under_timeout_leaves_the_task_running) {
  auto work = aio::create_task([]() -> aio::task<int> {
    co_await aio::sleep(50ms);
    co_return 9;
  }());
  EXPECT_THROW(co_await aio::wait_for(aio::shield(work), 10ms), aio::timeout_error);
  EXPECT_FALSE(work.cancelled());
  EXPECT_EQ(co_await work, 9);
}
