// SPDX-License-Identifier: MIT
// open(): Python's mode strings, then one openat.

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <optional>
#include <stdexcept>
#include <string>

#include "aio/fs/file.hpp"
#include "file_io_impl.hpp"

namespace aio::fs {

namespace {

[[noreturn]] void bad_mode(std::string_view mode) {
  throw std::invalid_argument("aio::fs::open: invalid mode '" + std::string(mode) + "'");
}

task<file> open_impl(std::string path, int flags, mode_t permissions, std::size_t max_line, bool write_behind) {
  detail::file_io_awaiter op(aio::detail::io_kind::openat, AT_FDCWD, "open", path);
  op.set_path(path);
  op.flags_ = static_cast<std::uint32_t>(flags);
  op.len_ = permissions;
  int fd = co_await op;
  // fstat of an open fd reads the in-memory inode: no disk, no blocking.
  struct ::stat st{};
  if (::fstat(fd, &st) < 0) {
    int err = errno;
    detail::close_detached(fd);
    detail::throw_fs_error(err, "open", path);
  }
  if (S_ISDIR(st.st_mode)) {  // O_RDONLY opens a directory; Python's open refuses it
    detail::close_detached(fd);
    detail::throw_fs_error(EISDIR, "open", path);
  }
  bool append = flags & O_APPEND;
  bool seekable = S_ISREG(st.st_mode) || S_ISBLK(st.st_mode);
  // Write-behind only where a queued write behaves like a direct one: a
  // regular file (pipes and devices have their own timing), no O_SYNC/O_DSYNC
  // promise per write, no O_DIRECT alignment rules for the copied bytes.
  write_behind = write_behind && S_ISREG(st.st_mode) && (flags & O_ACCMODE) != O_RDONLY &&
                 (flags & (O_DSYNC | O_DIRECT)) == 0;
  std::optional<file> made;
  try {
    made.emplace(fd, std::move(path), append, seekable, max_line, write_behind);
  } catch (...) {
    detail::close_detached(fd);
    throw;
  }
  file f = std::move(*made);
  if (append && seekable) co_await f.seek(0, whence::end);
  co_return f;
}

}  // namespace

int open_flags(std::string_view mode) {
  int base = -1;
  bool plus = false, binary = false, text = false;
  for (char c : mode) {
    switch (c) {
      case 'r':
      case 'w':
      case 'a':
      case 'x':
        if (base != -1) bad_mode(mode);
        base = c;
        break;
      case '+':
        if (plus) bad_mode(mode);
        plus = true;
        break;
      case 'b':
        if (binary || text) bad_mode(mode);
        binary = true;
        break;
      case 't':
        if (binary || text) bad_mode(mode);
        text = true;
        break;
      default:
        bad_mode(mode);
    }
  }
  int flags = O_CLOEXEC | (plus ? O_RDWR : (base == 'r' ? O_RDONLY : O_WRONLY));
  switch (base) {
    case 'r':
      return flags;
    case 'w':
      return flags | O_CREAT | O_TRUNC;
    case 'a':
      return flags | O_CREAT | O_APPEND;
    case 'x':
      return flags | O_CREAT | O_EXCL;
    default:
      bad_mode(mode);  // none of r, w, a, x
  }
}

task<file> open(const std::filesystem::path& path, std::string_view mode, const open_options& options) {
  int flags = open_flags(mode);
  if (options.direct) flags |= O_DIRECT;
  if (options.sync) flags |= O_SYNC;
  if (options.max_line == 0) throw std::invalid_argument("aio::fs::open: max_line must be > 0");
  return open_impl(path.string(), flags, options.permissions, options.max_line, options.write_behind);
}

}  // namespace aio::fs
