// SPDX-License-Identifier: MIT
#pragma once
// Helpers of the stream tests: stream pairs over socketpairs and TCP
// loopback, a raw RST, and a Python asyncio peer.

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <utility>
#include <vector>

#include "aio/aio.hpp"
#include "aio_test.hpp"

namespace stream_test {

using streams = std::pair<aio::stream_reader, aio::stream_writer>;

/// Both ends of a connected AF_UNIX socketpair as streams.
inline std::pair<streams, streams> unix_pair(const aio::stream_options& a = {},
                                             const aio::stream_options& b = {}) {
  aio::test::socket_pair sp;
  auto x = aio::make_streams(aio::make_fd_transport(std::exchange(sp.a, -1)), a);
  auto y = aio::make_streams(aio::make_fd_transport(std::exchange(sp.b, -1)), b);
  return {std::move(x), std::move(y)};
}

/// A connected TCP loopback pair of fds (client, server).
inline aio::task<std::pair<int, int>> tcp_fds() {
  aio::test::tcp_listener l;
  int c = aio::test::tcp_socket();
  co_await aio::sock_connect(c, l.addr);
  auto acc = co_await aio::sock_accept(l.fd);
  co_return std::pair{c, acc.fd};
}

/// Both ends of a TCP loopback connection as streams (client, server).
inline aio::task<std::pair<streams, streams>> tcp_pair(aio::stream_options a = {},
                                                       aio::stream_options b = {}) {
  auto [c, s] = co_await tcp_fds();
  co_return std::pair{aio::make_streams(aio::make_fd_transport(c), a),
                      aio::make_streams(aio::make_fd_transport(s), b)};
}

/// Streams over a TCP connection to 127.0.0.1:`port`.
inline aio::task<streams> connect_tcp(unsigned short port, aio::stream_options o = {}) {
  int fd = aio::test::tcp_socket();
  co_await aio::sock_connect(fd, aio::sock_address::from_ip("127.0.0.1", port));
  co_return aio::make_streams(aio::make_fd_transport(fd), o);
}

/// Makes close(fd) send RST instead of FIN (SO_LINGER 0), then closes it.
inline void reset_and_close(int fd) {
  linger lg{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  ::close(fd);
}

/// Shrinks a socket's kernel buffers so that backpressure shows quickly.
inline void small_buffers(int fd, int sz = 64 * 1024) {
  ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
}

/// A Python asyncio program (Debian's python3) that prints a port first
/// (`script` is its source, `args` its sys.argv[1:]); what it prints later
/// is read through `out` without blocking the loop.
struct python_peer {
  aio::test::child_process proc;
  unsigned short port = 0;
  aio::stream_reader out;
  explicit python_peer(const std::string& script, std::vector<std::string> args = {})
      : proc(argv(script, std::move(args))) {
    std::string first = proc.read_line();
    port = static_cast<unsigned short>(std::stoi(first));
    out = aio::connect_read_pipe(::dup(proc.out));
  }
  static std::vector<std::string> argv(const std::string& script, std::vector<std::string> args) {
    std::vector<std::string> v{"/usr/bin/python3", "-c", script};
    v.insert(v.end(), args.begin(), args.end());
    return v;
  }
};

/// Lets the loop run until `cond()` holds (checked every millisecond, for
/// up to 10 s): for states another task reaches, without betting on a sleep.
template <class F>
aio::task<bool> eventually(F cond) {
  for (int i = 0; i < 10000; ++i) {
    if (cond()) co_return true;
    co_await aio::sleep(std::chrono::milliseconds(1));
  }
  co_return cond();
}

/// Repeats `pattern` up to `n` bytes.
inline std::string pattern(std::size_t n,
                           std::string_view p = "0123456789abcdefghijklmnopqrstuvwxyz") {
  std::string s;
  s.reserve(n);
  while (s.size() < n) s.append(p.substr(0, std::min(p.size(), n - s.size())));
  return s;
}

}  // namespace stream_test
