// SPDX-License-Identifier: MIT
#include "aio/core/sock.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cstddef>
#include <cstring>
#include <stdexcept>
#include <system_error>

namespace aio {

unsigned short sock_address::port() const noexcept {
  switch (storage.ss_family) {
    case AF_INET:
      return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
    case AF_INET6:
      return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
    default:
      return 0;
  }
}

std::string sock_address::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  switch (storage.ss_family) {
    case AF_INET: {
      auto* a = reinterpret_cast<const sockaddr_in*>(&storage);
      ::inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
      std::string out(buf);
      out += ':';
      out += std::to_string(ntohs(a->sin_port));
      return out;
    }
    case AF_INET6: {
      auto* a = reinterpret_cast<const sockaddr_in6*>(&storage);
      ::inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
      std::string out("[");
      out += buf;
      out += "]:";
      out += std::to_string(ntohs(a->sin6_port));
      return out;
    }
    case AF_UNIX: {
      auto* a = reinterpret_cast<const sockaddr_un*>(&storage);
      std::size_t n = size > offsetof(sockaddr_un, sun_path) ? size - offsetof(sockaddr_un, sun_path) : 0;
      if (n > 0 && a->sun_path[0] == '\0') {  // abstract namespace
        std::string out("@");
        out.append(a->sun_path + 1, n - 1);
        return out;
      }
      return std::string(a->sun_path, strnlen(a->sun_path, n));
    }
    default:
      return "<address family " + std::to_string(storage.ss_family) + ">";
  }
}

sock_address sock_address::from_ip(std::string_view host, unsigned short port) {
  sock_address out;
  std::string h(host);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out.storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
  if (::inet_pton(AF_INET, h.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    out.size = sizeof(sockaddr_in);
  } else if (::inet_pton(AF_INET6, h.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    out.size = sizeof(sockaddr_in6);
  } else {
    throw std::invalid_argument("sock_address::from_ip: '" + h + "' is not a numeric IPv4 or IPv6 address");
  }
  return out;
}

sock_address sock_address::from_unix(std::string_view path) {
  sock_address out;
  auto* un = reinterpret_cast<sockaddr_un*>(&out.storage);
  un->sun_family = AF_UNIX;
  if (path.empty()) throw std::invalid_argument("Unix socket path is empty");
  bool abstract = path.front() == '@';
  // A file path keeps its terminating NUL inside sun_path; an abstract name
  // is exactly its bytes after the leading NUL.
  std::size_t room = sizeof un->sun_path - (abstract ? 0 : 1);
  if (path.size() > room)
    throw std::invalid_argument("Unix socket path '" + std::string(path) + "' is longer than " +
                                std::to_string(room) + " bytes");
  std::memcpy(un->sun_path, path.data(), path.size());
  if (abstract) un->sun_path[0] = '\0';
  out.size = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + (abstract ? 0 : 1));
  return out;
}

namespace detail {

int io_awaiter::finish_or_throw(const char* what) const {
  int r = finish();
  if (r < 0) throw std::system_error(-r, std::system_category(), std::string(what) + " (fd " + std::to_string(fd_) + ")");
  return r;
}

recv_awaiter::recv_awaiter(int fd, std::span<std::byte> buf, int flags) noexcept {
  kind_ = io_kind::recv;
  fd_ = fd;
  buf_ = buf.data();
  len_ = buf.size();
  flags_ = static_cast<std::uint32_t>(flags);
}

send_awaiter::send_awaiter(int fd, std::span<const std::byte> buf, int flags) noexcept {
  kind_ = io_kind::send;
  fd_ = fd;
  buf_ = const_cast<std::byte*>(buf.data());
  len_ = buf.size();
  flags_ = static_cast<std::uint32_t>(flags);
}

accept_awaiter::accept_awaiter(int fd) noexcept {
  kind_ = io_kind::accept;
  fd_ = fd;
  out.peer.size = sizeof(out.peer.storage);
  addr_ = out.peer.data();
  addrlen_ = &out.peer.size;
}

accepted accept_awaiter::await_resume() {
  out.fd = finish_or_throw("sock_accept");
  return out;
}

connect_awaiter::connect_awaiter(int fd, const sock_address& addr) noexcept : target(addr) {
  kind_ = io_kind::connect;
  fd_ = fd;
  addr_ = target.data();
  addr_size_ = target.size;
}

void connect_awaiter::await_resume() const {
  int r = finish();
  if (r < 0)
    throw std::system_error(-r, std::system_category(), "connect to " + target.to_string());
}

recvfrom_awaiter::recvfrom_awaiter(int fd, std::span<std::byte> buf) noexcept {
  kind_ = io_kind::recvmsg;
  fd_ = fd;
  flags_ = MSG_TRUNC;
  iov.iov_base = buf.data();
  iov.iov_len = buf.size();
  point_msghdr();
}

void recvfrom_awaiter::point_msghdr() noexcept {
  msg.msg_name = from.data();
  msg.msg_namelen = sizeof from.storage;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = nullptr;
  msg.msg_controllen = 0;
  msg.msg_flags = 0;
  buf_ = &msg;
}

received_from recvfrom_awaiter::await_resume() {
  auto n = static_cast<std::size_t>(finish_or_throw("sock_recvfrom"));
  received_from out;
  // With MSG_TRUNC the result is the datagram's real length.
  out.truncated = n > iov.iov_len || (msg.msg_flags & MSG_TRUNC) != 0;
  out.size = n > iov.iov_len ? iov.iov_len : n;
  from.size = msg.msg_namelen;
  out.from = from;
  return out;
}

sendto_awaiter::sendto_awaiter(int fd, std::span<const std::byte> buf, const sock_address& dest) noexcept
    : to(dest) {
  kind_ = io_kind::sendmsg;
  fd_ = fd;
  iov.iov_base = const_cast<std::byte*>(buf.data());
  iov.iov_len = buf.size();
  point_msghdr();
}

void sendto_awaiter::point_msghdr() noexcept {
  msg.msg_name = to.size ? to.data() : nullptr;
  msg.msg_namelen = to.size;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  buf_ = &msg;
}

std::size_t sendto_awaiter::await_resume() const {
  int r = finish();
  if (r < 0) {
    std::string what = "sock_sendto: " + std::to_string(iov.iov_len) + "-byte datagram to ";
    what += to.size ? to.to_string() : std::string("the connected peer");
    throw std::system_error(-r, std::system_category(), what + " (fd " + std::to_string(fd_) + ")");
  }
  return static_cast<std::size_t>(r);
}

poll_awaiter::poll_awaiter(int fd, unsigned events) noexcept {
  kind_ = io_kind::poll;
  fd_ = fd;
  flags_ = events;
}

}  // namespace detail

task<std::string> sock_recv(int fd, std::size_t max) {
  std::string out(max, '\0');
  std::size_t n = co_await sock_recv_into(fd, std::span<char>(out.data(), out.size()));
  out.resize(n);
  co_return out;
}

task<datagram> sock_recvfrom(int fd, std::size_t max) {
  datagram out;
  out.data.resize(max);
  auto r = co_await sock_recvfrom_into(fd, std::as_writable_bytes(std::span<char>(out.data.data(), max)));
  out.data.resize(r.size);
  out.from = r.from;
  out.truncated = r.truncated;
  co_return out;
}

task<> sock_sendall(int fd, std::span<const std::byte> data) {
  while (!data.empty()) {
    std::size_t n = co_await sock_send(fd, data);
    data = data.subspan(n);
  }
}

task<> sock_sendall(int fd, std::string_view data) {
  co_await sock_sendall(fd, std::as_bytes(std::span<const char>(data.data(), data.size())));
}

}  // namespace aio
