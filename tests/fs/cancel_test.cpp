// SPDX-License-Identifier: MIT
// Cancellation at every suspension point of open/read/write/close: no fd
// left open, no buffer written after its owner is gone (ASan), and the
// atomic write leaves the old or the new content.

#include <gtest/gtest.h>

#include <chrono>

#include "aio/core/create_task.hpp"
#include "aio/core/errors.hpp"
#include "aio/core/sleep.hpp"
#include "aio/fs/directory.hpp"
#include "aio/fs/file.hpp"
#include "aio/fs/read_file.hpp"
#include "aio_test.hpp"
#include "fs_test_util.hpp"

namespace fs = aio::fs;
using fs::test::temp_dir;
using namespace std::chrono_literals;

namespace {

aio::task<> read_all(std::string path) {
  auto f = co_await fs::open(path);
  std::string data = co_await f.read();  // frees its buffer when cancelled
  std::string more = co_await f.read(1 << 20);
  co_await f.close();
}

aio::task<> write_all(std::string path) {
  auto f = co_await fs::open(path, "w");
  std::string data = fs::test::pattern(8u << 20);
  co_await f.write(data);  // the buffer dies with this frame when cancelled
  co_await f.write(data);
  co_await f.fsync();
  co_await f.close();
}

}  // namespace

AIO_TEST_SUITE(fs_cancel_test);

AIO_TEST(fs_cancel_test, cancel_mid_read_leaves_no_fd_open) {
  temp_dir d;
  co_await fs::write_file(d / "big", fs::test::pattern(48u << 20));
  std::string path = d / "big";
  co_await fs::test::cancel_at_every_point([&] { return read_all(path); }, 12);
}

AIO_TEST(fs_cancel_test, cancel_mid_write_leaves_no_fd_open) {
  temp_dir d;
  std::string path = d / "out";
  co_await fs::test::cancel_at_every_point([&] { return write_all(path); }, 12);
}

AIO_TEST(fs_cancel_test, cancel_a_pending_pread_delivers_or_throws_and_frees_nothing_early) {
  temp_dir d;
  co_await fs::write_file(d / "p", fs::test::pattern(16u << 20));
  auto f = co_await fs::open(d / "p");
  for (int k = 0; k < 6; ++k) {
    auto t = aio::create_task([](fs::file& file) -> aio::task<std::size_t> {
      std::string buf(16u << 20, '\0');
      co_return co_await file.pread_into(std::as_writable_bytes(std::span(buf)), 0);
    }(f));
    for (int i = 0; i < k; ++i) co_await aio::sleep(0s);
    t.cancel();
    try {
      EXPECT_EQ(co_await t, 16u << 20);
    } catch (const aio::cancelled_error&) {
    }
  }
  EXPECT_EQ(co_await f.pread(4, 0), fs::test::pattern(4));
}

AIO_TEST(fs_cancel_test, atomic_write_leaves_old_or_new_content_and_no_temp_file) {
  temp_dir d;
  std::string path = d / "state.json";
  const std::string old_content = fs::test::pattern(4u << 20, 1);
  const std::string new_content = fs::test::pattern(6u << 20, 2);
  co_await fs::write_file(path, old_content);
  bool saw_new = false;
  for (int k = 0; k < 16; ++k) {
    auto t = aio::create_task(fs::write_file_atomic(path, k % 2 ? old_content : new_content));
    for (int i = 0; i < k; ++i) co_await aio::sleep(0s);
    t.cancel();
    try {
      co_await t;
    } catch (const aio::cancelled_error&) {
    }
    std::string now = co_await fs::read_file(path);
    EXPECT_TRUE(now == old_content || now == new_content) << "a mix after " << k << " yields";
    saw_new = saw_new || now == new_content;
    auto names = co_await fs::listdir(d.path);
    EXPECT_EQ(names, std::vector<std::string>(1, "state.json")) << "after " << k << " yields";
  }
  co_await fs::write_file_atomic(path, new_content);
  EXPECT_TRUE(co_await fs::read_file(path) == new_content);
}

AIO_TEST(fs_cancel_test, a_second_cancel_during_the_atomic_writes_cleanup_still_removes_the_temp_file) {
  // The first cancel stops the write; the second catches the cleanup (the
  // close or the removal of the temporary file), which must still happen.
  temp_dir d;
  std::string path = d / "state.json";
  const std::string old_content = fs::test::pattern(1u << 20, 1);
  co_await fs::write_file(path, old_content);
  const std::vector<std::string> only_target(1, "state.json");
  int cancelled = 0;
  const std::string new_content = fs::test::pattern(2u << 20, 2);
  for (int k = 0; k < 24; ++k) {
    for (int j = 0; j < 6; ++j) {
      auto t = aio::create_task(fs::write_file_atomic(path, new_content));
      co_await aio::sleep(std::chrono::microseconds(100 * k));  // into the write, fsync, rename
      const bool running = t.cancel();
      for (int i = 0; i < j; ++i) co_await aio::sleep(0s);
      t.cancel();
      try {
        co_await t;
        EXPECT_FALSE(running) << "a cancelled write succeeded after " << k << "+" << j << " yields";
        co_await fs::write_file(path, old_content);
      } catch (const aio::cancelled_error&) {
        ++cancelled;
      }
      const std::string now = co_await fs::read_file(path);
      EXPECT_TRUE(now == old_content || now == new_content) << "a mix after " << k << "+" << j << " yields";
      // A removal the cancel interrupted is finished on the pool: poll for it.
      std::vector<std::string> names = co_await fs::listdir(d.path);
      for (int i = 0; i < 2000 && names != only_target; ++i) {
        co_await aio::sleep(1ms);
        names = co_await fs::listdir(d.path);
      }
      EXPECT_EQ(names, only_target) << "after " << k << "+" << j << " yields";
      if (names != only_target) co_return;  // every later round would see it too
    }
  }
  EXPECT_GT(cancelled, 0);
}
