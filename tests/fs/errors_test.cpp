// SPDX-License-Identifier: MIT
// Every error the issue lists that a test can make here: a std::system_error
// whose message names the operation and the path.

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <system_error>

#include "aio/fs/directory.hpp"
#include "aio/fs/file.hpp"
#include "aio/fs/read_file.hpp"
#include "aio_test.hpp"
#include "fs_test_util.hpp"

namespace fs = aio::fs;
using fs::test::caught;
using fs::test::error_of;
using fs::test::temp_dir;

AIO_TEST_SUITE(fs_errors_test);

AIO_TEST(fs_errors_test, missing_file_names_the_operation_and_path) {
  temp_dir d;
  std::string path = d / "missing.txt";
  caught c = co_await error_of(fs::open(path));
  EXPECT_EQ(c.err, ENOENT);
  EXPECT_EQ(c.what, "open '" + path + "': No such file or directory");
  c = co_await error_of(fs::read_file(path));
  EXPECT_EQ(c.err, ENOENT);
  c = co_await error_of(fs::open(d / "no/such/dir/f", "w"));
  EXPECT_EQ(c.err, ENOENT);
}

AIO_TEST(fs_errors_test, permission_denied) {
  // Root bypasses permission bits, so a 0000 file is only refused to other
  // users; a read-only sysfs attribute refuses writers, root included.
  temp_dir d;
  std::string locked = d / "locked";
  {
    std::ofstream(locked) << "secret";
  }
  ::chmod(locked.c_str(), 0);
  caught c = co_await error_of(fs::open(locked));
  if (::geteuid() != 0) {
    EXPECT_EQ(c.err, EACCES);
    EXPECT_NE(c.what.find("open '" + locked + "'"), std::string::npos) << c.what;
  }
  const char* ro = "/sys/kernel/mm/transparent_hugepage/hpage_pmd_size";
  if (::access(ro, F_OK) == 0) {
    c = co_await error_of(fs::open(ro, "w"));
    EXPECT_EQ(c.err, EACCES) << c.what;
    EXPECT_EQ(c.what, std::string("open '") + ro + "': Permission denied");
  }
}

AIO_TEST(fs_errors_test, is_a_directory) {
  temp_dir d;
  caught c = co_await error_of(fs::open(d.path));  // read-only: Linux would open it; we refuse, as Python
  EXPECT_EQ(c.err, EISDIR);
  EXPECT_EQ(c.what, "open '" + d.path.string() + "': Is a directory");
  c = co_await error_of(fs::open(d.path, "w"));
  EXPECT_EQ(c.err, EISDIR);
  c = co_await error_of(fs::read_file(d.path));
  EXPECT_EQ(c.err, EISDIR);
  c = co_await error_of(fs::remove(d.path));
  EXPECT_EQ(c.err, EISDIR);
  EXPECT_NE(c.what.find("remove '"), std::string::npos) << c.what;
}

AIO_TEST(fs_errors_test, not_a_directory) {
  temp_dir d;
  {
    std::ofstream(d / "plain") << "x";
  }
  caught c = co_await error_of(fs::open(d / "plain/child"));
  EXPECT_EQ(c.err, ENOTDIR);
  c = co_await error_of(fs::rmdir(d / "plain"));
  EXPECT_EQ(c.err, ENOTDIR);
  EXPECT_NE(c.what.find("rmdir '"), std::string::npos) << c.what;
  c = co_await error_of(fs::listdir(d / "plain"));
  EXPECT_EQ(c.err, ENOTDIR);
  EXPECT_NE(c.what.find("listdir '"), std::string::npos) << c.what;
}

AIO_TEST(fs_errors_test, exclusive_mode_on_an_existing_file) {
  temp_dir d;
  {
    std::ofstream(d / "there") << "old";
  }
  caught c = co_await error_of(fs::open(d / "there", "x"));
  EXPECT_EQ(c.err, EEXIST);
  EXPECT_EQ(c.what, "open '" + (d / "there") + "': File exists");
  auto f = co_await fs::open(d / "new", "xb");  // x creates a missing file
  EXPECT_TRUE(f.is_open());
}

AIO_TEST(fs_errors_test, bad_mode_strings_throw_invalid_argument_at_the_call) {
  for (const char* mode : {"", "rw", "rr", "q", "r++", "bt", "+", "wbb", "ra+"}) {
    bool threw = false;
    try {
      (void)fs::open("/nonexistent", mode);
    } catch (const std::invalid_argument& e) {
      threw = std::string(e.what()).find(std::string("'") + mode + "'") != std::string::npos;
    }
    EXPECT_TRUE(threw) << "mode '" << mode << "'";
  }
  for (const char* mode : {"r", "rb", "r+", "rb+", "r+b", "w", "wb", "w+", "a", "ab+", "x", "xb", "rt"})
    EXPECT_NO_THROW((void)fs::open_flags(mode)) << mode;
  co_return;
}

AIO_TEST(fs_errors_test, write_on_a_read_only_file_and_read_on_a_write_only_one) {
  temp_dir d;
  {
    std::ofstream(d / "f") << "data";
  }
  auto r = co_await fs::open(d / "f", "r");
  caught c = co_await error_of(r.write("x"));
  EXPECT_EQ(c.err, EBADF);
  EXPECT_NE(c.what.find("write '"), std::string::npos) << c.what;
  auto w = co_await fs::open(d / "f", "a");
  c = co_await error_of(w.read(1));
  EXPECT_EQ(c.err, EBADF);
}

AIO_TEST(fs_errors_test, offsets_past_the_largest_file_offset_are_einval) {
  temp_dir d;
  auto f = co_await fs::open(d / "f", "w+");
  co_await f.write("data");
  constexpr std::uint64_t max = std::numeric_limits<std::int64_t>::max();
  // UINT64_MAX must not read or write at the file's position instead.
  caught c = co_await error_of(f.pread(4, UINT64_MAX));
  EXPECT_EQ(c.err, EINVAL);
  EXPECT_EQ(c.what, "pread '" + d / "f" + "': Invalid argument");
  c = co_await error_of(f.pwrite("x", UINT64_MAX));
  EXPECT_EQ(c.err, EINVAL);
  EXPECT_EQ(c.what, "pwrite '" + d / "f" + "': Invalid argument");
  c = co_await error_of(f.pwrite("xy", max));  // the range, not just its start
  EXPECT_EQ(c.err, EINVAL);
  EXPECT_EQ(co_await f.pread(4, 0), "data");
  EXPECT_EQ(f.tell(), 4u);
  // seek: an overflowing sum is an error, not undefined behaviour.
  co_await f.seek(static_cast<std::int64_t>(max));
  bool threw = false;
  try {
    co_await f.seek(1, fs::whence::cur);
  } catch (const std::invalid_argument& e) {
    threw = std::string(e.what()).find("largest file offset") != std::string::npos;
  }
  EXPECT_TRUE(threw);
  EXPECT_EQ(f.tell(), max);
  co_await f.seek(0);
  EXPECT_EQ(co_await f.read(), "data");
}
