// SPDX-License-Identifier: MIT
// scandir and scandir_iterator: readdir on the internal pool, typed by d_type.

#include "aio/fs/scandir.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "aio/core/errors.hpp"
#include "aio/exec/thread_pool_executor.hpp"
#include "file_io_impl.hpp"
#include "pool_call_impl.hpp"
#include "scandir_impl.hpp"

namespace aio::fs {

using std::filesystem::file_type;

namespace detail {

namespace {

file_type from_d_type(unsigned char t) noexcept {
  switch (t) {
    case DT_REG:
      return file_type::regular;
    case DT_DIR:
      return file_type::directory;
    case DT_LNK:
      return file_type::symlink;
    case DT_FIFO:
      return file_type::fifo;
    case DT_SOCK:
      return file_type::socket;
    case DT_BLK:
      return file_type::block;
    case DT_CHR:
      return file_type::character;
    default:
      return file_type::unknown;
  }
}

file_type from_mode(std::uint32_t mode) noexcept {
  if (S_ISREG(mode)) return file_type::regular;
  if (S_ISDIR(mode)) return file_type::directory;
  if (S_ISLNK(mode)) return file_type::symlink;
  if (S_ISFIFO(mode)) return file_type::fifo;
  if (S_ISSOCK(mode)) return file_type::socket;
  if (S_ISBLK(mode)) return file_type::block;
  if (S_ISCHR(mode)) return file_type::character;
  return file_type::unknown;
}

// statx relative to the open directory; 0 or errno.
int stat_at(int dirfd, const char* name, int flags, bool full, struct ::statx& sx) noexcept {
  unsigned mask = full ? STATX_BASIC_STATS : STATX_TYPE;
  return ::statx(dirfd, name, flags | AT_STATX_SYNC_AS_STAT, mask, &sx) == 0 ? 0 : errno;
}

}  // namespace

dir_entry make_entry(int dirfd, const std::string& dir_path, const char* name, unsigned char d_type,
                     ino_t ino, bool with_stat) {
  std::string path = join_path(dir_path, name);
  std::size_t name_pos = path.size() - std::strlen(name);
  file_type type = from_d_type(d_type);
  std::shared_ptr<dir_entry::stats> stats;
  if (with_stat) stats = std::make_shared<dir_entry::stats>();
  struct ::statx sx {};
  if (type == file_type::unknown || with_stat) {
    // Gone since readdir (or unreadable): the entry stays, typed unknown, as
    // Python's DirEntry answers False to every is_*() then.
    int err = stat_at(dirfd, name, AT_SYMLINK_NOFOLLOW, with_stat, sx);
    if (err == 0) type = from_mode(sx.stx_mode);
    if (stats) {
      stats->self_errno = err;
      if (err == 0) stats->self = to_stat_result(sx);
    }
  }
  dir_entry e(std::move(path), name_pos, ino, type);
  if (type == file_type::symlink) {
    int err = stat_at(dirfd, name, 0, with_stat, sx);
    if (err == 0) {
      e.set_target(from_mode(sx.stx_mode));
    } else {
      e.set_target(err == ENOENT || err == ELOOP || err == ENOTDIR ? file_type::not_found
                                                                   : file_type::unknown);
    }
    if (stats) {
      stats->target_errno = err;
      if (err == 0) stats->target = to_stat_result(sx);
    }
  } else if (stats) {
    stats->target = stats->self;
    stats->target_errno = stats->self_errno;
  }
  if (stats) e.set_stats(std::move(stats));
  return e;
}

int read_entries(DIR* dir, const std::string& dir_path, bool with_stat, std::size_t max,
                 std::vector<dir_entry>& out, const std::atomic<bool>& stop) noexcept {
  try {
    int fd = ::dirfd(dir);
    for (std::size_t n = 0; n < max; ++n) {
      if (stop.load(std::memory_order_relaxed)) return -ECANCELED;
      errno = 0;
      dirent* d = ::readdir(dir);
      if (!d) return -errno;  // 0 at the end
      if (std::strcmp(d->d_name, ".") == 0 || std::strcmp(d->d_name, "..") == 0) {
        --n;
        continue;
      }
      out.push_back(make_entry(fd, dir_path, d->d_name, d->d_type, d->d_ino, with_stat));
    }
    return 0;
  } catch (const std::bad_alloc&) {
    return -ENOMEM;
  }
}

}  // namespace detail

const stat_result& dir_entry::stat(bool follow_symlinks) const {
  if (!stats_) throw std::logic_error("dir_entry::stat: scanned without scandir_options::stat");
  if (follow_symlinks) {
    if (stats_->target_errno != 0) detail::throw_fs_error(stats_->target_errno, "stat", path_);
    return stats_->target;
  }
  if (stats_->self_errno != 0) detail::throw_fs_error(stats_->self_errno, "lstat", path_);
  return stats_->self;
}

namespace {

struct scan_call {
  std::string path;
  bool with_stat = false;
  bool closed = false;
  std::size_t max = 0;
  DIR* dir = nullptr;
  std::vector<dir_entry> entries;
};

int open_dir(void* arg, const std::atomic<bool>&) noexcept {
  auto& c = *static_cast<scan_call*>(arg);
  c.dir = ::opendir(c.path.c_str());
  return c.dir ? 0 : -errno;
}

int scan_all(void* arg, const std::atomic<bool>& stop) noexcept {
  auto& c = *static_cast<scan_call*>(arg);
  DIR* dir = ::opendir(c.path.c_str());
  if (!dir) return -errno;
  int r =
      detail::read_entries(dir, c.path, c.with_stat, static_cast<std::size_t>(-1), c.entries, stop);
  ::closedir(dir);
  return r;
}

int scan_batch(void* arg, const std::atomic<bool>& stop) noexcept {
  auto& c = *static_cast<scan_call*>(arg);
  int r = detail::read_entries(c.dir, c.path, c.with_stat, c.max, c.entries, stop);
  // Entries taken from the directory are never dropped: a stopped batch
  // hands back what it read (the cancel then lands at the next suspension).
  return r == -ECANCELED && !c.entries.empty() ? 0 : r;
}

int close_dir(void* arg, const std::atomic<bool>&) noexcept {
  auto& c = *static_cast<scan_call*>(arg);
  ::closedir(c.dir);
  c.closed = true;
  return 0;
}

void close_dir_detached(DIR* dir) noexcept {
  if (!dir) return;
  try {
    aio::detail::internal_executor().submit([dir] { ::closedir(dir); });
  } catch (...) {
    ::closedir(dir);  // no thread could take it: better a short block than a leak
  }
}

task<std::vector<dir_entry>> scandir_impl(std::string path, bool with_stat) {
  scan_call c;
  c.path = std::move(path);
  c.with_stat = with_stat;
  detail::pool_call call(&scan_all, &c, "scandir", c.path);
  co_await call;
  co_return std::move(c.entries);
}

task<scandir_iterator> open_scandir_impl(std::string path, scandir_options options) {
  scan_call c;
  c.path = std::move(path);
  detail::pool_call call(&open_dir, &c, "scandir", c.path);
  co_await call;
  co_return scandir_iterator(c.dir, std::move(c.path), options);
}

}  // namespace

task<std::vector<dir_entry>> scandir(const std::filesystem::path& path,
                                     const scandir_options& options) {
  return scandir_impl(path.string(), options.stat);
}

task<scandir_iterator> open_scandir(const std::filesystem::path& path,
                                    const scandir_options& options) {
  if (options.batch_size == 0)
    throw std::invalid_argument("aio::fs::open_scandir: batch_size must be > 0");
  return open_scandir_impl(path.string(), options);
}

scandir_iterator::scandir_iterator(scandir_iterator&& o) noexcept
    : path_(std::move(o.path_)),
      dir_(std::exchange(o.dir_, nullptr)),
      options_(o.options_),
      busy_(o.busy_) {}

scandir_iterator& scandir_iterator::operator=(scandir_iterator&& o) noexcept {
  if (this != &o) {
    close_dir_detached(std::exchange(dir_, std::exchange(o.dir_, nullptr)));
    path_ = std::move(o.path_);
    options_ = o.options_;
    busy_ = o.busy_;
  }
  return *this;
}

scandir_iterator::~scandir_iterator() { close_dir_detached(dir_); }

task<std::vector<dir_entry>> scandir_iterator::next() {
  if (busy_)
    throw invalid_state_error("scandir_iterator::next: another next() or close() is running");
  if (!dir_) co_return std::vector<dir_entry>();
  busy_ = true;
  scan_call c;
  c.path = path_;
  c.with_stat = options_.stat;
  c.max = options_.batch_size;
  c.dir = dir_;
  c.entries.reserve(std::min<std::size_t>(options_.batch_size, 4096));
  detail::pool_call call(&scan_batch, &c, "scandir", c.path);
  try {
    co_await call;
  } catch (...) {
    busy_ = false;
    throw;
  }
  busy_ = false;
  if (c.entries.empty()) co_await close();
  co_return std::move(c.entries);
}

task<> scandir_iterator::close() {
  if (busy_) throw invalid_state_error("scandir_iterator::close: next() is running");
  if (!dir_) co_return;
  scan_call c;
  c.dir = std::exchange(dir_, nullptr);
  detail::pool_call call(&close_dir, &c, "scandir", path_);
  try {
    co_await call;
  } catch (...) {
    if (!c.closed) close_dir_detached(c.dir);  // the job was dropped before it ran
    throw;
  }
}

}  // namespace aio::fs
