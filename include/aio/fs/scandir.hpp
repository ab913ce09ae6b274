// SPDX-License-Identifier: MIT
#pragma once
// scandir: Python's os.scandir — a directory's entries with their file types,
// read on the library's internal pool (getdents has no io_uring operation).
// The type comes from the directory itself (d_type), so telling files from
// directories costs no stat; the few entries that need one (a symlink's
// target, a file system that reports DT_UNKNOWN) are stat-ed on the same pool
// thread, relative to the open directory.
//
//   for (const auto& e : co_await aio::fs::scandir("var/log"))
//     if (e.is_file()) total += 1;
//
// A huge directory streams in bounded memory through open_scandir:
//
//   auto it = co_await aio::fs::open_scandir("spool");
//   for (;;) {
//     auto batch = co_await it.next();   // at most options.batch_size entries
//     if (batch.empty()) break;
//     for (auto& e : batch) …
//   }

#include <dirent.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "aio/core/task.hpp"
#include "aio/fs/stat.hpp"

namespace aio::fs {

/// How scandir reads. Not an aggregate (GCC 12 destroys aggregate
/// temporaries built inside a co_await twice): set fields after construction.
struct scandir_options {
  scandir_options() noexcept {}
  /// Also stat every entry (one fstatat each, on the pool thread), so that
  /// dir_entry::stat() answers. Like calling os.DirEntry.stat() on each.
  bool stat = false;
  /// open_scandir: the most entries one next() returns (bounds its memory).
  std::size_t batch_size = 1024;
};

/// One entry of a directory. Like os.DirEntry, except that every answer is
/// already known (no call blocks, none throws but stat()): is_dir and
/// is_file follow symlinks by default, as Python's do. Copyable.
class dir_entry {
 public:
  /// Like DirEntry.name: the entry's file name (a view into path()).
  std::string_view name() const noexcept { return std::string_view(path_).substr(name_pos_); }
  /// Like DirEntry.path: the scanned path joined with name().
  const std::string& path() const noexcept { return path_; }
  /// Like DirEntry.inode().
  std::uint64_t inode() const noexcept { return inode_; }
  /// The entry's type; with follow_symlinks, a symlink's target type
  /// (not_found for a dangling link or a loop, unknown if it could not be
  /// stat-ed, e.g. permission denied).
  std::filesystem::file_type type(bool follow_symlinks = true) const noexcept {
    return follow_symlinks && type_ == std::filesystem::file_type::symlink ? target_type_ : type_;
  }
  /// Like DirEntry.is_dir(follow_symlinks=True): false for a dangling symlink.
  bool is_dir(bool follow_symlinks = true) const noexcept {
    return type(follow_symlinks) == std::filesystem::file_type::directory;
  }
  /// Like DirEntry.is_file(follow_symlinks=True).
  bool is_file(bool follow_symlinks = true) const noexcept {
    return type(follow_symlinks) == std::filesystem::file_type::regular;
  }
  /// Like DirEntry.is_symlink().
  bool is_symlink() const noexcept { return type_ == std::filesystem::file_type::symlink; }
  /// True when scanned with scandir_options::stat.
  bool has_stat() const noexcept { return stats_ != nullptr; }
  /// Like DirEntry.stat(follow_symlinks): what stat (or lstat) said when the
  /// directory was read. std::logic_error without scandir_options::stat;
  /// std::system_error "stat '<path>': …" when following a dangling symlink
  /// (or one that could not be stat-ed), as Python raises.
  const stat_result& stat(bool follow_symlinks = true) const;

  /// Made by the scanner.
  dir_entry(std::string path, std::size_t name_pos, std::uint64_t inode,
            std::filesystem::file_type type) noexcept
      : path_(std::move(path)), inode_(inode), name_pos_(name_pos), type_(type) {}

  /// What the scanner found out by stat-ing (internal).
  struct stats {
    stat_result self;    // lstat
    stat_result target;  // stat (the same as self but for a symlink)
    int self_errno = 0;
    int target_errno = 0;
  };
  /// The scanner records a symlink's target (internal).
  void set_target(std::filesystem::file_type t) noexcept { target_type_ = t; }
  /// The scanner records the stat results (internal).
  void set_stats(std::shared_ptr<const stats> s) noexcept { stats_ = std::move(s); }

 private:
  std::string path_;
  std::shared_ptr<const stats> stats_;
  std::uint64_t inode_ = 0;
  std::size_t name_pos_ = 0;
  std::filesystem::file_type type_ = std::filesystem::file_type::unknown;
  std::filesystem::file_type target_type_ = std::filesystem::file_type::unknown;
};

/// Like list(os.scandir(path)): every entry but "." and "..", in directory
/// order, read in one pool job. Throws std::system_error "scandir '<path>': …"
/// (missing, not a directory, permission denied). Cancel-safe: the task
/// resumes once the pool thread stopped (it checks between entries); the
/// listing is discarded.
task<std::vector<dir_entry>> scandir(const std::filesystem::path& path,
                                     const scandir_options& options = scandir_options());

/// An open directory read batch by batch: what os.scandir returns, as an
/// iterator, with bounded memory for huge directories. Move-only; loop
/// thread only; one next() at a time. Destroying it open closes the
/// directory on the pool (never blocking the loop).
class scandir_iterator {
 public:
  scandir_iterator() noexcept = default;
  scandir_iterator(scandir_iterator&& o) noexcept;
  scandir_iterator& operator=(scandir_iterator&& o) noexcept;
  ~scandir_iterator();

  /// The next entries (at most options.batch_size), empty once the directory
  /// is exhausted (it is then closed). Throws std::system_error "scandir
  /// '<path>': …", aio::invalid_state_error when another next() is running.
  /// Cancel-safe, no entry is skipped: a batch already read (even partly,
  /// when the cancel stopped it) is returned to the awaiting coroutine and
  /// the cancel lands at its next suspension point; otherwise the pool job
  /// is dropped or waited for before cancelled_error, and the next call
  /// resumes where this one left off.
  task<std::vector<dir_entry>> next();
  /// Like ScandirIterator.close(): releases the directory (idempotent).
  /// Not cancellable: the directory is closed either way.
  task<> close();
  /// False once exhausted or closed.
  bool is_open() const noexcept { return dir_ != nullptr; }
  /// The path scanned.
  const std::string& path() const noexcept { return path_; }

  /// Adopts an open directory (used by open_scandir).
  scandir_iterator(DIR* dir, std::string path, const scandir_options& options) noexcept
      : path_(std::move(path)), dir_(dir), options_(options) {}

 private:
  std::string path_;
  DIR* dir_ = nullptr;
  scandir_options options_;
  bool busy_ = false;
};

/// Like os.scandir(path) used as an iterator: opens the directory (on the
/// pool) for batch-wise reading. Throws std::system_error "scandir '<path>': …".
/// Cancel-safe: if the open completed anyway, the iterator is returned (and
/// closes the directory when destroyed).
task<scandir_iterator> open_scandir(const std::filesystem::path& path,
                                    const scandir_options& options = scandir_options());

}  // namespace aio::fs
