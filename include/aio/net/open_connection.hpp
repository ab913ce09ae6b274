// SPDX-License-Identifier: MIT
#pragma once
// Connecting: open_connection resolves a host, connects to one of its
// addresses (one after another, or with Happy Eyeballs when
// `happy_eyeballs_delay` is set), optionally wraps the connection in TLS,
// and hands back a stream pair. create_connection stops one step earlier and
// returns the transport (asyncio's loop.create_connection, without a
// protocol). open_unix_connection does the same over a Unix socket path.
//
//   auto [reader, writer] = co_await aio::open_connection("127.0.0.1", 8080);
//
//   aio::connect_options o;
//   o.ssl = tls_ctx;  o.connect_timeout = 5s;  o.happy_eyeballs_delay = 250ms;
//   auto [r, w] = co_await aio::open_connection("example.org", 443, o);
//
// TCP connections get TCP_NODELAY, as asyncio sets it.

#include <sys/socket.h>

#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "aio/core/sock.hpp"
#include "aio/core/task.hpp"
#include "aio/net/stream.hpp"
#include "aio/net/transport.hpp"

namespace aio {

/// Options of open_connection / create_connection (asyncio's keyword
/// arguments). For the Unix variants only `ssl`, `server_hostname`,
/// `connect_timeout` and `ssl_handshake_timeout` apply; setting the others
/// there is std::invalid_argument.
///
/// Set the fields on a variable (`aio::connect_options o; o.ssl = ctx;`).
/// Deliberately not an aggregate, so `{.ssl = ctx}` does not compile: GCC 12
/// destroys an aggregate temporary written inside a co_await expression
/// twice, which would corrupt the shared_ptr and string members.
struct connect_options {
  connect_options() noexcept = default;
  /// TLS: after connecting, `ssl->wrap_client(transport, server_hostname or host)`.
  std::shared_ptr<const secure_layer> ssl;
  /// The name TLS verifies and sends as SNI; empty: the `host` argument.
  /// Setting it without `ssl` is std::invalid_argument (as in asyncio).
  std::string server_hostname;
  /// Bind the socket to this address before connecting (asyncio's
  /// local_addr). Only addresses of its family are tried.
  std::optional<sock_address> local_addr;
  /// Deadline for resolving and connecting (every address together; not the
  /// TLS handshake). Zero: none. Passed: timeout_error naming host:port.
  std::chrono::milliseconds connect_timeout{0};
  /// Deadline of the TLS handshake (asyncio's ssl_handshake_timeout, 60 s).
  std::chrono::milliseconds ssl_handshake_timeout{60'000};
  /// Happy Eyeballs (RFC 8305): start the next address when the previous
  /// attempt has not succeeded after this delay (or failed); the first
  /// success wins and the others are cancelled. nullopt (asyncio's default):
  /// addresses are tried one after another. RFC 8305 recommends 250 ms.
  std::optional<std::chrono::milliseconds> happy_eyeballs_delay;
  /// Reorder the addresses by family before trying them (asyncio's
  /// interleave): this many of the first family, then one of each family in
  /// turn. 0: 1 when happy_eyeballs_delay is set, else no reordering.
  int interleave = 0;
  /// AF_UNSPEC, AF_INET or AF_INET6: which addresses of `host` to try.
  int family = AF_UNSPEC;
  /// The stream pair's buffer limits (asyncio's `limit`, and the write
  /// buffer's high/low water marks). open_connection only.
  stream_options streams;
};

/// Every address of the host failed to connect. Like the OSError asyncio
/// raises: "Multiple exceptions: <each error>". code() is the first
/// attempt's error; exceptions() holds every attempt's std::system_error,
/// in the order the addresses were tried.
class connect_error : public std::system_error {
 public:
  connect_error(std::error_code code, std::string message,
                std::vector<std::exception_ptr> exceptions);
  const char* what() const noexcept override { return message_.c_str(); }
  const std::vector<std::exception_ptr>& exceptions() const noexcept { return exceptions_; }

 private:
  std::string message_;
  std::vector<std::exception_ptr> exceptions_;
};

/// Like `loop.create_connection(…, host, port, …)`, returning the connected
/// transport (a plain socket transport, or the TLS one when `options.ssl`).
/// Throws: std::system_error naming the address (e.g. "connect to
/// 127.0.0.1:8080: Connection refused") when the only address fails, or
/// when all addresses fail with the same message; connect_error when
/// several fail differently; the resolver's std::system_error when `host`
/// does not resolve; timeout_error naming host:port when connect_timeout
/// passes; the secure layer's error when the TLS handshake fails.
/// Cancel-safe: a cancelled connect (during resolution, any attempt, or the
/// handshake) closes every socket it opened.
task<std::unique_ptr<transport>> create_connection(std::string host, unsigned short port,
                                                   connect_options options = {});

/// Like `asyncio.open_connection(host, port, …)`: connects as
/// create_connection does, then returns the reader and writer of the
/// connection (buffers per `options.streams`). Throws as create_connection.
/// Cancel-safe: a cancelled call leaves no socket behind.
task<std::pair<stream_reader, stream_writer>> open_connection(std::string host, unsigned short port,
                                                              connect_options options = {});

/// Like `asyncio.open_unix_connection(path, …)`: create_unix_connection,
/// then the stream pair. Throws as create_unix_connection. Cancel-safe.
task<std::pair<stream_reader, stream_writer>> open_unix_connection(std::string path,
                                                                   connect_options options = {});

/// Like `loop.create_unix_connection(…, path)`, returning the transport.
/// `path` starting with '@' names Linux's abstract namespace. Throws
/// std::system_error naming the path (ENOENT, ECONNREFUSED…),
/// std::invalid_argument for an empty or too long path, timeout_error as
/// create_connection. With `ssl`, `server_hostname` is required (asyncio
/// requires it too). Cancel-safe like create_connection.
task<std::unique_ptr<transport>> create_unix_connection(std::string path,
                                                        connect_options options = {});

}  // namespace aio
