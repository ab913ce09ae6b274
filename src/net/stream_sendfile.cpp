// SPDX-License-Identifier: MIT
// stream_writer::sendfile: sendfile(2) from the file straight to a plain
// socket or pipe; through the transport (TLS) in chunks read by the loop.
#include <sys/sendfile.h>

#include <cerrno>
#include <limits>
#include <memory>
#include <system_error>

#include "aio/core/sock.hpp"
#include "stream_state.hpp"

namespace aio {

namespace detail {
namespace {

constexpr std::size_t fallback_chunk = 256 * 1024;

// A read of the file at an offset, through the backend (io_uring reads it
// asynchronously; epoll reads at once, as for any regular file).
struct file_read : io_awaiter {
  file_read(int fd, std::byte* buf, std::size_t len, std::uint64_t offset) noexcept {
    kind_ = io_kind::read;
    fd_ = fd;
    buf_ = buf;
    len_ = len;
    offset_ = offset;
  }
  std::size_t await_resume() const {
    return static_cast<std::size_t>(finish_or_throw("read file for sendfile"));
  }
};

bool connection_error(int err) noexcept {
  return err == EPIPE || err == ECONNRESET || err == ENOTCONN || err == ECONNABORTED ||
         err == ETIMEDOUT;
}

[[noreturn]] void throw_closed() {
  throw_stream_errno(EPIPE, "stream_writer::sendfile: stream closed meanwhile");
}

task<std::size_t> send_file(stream_ref ref, int file_fd, std::uint64_t offset,
                            std::optional<std::size_t> count) {
  stream_state& s = *ref;
  if (file_fd < 0) throw_stream_errno(EBADF, "stream_writer::sendfile: bad file descriptor");
  // One boundary at a time (another sendfile or a start_tls holds one).
  while (s.hold_at) {
    s.check_writable("sendfile()");
    co_await list_wait(s.idle, "stream_writer::sendfile (waiting for another sendfile)");
  }
  // What was written so far goes before the file; writes issued from now on
  // wait behind it, even while the flusher is still sending older bytes.
  co_await hold_and_acquire_write_side(s, "sendfile()");
  exclusive_guard guard{s};
  writes_held held{s};
  const std::size_t want = count.value_or(std::numeric_limits<std::size_t>::max());
  std::size_t total = 0;
  bool zero_copy = s.plain != nullptr;
  std::unique_ptr<std::byte[]> buf;
  while (total < want) {
    if (s.error) std::rethrow_exception(s.error);
    if (s.closed) throw_closed();
    std::size_t left = want - total;
    if (zero_copy) {
      off_t off = static_cast<off_t>(offset + total);
      ssize_t r = ::sendfile(s.plain->fd(), file_fd, &off, std::min<std::size_t>(left, 1 << 30));
      if (r > 0) {
        total += static_cast<std::size_t>(r);
        continue;
      }
      if (r == 0) break;  // end of file
      int err = errno;
      if (err == EINTR) continue;
      if (err == EAGAIN) {
        if (!co_await s.plain->wait_writable()) throw_closed();
        continue;
      }
      if (err == EINVAL || err == ENOSYS || err == EOPNOTSUPP) {
        zero_copy = false;  // a file sendfile(2) cannot map: copy instead
        continue;
      }
      auto e = std::make_exception_ptr(std::system_error(err, std::generic_category(), "sendfile"));
      if (connection_error(err)) s.fail(e);
      std::rethrow_exception(e);
    }
    if (!buf) buf = std::make_unique_for_overwrite<std::byte[]>(fallback_chunk);
    std::size_t n =
        co_await file_read(file_fd, buf.get(), std::min(left, fallback_chunk), offset + total);
    if (n == 0) break;
    std::size_t done = 0;
    try {
      while (done < n) done += co_await s.t->write_some({buf.get() + done, n - done});
    } catch (const std::exception&) {
      s.fail(std::current_exception());
      throw;
    }
    total += n;
  }
  co_return total;
}

}  // namespace
}  // namespace detail

task<std::size_t> stream_writer::sendfile(int file_fd, std::uint64_t offset,
                                          std::optional<std::size_t> count) {
  if (!s_) throw invalid_state_error("stream_writer::sendfile on an empty (moved-from) writer");
  return detail::send_file(s_, file_fd, offset, count);
}

}  // namespace aio
