// SPDX-License-Identifier: MIT
#pragma once
// What the streams may do with make_fd_transport's transport beyond the
// transport interface: synchronous attempts that skip a coroutine frame
// (write what the kernel takes now, half-close now) and a writability wait
// that close() abandons like the transport's own operations.

#include <cstddef>
#include <span>
#include <string_view>

#include "aio/net/transport.hpp"

namespace aio::detail {

class plain_transport : public transport {
 public:
  /// Writes as much of `parts` (in order) as the kernel takes without
  /// waiting: sendmsg for a socket, writev for a pipe (SIGPIPE never raised).
  /// Returns the byte count; 0 when full. Throws std::system_error (EPIPE…),
  /// and EPIPE once closing.
  virtual std::size_t try_write(std::span<const std::string_view> parts) = 0;
  /// write_eof done at once: shutdown(SHUT_WR) for a socket, close for a pipe.
  virtual void shutdown_write() = 0;
  /// Waits until the fd is writable. False when close() came first.
  /// Throws std::system_error; cancel-safe.
  virtual task<bool> wait_writable() = 0;
  virtual bool is_socket() const noexcept = 0;
};

/// `t` as a plain fd transport, or nullptr (TLS and other layers).
inline plain_transport* as_plain(transport* t) noexcept {
  return dynamic_cast<plain_transport*>(t);
}

}  // namespace aio::detail
