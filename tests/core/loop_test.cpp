// SPDX-License-Identifier: MIT
#include <signal.h>

#include <atomic>
#include <memory>
#include <thread>

#include "aio_test.hpp"

using namespace std::chrono_literals;

AIO_TEST_SUITE(loop_test);

AIO_TEST(loop_test, backend_is_the_one_asked_for) {
  auto name = aio::get_running_loop().backend_name();
  EXPECT_TRUE(name == "io_uring" || name == "epoll");
  co_return;
}

AIO_TEST(loop_test, call_soon_runs_in_fifo_order) {
  auto& loop = aio::get_running_loop();
  std::vector<int> order;
  for (int i = 0; i < 5; ++i) loop.call_soon([&order, i] { order.push_back(i); });
  auto cancelled = loop.call_soon([&order] { order.push_back(99); });
  cancelled.cancel();
  EXPECT_TRUE(cancelled.cancelled());
  co_await aio::sleep(0s);
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
}

AIO_VTEST(loop_test, call_later_and_call_at_fire_in_deadline_order) {
  auto& loop = aio::get_running_loop();
  std::vector<int> order;
  loop.call_later(30ms, [&] { order.push_back(3); });
  loop.call_at(loop.time() + 10ms, [&] { order.push_back(1); });
  loop.call_later(20ms, [&] { order.push_back(2); });
  auto h = loop.call_later(15ms, [&] { order.push_back(99); });
  loop.call_later(10ms, [&] { order.push_back(11); });  // same deadline: FIFO after 1
  h.cancel();
  co_await aio::sleep(40ms);
  EXPECT_EQ(order, (std::vector<int>{1, 11, 2, 3}));
}

AIO_VTEST(loop_test, long_timers_cascade_correctly) {
  // Deadlines spread over the wheel's levels (ms, s, minutes, hours, days).
  auto& loop = aio::get_running_loop();
  std::vector<int> order;
  const std::chrono::milliseconds delays[] = {1ms, 63ms, 64ms, 65ms, 4095ms, 4096ms, 300s, 2h, 50h, 24h * 40};
  for (int i = 9; i >= 0; --i) loop.call_later(delays[i], [&order, i] { order.push_back(i); });
  auto start = loop.time();
  co_await aio::sleep(24h * 41);
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_GE(loop.time() - start, 24h * 41);
}

aio::task<> sleep_for(std::chrono::hours d) { co_await aio::sleep(d); }

AIO_VTEST(loop_test, timers_years_away_fire_at_their_time_never_before) {
  // Beyond the wheel's 2^36 ms reach (about 795 days), once time has moved.
  auto& loop = aio::get_running_loop();
  co_await aio::sleep(10ms);
  const auto start = loop.time();
  const std::chrono::hours delays[] = {24h * 800, 24h * 365 * 3, 24h * 365 * 40};
  std::vector<int> order;
  for (int i = 2; i >= 0; --i)
    loop.call_later(delays[i], [&order, &loop, start, d = delays[i], i] {
      EXPECT_GE(loop.time() - start, d) << "timer " << i << " fired early";
      order.push_back(i);
    });
  auto forever = aio::create_task(sleep_for(24h * 365 * 200));  // the "sleep forever" idiom
  co_await aio::sleep(24h * 365 * 41);
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
  EXPECT_FALSE(forever.done());
  forever.cancel();
  bool cancelled = false;
  try {
    co_await forever;
  } catch (const aio::cancelled_error&) {
    cancelled = true;
  }
  EXPECT_TRUE(cancelled);
}

AIO_VTEST(loop_test, virtual_time_sleeps_instantly_in_order) {
  auto& loop = aio::get_running_loop();
  auto wall = std::chrono::steady_clock::now();
  std::vector<int> order;
  std::vector<aio::task_handle<>> hs;
  auto body0 = [&order](int i) -> aio::task<> {
    co_await aio::sleep(std::chrono::seconds(i));
    order.push_back(i);
  };
  for (int i : {5, 1, 3}) hs.push_back(aio::create_task(body0(i)));
  auto t0 = loop.time();
  for (auto& h : hs) co_await h;
  EXPECT_EQ(order, (std::vector<int>{1, 3, 5}));
  EXPECT_GE(loop.time() - t0, 5s);
  EXPECT_LT(std::chrono::steady_clock::now() - wall, 5s);  // it did not really wait
}

AIO_TEST(loop_test, exception_escaping_a_callback_is_reported_and_loop_goes_on) {
  auto& loop = aio::get_running_loop();
  std::vector<std::string> seen;
  loop.set_exception_handler([&](aio::event_loop&, const aio::exception_context& c) {
    seen.push_back(c.message + ": " + aio::describe(c.exception));
  });
  loop.call_soon([] { throw std::runtime_error("callback failed"); });
  bool later = false;
  loop.call_soon([&] { later = true; });
  co_await aio::sleep(0s);
  EXPECT_TRUE(later);
  CO_ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], "exception in callback: callback failed");
  loop.set_exception_handler(nullptr);
}

AIO_TEST(loop_test, call_soon_threadsafe_from_4_threads_delivers_each_exactly_once) {
  auto& loop = aio::get_running_loop();
  constexpr int threads = 4, per_thread = 100'000;
  std::vector<std::uint8_t> seen(threads * per_thread, 0);
  int received = 0;
  aio::future<> all;
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        int id = t * per_thread + i;
        loop.call_soon_threadsafe([&, id] {
          ++seen[id];
          if (++received == threads * per_thread) all.set_result();
        });
      }
    });
  }
  co_await aio::wait_for(all, 60s);
  for (auto& t : ts) t.join();
  EXPECT_EQ(received, threads * per_thread);
  EXPECT_EQ(std::count(seen.begin(), seen.end(), 1), threads * per_thread);
}

AIO_TEST(loop_test, threadsafe_wakes_a_sleeping_loop) {
  auto& loop = aio::get_running_loop();
  aio::future<int> f;
  std::thread t([&] {
    std::this_thread::sleep_for(20ms);
    loop.call_soon_threadsafe([&] { f.set_result(11); });
  });
  EXPECT_EQ(co_await aio::wait_for(f, 30s), 11);
  t.join();
}

AIO_TEST(loop_test, wrong_thread_use_is_an_error) {
  auto& loop = aio::get_running_loop();
  std::string error;
  std::thread t([&] {
    try {
      loop.call_soon([] {});
    } catch (const aio::invalid_state_error& e) {
      error = e.what();
    }
  });
  t.join();
  EXPECT_NE(error.find("call_soon called from a thread that does not own this event loop"), std::string::npos)
      << error;
  co_return;
}

AIO_TEST(loop_test, signal_handler_runs_on_the_loop) {
  auto& loop = aio::get_running_loop();
  aio::future<int> got;
  loop.add_signal_handler(SIGUSR1, [&] {
    if (!got.done()) got.set_result(SIGUSR1);
  });
  ::raise(SIGUSR1);  // blocked in this thread, read through signalfd
  EXPECT_EQ(co_await aio::wait_for(got, 10s), SIGUSR1);
  EXPECT_TRUE(loop.remove_signal_handler(SIGUSR1));
  EXPECT_FALSE(loop.remove_signal_handler(SIGUSR1));
  EXPECT_THROW(loop.add_signal_handler(SIGKILL, [] {}), std::invalid_argument);
  EXPECT_THROW(loop.add_signal_handler(0, [] {}), std::invalid_argument);
}

AIO_TEST(loop_test, never_awaited_task_is_reported) {
#ifndef NDEBUG
  auto& loop = aio::get_running_loop();
  std::vector<std::string> seen;
  loop.set_exception_handler([&](aio::event_loop&, const aio::exception_context& c) { seen.push_back(c.message); });
  {
    auto forgotten = []() -> aio::task<> { co_return; }();
  }
  CO_ASSERT_EQ(seen.size(), 1u);
  EXPECT_NE(seen[0].find("without being awaited"), std::string::npos);
  loop.set_exception_handler(nullptr);
#endif
  co_return;
}

TEST(loop_manual, run_forever_stop_and_run_until_complete) {
  aio::event_loop loop;
  int ran = 0;
  loop.call_soon([&] {
    ++ran;
    loop.stop();
  });
  loop.run_forever();
  EXPECT_EQ(ran, 1);
  EXPECT_FALSE(loop.is_running());
  auto body = []() -> aio::task<int> {
    co_await aio::sleep(1ms);
    co_return 8;
  };
  EXPECT_EQ(aio::run_until_complete(loop, body()), 8);
}

TEST(loop_manual, destroying_a_loop_with_pending_tasks_cancels_them) {
  bool cancelled = false;
  auto sleeper = [&]() -> aio::task<> {
    try {
      co_await aio::sleep(1h);
    } catch (const aio::cancelled_error&) {
      cancelled = true;
      throw;
    }
  };
  auto body = [&]() -> aio::task<> {
    (void)aio::create_task(sleeper());
    co_await aio::sleep(1ms);
  };
  {
    aio::event_loop loop;
    aio::run_until_complete(loop, body());
    EXPECT_FALSE(cancelled);  // run_until_complete leaves other tasks alone
  }
  EXPECT_TRUE(cancelled);
}

TEST(loop_manual, bad_backend_name_is_a_clear_error) {
  ::setenv("AIO_BACKEND", "kqueue", 1);
  try {
    aio::event_loop loop;
    ADD_FAILURE() << "expected an error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("kqueue"), std::string::npos);
  }
  ::unsetenv("AIO_BACKEND");
}

TEST(loop_manual, sigint_during_run_cancels_main_and_raises_keyboard_interrupt) {
  bool main_saw_cancel = false;
  auto body = [&]() -> aio::task<> {
    ::raise(SIGINT);  // aio::run blocked it in this thread and reads it through signalfd
    try {
      co_await aio::sleep(std::chrono::hours(1));
    } catch (const aio::cancelled_error&) {
      main_saw_cancel = true;
      throw;
    }
  };
  EXPECT_THROW(aio::run(body()), aio::keyboard_interrupt);
  EXPECT_TRUE(main_saw_cancel);
  // The default disposition is back: SIGINT is not left blocked.
  sigset_t cur;
  pthread_sigmask(SIG_SETMASK, nullptr, &cur);
  EXPECT_FALSE(sigismember(&cur, SIGINT));
}

TEST(loop_manual, awaiting_a_task_of_another_loop_is_an_error) {
  aio::event_loop other;
  aio::task_handle<> stuck;
  auto spawn = [&]() -> aio::task<> {
    stuck = aio::create_task([]() -> aio::task<> { co_await aio::sleep(std::chrono::hours(1)); }());
    co_return;
  };
  aio::run_until_complete(other, spawn());  // leaves `stuck` pending on `other`
  EXPECT_FALSE(stuck.done());
  std::string error;
  auto body = [&]() -> aio::task<> {
    try {
      co_await stuck;
    } catch (const aio::invalid_state_error& e) {
      error = e.what();
    }
  };
  aio::run(body());
  EXPECT_NE(error.find("belongs to another event loop"), std::string::npos) << error;
  stuck = {};  // `other` cancels it when it is destroyed
}

TEST(loop_manual, extensions_close_after_tasks_and_newest_first) {
  std::vector<std::string> log;
  struct ext : aio::loop_extension {
    std::vector<std::string>* log;
    std::string name;
    ext(std::vector<std::string>* l, std::string n) : log(l), name(std::move(n)) {}
    ~ext() override { log->push_back("closed " + name); }
  };
  static const int key_a = 0, key_b = 0;
  auto sleeper = [&]() -> aio::task<> {
    try {
      co_await aio::sleep(std::chrono::hours(1));
    } catch (const aio::cancelled_error&) {
      log.push_back("task cancelled");
      throw;
    }
  };
  auto body = [&]() -> aio::task<> {
    auto& loop = aio::get_running_loop();
    loop.add_extension(&key_a, std::make_unique<ext>(&log, "a"));
    loop.add_extension(&key_b, std::make_unique<ext>(&log, "b"));
    EXPECT_THROW(loop.add_extension(&key_a, std::make_unique<ext>(&log, "again")), aio::invalid_state_error);
    EXPECT_NE(loop.find_extension(&key_b), nullptr);
    (void)aio::create_task(sleeper());
    co_await aio::sleep(0s);
  };
  aio::run(body());
  EXPECT_EQ(log, (std::vector<std::string>{"closed again", "task cancelled", "closed b", "closed a"}));
}

// A call_later callback the loop never reached is destroyed with the loop:
// what it captured is released (LSan would report it otherwise).
TEST(loop_lifetime, pending_call_later_callbacks_are_destroyed_with_the_loop) {
  auto alive = std::make_shared<int>(1);
  {
    aio::event_loop loop;
    loop.call_later(std::chrono::hours(1), [keep = alive] {});
    loop.call_later(std::chrono::hours(24 * 1000), [keep = alive] {});
    EXPECT_EQ(alive.use_count(), 3);
  }
  EXPECT_EQ(alive.use_count(), 1);
}
