// SPDX-License-Identifier: MIT
// writelines (writev), flush, and writes/pwrite/truncate meeting a file's
// read-ahead.

#include <gtest/gtest.h>
#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <fstream>
#include <list>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "aio/core/create_task.hpp"
#include "aio/core/errors.hpp"
#include "aio/core/sleep.hpp"
#include "aio/fs/file.hpp"
#include "aio/fs/read_file.hpp"
#include "aio_test.hpp"
#include "fs_test_util.hpp"

namespace fs = aio::fs;
using fs::test::temp_dir;
using namespace std::chrono_literals;

namespace {

// 40 strings of 1 MiB: two writev ops (32 MiB, then 8).
std::vector<std::string> forty_mib() {
  std::vector<std::string> parts;
  for (std::uint32_t i = 0; i < 40; ++i) parts.push_back(fs::test::pattern(1u << 20, i + 1));
  return parts;
}

aio::task<> write_forty(std::string path) {
  auto f = co_await fs::open(path, "w");
  std::vector<std::string> parts = forty_mib();  // freed with this frame when cancelled
  co_await f.writelines(parts);
  co_await f.close();
}

}  // namespace

AIO_TEST_SUITE(fs_writelines_test);

AIO_TEST(fs_writelines_test, writelines_then_read_back) {
  temp_dir d;
  auto f = co_await fs::open(d / "w", "w+");
  std::vector<std::string> v(3);
  v[0] = "alpha\n";
  v[2] = "beta\n";
  EXPECT_EQ(co_await f.writelines(v), 11u);
  // A braced list inside a co_await expression does not compile with GCC 12
  // (see the guide): make the task first.
  aio::task<std::size_t> braced = f.writelines({"gam", "ma\n"});  // no separators added
  EXPECT_EQ(co_await std::move(braced), 6u);
  std::list<std::string_view> l(1, "delta\n");
  EXPECT_EQ(co_await f.writelines(l), 6u);
  std::array<const char*, 2> c;
  c[0] = "eps";
  c[1] = "ilon\n";
  EXPECT_EQ(co_await f.writelines(c), 8u);
  EXPECT_EQ(co_await f.writelines(std::vector<std::string>{}), 0u);
  EXPECT_EQ(f.tell(), 31u);
  co_await f.seek(0);
  const std::vector<std::string> want{"alpha\n", "beta\n", "gamma\n", "delta\n", "epsilon\n"};
  EXPECT_EQ(co_await f.readlines(), want);
}

AIO_TEST(fs_writelines_test, more_strings_than_one_writev_takes) {
  // 5,000 strings: several writev ops of at most IOV_MAX (1024) each.
  temp_dir d;
  std::vector<std::string> parts;
  std::string expected;
  for (int i = 0; i < 5000; ++i) {
    parts.push_back(std::to_string(i) + (i % 3 ? "," : "\n"));
    if (i % 7 == 0) parts.emplace_back();  // empty strings are skipped
  }
  for (const auto& p : parts) expected += p;
  auto f = co_await fs::open(d / "many", "w");
  EXPECT_EQ(co_await f.writelines(parts), expected.size());
  EXPECT_EQ(f.tell(), expected.size());
  co_await f.close();
  EXPECT_TRUE(co_await fs::read_file(d / "many") == expected);
}

AIO_TEST(fs_writelines_test, a_string_larger_than_one_kernel_write) {
  temp_dir d;
  const std::string big = fs::test::pattern((32u << 20) + 12345, 9);  // past max_chunk: split
  auto f = co_await fs::open(d / "big", "w");
  std::vector<std::string_view> parts;
  parts.push_back("head\n");
  parts.push_back(big);
  parts.push_back("tail\n");
  EXPECT_EQ(co_await f.writelines(parts), big.size() + 10);
  co_await f.close();
  std::string back = co_await fs::read_file(d / "big");
  CO_ASSERT_EQ(back.size(), big.size() + 10);
  EXPECT_EQ(fs::test::checksum(back), fs::test::checksum("head\n" + big + "tail\n"));
}

AIO_TEST(fs_writelines_test, writelines_in_append_mode_goes_to_the_end) {
  temp_dir d;
  co_await fs::write_file(d / "log", "0\n");
  auto f = co_await fs::open(d / "log", "a+");
  co_await f.seek(0);
  std::vector<std::string> v;
  v.push_back("1\n");
  v.push_back("2\n");
  co_await f.writelines(v);
  EXPECT_EQ(f.tell(), 6u);
  co_await f.seek(0);
  EXPECT_EQ(co_await f.read(), "0\n1\n2\n");
}

AIO_TEST(fs_writelines_test, write_after_readline_lands_at_the_logical_position) {
  temp_dir d;
  co_await fs::write_file(d / "rw", "aaa\nbbb\nccc\n");
  auto f = co_await fs::open(d / "rw", "r+");
  EXPECT_EQ(co_await f.readline(), "aaa\n");  // the rest is now read ahead
  co_await f.write("BBB\n");
  EXPECT_EQ(f.tell(), 8u);
  EXPECT_EQ(co_await f.readline(), "ccc\n");
  co_await f.seek(0);
  EXPECT_EQ(co_await f.readline(), "aaa\n");
  std::vector<std::string_view> v;
  v.push_back("X");
  v.push_back("YZ\n");
  co_await f.writelines(v);
  EXPECT_EQ(co_await f.readline(), "ccc\n");
  co_await f.seek(0);
  EXPECT_EQ(co_await f.read(), "aaa\nXYZ\nccc\n");
}

AIO_TEST(fs_writelines_test, pwrite_and_truncate_refresh_the_read_ahead) {
  temp_dir d;
  co_await fs::write_file(d / "p", "aaa\nbbb\nccc\n");
  auto f = co_await fs::open(d / "p", "r+");
  EXPECT_EQ(co_await f.readline(), "aaa\n");
  co_await f.pwrite("XX", 4);  // inside what is read ahead
  EXPECT_EQ(co_await f.readline(), "XXb\n");
  EXPECT_EQ(f.tell(), 8u);
  co_await f.pwrite("??", 0);  // before the position: the read-ahead stays valid
  EXPECT_EQ(co_await f.readline(), "ccc\n");
  co_await f.seek(4);
  EXPECT_EQ(co_await f.readline(1), "X");
  co_await f.truncate(6);
  EXPECT_EQ(co_await f.readline(), "X");
  EXPECT_EQ(co_await f.readline(), "");
  EXPECT_EQ(co_await fs::read_file(d / "p"), "??a\nXX");
}

AIO_TEST(fs_writelines_test, flush_drops_the_read_ahead_and_syncs_the_fd_offset) {
  temp_dir d;
  co_await fs::write_file(d / "f", "one\ntwo\n");
  auto f = co_await fs::open(d / "f");
  EXPECT_EQ(co_await f.readline(), "one\n");
  {
    std::fstream other(d / "f", std::ios::in | std::ios::out | std::ios::binary);
    other.seekp(4);
    other << "TWO\n";
  }
  co_await f.flush();
  EXPECT_EQ(::lseek(f.fileno(), 0, SEEK_CUR), 4);  // the kernel's offset is tell()
  EXPECT_EQ(co_await f.readline(), "TWO\n");       // read again, not from the stale buffer
  co_await f.flush();
  co_await f.close();
  int err = 0;
  try {
    co_await f.flush();
  } catch (const std::system_error& e) {
    err = e.code().value();
  }
  EXPECT_EQ(err, EBADF);
}

AIO_TEST(fs_writelines_test, writes_are_in_the_kernel_when_they_return) {
  // Without write-behind there is no user-space write buffer: another
  // reader sees each write at once, before any flush or close.
  temp_dir d;
  fs::open_options direct_writes;
  direct_writes.write_behind = false;
  auto f = co_await fs::open(d / "u", "w", direct_writes);
  co_await f.write("abc");
  std::vector<std::string_view> v(2, "d");
  v[1] = "e";
  co_await f.writelines(v);
  std::ifstream in(d / "u", std::ios::binary);
  std::string seen((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(seen, "abcde");
}

AIO_TEST(fs_writelines_test, writelines_on_a_read_only_file_names_it) {
  temp_dir d;
  co_await fs::write_file(d / "ro", "x");
  auto f = co_await fs::open(d / "ro");
  std::vector<std::string> v(1, "y");
  std::string what;
  int err = 0;
  try {
    co_await f.writelines(v);
  } catch (const std::system_error& e) {
    err = e.code().value();
    what = e.what();
  }
  EXPECT_EQ(err, EBADF);
  EXPECT_NE(what.find("write '" + (d / "ro") + "'"), std::string::npos) << what;
}

AIO_TEST(fs_writelines_test, cancelled_writelines_writes_a_prefix_and_leaks_no_fd) {
  temp_dir d;
  std::string path = d / "c";
  std::string expected;
  for (const auto& p : forty_mib()) expected += p;
  int baseline = fs::test::open_fd_count();
  int cancelled = 0;
  for (int k = 0; k < 8; ++k) {
    auto t = aio::create_task(write_forty(path));
    for (int i = 0; i < k; ++i) co_await aio::sleep(0s);
    t.cancel();
    try {
      co_await t;
    } catch (const aio::cancelled_error&) {
      ++cancelled;
    }
    EXPECT_EQ(co_await fs::test::settled_fd_count(baseline), baseline) << "cancelled after " << k << " yields";
    bool exists = true;
    std::string back;
    try {
      back = co_await fs::read_file(path);
    } catch (const std::system_error&) {
      exists = false;  // cancelled before the open
    }
    if (exists) {
      EXPECT_LE(back.size(), expected.size());
      EXPECT_TRUE(std::string_view(expected).substr(0, back.size()) == back) << "not a prefix after " << k;
    }
  }
  EXPECT_GT(cancelled, 0);
}
