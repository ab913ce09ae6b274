// SPDX-License-Identifier: MIT
#include "aio/workers/listening_socket.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <utility>

namespace aio::workers {

listening_socket::listening_socket(const std::string& host, unsigned short port, int backlog) {
  const sock_address addr = sock_address::from_ip(host.empty() ? "0.0.0.0" : host, port);
  fd_ = ::socket(addr.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "socket for " + addr.to_string());
  const int one = 1;
  ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd_, addr.data(), addr.size) != 0 || ::listen(fd_, backlog) != 0) {
    const int err = errno;
    close();
    throw std::system_error(err, std::generic_category(), "listen on " + addr.to_string());
  }
}

listening_socket::listening_socket(listening_socket&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}

listening_socket& listening_socket::operator=(listening_socket&& o) noexcept {
  if (this != &o) {
    close();
    fd_ = std::exchange(o.fd_, -1);
  }
  return *this;
}

listening_socket::~listening_socket() { close(); }

sock_address listening_socket::address() const {
  sock_address a;
  a.size = sizeof a.storage;
  if (::getsockname(fd_, a.data(), &a.size) != 0)
    throw std::system_error(errno, std::generic_category(), "getsockname");
  return a;
}

unsigned short listening_socket::port() const { return address().port(); }

void listening_socket::close() noexcept {
  if (fd_ >= 0) ::close(std::exchange(fd_, -1));
}

}  // namespace aio::workers
