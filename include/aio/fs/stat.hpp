// SPDX-License-Identifier: MIT
#pragma once
// stat, lstat and exists: Python's os.stat / os.lstat / os.path.exists, as one
// io_uring statx each (a pool thread on the epoll backend).
//
//   auto st = co_await aio::fs::stat("data.bin");
//   if (st.is_file()) std::cout << st.size << '\n';

#include <sys/stat.h>

#include <chrono>
#include <cstdint>
#include <filesystem>

#include "aio/core/task.hpp"

namespace aio::fs {

/// What stat returns. Like os.stat_result (st_size → size, st_mode → mode, …).
struct stat_result {
  std::uint64_t size = 0;
  std::uint32_t mode = 0;  // file type and permission bits, as st_mode
  std::uint32_t nlink = 0;
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::uint64_t ino = 0;
  std::uint64_t dev = 0;
  std::chrono::system_clock::time_point atime, mtime, ctime;

  bool is_file() const noexcept { return S_ISREG(mode); }
  bool is_dir() const noexcept { return S_ISDIR(mode); }
  bool is_symlink() const noexcept { return S_ISLNK(mode); }
  /// The permission bits (mode & 07777).
  std::uint32_t permissions() const noexcept { return mode & 07777; }
};

/// Like os.stat(path) (follows symlinks). Throws std::system_error
/// "stat '<path>': <reason>". Cancel-safe (nothing is changed).
task<stat_result> stat(const std::filesystem::path& path);
/// Like os.lstat(path): a symlink itself, not its target.
task<stat_result> lstat(const std::filesystem::path& path);
/// Like os.path.exists: false when the path (or a symlink's target) is
/// missing or a prefix is not a directory; other errors (permission denied on
/// a parent) throw std::system_error, as pathlib's exists does. Cancel-safe.
task<bool> exists(const std::filesystem::path& path);

}  // namespace aio::fs
