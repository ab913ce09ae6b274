// SPDX-License-Identifier: MIT
// Write-behind when things go wrong or end: a failed queued write (EFBIG
// under RLIMIT_FSIZE) is thrown once, naming the path, by whichever call
// comes next, with the position where it stopped; the destructor, the exit of
// the process and a cancelled close or flush still write the queue; no fd is
// left open.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "aio/core/create_task.hpp"
#include "aio/core/errors.hpp"
#include "aio/core/sleep.hpp"
#include "aio/fs/file.hpp"
#include "aio/fs/read_file.hpp"
#include "aio/net/subprocess.hpp"
#include "aio_test.hpp"
#include "fs_test_util.hpp"
#include "write_behind_util.hpp"

namespace fs = aio::fs;
using namespace fs::test;
using namespace std::chrono_literals;

AIO_TEST_SUITE(fs_write_behind_errors_thread_test);

AIO_TEST(fs_write_behind_errors_thread_test, a_failed_queued_write_is_thrown_by_flush_once) {
  temp_dir d;
  const std::string data = fs::test::pattern(128 * kib, 11);
  const std::string path = d / "big";
  auto f = co_await fs::open(path, "w");
  caught c = co_await fail_queued_writes(f, data, 64 * kib, &flush_file);
  expect_file_too_large(c, path);
  EXPECT_EQ(f.tell(), 64 * kib);  // where the failed write stopped
  EXPECT_EQ((co_await error_of(f.flush())).what, "no error");  // once
  co_await f.close();
  const std::string back = co_await fs::read_file(path);
  EXPECT_EQ(back.size(), 64 * kib);
  EXPECT_TRUE(back == data.substr(0, 64 * kib));
}

AIO_TEST(fs_write_behind_errors_thread_test, a_failed_queued_write_is_thrown_by_close_and_the_fd_is_released) {
  temp_dir d;
  const int fds = fs::test::open_fd_count();
  const std::string path = d / "big";
  auto f = co_await fs::open(path, "w");
  const std::string data(128 * kib, 'z');
  caught c = co_await fail_queued_writes(f, data, 64 * kib, &close_file);
  expect_file_too_large(c, path);
  EXPECT_FALSE(f.is_open());
  EXPECT_EQ(fs::test::open_fd_count(), fds);
  EXPECT_EQ((co_await fs::read_file(path)).size(), 64 * kib);
  // After the error the next file writes normally.
  auto g = co_await fs::open(path, "a");
  co_await g.write("more");
  co_await g.close();
  EXPECT_EQ((co_await fs::read_file(path)).size(), 64 * kib + 4);
}

AIO_TEST(fs_write_behind_errors_thread_test, the_next_call_of_any_kind_reports_the_error) {
  temp_dir d;
  const std::string path = d / "big";
  auto f = co_await fs::open(path, "w+");
  const std::string data(32 * kib, 'q');
  caught c = co_await fail_queued_writes(f, data, 16 * kib, &stat_file);
  expect_file_too_large(c, path);
  EXPECT_EQ((co_await f.stat()).size, 16 * kib);
  co_await f.seek(0);
  EXPECT_EQ((co_await f.read()).size(), 16 * kib);
  co_await f.close();
}

AIO_TEST(fs_write_behind_errors_thread_test, a_later_write_reports_the_error_and_copies_nothing) {
  temp_dir d;
  const std::string path = d / "big";
  auto f = co_await fs::open(path, "w");
  caught c;
  std::uint64_t queued = 0;
  {
    file_size_limit limit(8 * kib);
    co_await f.write(std::string(16 * kib, 'w'));
    // Small writes keep queuing until the writer has failed; the first one
    // after that throws its error instead of queuing.
    for (int i = 0; i < 5000 && c.err == 0; ++i) {
      c = co_await error_of(f.write("x"));
      if (c.err == 0) ++queued;
      co_await aio::sleep(1ms);
    }
  }
  expect_file_too_large(c, path);
  EXPECT_EQ(f.tell(), 8 * kib);  // where the failed write stopped; what came after was dropped
  co_await f.write("after");      // the file stays usable
  co_await f.close();
  EXPECT_EQ(co_await fs::read_file(path), std::string(8 * kib, 'w') + "after");
}

AIO_TEST(fs_write_behind_errors_thread_test, the_destructor_writes_the_queue_then_closes) {
  temp_dir d;
  const int fds = fs::test::open_fd_count();
  const std::string data = fs::test::pattern(2 * mib + 3, 13);
  {
    auto f = co_await fs::open(d / "dropped", "w");
    for (std::size_t at = 0; at < data.size(); at += 1000) co_await f.write(std::string_view(data).substr(at, 1000));
  }  // no close
  EXPECT_EQ(co_await settled_size(d / "dropped", data.size()), data.size());
  EXPECT_EQ(co_await fs::test::settled_fd_count(fds), fds);
  EXPECT_TRUE(co_await fs::read_file(d / "dropped") == data);
}

AIO_TEST(fs_write_behind_errors_thread_test, a_file_dropped_just_before_exit_is_still_written) {
  constexpr const char* child_env = "AIO_FS_TEST_WRITE_BEHIND_FILE";
  const std::string data = fs::test::pattern(3 * mib, 21);  // under the high-water mark: all of it queued
  if (const char* path = std::getenv(child_env)) {
    // The child: every pool thread busy for a while (so the writer has not
    // started when main ends), 3 MiB queued, the file dropped, then exit at
    // once.
    static std::atomic<int> busy{0};
    aio::detail::internal_executor().set_growth({});  // no thread joins them to run the writer
    for (int i = 0; i < 4; ++i)
      aio::detail::internal_executor().submit([] {
        busy.fetch_add(1);
        std::this_thread::sleep_for(300ms);
      });
    for (int i = 0; i < 5000 && busy.load() < 4; ++i) co_await aio::sleep(1ms);
    {
      auto f = co_await fs::open(path, "w");
      for (std::size_t at = 0; at < data.size(); at += 4 * kib) co_await f.write(std::string_view(data).substr(at, 4 * kib));
    }
    std::exit(0);
  }
  temp_dir d;
  child_result child = co_await run_self_as_child(child_env, d / "out", "a_file_dropped_just_before_exit_is_still_written");
  EXPECT_EQ(child.status, 0) << child.out;
  EXPECT_TRUE(co_await fs::read_file(d / "out") == data) << child.out;
}

AIO_TEST(fs_write_behind_errors_thread_test, a_cancelled_close_or_flush_leaves_the_queue_draining) {
  temp_dir d;
  const int fds = fs::test::open_fd_count();
  const std::string data = fs::test::pattern(512 * kib, 17);
  auto f = co_await fs::open(d / "cf", "w");
  {
    pool_blocker pool;
    const bool held = co_await pool.held();
    CO_ASSERT_TRUE(held);
    co_await f.write(data);
    auto fl = aio::create_task(flush_file(f));
    co_await aio::sleep(0s);
    EXPECT_FALSE(fl.done());  // waits for the writer, which cannot run
    fl.cancel();
    EXPECT_TRUE(co_await ended_cancelled(fl));
    EXPECT_TRUE(f.is_open());
    co_await f.write(data);
    auto cl = aio::create_task(close_file(f));
    co_await aio::sleep(0s);
    EXPECT_FALSE(cl.done());
    cl.cancel();
    EXPECT_TRUE(co_await ended_cancelled(cl));
    EXPECT_FALSE(f.is_open());  // the fd is the writer's to close now
    pool.release();
  }
  EXPECT_EQ(co_await settled_size(d / "cf", 2 * data.size()), 2 * data.size());
  EXPECT_EQ(co_await fs::test::settled_fd_count(fds), fds);
  EXPECT_TRUE(co_await fs::read_file(d / "cf") == data + data);
}

AIO_TEST(fs_write_behind_errors_thread_test, no_fd_is_leaked) {
  temp_dir d;
  const int fds = fs::test::open_fd_count();
  for (int i = 0; i < 20; ++i) {
    auto f = co_await fs::open(d / ("f" + std::to_string(i)), "w");
    co_await f.write("x");
    if (i % 2 == 0) co_await f.close();  // the odd ones: the destructor
  }
  EXPECT_EQ(co_await fs::test::settled_fd_count(fds), fds);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(co_await settled_size(d / ("f" + std::to_string(i)), 1), 1u);
}
