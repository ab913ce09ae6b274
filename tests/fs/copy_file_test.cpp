// SPDX-License-Identifier: MIT
// copy_file / copy: contents, truncation, modes, the /proc fallback, every
// error naming the path at fault, the same file, and cancellation.

#include "aio/fs/copy_file.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>

#include "aio/core/create_task.hpp"
#include "aio/core/errors.hpp"
#include "aio/core/sleep.hpp"
#include "aio/fs/directory.hpp"
#include "aio/fs/link.hpp"
#include "aio/fs/read_file.hpp"
#include "aio/fs/stat.hpp"
#include "aio_test.hpp"
#include "fs_test_util.hpp"

namespace fs = aio::fs;
using fs::test::error_of;
using fs::test::temp_dir;
using namespace std::chrono_literals;

AIO_TEST_SUITE(fs_copy_file_test);

AIO_TEST(fs_copy_file_test, copies_large_and_empty_files_byte_for_byte) {
  temp_dir d;
  const std::string big = fs::test::pattern((40u << 20) + 12345);  // several chunks and a tail
  co_await fs::write_file(d / "big", big);
  EXPECT_EQ(co_await fs::copy_file(d / "big", d / "big.copy"), big.size());
  std::string back = co_await fs::read_file(d / "big.copy");
  EXPECT_EQ(back.size(), big.size());
  EXPECT_EQ(fs::test::checksum(back), fs::test::checksum(big));
  co_await fs::write_file(d / "empty", "");
  EXPECT_EQ(co_await fs::copy_file(d / "empty", d / "empty.copy"), 0u);
  EXPECT_EQ(co_await fs::read_file(d / "empty.copy"), "");
}

AIO_TEST(fs_copy_file_test, truncates_an_existing_destination_and_keeps_its_mode) {
  temp_dir d;
  co_await fs::write_file(d / "src", "short");
  co_await fs::write_file(d / "dst", std::string(100000, 'x'));
  co_await fs::chmod(d / "dst", 0604);
  co_await fs::chmod(d / "src", 0755);
  co_await fs::copy_file(d / "src", d / "dst");
  EXPECT_EQ(co_await fs::read_file(d / "dst"), "short");
  EXPECT_EQ((co_await fs::stat(d / "dst")).permissions(), 0604u);  // copyfile leaves the mode
  co_await fs::copy(d / "src", d / "dst");
  EXPECT_EQ((co_await fs::stat(d / "dst")).permissions(), 0755u);  // copy copies it
}

AIO_TEST(fs_copy_file_test, follows_symlinks_on_both_sides) {
  temp_dir d;
  co_await fs::write_file(d / "real", "content");
  co_await fs::symlink("real", d / "link");
  co_await fs::write_file(d / "target", "old");
  co_await fs::symlink("target", d / "dst_link");
  co_await fs::copy_file(d / "link", d / "dst_link");
  EXPECT_EQ(co_await fs::read_file(d / "target"), "content");
  EXPECT_TRUE((co_await fs::lstat(d / "dst_link")).is_symlink());
}

AIO_TEST(fs_copy_file_test, copy_into_a_directory_uses_the_source_name) {
  temp_dir d;
  co_await fs::mkdir(d / "bin");
  co_await fs::write_file(d / "tool", "#!/bin/sh\n");
  co_await fs::chmod(d / "tool", 0750);
  EXPECT_EQ(co_await fs::copy(d / "tool", d / "bin"), 10u);
  EXPECT_EQ(co_await fs::read_file(d / "bin/tool"), "#!/bin/sh\n");
  EXPECT_EQ((co_await fs::stat(d / "bin/tool")).permissions(), 0750u);
}

AIO_TEST(fs_copy_file_test, a_proc_file_whose_size_says_zero_is_copied_whole) {
  temp_dir d;
  // /proc files report size 0: copy_file_range copies nothing, the fallback reads them.
  std::uint64_t n = co_await fs::copy_file("/proc/self/status", d / "status");
  std::string s = co_await fs::read_file(d / "status");
  EXPECT_GT(n, 0u);
  EXPECT_EQ(s.size(), n);
  EXPECT_EQ(s.rfind("Name:", 0), 0u);
}

AIO_TEST(fs_copy_file_test, errors_name_the_source_or_the_destination) {
  temp_dir d;
  co_await fs::write_file(d / "src", "x");
  co_await fs::mkdir(d / "dir");
  co_await fs::symlink("none", d / "dangling");
  co_await fs::symlink("loop2", d / "loop1");
  co_await fs::symlink("loop1", d / "loop2");
  auto missing = co_await error_of(fs::copy_file(d / "none", d / "out"));
  EXPECT_EQ(missing.err, ENOENT);
  EXPECT_EQ(missing.what, "copy_file '" + d / "none" + "': No such file or directory");
  auto dangling = co_await error_of(fs::copy_file(d / "dangling", d / "out"));
  EXPECT_EQ(dangling.err, ENOENT) << dangling.what;
  auto loop = co_await error_of(fs::copy_file(d / "loop1", d / "out"));
  EXPECT_EQ(loop.err, ELOOP) << loop.what;
  auto src_dir = co_await error_of(fs::copy_file(d / "dir", d / "out"));
  EXPECT_EQ(src_dir.err, EISDIR);
  EXPECT_EQ(src_dir.what, "copy_file '" + d / "dir" + "': Is a directory");
  auto dst_dir = co_await error_of(fs::copy_file(d / "src", d / "dir"));
  EXPECT_EQ(dst_dir.err, EISDIR);
  EXPECT_EQ(dst_dir.what, "copy_file '" + d / "dir" + "': Is a directory");
  auto parent = co_await error_of(fs::copy_file(d / "src", d / "no/such/out"));
  EXPECT_EQ(parent.err, ENOENT);
  EXPECT_EQ(parent.what, "copy_file '" + d / "no/such/out" + "': No such file or directory");
  auto notdir = co_await error_of(fs::copy_file(d / "src", d / "src/out"));
  EXPECT_EQ(notdir.err, ENOTDIR) << notdir.what;
  EXPECT_FALSE(co_await fs::exists(d / "out"));
}

AIO_TEST(fs_copy_file_test, named_pipes_are_refused_without_blocking) {
  temp_dir d;
  EXPECT_EQ(::mkfifo((d / "fifo").c_str(), 0600), 0);
  co_await fs::write_file(d / "src", "x");
  auto from = co_await error_of(
      fs::copy_file(d / "fifo", d / "out"));  // opening it would wait for a writer
  EXPECT_EQ(from.err, EINVAL);
  EXPECT_EQ(from.what, "copy_file '" + d / "fifo" + "': is a named pipe: Invalid argument");
  auto to = co_await error_of(fs::copy_file(d / "src", d / "fifo"));
  EXPECT_EQ(to.err, EINVAL) << to.what;
}

AIO_TEST(fs_copy_file_test, onto_itself_throws_same_file_error_and_truncates_nothing) {
  temp_dir d;
  co_await fs::write_file(d / "a", "keep me");
  co_await fs::link(d / "a", d / "hard");
  co_await fs::symlink("a", d / "soft");
  for (const char* other : {"a", "hard", "soft"}) {
    bool threw = false;
    try {
      co_await fs::copy_file(d / "a", d / other);
    } catch (const fs::same_file_error& e) {
      threw = std::string(e.what()) ==
                  "copy_file '" + d / "a" + "' -> '" + d / other + "': are the same file" &&
              e.code().value() == EINVAL;
    }
    EXPECT_TRUE(threw) << other;
  }
  bool threw = false;
  try {
    co_await fs::copy(d / "a", d.path);  // into its own directory: itself
  } catch (const std::system_error&) {
    threw = true;
  }
  EXPECT_TRUE(threw);
  EXPECT_EQ(co_await fs::read_file(d / "a"), "keep me");
}

AIO_TEST(fs_copy_file_test, a_full_destination_is_an_error_naming_both_paths) {
  temp_dir d;
  co_await fs::write_file(d / "src", "data");
  // /dev/full refuses every write with ENOSPC, as a full disk does.
  auto full = co_await error_of(fs::copy_file(d / "src", "/dev/full"));
  EXPECT_EQ(full.err, ENOSPC);
  EXPECT_EQ(full.what, "copy_file '" + d / "src" + "' -> '/dev/full': No space left on device");
}

AIO_TEST(fs_copy_file_test, cancellation_leaves_no_fd_and_removes_nothing) {
  temp_dir d;
  const std::string big = fs::test::pattern(64u << 20);
  co_await fs::write_file(d / "src", big);
  int baseline = fs::test::baseline_fd_count();
  int cancelled = 0;
  for (int k = 0; k < 8; ++k) {
    auto t = aio::create_task(fs::copy_file(d / "src", d / "dst"));
    for (int y = 0; y < k; ++y) co_await aio::sleep(0s);
    if (k > 4) co_await aio::sleep(std::chrono::milliseconds(k));  // mid-copy
    t.cancel();
    try {
      EXPECT_EQ(co_await t, big.size());
    } catch (const aio::cancelled_error&) {
      ++cancelled;
    }
    // Both files are closed before the cancelled call resumes.
    EXPECT_EQ(fs::test::open_fd_count(), baseline) << "after " << k << " yields";
    EXPECT_EQ((co_await fs::stat(d / "src")).size, big.size());
  }
  EXPECT_GT(cancelled, 0);
  auto names = co_await fs::listdir(d.path);
  EXPECT_LE(names.size(), 2u);  // src and possibly a partial dst, nothing else
  co_await fs::copy_file(d / "src", d / "dst");
  EXPECT_EQ(fs::test::checksum(co_await fs::read_file(d / "dst")), fs::test::checksum(big));
}
