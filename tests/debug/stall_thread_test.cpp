// SPDX-License-Identifier: MIT
// The watchdog's live reports: a blocking sleep and a CPU spin are caught
// while they block, with the blocking function's name, file and line; long
// stalls come again at growing intervals; the loop sums up the slow step.
// ("thread" in the suite name: `ctest -R thread` runs these under TSan.)

#include <thread>

#include "reports.hpp"

using namespace std::chrono_literals;
using kind = aio::debug::stall_report::kind;

AIO_TEST_SUITE(stall_thread_test);

namespace {

// Deliberately blocking the loop thread: what the detector must name.
[[gnu::noinline]] void sleep_blocking_in_test(std::chrono::milliseconds d) {
  std::this_thread::sleep_for(d);
  asm volatile("" ::: "memory");  // keeps the call from becoming a tail call
}

[[gnu::noinline]] unsigned long spin_on_cpu_in_test(std::chrono::milliseconds d) {
  unsigned long n = 0;
  const auto end = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < end)
    for (int i = 0; i < 1000; ++i) n = n * 6364136223846793005ul + 1442695040888963407ul;
  asm volatile("" : "+r"(n)::"memory");
  return n;
}

void check_repeats(const std::vector<aio::debug::stall_report>& stalled,
                   std::chrono::milliseconds threshold) {
  for (std::size_t i = 0; i < stalled.size(); ++i) {
    EXPECT_EQ(stalled[i].repeat, i);
    EXPECT_GE(stalled[i].duration, threshold * (1 << i)) << "report " << i;  // at 1x, 2x, 4x…
    EXPECT_EQ(stalled[i].threshold, threshold);
  }
}

}  // namespace

AIO_TEST(stall_thread_test, blocking_sleep_is_named_while_it_blocks) {
  aio::test::report_log log;
  auto& loop = aio::get_running_loop();
  aio::test::detector_guard guard{loop};
  aio::debug::enable_blocking_detector(loop, {.threshold = 50ms, .logger = log.logger()});
  sleep_blocking_in_test(300ms);
  CO_ASSERT_TRUE(co_await log.wait_for(kind::slow_step, 1));

  auto stalled = log.of_kind(kind::stalled);
  CO_ASSERT_TRUE(!stalled.empty());
  EXPECT_EQ(stalled[0].task_name, "main");
  EXPECT_TRUE(
      aio::test::stack_names(stalled[0], "sleep_blocking_in_test", "debug/stall_thread_test.cpp"))
      << stalled[0].text();
  // The test's own coroutine is on the stack, and is where the step resumed.
  EXPECT_TRUE(aio::test::stack_names(
      stalled[0], "stall_thread_test_blocking_sleep_is_named_while_it_blocks_body",
      "debug/stall_thread_test.cpp"))
      << stalled[0].text();
  EXPECT_NE(
      stalled[0].resumed_in.find("stall_thread_test_blocking_sleep_is_named_while_it_blocks_body"),
      std::string::npos)
      << stalled[0].resumed_in;
  check_repeats(stalled, 50ms);

  auto slow = log.of_kind(kind::slow_step);
  CO_ASSERT_EQ(slow.size(), 1u);
  EXPECT_EQ(slow[0].task_name, "main");
  EXPECT_GE(slow[0].duration, 50ms);
  EXPECT_GE(slow[0].duration, stalled.back().duration);
  EXPECT_NE(slow[0].text().find("sleep_blocking_in_test"), std::string::npos) << slow[0].text();
  EXPECT_EQ(aio::debug::blocking_detector_stats_of(loop).stalls, 1u);
}

AIO_TEST(stall_thread_test, cpu_spin_is_named_while_it_spins) {
  aio::test::report_log log;
  auto& loop = aio::get_running_loop();
  aio::test::detector_guard guard{loop};
  aio::debug::enable_blocking_detector(loop, {.threshold = 50ms, .logger = log.logger()});
  spin_on_cpu_in_test(300ms);
  CO_ASSERT_TRUE(co_await log.wait_for(kind::slow_step, 1));
  auto stalled = log.of_kind(kind::stalled);
  CO_ASSERT_TRUE(!stalled.empty());
  EXPECT_TRUE(
      aio::test::stack_names_or_tsan_cut(stalled[0], "spin_on_cpu_in_test", "debug/stall_thread_test.cpp"))
      << stalled[0].text();
  EXPECT_TRUE(aio::test::stack_names_or_tsan_cut(stalled[0],
                                     "stall_thread_test_cpu_spin_is_named_while_it_spins_body",
                                     "debug/stall_thread_test.cpp"))
      << stalled[0].text();
  check_repeats(stalled, 50ms);
  EXPECT_EQ(log.count(kind::slow_step), 1u);
  EXPECT_EQ(aio::debug::blocking_detector_stats_of(loop).stalls, 1u);
}

AIO_TEST(stall_thread_test, long_stall_is_reported_again_at_growing_intervals) {
  aio::test::report_log log;
  auto& loop = aio::get_running_loop();
  aio::test::detector_guard guard{loop};
  aio::debug::enable_blocking_detector(loop, {.threshold = 20ms, .logger = log.logger()});
  sleep_blocking_in_test(400ms);  // reports due at 20, 40, 80, 160 and 320 ms
  CO_ASSERT_TRUE(co_await log.wait_for(kind::slow_step, 1));
  auto stalled = log.of_kind(kind::stalled);
  EXPECT_GE(stalled.size(), 3u);
  EXPECT_LE(stalled.size(), 5u);
  check_repeats(stalled, 20ms);
  for (auto& r : stalled)
    EXPECT_TRUE(aio::test::stack_names(r, "sleep_blocking_in_test", "stall_thread_test.cpp"));
  auto stats = aio::debug::blocking_detector_stats_of(loop);
  EXPECT_EQ(stats.stalls, 1u);
  EXPECT_EQ(stats.reports, stalled.size() + 1);
  EXPECT_EQ(stats.suppressed, 0u);
}

AIO_TEST(stall_thread_test, slow_step_summary_names_the_task_and_where_it_resumed) {
  aio::test::report_log log;
  auto& loop = aio::get_running_loop();
  aio::test::detector_guard guard{loop};
  aio::debug::enable_blocking_detector(loop, {.threshold = 30ms, .logger = log.logger()});
  auto blocker = [](int) -> aio::task<> {
    co_await aio::sleep(1ms);
    sleep_blocking_in_test(150ms);
  };
  co_await aio::create_task(blocker(0), "blocker");
  CO_ASSERT_TRUE(co_await log.wait_for(kind::slow_step, 1));
  auto slow = log.of_kind(kind::slow_step);
  CO_ASSERT_EQ(slow.size(), 1u);
  EXPECT_EQ(slow[0].task_name, "blocker");
  EXPECT_GE(slow[0].duration, 30ms);
  EXPECT_NE(slow[0].resumed_in.find("stall_thread_test.cpp"), std::string::npos)
      << slow[0].resumed_in;
  EXPECT_NE(slow[0].text().find("slow step: task 'blocker'"), std::string::npos) << slow[0].text();
  EXPECT_EQ(slow[0].suspended_in, "(the task finished)");
  auto stalled = log.of_kind(kind::stalled);
  CO_ASSERT_TRUE(!stalled.empty());
  EXPECT_EQ(stalled[0].task_name, "blocker");
}

namespace {
// A coroutine that blocks, then suspends on a sleep: the summary says where.
[[gnu::noinline]] aio::task<> block_then_sleep_in_test() {
  co_await aio::sleep(1ms);
  sleep_blocking_in_test(150ms);
  co_await aio::sleep(5ms);
}
}  // namespace

AIO_TEST(stall_thread_test, slow_step_summary_says_where_the_task_suspended_next) {
  aio::test::report_log log;
  auto& loop = aio::get_running_loop();
  aio::test::detector_guard guard{loop};
  aio::debug::enable_blocking_detector(loop, {.threshold = 30ms, .logger = log.logger()});
  auto outer = []() -> aio::task<> { co_await block_then_sleep_in_test(); };
  auto t = aio::create_task(outer(), "sleeper");
  co_await t;
  CO_ASSERT_TRUE(co_await log.wait_for(kind::slow_step, 1));
  auto slow = log.of_kind(kind::slow_step);
  CO_ASSERT_EQ(slow.size(), 1u);
  EXPECT_EQ(slow[0].task_name, "sleeper");
  EXPECT_NE(slow[0].suspended_in.find("block_then_sleep_in_test"), std::string::npos) << slow[0].text();
  EXPECT_NE(slow[0].suspended_in.find("stall_thread_test.cpp"), std::string::npos) << slow[0].text();
  EXPECT_NE(slow[0].suspended_in.find("waiting on sleep"), std::string::npos) << slow[0].text();
  EXPECT_NE(slow[0].text().find("then suspended in: "), std::string::npos) << slow[0].text();
}

AIO_TEST(stall_thread_test, a_blocking_callback_is_reported_without_a_task) {
  aio::test::report_log log;
  auto& loop = aio::get_running_loop();
  aio::test::detector_guard guard{loop};
  aio::debug::enable_blocking_detector(loop, {.threshold = 30ms, .logger = log.logger()});
  loop.call_soon([] { sleep_blocking_in_test(120ms); });
  co_await aio::sleep(1ms);
  CO_ASSERT_TRUE(co_await log.wait_for(kind::slow_step, 1));
  auto stalled = log.of_kind(kind::stalled);
  CO_ASSERT_TRUE(!stalled.empty());
  EXPECT_EQ(stalled[0].task_name, "");
  EXPECT_TRUE(stalled[0].resumed_in.empty());
  EXPECT_TRUE(
      aio::test::stack_names(stalled[0], "sleep_blocking_in_test", "stall_thread_test.cpp"));
  EXPECT_NE(stalled[0].text().find("in a callback"), std::string::npos);
}

AIO_TEST(stall_thread_test, two_stalls_are_two_reports) {
  aio::test::report_log log;
  auto& loop = aio::get_running_loop();
  aio::test::detector_guard guard{loop};
  aio::debug::enable_blocking_detector(loop, {.threshold = 30ms, .logger = log.logger()});
  sleep_blocking_in_test(100ms);
  CO_ASSERT_TRUE(co_await log.wait_for(kind::slow_step, 1));
  spin_on_cpu_in_test(100ms);
  CO_ASSERT_TRUE(co_await log.wait_for(kind::slow_step, 2));
  EXPECT_EQ(aio::debug::blocking_detector_stats_of(loop).stalls, 2u);
  auto stalled = log.of_kind(kind::stalled);
  // Each stall starts at repeat 0; the sleep's reports come first, then the spin's.
  std::size_t second = 0;
  for (std::size_t i = 1; i < stalled.size(); ++i)
    if (stalled[i].repeat == 0) second = i;
  CO_ASSERT_TRUE(second > 0);
  for (std::size_t i = 0; i < stalled.size(); ++i) {
    const char* fn = i < second ? "sleep_blocking_in_test" : "spin_on_cpu_in_test";
    EXPECT_TRUE(aio::test::stack_names_or_tsan_cut(stalled[i], fn, "stall_thread_test.cpp"))
        << stalled[i].text();
  }
}

namespace {
// Blocks in its destructor, which for a task's by-value parameter runs after
// the task finished, when its frame is destroyed.
struct slow_to_destroy {
  bool owner = true;
  slow_to_destroy() = default;
  slow_to_destroy(slow_to_destroy&& o) noexcept { o.owner = false; }
  ~slow_to_destroy() {
    if (owner) sleep_blocking_in_test(150ms);
  }
};

aio::task<> finish_holding(slow_to_destroy) { co_return; }
}  // namespace

AIO_TEST(stall_thread_test, a_stall_while_a_finished_task_is_destroyed_reads_nothing_freed) {
  // The task's name and extras are freed with its promise, before the
  // parameter's slow destructor: the stall report must not reach them.
  aio::test::report_log log;
  auto& loop = aio::get_running_loop();
  aio::test::detector_guard guard{loop};
  aio::debug::enable_blocking_detector(loop, {.threshold = 30ms, .logger = log.logger()});
  {
    auto t = aio::create_task(finish_holding(slow_to_destroy{}), "a name longer than sixteen chars");
  }  // the loop's reference is the last: finishing destroys the frame
  CO_ASSERT_TRUE(co_await log.wait_for(kind::slow_step, 1));
  // The report of the destructor's stall (not some other slow step's).
  bool seen = false;
  for (const auto& r : log.of_kind(kind::stalled)) {
    if (!aio::test::stack_names(r, "sleep_blocking_in_test", "stall_thread_test.cpp")) continue;
    seen = true;
    EXPECT_EQ(r.task_name, "");  // the task is over: no name to give
  }
  EXPECT_TRUE(seen);
}
