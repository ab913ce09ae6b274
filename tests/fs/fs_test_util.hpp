// SPDX-License-Identifier: MIT
#pragma once
// Helpers of the fs tests: a scratch directory, fd counting (and waiting for
// the pool's closes), cancellation at every yield, checksums, and the error
// an awaited call throws.

#include <dirent.h>
#include <stdlib.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

#include <gtest/gtest.h>

#include "aio/core/create_task.hpp"
#include "aio/core/errors.hpp"
#include "aio/core/sleep.hpp"
#include "aio/core/task.hpp"
#include "aio_test.hpp"

namespace aio::fs::test {

/// A fresh directory, removed with everything in it (tests/support).
using aio::test::temp_dir;


/// How many fds this process has open (entries of /proc/self/fd).
inline int open_fd_count() {
  int n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
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
