// SPDX-License-Identifier: MIT
#pragma once
// Private to aiocpp::tls: what a tls::context handle points at. It owns the
// SSL_CTX and is the secure_layer that streams call; every TLS transport
// holds a reference to it, so a context outlives its connections.

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <vector>

#include "aio/tls/context.hpp"
#include "session_cache.hpp"

namespace aio::tls::detail {

class context_state final : public secure_layer,
                            public std::enable_shared_from_this<context_state> {
 public:
  explicit context_state(bool server_side);
  ~context_state() override;
  context_state(const context_state&) = delete;
  context_state& operator=(const context_state&) = delete;

  task<std::unique_ptr<transport>> wrap_client(std::unique_ptr<transport> inner,
                                               std::string server_hostname,
                                               std::string leftover) const override;
  task<std::unique_ptr<transport>> wrap_server(std::unique_ptr<transport> inner,
                                               std::string leftover) const override;

  /// Applies mode_ to the SSL_CTX (flags differ for clients and servers).
  void apply_verify_mode() noexcept;
  /// A setting changed: sessions made under the old ones are not resumed.
  void changed() noexcept { sessions.clear(); }

  SSL_CTX* ctx = nullptr;
  bool server = false;
  bool check_hostname = false;
  verify_mode mode = verify_mode::none;
  std::vector<unsigned char> alpn;  // wire format: length-prefixed names
  bool resume_sessions = false;     // clients: on by default
  mutable session_cache sessions;   // a client's tickets, per server
};

/// OpenSSL's new-session callback of client contexts (handshake.cpp):
/// hands a ticket the server sent to the connection's context.
int remember_session(SSL* ssl, SSL_SESSION* session);

}  // namespace aio::tls::detail
