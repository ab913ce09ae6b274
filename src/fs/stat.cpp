// SPDX-License-Identifier: MIT
// stat / lstat / exists: one statx each.

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cerrno>
#include <string>
#include <system_error>

#include "aio/fs/stat.hpp"
#include "file_io_impl.hpp"

namespace aio::fs {

namespace {

std::chrono::system_clock::time_point to_time(const statx_timestamp& t) noexcept {
  return std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(
      std::chrono::seconds(t.tv_sec) + std::chrono::nanoseconds(t.tv_nsec)));
}

task<stat_result> stat_impl(std::string path, int at_flags, const char* what) {
  struct ::statx sx{};
  detail::file_io_awaiter op(aio::detail::io_kind::statx, AT_FDCWD, what, path);
  op.set_path(path);
  op.buf2_ = &sx;
  op.flags_ = static_cast<std::uint32_t>(at_flags | AT_STATX_SYNC_AS_STAT);
  op.len_ = STATX_BASIC_STATS;
  co_await op;
  co_return detail::to_stat_result(sx);
}

}  // namespace

namespace detail {

stat_result to_stat_result(const struct ::statx& s) noexcept {
  stat_result r;
  r.size = s.stx_size;
  r.mode = s.stx_mode;
  r.nlink = s.stx_nlink;
  r.uid = s.stx_uid;
  r.gid = s.stx_gid;
  r.ino = s.stx_ino;
  r.dev = makedev(s.stx_dev_major, s.stx_dev_minor);
  r.atime = to_time(s.stx_atime);
  r.mtime = to_time(s.stx_mtime);
  r.ctime = to_time(s.stx_ctime);
  return r;
}

}  // namespace detail

task<stat_result> stat(const std::filesystem::path& path) { return stat_impl(path.string(), 0, "stat"); }

task<stat_result> lstat(const std::filesystem::path& path) {
  return stat_impl(path.string(), AT_SYMLINK_NOFOLLOW, "lstat");
}

namespace {

task<bool> exists_impl(std::string path) {
  try {
    co_await stat_impl(path, 0, "stat");
  } catch (const std::system_error& e) {
    int err = e.code().value();
    if (err == ENOENT || err == ENOTDIR || err == ELOOP) co_return false;
    throw;
  }
  co_return true;
}

}  // namespace

task<bool> exists(const std::filesystem::path& path) { return exists_impl(path.string()); }

}  // namespace aio::fs
