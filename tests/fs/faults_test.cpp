// SPDX-License-Identifier: MIT
// Faults a disk really produces: a full device (ENOSPC) and a read-only file
// system (EROFS). /dev/full fails every write for every user; the full tmpfs
// and the read-only one are mounted by a child process in its own mount
// namespace (as root, or as anyone where user namespaces are allowed) and
// reached through /proc/<child>/root, so nothing is mounted in the test's
// own namespace and the mounts vanish with the child.

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "aio/fs/directory.hpp"
#include "aio/fs/file.hpp"
#include "aio/fs/read_file.hpp"
#include "aio_test.hpp"
#include "fs_test_util.hpp"

namespace fs = aio::fs;
using fs::test::caught;
using fs::test::error_of;
using fs::test::temp_dir;

namespace {

constexpr std::size_t tmpfs_size = 64 * 1024;

// Writes all of `s` to fd in the child: only system calls there (the parent has threads).
void put(int fd, const char* s) noexcept {
  for (std::size_t left = std::strlen(s); left > 0;) {
    ssize_t n = ::write(fd, s, left);
    if (n <= 0) return;
    s += n;
    left -= static_cast<std::size_t>(n);
  }
}

// A child holding a private mount namespace with two tmpfs of 64 KiB under
// `base`: full/ (empty, to fill) and ro/ (read-only, holding "existing" with
// the bytes "old"). `error` says why, when they could not be made.
class private_mounts {
 public:
  explicit private_mounts(const std::filesystem::path& base)
      : full_dir_((base / "full").string()), ro_dir_((base / "ro").string()) {
    std::filesystem::create_directory(full_dir_);
    std::filesystem::create_directory(ro_dir_);
    const std::string existing = ro_dir_ + "/existing";
    const std::string uid_map = "0 " + std::to_string(::getuid()) + " 1";
    const std::string gid_map = "0 " + std::to_string(::getgid()) + " 1";
    const bool root = ::geteuid() == 0;
    int ready[2], hold[2];
    if (::pipe2(ready, O_CLOEXEC) < 0 || ::pipe2(hold, O_CLOEXEC) < 0) throw std::runtime_error("pipe2");
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork");
    if (pid_ == 0) {
      ::close(ready[0]);
      ::close(hold[1]);
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      auto step = [&](bool ok, const char* what) {
        if (ok) return;
        put(ready[1], what);
        put(ready[1], ": ");
        put(ready[1], std::strerror(errno));
        ::_exit(1);
      };
      if (root) {
        step(::unshare(CLONE_NEWNS) == 0, "unshare(CLONE_NEWNS)");
      } else {
        // Unprivileged: a user namespace of our own makes us root for mounts.
        step(::unshare(CLONE_NEWUSER | CLONE_NEWNS) == 0, "unshare(CLONE_NEWUSER|CLONE_NEWNS)");
        for (auto [file, text] : {std::pair{"/proc/self/setgroups", "deny"}, std::pair{"/proc/self/uid_map", uid_map.c_str()},
                                  std::pair{"/proc/self/gid_map", gid_map.c_str()}}) {
          int fd = ::open(file, O_WRONLY | O_CLOEXEC);
          step(fd >= 0, file);
          put(fd, text);
          ::close(fd);
        }
      }
      step(::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0, "mount --make-rprivate /");
      step(::mount("tmpfs", full_dir_.c_str(), "tmpfs", 0, "size=64k") == 0, "mount tmpfs (full)");
      step(::mount("tmpfs", ro_dir_.c_str(), "tmpfs", 0, "size=64k") == 0, "mount tmpfs (ro)");
      int fd = ::open(existing.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
      step(fd >= 0 && ::write(fd, "old", 3) == 3 && ::close(fd) == 0, "write ro/existing");
      step(::mount(nullptr, ro_dir_.c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr) == 0, "remount ro");
      put(ready[1], "ok");
      char c;
      while (::read(hold[0], &c, 1) != 0) {  // until the parent closes its end (or dies)
      }
      ::_exit(0);
    }
    ::close(ready[1]);
    ::close(hold[0]);
    hold_ = hold[1];
    std::string answer;
    char buf[256];
    for (ssize_t n; (n = ::read(ready[0], buf, sizeof buf)) > 0;) {
      answer.append(buf, static_cast<std::size_t>(n));
      if (answer == "ok") break;
    }
    ::close(ready[0]);
    if (answer != "ok") error = "cannot mount a scratch tmpfs here (" + answer + ")";
  }
  ~private_mounts() {
    ::close(hold_);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  private_mounts(const private_mounts&) = delete;

  std::string root() const { return "/proc/" + std::to_string(pid_) + "/root"; }
  /// The 64 KiB tmpfs to fill, as this process reaches it.
  std::string full() const { return root() + full_dir_; }
  /// The read-only tmpfs.
  std::string ro() const { return root() + ro_dir_; }

  std::string error;

 private:
  std::string full_dir_, ro_dir_;
  pid_t pid_ = -1;
  int hold_ = -1;
};

}  // namespace

AIO_TEST_SUITE(fs_faults_test);

AIO_TEST(fs_faults_test, dev_full_fails_every_write_with_enospc_naming_the_path) {
  const int fds = fs::test::baseline_fd_count();
  auto f = co_await fs::open("/dev/full", "w");
  caught c = co_await error_of(f.write("a few bytes"));
  EXPECT_EQ(c.err, ENOSPC);
  EXPECT_EQ(c.what, "write '/dev/full': No space left on device");
  EXPECT_EQ(f.tell(), 0u);  // nothing was written, and nothing is claimed
  co_await f.close();

  const std::string big = fs::test::pattern(1u << 20);
  c = co_await error_of(fs::write_file("/dev/full", big));
  EXPECT_EQ(c.err, ENOSPC);
  EXPECT_EQ(c.what, "write '/dev/full': No space left on device");
  c = co_await error_of(fs::append_file("/dev/full", big));
  EXPECT_EQ(c.err, ENOSPC);
  // The helpers closed their fd before throwing: none is left for later.
  EXPECT_EQ(fs::test::open_fd_count(), fds);
}

AIO_TEST(fs_faults_test, a_full_file_system_reports_the_short_write_then_enospc) {
  temp_dir d;
  private_mounts m(d.path);
  if (!m.error.empty()) {
    ADD_FAILURE() << m.error;  // root (CI) or user namespaces are needed: say so, never pass quietly
    co_return;
  }
  const int fds = fs::test::baseline_fd_count();
  const std::string path = m.full() + "/big";
  const std::string data = fs::test::pattern(4 * tmpfs_size, 5);
  auto f = co_await fs::open(path, "w");
  // Write-behind: the write is queued (it returns at once); its error comes
  // with the next call of the file.
  EXPECT_EQ(co_await f.write(data), data.size());
  caught c = co_await error_of(f.flush());
  EXPECT_EQ(c.err, ENOSPC);
  EXPECT_EQ(c.what, "write '" + path + "': No space left on device");
  EXPECT_EQ((co_await error_of(f.flush())).what, "no error");  // reported once
  // The kernel first wrote what fit (a short write), which was continued; the
  // next write failed. The position says how much is in the file, and it is
  // the data's prefix.
  const std::uint64_t written = f.tell();
  EXPECT_GT(written, 0u);
  EXPECT_LE(written, tmpfs_size);
  EXPECT_EQ((co_await f.stat()).size, written);
  co_await f.close();
  const std::string back = co_await fs::read_file(path);
  EXPECT_TRUE(back == data.substr(0, written));

  // The helpers on a full file system: the error, and no fd or temp file left.
  c = co_await error_of(fs::write_file(m.full() + "/more", data));
  EXPECT_EQ(c.err, ENOSPC);
  EXPECT_EQ(c.what, "write '" + m.full() + "/more': No space left on device");
  co_await fs::remove(path);
  co_await fs::remove(m.full() + "/more");
  c = co_await error_of(fs::write_file_atomic(m.full() + "/state", data));
  EXPECT_EQ(c.err, ENOSPC);
  EXPECT_NE(c.what.find(m.full() + "/.state.tmp-"), std::string::npos) << c.what;
  std::vector<std::string> left = co_await fs::listdir(m.full());
  EXPECT_TRUE(left.empty()) << left.size() << " entries, first " << (left.empty() ? "" : left[0]);
  EXPECT_EQ(fs::test::open_fd_count(), fds);

  // pwrite at an offset meets the same wall, with the same message.
  auto g = co_await fs::open(m.full() + "/sparse", "w");
  c = co_await error_of(g.pwrite(data, 0));
  EXPECT_EQ(c.err, ENOSPC);
  EXPECT_EQ(c.what, "write '" + m.full() + "/sparse': No space left on device");
}

AIO_TEST(fs_faults_test, a_read_only_file_system_refuses_writers_naming_the_path) {
  temp_dir d;
  private_mounts m(d.path);
  if (!m.error.empty()) {
    ADD_FAILURE() << m.error;
    co_return;
  }
  const int fds = fs::test::baseline_fd_count();
  const std::string existing = m.ro() + "/existing";
  caught c = co_await error_of(fs::open(existing, "w"));
  EXPECT_EQ(c.err, EROFS);
  EXPECT_EQ(c.what, "open '" + existing + "': Read-only file system");
  c = co_await error_of(fs::open(existing, "a"));
  EXPECT_EQ(c.err, EROFS);
  c = co_await error_of(fs::open(existing, "r+"));
  EXPECT_EQ(c.err, EROFS);
  c = co_await error_of(fs::open(m.ro() + "/new", "x"));
  EXPECT_EQ(c.err, EROFS);
  EXPECT_EQ(c.what, "open '" + m.ro() + "/new': Read-only file system");
  c = co_await error_of(fs::write_file(existing, "new"));
  EXPECT_EQ(c.err, EROFS);
  c = co_await error_of(fs::write_file_atomic(existing, "new"));
  EXPECT_EQ(c.err, EROFS);
  c = co_await error_of(fs::mkdir(m.ro() + "/dir"));
  EXPECT_EQ(c.err, EROFS);
  EXPECT_EQ(c.what, "mkdir '" + m.ro() + "/dir': Read-only file system");
  c = co_await error_of(fs::remove(existing));
  EXPECT_EQ(c.err, EROFS);
  c = co_await error_of(fs::rename(existing, m.ro() + "/moved"));
  EXPECT_EQ(c.err, EROFS);
  EXPECT_EQ(c.what, "rename '" + existing + "' -> '" + m.ro() + "/moved': Read-only file system");
  // Reading still works, and nothing above changed the file.
  EXPECT_EQ(co_await fs::read_file(existing), "old");
  EXPECT_EQ(fs::test::open_fd_count(), fds);
}
