// SPDX-License-Identifier: MIT
#include "aio/core/wait.hpp"

#include "aio_test.hpp"

using namespace std::chrono_literals;

using aio::test::value_after;

AIO_TEST_SUITE(wait_test);

namespace {
aio::task<int> fail_after(std::chrono::milliseconds d) {
  co_await aio::sleep(d);
  throw std::runtime_error("failed");
}
std::vector<aio::task_handle<int>> spawn(std::initializer_list<int> delays_ms) {
  std::vector<aio::task_handle<int>> hs;
  for (int d : delays_ms)
    hs.push_back(aio::create_task(value_after(d, std::chrono::milliseconds(d))));
  return hs;
}
void cancel_all(std::vector<aio::task_handle<int>>& hs) {
  for (auto& h : hs) h.cancel();
}
}  // namespace

AIO_VTEST(wait_test, all_completed_is_the_default) {
  auto hs = spawn({30, 10, 20});
  auto [done, pending] = co_await aio::wait(hs);
  EXPECT_TRUE(pending.empty());
  CO_ASSERT_EQ(done.size(), 3u);
  EXPECT_TRUE(done[0] == hs[0] && done[1] == hs[1] && done[2] == hs[2]);  // input order
  for (auto& h : done) EXPECT_TRUE(h.done());
}

AIO_VTEST(wait_test, first_completed) {
  auto hs = spawn({30, 10, 20});
  auto t0 = aio::get_running_loop().time();
  auto [done, pending] = co_await aio::wait(hs, aio::first_completed);
  EXPECT_LT(aio::get_running_loop().time() - t0, 15ms);
  CO_ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].result(), 10);
  CO_ASSERT_EQ(pending.size(), 2u);
  EXPECT_TRUE(pending[0] == hs[0] && pending[1] == hs[2]);
  EXPECT_FALSE(pending[0].done());
  cancel_all(hs);
}

AIO_VTEST(wait_test, first_exception_returns_on_a_failure) {
  std::vector<aio::task_handle<int>> hs = spawn({50});
  hs.push_back(aio::create_task(fail_after(20ms)));
  hs.push_back(aio::create_task(value_after(1, 5ms)));
  auto [done, pending] = co_await aio::wait(hs, aio::first_exception);
  CO_ASSERT_EQ(done.size(), 2u);  // the 5 ms task and the failure
  EXPECT_TRUE(done[0] == hs[1] && done[1] == hs[2]);
  EXPECT_THROW(done[0].result(), std::runtime_error);
  CO_ASSERT_EQ(pending.size(), 1u);
  cancel_all(hs);
}

AIO_VTEST(wait_test, first_exception_ignores_cancelled_and_acts_as_all_completed) {
  auto hs = spawn({10, 1000, 30});
  hs[1].cancel();
  auto [done, pending] = co_await aio::wait(hs, aio::first_exception);
  EXPECT_EQ(done.size(), 3u);
  EXPECT_TRUE(pending.empty());
  EXPECT_TRUE(hs[1].cancelled());
}

AIO_VTEST(wait_test, timeout_returns_what_is_done_and_cancels_nothing) {
  auto hs = spawn({10, 100, 200});
  auto t0 = aio::get_running_loop().time();
  auto [done, pending] = co_await aio::wait(hs, 50ms);
  auto elapsed = aio::get_running_loop().time() - t0;
  EXPECT_GE(elapsed, 50ms);
  EXPECT_LT(elapsed, 100ms);
  CO_ASSERT_EQ(done.size(), 1u);
  CO_ASSERT_EQ(pending.size(), 2u);
  for (auto& h : pending) EXPECT_FALSE(h.done());
  EXPECT_EQ(co_await pending[1], 200);  // still running after the timeout
}

AIO_VTEST(wait_test, timeout_with_first_completed) {
  auto hs = spawn({100});
  auto [done, pending] = co_await aio::wait(hs, aio::first_completed, 20ms);
  EXPECT_TRUE(done.empty());
  EXPECT_EQ(pending.size(), 1u);
  auto [done2, pending2] = co_await aio::wait(hs, aio::first_completed, 1s);
  EXPECT_EQ(done2.size(), 1u);
  EXPECT_TRUE(pending2.empty());
}

AIO_VTEST(wait_test, zero_timeout_reports_the_current_state) {
  auto hs = spawn({0, 100});
  co_await aio::sleep(1ms);
  auto [done, pending] = co_await aio::wait(hs, 0ms);
  EXPECT_EQ(done.size(), 1u);
  EXPECT_EQ(pending.size(), 1u);
  cancel_all(hs);
}

AIO_TEST(wait_test, empty_input_is_invalid) {
  EXPECT_THROW(co_await aio::wait(std::vector<aio::task_handle<int>>{}), std::invalid_argument);
  EXPECT_THROW(co_await aio::wait(std::vector<aio::task_handle<int>>(1)), std::invalid_argument);
}

AIO_VTEST(wait_test, cancelling_the_awaiter_leaves_the_tasks_running) {
  auto hs = spawn({50, 60});
  auto body = [&]() -> aio::task<> { co_await aio::wait(hs, 1s); };
  auto w = aio::create_task(body());
  co_await aio::sleep(10ms);
  w.cancel();
  EXPECT_THROW(co_await w, aio::cancelled_error);
  EXPECT_FALSE(hs[0].done());
  EXPECT_EQ(co_await hs[0], 50);
  EXPECT_EQ(co_await hs[1], 60);
}

AIO_VTEST(wait_test, cancel_pending_at_the_await) {
  auto hs = spawn({50});
  auto body = [&]() -> aio::task<> {
    aio::current_task().cancel();
    co_await aio::wait(hs);
  };
  auto w = aio::create_task(body());
  EXPECT_THROW(co_await w, aio::cancelled_error);
  EXPECT_EQ(co_await hs[0], 50);
}

AIO_TEST(wait_test, all_already_done_does_not_suspend) {
  auto hs = spawn({0});
  co_await hs[0];
  auto [done, pending] = co_await aio::wait(hs, aio::first_completed);
  EXPECT_EQ(done.size(), 1u);
  EXPECT_TRUE(pending.empty());
}
