// SPDX-License-Identifier: MIT
#include "aio_test.hpp"

using namespace std::chrono_literals;

AIO_TEST_SUITE(future_test);

AIO_TEST(future_test, set_result_wakes_every_awaiter) {
  aio::future<int> f;
  int sum = 0;
  std::vector<aio::task_handle<>> ws;
  auto body0 = [&sum](aio::future<int> f) -> aio::task<> { sum += co_await f; };
  for (int i = 0; i < 3; ++i) ws.push_back(aio::create_task(body0(f)));
  co_await aio::sleep(0s);
  EXPECT_FALSE(f.done());
  EXPECT_THROW(f.result(), aio::invalid_state_error);
  aio::get_running_loop().call_soon([f]() mutable { f.set_result(5); });
  for (auto& w : ws) co_await w;
  EXPECT_EQ(sum, 15);
  EXPECT_EQ(f.result(), 5);
  EXPECT_EQ(co_await f, 5);  // done: no suspension
  EXPECT_THROW(f.set_result(6), aio::invalid_state_error);
  EXPECT_THROW(f.set_exception(std::make_exception_ptr(std::runtime_error("x"))), aio::invalid_state_error);
  EXPECT_FALSE(f.cancel());
}

AIO_TEST(future_test, set_exception_is_rethrown) {
  aio::future<> f;
  f.set_exception(std::make_exception_ptr(std::runtime_error("bad")));
  EXPECT_THROW(co_await f, std::runtime_error);
  EXPECT_NE(f.exception(), nullptr);
  aio::future<> g;
  EXPECT_THROW(g.set_exception(nullptr), std::invalid_argument);
}

AIO_TEST(future_test, cancelling_the_awaiter_cancels_the_future) {
  aio::future<int> f;
  auto other = aio::create_task([](aio::future<int> f) -> aio::task<int> { co_return co_await f; }(f));
  auto h = aio::create_task([](aio::future<int> f) -> aio::task<int> { co_return co_await f; }(f));
  co_await aio::sleep(0s);
  h.cancel("bye");
  EXPECT_THROW(co_await h, aio::cancelled_error);
  EXPECT_TRUE(f.cancelled());
  EXPECT_THROW(co_await other, aio::cancelled_error);  // asyncio: every awaiter sees it
  EXPECT_THROW(f.exception(), aio::cancelled_error);
}

AIO_TEST(future_test, done_callbacks_run_soon) {
  aio::future<int> f;
  int seen = 0;
  f.add_done_callback([&](const aio::future<int>& g) { seen = g.result(); });
  f.set_result(4);
  EXPECT_EQ(seen, 0);
  co_await aio::sleep(0s);
  EXPECT_EQ(seen, 4);
}
