// SPDX-License-Identifier: MIT
// remove_tree (shutil.rmtree): deep trees, symlinks never followed, errors,
// ignore_errors, cancellation.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>
#include <vector>

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

namespace {

aio::task<> make_tree(std::string root, int width) {
  co_await fs::makedirs(root + "/a/b/c/d", 0755, true);
  for (int i = 0; i < width; ++i) {
    co_await fs::write_file(root + "/f" + std::to_string(i), "x");
    co_await fs::write_file(root + "/a/b/g" + std::to_string(i), "y");
  }
  EXPECT_EQ(::mkfifo((root + "/a/fifo").c_str(), 0600), 0);
}

}  // namespace

AIO_TEST_SUITE(fs_remove_tree_test);

AIO_TEST(fs_remove_tree_test, removes_a_deep_tree_and_never_follows_symlinks) {
  temp_dir d;
  co_await fs::mkdir(d / "outside");
  co_await fs::write_file(d / "outside/keep", "precious");
  co_await make_tree(d / "tree", 20);
  co_await fs::symlink(d / "outside", d / "tree/a/to_outside");      // a link to a directory
  co_await fs::symlink(d / "outside/keep", d / "tree/a/b/to_keep");  // a link to a file
  co_await fs::symlink("nowhere", d / "tree/dangling");
  co_await fs::remove_tree(d / "tree");
  EXPECT_FALSE(co_await fs::exists(d / "tree"));
  EXPECT_EQ(co_await fs::read_file(d / "outside/keep"), "precious");
}

AIO_TEST(fs_remove_tree_test, an_empty_directory_and_trailing_slash) {
  temp_dir d;
  co_await fs::mkdir(d / "empty");
  co_await fs::remove_tree(d / "empty/");
  EXPECT_FALSE(co_await fs::exists(d / "empty"));
}

AIO_TEST(fs_remove_tree_test, errors_missing_file_and_symlink_to_a_directory) {
  temp_dir d;
  co_await fs::write_file(d / "file", "");
  co_await fs::mkdir(d / "dir");
  co_await fs::symlink("dir", d / "link");
  auto missing = co_await error_of(fs::remove_tree(d / "none"));
  EXPECT_EQ(missing.err, ENOENT);
  EXPECT_EQ(missing.what, "remove_tree '" + d / "none" + "': No such file or directory");
  auto file = co_await error_of(fs::remove_tree(d / "file"));
  EXPECT_EQ(file.err, ENOTDIR) << file.what;
  // shutil.rmtree refuses a symlink: the directory it points to survives.
  auto link = co_await error_of(fs::remove_tree(d / "link"));
  EXPECT_EQ(link.err, ENOTDIR) << link.what;
  EXPECT_TRUE((co_await fs::stat(d / "dir")).is_dir());
  EXPECT_TRUE((co_await fs::lstat(d / "link")).is_symlink());
  // A trailing slash would make the kernel follow the link: still refused.
  co_await fs::write_file(d / "dir/keep", "kept");
  const std::vector<std::string> slashed_links{d / "link/", d / "link//"};
  for (const std::string& slashed : slashed_links) {
    auto through = co_await error_of(fs::remove_tree(slashed));
    EXPECT_EQ(through.err, ENOTDIR) << through.what;
    EXPECT_EQ(through.what, "remove_tree '" + slashed + "': Not a directory");
  }
  EXPECT_EQ(co_await fs::read_file(d / "dir/keep"), "kept");
  EXPECT_TRUE((co_await fs::lstat(d / "link")).is_symlink());
  // "." and ".." cannot be removed by name (rmdir says EINVAL): nothing is emptied.
  auto dot = co_await error_of(fs::remove_tree(d / "link/."));
  EXPECT_EQ(dot.err, EINVAL) << dot.what;
  auto dotdot = co_await error_of(fs::remove_tree(d / "dir/.."));
  EXPECT_EQ(dotdot.err, EINVAL) << dotdot.what;
  EXPECT_EQ(co_await fs::read_file(d / "dir/keep"), "kept");
  // ignore_errors: nothing thrown, nothing else touched.
  co_await fs::remove_tree(d / "none", true);
  co_await fs::remove_tree(d / "link", true);
  EXPECT_TRUE((co_await fs::stat(d / "dir")).is_dir());
}

AIO_TEST(fs_remove_tree_test, an_entry_it_cannot_remove_is_named) {
  // /sys refuses root too: its directories cannot be removed by anyone.
  auto c = co_await error_of(fs::remove_tree("/sys/kernel/mm"));
  EXPECT_TRUE(c.err == EPERM || c.err == EACCES) << c.what;
  EXPECT_EQ(c.what.rfind("remove_tree '/sys/kernel/mm/", 0), 0u) << c.what;
  co_await fs::remove_tree("/sys/kernel/mm", true);  // ignore_errors: removes what it can (nothing)
  EXPECT_TRUE(co_await fs::exists("/sys/kernel/mm"));
}

AIO_TEST(fs_remove_tree_test, cancellation_stops_between_entries_and_leaves_no_fd) {
  temp_dir d;
  int baseline = fs::test::open_fd_count();
  int cancelled = 0;
  for (int k = 0; k < 6; ++k) {
    std::string root = d / ("t" + std::to_string(k));
    co_await make_tree(root, 300);
    auto t = aio::create_task(fs::remove_tree(root));
    for (int y = 0; y < k; ++y) co_await aio::sleep(0s);
    t.cancel();
    try {
      co_await t;
      EXPECT_FALSE(co_await fs::exists(root));
    } catch (const aio::cancelled_error&) {
      ++cancelled;
    }
    EXPECT_EQ(fs::test::open_fd_count(), baseline) << "after " << k << " yields";
    co_await fs::remove_tree(root, true);  // what is left goes, on a second call
    EXPECT_FALSE(co_await fs::exists(root));
  }
  EXPECT_GT(cancelled, 0);
}
