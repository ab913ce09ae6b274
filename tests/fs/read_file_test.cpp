// SPDX-License-Identifier: MIT
// read_file's own path: one openat, fstat for the size, one read when the
// answer is short by exactly the extra byte asked for, else on to end of
// file. The edges: empty files, files whose size says nothing (/proc), a
// file exactly one kernel read long and one byte longer, and no fd left.

#include <gtest/gtest.h>

#include <fstream>

#include "aio/fs/read_file.hpp"
#include "aio_test.hpp"
#include "fs_test_util.hpp"

namespace fs = aio::fs;
using fs::test::temp_dir;

namespace {

void put_file(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary) << data;
}

}  // namespace

AIO_TEST_SUITE(fs_read_file_test);

AIO_TEST(fs_read_file_test, small_and_empty_files_read_whole) {
  temp_dir d;
  const int fds = fs::test::baseline_fd_count();
  put_file(d / "empty", "");
  EXPECT_EQ(co_await fs::read_file(d / "empty"), "");
  put_file(d / "one", "x");
  EXPECT_EQ(co_await fs::read_file(d / "one"), "x");
  const std::string page = fs::test::pattern(4096, 9);
  put_file(d / "page", page);
  EXPECT_TRUE(co_await fs::read_file(d / "page") == page);
  EXPECT_EQ(fs::test::open_fd_count(), fds);
}

AIO_TEST(fs_read_file_test, a_file_whose_size_says_nothing_is_read_to_its_end) {
  // /proc files report size 0 and still have content.
  const std::string status = co_await fs::read_file("/proc/self/status");
  EXPECT_EQ(status.rfind("Name:", 0), 0u) << status.substr(0, 40);
  EXPECT_NE(status.find("\nPid:"), std::string::npos);
}

AIO_TEST(fs_read_file_test, files_at_the_kernel_read_limit_are_read_on) {
  // 32 MiB is the largest single kernel read: a file of exactly that size
  // fills the first read (no short answer, so no conclusion), one byte more
  // needs a second read.
  temp_dir d;
  const std::string data = fs::test::pattern((32u << 20) + 1, 4);
  put_file(d / "limit", data.substr(0, 32u << 20));
  std::string back = co_await fs::read_file(d / "limit");
  EXPECT_EQ(back.size(), 32u << 20);
  EXPECT_TRUE(back == data.substr(0, 32u << 20));
  put_file(d / "over", data);
  back = co_await fs::read_file(d / "over");
  EXPECT_EQ(back.size(), data.size());
  EXPECT_TRUE(back == data);
}
