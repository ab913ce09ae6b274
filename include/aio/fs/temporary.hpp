// SPDX-License-Identifier: MIT
#pragma once
// Temporary files and directories: Python's tempfile. mkdtemp / mkstemp make
// a new name that nobody else has (random, created with mkdir / O_EXCL, so
// taking a name is atomic; retried on a collision) — one io_uring mkdirat or
// openat each (the internal pool on epoll). temporary_directory and
// temporary_file own what they made and remove it: awaited with remove(), or
// else by the destructor, which hands the removal to the internal pool so the
// loop never blocks.
//
//   auto tmp = co_await aio::fs::make_temporary_directory("build-");
//   co_await aio::fs::write_file(tmp.path() / "out.o", bytes);
//   co_await tmp.remove();                    // or leave it to the destructor
//
// The directory is the first of $TMPDIR, /tmp, /var/tmp, /usr/tmp and the
// current directory that exists (std::filesystem::temp_directory_path), unless
// `dir` is given.

#include <filesystem>
#include <string_view>

#include "aio/core/task.hpp"
#include "aio/fs/file.hpp"

namespace aio::fs {

/// Like tempfile.mkdtemp(suffix, prefix, dir): creates a new directory
/// "<dir>/<prefix><8 random characters><suffix>" with mode 0700 and returns
/// its path. The caller removes it. Throws std::system_error "mkdtemp
/// '<dir>/<prefix>…<suffix>': …" (dir missing, permission denied, read-only,
/// or every one of 100 random names taken). A cancelled call may still have
/// made the directory (and lost its name): use make_temporary_directory when
/// that matters.
task<std::filesystem::path> mkdtemp(std::string_view prefix = "tmp", std::string_view suffix = "",
                                    const std::filesystem::path& dir = {});

/// Like tempfile.mkstemp: creates and opens ("w+b", mode 0600) a new file
/// "<dir>/<prefix><8 random characters><suffix>"; its path is the file's
/// name(). The caller removes it. Throws as mkdtemp ("mkstemp '…': …").
/// Cancel-safe as open: a file created anyway is returned.
task<file> mkstemp(std::string_view prefix = "tmp", std::string_view suffix = "",
                   const std::filesystem::path& dir = {});

/// A directory that removes itself. Like tempfile.TemporaryDirectory.
/// Move-only; loop thread only.
class temporary_directory {
 public:
  /// Owns nothing.
  temporary_directory() noexcept = default;
  /// Adopts the directory at `path` (as made by mkdtemp).
  explicit temporary_directory(std::filesystem::path path) noexcept : path_(std::move(path)) {}
  temporary_directory(temporary_directory&& o) noexcept;
  temporary_directory& operator=(temporary_directory&& o) noexcept;
  /// Removes the tree if remove() has not: on the internal pool, never
  /// blocking the loop (it may finish a moment after the destructor returns;
  /// the process's exit waits for such removals, up to 30 s).
  ~temporary_directory();

  /// Like TemporaryDirectory.name. Empty once removed or released.
  const std::filesystem::path& path() const noexcept { return path_; }
  /// Like TemporaryDirectory.cleanup(): removes the directory and everything
  /// in it (entries it may not write to are chmod-ed first, as Python does).
  /// Idempotent. Throws std::system_error "remove_tree '<entry>': …" (the
  /// directory stays owned: the destructor tries again). Not cancel-safe: a
  /// cancelled removal leaves part of the tree, which the destructor removes.
  task<> remove();
  /// Gives up ownership (like delete=False): returns the path, which is kept.
  std::filesystem::path release() noexcept;

 private:
  std::filesystem::path path_;
};

/// Like tempfile.TemporaryDirectory(suffix, prefix, dir): mkdtemp, owned.
/// Throws as mkdtemp. Cancel-safe: a directory made by a cancelled call is
/// returned or, if the cancel won, removed (nothing is left behind).
task<temporary_directory> make_temporary_directory(std::string_view prefix = "tmp",
                                                   std::string_view suffix = "",
                                                   const std::filesystem::path& dir = {});

/// An open file that removes itself. Like tempfile.NamedTemporaryFile
/// ("w+b", delete=True). Move-only; loop thread only.
class temporary_file {
 public:
  /// Owns nothing.
  temporary_file() noexcept = default;
  /// Adopts an open file made by mkstemp (removed under its name()).
  explicit temporary_file(fs::file f) noexcept;
  temporary_file(temporary_file&& o) noexcept;
  temporary_file& operator=(temporary_file&& o) noexcept;
  /// Closes the file and removes its name on the internal pool if remove()
  /// has not (never blocking the loop; exit waits for it, as for
  /// temporary_directory). Do not destroy it while one of the file's
  /// operations is in flight.
  ~temporary_file();

  /// The open file ("w+b"). Like NamedTemporaryFile's file methods.
  fs::file& file() noexcept { return file_; }
  /// Like NamedTemporaryFile.name. Empty once removed or released.
  const std::filesystem::path& path() const noexcept { return path_; }
  /// Like NamedTemporaryFile.close() with delete=True: closes the file and
  /// removes its name. Idempotent. Throws std::system_error "remove '<path>':
  /// …". Not cancel-safe: if cancelled, the destructor finishes the job.
  task<> remove();
  /// Gives up ownership (like delete=False): the file stays on disk, open;
  /// returns it.
  fs::file release() noexcept;

 private:
  void discard() noexcept;

  fs::file file_;
  std::filesystem::path path_;
};

/// Like tempfile.NamedTemporaryFile(suffix=, prefix=, dir=): mkstemp, owned.
/// Throws as mkstemp. Cancel-safe: nothing is left behind.
task<temporary_file> make_temporary_file(std::string_view prefix = "tmp",
                                         std::string_view suffix = "",
                                         const std::filesystem::path& dir = {});

}  // namespace aio::fs
