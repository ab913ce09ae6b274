// SPDX-License-Identifier: MIT
// workers::run: n workers run to completion, each with its index; the exit
// status; SIGTERM's graceful stop; what run() leaves behind (no child, no
// fd, the signal mask as it was); and the calls it refuses.
#include <signal.h>
#include <sys/stat.h>

#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "aio/exec/thread_pool_executor.hpp"
#include "aio/fs/file.hpp"
#include "servers.hpp"

namespace aio::test {
namespace {

using namespace std::chrono_literals;

class workers_run : public ::testing::TestWithParam<backend_kind> {};
INSTANTIATE_TEST_SUITE_P(backends, workers_run,
                         ::testing::Values(backend_kind::uring, backend_kind::epoll), backend_name{});

task<int> report(std::size_t i) {
  co_await aio::sleep(1ms);
  emit("worker " + std::to_string(i) + " " + std::to_string(workers::worker_index()) + " " +
       std::to_string(workers::worker_count()) + " " + pid_text() + " " +
       std::string(get_running_loop().backend_name()));
  co_return 0;
}

task<> report_void(std::size_t i) { co_await report(i); }

TEST_P(workers_run, runs_each_main_in_its_own_process) {
  supervised s([backend = GetParam()] {
    return workers::run(3, [](std::size_t i) { return report(i); }, logged_options(backend));
  });
  EXPECT_EQ(exit_code(s.wait()), 0);
  auto lines = s.lines("worker ");
  ASSERT_EQ(lines.size(), 3u);
  std::set<long> indices, pids;
  for (const auto& l : lines) {
    EXPECT_EQ(field(l, 1), field(l, 2)) << l;  // worker_index() is main's argument
    EXPECT_EQ(field(l, 3), 3) << l;
    indices.insert(field(l, 1));
    pids.insert(field(l, 4));
    EXPECT_NE(field(l, 4), s.pid);
    EXPECT_NE(l.find(GetParam() == backend_kind::uring ? "io_uring" : "epoll"), std::string::npos) << l;
  }
  EXPECT_EQ(indices, (std::set<long>{0, 1, 2}));
  EXPECT_EQ(pids.size(), 3u);
  EXPECT_TRUE(s.lines("log").empty());
}

TEST_P(workers_run, zero_means_one_per_core) {
  supervised s([backend = GetParam()] {
    emit("cores " + std::to_string(workers::detail::usable_cores()));
    return workers::run(0, [](std::size_t i) { return report_void(i); }, logged_options(backend));
  });
  EXPECT_EQ(exit_code(s.wait()), 0);
  auto cores = s.lines("cores ");
  ASSERT_EQ(cores.size(), 1u);
  EXPECT_GE(field(cores[0], 1), 1);
  EXPECT_EQ(static_cast<long>(s.lines("worker ").size()), field(cores[0], 1));
}

task<int> stop_with_status(std::size_t i) {
  emit("ready " + std::to_string(i) + " " + pid_text());
  co_await workers::stopping();
  EXPECT_TRUE(workers::stop_requested());
  co_return i == 1 ? 5 : 0;
}

TEST_P(workers_run, sigterm_stops_workers_and_returns_the_first_failure) {
  supervised s([backend = GetParam()] {
    auto o = logged_options(backend);
    o.cancel_main_on_stop = false;  // main sees stopping() and returns by itself
    return workers::run(2, [](std::size_t i) { return stop_with_status(i); }, o);
  });
  ASSERT_FALSE(s.until("ready").empty());
  ASSERT_FALSE(s.until("ready").empty());
  ::kill(s.pid, SIGTERM);
  EXPECT_EQ(exit_code(s.wait()), 5);  // worker 1's status
  EXPECT_EQ(s.lines("log SIGTERM: stopping the workers").size(), 1u);
  EXPECT_EQ(s.lines("log worker 1 (pid").size(), 1u);  // "… exited with status 5 while stopping"
}

TEST_P(workers_run, leaves_no_child_no_fd_and_the_signal_mask_as_it_was) {
  supervised s([backend = GetParam()] {
    const int before = open_fds();
    int rc = workers::run(2, [](std::size_t i) { return wait_for_stop(i); }, logged_options(backend));
    const int after = open_fds();
    int st;
    const bool no_child = ::waitpid(-1, &st, WNOHANG) < 0 && errno == ECHILD;
    sigset_t mask;
    ::sigprocmask(SIG_SETMASK, nullptr, &mask);
    emit("after " + std::to_string(before) + " " + std::to_string(after) + " " +
         std::to_string(no_child) + " " + std::to_string(sigismember(&mask, SIGTERM)) + " " +
         std::to_string(sigismember(&mask, SIGCHLD)));
    return rc;
  });
  ASSERT_FALSE(s.until("ready").empty());
  ASSERT_FALSE(s.until("ready").empty());
  ::kill(s.pid, SIGTERM);
  EXPECT_EQ(exit_code(s.wait()), 0);
  EXPECT_EQ(s.lines("stopped").size(), 2u);
  auto after = s.lines("after ");
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(field(after[0], 1), field(after[0], 2)) << after[0];  // fds before and after
  EXPECT_EQ(field(after[0], 3), 1) << after[0];                   // no child left (not even a zombie)
  EXPECT_EQ(field(after[0], 4), 0) << after[0];                   // SIGTERM unblocked again
  EXPECT_EQ(field(after[0], 5), 0) << after[0];
}

// Drops its files unclosed with their writes still queued (write-behind),
// behind jobs that hold every thread of the internal pool for a while: the
// pool writes them after main returned, and the worker must wait for that.
task<> write_and_drop(std::string dir) {
  auto& pool = aio::detail::internal_executor();
  for (std::size_t i = 0; i < pool.max_workers(); ++i)
    pool.submit([] { std::this_thread::sleep_for(std::chrono::milliseconds(200)); });
  const std::string chunk(64 << 10, 'w');
  for (int n = 0; n < 4; ++n) {
    auto f = co_await fs::open(dir + "/" + std::to_string(n), "w");
    for (int i = 0; i < 16; ++i) co_await f.write(chunk);
  }
}

TEST_P(workers_run, a_worker_exits_only_once_its_dropped_files_are_written) {
  temp_dir d;
  const std::string dir = d.path;
  supervised s([backend = GetParam(), dir] {
    return workers::run(1, [dir](std::size_t) { return write_and_drop(dir); }, logged_options(backend));
  });
  EXPECT_EQ(exit_code(s.wait()), 0);
  for (int n = 0; n < 4; ++n) {
    struct ::stat st {};
    ASSERT_EQ(::stat((d / std::to_string(n)).c_str(), &st), 0);
    EXPECT_EQ(st.st_size, 1 << 20) << "file " << n;  // not cut short by the worker's exit
  }
}

TEST(workers_run_guard, refuses_to_fork_a_multithreaded_process) {
  supervised s([] {
    std::mutex m;
    std::condition_variable cv;
    bool go = false;
    std::thread t([&] {
      std::unique_lock lock(m);
      cv.wait(lock, [&] { return go; });
    });
    int rc = 1;
    try {
      workers::run(1, [](std::size_t i) { return report(i); });
    } catch (const invalid_state_error& e) {
      emit(std::string("refused ") + e.what());
      rc = 0;
    }
    {
      std::lock_guard lock(m);
      go = true;
    }
    cv.notify_one();
    t.join();
    return rc;
  });
  EXPECT_EQ(exit_code(s.wait()), 0);
  auto refused = s.lines("refused");
  ASSERT_EQ(refused.size(), 1u);
  // 2 threads here; sanitizers that run their own background thread add theirs.
  std::size_t at = refused[0].find("the process runs ");
  ASSERT_NE(at, std::string::npos) << refused[0];
  EXPECT_GE(std::stoi(refused[0].substr(at + 17)), 2) << refused[0];
  EXPECT_NE(refused[0].find(" threads; fork is only safe"), std::string::npos) << refused[0];
  EXPECT_TRUE(s.lines("worker ").empty());  // nothing was forked
}

task<> run_inside_a_loop() {
  bool refused = false;
  try {
    workers::run(1, [](std::size_t i) { return report(i); });
  } catch (const invalid_state_error&) {
    refused = true;
  }
  EXPECT_TRUE(refused);
  co_return;
}

TEST(workers_run_guard, refuses_a_running_loop_and_bad_options) {
  supervised s([] {
    aio::run(run_inside_a_loop());
    workers::options o;
    o.max_startup_failures = 0;
    try {
      workers::run(1, [](std::size_t i) { return report(i); }, o);
    } catch (const std::invalid_argument&) {
      emit("bad options");
    }
    return ::testing::Test::HasFailure() ? 1 : 0;
  });
  EXPECT_EQ(exit_code(s.wait()), 0);
  EXPECT_EQ(s.lines("bad options").size(), 1u);
  EXPECT_TRUE(s.lines("worker ").empty());
}

TEST(workers_run_guard, worker_calls_outside_a_worker) {
  EXPECT_FALSE(workers::in_worker());
  EXPECT_FALSE(workers::stop_requested());
  EXPECT_THROW(workers::worker_index(), invalid_state_error);
  EXPECT_THROW(workers::worker_count(), invalid_state_error);
  EXPECT_THROW(workers::notify_ready(), invalid_state_error);
}

}  // namespace
}  // namespace aio::test
