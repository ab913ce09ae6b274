// SPDX-License-Identifier: MIT
#pragma once
// UDP and Unix datagram sockets. asyncio's create_datagram_endpoint hands
// datagrams to a protocol's callbacks; aiocpp gives an awaitable endpoint
// instead (like Tokio's UdpSocket or the asyncio-dgram package):
//
//   aio::datagram_options opts;
//   opts.local_addr = aio::host_port("127.0.0.1", 9999);
//   auto ep = co_await aio::create_datagram_endpoint(opts);
//   for (;;) {
//     aio::datagram d = co_await ep.recvfrom();
//     co_await ep.sendto(d.data, d.from);
//   }
//
// A datagram longer than the size asked for is not silently cut as in
// asyncio: `datagram::truncated` says so (the kernel drops the tail).
// Any number of recvfrom/sendto calls may be in flight at once; each takes
// one whole datagram. A UDP endpoint connected with `remote_addr` learns of
// ICMP errors: after the peer's port answered "unreachable", the next recv or
// send throws std::system_error(ECONNREFUSED).

#include <sys/socket.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "aio/core/sock.hpp"
#include "aio/core/task.hpp"

namespace aio {

/// A host (name or literal address) and a port: asyncio's `(host, port)`.
/// (A constructor, not an aggregate: see datagram_options.)
struct host_port {
  host_port(std::string h, unsigned short p) : host(std::move(h)), port(p) {}
  std::string host;
  unsigned short port = 0;
};

/// The keyword arguments of `loop.create_datagram_endpoint`. Set the fields
/// on a variable (`aio::datagram_options o; o.local_addr = aio::host_port("::1", 0);`).
/// Deliberately not an aggregate, as connect_options: GCC 12 destroys an
/// aggregate temporary written inside a co_await expression twice.
struct datagram_options {
  datagram_options() = default;
  /// Bind to this address (asyncio's local_addr); port 0 picks a free one.
  std::optional<host_port> local_addr;
  /// Connect to this peer (asyncio's remote_addr): send()/recv() then talk
  /// to it only, and ICMP errors from it are reported.
  std::optional<host_port> remote_addr;
  /// AF_UNSPEC, AF_INET or AF_INET6: which addresses of the hosts to use.
  /// Without local_addr and remote_addr it is required (an unbound socket).
  int family = AF_UNSPEC;
  /// SO_REUSEPORT: several endpoints may bind the same address and port.
  bool reuse_port = false;
  /// SO_BROADCAST: sending to a broadcast address is allowed.
  bool allow_broadcast = false;
  /// A Unix datagram socket bound to this path ("@name": Linux's abstract
  /// namespace). A stale socket file at the path is removed first, as asyncio
  /// does; the file is not removed on close (as in asyncio).
  std::string local_path;
  /// A Unix datagram socket connected to this path ("@name": abstract).
  /// Without local_path the socket is auto-bound to an abstract address so
  /// that the peer can answer (asyncio leaves it unbound: no answer comes back).
  std::string remote_path;
};

/// An open datagram socket. Movable; closing it (or destroying the last
/// handle) makes every recv/send in flight throw. One loop thread only.
class datagram_endpoint {
 public:
  struct state;

  /// An endpoint that is already closed.
  datagram_endpoint() noexcept = default;
  explicit datagram_endpoint(std::shared_ptr<state> st) noexcept : st_(std::move(st)) {}
  datagram_endpoint(datagram_endpoint&&) noexcept = default;
  datagram_endpoint& operator=(datagram_endpoint&& o) noexcept;
  /// Closes the endpoint (see close()).
  ~datagram_endpoint();

  /// Receives one datagram of up to `max` bytes and its sender (asyncio:
  /// `datagram_received(data, addr)`; asyncio-dgram: `await recv()`).
  /// `truncated` is set when the datagram was longer than `max`. Throws
  /// std::system_error: ECONNREFUSED on a connected UDP endpoint after an
  /// ICMP port unreachable; EBADF once the endpoint is closed (also for a
  /// call in flight when close() is called). Cancel-safe: a cancelled call
  /// consumed no datagram.
  task<datagram> recvfrom(std::size_t max = 65536);
  /// recvfrom into a caller's buffer (no allocation); `buf` must outlive the
  /// call. Same errors and cancellation as recvfrom.
  task<received_from> recvfrom_into(std::span<std::byte> buf);
  /// recvfrom on a connected endpoint: the datagram comes from its peer.
  task<datagram> recv(std::size_t max = 65536) { return recvfrom(max); }

  /// Sends `data` as one datagram to `to` (asyncio: `transport.sendto(data,
  /// addr)`, which does not wait; this waits only while the socket buffer is
  /// full). Throws std::system_error naming the size and the address:
  /// EMSGSIZE for a datagram too large, ECONNREFUSED (see recvfrom), EBADF
  /// once closed. Cancel-safe: cancelled, nothing was sent. `data` must
  /// stay alive until the returned task completes.
  task<> sendto(std::string_view data, const sock_address& to);
  /// sendto a host name or literal address, resolved with aio::getaddrinfo
  /// for the endpoint's family (the first answer is used). Throws as
  /// getaddrinfo and sendto do. Cancel-safe as both are.
  task<> sendto(std::string_view data, std::string host, unsigned short port);
  /// Sends one datagram to the connected peer (asyncio: `transport.sendto(data)`
  /// with remote_addr). EDESTADDRREQ when not connected; otherwise as sendto.
  task<> send(std::string_view data);

  /// The bound address (asyncio: `get_extra_info('sockname')`). Throws
  /// std::system_error(EBADF) once closed.
  sock_address sockname() const;
  /// The connected peer (`get_extra_info('peername')`), or nullopt.
  std::optional<sock_address> peername() const;
  /// The address family: AF_INET, AF_INET6 or AF_UNIX (AF_UNSPEC once closed).
  int family() const noexcept;
  /// The socket's fd, or -1 once closed. Still owned by the endpoint.
  int fd() const noexcept;

  /// Like `transport.close()`: idempotent, never blocks. Calls in flight
  /// are abandoned and throw std::system_error(EBADF); the socket is closed
  /// once the last of them has left the kernel.
  void close() noexcept;
  /// Like `transport.is_closing()`.
  bool is_closing() const noexcept;

 private:
  std::shared_ptr<state> st_;
};

/// Like `loop.create_datagram_endpoint(…)` without a protocol: a UDP socket
/// bound to `local_addr` and/or connected to `remote_addr` (names resolved
/// with aio::getaddrinfo; each address family is tried in turn, as asyncio
/// does), or a Unix datagram socket (`local_path` / `remote_path`). Throws
/// std::invalid_argument for contradictory options, std::system_error naming
/// the address for a failed resolve, bind or connect. Cancel-safe: a
/// cancelled call (during name resolution) leaves no socket behind.
task<datagram_endpoint> create_datagram_endpoint(datagram_options options);

}  // namespace aio
