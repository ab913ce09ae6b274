// SPDX-License-Identifier: MIT
#pragma once
// Directories and names: Python's os.mkdir / os.makedirs / os.rmdir /
// os.listdir / os.remove / os.rename / os.chmod and shutil.rmtree. Each is one
// io_uring operation (mkdirat, unlinkat, renameat) where io_uring has one;
// listdir (getdents has no io_uring op), chmod, remove_tree and everything on
// the epoll backend run on the library's internal thread pool. Errors:
// std::system_error naming the call and path. scandir (entries with their
// types) is in scandir.hpp.

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

/// Like os.chmod(path, mode) (follows symlinks): sets the permission bits
/// (mode & 07777). Throws std::system_error "chmod '<path>': …". A cancelled
/// call may still have changed the mode.
task<> chmod(const std::filesystem::path& path, mode_t mode);

/// Like shutil.rmtree(path, ignore_errors): removes the directory and all it
/// contains, on one pool thread, relative to open directory fds (a directory
/// swapped for a symlink meanwhile is never followed: symlinks inside are
/// removed, not their targets). `path` itself must be a directory, not a
/// symlink to one (ENOTDIR, as Python refuses; also when written "link/",
/// which Python follows); a path ending in "." or ".." is EINVAL. Throws std::system_error
/// "remove_tree '<entry>': …" naming the entry that could not be removed;
/// with ignore_errors it removes what it can and throws nothing (but
/// cancelled_error). Not cancel-safe: a cancelled call stops between two
/// entries (the task resumes once the pool thread stopped) with part of the
/// tree removed.
task<> remove_tree(const std::filesystem::path& path, bool ignore_errors = false);

}  // namespace aio::fs
