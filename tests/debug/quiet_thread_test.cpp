// SPDX-License-Identifier: MIT
// What the watchdog must not report (an idle loop, many short steps), its
// rate limit, and its API: enable/disable, options, AIO_SLOW_STEP_MS.
// ("thread" in the suite name: `ctest -R thread` runs these under TSan.)

#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <thread>

#include "reports.hpp"

using namespace std::chrono_literals;
using kind = aio::debug::stall_report::kind;

AIO_TEST_SUITE(quiet_thread_test);

namespace {

[[gnu::noinline]] void block_for(std::chrono::milliseconds d) {
  std::this_thread::sleep_for(d);
  asm volatile("" ::: "memory");
}

[[gnu::noinline]] void burn(std::chrono::microseconds d) {
  const auto end = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < end) {
  }
}

}  // namespace

AIO_TEST(quiet_thread_test, idle_loop_is_never_reported) {
  aio::test::report_log log;
  auto& loop = aio::get_running_loop();
  aio::test::detector_guard guard{loop};
  aio::debug::enable_blocking_detector(loop, {.threshold = 20ms, .logger = log.logger()});
  co_await aio::sleep(500ms);  // 25 thresholds of waiting in the poller
  auto sleeper = [](std::chrono::milliseconds d) -> aio::task<> { co_await aio::sleep(d); };
  co_await aio::gather(sleeper(100ms), sleeper(150ms), sleeper(200ms));
  EXPECT_TRUE(log.all().empty());
  EXPECT_EQ(aio::debug::blocking_detector_stats_of(loop).stalls, 0u);
}

AIO_TEST(quiet_thread_test, many_short_steps_are_never_reported) {
  aio::test::report_log log;
  auto& loop = aio::get_running_loop();
  aio::test::detector_guard guard{loop};
  // A generous threshold: the machine may preempt the loop thread, and that is a stall too.
  aio::debug::enable_blocking_detector(loop, {.threshold = 250ms, .logger = log.logger()});
  long steps = 0;
  auto worker = [&steps]() -> aio::task<> {
    const auto end = std::chrono::steady_clock::now() + 600ms;  // busy for 2.4 thresholds
    while (std::chrono::steady_clock::now() < end) {
      burn(200us);
      ++steps;
      co_await aio::sleep(0ms);
    }
  };
  co_await aio::gather(worker(), worker(), worker());
  EXPECT_GT(steps, 100);
  EXPECT_TRUE(log.all().empty()) << log.all().front().text();
  EXPECT_EQ(aio::debug::blocking_detector_stats_of(loop).stalls, 0u);
}

AIO_TEST(quiet_thread_test, rate_limit_holds) {
  aio::test::report_log log;
  auto& loop = aio::get_running_loop();
  aio::test::detector_guard guard{loop};
  aio::debug::enable_blocking_detector(
      loop, {.threshold = 10ms, .max_reports_per_minute = 3, .logger = log.logger()});
  for (int i = 0; i < 3; ++i) {
    block_for(100ms);  // each: reports at 10, 20, 40 and 80 ms, then a summary
    co_await aio::sleep(1ms);
  }
  co_await aio::sleep(100ms);  // the last summary
  auto stats = aio::debug::blocking_detector_stats_of(loop);
  EXPECT_GE(stats.stalls, 2u);  // a watchdog starved of CPU for 90 ms may miss one
  EXPECT_EQ(stats.reports, 3u);
  EXPECT_EQ(log.all().size(), 3u);
  // Up to 15 were due (4 repeats and a summary per stall); a watchdog starved
  // of CPU (TSan on a busy machine) sees fewer, but some were always dropped.
  EXPECT_GE(stats.suppressed, 1u);
  // The first one got through, with nothing dropped before it.
  auto all = log.all();
  CO_ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].what, kind::stalled);
  EXPECT_EQ(all[0].repeat, 0u);
  EXPECT_EQ(all[0].suppressed, 0u);
}

AIO_TEST(quiet_thread_test, suppressed_reports_are_counted_in_the_next_one) {
  aio::test::report_log log;
  auto& loop = aio::get_running_loop();
  aio::test::detector_guard guard{loop};
  aio::debug::enable_blocking_detector(
      loop, {.threshold = 10ms, .max_reports_per_minute = 0, .logger = log.logger()});
  block_for(50ms);
  co_await aio::sleep(1ms);
  for (int i = 0; i < 300 && aio::debug::blocking_detector_stats_of(loop).suppressed < 2; ++i)
    co_await aio::sleep(10ms);
  EXPECT_TRUE(log.all().empty());
  EXPECT_EQ(aio::debug::blocking_detector_stats_of(loop).stalls, 1u);
  EXPECT_GE(aio::debug::blocking_detector_stats_of(loop).suppressed, 2u);
  aio::debug::stall_report r;
  r.suppressed = 5;
  EXPECT_NE(r.text().find("5 earlier report(s) dropped"), std::string::npos);
}

AIO_TEST(quiet_thread_test, disable_stops_reports_and_enable_replaces) {
  aio::test::report_log first, second;
  auto& loop = aio::get_running_loop();
  aio::test::detector_guard guard{loop};
  EXPECT_FALSE(aio::debug::blocking_detector_enabled(loop));
  EXPECT_FALSE(aio::debug::disable_blocking_detector(loop));
  EXPECT_EQ(aio::debug::blocking_detector_stats_of(loop).stalls, 0u);
  aio::debug::enable_blocking_detector(loop, {.threshold = 20ms, .logger = first.logger()});
  EXPECT_TRUE(aio::debug::blocking_detector_enabled(loop));
  aio::debug::enable_blocking_detector(loop, {.threshold = 20ms, .logger = second.logger()});
  block_for(80ms);
  CO_ASSERT_TRUE(co_await second.wait_for(kind::slow_step, 1));
  EXPECT_TRUE(first.all().empty());
  EXPECT_TRUE(aio::debug::disable_blocking_detector(loop));
  EXPECT_FALSE(aio::debug::blocking_detector_enabled(loop));
  const auto before = second.all().size();
  block_for(80ms);
  co_await aio::sleep(50ms);
  EXPECT_EQ(second.all().size(), before);
  EXPECT_EQ(aio::debug::blocking_detector_stats_of(loop).stalls, 0u);
}

AIO_TEST(quiet_thread_test, bad_options_and_wrong_thread_are_errors) {
  auto& loop = aio::get_running_loop();
  EXPECT_THROW(aio::debug::enable_blocking_detector(loop, {.threshold = 0ms}),
               std::invalid_argument);
  EXPECT_THROW(aio::debug::enable_blocking_detector(loop, {.signal = SIGRTMAX + 1}),
               std::invalid_argument);
  // Standard signals are the program's or the loop's (SIGINT, SIGSEGV…): refused.
  for (int taken : {SIGINT, SIGSEGV, SIGUSR1, SIGRTMIN - 1})
    EXPECT_THROW(aio::debug::enable_blocking_detector(loop, {.signal = taken}), std::invalid_argument) << taken;
  EXPECT_FALSE(aio::debug::blocking_detector_enabled(loop));
  bool threw = false;
  std::thread other([&] {
    try {
      aio::debug::enable_blocking_detector(loop);
    } catch (const aio::invalid_state_error&) {
      threw = true;
    }
  });
  other.join();
  EXPECT_TRUE(threw);
  co_return;
}

AIO_TEST(quiet_thread_test, a_throwing_logger_does_not_stop_the_detector) {
  auto& loop = aio::get_running_loop();
  aio::test::detector_guard guard{loop};
  std::atomic<int> calls{0};
  aio::debug::enable_blocking_detector(
      loop, {.threshold = 10ms, .logger = [&calls](const aio::debug::stall_report&) {
               ++calls;
               throw std::runtime_error("logger failed");
             }});
  block_for(80ms);
  // Let the watchdog finish with the first stall (symbolising is slow under
  // TSan on a loaded machine) so that it is watching when the second begins.
  for (int i = 0, last = -1, quiet = 0; i < 300 && quiet < 5; ++i) {
    co_await aio::sleep(10ms);
    quiet = calls.load() == last ? quiet + 1 : 0;
    last = calls.load();
  }
  block_for(80ms);
  co_await aio::sleep(1ms);
  for (int i = 0; i < 300 && aio::debug::blocking_detector_stats_of(loop).stalls < 2; ++i)
    co_await aio::sleep(10ms);
  EXPECT_EQ(aio::debug::blocking_detector_stats_of(loop).stalls, 2u);
  EXPECT_GE(calls.load(), 2);
}

TEST(quiet_thread_env_test, slow_step_ms_parsing) {
  ::unsetenv("AIO_SLOW_STEP_MS");
  EXPECT_EQ(aio::debug::slow_step_threshold_from_env(), 0ms);
  ::setenv("AIO_SLOW_STEP_MS", "75", 1);
  EXPECT_EQ(aio::debug::slow_step_threshold_from_env(), 75ms);
  ::setenv("AIO_SLOW_STEP_MS", "0", 1);
  EXPECT_EQ(aio::debug::slow_step_threshold_from_env(), 0ms);
  ::setenv("AIO_SLOW_STEP_MS", "fast", 1);
  EXPECT_EQ(aio::debug::slow_step_threshold_from_env(), 0ms);
  ::setenv("AIO_SLOW_STEP_MS", "-5", 1);
  EXPECT_EQ(aio::debug::slow_step_threshold_from_env(), 0ms);
  ::unsetenv("AIO_SLOW_STEP_MS");
}

TEST(quiet_thread_env_test, slow_step_ms_turns_the_detector_on_for_every_loop) {
  auto enabled = []() -> aio::task<bool> {
    co_return aio::debug::blocking_detector_enabled(aio::get_running_loop());
  };
  ::setenv("AIO_SLOW_STEP_MS", "100", 1);
  EXPECT_TRUE(aio::run(enabled(), {.handle_sigint = false}));
  ::setenv("AIO_SLOW_STEP_MS", "0", 1);
  EXPECT_FALSE(aio::run(enabled(), {.handle_sigint = false}));
  ::unsetenv("AIO_SLOW_STEP_MS");
  EXPECT_FALSE(aio::run(enabled(), {.handle_sigint = false}));
}

namespace {
// The blocked-signal mask of this process's thread named `name`, from /proc
// (nullopt while no thread has that name).
std::optional<unsigned long long> blocked_signals_of(const std::string& name) {
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string n;
    std::getline(comm, n);
    if (n != name) continue;
    std::ifstream status(task.path() / "status");
    for (std::string line; std::getline(status, line);)
      if (line.starts_with("SigBlk:")) return std::stoull(line.substr(7), nullptr, 16);
  }
  return std::nullopt;
}
}  // namespace

AIO_TEST(quiet_thread_test, the_watchdog_takes_no_signal) {
  auto& loop = aio::get_running_loop();
  aio::test::detector_guard guard{loop};
  aio::debug::enable_blocking_detector(loop);
  auto found = blocked_signals_of("aio-watchdog");
  for (int i = 0; i < 500 && !found; ++i) {  // it names itself once it runs
    co_await aio::sleep(1ms);
    found = blocked_signals_of("aio-watchdog");
  }
  CO_ASSERT_TRUE(found);
  const unsigned long long mask = *found;
  EXPECT_NE(mask & (1ull << (SIGINT - 1)), 0u);   // Ctrl-C goes to the loop (aio::run)
  EXPECT_NE(mask & (1ull << (SIGUSR1 - 1)), 0u);  // AIO_DUMP_ON_SIGNAL
  EXPECT_NE(mask & (1ull << (SIGTERM - 1)), 0u);
}

TEST(quiet_thread_loop_test, a_loop_outside_run_forever_is_never_reported) {
  aio::test::report_log log;
  aio::event_loop loop;
  aio::debug::enable_blocking_detector(loop, {.threshold = 10ms, .logger = log.logger()});
  block_for(100ms);  // the loop is not running: this thread's business
  EXPECT_TRUE(log.all().empty());
  auto blocker = []() -> aio::task<int> {
    block_for(100ms);
    co_return 1;
  };
  EXPECT_EQ(aio::run_until_complete(loop, blocker()), 1);
  // The step ended before run_until_complete returned; its summary is logged
  // by then or by the watchdog right after.
  for (int i = 0; i < 500 && log.count(kind::slow_step) == 0; ++i) std::this_thread::sleep_for(2ms);
  EXPECT_EQ(log.count(kind::slow_step), 1u);
  EXPECT_GE(log.count(kind::stalled), 1u);
  // A live report the watchdog was already writing (symbolising is slow under
  // TSan) may land just after the summary: wait until the log is still.
  auto reports = log.all().size();
  for (int quiet = 0, i = 0; quiet < 25 && i < 1000; ++i) {
    std::this_thread::sleep_for(2ms);
    const auto now = log.all().size();
    quiet = now == reports ? quiet + 1 : 0;
    reports = now;
  }
  block_for(100ms);  // stopped again
  EXPECT_EQ(log.all().size(), reports);
  EXPECT_EQ(aio::debug::blocking_detector_stats_of(loop).stalls, 1u);
  EXPECT_TRUE(aio::debug::disable_blocking_detector(loop));
}

// libunwind.so.8 also exports _Unwind_RaiseException: were it in the global
// symbol scope, it would take over every C++ throw of the program (about
// 40 µs each). The detector loads it privately; throws stay with libgcc_s.
AIO_TEST(quiet_thread_test, detector_leaves_exception_unwinding_to_libgcc) {
  auto& loop = aio::get_running_loop();
  aio::debug::enable_blocking_detector(loop, {.threshold = std::chrono::milliseconds(50)});
  void* raise = ::dlsym(RTLD_DEFAULT, "_Unwind_RaiseException");
  Dl_info info{};
  CO_ASSERT_TRUE(raise != nullptr && ::dladdr(raise, &info) != 0 && info.dli_fname != nullptr);
  EXPECT_EQ(std::string(info.dli_fname).find("libunwind"), std::string::npos) << info.dli_fname;
  try {
    throw std::runtime_error("still works");
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "still works");
  }
  aio::debug::disable_blocking_detector(loop);
  co_return;
}

AIO_TEST(quiet_thread_test, step_histogram_samples_one_step_in_64) {
  auto& loop = aio::get_running_loop();
  EXPECT_TRUE(aio::debug::blocking_detector_stats_of(loop).step_histogram.empty());
  for (int i = 0; i < 1000; ++i) co_await aio::sleep(std::chrono::seconds(0));  // not sampled: detector off
  aio::debug::enable_blocking_detector(loop, {.threshold = std::chrono::seconds(10)});
  auto before = aio::debug::blocking_detector_stats_of(loop);
  CO_ASSERT_EQ(before.step_histogram.size(), 24u);
  EXPECT_EQ(before.steps_per_sample, 64u);
  std::uint64_t start = 0;
  for (auto c : before.step_histogram) start += c;
  EXPECT_EQ(start, 0u);
  for (int i = 0; i < 6400; ++i) co_await aio::sleep(std::chrono::seconds(0));
  auto after = aio::debug::blocking_detector_stats_of(loop);
  std::uint64_t samples = 0, long_ones = 0;
  for (std::size_t b = 0; b < after.step_histogram.size(); ++b) {
    samples += after.step_histogram[b];
    if (b >= 15) long_ones += after.step_histogram[b];  // >= 16 ms: none of these steps is that slow
  }
  EXPECT_GE(samples, 6400u / 64 - 1);  // the loop's own steps are sampled too, so maybe more
  EXPECT_LE(samples, 2 * 6400u / 64 + 2);
  EXPECT_EQ(long_ones, 0u);
  aio::debug::disable_blocking_detector(loop);
}
