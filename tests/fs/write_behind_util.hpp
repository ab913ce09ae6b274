// SPDX-License-Identifier: MIT
#pragma once
// Helpers of the write-behind tests: the internal pool held busy (so that a
// file's writer provably cannot run yet), RLIMIT_FSIZE for a real EFBIG, and
// waits that poll instead of timing.

#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <latch>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "aio/core/create_task.hpp"
#include "aio/core/errors.hpp"
#include "aio/core/sleep.hpp"
#include "aio/core/task.hpp"
#include "aio/exec/thread_pool_executor.hpp"
#include "aio/fs/file.hpp"
#include "fs_test_util.hpp"

namespace aio::fs::test {

inline constexpr std::size_t kib = 1024;
inline constexpr std::size_t mib = 1024 * kib;

// Holds every thread of the library's internal pool (4, or more once it grew
// when stalled) on a latch, so that the writer job, queued behind them,
// cannot run until release(). The pool's growth is off meanwhile: no new
// thread takes the job either.
class pool_blocker {
 public:
  pool_blocker()
      : threads(static_cast<int>(fs::test::internal_pool_threads())),
        growth_(aio::detail::internal_executor().get_growth()) {
    aio::detail::internal_executor().set_growth({});
    for (int i = 0; i < threads; ++i)
      jobs_.push_back(aio::detail::internal_executor().submit([this] {
        started_.fetch_add(1);
        gate_.wait();
      }));
  }
  ~pool_blocker() {
    release();
    for (auto& j : jobs_) j.result();  // they end at once: none may outlive this
    aio::detail::internal_executor().set_growth(growth_);
  }
  pool_blocker(const pool_blocker&) = delete;
  /// True once every pool thread is held (polled, bounded).
  aio::task<bool> held() {
    for (int i = 0; i < 5000 && started_.load() < threads; ++i) co_await aio::sleep(std::chrono::milliseconds(1));
    co_return started_.load() == threads;
  }
  void release() {
    if (!released_) gate_.count_down();
    released_ = true;
  }

 private:
  const int threads;
  aio::thread_pool_executor::growth growth_;
  std::atomic<int> started_{0};
  std::latch gate_{1};
  bool released_ = false;
  std::vector<aio::concurrent_future<void>> jobs_;
};

// Writes `n` copies of `chunk`, counting each completed write.
inline aio::task<> write_chunks(fs::file& f, std::string_view chunk, int n, int& done) {
  for (int i = 0; i < n; ++i) {
    co_await f.write(chunk);
    ++done;
  }
}

/// With the pool held: starts a task writing 80 × `chunk` (64 KiB) and
/// yields until it waits at the high-water mark: 64 writes (4 MiB) were
/// queued without suspending, the 65th waits.
inline aio::task<aio::task_handle<>> writer_at_high_water(fs::file& f, std::string_view chunk, int& done) {
  auto writer = aio::create_task(write_chunks(f, chunk, 80, done));
  for (int i = 0; i < 5; ++i) co_await aio::sleep(std::chrono::seconds(0));
  EXPECT_EQ(done, 64);
  EXPECT_FALSE(writer.done());
  co_return writer;
}

inline aio::task<> flush_file(fs::file& f) { co_await f.flush(); }
inline aio::task<> close_file(fs::file& f) { co_await f.close(); }
inline aio::task<> stat_file(fs::file& f) { co_await f.stat(); }

// The size of `path` once it is `want`, or after five seconds.
inline aio::task<std::uintmax_t> settled_size(std::filesystem::path path, std::uintmax_t want) {
  std::error_code ec;
  std::uintmax_t n = std::filesystem::file_size(path, ec);
  for (int i = 0; i < 5000 && (ec || n != want); ++i) {
    co_await aio::sleep(std::chrono::milliseconds(1));
    n = std::filesystem::file_size(path, ec);
  }
  co_return ec ? 0 : n;
}

// RLIMIT_FSIZE at `limit` with SIGXFSZ ignored (so a write past it fails
// with EFBIG instead of killing the process); both restored on destruction.
class file_size_limit {
 public:
  explicit file_size_limit(rlim_t limit) {
    ::getrlimit(RLIMIT_FSIZE, &old_);
    old_handler_ = ::signal(SIGXFSZ, SIG_IGN);
    rlimit r = old_;
    r.rlim_cur = limit;
    ::setrlimit(RLIMIT_FSIZE, &r);
  }
  ~file_size_limit() {
    ::setrlimit(RLIMIT_FSIZE, &old_);
    ::signal(SIGXFSZ, old_handler_);
  }
  file_size_limit(const file_size_limit&) = delete;

 private:
  rlimit old_{};
  sighandler_t old_handler_ = SIG_DFL;
};


/// True if awaiting `t` threw cancelled_error (false if it finished).
template <class Handle>
aio::task<bool> ended_cancelled(Handle t) {
  try {
    co_await t;
  } catch (const aio::cancelled_error&) {
    co_return true;
  }
  co_return false;
}

/// The EFBIG of a write past RLIMIT_FSIZE, naming `path`.
inline void expect_file_too_large(const caught& c, const std::string& path) {
  EXPECT_EQ(c.err, EFBIG);
  EXPECT_EQ(c.what, "write '" + path + "': File too large");
}

/// Queues `data` in 4 KiB writes while the pool is held (none is written
/// before all are queued), under RLIMIT_FSIZE `limit`; then awaits
/// `report(f)`, which meets the failed write, and returns what it threw.
inline aio::task<caught> fail_queued_writes(fs::file& f, std::string_view data, rlim_t limit,
                                           aio::task<> (*report)(fs::file&)) {
  file_size_limit in_force(limit);
  {
    pool_blocker pool;
    const bool held = co_await pool.held();
    if (!held) {
      caught c;
      c.what = "the internal pool could not be held";
      co_return c;
    }
    for (std::size_t at = 0; at < data.size(); at += 4 * kib)
      EXPECT_EQ(co_await f.write(data.substr(at, 4 * kib)), std::min(4 * kib, data.size() - at));  // queued: no error yet
  }
  co_return co_await error_of(report(f));
}

}  // namespace aio::fs::test
