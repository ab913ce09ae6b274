// SPDX-License-Identifier: MIT
#pragma once
// Low-level awaitables on raw socket fds, like asyncio's `loop.sock_*`; the
// streams of aiocpp::net are built on them. The fd stays the caller's: it
// must be non-blocking (for the epoll backend) and must stay open until the
// operation finishes or its cancellation completes.
//
// Every operation is cancellable on both backends: the operation is
// abandoned in the kernel (IORING_OP_ASYNC_CANCEL, or deregistration on
// epoll) before the coroutine resumes with cancelled_error, so no completion
// ever writes into a buffer that is gone. If the operation completed in the
// race, its result is delivered and the cancel lands at the next suspension.
//
// wait_readable / wait_writable serve libraries that own their sockets
// (libpq, MariaDB Connector/C, c-ares): like loop.add_reader, as an awaitable.

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "aio/core/task.hpp"

namespace aio {

/// A socket address (IPv4, IPv6 or Unix), as accept and getpeername give it.
struct sock_address {
  sockaddr_storage storage{};
  socklen_t size = 0;

  const sockaddr* data() const noexcept { return reinterpret_cast<const sockaddr*>(&storage); }
  sockaddr* data() noexcept { return reinterpret_cast<sockaddr*>(&storage); }
  int family() const noexcept { return storage.ss_family; }
  /// The port of an IPv4/IPv6 address (host byte order); 0 for other families.
  unsigned short port() const noexcept;
  /// "127.0.0.1:8080", "[::1]:443", or a Unix path.
  std::string to_string() const;
  /// From a numeric IPv4/IPv6 host and a port; std::invalid_argument if `host` is not numeric.
  static sock_address from_ip(std::string_view host, unsigned short port);
  /// A Unix socket path; "@name" is Linux's abstract namespace. Throws
  /// std::invalid_argument when empty or longer than sun_path allows.
  static sock_address from_unix(std::string_view path);
};

/// What sock_accept returns: the new connection (non-blocking, close-on-exec) and its peer.
struct accepted {
  int fd = -1;
  sock_address peer;
};

/// What sock_recvfrom_into returns: like asyncio's `(nbytes, address)`, plus
/// whether the datagram was cut short.
struct received_from {
  std::size_t size = 0;    // bytes stored in the buffer
  sock_address from;       // the sender (size 0 or a bare family for an unbound Unix sender)
  bool truncated = false;  // the datagram was longer than the buffer: its tail is lost
};

/// One datagram and its sender: what sock_recvfrom and datagram_endpoint give.
/// Differs from asyncio (which truncates silently): `truncated` says when the
/// datagram was longer than the size asked for (`data` then holds its head).
struct datagram {
  std::string data;
  sock_address from;
  bool truncated = false;
};

namespace detail {

/// A single I/O operation awaited by the current task; state lives in the frame.
struct io_awaiter : io_op, waiter {
  promise_base* task = nullptr;

  io_awaiter() noexcept {
    complete_ = [](io_op* op) noexcept { wake(*static_cast<io_awaiter*>(op)->task); };
    cancel_ = [](waiter* w) noexcept {
      auto* a = static_cast<io_awaiter*>(w);
      a->cancelling_ = true;
      a->task->loop_->cancel_io(*a);
    };
  }
  io_awaiter(const io_awaiter&) = delete;
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) {
    task = &enter_wait();
    if (task->loop_->start_io(*this)) return false;  // finished at once
    task->suspend(h, this);
    return true;
  }
  /// The raw result; throws cancelled_error when the operation was abandoned.
  int finish() const {
    if (cancelling_ && res_ < 0) task->throw_cancelled();
    return res_;
  }
  /// finish(), and a std::system_error naming `what` and the fd on failure.
  int finish_or_throw(const char* what) const;
};

struct recv_awaiter : io_awaiter {
  recv_awaiter(int fd, std::span<std::byte> buf, int flags) noexcept;
  std::size_t await_resume() const { return static_cast<std::size_t>(finish_or_throw("sock_recv")); }
};
struct send_awaiter : io_awaiter {
  send_awaiter(int fd, std::span<const std::byte> buf, int flags) noexcept;
  std::size_t await_resume() const { return static_cast<std::size_t>(finish_or_throw("sock_send")); }
};
struct accept_awaiter : io_awaiter {
  accepted out;
  explicit accept_awaiter(int fd) noexcept;
  accepted await_resume();
};
struct connect_awaiter : io_awaiter {
  sock_address target;
  connect_awaiter(int fd, const sock_address& addr) noexcept;
  void await_resume() const;
};
/// recvmsg with MSG_TRUNC (datagram sockets): the kernel reports the full
/// length, so a datagram larger than the buffer is seen, not silently cut.
struct recvfrom_awaiter : io_awaiter {
  msghdr msg{};
  iovec iov{};
  sock_address from;
  recvfrom_awaiter(int fd, std::span<std::byte> buf) noexcept;
  recvfrom_awaiter(const recvfrom_awaiter&) = delete;
  bool await_suspend(std::coroutine_handle<> h) {
    point_msghdr();  // self-referential: set where the awaiter finally lives
    return io_awaiter::await_suspend(h);
  }
  received_from await_resume();
  void point_msghdr() noexcept;
};
/// sendmsg of one datagram to `to` (or to the connected peer when to.size == 0).
struct sendto_awaiter : io_awaiter {
  msghdr msg{};
  iovec iov{};
  sock_address to;
  sendto_awaiter(int fd, std::span<const std::byte> buf, const sock_address& dest) noexcept;
  sendto_awaiter(const sendto_awaiter&) = delete;
  bool await_suspend(std::coroutine_handle<> h) {
    point_msghdr();
    return io_awaiter::await_suspend(h);
  }
  std::size_t await_resume() const;
  void point_msghdr() noexcept;
};
struct poll_awaiter : io_awaiter {
  poll_awaiter(int fd, unsigned events) noexcept;
  unsigned await_resume() const { return static_cast<unsigned>(finish_or_throw("wait for fd")); }
};

}  // namespace detail

/// Like `loop.sock_recv_into(sock, buf)`: receives up to buf.size() bytes;
/// returns 0 at end of stream. Throws std::system_error (e.g. ECONNRESET).
inline detail::recv_awaiter sock_recv_into(int fd, std::span<std::byte> buf) { return {fd, buf, 0}; }
inline detail::recv_awaiter sock_recv_into(int fd, std::span<char> buf) {
  return {fd, std::as_writable_bytes(buf), 0};
}
/// Like `loop.sock_recv(sock, n)`: up to `max` bytes; empty at end of stream.
task<std::string> sock_recv(int fd, std::size_t max);
/// One send: returns how many bytes the kernel took (maybe fewer than asked).
inline detail::send_awaiter sock_send(int fd, std::span<const std::byte> buf) { return {fd, buf, 0}; }
/// Like `loop.sock_sendall`: sends every byte, suspending as needed. On
/// cancellation, bytes already sent stay sent (as in asyncio).
task<> sock_sendall(int fd, std::span<const std::byte> data);
task<> sock_sendall(int fd, std::string_view data);
/// Like `loop.sock_accept(sock)`.
inline detail::accept_awaiter sock_accept(int fd) { return detail::accept_awaiter(fd); }
/// Like `loop.sock_connect(sock, address)`; the error names the address.
inline detail::connect_awaiter sock_connect(int fd, const sock_address& addr) { return {fd, addr}; }
/// Like `loop.sock_recvfrom_into(sock, buf)` (Python 3.11) on a datagram
/// socket: one datagram into `buf`, with its sender. A datagram longer than
/// `buf` sets `truncated` (its tail is discarded by the kernel). Throws
/// std::system_error (ECONNREFUSED on a connected UDP socket whose peer
/// answered an earlier datagram with ICMP port unreachable). Cancel-safe:
/// cancelled, no datagram was consumed.
inline detail::recvfrom_awaiter sock_recvfrom_into(int fd, std::span<std::byte> buf) { return {fd, buf}; }
/// Like `loop.sock_recvfrom(sock, bufsize)` (Python 3.11): one datagram of up
/// to `max` bytes and its sender; see sock_recvfrom_into. Cancel-safe.
task<datagram> sock_recvfrom(int fd, std::size_t max);
/// Like `loop.sock_sendto(sock, data, address)` (Python 3.11): sends one
/// datagram to `to` (to.size == 0: to the connected peer); returns its size.
/// Throws std::system_error naming the size and the address (EMSGSIZE for a
/// datagram too large, ECONNREFUSED after an ICMP error on a connected
/// socket). Cancel-safe: cancelled, the datagram was not sent. `data` must
/// stay alive until the awaiter is resumed.
inline detail::sendto_awaiter sock_sendto(int fd, std::span<const std::byte> data, const sock_address& to) {
  return {fd, data, to};
}
inline detail::sendto_awaiter sock_sendto(int fd, std::string_view data, const sock_address& to) {
  return {fd, std::as_bytes(std::span<const char>(data.data(), data.size())), to};
}
/// Waits until `fd` is readable; returns the poll events seen (POLLIN, POLLHUP…).
inline detail::poll_awaiter wait_readable(int fd) { return {fd, 0x001 /*POLLIN*/}; }
/// Waits until `fd` is writable; returns the poll events seen (POLLOUT, POLLERR…).
inline detail::poll_awaiter wait_writable(int fd) { return {fd, 0x004 /*POLLOUT*/}; }

}  // namespace aio
