// SPDX-License-Identifier: MIT
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>

#include "backend.hpp"

namespace aio::detail {

int perform_io(io_op& op) noexcept {
  for (;;) {
    ssize_t r = -1;
    switch (op.kind_) {
      case io_kind::recv:
        r = ::recv(op.fd_, op.buf_, op.len_, static_cast<int>(op.flags_) | MSG_DONTWAIT);
        break;
      case io_kind::send:
        r = ::send(op.fd_, op.buf_, op.len_, static_cast<int>(op.flags_) | MSG_DONTWAIT | MSG_NOSIGNAL);
        break;
      case io_kind::recvmsg:
        r = ::recvmsg(op.fd_, static_cast<msghdr*>(op.buf_), static_cast<int>(op.flags_) | MSG_DONTWAIT);
        break;
      case io_kind::sendmsg:
        r = ::sendmsg(op.fd_, static_cast<const msghdr*>(op.buf_),
                      static_cast<int>(op.flags_) | MSG_DONTWAIT | MSG_NOSIGNAL);
        break;
      case io_kind::accept:
        r = ::accept4(op.fd_, op.addr_, op.addrlen_, SOCK_NONBLOCK | SOCK_CLOEXEC);
        break;
      case io_kind::read:
        r = op.offset_ == static_cast<std::uint64_t>(-1)
                ? ::read(op.fd_, op.buf_, op.len_)
                : ::pread(op.fd_, op.buf_, op.len_, static_cast<off_t>(op.offset_));
        break;
      case io_kind::write:
        r = op.offset_ == static_cast<std::uint64_t>(-1)
                ? ::write(op.fd_, op.buf_, op.len_)
                : ::pwrite(op.fd_, op.buf_, op.len_, static_cast<off_t>(op.offset_));
        break;
      case io_kind::connect:
        r = ::connect(op.fd_, op.addr_, op.addr_size_);
        break;
      case io_kind::poll:
        return -EAGAIN;
      case io_kind::openat:
        r = ::openat(op.fd_, static_cast<const char*>(op.buf_), static_cast<int>(op.flags_),
                     static_cast<mode_t>(op.len_));
        break;
      case io_kind::close:
        // Never retried: after EINTR the fd is already released on Linux.
        return ::close(op.fd_) < 0 && errno != EINTR ? -errno : 0;
      case io_kind::statx:
        r = ::statx(op.fd_, static_cast<const char*>(op.buf_), static_cast<int>(op.flags_),
                    static_cast<unsigned>(op.len_), static_cast<struct statx*>(op.buf2_));
        break;
      case io_kind::fsync:
        r = op.flags_ & 1 ? ::fdatasync(op.fd_) : ::fsync(op.fd_);
        break;
      case io_kind::ftruncate:
        r = ::ftruncate(op.fd_, static_cast<off_t>(op.offset_));
        break;
      case io_kind::unlinkat:
        r = ::unlinkat(op.fd_, static_cast<const char*>(op.buf_), static_cast<int>(op.flags_));
        break;
      case io_kind::mkdirat:
        r = ::mkdirat(op.fd_, static_cast<const char*>(op.buf_), static_cast<mode_t>(op.len_));
        break;
      case io_kind::renameat:
        r = ::renameat2(op.fd_, static_cast<const char*>(op.buf_), AT_FDCWD,
                        static_cast<const char*>(op.buf2_), op.flags_);
        break;
      case io_kind::symlinkat:
        r = ::symlinkat(static_cast<const char*>(op.buf_), op.fd_, static_cast<const char*>(op.buf2_));
        break;
      case io_kind::linkat:
        r = ::linkat(op.fd_, static_cast<const char*>(op.buf_), op.fd_, static_cast<const char*>(op.buf2_),
                     static_cast<int>(op.flags_));
        break;
      case io_kind::writev: {
        const auto* iov = static_cast<const iovec*>(op.buf_);
        int count = static_cast<int>(op.len_);
        r = op.offset_ == static_cast<std::uint64_t>(-1)
                ? ::writev(op.fd_, iov, count)
                : ::pwritev(op.fd_, iov, count, static_cast<off_t>(op.offset_));
        break;
      }
    }
    if (r >= 0) return static_cast<int>(r);
    if (errno != EINTR) return -errno;
  }
}

}  // namespace aio::detail
