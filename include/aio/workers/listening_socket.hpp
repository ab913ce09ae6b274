// SPDX-License-Identifier: MIT
#pragma once
// A TCP listening socket opened before workers::run forks, so every worker
// process inherits it and serves it with start_server(…, "", 0, o) where
// o.sock = sock.fd(). All the workers accept from one queue: a worker that
// stops (a graceful shutdown, a rolling restart) leaves the connections it
// has not accepted to the others — unlike SO_REUSEPORT, where each socket
// has its own queue and the connections waiting in a closing one are reset.

#include <string>

#include "aio/core/sock.hpp"

namespace aio::workers {

/// Binds and listens on `host`:`port` (a numeric address; "" is 0.0.0.0;
/// port 0 picks a free one), with SO_REUSEADDR, close-on-exec. Like
/// `socket.create_server((host, port))` in Python. Blocking (it runs before
/// any loop). Throws std::system_error naming the address. Movable; closes
/// the socket on destruction (the workers' own copies stay open).
class listening_socket {
 public:
  listening_socket(const std::string& host, unsigned short port, int backlog = 1024);
  listening_socket(listening_socket&& o) noexcept;
  listening_socket& operator=(listening_socket&& o) noexcept;
  listening_socket(const listening_socket&) = delete;
  ~listening_socket();

  /// The socket, for server_options::sock.
  int fd() const noexcept { return fd_; }
  /// The address it listens on (ask it for the port after binding port 0).
  sock_address address() const;
  /// The port it listens on.
  unsigned short port() const;
  /// Closes it now (idempotent).
  void close() noexcept;

 private:
  int fd_ = -1;
};

}  // namespace aio::workers
