// SPDX-License-Identifier: MIT
#include "aio/fs/directory.hpp"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "aio/fs/read_file.hpp"
#include "aio/fs/stat.hpp"
#include "aio_test.hpp"
#include "fs_test_util.hpp"

namespace fs = aio::fs;
using fs::test::temp_dir;

AIO_TEST_SUITE(fs_directory_test);

AIO_TEST(fs_directory_test, mkdir_listdir_rename_remove_rmdir) {
  temp_dir d;
  co_await fs::mkdir(d / "sub", 0750);
  EXPECT_TRUE((co_await fs::stat(d / "sub")).is_dir());
  co_await fs::write_file(d / "sub/a", "1");
  co_await fs::write_file(d / "sub/b", "22");
  auto names = co_await fs::listdir(d / "sub");
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"a", "b"}));

  co_await fs::rename(d / "sub/a", d / "sub/b");  // replaces b
  EXPECT_EQ(co_await fs::read_file(d / "sub/b"), "1");
  EXPECT_FALSE(co_await fs::exists(d / "sub/a"));

  bool threw = false;
  try {
    co_await fs::rmdir(d / "sub");
  } catch (const std::system_error& e) {
    threw = e.code().value() == ENOTEMPTY;
  }
  EXPECT_TRUE(threw);
  co_await fs::remove(d / "sub/b");
  co_await fs::rmdir(d / "sub");
  EXPECT_FALSE(co_await fs::exists(d / "sub"));
  EXPECT_TRUE((co_await fs::listdir(d.path)).empty());
}

AIO_TEST(fs_directory_test, a_failed_rename_names_both_paths) {
  temp_dir d;
  std::string what;
  try {
    co_await fs::rename(d / "missing", d / "target");
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), ENOENT);
    what = e.what();
  }
  EXPECT_EQ(what, "rename '" + d / "missing" + "' -> '" + d / "target" +
                      "': No such file or directory");
}

AIO_TEST(fs_directory_test, mkdir_of_an_existing_directory_throws_eexist) {
  temp_dir d;
  bool threw = false;
  try {
    co_await fs::mkdir(d.path);
  } catch (const std::system_error& e) {
    threw = e.code().value() == EEXIST &&
            std::string(e.what()).find("mkdir '" + d.path.string() + "'") != std::string::npos;
  }
  EXPECT_TRUE(threw);
}

AIO_TEST(fs_directory_test, makedirs_creates_parents_and_honours_exist_ok) {
  temp_dir d;
  co_await fs::makedirs(d / "a/b/c/");
  EXPECT_TRUE((co_await fs::stat(d / "a/b/c")).is_dir());
  co_await fs::makedirs(d / "a/b/c", 0777, true);
  bool threw = false;
  try {
    co_await fs::makedirs(d / "a/b");
  } catch (const std::system_error& e) {
    threw = e.code().value() == EEXIST;
  }
  EXPECT_TRUE(threw);
  co_await fs::write_file(d / "a/file", "x");
  threw = false;
  try {
    co_await fs::makedirs(d / "a/file", 0777, true);  // exist_ok, but not a directory
  } catch (const std::system_error& e) {
    threw = e.code().value() == EEXIST;
  }
  EXPECT_TRUE(threw);
  threw = false;
  try {
    co_await fs::makedirs(d / "a/file/deeper");
  } catch (const std::system_error& e) {
    threw = e.code().value() == ENOTDIR;
  }
  EXPECT_TRUE(threw);
}

AIO_TEST(fs_directory_test, stat_lstat_and_exists_on_symlinks) {
  temp_dir d;
  co_await fs::write_file(d / "target", "12345");
  std::filesystem::create_symlink(d / "target", d / "link");
  std::filesystem::create_symlink(d / "nowhere", d / "dangling");
  auto st = co_await fs::stat(d / "link");
  EXPECT_TRUE(st.is_file());
  EXPECT_EQ(st.size, 5u);
  EXPECT_TRUE((co_await fs::lstat(d / "link")).is_symlink());
  EXPECT_TRUE(co_await fs::exists(d / "link"));
  EXPECT_FALSE(co_await fs::exists(d / "dangling"));  // as os.path.exists
  EXPECT_TRUE((co_await fs::lstat(d / "dangling")).is_symlink());
  EXPECT_FALSE(co_await fs::exists(d / "target/child"));  // ENOTDIR: false
  bool threw = false;
  try {
    co_await fs::stat(d / "nowhere");
  } catch (const std::system_error& e) {
    threw = e.code().value() == ENOENT && std::string(e.what()).find("stat '") == 0;
  }
  EXPECT_TRUE(threw);
}

AIO_TEST(fs_directory_test, whole_file_helpers) {
  temp_dir d;
  co_await fs::write_file(d / "f", "abc");
  co_await fs::append_file(d / "f", "def");
  co_await fs::append_file(d / "new", "created");
  EXPECT_EQ(co_await fs::read_file(d / "f"), "abcdef");
  EXPECT_EQ(co_await fs::read_file(d / "new"), "created");
  co_await fs::write_file(d / "f", "");
  EXPECT_EQ(co_await fs::read_file(d / "f"), "");
  EXPECT_EQ(co_await fs::read_file("/proc/self/comm"), std::string("fs_tests\n"));  // size 0 in stat
}

AIO_TEST(fs_directory_test, write_file_atomic_replaces_and_keeps_permissions) {
  temp_dir d;
  std::string path = d / "conf";
  co_await fs::write_file_atomic(path, "v1");
  EXPECT_EQ(co_await fs::read_file(path), "v1");
  ::chmod(path.c_str(), 0604);
  auto ino = (co_await fs::stat(path)).ino;
  co_await fs::write_file_atomic(path, "version two");
  auto st = co_await fs::stat(path);
  EXPECT_EQ(co_await fs::read_file(path), "version two");
  EXPECT_EQ(st.permissions(), 0604u);
  EXPECT_NE(st.ino, ino);  // a new file renamed over the old one
  EXPECT_EQ(co_await fs::listdir(d.path), std::vector<std::string>(1, "conf"));
  bool threw = false;
  try {
    co_await fs::write_file_atomic(d / "missing-dir/conf", "x");
  } catch (const std::system_error& e) {
    threw = e.code().value() == ENOENT;
  }
  EXPECT_TRUE(threw);
}
