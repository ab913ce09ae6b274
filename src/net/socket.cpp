// SPDX-License-Identifier: MIT
#include <unistd.h>

#include <system_error>

#include "socket_impl.hpp"

namespace aio::detail {

void unique_fd::reset(int fd) noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

void throw_os_error(int err, const std::string& what) {
  throw std::system_error(err, std::system_category(), what);
}

namespace {
const char* family_name(int family) {
  switch (family) {
    case AF_INET:
      return "AF_INET";
    case AF_INET6:
      return "AF_INET6";
    case AF_UNIX:
      return "AF_UNIX";
    default:
      return "unknown family";
  }
}
}  // namespace

unique_fd open_socket(int family, int type, int protocol) {
  int fd = ::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
  if (fd < 0) throw_os_error(errno, std::string("socket(") + family_name(family) + ")");
  return unique_fd(fd);
}

void set_int_option(int fd, int level, int name, int value, const char* what) {
  if (::setsockopt(fd, level, name, &value, sizeof value) != 0) throw_os_error(errno, what);
}

sock_address local_address(int fd) {
  sock_address a;
  a.size = sizeof a.storage;
  if (::getsockname(fd, a.data(), &a.size) != 0) throw_os_error(errno, "getsockname");
  return a;
}

std::string host_port(std::string_view host, unsigned short port) {
  std::string out;
  bool v6 = !host.empty() && host.find(':') != std::string_view::npos && host.front() != '[';
  if (v6) out += '[';
  out += host;
  if (v6) out += ']';
  out += ':';
  out += std::to_string(port);
  return out;
}

}  // namespace aio::detail
