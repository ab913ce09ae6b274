// SPDX-License-Identifier: MIT
// Making a server: resolve the host, bind a socket per address (or the Unix
// path), then listen unless asked not to yet.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

#include "aio/net/getaddrinfo.hpp"
#include "server_impl.hpp"

namespace aio::detail {

namespace {

void check_options(const server_options& o) {
  if (o.backlog < 0) throw std::invalid_argument("server_options: backlog must not be negative");
  if (o.family != AF_UNSPEC && o.family != AF_INET && o.family != AF_INET6)
    throw std::invalid_argument("server_options: family must be AF_UNSPEC, AF_INET or AF_INET6");
}

bool same_address(const sock_address& a, const sock_address& b) {
  return a.size == b.size && std::memcmp(&a.storage, &b.storage, a.size) == 0;
}

void set_port(sock_address& a, unsigned short port) {
  if (a.family() == AF_INET)
    reinterpret_cast<sockaddr_in*>(&a.storage)->sin_port = htons(port);
  else if (a.family() == AF_INET6)
    reinterpret_cast<sockaddr_in6*>(&a.storage)->sin6_port = htons(port);
}

unsigned short port_of(const sock_address& a) {
  if (a.family() == AF_INET)
    return ntohs(reinterpret_cast<const sockaddr_in*>(&a.storage)->sin_port);
  if (a.family() == AF_INET6)
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&a.storage)->sin6_port);
  return 0;
}

// Binds one TCP listener; nullptr when the family is not supported here
// (asyncio skips an address whose socket cannot be created).
std::unique_ptr<listener> bind_tcp(const sock_address& addr, const server_options& o) {
  int fd = ::socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    if (errno == EAFNOSUPPORT) return nullptr;
    throw_os_error(errno, "socket for " + addr.to_string());
  }
  auto l = std::make_unique<listener>();
  l->fd.reset(fd);
  if (o.reuse_address) set_int_option(fd, SOL_SOCKET, SO_REUSEADDR, 1, "setsockopt(SO_REUSEADDR)");
  if (o.reuse_port) set_int_option(fd, SOL_SOCKET, SO_REUSEPORT, 1, "setsockopt(SO_REUSEPORT)");
  if (addr.family() == AF_INET6)
    set_int_option(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1, "setsockopt(IPV6_V6ONLY)");
  // Accepted sockets inherit TCP_NODELAY from the listener: no setsockopt per connection.
  set_int_option(fd, IPPROTO_TCP, TCP_NODELAY, 1, "setsockopt(TCP_NODELAY)");
  if (::bind(fd, addr.data(), addr.size) != 0) throw_os_error(errno, "bind to " + addr.to_string());
  l->name = "server " + local_address(fd).to_string();
  return l;
}

// Binds every address; with port 0 they all share the port the first one got.
void bind_all(server_core& core, const std::vector<sock_address>& addrs, unsigned short port) {
  for (int attempt = 0;; ++attempt) {
    core.listeners.clear();
    unsigned short chosen = port;
    try {
      for (sock_address a : addrs) {
        set_port(a, chosen);
        auto l = bind_tcp(a, core.options);
        if (!l) continue;
        if (chosen == 0) chosen = port_of(local_address(l->fd.get()));
        core.listeners.push_back(std::move(l));
      }
      return;
    } catch (const std::system_error& e) {
      // The port the first address got may be taken in another family: start over.
      bool retry =
          port == 0 && core.listeners.size() > 0 && e.code().value() == EADDRINUSE && attempt < 8;
      if (!retry) throw;
    }
  }
}

// server_options::sock: a duplicate of the caller's bound stream socket.
std::unique_ptr<listener> adopt_tcp(int sock) {
  int type = 0;
  socklen_t len = sizeof type;
  if (::getsockopt(sock, SOL_SOCKET, SO_TYPE, &type, &len) != 0)
    throw_os_error(errno, "server_options::sock " + std::to_string(sock));
  if (type != SOCK_STREAM)
    throw std::invalid_argument("server_options::sock: not a stream socket");
  int fd = ::fcntl(sock, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) throw_os_error(errno, "dup of server_options::sock");
  auto l = std::make_unique<listener>();
  l->fd.reset(fd);
  l->shared = true;
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)
    throw_os_error(errno, "fcntl(O_NONBLOCK) on server_options::sock");
  l->name = "server " + local_address(fd).to_string();
  return l;
}

}  // namespace

task<server> make_tcp_server(std::unique_ptr<connection_handler> handler,
                             std::vector<std::string> hosts, unsigned short port,
                             server_options options) {
  check_options(options);
  if (hosts.empty()) hosts.emplace_back();
  bool every_interface = false;
  for (const auto& h : hosts) every_interface = every_interface || h.empty();
  if (options.sock >= 0) {
    if (!(every_interface && hosts.size() == 1) || port != 0)
      throw std::invalid_argument("start_server: give host and port or server_options::sock, not both");
    auto* owned = new server_core(get_running_loop(), std::move(handler), std::move(options));
    server srv(owned);
    owned->listeners.push_back(adopt_tcp(owned->options.sock));
    if (owned->options.start_serving) owned->start_serving();
    co_return srv;
  }
  std::vector<sock_address> addrs;
  auto add = [&addrs](const sock_address& address) {
    bool seen = false;
    for (auto& a : addrs) seen = seen || same_address(a, address);
    if (!seen) addrs.push_back(address);
  };
  if (every_interface) {  // "" among the hosts: every interface covers the others
    if (options.family != AF_INET6) add(sock_address::from_ip("0.0.0.0", port));
    if (options.family != AF_INET) add(sock_address::from_ip("::", port));
  } else {
    for (const auto& host : hosts) {
      std::vector<address_info> found = co_await getaddrinfo(host, port, options.family, SOCK_STREAM);
      for (auto& ai : found) add(ai.address);
    }
  }
  auto* owned = new server_core(get_running_loop(), std::move(handler), std::move(options));
  server srv(owned);  // from here on, an exception closes and releases the core
  server_core& core = *owned;
  bind_all(core, addrs, port);
  if (core.listeners.empty())
    throw_os_error(EADDRNOTAVAIL,
                   "no address to listen on for " + host_port(every_interface ? "*" : hosts.front(), port));
  if (core.options.start_serving) core.start_serving();
  co_return srv;
}

task<server> make_unix_server(std::unique_ptr<connection_handler> handler, std::string path,
                              server_options options) {
  check_options(options);
  sock_address addr = sock_address::from_unix(path);
  bool abstract = path.front() == '@';
  if (!abstract) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(path.c_str());
  }
  auto* owned = new server_core(get_running_loop(), std::move(handler), std::move(options));
  server srv(owned);  // from here on, an exception closes and releases the core
  server_core& core = *owned;
  auto l = std::make_unique<listener>();
  l->fd = open_socket(AF_UNIX);
  if (::bind(l->fd.get(), addr.data(), addr.size) != 0) throw_os_error(errno, "bind to " + path);
  l->name = "server " + path;
  if (!abstract && core.options.cleanup_socket) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) {
      l->unix_path = path;
      l->unix_dev = st.st_dev;
      l->unix_ino = st.st_ino;
    }
  }
  core.listeners.push_back(std::move(l));
  if (core.options.start_serving) core.start_serving();
  co_return srv;
}

}  // namespace aio::detail
