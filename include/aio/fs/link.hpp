// SPDX-License-Identifier: MIT
#pragma once
// Links: Python's os.link / os.symlink / os.readlink. link and symlink are
// one io_uring operation each (linkat, symlinkat); readlink has no io_uring
// operation and runs on the library's internal pool, as everything does on
// the epoll backend. Errors are std::system_error naming the call and both
// paths: "symlink 'target' -> 'link': File exists".
//
//   co_await aio::fs::symlink("releases/v2", "current");
//   std::string to = co_await aio::fs::readlink("current");   // "releases/v2"

#include <filesystem>
#include <string>

#include "aio/core/task.hpp"

namespace aio::fs {

/// Like os.link(src, dst, follow_symlinks=True): a new name `dst` for the
/// file `src` (same file system). With follow_symlinks false and `src` a
/// symlink, the new name is a link to the symlink itself. Throws
/// std::system_error "link '<src>' -> '<dst>': …" (dst exists, src missing,
/// src a directory: EPERM, across file systems: EXDEV). Cancel-safe in the
/// sense that a cancelled call may still have made the link.
task<> link(const std::filesystem::path& src, const std::filesystem::path& dst,
            bool follow_symlinks = true);

/// Like os.symlink(target, link_path): a symbolic link at `link_path` whose
/// text is `target` (which need not exist; relative targets are relative to
/// the link's directory). Throws std::system_error "symlink '<target>' ->
/// '<link_path>': …" (link_path exists, parent missing, …). A cancelled call
/// may still have made the link.
task<> symlink(const std::filesystem::path& target, const std::filesystem::path& link_path);

/// Like os.readlink(path): the text of the symbolic link at `path`, as
/// stored (not resolved). Throws std::system_error "readlink '<path>': …"
/// (EINVAL when path is not a symlink, ENOENT when missing). Cancel-safe:
/// nothing changes; the task resumes once the pool thread is done.
task<std::string> readlink(const std::filesystem::path& path);

}  // namespace aio::fs
