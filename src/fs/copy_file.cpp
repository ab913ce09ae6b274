// SPDX-License-Identifier: MIT
// copy_file / copy: one pool job per copy — open both files, copy_file_range
// in chunks (checking for a cancel between them), close both.

#include "aio/fs/copy_file.hpp"

#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <string>
#include <utility>

#include "file_io_impl.hpp"
#include "pool_call_impl.hpp"

namespace aio::fs {

same_file_error::same_file_error(const std::string& message)
    : std::system_error(std::make_error_code(std::errc::invalid_argument), message),
      message_(message) {}

namespace {

// Large enough that the per-call cost vanishes, small enough that a cancel
// is seen within a few milliseconds.
constexpr std::size_t chunk = std::size_t{16} << 20;

struct fd_guard {
  int fd = -1;
  ~fd_guard() {
    if (fd >= 0) ::close(fd);
  }
};

enum class fault { none, src, dst, both, same, pipe_src, pipe_dst };

struct copy_call {
  std::string src, dst;
  bool keep_mode = false;  // shutil.copy: permission bits, and dst may be a directory
  std::uint64_t copied = 0;
  fault at = fault::none;
  std::string where;  // what an error names (set by the pool thread)
};

int failed(copy_call& c, fault f, int err) noexcept {
  c.at = f;
  return -err;
}

bool falls_back(int err) noexcept {
  return err == EXDEV || err == EINVAL || err == EOPNOTSUPP || err == ENOSYS || err == EBADF;
}

// The copy proper: copy_file_range while the kernel accepts it, sendfile or
// plain reads and writes (on this pool thread) when it does not.
int copy_bytes(copy_call& c, int in, int out, const std::atomic<bool>& stop) noexcept {
  enum { range, send, plain } how = range;
  std::array<char, 1 << 16> buf;
  for (;;) {
    if (stop.load(std::memory_order_relaxed)) return -ECANCELED;
    ssize_t n;
    if (how == range) {
      n = ::copy_file_range(in, nullptr, out, nullptr, chunk, 0);
      // 0 at offset 0 may be a file whose size says 0 (/proc): make sure.
      if ((n < 0 && falls_back(errno) && c.copied == 0) || (n == 0 && c.copied == 0)) {
        how = send;
        continue;
      }
    } else if (how == send) {
      n = ::sendfile(out, in, nullptr, chunk);
      if (n < 0 && falls_back(errno) && c.copied == 0) {
        how = plain;
        continue;
      }
    } else {
      n = ::read(in, buf.data(), buf.size());
      for (ssize_t done = 0; n > 0 && done < n;) {
        ssize_t w = ::write(out, buf.data() + done, static_cast<std::size_t>(n - done));
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return failed(c, fault::both, errno);
        done += w;
      }
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return failed(c, fault::both, errno);
    if (n == 0) return 0;
    c.copied += static_cast<std::uint64_t>(n);
  }
}

int copy_job(void* arg, const std::atomic<bool>& stop) noexcept {
  auto& c = *static_cast<copy_call*>(arg);
  // O_NONBLOCK: opening a named pipe would otherwise wait for a writer.
  fd_guard in{::open(c.src.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC)};
  if (in.fd < 0) return failed(c, fault::src, errno);
  struct ::stat from {};
  if (::fstat(in.fd, &from) < 0) return failed(c, fault::src, errno);
  if (S_ISDIR(from.st_mode)) return failed(c, fault::src, EISDIR);
  if (S_ISFIFO(from.st_mode)) return failed(c, fault::pipe_src, EINVAL);
  ::fcntl(in.fd, F_SETFL, 0);
  struct ::stat to {};
  bool dst_exists = ::stat(c.dst.c_str(), &to) == 0;
  if (dst_exists && c.keep_mode && S_ISDIR(to.st_mode)) {
    std::string name = std::filesystem::path(c.src).filename().string();
    c.dst = detail::join_path(c.dst, name);
    dst_exists = ::stat(c.dst.c_str(), &to) == 0;
  }
  if (dst_exists) {
    // Checked before O_TRUNC: truncating the destination would empty the source.
    if (to.st_dev == from.st_dev && to.st_ino == from.st_ino) return failed(c, fault::same, EINVAL);
    if (S_ISFIFO(to.st_mode)) return failed(c, fault::pipe_dst, EINVAL);
  }
  fd_guard out{::open(c.dst.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666)};
  if (out.fd < 0) return failed(c, fault::dst, errno);
  int r = copy_bytes(c, in.fd, out.fd, stop);
  if (r < 0) return r;
  if (c.keep_mode && ::fchmod(out.fd, from.st_mode & 07777) < 0)
    return failed(c, fault::dst, errno);
  // close reports what a delayed write-back (NFS, quotas) could not do.
  if (::close(std::exchange(out.fd, -1)) < 0 && errno != EINTR) return failed(c, fault::dst, errno);
  return 0;
}

task<std::uint64_t> copy_impl(std::string src, std::string dst, bool keep_mode) {
  copy_call c;
  c.src = std::move(src);
  c.dst = std::move(dst);
  c.keep_mode = keep_mode;
  std::string names;  // the call names nothing itself: the fault decides below
  detail::pool_call call(&copy_job, &c, "copy_file", names);
  int err = 0;
  try {
    co_await call;
  } catch (const std::system_error& e) {
    err = e.code().value();
  }
  switch (c.at) {
    case fault::none:
      break;
    case fault::src:
      detail::throw_fs_error(err, "copy_file", c.src);
    case fault::dst:
      detail::throw_fs_error(err, "copy_file", c.dst);
    case fault::both:
      detail::throw_fs_error(err, "copy_file", detail::two_paths(c.src, c.dst));
    case fault::same:
      throw same_file_error("copy_file '" + detail::two_paths(c.src, c.dst) +
                            "': are the same file");
    case fault::pipe_src:
      throw std::system_error(err, std::generic_category(),
                              "copy_file '" + c.src + "': is a named pipe");
    case fault::pipe_dst:
      throw std::system_error(err, std::generic_category(),
                              "copy_file '" + c.dst + "': is a named pipe");
  }
  co_return c.copied;
}

}  // namespace

task<std::uint64_t> copy_file(const std::filesystem::path& src, const std::filesystem::path& dst) {
  return copy_impl(src.string(), dst.string(), false);
}

task<std::uint64_t> copy(const std::filesystem::path& src, const std::filesystem::path& dst) {
  return copy_impl(src.string(), dst.string(), true);
}

}  // namespace aio::fs
