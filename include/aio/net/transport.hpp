// SPDX-License-Identifier: MIT
#pragma once
// The byte stream beneath stream_reader and stream_writer, like asyncio's
// Transport: a connected socket or a pipe, or TLS layered over one of those.
// Streams talk to a transport; TLS (aiocpp::tls) is a transport that wraps
// another. Users rarely name these types: open_connection, start_server,
// start_tls and the subprocess pipes make them.
//
// A transport is used by one loop thread. read_some and write_some may each
// have one call in flight at a time (one reader, one writer), concurrently.

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "aio/core/sock.hpp"
#include "aio/core/task.hpp"

namespace aio {

class transport {
 public:
  transport() = default;
  transport(const transport&) = delete;
  transport& operator=(const transport&) = delete;
  virtual ~transport() = default;

  /// Receives up to buf.size() bytes; 0 at end of stream. Throws
  /// std::system_error (ECONNRESET…). Cancel-safe: when cancelled, no byte
  /// was consumed from the stream.
  virtual task<std::size_t> read_some(std::span<std::byte> buf) = 0;
  /// Sends at least one byte of a non-empty `buf`; returns how many. Throws
  /// std::system_error (EPIPE, ECONNRESET…). Cancelled: nothing was sent.
  virtual task<std::size_t> write_some(std::span<const std::byte> buf) = 0;
  /// Half-close: no more writes; the peer reads end of stream
  /// (shutdown(SHUT_WR), or TLS close_notify). Reading stays possible.
  virtual task<> write_eof() = 0;
  /// False when the transport cannot half-close (TLS 1.2 and older peers).
  virtual bool can_write_eof() const noexcept { return true; }
  /// Closes at once (idempotent). A read in flight ends as at end of stream
  /// (0 bytes), a write in flight with EPIPE; the fd is closed once no
  /// operation uses it.
  virtual void close() noexcept = 0;
  virtual bool is_closing() const noexcept = 0;
  /// The socket or pipe fd, or -1 once closed.
  virtual int fd() const noexcept = 0;
  /// Like `transport.get_extra_info(name)`, as text: "peername", "sockname",
  /// and for TLS "cipher", "version", "alpn_protocol", "peercert" (PEM).
  /// nullopt when the transport has no such information.
  virtual std::optional<std::string> extra_info(std::string_view name) const;
  /// For layers that reach the raw object (TLS: "ssl_object" is the `SSL*`).
  virtual void* native_handle(std::string_view /*name*/) const noexcept { return nullptr; }
};

/// What turns a plain transport into a secure one: implemented by
/// aio::tls::context (aiocpp::net does not depend on OpenSSL). `leftover`
/// holds bytes a stream already read from `inner` (STARTTLS: the peer's
/// first handshake bytes may be in the reader's buffer).
class secure_layer {
 public:
  virtual ~secure_layer() = default;
  /// Client side: handshake with `server_hostname` (SNI and verification);
  /// throws on failure, naming the host and the reason. Cancel-safe: a
  /// cancelled handshake closes `inner`.
  virtual task<std::unique_ptr<transport>> wrap_client(std::unique_ptr<transport> inner,
                                                       std::string server_hostname,
                                                       std::string leftover) const = 0;
  /// Server side: the handshake of an accepted connection.
  virtual task<std::unique_ptr<transport>> wrap_server(std::unique_ptr<transport> inner,
                                                       std::string leftover) const = 0;
};

/// A transport over a connected, non-blocking socket (recv/send) or pipe
/// (read/write) that it owns and closes. `is_socket` picks the calls. The fd
/// is taken even when this throws (std::bad_alloc): it is closed then.
std::unique_ptr<transport> make_fd_transport(int fd, bool is_socket = true);

}  // namespace aio
