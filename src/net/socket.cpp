// SPDX-License-Identifier: MIT
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <stdexcept>
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

sock_address unix_address(std::string_view path) {
  sock_address a;
  auto* un = reinterpret_cast<sockaddr_un*>(&a.storage);
  un->sun_family = AF_UNIX;
  if (path.empty()) throw std::invalid_argument("Unix socket path is empty");
  bool abstract = path.front() == '@';
  // A filesystem path needs its terminating NUL inside sun_path; an abstract
  // name is its bytes after the leading NUL, without a terminator.
  std::size_t room = sizeof un->sun_path - (abstract ? 0 : 1);
  if (path.size() > room)
    throw std::invalid_argument("Unix socket path '" + std::string(path) + "' is longer than " +
                                std::to_string(room) + " bytes");
  std::memcpy(un->sun_path, path.data(), path.size());
  if (abstract) un->sun_path[0] = '\0';
  a.size =
      static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + (abstract ? 0 : 1));
  return a;
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
