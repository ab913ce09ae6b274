// SPDX-License-Identifier: MIT
#pragma once
// Copying files: Python's shutil.copyfile and shutil.copy. The bytes never
// pass through user space: copy_file_range(2) on one thread of the library's
// internal pool (the kernel copies page cache to page cache, or shares
// extents on file systems that reflink, or copies server-side on NFS), with
// sendfile and then a read/write loop as fallbacks for files it refuses
// (/proc, some cross-file-system copies). Measured against io_uring splice
// through a pipe in docs/files.md.
//
//   co_await aio::fs::copy_file("app.conf", "app.conf.bak");
//   co_await aio::fs::copy("tool", "bin/");           // into a directory, mode kept

#include <cstdint>
#include <filesystem>
#include <string>
#include <system_error>

#include "aio/core/task.hpp"

namespace aio::fs {

/// Thrown when source and destination are the same file. Like
/// shutil.SameFileError (an OSError there, a std::system_error with EINVAL
/// here): "copy_file 'a' -> 'b': are the same file".
class same_file_error : public std::system_error {
 public:
  explicit same_file_error(const std::string& message);
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  std::string message_;
};

/// Like shutil.copyfile(src, dst): the contents of `src` (symlinks followed)
/// into `dst`, created (mode 0666 before the umask) or truncated. Returns the
/// bytes copied (Python returns dst). Throws std::system_error naming the
/// path at fault: "copy_file '<src>': …" (missing, a directory: EISDIR, a
/// named pipe: EINVAL), "copy_file '<dst>': …" (a directory: EISDIR,
/// permission denied, parent missing), "copy_file '<src>' -> '<dst>': …"
/// (the copy itself: ENOSPC, EIO); same_file_error when both name one file
/// (nothing is truncated). Not cancel-safe: a cancelled copy stops between two
/// chunks and leaves `dst` partly written (as an interrupted shutil.copyfile
/// does); it removes nothing, and both files are closed before the task
/// resumes.
task<std::uint64_t> copy_file(const std::filesystem::path& src, const std::filesystem::path& dst);

/// Like shutil.copy(src, dst): copy_file, then the permission bits of `src`
/// on `dst`; when `dst` is a directory, the copy goes into it under src's
/// file name. Throws and cancels as copy_file.
task<std::uint64_t> copy(const std::filesystem::path& src, const std::filesystem::path& dst);

}  // namespace aio::fs
