// SPDX-License-Identifier: MIT
#pragma once
// Helpers of the connection and server tests: byte-level I/O on a
// transport, open-fd counting, and a "blackhole" listener whose accept queue
// is full so that the kernel drops new SYNs (a connect that never answers,
// deterministic and on loopback).
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "aio/aio.hpp"
#include "aio/net/open_connection.hpp"
#include "aio/net/start_server.hpp"

namespace aio::test {

inline std::span<const std::byte> as_bytes_of(std::string_view s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

/// Writes all of `s` to `t`.
inline task<> write_all(transport& t, std::string_view s) {
  auto b = as_bytes_of(s);
  while (!b.empty()) b = b.subspan(co_await t.write_some(b));
}

/// Reads exactly `n` bytes (fewer only at end of stream).
inline task<std::string> read_n(transport& t, std::size_t n) {
  std::string out(n, '\0');
  std::size_t got = 0;
  while (got < n) {
    std::size_t r =
        co_await t.read_some(std::as_writable_bytes(std::span(out.data() + got, n - got)));
    if (r == 0) break;
    got += r;
  }
  out.resize(got);
  co_return out;
}

/// Reads until end of stream.
inline task<std::string> read_to_eof(transport& t) {
  std::string out;
  char buf[4096];
  for (;;) {
    std::size_t r = co_await t.read_some(std::as_writable_bytes(std::span(buf)));
    if (r == 0) co_return out;
    out.append(buf, r);
  }
}

/// How many file descriptors this process has open.
inline int count_open_fds() {
  int n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (dirent* e = ::readdir(d))
      if (e->d_name[0] != '.') ++n;
    ::closedir(d);
  }
  return n - 1;  // the directory's own fd
}

/// True when the loopback has an IPv6 address (::1).
inline bool has_ipv6_loopback() {
  int fd = ::socket(AF_INET6, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sock_address a = sock_address::from_ip("::1", 0);
  bool ok = ::bind(fd, a.data(), a.size) == 0;
  ::close(fd);
  return ok;
}

/// A TCP socket bound to `ip`:`port` (0: any free port), in one of three
/// states:
///  - refusing: bound, not listening: connects are refused, and nobody else
///    can take the port meanwhile;
///  - listening: connects complete in the kernel's backlog (never accepted);
///  - blackhole: listening with a full accept queue (backlog 0 plus one
///    queued connection), so the kernel drops new SYNs: a connect that
///    neither succeeds nor fails until the client gives up. Deterministic,
///    and on loopback.
struct test_port {
  enum mode { refusing, listening, blackhole };
  int fd = -1;
  int filler = -1;
  sock_address addr;
  test_port(mode m, const char* ip, unsigned short port = 0) {
    addr = sock_address::from_ip(ip, port);
    fd = ::socket(addr.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
    int err = 0;
    if (::bind(fd, addr.data(), addr.size) != 0)
      err = errno;
    else if (m != refusing && ::listen(fd, m == blackhole ? 0 : 64) != 0)
      err = errno;
    if (!err) {
      addr.size = sizeof addr.storage;
      ::getsockname(fd, addr.data(), &addr.size);
    }
    if (!err && m == blackhole) {
      filler = ::socket(addr.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (::connect(filler, addr.data(), addr.size) != 0) err = errno;  // sits in the accept queue
    }
    if (err) {
      close_all();
      throw std::system_error(err, std::generic_category(), std::string("test_port ") + ip);
    }
  }
  ~test_port() { close_all(); }
  test_port(const test_port&) = delete;
  unsigned short port() const { return addr.port(); }

 private:
  void close_all() {
    if (filler >= 0) ::close(filler);
    if (fd >= 0) ::close(fd);
    filler = fd = -1;
  }
};

/// Two test ports with one port number: `v6` on [::1], `v4` on 127.0.0.1
/// ("localhost" then resolves to both, IPv6 first).
struct localhost_pair {
  std::unique_ptr<test_port> v6, v4;
  localhost_pair(test_port::mode m6, test_port::mode m4) {
    for (int attempt = 0;; ++attempt) {
      v6 = std::make_unique<test_port>(m6, "::1");
      try {
        v4 = std::make_unique<test_port>(m4, "127.0.0.1", v6->port());
        return;
      } catch (const std::system_error& e) {
        if (e.code().value() != EADDRINUSE || attempt > 50) throw;
      }
    }
  }
  unsigned short port() const { return v6->port(); }
};

/// A stand-in for TLS that checks the plumbing (who calls wrap_client /
/// wrap_server, with which name, under which deadline): the client sends
/// "HELLO <server_hostname>\n", the server answers "OK\n". `stall` makes
/// the handshake wait forever; a server that reads anything else fails it.
class fake_tls final : public secure_layer {
 public:
  mutable std::vector<std::string> client_names;
  mutable int server_handshakes = 0;
  bool stall = false;

  // No co_await inside a condition: GCC 12.2 lays out the frame of such a
  // coroutine wrongly when it has no local variable (GCC PR 106188).
  task<std::unique_ptr<transport>> wrap_client(std::unique_ptr<transport> inner,
                                               std::string server_hostname,
                                               std::string leftover) const override {
    (void)leftover;
    client_names.push_back(server_hostname);
    if (stall) co_await forever();
    co_await write_all(*inner, "HELLO " + server_hostname + "\n");
    std::string answer = co_await read_n(*inner, 3);
    if (answer != "OK\n")
      throw std::system_error(EPROTO, std::generic_category(), "fake handshake refused");
    co_return inner;
  }
  task<std::unique_ptr<transport>> wrap_server(std::unique_ptr<transport> inner,
                                               std::string leftover) const override {
    (void)leftover;
    ++server_handshakes;
    if (stall) co_await forever();
    std::string hello = co_await read_n(*inner, 6);
    if (hello != "HELLO ")
      throw std::system_error(EPROTO, std::generic_category(),
                              "fake handshake: not a client hello");
    for (std::byte c[1];;) {
      std::size_t n = co_await inner->read_some(c);
      if (n == 0 || static_cast<char>(c[0]) == '\n') break;
    }
    co_await write_all(*inner, "OK\n");
    co_return inner;
  }

 private:
  static task<> forever() {
    event never;
    co_await never.wait();
  }
};

}  // namespace aio::test
