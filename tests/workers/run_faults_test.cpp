// SPDX-License-Identifier: MIT
// workers::run's faults: a worker killed with SIGKILL is restarted and the
// log says so; a worker failing at startup backs off, and the supervisor
// gives up after max_startup_failures (no fork bomb); a worker that
// ignores the stop is killed after its deadline and the status says so.
#include <signal.h>

#include <thread>

#include "servers.hpp"

namespace aio::test {
namespace {

using namespace std::chrono_literals;

class workers_faults : public ::testing::TestWithParam<backend_kind> {};
INSTANTIATE_TEST_SUITE_P(backends, workers_faults,
                         ::testing::Values(backend_kind::uring, backend_kind::epoll), backend_name{});

TEST_P(workers_faults, a_killed_worker_is_restarted) {
  supervised s([backend = GetParam()] {
    auto o = logged_options(backend);
    o.restart_delay = 20ms;
    return workers::run(2, [](std::size_t i) { return wait_for_stop(i); }, o);
  });
  pid_t victim = 0;
  for (int i = 0; i < 2; ++i) {  // in either order
    std::string r = s.until("ready");
    ASSERT_FALSE(r.empty());
    if (field(r, 1) == 1) victim = static_cast<pid_t>(field(r, 2));
  }
  ASSERT_NE(victim, 0);
  ::kill(victim, SIGKILL);
  std::string why = s.until("log worker 1");
  EXPECT_NE(why.find("(pid " + std::to_string(victim) + ") was killed by signal SIGKILL"), std::string::npos) << why;
  EXPECT_NE(why.find("restarting it in 20 ms"), std::string::npos) << why;
  std::string again = s.until("ready 1");
  ASSERT_FALSE(again.empty());
  EXPECT_NE(field(again, 2), victim);
  ::kill(s.pid, SIGTERM);
  EXPECT_EQ(exit_code(s.wait()), 0);  // the replacement and worker 0 stopped cleanly
  auto stopped = s.lines("stopped");
  ASSERT_EQ(stopped.size(), 2u);
  for (const auto& l : stopped) EXPECT_NE(field(l, 2), victim);
}

task<> fail_at_once(std::size_t i) {
  emit("start " + std::to_string(i) + " " + pid_text());
  co_await aio::sleep(1ms);
  throw std::runtime_error("no configuration file");
}

TEST_P(workers_faults, failing_at_startup_backs_off_then_gives_up) {
  supervised s([backend = GetParam()] {
    auto o = logged_options(backend);
    o.restart_delay = 10ms;
    o.max_startup_failures = 4;
    try {
      workers::run(1, [](std::size_t i) { return fail_at_once(i); }, o);
    } catch (const workers::supervisor_error& e) {
      emit(std::string("gave up: ") + e.what());
      return 2;
    }
    return 0;
  });
  EXPECT_EQ(exit_code(s.wait()), 2);
  EXPECT_EQ(s.lines("start 0").size(), 4u);  // four tries, not one more
  EXPECT_EQ(s.lines("log worker 0 (pid").size(), 8u);  // each: its main's error, then how it died
  auto failed = s.lines("log worker 0 (pid");
  EXPECT_NE(failed[0].find("main failed: no configuration file"), std::string::npos) << failed[0];
  // Backoff: 10, 20, 40 ms, then no fourth restart.
  auto restarts = s.lines("log worker 0 (pid");
  std::vector<std::string> delays;
  for (const auto& l : restarts)
    if (auto at = l.find("restarting it in "); at != std::string::npos) delays.push_back(l.substr(at + 17));
  EXPECT_EQ(delays, (std::vector<std::string>{"10 ms", "20 ms", "40 ms"}));
  auto gave_up = s.lines("gave up");
  ASSERT_EQ(gave_up.size(), 1u);
  EXPECT_NE(gave_up[0].find("exited with status 1 at startup"), std::string::npos) << gave_up[0];
  EXPECT_NE(gave_up[0].find("4 failures at startup in a row: giving up"), std::string::npos) << gave_up[0];
}

// Worker 0 serves until stopped; worker 1 exits with status 3 at once.
task<int> healthy_or_failing(std::size_t i) {
  if (i == 0) {
    co_await wait_for_stop(i);
    co_return 0;
  }
  co_await aio::sleep(1ms);
  co_return 3;
}

TEST_P(workers_faults, giving_up_stops_the_healthy_workers) {
  supervised s([backend = GetParam()] {
    auto o = logged_options(backend);
    o.restart_delay = 5ms;
    o.max_startup_failures = 2;
    try {
      workers::run(2, [](std::size_t i) { return healthy_or_failing(i); }, o);
    } catch (const workers::supervisor_error& e) {
      emit(std::string("gave up: ") + e.what());
      return 2;
    }
    return 0;
  });
  EXPECT_EQ(exit_code(s.wait()), 2);
  EXPECT_EQ(s.lines("stopped 0").size(), 1u);  // worker 0 got its graceful stop
  auto gave_up = s.lines("gave up");
  ASSERT_EQ(gave_up.size(), 1u);
  EXPECT_NE(gave_up[0].find("worker 1"), std::string::npos) << gave_up[0];
}

task<> ignore_the_stop(std::size_t i) {
  co_await aio::sleep(1ms);
  emit("ready " + std::to_string(i) + " " + pid_text());
  for (;;) std::this_thread::sleep_for(10ms);  // blocks its loop: no stop request gets through
}

TEST_P(workers_faults, a_worker_past_its_deadline_is_killed) {
  supervised s([backend = GetParam()] {
    auto o = logged_options(backend);
    o.shutdown_timeout = 50ms;
    o.kill_timeout = 50ms;
    return workers::run(1, [](std::size_t i) { return ignore_the_stop(i); }, o);
  });
  ASSERT_FALSE(s.until("ready 0").empty());
  ::kill(s.pid, SIGTERM);
  EXPECT_EQ(exit_code(s.wait()), 128 + SIGKILL);
  auto killed = s.lines("log worker 0");
  ASSERT_EQ(killed.size(), 2u);
  EXPECT_NE(killed[0].find("still runs 100 ms after it was told to stop: killing it"), std::string::npos) << killed[0];
  EXPECT_NE(killed[1].find("was killed by signal SIGKILL"), std::string::npos) << killed[1];
}

task<> sleep_through_the_stop(std::size_t i) {
  emit("ready " + std::to_string(i) + " " + pid_text());
  try {
    co_await aio::sleep(1h);
  } catch (const cancelled_error&) {
    emit("cancelled " + std::to_string(i));
    throw;
  }
}

TEST_P(workers_faults, the_deadline_cancels_a_main_that_does_not_stop) {
  supervised s([backend = GetParam()] {
    auto o = logged_options(backend);
    o.cancel_main_on_stop = false;
    o.shutdown_timeout = 50ms;
    return workers::run(1, [](std::size_t i) { return sleep_through_the_stop(i); }, o);
  });
  ASSERT_FALSE(s.until("ready 0").empty());
  ::kill(s.pid, SIGTERM);
  EXPECT_EQ(exit_code(s.wait()), 0);  // cancelled by its own deadline: a clean stop
  EXPECT_EQ(s.lines("cancelled 0").size(), 1u);
}

}  // namespace
}  // namespace aio::test
