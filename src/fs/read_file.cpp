// SPDX-License-Identifier: MIT
// Whole-file helpers on top of open/file; the atomic replace is the classic
// temp file + fsync + rename + fsync of the directory.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <string>
#include <system_error>

#include "aio/core/errors.hpp"
#include "aio/fs/directory.hpp"
#include "aio/fs/file.hpp"
#include "aio/fs/read_file.hpp"
#include "aio/fs/stat.hpp"
#include "file_io_impl.hpp"
#include "remove_tree_impl.hpp"

namespace aio::fs {

using aio::detail::io_kind;

namespace {

// Closes `f` after a failure, awaited, so that the fd is released before the
// error reaches the caller (the destructor's close would run later, on the
// pool). Its own error is dropped: the first one is what the caller sees.
task<> close_quietly(file& f) {
  try {
    co_await f.close();
  } catch (...) {
  }
}

// What read_file needs of fstat's answer (a plain function: the struct stat
// stays off the coroutine frame).
struct file_shape {
  std::size_t size = 0;  // st_size of a regular file, else 0 (a special file's size says nothing)
  bool positioned = false;  // reads at an offset (regular file, block device)
  bool regular = false;
};

file_shape shape_of(int fd, const std::string& path) {
  struct ::stat st{};
  if (::fstat(fd, &st) < 0) detail::throw_fs_error(errno, "open", path);
  if (S_ISDIR(st.st_mode)) detail::throw_fs_error(EISDIR, "open", path);  // Python's open refuses a directory
  file_shape s;
  s.regular = S_ISREG(st.st_mode);
  s.positioned = s.regular || S_ISBLK(st.st_mode);
  s.size = s.regular ? static_cast<std::size_t>(st.st_size) : 0;
  return s;
}

// read_file once it holds its slot of the loop's bound (inflight.hpp), which
// it keeps from open to close, so a gather of 10,000 keeps at most that many
// files open and buffers allocated. openat, fstat (the inode is in memory
// once the file is open: no blocking), read, close, with no `file` object
// and one frame. A special file (a FIFO may wait forever) gives the slot back
// after the open and its reads take one each instead.
task<std::string> read_file_held(const std::string& path, detail::inflight_slot& slot) {
  int fd = -1;
  {
    detail::file_io_awaiter op(io_kind::openat, AT_FDCWD, "open", path);
    op.admitted = true;
    op.set_path(path);
    op.flags_ = O_RDONLY | O_CLOEXEC;
    fd = co_await op;
  }
  std::string data;
  std::exception_ptr failure;
  try {
    const file_shape shape = shape_of(fd, path);
    if (!shape.regular) slot.release();
    // Asks for one byte more than the size. A regular file's read comes back
    // short only at end of file, so a short answer of exactly `size` bytes is
    // the whole file, read with one kernel read (no second read to see EOF:
    // this is most of the cost for small files). A file that changed size
    // meanwhile, or a special file, is read on to end of file.
    constexpr std::size_t step = 64 * 1024;
    data.resize(shape.size != 0 ? shape.size + 1 : step);
    std::size_t got = 0;
    for (;;) {
      if (got == data.size()) data.resize(std::max(step, data.size() * 2));
      detail::file_io_awaiter op(io_kind::read, fd, "read", path);
      op.admitted = slot.held();
      op.buf_ = data.data() + got;
      op.len_ = std::min(data.size() - got, detail::max_chunk);
      op.offset_ = shape.positioned ? got : static_cast<std::uint64_t>(-1);
      const auto n = static_cast<std::size_t>(co_await op);
      if (n == 0) break;
      got += n;
      if (shape.size != 0 && got == shape.size && n < op.len_) break;
    }
    data.resize(got);
  } catch (...) {
    failure = std::current_exception();
  }
  // The fd goes whatever happened: a close that never ran (a cancel pending
  // at its start, or its pool job dropped by a cancel) is done on the pool
  // instead. After another failure, the close's
  // own error is dropped: the first one is what the caller sees.
  std::exception_ptr close_failure;
  {
    detail::file_io_awaiter op(io_kind::close, fd, "close", path);
    try {
      co_await op;
    } catch (...) {
      if (op.never_ran()) detail::close_detached(fd);
      close_failure = std::current_exception();
    }
  }
  slot.release();
  if (failure) std::rethrow_exception(failure);
  if (close_failure) std::rethrow_exception(close_failure);
  co_return data;
}

// Waits for the slot in a small frame: the large one (three ops) exists only
// for the files in flight.
task<std::string> read_file_impl(std::string path) {
  detail::inflight_slot slot;
  co_await slot.acquire();
  co_return co_await read_file_held(path, slot);
}

task<> write_impl(std::string path, std::string_view data, const char* mode) {
  // One write, then close: write-behind would only copy the data and hold it.
  open_options options;
  options.write_behind = false;
  file f = co_await open(path, mode, options);
  std::exception_ptr failure;
  try {
    co_await f.write(data);
  } catch (...) {
    failure = std::current_exception();
  }
  if (failure) {
    co_await close_quietly(f);
    std::rethrow_exception(failure);
  }
  co_await f.close();
}

std::string temp_name_for(const std::filesystem::path& target) {
  static std::atomic<std::uint64_t> counter{0};
  auto salt = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  // Appended piece by piece: GCC 12 at -O3 warns (-Wrestrict, wrongly) on "." + string.
  std::string file = ".";
  file += target.filename().string();
  file += ".tmp-";
  file += std::to_string(::getpid());
  file += '-';
  file += std::to_string(counter.fetch_add(1));
  file += '-';
  file += std::to_string(salt % 1'000'000);
  std::filesystem::path name = target;
  name.replace_filename(file);
  return name.string();
}

// fsync of a directory: makes a rename in it durable.
task<> sync_directory(std::string dir) {
  detail::file_io_awaiter op(io_kind::openat, AT_FDCWD, "open", dir);
  op.set_path(dir);
  op.flags_ = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
  file d(co_await op, dir, false, false);
  co_await d.fsync();
  co_await d.close();
}

task<> write_atomic_impl(std::filesystem::path path, std::string_view data) {
  std::string target = path.string();
  std::string temp = temp_name_for(path);
  open_options options;
  options.write_behind = false;  // one write, then fsync: nothing to gain from a copy
  bool keep_mode = false;
  std::uint32_t mode = 0;
  try {
    stat_result st = co_await stat(target);
    keep_mode = true;
    mode = st.permissions();
  } catch (const std::system_error& e) {
    if (e.code().value() != ENOENT) throw;
  }
  file f = co_await open(temp, "xb", options);
  std::exception_ptr failure;
  try {
    // fchmod changes the in-memory inode: no disk I/O on the loop.
    if (keep_mode && ::fchmod(f.fileno(), mode) < 0) detail::throw_fs_error(errno, "chmod", temp);
    co_await f.write(data);
    co_await f.fsync();
    co_await f.close();
    co_await rename(temp, target);
  } catch (...) {
    failure = std::current_exception();
  }
  if (failure) {
    // The temporary file goes whatever went wrong. A second cancel during
    // this cleanup hands the removal to the pool, and is what the caller
    // sees (the first was consumed by the throw).
    std::exception_ptr cancel;
    try {
      co_await f.close();
    } catch (const cancelled_error&) {
      cancel = std::current_exception();
    } catch (...) {
    }
    bool removed = false;
    if (!cancel) {
      try {
        co_await remove(temp);
        removed = true;
      } catch (const cancelled_error&) {
        cancel = std::current_exception();
      } catch (...) {
        removed = true;  // gone already, or cannot be: nothing more to try
      }
    }
    if (!removed) detail::remove_detached(temp, false);
    std::rethrow_exception(cancel ? cancel : failure);
  }
  // A named local, not a temporary inside the co_await (GCC 12 destroys those twice).
  std::string dir = path.parent_path().string();
  if (dir.empty()) dir.push_back('.');  // (not dir = ".": GCC 12 -O3 warns -Wrestrict on it)
  co_await sync_directory(std::move(dir));
}

}  // namespace

task<std::string> read_file(const std::filesystem::path& path) { return read_file_impl(path.string()); }

task<> write_file(const std::filesystem::path& path, std::string_view data) {
  return write_impl(path.string(), data, "wb");
}

task<> append_file(const std::filesystem::path& path, std::string_view data) {
  return write_impl(path.string(), data, "ab");
}

task<> write_file_atomic(const std::filesystem::path& path, std::string_view data) {
  return write_atomic_impl(path, data);
}

}  // namespace aio::fs
