// SPDX-License-Identifier: MIT
// scandir and scandir_iterator: types from d_type (and the lstat fallback),
// symlink following as os.DirEntry, stat, errors, 10,000 entries, batches,
// cancellation.

#include "aio/fs/scandir.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "../../src/fs/scandir_impl.hpp"
#include "aio/core/create_task.hpp"
#include "aio/core/errors.hpp"
#include "aio/core/sleep.hpp"
#include "aio/fs/directory.hpp"
#include "aio/fs/link.hpp"
#include "aio/fs/read_file.hpp"
#include "aio_test.hpp"
#include "fs_test_util.hpp"

namespace fs = aio::fs;
using fs::test::error_of;
using fs::test::temp_dir;
using std::filesystem::file_type;
using namespace std::chrono_literals;

namespace {

// file, dir, fifo, a link to each, a dangling link, a loop, a link to a link.
aio::task<> populate(const temp_dir& d) {
  co_await fs::write_file(d / "file", "12345");
  co_await fs::mkdir(d / "dir");
  EXPECT_EQ(::mkfifo((d / "fifo").c_str(), 0600), 0);
  co_await fs::symlink("file", d / "to_file");
  co_await fs::symlink("dir", d / "to_dir");
  co_await fs::symlink("none", d / "dangling");
  co_await fs::symlink("loop_b", d / "loop_a");
  co_await fs::symlink("loop_a", d / "loop_b");
  co_await fs::symlink("to_dir", d / "to_to_dir");
}

// f0 … f<n-1>, made synchronously (the setup, not what is tested).
void make_empty_files(const temp_dir& d, int n) {
  for (int i = 0; i < n; ++i) {
    int fd = ::open((d / ("f" + std::to_string(i))).c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    ::close(fd);
  }
}

std::map<std::string, fs::dir_entry> by_name(std::vector<fs::dir_entry> v) {
  std::map<std::string, fs::dir_entry> m;
  for (auto& e : v) m.emplace(std::string(e.name()), std::move(e));
  return m;
}

}  // namespace

AIO_TEST_SUITE(fs_scandir_test);

AIO_TEST(fs_scandir_test, types_and_symlink_following_like_os_dir_entry) {
  temp_dir d;
  co_await populate(d);
  auto m = by_name(co_await fs::scandir(d.path));
  CO_ASSERT_EQ(m.size(), 9u);
  EXPECT_EQ(m.count("."), 0u);
  const auto& file = m.at("file");
  EXPECT_EQ(file.path(), d / "file");
  EXPECT_TRUE(file.is_file());
  EXPECT_FALSE(file.is_dir());
  EXPECT_FALSE(file.is_symlink());
  EXPECT_FALSE(file.has_stat());
  EXPECT_TRUE(m.at("dir").is_dir());
  EXPECT_EQ(m.at("fifo").type(), file_type::fifo);
  EXPECT_TRUE(m.at("to_file").is_symlink());
  EXPECT_TRUE(m.at("to_file").is_file());
  EXPECT_FALSE(m.at("to_file").is_file(false));
  EXPECT_EQ(m.at("to_file").type(false), file_type::symlink);
  EXPECT_TRUE(m.at("to_dir").is_dir());
  EXPECT_FALSE(m.at("to_dir").is_dir(false));
  EXPECT_TRUE(m.at("to_to_dir").is_dir());  // a chain resolves to its end
  for (const char* broken : {"dangling", "loop_a", "loop_b"}) {
    const auto& e = m.at(broken);
    EXPECT_TRUE(e.is_symlink()) << broken;
    EXPECT_FALSE(e.is_dir()) << broken;
    EXPECT_FALSE(e.is_file()) << broken;
    EXPECT_EQ(e.type(), file_type::not_found) << broken;
  }
  struct ::stat st {};
  ::stat((d / "file").c_str(), &st);
  EXPECT_EQ(file.inode(), st.st_ino);
}

AIO_TEST(fs_scandir_test, with_stat_answers_stat_and_lstat_and_raises_for_dangling_links) {
  temp_dir d;
  co_await populate(d);
  fs::scandir_options o;
  o.stat = true;
  auto m = by_name(co_await fs::scandir(d.path, o));
  const auto& file = m.at("file");
  CO_ASSERT_TRUE(file.has_stat());
  EXPECT_EQ(file.stat().size, 5u);
  EXPECT_TRUE(file.stat(false).is_file());
  EXPECT_EQ(m.at("to_file").stat().size, 5u);  // the target
  EXPECT_TRUE(m.at("to_file").stat(false).is_symlink());
  EXPECT_TRUE(m.at("to_dir").stat().is_dir());
  EXPECT_TRUE(m.at("dangling").stat(false).is_symlink());
  bool threw = false;
  try {
    (void)m.at("dangling").stat();
  } catch (const std::system_error& e) {
    threw = e.code().value() == ENOENT &&
            std::string(e.what()).find(d / "dangling") != std::string::npos;
  }
  EXPECT_TRUE(threw);
  threw = false;
  try {
    (void)m.at("loop_a").stat();
  } catch (const std::system_error& e) {
    threw = e.code().value() == ELOOP;
  }
  EXPECT_TRUE(threw);
  // Without the option, stat() is a usage error, not an I/O one.
  auto plain = co_await fs::scandir(d.path);
  EXPECT_THROW((void)plain.front().stat(), std::logic_error);
}

AIO_TEST(fs_scandir_test, dt_unknown_falls_back_to_lstat) {
  temp_dir d;
  co_await populate(d);
  // ext4 and tmpfs always fill d_type: hand the entry maker DT_UNKNOWN, as
  // some file systems (older XFS, some network ones) do.
  int dirfd = ::open(d.path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  CO_ASSERT_TRUE(dirfd >= 0);
  std::string dir = d.path.string();
  auto file = fs::detail::make_entry(dirfd, dir, "file", DT_UNKNOWN, 1, false);
  auto sub = fs::detail::make_entry(dirfd, dir, "dir", DT_UNKNOWN, 2, false);
  auto link = fs::detail::make_entry(dirfd, dir, "to_dir", DT_UNKNOWN, 3, false);
  auto dangling = fs::detail::make_entry(dirfd, dir, "dangling", DT_UNKNOWN, 4, false);
  auto gone = fs::detail::make_entry(dirfd, dir, "vanished", DT_UNKNOWN, 5, true);
  ::close(dirfd);
  EXPECT_TRUE(file.is_file());
  EXPECT_TRUE(sub.is_dir());
  EXPECT_TRUE(link.is_symlink());
  EXPECT_TRUE(link.is_dir());
  EXPECT_EQ(dangling.type(), file_type::not_found);
  // Removed between readdir and the lstat: typed unknown, stat() raises.
  EXPECT_EQ(gone.type(), file_type::unknown);
  EXPECT_FALSE(gone.is_file());
  EXPECT_THROW((void)gone.stat(false), std::system_error);
  EXPECT_EQ(gone.path(), d / "vanished");
  EXPECT_EQ(gone.name(), "vanished");
}

AIO_TEST(fs_scandir_test, socket_and_character_device_types) {
  temp_dir d;
  int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::string sp = d / "sock";
  sp.copy(a.sun_path, sizeof a.sun_path - 1);
  EXPECT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ::close(s);
  auto m = by_name(co_await fs::scandir(d.path));
  EXPECT_EQ(m.at("sock").type(), file_type::socket);
  auto dev = by_name(co_await fs::scandir("/dev"));
  EXPECT_EQ(dev.at("null").type(), file_type::character);
}

AIO_TEST(fs_scandir_test, errors_missing_not_a_directory_dangling_and_loop) {
  temp_dir d;
  co_await populate(d);
  auto missing = co_await error_of(fs::scandir(d / "none"));
  EXPECT_EQ(missing.err, ENOENT);
  EXPECT_EQ(missing.what, "scandir '" + d / "none" + "': No such file or directory");
  auto file = co_await error_of(fs::scandir(d / "file"));
  EXPECT_EQ(file.err, ENOTDIR) << file.what;
  auto dangling = co_await error_of(fs::scandir(d / "dangling"));
  EXPECT_EQ(dangling.err, ENOENT) << dangling.what;
  auto loop = co_await error_of(fs::scandir(d / "loop_a"));
  EXPECT_EQ(loop.err, ELOOP) << loop.what;
  auto opened = co_await error_of(fs::open_scandir(d / "file"));
  EXPECT_EQ(opened.err, ENOTDIR) << opened.what;
  // Through a symlink to a directory it lists the directory.
  co_await fs::write_file(d / "dir/inner", "");
  auto via = co_await fs::scandir(d / "to_dir");
  CO_ASSERT_EQ(via.size(), 1u);
  EXPECT_EQ(via[0].path(), d / "to_dir/inner");
}

AIO_TEST(fs_scandir_test, ten_thousand_entries_in_one_call_and_in_batches) {
  temp_dir d;
  constexpr int n = 10000;
  make_empty_files(d, n);
  for (int i = 0; i < 10; ++i) ::mkdir((d / ("d" + std::to_string(i))).c_str(), 0700);
  auto all = co_await fs::scandir(d.path);
  CO_ASSERT_EQ(all.size(), static_cast<std::size_t>(n + 10));
  std::set<std::string> names;
  int dirs = 0;
  for (const auto& e : all) {
    names.emplace(e.name());
    dirs += e.is_dir();
  }
  EXPECT_EQ(names.size(), all.size());
  EXPECT_EQ(dirs, 10);

  fs::scandir_options o;
  o.batch_size = 999;
  auto it = co_await fs::open_scandir(d.path, o);
  std::set<std::string> streamed;
  std::size_t largest = 0;
  for (;;) {
    auto batch = co_await it.next();
    if (batch.empty()) break;
    largest = std::max(largest, batch.size());
    for (const auto& e : batch) streamed.emplace(e.name());
  }
  EXPECT_EQ(streamed, names);
  EXPECT_EQ(largest, 999u);
  EXPECT_FALSE(it.is_open());
  EXPECT_TRUE((co_await it.next()).empty());  // stays exhausted
}

AIO_TEST(fs_scandir_test, iterator_close_and_destruction_release_the_directory) {
  temp_dir d;
  for (int i = 0; i < 50; ++i) co_await fs::write_file(d / ("f" + std::to_string(i)), "");
  int baseline = fs::test::open_fd_count();
  fs::scandir_options o;
  o.batch_size = 10;
  {
    auto it = co_await fs::open_scandir(d.path, o);
    EXPECT_EQ(fs::test::open_fd_count(), baseline + 1);
    EXPECT_EQ((co_await it.next()).size(), 10u);
    co_await it.close();
    EXPECT_EQ(fs::test::open_fd_count(), baseline);
    co_await it.close();  // idempotent
    EXPECT_TRUE((co_await it.next()).empty());
    auto dropped = co_await fs::open_scandir(d.path, o);
    EXPECT_EQ((co_await dropped.next()).size(), 10u);
  }  // the destructor closes it on the pool
  int n = co_await fs::test::settled_fd_count(baseline);
  EXPECT_EQ(n, baseline);
  fs::scandir_options zero;
  zero.batch_size = 0;
  EXPECT_THROW((void)fs::open_scandir(d.path, zero), std::invalid_argument);
}

AIO_TEST(fs_scandir_test, a_cancelled_next_loses_no_entry) {
  temp_dir d;
  constexpr int n = 3000;
  make_empty_files(d, n);
  fs::scandir_options o;
  o.batch_size = 64;
  o.stat = true;  // slower batches: cancels land while one runs
  auto it = co_await fs::open_scandir(d.path, o);
  std::multiset<std::string> seen;
  int cancelled = 0;
  for (int k = 0; it.is_open(); k = (k + 1) % 4) {
    // The entries are used right after the await, before the cancel lands
    // at the next suspension point (a task cancelled as it returns ends
    // cancelled and drops its result, as in asyncio).
    auto t = aio::create_task(
        [](fs::scandir_iterator& i, std::multiset<std::string>& out) -> aio::task<> {
          std::vector<fs::dir_entry> batch = co_await i.next();
          for (const auto& e : batch) out.emplace(e.name());
          co_await aio::sleep(0s);
        }(it, seen));
    for (int y = 0; y < k; ++y) co_await aio::sleep(0s);
    t.cancel();
    try {
      co_await t;
    } catch (const aio::cancelled_error&) {
      ++cancelled;
    }
  }
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(n));
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), static_cast<std::size_t>(n));
  EXPECT_GT(cancelled, 0);
}

AIO_TEST(fs_scandir_test, cancelling_a_whole_scandir_leaves_no_fd) {
  temp_dir d;
  make_empty_files(d, 2000);
  int baseline = fs::test::open_fd_count();
  int cancelled = 0;
  for (int k = 0; k < 6; ++k) {
    fs::scandir_options o;
    o.stat = true;
    auto t = aio::create_task(fs::scandir(d.path, o));
    for (int y = 0; y < k; ++y) co_await aio::sleep(0s);
    t.cancel();
    try {
      EXPECT_EQ((co_await t).size(), 2000u);
    } catch (const aio::cancelled_error&) {
      ++cancelled;
    }
    EXPECT_EQ(fs::test::open_fd_count(), baseline)
        << "after " << k << " yields";  // closed before the resume
  }
  EXPECT_GT(cancelled, 0);
}
