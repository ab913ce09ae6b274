// SPDX-License-Identifier: MIT
#pragma once
// Helpers of the fs tests: a scratch directory, fd counting (and waiting for
// the pool's closes), cancellation at every yield, checksums, the error an
// awaited call throws, and this binary run again as a child.

#include <dirent.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>
#include <system_error>
#include <thread>

#include <gtest/gtest.h>

#include "aio/core/create_task.hpp"
#include "aio/core/errors.hpp"
#include "aio/core/sleep.hpp"
#include "aio/core/task.hpp"
#include "aio/exec/thread_pool_executor.hpp"
#include "aio/net/subprocess.hpp"
#include "aio_test.hpp"

namespace aio::fs::test {

/// A fresh directory, removed with everything in it (tests/support).
using aio::test::temp_dir;


/// The threads of the library's internal pool, once all started: 4, or more
/// after it grew when stalled (grown threads stay). A test that holds the
/// pool must hold them all.
inline std::size_t internal_pool_threads() {
  auto& pool = aio::detail::internal_executor();
  return std::max(pool.max_workers(), pool.thread_count());
}

/// How many fds this process has open (entries of /proc/self/fd).
inline int open_fd_count() {
  int n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

/// open_fd_count() for a test's starting point: once two counts 5 ms apart
/// agree (at most 100 ms), so that an earlier test's fd still being closed on
/// the pool does not shift the baseline.
inline int baseline_fd_count() {
  int n = open_fd_count();
  for (int i = 0; i < 20; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    const int again = open_fd_count();
    if (again == n) break;
    n = again;
  }
  return n;
}

/// open_fd_count() once it is `expected`, or after two seconds: the pool
/// closes the fds of destroyed files a moment later.
inline aio::task<int> settled_fd_count(int expected) {
  int n = open_fd_count();
  for (int i = 0; i < 2000 && n != expected; ++i) {
    co_await aio::sleep(std::chrono::milliseconds(1));
    n = open_fd_count();
  }
  co_return n;
}

/// The errno and message of the std::system_error an awaited call threw.
struct caught {
  int err = 0;
  std::string what;
};

/// Awaits `t`; what it threw (what == "no error" when it did not).
template <class T>
aio::task<caught> error_of(aio::task<T> t) {
  caught c;
  try {
    co_await std::move(t);
    c.what = "no error";
  } catch (const std::system_error& e) {
    c.err = e.code().value();
    c.what = e.what();
  }
  co_return c;
}

/// Runs make() once per yield count 0..n-1: cancelled after that many yields
/// of the test task, it either finishes or throws cancelled_error; no fd
/// leaks, and at least one run is cancelled. Uses EXPECT_* (GoogleTest).
template <class Make>
aio::task<> cancel_at_every_point(Make make, int n) {
  int baseline = open_fd_count();
  int cancelled = 0, finished = 0;
  for (int k = 0; k < n; ++k) {
    auto t = aio::create_task(make());
    for (int i = 0; i < k; ++i) co_await aio::sleep(std::chrono::seconds(0));
    t.cancel();
    try {
      co_await t;
      ++finished;
    } catch (const aio::cancelled_error&) {
      ++cancelled;
    }
    EXPECT_EQ(co_await settled_fd_count(baseline), baseline) << "cancelled after " << k << " yields";
  }
  EXPECT_GT(cancelled, 0);
}

/// What run_self_as_child saw.
struct child_result {
  int status = -1;
  std::string out;  // stdout and stderr
};

/// Runs this test binary again, with `env`=`value` and only the uring run
/// of `test` (a test name), for a test whose child does its part and exits
/// at once (leak detection off: it exits with frames still alive).
inline aio::task<child_result> run_self_as_child(std::string env, std::string value, std::string test) {
  std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  aio::subprocess_options o;
  o.stdout = aio::subprocess::pipe;
  o.stderr = aio::subprocess::stdout;
  o.extra_env[env] = value;
  o.extra_env["ASAN_OPTIONS"] = "detect_leaks=0";
  std::vector<std::string> args(1, "--gtest_filter=*" + test + "/uring");
  auto p = co_await aio::create_subprocess_exec(self, args, o);
  auto out = co_await p.communicate();
  child_result r;
  r.status = co_await p.wait();
  r.out = std::move(out.out);
  co_return r;
}

/// FNV-1a: enough to tell two large buffers apart.
inline std::uint64_t checksum(std::string_view s) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

/// `n` bytes of a deterministic pattern that does not repeat at powers of two.
inline std::string pattern(std::size_t n, std::uint32_t seed = 1) {
  std::string s(n, '\0');
  std::uint32_t x = seed * 2654435761u + 1;
  for (std::size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    s[i] = static_cast<char>(x);
  }
  return s;
}

}  // namespace aio::fs::test
