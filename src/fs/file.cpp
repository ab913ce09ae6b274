// SPDX-License-Identifier: MIT
// aio::fs::file: every read and write is a pread/pwrite at the file's own
// position (one io_uring op, or one pool job), split at max_chunk. What
// readline read ahead (file_lines.cpp) is served first; whatever moves the
// position otherwise, or may change the buffered bytes, drops it. With
// write-behind (write_behind.cpp), small writes go to the queue and every
// other call first awaits written().

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <exception>
#include <limits>
#include <memory>
#include <stdexcept>
#include <utility>

#include "aio/fs/file.hpp"
#include "file_io_impl.hpp"
#include "write_behind_impl.hpp"

namespace aio::fs {

using aio::detail::io_kind;

namespace {
constexpr std::uint64_t current_position = static_cast<std::uint64_t>(-1);
}

file::file(int fd, std::string path, bool append, bool seekable, std::size_t max_line, bool write_behind)
    : path_(std::move(path)), max_line_(max_line), fd_(fd), append_(append), seekable_(seekable) {
  if (write_behind) wb_ = std::make_shared<detail::write_behind>(fd, path_, append);
}

file::file(file&& o) noexcept
    : path_(std::move(o.path_)), pos_(o.pos_), rb_(std::exchange(o.rb_, {})), wb_(std::move(o.wb_)),
      max_line_(o.max_line_), fd_(std::exchange(o.fd_, -1)), append_(o.append_), seekable_(o.seekable_) {}

file& file::operator=(file&& o) noexcept {
  if (this != &o) {
    release();
    path_ = std::move(o.path_);
    pos_ = o.pos_;
    rb_ = std::exchange(o.rb_, {});
    wb_ = std::move(o.wb_);
    max_line_ = o.max_line_;
    fd_ = std::exchange(o.fd_, -1);
    append_ = o.append_;
    seekable_ = o.seekable_;
  }
  return *this;
}

file::~file() { release(); }

void file::release() noexcept {
  if (wb_) {
    if (fd_ >= 0) wb_->close_in_background();  // the writer closes it after the queue
    wb_.reset();
  } else {
    detail::close_detached(fd_);
  }
  fd_ = -1;
}

detail::write_behind_awaiter file::written() noexcept { return detail::write_behind_awaiter(wb_.get(), pos_); }

void file::check_open(const char* what) const {
  if (fd_ < 0) detail::throw_fs_error(EBADF, what, path_);
}

task<std::size_t> file::read_some(std::span<std::byte> buf, std::uint64_t offset) {
  detail::file_io_awaiter op(io_kind::read, fd_, "read", path_);
  op.buf_ = buf.data();
  op.len_ = std::min(buf.size(), detail::max_chunk);
  op.offset_ = seekable_ ? offset : current_position;
  co_return static_cast<std::size_t>(co_await op);
}

task<std::size_t> file::read_into(std::span<std::byte> buf) {
  check_open("read");
  co_await written();
  std::size_t done = take_buffered(buf);
  while (done < buf.size()) {
    std::size_t n = co_await read_some(buf.subspan(done), pos_);
    if (n == 0) break;
    done += n;
    pos_ += n;
  }
  co_return done;
}

task<std::string> file::read(std::size_t n) {
  std::string out(n, '\0');
  std::size_t got = co_await read_into(std::as_writable_bytes(std::span(out)));
  out.resize(got);
  co_return out;
}

task<std::string> file::read() {
  check_open("read");
  co_await written();
  std::size_t hint = 64 * 1024;
  if (seekable_) {
    stat_result st = co_await stat();
    // One byte more than what is left: the first read takes it all, the second sees EOF.
    if (st.size > pos_) hint = std::max<std::size_t>(hint, st.size - pos_ + 1);
  }
  std::string out(std::max(hint, rb_.size()), '\0');
  std::size_t filled = take_buffered(std::as_writable_bytes(std::span(out)));
  for (;;) {
    if (filled == out.size()) out.resize(std::max(hint, out.size() * 2));
    std::size_t n = co_await read_some(std::as_writable_bytes(std::span(out)).subspan(filled), pos_);
    if (n == 0) break;
    filled += n;
    pos_ += n;
  }
  out.resize(filled);
  co_return out;
}

task<std::size_t> file::write_all(std::string_view data, std::uint64_t offset) {
  std::size_t done = 0;
  while (done < data.size()) {
    detail::file_io_awaiter op(io_kind::write, fd_, "write", path_);
    op.buf_ = const_cast<char*>(data.data() + done);
    op.len_ = std::min(data.size() - done, detail::max_chunk);
    op.offset_ = seekable_ && offset != current_position ? offset + done : current_position;
    auto n = static_cast<std::size_t>(co_await op);
    if (n == 0) detail::throw_fs_error(EIO, "write", path_);  // never for a non-empty write
    done += n;
  }
  co_return done;
}

task<std::size_t> file::write(std::string_view data) {
  check_open("write");
  // The bytes at the position are about to change (a pipe's read-ahead is
  // another stream: it stays).
  if (seekable_) rb_.drop();
  if (wb_) {
    if (data.size() < detail::write_behind_threshold) {
      std::array<std::string_view, 1> parts;
      parts[0] = data;
      detail::write_behind_awaiter push(*wb_, pos_, parts, data.size());
      co_await push;
      co_return data.size();
    }
    co_await written();  // in order: the queue first, then this one straight from `data`
  }
  if (append_) {
    std::size_t n = co_await write_all(data, current_position);
    if (seekable_) {
      // O_APPEND writes move the kernel's position to the (new) end; lseek
      // only reads it (no I/O).
      off_t end = ::lseek(fd_, 0, SEEK_CUR);
      if (end >= 0) {
        pos_ = static_cast<std::uint64_t>(end);
        if (wb_) wb_->note_end(pos_);  // where the next queued append lands
      }
    }
    co_return n;
  }
  std::size_t done = 0;
  while (done < data.size()) {
    detail::file_io_awaiter op(io_kind::write, fd_, "write", path_);
    op.buf_ = const_cast<char*>(data.data() + done);
    op.len_ = std::min(data.size() - done, detail::max_chunk);
    op.offset_ = seekable_ ? pos_ : current_position;
    auto n = static_cast<std::size_t>(co_await op);
    if (n == 0) detail::throw_fs_error(EIO, "write", path_);
    done += n;
    pos_ += n;
  }
  co_return done;
}

task<std::string> file::pread(std::size_t n, std::uint64_t offset) {
  std::string out(n, '\0');
  std::size_t got = co_await pread_into(std::as_writable_bytes(std::span(out)), offset);
  out.resize(got);
  co_return out;
}

void file::check_range(const char* what, std::uint64_t offset, std::size_t len) const {
  // The kernel's positions are off_t: past INT64_MAX is EINVAL, as pread(2)
  // says (and UINT64_MAX is this file's "current position" mark).
  constexpr auto max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (offset > max || len > max - offset) detail::throw_fs_error(EINVAL, what, path_);
}

task<std::size_t> file::pread_into(std::span<std::byte> buf, std::uint64_t offset) {
  check_open("pread");
  if (!seekable_) detail::throw_fs_error(ESPIPE, "pread", path_);
  check_range("pread", offset, buf.size());
  co_await written();
  std::size_t done = 0;
  while (done < buf.size()) {
    std::size_t n = co_await read_some(buf.subspan(done), offset + done);
    if (n == 0) break;
    done += n;
  }
  co_return done;
}

task<std::size_t> file::pwrite(std::string_view data, std::uint64_t offset) {
  check_open("pwrite");
  if (!seekable_) detail::throw_fs_error(ESPIPE, "pwrite", path_);
  check_range("pwrite", offset, data.size());
  co_await written();
  if (offset < pos_ + rb_.size() && offset + data.size() > pos_) rb_.drop();  // overlaps the read-ahead
  co_return co_await write_all(data, offset);
}

task<std::size_t> file::write_parts(std::vector<std::string_view> parts) {
  check_open("write");
  if (seekable_) rb_.drop();
  if (wb_) {
    std::size_t total = 0;
    for (std::string_view p : parts) total += p.size();
    if (total < detail::write_behind_threshold) {
      detail::write_behind_awaiter push(*wb_, pos_, parts, total);
      co_await push;
      co_return total;
    }
    co_await written();
  }
  std::vector<iovec> iov;
  iov.reserve(std::min<std::size_t>(parts.size(), IOV_MAX));
  std::size_t i = 0, off = 0, done = 0;  // the first byte not written: parts[i][off]
  for (;;) {
    while (i < parts.size() && off == parts[i].size()) {  // skip empty strings
      ++i;
      off = 0;
    }
    if (i == parts.size()) break;
    iov.clear();
    std::size_t bytes = 0;
    for (std::size_t j = i, o = off; j < parts.size() && iov.size() < IOV_MAX && bytes < detail::max_chunk; ++j, o = 0) {
      std::size_t len = std::min(parts[j].size() - o, detail::max_chunk - bytes);
      if (len == 0) continue;
      iov.push_back(iovec{const_cast<char*>(parts[j].data() + o), len});
      bytes += len;
    }
    detail::file_io_awaiter op(io_kind::writev, fd_, "write", path_);
    op.buf_ = iov.data();
    op.len_ = iov.size();
    op.offset_ = seekable_ && !append_ ? pos_ : current_position;
    auto n = static_cast<std::size_t>(co_await op);
    if (n == 0) detail::throw_fs_error(EIO, "write", path_);  // never for a non-empty write
    done += n;
    if (!append_) pos_ += n;
    while (n > 0) {
      std::size_t left = parts[i].size() - off;
      if (n < left) {
        off += n;
        break;
      }
      n -= left;
      ++i;
      off = 0;
    }
  }
  if (append_ && seekable_) {
    off_t end = ::lseek(fd_, 0, SEEK_CUR);  // see write(): reads the kernel's position, no I/O
    if (end >= 0) pos_ = static_cast<std::uint64_t>(end);
  }
  co_return done;
}

task<> file::flush() {
  check_open("flush");
  co_await written();
  if (seekable_) {
    rb_.drop();
    if (::lseek(fd_, static_cast<off_t>(pos_), SEEK_SET) < 0) detail::throw_fs_error(errno, "flush", path_);
  }
  co_return;
}

task<std::uint64_t> file::seek(std::int64_t offset, whence from) {
  check_open("seek");
  if (!seekable_) detail::throw_fs_error(ESPIPE, "seek", path_);
  co_await written();
  std::int64_t base = 0;
  if (from == whence::cur) base = static_cast<std::int64_t>(pos_);
  if (from == whence::end) base = static_cast<std::int64_t>((co_await stat()).size);
  std::int64_t target = 0;
  if (__builtin_add_overflow(base, offset, &target))
    throw std::invalid_argument("aio::fs::file::seek: position past the largest file offset");
  if (target < 0) throw std::invalid_argument("aio::fs::file::seek: negative position");
  auto to = static_cast<std::uint64_t>(target);
  if (to >= pos_ && to - pos_ <= rb_.size()) {
    consume(static_cast<std::size_t>(to - pos_));  // within the read-ahead: keep the rest
  } else {
    rb_.drop();
    pos_ = to;
  }
  co_return pos_;
}

task<> file::fsync() {
  check_open("fsync");
  co_await written();
  detail::file_io_awaiter op(io_kind::fsync, fd_, "fsync", path_);
  co_await op;
}

task<> file::fdatasync() {
  check_open("fdatasync");
  co_await written();
  detail::file_io_awaiter op(io_kind::fsync, fd_, "fdatasync", path_);
  op.flags_ = 1;
  co_await op;
}

task<> file::truncate(std::uint64_t size) {
  check_open("truncate");
  co_await written();
  rb_.drop();
  detail::file_io_awaiter op(io_kind::ftruncate, fd_, "truncate", path_);
  op.offset_ = size;
  co_await op;
}

task<stat_result> file::stat() {
  check_open("stat");
  co_await written();
  struct ::statx sx{};
  detail::file_io_awaiter op(io_kind::statx, fd_, "stat", path_);
  op.buf_ = const_cast<char*>("");
  op.buf2_ = &sx;
  op.flags_ = AT_EMPTY_PATH | AT_STATX_SYNC_AS_STAT;
  op.len_ = STATX_BASIC_STATS;
  co_await op;
  co_return detail::to_stat_result(sx);
}

task<> file::close() {
  if (fd_ < 0) co_return;
  int fd = std::exchange(fd_, -1);
  if (!rb_.filling) rb_ = {};
  std::exception_ptr deferred;  // a queued write's error: after the fd is released
  if (std::shared_ptr<detail::write_behind> wb = std::move(wb_)) {
    wb->begin_close();
    try {
      detail::write_behind_awaiter drain(wb.get(), pos_);
      co_await drain;
    } catch (const std::system_error&) {
      deferred = std::current_exception();
    } catch (...) {
      wb->close_in_background();  // cancelled: the writer finishes, then closes
      throw;
    }
  }
  detail::file_io_awaiter op(io_kind::close, fd, "close", path_);
  try {
    co_await op;
  } catch (...) {
    // The fd is still open and nobody else will close it.
    if (op.never_ran()) detail::close_detached(fd);
    throw;
  }
  if (deferred) std::rethrow_exception(deferred);
}

}  // namespace aio::fs
