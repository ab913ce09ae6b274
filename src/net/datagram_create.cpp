// SPDX-License-Identifier: MIT
// create_datagram_endpoint: resolving, binding and connecting the socket, the
// way asyncio's loop.create_datagram_endpoint goes about it.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <exception>
#include <stdexcept>
#include <system_error>
#include <utility>
#include <vector>

#include "aio/net/getaddrinfo.hpp"
#include "datagram_impl.hpp"
#include "socket_impl.hpp"

namespace aio {

namespace {

// The socket helpers the stream side uses too (socket_impl.hpp).
using detail::throw_os_error;
using unique_socket = detail::unique_fd;

unique_socket open_dgram(int family) { return detail::open_socket(family, SOCK_DGRAM); }

void set_flag(int fd, int name, const char* what) { detail::set_int_option(fd, SOL_SOCKET, name, 1, what); }

datagram_endpoint make_endpoint(unique_socket& fd, int family) {
  // The state takes the fd only once it exists: a failed allocation leaves it to `fd` to close.
  auto st = std::make_shared<datagram_endpoint::state>(fd.get(), family);
  fd.release();
  return datagram_endpoint(std::move(st));
}

datagram_endpoint open_unix(const datagram_options& o) {
  if (o.reuse_port || o.allow_broadcast)
    throw std::invalid_argument(
        "create_datagram_endpoint: reuse_port and allow_broadcast apply to UDP only");
  unique_socket s = open_dgram(AF_UNIX);
  if (!o.local_path.empty()) {
    sock_address a = sock_address::from_unix(o.local_path);
    // As asyncio does: a socket file left by an earlier run is replaced,
    // anything else at the path is an error (EADDRINUSE from bind).
    struct stat st {};
    if (o.local_path.front() != '@' && ::stat(o.local_path.c_str(), &st) == 0 &&
        S_ISSOCK(st.st_mode))
      ::unlink(o.local_path.c_str());
    if (::bind(s.get(), a.data(), a.size) != 0)
      throw_os_error(errno, "bind Unix datagram socket to " + o.local_path);
  } else {
    // Autobind: the kernel picks a unique abstract name, so replies can come back.
    sockaddr_un un{};
    un.sun_family = AF_UNIX;
    if (::bind(s.get(), reinterpret_cast<sockaddr*>(&un), sizeof un.sun_family) != 0)
      throw_os_error(errno, "autobind Unix datagram socket");
  }
  if (!o.remote_path.empty()) {
    sock_address a = sock_address::from_unix(o.remote_path);
    if (::connect(s.get(), a.data(), a.size) != 0)
      throw_os_error(errno, "connect Unix datagram socket to " + o.remote_path);
  }
  return make_endpoint(s, AF_UNIX);
}

void apply_options(int fd, const datagram_options& o) {
  if (o.reuse_port) set_flag(fd, SO_REUSEPORT, "setsockopt(SO_REUSEPORT)");
  if (o.allow_broadcast) set_flag(fd, SO_BROADCAST, "setsockopt(SO_BROADCAST)");
}

const address_info* first_of(const std::vector<address_info>& infos, int family) {
  for (auto& ai : infos)
    if (ai.family == family) return &ai;
  return nullptr;
}

std::string name(const host_port& hp) {
  bool v6 = hp.host.find(':') != std::string::npos && hp.host.front() != '[';
  return (v6 ? "[" + hp.host + "]" : hp.host) + ":" + std::to_string(hp.port);
}

}  // namespace

task<datagram_endpoint> create_datagram_endpoint(datagram_options o) {
  bool unix_socket = !o.local_path.empty() || !o.remote_path.empty() || o.family == AF_UNIX;
  if (unix_socket) {
    if (o.local_addr || o.remote_addr)
      throw std::invalid_argument(
          "create_datagram_endpoint: local_path/remote_path exclude local_addr/remote_addr");
    if (o.family != AF_UNSPEC && o.family != AF_UNIX)
      throw std::invalid_argument("create_datagram_endpoint: a Unix path needs family AF_UNIX");
    co_return open_unix(o);
  }
  if (o.family != AF_UNSPEC && o.family != AF_INET && o.family != AF_INET6)
    throw std::invalid_argument(
        "create_datagram_endpoint: family must be AF_UNSPEC, AF_INET, AF_INET6 or AF_UNIX");
  if (!o.local_addr && !o.remote_addr) {
    if (o.family == AF_UNSPEC)
      throw std::invalid_argument(
          "create_datagram_endpoint: give local_addr, remote_addr, local_path, remote_path or a "
          "family");
    unique_socket s = open_dgram(o.family);
    apply_options(s.get(), o);
    co_return make_endpoint(s, o.family);
  }
  std::vector<address_info> locals, remotes;
  if (o.local_addr)
    locals = co_await getaddrinfo(o.local_addr->host, o.local_addr->port, o.family, SOCK_DGRAM);
  if (o.remote_addr)
    remotes = co_await getaddrinfo(o.remote_addr->host, o.remote_addr->port, o.family, SOCK_DGRAM);

  // One attempt per address family, in the resolver's order, with the first
  // address of that family on each side (asyncio pairs them the same way).
  std::vector<int> families;
  for (auto& ai : remotes.empty() ? locals : remotes)
    if (std::find(families.begin(), families.end(), ai.family) == families.end())
      families.push_back(ai.family);
  std::exception_ptr last;
  for (int family : families) {
    const address_info* local = first_of(locals, family);
    const address_info* remote = first_of(remotes, family);
    if ((o.local_addr && !local) || (o.remote_addr && !remote)) continue;
    try {
      unique_socket s = open_dgram(family);
      apply_options(s.get(), o);
      if (local && ::bind(s.get(), local->address.data(), local->address.size) != 0)
        throw_os_error(errno, "bind UDP socket to " + local->address.to_string());
      // A UDP connect only records the peer: it never waits.
      if (remote && ::connect(s.get(), remote->address.data(), remote->address.size) != 0)
        throw_os_error(errno, "connect UDP socket to " + remote->address.to_string());
      co_return make_endpoint(s, family);
    } catch (const std::system_error&) {
      last = std::current_exception();
    }
  }
  if (last) std::rethrow_exception(last);
  throw std::system_error(EAFNOSUPPORT, std::system_category(),
                          "create_datagram_endpoint: local_addr " + name(*o.local_addr) +
                              " and remote_addr " + name(*o.remote_addr) +
                              " have no address family in common");
}

}  // namespace aio
