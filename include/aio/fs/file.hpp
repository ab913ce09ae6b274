// SPDX-License-Identifier: MIT
#pragma once
// aio::fs::open and aio::fs::file: Python's open() (as aiofiles.open), made
// asynchronous. On io_uring every call is an io_uring operation (openat, read,
// write, statx, fsync, close); on the epoll backend the same calls run on the
// library's internal thread pool (separate from the user's executors), so the
// loop never blocks on a disk.
//
//   auto f = co_await aio::fs::open("data.bin", "rb");
//   std::string head = co_await f.read(4096);
//   co_await f.close();
//
// A file keeps its own position (seek/tell never touch the kernel): read and
// write use pread/pwrite at that position, so several pread/pwrite of one file
// may be in flight together. Files opened in append mode write at the end.
// Errors are std::system_error whose message names the operation and path:
// "open 'missing.txt': No such file or directory".

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "aio/core/task.hpp"
#include "aio/fs/stat.hpp"

namespace aio::fs {

/// How open() creates and opens a file, beyond the mode string. Not an
/// aggregate on purpose (GCC 12 destroys aggregate temporaries built inside a
/// co_await twice): set fields after construction.
struct open_options {
  open_options() noexcept {}
  /// Permissions of a created file, before the umask. Like os.open's `mode`.
  mode_t permissions = 0666;
  /// O_DIRECT: bypass the page cache. Buffers, offsets and sizes must then be
  /// aligned to the device's block size (use read_into/pread_into with an
  /// aligned buffer); otherwise the kernel answers EINVAL.
  bool direct = false;
  /// O_SYNC: each write returns once the data and metadata are on disk.
  bool sync = false;
};

/// Position origin for file::seek, as os.SEEK_SET / SEEK_CUR / SEEK_END.
enum class whence { set, cur, end };

/// An open file. Like the object aiofiles.open returns (binary mode: bytes in
/// std::string / spans). Move-only. Loop thread only. Destroying an open file
/// closes it without blocking the loop (the close runs on the pool); it must
/// not be destroyed while one of its operations is in flight.
class file {
 public:
  /// A closed file.
  file() noexcept = default;
  file(file&& o) noexcept;
  file& operator=(file&& o) noexcept;
  ~file();

  /// Like read(n) of a binary file: up to n bytes from the position, fewer
  /// only at end of file (short reads are continued). Throws std::system_error.
  /// Cancellation: the bytes already read are lost, the position is where the
  /// last completed read left it.
  task<std::string> read(std::size_t n);
  /// Like read(): everything from the position to end of file.
  task<std::string> read();
  /// Like readinto: fills `buf` from the position, fewer bytes only at end of
  /// file; returns how many. Cancellation as read(n); `buf` is never written
  /// after the cancelled call returns.
  task<std::size_t> read_into(std::span<std::byte> buf);
  /// Like write: writes all of `data` at the position (the end in append mode),
  /// continuing short writes; returns data.size(). `data` must stay valid until
  /// it completes. Not cancel-safe: a cancelled write may have written a
  /// prefix (the position says how much).
  task<std::size_t> write(std::string_view data);

  /// Like os.pread: up to n bytes at `offset` (fewer only at end of file); the
  /// position does not move. Several may run at once. Cancel-safe.
  task<std::string> pread(std::size_t n, std::uint64_t offset);
  /// pread into `buf`; returns the bytes read (fewer only at end of file).
  task<std::size_t> pread_into(std::span<std::byte> buf, std::uint64_t offset);
  /// Like os.pwrite, but writes all of `data` at `offset`. Position unchanged.
  /// Not cancel-safe (a prefix may be written).
  task<std::size_t> pwrite(std::string_view data, std::uint64_t offset);

  /// Like seek: moves the position (no system call except for whence::end,
  /// which stats the file); returns the new position. std::invalid_argument if
  /// it would be negative. Cancel-safe.
  task<std::uint64_t> seek(std::int64_t offset, whence from = whence::set);
  /// Like tell: the current position.
  std::uint64_t tell() const noexcept { return pos_; }

  /// Like os.fsync: data and metadata on disk. Cancel-safe (the sync may still complete).
  task<> fsync();
  /// Like os.fdatasync: data (and the metadata needed to read it) on disk.
  task<> fdatasync();
  /// Like truncate(size): the file becomes `size` bytes (pool thread on both
  /// backends: io_uring has no ftruncate before Linux 6.9). Position unchanged.
  task<> truncate(std::uint64_t size);
  /// Like os.fstat: size, mode, times.
  task<stat_result> stat();

  /// Like close(), awaited: releases the fd (errors of close reported as
  /// std::system_error). A second close does nothing. Not cancellable once
  /// started: the fd is released either way.
  task<> close();

  bool is_open() const noexcept { return fd_ >= 0; }
  /// Like fileno(). -1 when closed.
  int fileno() const noexcept { return fd_; }
  /// The path it was opened with.
  const std::string& name() const noexcept { return path_; }

  /// Adopts an open fd (used by open()). `append`: writes go to the end.
  file(int fd, std::string path, bool append, bool seekable) noexcept
      : path_(std::move(path)), fd_(fd), append_(append), seekable_(seekable) {}

 private:
  task<std::size_t> read_some(std::span<std::byte> buf, std::uint64_t offset);
  task<std::size_t> write_all(std::string_view data, std::uint64_t offset);
  void check_open(const char* what) const;

  std::string path_;
  std::uint64_t pos_ = 0;
  int fd_ = -1;
  bool append_ = false;
  bool seekable_ = true;
};

/// Like `aiofiles.open(path, mode)` (Python's open, binary): mode is one of
/// r, w, a, x, optionally with '+', and 'b' or 't' (both mean bytes). Throws
/// std::invalid_argument naming a bad mode (at the call, before awaiting) and
/// std::system_error "open '<path>': <reason>" (missing file, permission
/// denied, is a directory, exists with x, …). Cancel-safe: if the open
/// completed anyway, the file is returned (and closed by its destructor).
task<file> open(const std::filesystem::path& path, std::string_view mode = "r",
                const open_options& options = open_options());

/// The open(2) flags of a Python mode string, or std::invalid_argument.
int open_flags(std::string_view mode);

}  // namespace aio::fs
