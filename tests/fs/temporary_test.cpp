// SPDX-License-Identifier: MIT
// mkdtemp / mkstemp and the owners that clean up: names, modes, removal
// awaited or by the destructor (off the loop), errors, and cancellation that
// leaves nothing behind.

#include "aio/fs/temporary.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "aio/core/create_task.hpp"
#include "aio/core/errors.hpp"
#include "aio/core/sleep.hpp"
#include "aio/fs/directory.hpp"
#include "aio/fs/read_file.hpp"
#include "aio/fs/stat.hpp"
#include "aio/net/subprocess.hpp"
#include "aio_test.hpp"
#include "fs_test_util.hpp"

namespace fs = aio::fs;
using fs::test::error_of;
using fs::test::temp_dir;
using namespace std::chrono_literals;

namespace {

// The destructors remove on the pool: wait until `path` is gone (or give up).
aio::task<bool> gone_soon(std::filesystem::path path) {
  for (int i = 0; i < 2000; ++i) {
    bool there = co_await fs::exists(path);
    if (!there) co_return true;
    co_await aio::sleep(1ms);
  }
  co_return false;
}

aio::task<std::size_t> settled_entries(std::filesystem::path dir) {
  std::size_t n = (co_await fs::listdir(dir)).size();
  for (int i = 0; i < 2000 && n != 0; ++i) {
    co_await aio::sleep(1ms);
    n = (co_await fs::listdir(dir)).size();
  }
  co_return n;
}

}  // namespace

AIO_TEST_SUITE(fs_temporary_test);

AIO_TEST(fs_temporary_test, mkdtemp_and_mkstemp_make_unique_private_names) {
  temp_dir d;
  std::set<std::string> names;
  for (int i = 0; i < 20; ++i) {
    auto p = co_await fs::mkdtemp("job-", ".d", d.path);
    EXPECT_EQ(p.parent_path(), d.path);
    std::string name = p.filename().string();
    EXPECT_EQ(name.size(), 4u + 8u + 2u) << name;
    EXPECT_EQ(name.rfind("job-", 0), 0u);
    EXPECT_EQ(name.substr(name.size() - 2), ".d");
    auto st = co_await fs::lstat(p);
    EXPECT_TRUE(st.is_dir());
    EXPECT_EQ(st.permissions(), 0700u);
    names.insert(name);
  }
  EXPECT_EQ(names.size(), 20u);
  auto f = co_await fs::mkstemp("data", ".bin", d.path);
  EXPECT_TRUE(f.is_open());
  EXPECT_EQ(std::filesystem::path(f.name()).parent_path(), d.path);
  EXPECT_EQ((co_await f.stat()).permissions(), 0600u);
  co_await f.write("abc");
  co_await f.seek(0);
  EXPECT_EQ(co_await f.read(), "abc");  // "w+b"
  co_await f.close();
}

AIO_TEST(fs_temporary_test, the_default_directory_is_the_system_temporary_directory) {
  auto t = co_await fs::make_temporary_directory();
  EXPECT_EQ(t.path().parent_path(), std::filesystem::temp_directory_path());
  EXPECT_EQ(t.path().filename().string().rfind("tmp", 0), 0u);
  co_await t.remove();
}

AIO_TEST(fs_temporary_test, temporary_directory_removes_its_tree_when_awaited) {
  temp_dir d;
  auto t = co_await fs::make_temporary_directory("work-", "", d.path);
  std::filesystem::path p = t.path();
  co_await fs::makedirs(p / "a/b/c");
  co_await fs::write_file(p / "a/b/c/file", "x");
  co_await fs::write_file(p / "top", "y");
  // Entries its owner may not write to are made writable first, as Python does.
  co_await fs::chmod(p / "a/b", 0500);
  co_await t.remove();
  EXPECT_TRUE(t.path().empty());
  EXPECT_FALSE(co_await fs::exists(p));
  co_await t.remove();  // idempotent
}

AIO_TEST(fs_temporary_test, temporary_directory_destructor_removes_off_the_loop) {
  temp_dir d;
  std::filesystem::path p;
  {
    auto t = co_await fs::make_temporary_directory("gone-", "", d.path);
    p = t.path();
    co_await fs::write_file(p / "f", "x");
    co_await fs::mkdir(p / "sub");
  }
  EXPECT_TRUE(co_await gone_soon(p));
  // Moves hand the ownership on; assignment removes what was owned before.
  auto a = co_await fs::make_temporary_directory("a-", "", d.path);
  auto b = co_await fs::make_temporary_directory("b-", "", d.path);
  std::filesystem::path pa = a.path(), pb = b.path();
  a = std::move(b);
  EXPECT_EQ(a.path(), pb);
  EXPECT_TRUE(co_await gone_soon(pa));
  std::filesystem::path kept = a.release();
  EXPECT_TRUE(a.path().empty());
  EXPECT_TRUE((co_await fs::stat(kept)).is_dir());
}

AIO_TEST(fs_temporary_test, temporary_file_removes_its_name_and_closes) {
  temp_dir d;
  int baseline = fs::test::open_fd_count();
  auto t = co_await fs::make_temporary_file("log-", ".txt", d.path);
  std::filesystem::path p = t.path();
  EXPECT_EQ(t.file().name(), p.string());
  co_await t.file().write("hello");
  co_await t.file().flush();  // write-behind: another reader sees it once flushed (as in Python)
  EXPECT_EQ(co_await fs::read_file(p), "hello");
  co_await t.remove();
  EXPECT_FALSE(co_await fs::exists(p));
  EXPECT_FALSE(t.file().is_open());
  EXPECT_EQ(fs::test::open_fd_count(), baseline);
  {
    auto dropped = co_await fs::make_temporary_file("x-", "", d.path);
    p = dropped.path();
  }
  EXPECT_TRUE(co_await gone_soon(p));
  auto kept = co_await fs::make_temporary_file("k-", "", d.path);
  p = kept.path();
  fs::file f = kept.release();
  EXPECT_TRUE(f.is_open());
  co_await f.close();
  EXPECT_TRUE(co_await fs::exists(p));
  co_await fs::remove(p);
}

AIO_TEST(fs_temporary_test, errors_missing_directory_and_not_a_directory) {
  temp_dir d;
  co_await fs::write_file(d / "file", "");
  auto missing = co_await error_of(fs::mkdtemp("p", "", d / "none"));
  EXPECT_EQ(missing.err, ENOENT);
  EXPECT_EQ(missing.what, "mkdtemp '" + d / "none/pXXXXXXXX" + "': No such file or directory");
  auto notdir = co_await error_of(fs::mkstemp("p", ".s", d / "file"));
  EXPECT_EQ(notdir.err, ENOTDIR);
  EXPECT_EQ(notdir.what, "mkstemp '" + d / "file/pXXXXXXXX.s" + "': Not a directory");
  auto owned = co_await error_of(fs::make_temporary_file("p", "", d / "none"));
  EXPECT_EQ(owned.err, ENOENT) << owned.what;
  auto dir = co_await error_of(fs::make_temporary_directory("p", "", d / "file"));
  EXPECT_EQ(dir.err, ENOTDIR) << dir.what;
}

AIO_TEST(fs_temporary_test, a_failed_remove_keeps_ownership_for_the_destructor) {
  temp_dir d;
  std::filesystem::path p;
  {
    auto t = co_await fs::make_temporary_directory("x-", "", d.path);
    p = t.path();
    co_await fs::rmdir(p);  // someone removed it already
    auto c = co_await error_of(t.remove());
    EXPECT_EQ(c.err, ENOENT);
    EXPECT_EQ(c.what, "remove_tree '" + p.string() + "': No such file or directory");
    EXPECT_EQ(t.path(), p);
    co_await fs::mkdir(p);  // and made again: the destructor still owns the name
  }
  EXPECT_TRUE(co_await gone_soon(p));
}

AIO_TEST(fs_temporary_test, cancellation_at_every_point_leaves_no_temporary_and_no_fd) {
  temp_dir d;
  int baseline = fs::test::open_fd_count();
  int cancelled = 0;
  for (int k = 0; k < 10; ++k) {
    // A handle's result is copied, and the owners are move-only: each task
    // holds its own (made anyway: owned, removed by its destructor).
    auto td = aio::create_task([](std::filesystem::path dir) -> aio::task<> {
      auto t = co_await fs::make_temporary_directory("c-", "", dir);
    }(d.path));
    auto tf = aio::create_task([](std::filesystem::path dir) -> aio::task<> {
      auto t = co_await fs::make_temporary_file("c-", "", dir);
    }(d.path));
    auto raw = aio::create_task([](std::filesystem::path dir) -> aio::task<> {
      auto t = co_await fs::make_temporary_directory("r-", "", dir);
      co_await fs::write_file(t.path() / "f", "data");
      co_await t.remove();
    }(d.path));
    for (int y = 0; y < k; ++y) co_await aio::sleep(0s);
    td.cancel();
    tf.cancel();
    raw.cancel();
    try {
      co_await td;
    } catch (const aio::cancelled_error&) {
      ++cancelled;
    }
    try {
      co_await tf;
    } catch (const aio::cancelled_error&) {
      ++cancelled;
    }
    try {
      co_await raw;
    } catch (const aio::cancelled_error&) {
      ++cancelled;
    }
    EXPECT_EQ(co_await settled_entries(d.path), 0u) << "after " << k << " yields";
    int n = co_await fs::test::settled_fd_count(baseline);
    EXPECT_EQ(n, baseline) << "after " << k << " yields";
  }
  EXPECT_GT(cancelled, 0);
}

AIO_TEST(fs_temporary_test, a_temporary_dropped_just_before_exit_is_still_removed) {
  constexpr const char* child_env = "AIO_FS_TEST_EXIT_DIR";
  if (const char* dir = std::getenv(child_env)) {
    // The child: a tree whose removal takes a while, dropped, then exit at once.
    {
      auto t = co_await fs::make_temporary_directory("exit-", "", dir);
      co_await fs::mkdir(t.path() / "sub");
      for (int i = 0; i < 3000; ++i)
        ::close(::open((t.path() / "sub" / std::to_string(i)).c_str(), O_CREAT | O_WRONLY, 0600));
      auto f = co_await fs::make_temporary_file("exit-", "", dir);
    }
    std::exit(0);
  }
  temp_dir d;
  fs::test::child_result child = co_await fs::test::run_self_as_child(
      child_env, d.path.string(), "a_temporary_dropped_just_before_exit_is_still_removed");
  EXPECT_EQ(child.status, 0) << child.out;
  EXPECT_TRUE((co_await fs::listdir(d.path)).empty()) << child.out;
}
