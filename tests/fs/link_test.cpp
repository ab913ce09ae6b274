// SPDX-License-Identifier: MIT
// link / symlink / readlink / chmod: success and each error, both backends.

#include "aio/fs/link.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>

#include "aio/core/create_task.hpp"
#include "aio/core/errors.hpp"
#include "aio/core/sleep.hpp"
#include "aio/fs/directory.hpp"
#include "aio/fs/read_file.hpp"
#include "aio/fs/stat.hpp"
#include "aio_test.hpp"
#include "fs_test_util.hpp"

namespace fs = aio::fs;
using fs::test::error_of;
using fs::test::temp_dir;
using namespace std::chrono_literals;

AIO_TEST_SUITE(fs_link_test);

AIO_TEST(fs_link_test, symlink_then_readlink_returns_the_text_as_stored) {
  temp_dir d;
  co_await fs::write_file(d / "target", "data");
  co_await fs::symlink("target", d / "rel");            // relative to the link's directory
  co_await fs::symlink(d / "missing", d / "dangling");  // the target need not exist
  EXPECT_EQ(co_await fs::readlink(d / "rel"), "target");
  EXPECT_EQ(co_await fs::readlink(d / "dangling"), d / "missing");
  EXPECT_TRUE((co_await fs::lstat(d / "rel")).is_symlink());
  EXPECT_EQ(co_await fs::read_file(d / "rel"), "data");
  EXPECT_FALSE(co_await fs::exists(d / "dangling"));
}

AIO_TEST(fs_link_test, readlink_of_a_long_target_grows_its_buffer) {
  temp_dir d;
  std::string target(3000, 'x');  // longer than one path component may be, fine for a link's text
  for (std::size_t i = 200; i < target.size(); i += 200) target[i] = '/';
  co_await fs::symlink(target, d / "long");
  EXPECT_EQ(co_await fs::readlink(d / "long"), target);
}

AIO_TEST(fs_link_test, link_makes_a_second_name_of_the_same_inode) {
  temp_dir d;
  co_await fs::write_file(d / "a", "shared");
  co_await fs::link(d / "a", d / "b");
  auto sa = co_await fs::stat(d / "a");
  auto sb = co_await fs::stat(d / "b");
  EXPECT_EQ(sa.ino, sb.ino);
  EXPECT_EQ(sa.nlink, 2u);
  co_await fs::remove(d / "a");
  EXPECT_EQ(co_await fs::read_file(d / "b"), "shared");
}

AIO_TEST(fs_link_test, link_follows_a_symlink_unless_told_not_to) {
  temp_dir d;
  co_await fs::write_file(d / "file", "x");
  co_await fs::symlink("file", d / "sym");
  co_await fs::link(d / "sym", d / "followed");
  co_await fs::link(d / "sym", d / "itself", false);
  EXPECT_TRUE((co_await fs::lstat(d / "followed")).is_file());
  EXPECT_TRUE((co_await fs::lstat(d / "itself")).is_symlink());
  EXPECT_EQ((co_await fs::stat(d / "followed")).ino, (co_await fs::stat(d / "file")).ino);
}

AIO_TEST(fs_link_test, symlink_onto_an_existing_name_names_both_paths) {
  temp_dir d;
  co_await fs::write_file(d / "b", "");
  auto c = co_await error_of(fs::symlink(d / "a", d / "b"));
  EXPECT_EQ(c.err, EEXIST);
  EXPECT_EQ(c.what, "symlink '" + d / "a" + "' -> '" + d / "b" + "': File exists");
}

AIO_TEST(fs_link_test, symlink_errors_missing_parent_and_not_a_directory) {
  temp_dir d;
  co_await fs::write_file(d / "file", "");
  auto missing = co_await error_of(fs::symlink("t", d / "no/such/link"));
  EXPECT_EQ(missing.err, ENOENT) << missing.what;
  auto notdir = co_await error_of(fs::symlink("t", d / "file/link"));
  EXPECT_EQ(notdir.err, ENOTDIR) << notdir.what;
}

AIO_TEST(fs_link_test, link_errors_exists_missing_directory_and_not_a_directory) {
  temp_dir d;
  co_await fs::write_file(d / "a", "");
  co_await fs::write_file(d / "b", "");
  co_await fs::mkdir(d / "dir");
  auto exists = co_await error_of(fs::link(d / "a", d / "b"));
  EXPECT_EQ(exists.err, EEXIST);
  EXPECT_EQ(exists.what, "link '" + d / "a" + "' -> '" + d / "b" + "': File exists");
  auto missing = co_await error_of(fs::link(d / "none", d / "c"));
  EXPECT_EQ(missing.err, ENOENT) << missing.what;
  auto dir = co_await error_of(fs::link(d / "dir", d / "dir2"));  // no hard links to directories
  EXPECT_EQ(dir.err, EPERM) << dir.what;
  auto notdir = co_await error_of(fs::link(d / "a/x", d / "c"));
  EXPECT_EQ(notdir.err, ENOTDIR) << notdir.what;
  // A dangling symlink has nothing to follow.
  co_await fs::symlink("none", d / "dangling");
  auto dangling = co_await error_of(fs::link(d / "dangling", d / "c"));
  EXPECT_EQ(dangling.err, ENOENT) << dangling.what;
}

AIO_TEST(fs_link_test, link_across_file_systems_is_exdev) {
  temp_dir d;
  co_await fs::write_file(d / "a", "");
  auto c = co_await error_of(fs::link(d / "a", "/proc/self/x"));
  EXPECT_TRUE(c.err == EXDEV || c.err == ENOENT) << c.what;  // /proc refuses either way
}

AIO_TEST(fs_link_test, readlink_errors_not_a_link_missing_loop_and_not_a_directory) {
  temp_dir d;
  co_await fs::write_file(d / "file", "");
  auto plain = co_await error_of(fs::readlink(d / "file"));
  EXPECT_EQ(plain.err, EINVAL);
  EXPECT_EQ(plain.what, "readlink '" + d / "file" + "': Invalid argument");
  auto missing = co_await error_of(fs::readlink(d / "none"));
  EXPECT_EQ(missing.err, ENOENT) << missing.what;
  auto notdir = co_await error_of(fs::readlink(d / "file/x"));
  EXPECT_EQ(notdir.err, ENOTDIR) << notdir.what;
  // A loop is still a link with a text; only resolving through it fails.
  co_await fs::symlink("loop2", d / "loop1");
  co_await fs::symlink("loop1", d / "loop2");
  EXPECT_EQ(co_await fs::readlink(d / "loop1"), "loop2");
  auto through = co_await error_of(fs::readlink(d / "loop1/x"));
  EXPECT_EQ(through.err, ELOOP) << through.what;
}

AIO_TEST(fs_link_test, chmod_sets_the_permission_bits_and_follows_symlinks) {
  temp_dir d;
  co_await fs::write_file(d / "f", "");
  co_await fs::symlink("f", d / "s");
  co_await fs::chmod(d / "s", 0640);
  EXPECT_EQ((co_await fs::stat(d / "f")).permissions(), 0640u);
  co_await fs::chmod(d / "f", 04755);
  EXPECT_EQ((co_await fs::stat(d / "f")).permissions(), 04755u);
  auto missing = co_await error_of(fs::chmod(d / "none", 0600));
  EXPECT_EQ(missing.err, ENOENT);
  EXPECT_EQ(missing.what, "chmod '" + d / "none" + "': No such file or directory");
  co_await fs::symlink("none", d / "dangling");
  auto dangling = co_await error_of(fs::chmod(d / "dangling", 0600));
  EXPECT_EQ(dangling.err, ENOENT) << dangling.what;
}

AIO_TEST(fs_link_test, cancellation_at_every_point_either_completes_or_leaves_a_consistent_state) {
  temp_dir d;
  co_await fs::write_file(d / "target", "x");
  int cancelled = 0;
  for (int k = 0; k < 4; ++k) {
    std::string sym = d / ("s" + std::to_string(k));
    std::string hard = d / ("h" + std::to_string(k));
    auto ts = aio::create_task(fs::symlink("target", sym));
    auto th = aio::create_task(fs::link(d / "target", hard));
    auto tr = aio::create_task(fs::readlink(d / "target"));  // not a link: EINVAL unless cancelled
    auto tc = aio::create_task(fs::chmod(d / "target", 0600 + k));
    for (int y = 0; y < k; ++y) co_await aio::sleep(0s);
    for (auto* t : {&ts, &th, &tc}) t->cancel();
    tr.cancel();
    // A call that completed made its link; a cancelled one may or may not
    // have (the kernel can finish it first): either way the name is whole.
    for (auto* t : {&ts, &th, &tc}) {
      try {
        co_await *t;
      } catch (const aio::cancelled_error&) {
        ++cancelled;
      }
    }
    try {
      co_await tr;
      ADD_FAILURE() << "readlink of a regular file succeeded";
    } catch (const aio::cancelled_error&) {
      ++cancelled;
    } catch (const std::system_error& e) {
      EXPECT_EQ(e.code().value(), EINVAL);
    }
    if (!ts.cancelled()) {
      std::string text = co_await fs::readlink(sym);
      EXPECT_EQ(text, "target");
    }
    if (!th.cancelled()) {
      auto st = co_await fs::stat(hard);
      EXPECT_EQ(st.nlink, 2u);
    }
    bool sym_there = co_await fs::exists(sym);
    if (sym_there) {
      std::string text = co_await fs::readlink(sym);
      EXPECT_EQ(text, "target");
    }
    bool hard_there = co_await fs::exists(hard);
    if (hard_there) co_await fs::remove(hard);
  }
  EXPECT_GT(cancelled, 0);
}
