// SPDX-License-Identifier: MIT
#pragma once
// Private to aiocpp::tls: a client context's TLS sessions (TLS 1.3 tickets,
// TLS 1.2 sessions), kept per server (its name and address) so that the
// next connection resumes instead of doing a full handshake. Each ticket is
// used once (RFC 8446, C.4). A context may be shared by loops on several
// threads: a mutex keeps the map.

#include <openssl/ssl.h>

#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace aio::tls::detail {

class session_cache {
 public:
  session_cache() = default;
  session_cache(const session_cache&) = delete;
  session_cache& operator=(const session_cache&) = delete;
  ~session_cache() { clear(); }

  /// A session for `key` with its reference now the caller's, or nullptr.
  SSL_SESSION* take(const std::string& key);
  /// Keeps `s` for `key`, taking over the caller's reference.
  void put(const std::string& key, SSL_SESSION* s);
  /// Forgets every session (the context's settings changed).
  void clear() noexcept;

 private:
  static constexpr std::size_t max_servers = 1024, max_per_server = 4;
  std::mutex m_;
  std::unordered_map<std::string, std::vector<SSL_SESSION*>> sessions_;  // newest last
};

}  // namespace aio::tls::detail
