// SPDX-License-Identifier: MIT
#include <sys/socket.h>
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
    }
    if (r >= 0) return static_cast<int>(r);
    if (errno != EINTR) return -errno;
  }
}

}  // namespace aio::detail
