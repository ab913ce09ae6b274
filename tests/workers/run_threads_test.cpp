// SPDX-License-Identifier: MIT
// run_threads: one loop per thread, each main with its index; the status;
// SIGTERM stops them all; peer() and call_soon_threadsafe between loops.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "aio_test.hpp"

namespace aio::test {
namespace {

using namespace std::chrono_literals;

class workers_threads : public ::testing::TestWithParam<backend_kind> {};
INSTANTIATE_TEST_SUITE_P(backends, workers_threads,
                         ::testing::Values(backend_kind::uring, backend_kind::epoll), backend_name{});

workers::options on(backend_kind backend) {
  workers::options o;
  o.loop.backend = backend;
  return o;
}

std::mutex seen_mutex;
std::set<std::thread::id> seen_threads;
std::set<std::size_t> seen_indices;

task<int> note_thread(std::size_t i) {
  co_await aio::sleep(1ms);
  {
    std::lock_guard lock(seen_mutex);
    seen_threads.insert(std::this_thread::get_id());
    seen_indices.insert(workers::worker_index());
  }
  EXPECT_EQ(workers::worker_index(), i);
  EXPECT_EQ(workers::worker_count(), 3u);
  EXPECT_TRUE(workers::in_worker());
  workers::notify_ready();  // a no-op for threads
  co_return i == 2 ? 4 : 0;
}

TEST_P(workers_threads, runs_each_main_on_its_own_thread_and_loop) {
  seen_threads.clear();
  seen_indices.clear();
  EXPECT_EQ(workers::run_threads(3, [](std::size_t i) { return note_thread(i); }, on(GetParam())), 4);
  EXPECT_EQ(seen_threads.size(), 3u);
  EXPECT_EQ(seen_threads.count(std::this_thread::get_id()), 0u);
  EXPECT_EQ(seen_indices, (std::set<std::size_t>{0, 1, 2}));
  EXPECT_FALSE(workers::in_worker());
}

std::atomic<int> waiting{0};
std::atomic<int> stopped{0};

task<> wait_then_signal(std::size_t i) {
  ++waiting;
  if (i == 0) {
    while (waiting.load() < 2) co_await aio::sleep(1ms);
    ::kill(::getpid(), SIGTERM);  // to the process: read by run_threads' thread
  }
  co_await workers::stopping();
  EXPECT_TRUE(workers::stop_requested());
  ++stopped;
  co_await aio::sleep(1h);  // cancelled: cancel_main_on_stop
}

TEST_P(workers_threads, sigterm_stops_every_worker) {
  waiting = 0;
  stopped = 0;
  EXPECT_EQ(workers::run_threads(2, [](std::size_t i) { return wait_then_signal(i); }, on(GetParam())), 0);
  EXPECT_EQ(stopped.load(), 2);
  sigset_t mask;  // the mask is as it was
  ::pthread_sigmask(SIG_SETMASK, nullptr, &mask);
  EXPECT_FALSE(sigismember(&mask, SIGTERM));
}

std::atomic<bool> remote_cancelled{false};

task<int> slow_answer(std::thread::id caller) {
  EXPECT_NE(std::this_thread::get_id(), caller);
  try {
    co_await aio::sleep(1h);
  } catch (const cancelled_error&) {
    remote_cancelled = true;
    throw;
  }
  co_return 0;
}

task<std::string> remote_text(int n) {
  co_await aio::sleep(1ms);
  if (n < 0) throw std::runtime_error("negative");
  co_return std::string(static_cast<std::size_t>(n), 'x');
}

task<> call_the_other(std::size_t i) {
  if (i == 1) {
    co_await workers::stopping();  // serves run_on calls until worker 0 stops the group
    co_return;
  }
  const auto me = std::this_thread::get_id();
  // A plain function: called on worker 1's loop thread.
  std::thread::id there = co_await workers::run_on(1, [] { return std::this_thread::get_id(); });
  EXPECT_NE(there, me);
  // A coroutine: run there as a task; its value and its exception come back.
  std::string text = co_await workers::run_on(1, [] { return remote_text(3); });
  EXPECT_EQ(text, "xxx");
  bool threw = false;
  try {
    co_await workers::run_on(1, [] { return remote_text(-1); });
  } catch (const std::runtime_error& e) {
    threw = std::string(e.what()) == "negative";
  }
  EXPECT_TRUE(threw);
  // void, and a call to this very worker.
  int hits = 0;
  int* counter = &hits;
  co_await workers::run_on(0, [counter] { ++*counter; });
  EXPECT_EQ(hits, 1);
  // Cancelling the caller cancels the task running on the other loop.
  bool timed_out = false;
  try {
    co_await aio::wait_for(workers::run_on(1, [me] { return slow_answer(me); }), 20ms);
  } catch (const timeout_error&) {
    timed_out = true;
  }
  EXPECT_TRUE(timed_out);
  while (!remote_cancelled.load()) co_await aio::sleep(1ms);
  // call_soon_threadsafe through peer(), and the bad indices.
  std::atomic<bool> ran{false};
  std::atomic<bool>* flag = &ran;
  EXPECT_TRUE(workers::peer(1).call_soon_threadsafe([flag] { flag->store(true); }));
  while (!ran.load()) co_await aio::sleep(1ms);
  EXPECT_THROW(workers::peer(2), std::out_of_range);
  bool out_of_range = false;
  try {
    co_await workers::run_on(7, [] { return 0; });
  } catch (const std::out_of_range&) {
    out_of_range = true;
  }
  EXPECT_TRUE(out_of_range);
  ::kill(::getpid(), SIGTERM);  // stops worker 1 (and this one)
}

TEST_P(workers_threads, run_on_hands_results_back_across_loops) {
  remote_cancelled = false;
  EXPECT_EQ(workers::run_threads(2, [](std::size_t i) { return call_the_other(i); }, on(GetParam())), 0);
  EXPECT_TRUE(remote_cancelled.load());
}

task<> keep_a_ref_to_a_finished_peer(std::size_t i) {
  if (i == 1) co_return;  // its loop closes at once
  workers::worker_ref one = workers::peer(1);  // reachable: every loop runs before any main
  EXPECT_EQ(one.index(), 1u);
  while (one.call_soon_threadsafe([] {})) co_await aio::sleep(1ms);
  bool closed = false;
  try {
    co_await workers::run_on(1, [] { return 1; });
  } catch (const invalid_state_error&) {
    closed = true;
  }
  EXPECT_TRUE(closed);
}

TEST_P(workers_threads, a_closed_loop_refuses_work) {
  EXPECT_EQ(workers::run_threads(2, [](std::size_t i) { return keep_a_ref_to_a_finished_peer(i); }, on(GetParam())), 0);
}

task<int> one_step_later() {
  co_await aio::sleep(0ms);
  co_return 1;
}

// Calls that race the target's loop closing all come back: with a value, with
// cancelled_error (its task was cancelled by the closing loop, maybe before
// its first step) or with invalid_state_error (the loop was gone) — never a
// wait for ever.
task<> race_a_closing_peer(std::size_t i) {
  if (i == 1) {
    co_await aio::sleep(20ms);
    co_return;
  }
  int answered = 0, cancelled = 0, hung = 0;
  for (bool closed = false; !closed;) {
    for (int kind = 0; kind < 2 && !closed; ++kind) {
      try {
        if (kind == 0) co_await aio::wait_for(workers::run_on(1, [] { return one_step_later(); }), 5s);
        else co_await aio::wait_for(workers::run_on(1, [] { return 1; }), 5s);
        ++answered;
      } catch (const invalid_state_error&) {
        closed = true;
      } catch (const timeout_error&) {
        ++hung;
      } catch (const cancelled_error&) {
        ++cancelled;
      }
    }
  }
  EXPECT_EQ(hung, 0);
  EXPECT_GT(answered, 0);
  (void)cancelled;  // how many depends on the race
}

TEST_P(workers_threads, calls_racing_a_closing_peer_all_come_back) {
  EXPECT_EQ(workers::run_threads(2, [](std::size_t i) { return race_a_closing_peer(i); }, on(GetParam())), 0);
}

task<> not_in_a_group() {
  EXPECT_THROW(workers::peer(0), invalid_state_error);
  bool refused = false;
  try {
    co_await workers::run_on(0, [] { return 0; });
  } catch (const invalid_state_error&) {
    refused = true;
  }
  EXPECT_TRUE(refused);
  EXPECT_THROW(workers::run_threads(1, [](std::size_t i) { return note_thread(i); }), invalid_state_error);
}

AIO_TEST_SUITE(workers_threads_guard);
AIO_TEST(workers_threads_guard, outside_a_group) { co_await not_in_a_group(); }

}  // namespace
}  // namespace aio::test
