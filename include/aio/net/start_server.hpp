// SPDX-License-Identifier: MIT
#pragma once
// Serving: start_server listens on a host and port (every address of the
// host), accepts connections and runs `handler(reader, writer)` for each one
// as a task the server owns, like asyncio.start_server. create_server is the
// same one level lower (the handler receives the transport, as asyncio's
// protocol would). The Unix variants listen on a socket path.
//
//   auto srv = co_await aio::start_server(
//       [](aio::stream_reader r, aio::stream_writer w) -> aio::task<> {
//         co_await w.write(co_await r.readline());
//       },
//       "127.0.0.1", 8080);
//   co_await srv.serve_forever();
//
// Lifecycle, as asyncio's Server: close() stops accepting (handlers go on);
// wait_closed() waits for the handlers; shutdown(grace) does both and
// cancels the handlers still running after `grace`. An exception escaping a
// handler goes to the loop's exception handler and closes that connection;
// the server keeps serving.

#include <sys/socket.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "aio/core/loop.hpp"
#include "aio/core/sock.hpp"
#include "aio/core/task.hpp"
#include "aio/net/stream.hpp"
#include "aio/net/transport.hpp"

namespace aio {

/// Options of start_server / create_server (asyncio's keyword arguments).
/// Set the fields on a variable (`aio::server_options o; o.backlog = 1000;`):
/// not an aggregate on purpose, as connect_options (GCC 12 destroys an
/// aggregate temporary inside a co_await expression twice).
struct server_options {
  server_options() noexcept = default;
  /// listen() backlog (asyncio's default, 100). Also the most connections
  /// accepted in one go before the accept loop lets the handlers run.
  int backlog = 100;
  /// SO_REUSEADDR (asyncio's default on POSIX: on). TCP only.
  bool reuse_address = true;
  /// SO_REUSEPORT: several processes or loops may listen on one port. TCP only.
  bool reuse_port = false;
  /// AF_UNSPEC, AF_INET or AF_INET6: which addresses of `host` to listen on.
  int family = AF_UNSPEC;
  /// TLS: every accepted connection goes through `ssl->wrap_server` first.
  std::shared_ptr<const secure_layer> ssl;
  /// Deadline of each TLS handshake (asyncio's 60 s); a connection that
  /// misses it is closed without reaching the handler.
  std::chrono::milliseconds ssl_handshake_timeout{60'000};
  /// At most this many connections at once (0: unlimited). At the limit the
  /// server stops accepting until a handler finishes; new clients wait in
  /// the listen backlog (their connect may complete there, their data waits).
  std::size_t max_connections = 0;
  /// Listen and accept at once (asyncio's default); false: only bind, and
  /// start with start_serving() or serve_forever().
  bool start_serving = true;
  /// Unix servers: remove the socket file when the server closes, if it is
  /// still ours (asyncio 3.13's cleanup_socket). A stale socket file at the
  /// path is always removed before binding, as asyncio does.
  bool cleanup_socket = true;
  /// Each connection's stream buffers (asyncio's `limit`, and the write
  /// buffer's high/low water marks). start_server only.
  stream_options streams;
  /// Like asyncio's `sock=`: serve on this already bound TCP socket instead
  /// of binding `host`/`port` (which must then be "" and 0). The server
  /// works on a duplicate (the caller keeps `sock` open and owns it), sets
  /// it non-blocking and listens on it; close() stops this server accepting
  /// without shutting the socket down, so other processes or loops sharing
  /// it (a socket opened before fork, aio::workers) keep accepting from the
  /// same queue. -1: bind host and port.
  int sock = -1;
};

class server;

namespace detail {
class server_core;

/// What serves one accepted connection: the server's handler, type-erased
/// once per server (not per connection). `serve` returns the handler's task,
/// which the connection's task awaits.
class connection_handler {
 public:
  virtual ~connection_handler() = default;
  virtual task<> serve(std::unique_ptr<transport> t) = 0;
};

template <class F>
class transport_handler final : public connection_handler {
 public:
  explicit transport_handler(F f) : f_(std::move(f)) {}
  task<> serve(std::unique_ptr<transport> t) override { return std::invoke(f_, std::move(t)); }

 private:
  F f_;
};

template <class F>
class stream_handler final : public connection_handler {
 public:
  stream_handler(F f, const stream_options& o) : f_(std::move(f)), options_(o) {}
  task<> serve(std::unique_ptr<transport> t) override {
    auto streams = make_streams(std::move(t), options_);
    return std::invoke(f_, std::move(streams.first), std::move(streams.second));
  }

 private:
  F f_;
  stream_options options_;
};

task<server> make_tcp_server(std::unique_ptr<connection_handler> handler,
                             std::vector<std::string> hosts, unsigned short port,
                             server_options options);
task<server> make_unix_server(std::unique_ptr<connection_handler> handler, std::string path,
                              server_options options);
}  // namespace detail

/// Like `asyncio.Server`: the listening sockets and the connections they
/// accepted. Movable, not copyable; destroying it closes it (like close():
/// handlers keep running). Loop thread only; destroy it before its loop.
class server {
 public:
  /// An empty server (only destroy or assign to it).
  server() noexcept = default;
  explicit server(detail::server_core* core) noexcept : core_(core) {}
  server(server&& o) noexcept : core_(std::exchange(o.core_, nullptr)) {}
  server& operator=(server&& o) noexcept;
  ~server();

  /// Like `Server.sockets`: the addresses listened on (ask it for the port
  /// after binding port 0). Empty once closed.
  std::vector<sock_address> sockets() const;
  /// Like `Server.is_serving()`: accepting connections.
  bool is_serving() const noexcept;
  /// Like `await Server.start_serving()`: listen and accept (idempotent).
  /// invalid_state_error once closed.
  task<> start_serving();
  /// Like `await Server.serve_forever()`: starts serving and waits until the
  /// server is closed. Cancelling it closes the server and waits for the
  /// handlers (wait_closed), then throws cancelled_error, as asyncio does.
  /// Difference: when close() is called elsewhere, serve_forever returns
  /// normally (asyncio raises CancelledError in that case). Throws
  /// invalid_state_error if already awaited elsewhere or closed.
  task<> serve_forever();
  /// Like `Server.close()`: stops listening at once (new connects are
  /// refused, connections not yet accepted are reset); running handlers go
  /// on. Idempotent.
  void close();
  /// Like `Server.close_clients()` (3.13): closes every connection's
  /// transport (the peer gets FIN after what the kernel already holds; the
  /// handler's reads see end of stream, its writes fail). A connection still
  /// in its TLS handshake is cancelled.
  void close_clients();
  /// Like `Server.abort_clients()` (3.13): as close_clients, but resets the
  /// connections (SO_LINGER 0: RST, unsent bytes dropped).
  void abort_clients();
  /// Like `await Server.wait_closed()` (3.12+): waits until the server is
  /// closed and every connection's handler has finished. Cancel-safe (only
  /// the wait is abandoned). Any number of tasks may wait.
  task<> wait_closed();
  /// Graceful shutdown: close(), wait up to `grace` for the handlers, then
  /// cancel the handlers still running and wait for them to finish.
  /// Cancelled while waiting: the server stays closed, the handlers go on.
  task<> shutdown(std::chrono::milliseconds grace);
  /// Connections whose handler is running.
  std::size_t active_connections() const noexcept;
  /// Like `Server.get_loop()`.
  event_loop& get_loop() const;
  /// True unless empty or moved from.
  explicit operator bool() const noexcept { return core_ != nullptr; }

 private:
  detail::server_core& core() const;
  detail::server_core* core_ = nullptr;
};

/// Like `loop.create_server(protocol_factory, host, port, …)` with a
/// coroutine in place of the protocol: `handler(std::unique_ptr<transport>)
/// -> task<>` runs for each connection. `host` "" listens on every
/// interface (0.0.0.0 and ::), "0.0.0.0" or "::" on every interface of one
/// family, a name on each of its addresses (IPv6 sockets are IPV6_V6ONLY,
/// as asyncio sets them). Port 0 picks a free port; with several addresses,
/// unlike asyncio, they all get the same one. Throws std::system_error
/// naming the address (EADDRINUSE…) or the resolver's error. Cancel-safe:
/// a cancelled start closes the sockets it opened.
template <class Handler>
requires std::is_invocable_r_v<task<>, Handler&, std::unique_ptr<transport>> task<server>
create_server(Handler handler, std::string host, unsigned short port, server_options options = {}) {
  return detail::make_tcp_server(
      std::make_unique<detail::transport_handler<Handler>>(std::move(handler)),
      {std::move(host)}, port, std::move(options));
}

/// Like `loop.create_server(…, host=[…])` with a sequence of hosts: one
/// server listening on the addresses of every host (duplicates bound once;
/// "" among them means every interface). All share one port (port 0: the
/// first address picks it). An empty list is "". Throws as create_server.
/// Pass a named vector: GCC 12 cannot compile a braced list inside co_await.
template <class Handler>
requires std::is_invocable_r_v<task<>, Handler&, std::unique_ptr<transport>> task<server>
create_server(Handler handler, std::vector<std::string> hosts, unsigned short port,
              server_options options = {}) {
  return detail::make_tcp_server(
      std::make_unique<detail::transport_handler<Handler>>(std::move(handler)), std::move(hosts),
      port, std::move(options));
}

/// Like `loop.create_unix_server(…, path)`: create_server on a Unix socket
/// path ('@' first: the abstract namespace). A stale socket file at `path`
/// is removed first (another kind of file there is EADDRINUSE). Throws
/// std::system_error naming the path; std::invalid_argument for an empty or
/// too long path.
template <class Handler>
requires std::is_invocable_r_v<task<>, Handler&, std::unique_ptr<transport>> task<server>
create_unix_server(Handler handler, std::string path, server_options options = {}) {
  return detail::make_unix_server(
      std::make_unique<detail::transport_handler<Handler>>(std::move(handler)), std::move(path),
      std::move(options));
}

/// Like `asyncio.start_server(client_connected_cb, host, port, …)`:
/// `handler(stream_reader, stream_writer) -> task<>` runs for each
/// connection as a task the server owns, named "server <address> conn
/// <peer>". Where and how it listens, and what it throws: as create_server.
/// The connection closes when the handler has returned and dropped its
/// streams (or on writer.close()); an exception escaping the handler is
/// passed to the loop's exception handler ("Unhandled exception in
/// client_connected_cb") and closes the connection.
template <class Handler>
requires std::is_invocable_r_v<task<>, Handler&, stream_reader, stream_writer> task<server>
start_server(Handler handler, std::string host, unsigned short port, server_options options = {}) {
  auto h = std::make_unique<detail::stream_handler<Handler>>(std::move(handler), options.streams);
  return detail::make_tcp_server(std::move(h), {std::move(host)}, port, std::move(options));
}

/// Like `asyncio.start_server(cb, host=[…], port)`: start_server listening
/// on the addresses of every host in the list (see the list form of
/// create_server).
template <class Handler>
requires std::is_invocable_r_v<task<>, Handler&, stream_reader, stream_writer> task<server>
start_server(Handler handler, std::vector<std::string> hosts, unsigned short port,
             server_options options = {}) {
  auto h = std::make_unique<detail::stream_handler<Handler>>(std::move(handler), options.streams);
  return detail::make_tcp_server(std::move(h), std::move(hosts), port, std::move(options));
}

/// Like `asyncio.start_unix_server(client_connected_cb, path, …)`:
/// start_server on a Unix socket path (see create_unix_server).
template <class Handler>
requires std::is_invocable_r_v<task<>, Handler&, stream_reader, stream_writer> task<server>
start_unix_server(Handler handler, std::string path, server_options options = {}) {
  auto h = std::make_unique<detail::stream_handler<Handler>>(std::move(handler), options.streams);
  return detail::make_unix_server(std::move(h), std::move(path), std::move(options));
}

}  // namespace aio
