// SPDX-License-Identifier: MIT
#pragma once
// Directories and names: Python's os.mkdir / os.makedirs / os.rmdir /
// os.listdir / os.remove / os.rename. Each is one io_uring operation (mkdirat,
// unlinkat, renameat) where io_uring has one; listdir (getdents has no
// io_uring op) and everything on the epoll backend run on the library's
// internal thread pool. Errors: std::system_error naming the call and path.

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

#include "aio/core/task.hpp"

namespace aio::fs {

/// Like os.mkdir(path, mode). Throws std::system_error "mkdir '<path>': …"
/// (exists, missing parent, …). Cancel-safe in the sense that a cancelled
/// call may still have created the directory.
task<> mkdir(const std::filesystem::path& path, mode_t mode = 0777);
/// Like os.makedirs(path, mode, exist_ok): creates the missing parents too.
/// Without exist_ok an existing directory throws (EEXIST); with it, only a
/// non-directory in the way does. Cancellation may leave some parents created.
task<> makedirs(const std::filesystem::path& path, mode_t mode = 0777, bool exist_ok = false);
/// Like os.rmdir: removes an empty directory.
task<> rmdir(const std::filesystem::path& path);
/// Like os.remove / os.unlink: removes a file (not a directory: EISDIR).
task<> remove(const std::filesystem::path& path);
/// Like os.rename: atomically replaces `to` (on the same file system).
task<> rename(const std::filesystem::path& from, const std::filesystem::path& to);
/// Like os.listdir: the names in `path` (no "." or ".."), in directory order.
/// Cancel-safe: on cancel the task resumes at once; the listing is discarded.
task<std::vector<std::string>> listdir(const std::filesystem::path& path);

}  // namespace aio::fs
