// SPDX-License-Identifier: MIT
// thread_pool_executor: results, exceptions, shutdown, submit from any
// thread, the destructor's deadline.
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "aio_test.hpp"

using namespace std::chrono_literals;

using aio::test::thread_name;

AIO_TEST_SUITE(thread_pool_test);


AIO_TEST(thread_pool_test, returns_values_and_runs_on_named_threads) {
  aio::thread_pool_executor pool(2, "calc");
  EXPECT_EQ(pool.thread_count(), 0u);  // lazy
  int r = co_await pool.submit([](int a, int b) { return a * b; }, 6, 7);
  EXPECT_EQ(r, 42);
  auto name = co_await pool.submit(thread_name);
  EXPECT_TRUE(name == "calc-1" || name == "calc-2") << name;
  EXPECT_GE(pool.thread_count(), 1u);
  EXPECT_LE(pool.thread_count(), 2u);
  EXPECT_EQ(pool.name(), "calc");
  EXPECT_EQ(pool.max_workers(), 2u);
  co_await pool.submit([] {});  // void
}

AIO_TEST(thread_pool_test, rethrows_the_job_exception_in_the_coroutine) {
  aio::thread_pool_executor pool(1, "thrower");
  auto f = pool.submit([]() -> int { throw std::runtime_error("from the thread"); });
  try {
    co_await f;
    ADD_FAILURE() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "from the thread");
  }
  EXPECT_TRUE(f.done());
  EXPECT_FALSE(f.cancelled());
  // The result is taken once.
  EXPECT_THROW(f.result(), aio::invalid_state_error);
}

AIO_TEST(thread_pool_test, move_only_results_and_arguments) {
  aio::thread_pool_executor pool(2, "moves");
  auto p =
      co_await pool.submit([](std::unique_ptr<int> in) { return std::make_unique<int>(*in + 1); },
                           std::make_unique<int>(41));
  CO_ASSERT_TRUE(p);
  EXPECT_EQ(*p, 42);
  // Awaiting a future whose job already finished does not suspend.
  auto f = pool.submit([] { return std::make_unique<std::string>("done"); });
  while (!f.done()) std::this_thread::yield();
  auto s = co_await f;
  EXPECT_EQ(*s, "done");
}

AIO_TEST(thread_pool_test, awaiting_twice_is_an_error) {
  aio::thread_pool_executor pool(1, "twice");
  auto f = pool.submit([] { return 1; });
  EXPECT_EQ(co_await f, 1);
  EXPECT_THROW(co_await f, aio::invalid_state_error);
}

AIO_TEST(thread_pool_test, submit_after_shutdown_is_an_error) {
  aio::thread_pool_executor pool(1, "closed");
  EXPECT_EQ(co_await pool.submit([] { return 1; }), 1);
  pool.shutdown();
  EXPECT_THROW(pool.submit([] { return 2; }), aio::invalid_state_error);
  pool.shutdown();  // idempotent
  aio::thread_pool_executor never_used(1, "unused");
  never_used.shutdown(false);
  EXPECT_THROW(never_used.submit([] {}), aio::invalid_state_error);
  EXPECT_EQ(never_used.thread_count(), 0u);
}

AIO_TEST(thread_pool_test, empty_name_is_rejected) {
  EXPECT_THROW(aio::thread_pool_executor(1, ""), std::invalid_argument);
  co_return;
}

namespace {
/// A gate a job blocks on until the test opens it.
struct gate {
  std::atomic<bool> open{false};
  std::atomic<bool> entered{false};
  void pass() {
    entered = true;
    while (!open) std::this_thread::sleep_for(100us);
  }
  void wait_entered() const {
    while (!entered) std::this_thread::sleep_for(100us);
  }
};
}  // namespace

AIO_TEST(thread_pool_test, shutdown_runs_pending_jobs_without_cancel_futures) {
  aio::thread_pool_executor pool(1, "pending");
  gate g;
  std::atomic<int> ran{0};
  auto first = pool.submit([&] { g.pass(); });
  std::vector<aio::concurrent_future<int>> rest;
  for (int i = 0; i < 5; ++i)
    rest.push_back(pool.submit([&ran, i] {
      ++ran;
      return i;
    }));
  g.wait_entered();
  pool.shutdown(false, false);
  g.open = true;
  pool.shutdown(true);
  EXPECT_EQ(ran.load(), 5);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(co_await rest[i], i);
  co_await first;
}

AIO_TEST(thread_pool_test, shutdown_with_cancel_futures_drops_pending_jobs) {
  aio::thread_pool_executor pool(1, "cancelfut");
  gate g;
  std::atomic<int> ran{0};
  auto first = pool.submit([&] {
    g.pass();
    return 7;
  });
  std::vector<aio::concurrent_future<int>> rest;
  for (int i = 0; i < 5; ++i)
    rest.push_back(pool.submit([&ran, i] {
      ++ran;
      return i;
    }));
  g.wait_entered();
  // The awaiter of a dropped job sees cancelled_error, as with asyncio.wrap_future.
  auto await_first = [&]() -> aio::task<int> { co_return co_await rest[0]; };
  auto waiter = aio::create_task(await_first());
  co_await aio::sleep(0ms);
  pool.shutdown(false, true);
  g.open = true;
  EXPECT_EQ(co_await first, 7);  // the running one finishes
  pool.shutdown(true);
  EXPECT_EQ(ran.load(), 0);
  for (auto& f : rest) {
    EXPECT_TRUE(f.cancelled());
    EXPECT_TRUE(f.done());
  }
  bool cancelled = false;
  try {
    co_await waiter;
  } catch (const aio::cancelled_error&) {
    cancelled = true;
  }
  EXPECT_TRUE(cancelled);
  EXPECT_THROW(rest[1].result(), aio::cancelled_error);
}

AIO_TEST(thread_pool_test, future_cancel_before_start_never_runs) {
  aio::thread_pool_executor pool(1, "fcancel");
  gate g;
  std::atomic<bool> ran{false};
  auto first = pool.submit([&] { g.pass(); });
  auto second = pool.submit([&] { ran = true; });
  g.wait_entered();
  EXPECT_FALSE(first.cancel());  // running
  EXPECT_TRUE(first.running());
  EXPECT_TRUE(second.cancel());
  EXPECT_FALSE(second.cancel());
  g.open = true;
  co_await first;
  pool.shutdown();
  EXPECT_FALSE(ran.load());
  EXPECT_THROW(co_await second, aio::cancelled_error);
}

AIO_TEST(thread_pool_test, jobs_submitted_from_a_non_loop_thread) {
  aio::thread_pool_executor pool(2, "foreign");
  long sum = 0;
  std::thread t([&] {
    std::vector<aio::concurrent_future<int>> fs;
    for (int i = 0; i < 1000; ++i) fs.push_back(pool.submit([](int x) { return x; }, i));
    for (auto& f : fs) sum += f.result();  // blocking waits, off the loop
  });
  // A future made on another thread, awaited here.
  aio::concurrent_future<std::string> g;
  std::thread u([&] { g = pool.submit([] { return std::string("cross"); }); });
  u.join();
  EXPECT_EQ(co_await g, "cross");
  co_await aio::to_thread([&] { t.join(); });
  EXPECT_EQ(sum, 999L * 1000 / 2);
}

AIO_TEST(thread_pool_test, destructor_deadline_detaches_a_stuck_thread) {
  auto finished = std::make_shared<std::atomic<bool>>(false);
  aio::concurrent_future<int> f;
  aio::concurrent_future<void> queued;
  std::atomic<bool> queued_ran{false};
  testing::internal::CaptureStderr();
  {
    aio::thread_pool_executor pool(1, "stuckpool", 50ms);
    // Ignores its stop_token and outlives the deadline.
    f = pool.submit([finished](std::stop_token) {
      std::this_thread::sleep_for(400ms);
      *finished = true;
      return 5;
    });
    queued = pool.submit([&] { queued_ran = true; });
    while (!f.running()) std::this_thread::sleep_for(1ms);
  }  // must not hang for 400 ms... nor crash later
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("stuckpool"), std::string::npos) << err;
  EXPECT_NE(err.find("detaching"), std::string::npos) << err;
  EXPECT_NE(err.find("dropped 1 queued job"), std::string::npos) << err;
  EXPECT_FALSE(finished->load());
  // The queued job was dropped: it never runs, its awaiter sees cancelled_error.
  EXPECT_TRUE(queued.cancelled());
  EXPECT_THROW(co_await queued, aio::cancelled_error);
  // The detached job still completes into the shared state.
  EXPECT_EQ(co_await f, 5);
  EXPECT_TRUE(finished->load());
  EXPECT_FALSE(queued_ran.load());
}

AIO_TEST(thread_pool_test, destructor_deadline_asks_running_jobs_to_stop) {
  aio::concurrent_future<bool> f;
  testing::internal::CaptureStderr();
  {
    aio::thread_pool_executor pool(1, "stoppool", 20ms);
    f = pool.submit([](std::stop_token st) {
      while (!st.stop_requested()) std::this_thread::sleep_for(1ms);
      return true;
    });
    while (!f.running()) std::this_thread::sleep_for(1ms);
  }
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("stoppool"), std::string::npos) << err;
  EXPECT_TRUE(co_await f);  // it saw the stop request and ended
}

AIO_TEST(thread_pool_test, concurrent_shutdowns_both_wait_for_the_jobs) {
  aio::thread_pool_executor pool(3, "twoshut");
  std::atomic<int> finished{0};
  for (int i = 0; i < 3; ++i)
    (void)pool.submit([&] {
      std::this_thread::sleep_for(20ms);
      ++finished;
    });
  std::atomic<int> seen_after_shutdown{-1};
  std::thread other([&] {
    pool.shutdown(true);
    seen_after_shutdown = finished.load();
  });
  pool.shutdown(true);
  EXPECT_EQ(finished.load(), 3);
  other.join();
  EXPECT_EQ(seen_after_shutdown.load(), 3);
  co_return;
}

AIO_TEST(thread_pool_test, shutdown_from_its_own_thread_is_an_error) {
  aio::thread_pool_executor pool(1, "selfwait");
  bool threw = co_await pool.submit([&] {
    try {
      pool.shutdown(true);
    } catch (const aio::invalid_state_error&) {
      return true;
    }
    return false;
  });
  EXPECT_TRUE(threw);
}

AIO_TEST(thread_pool_test, shutdown_from_its_own_thread_is_an_error_during_another_shutdown) {
  // Another thread's shutdown(wait=true) has taken the thread list to join
  // it: the pool thread's own shutdown(wait=true) must still be refused, not
  // wait for itself (a deadlock).
  aio::thread_pool_executor pool(1, "selfwait2");
  std::atomic<bool> outside_started{false};
  auto job = pool.submit([&] {
    while (!outside_started) std::this_thread::sleep_for(1ms);
    // Until a submit is refused: the outside shutdown set the flag and took
    // the thread list under the same lock, and is joining this thread now.
    for (int i = 0; i < 10'000; ++i) {
      try {
        pool.submit([] {});
      } catch (const aio::invalid_state_error&) {
        break;
      }
      std::this_thread::sleep_for(1ms);
    }
    try {
      pool.shutdown(true);
    } catch (const aio::invalid_state_error&) {
      return true;
    }
    return false;
  });
  std::thread outside([&] {
    outside_started = true;
    pool.shutdown(true);
  });
  bool threw = co_await job;
  outside.join();
  EXPECT_TRUE(threw);
}

AIO_TEST(thread_pool_test, internal_executor_is_separate_from_the_default_one) {
  auto& internal = aio::detail::internal_executor();
  EXPECT_NE(&internal, &aio::default_executor());
  EXPECT_EQ(&internal, &aio::detail::internal_executor());
  auto name = co_await internal.submit(thread_name);
  EXPECT_EQ(name.rfind("aio-internal-", 0), 0u) << name;
}

// The pool's threads take no signal: a process-directed SIGINT or SIGTERM
// reaches the loop's signalfd, not a worker thread where it would kill the
// program.
AIO_TEST(thread_pool_test, worker_threads_block_every_signal) {
  aio::thread_pool_executor pool(2);
  auto blocked = [] {
    sigset_t cur;
    ::pthread_sigmask(SIG_BLOCK, nullptr, &cur);
    return sigismember(&cur, SIGINT) == 1 && sigismember(&cur, SIGTERM) == 1 && sigismember(&cur, SIGCHLD) == 1;
  };
  EXPECT_TRUE(co_await aio::run_in_executor(&pool, blocked));
  EXPECT_TRUE(co_await aio::to_thread(blocked));  // the default executor too
}
