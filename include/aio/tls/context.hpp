// SPDX-License-Identifier: MIT
#pragma once
// tls::context is Python's ssl.SSLContext: the settings TLS connections are
// made with (certificates, trusted CAs, verification, ALPN, versions), an
// OpenSSL SSL_CTX underneath. It is what open_connection, start_server and
// start_tls take to speak TLS: a context is a secure_layer, and converts to
// the shared_ptr<const secure_layer> their options hold.
//
//   aio::connect_options o;
//   o.ssl = aio::tls::create_default_context();              // verifies, like Python
//   auto [r, w] = co_await aio::open_connection("example.com", 443, o);
//
//   aio::server_options so;
//   so.ssl = aio::tls::context::server("cert.pem", "key.pem");
//   auto srv = co_await aio::start_server(handle, "0.0.0.0", 8443, so);
//
//   co_await aio::start_tls(reader, writer, ctx, "mail.example.org");  // STARTTLS
//
// A context is a cheap handle (a shared_ptr inside): copies share one
// configuration, as Python objects are shared by reference. Configure it
// from one thread, before use (changes apply to connections made
// afterwards); once configured, connections on any number of loops and
// threads may use it at once (a server with a loop per thread shares one).
// OpenSSL stays out of this header; native_handle() reaches the SSL_CTX.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aio/net/transport.hpp"
#include "aio/tls/error.hpp"

namespace aio::tls {

/// Like `ssl.Purpose`: what the peer's certificate is for.
enum class purpose {
  server_auth,  ///< Purpose.SERVER_AUTH: a client context that authenticates servers.
  client_auth,  ///< Purpose.CLIENT_AUTH: a server context that may authenticate clients.
};

/// Like `ssl.VerifyMode`: whether the peer must present a certificate.
enum class verify_mode {
  none,      ///< CERT_NONE: no certificate asked for or checked.
  optional,  ///< CERT_OPTIONAL: a server asks for one and checks it if sent.
  required,  ///< CERT_REQUIRED: the peer must present a valid certificate.
};

/// Like `ssl.TLSVersion` (the versions OpenSSL 3 allows by default).
enum class version { tls1_2, tls1_3 };

/// What load_verify_locations takes, like its keyword arguments: a CA file
/// (PEM), a directory of hashed CA files (c_rehash), or CA certificates in
/// memory (PEM text, or DER when it holds no "-----BEGIN").
/// `ctx.load_verify_locations({.cafile = "ca.pem"})`: an aggregate for
/// Python's keyword style. Write such a braced argument in a statement of
/// its own, never inside a co_await expression (GCC 12 destroys an aggregate
/// temporary there twice).
struct verify_locations {
  std::string cafile;
  std::string capath;
  std::string cadata;
};

namespace detail {
class context_state;
}

/// Like `ssl.SSLContext`. Cheap to copy; copies share one configuration.
class context final : public secure_layer {
 public:
  /// Like `SSLContext(PROTOCOL_TLS_CLIENT)`: verify_mode required,
  /// check_hostname on, TLS 1.2 minimum, no CA loaded (see
  /// create_default_context for the system store).
  static context client();
  /// Like `SSLContext(PROTOCOL_TLS_SERVER)`: verify_mode none, TLS 1.2
  /// minimum. Call load_cert_chain before serving.
  static context server();
  /// A server context with `certfile` (PEM: certificate, then its chain) and
  /// `keyfile` (PEM; empty: the key is in certfile). Throws as load_cert_chain.
  static context server(const std::string& certfile, const std::string& keyfile);
  /// A server context from PEM text in memory. Throws as load_cert_chain_pem.
  static context server_from_pem(std::string_view cert_chain_pem, std::string_view key_pem);

  /// Like `load_verify_locations(cafile, capath, cadata)`: trusts these CAs
  /// (in addition to any loaded before). Throws std::system_error (ENOENT…)
  /// naming the path when a file cannot be opened, tls::error
  /// (invalid_configuration) when OpenSSL refuses the contents.
  void load_verify_locations(const verify_locations& where);
  /// Like `load_default_certs()`: trusts the system CA store
  /// (SSL_CTX_set_default_verify_paths: /etc/ssl/certs on Debian, or
  /// SSL_CERT_FILE / SSL_CERT_DIR). Throws tls::error if OpenSSL refuses.
  void load_default_certs();
  /// Like `load_cert_chain(certfile, keyfile, password)`: the certificate
  /// this side presents (a server's, or a client certificate). `keyfile`
  /// empty: the key is in `certfile`. `password` decrypts an encrypted key.
  /// Throws std::system_error naming the path if a file cannot be opened,
  /// tls::error (invalid_configuration) for a bad PEM, a wrong password, or a
  /// key that does not match the certificate.
  void load_cert_chain(const std::string& certfile, const std::string& keyfile = {},
                       const std::optional<std::string>& password = std::nullopt);
  /// load_cert_chain from PEM text in memory (no Python equivalent: Python
  /// needs files). `key_pem` empty: the key is in `cert_chain_pem`.
  void load_cert_chain_pem(std::string_view cert_chain_pem, std::string_view key_pem = {},
                           const std::optional<std::string>& password = std::nullopt);

  /// Like `set_alpn_protocols(["h2", "http/1.1"])`: offered by a client in
  /// this order; a server picks the first of its own list the client offers
  /// (none in common: no ALPN, the handshake goes on). Throws
  /// std::invalid_argument for an empty or over-long (>255 bytes) name.
  void set_alpn_protocols(const std::vector<std::string>& protocols);
  /// Like `SSLContext.verify_mode = …`. On a server, optional/required
  /// request/require a client certificate (trusted through
  /// load_verify_locations). Throws std::invalid_argument for none while
  /// check_hostname is on, as Python raises ValueError.
  void set_verify_mode(tls::verify_mode mode);
  /// Like reading `SSLContext.verify_mode`.
  tls::verify_mode verify_mode() const noexcept;
  /// Like `SSLContext.check_hostname = …`: the server's certificate must
  /// name server_hostname (DNS name or IP address). Turning it on with
  /// verify_mode none sets verify_mode to required, as Python does.
  void set_check_hostname(bool on);
  /// Like reading `SSLContext.check_hostname`.
  bool check_hostname() const noexcept;
  /// Like `SSLContext.minimum_version = …` (default tls1_2). Throws
  /// tls::error (invalid_configuration) if OpenSSL refuses.
  void set_minimum_version(version v);
  /// Like `SSLContext.maximum_version = …` (default: the newest, tls1_3).
  /// Throws as set_minimum_version.
  void set_maximum_version(version v);
  /// Like `SSLContext.set_ciphers(…)`: OpenSSL's cipher list for TLS 1.2
  /// (TLS 1.3's suites are set with set_ciphersuites). Throws tls::error
  /// (invalid_configuration) when nothing in the list is usable.
  void set_ciphers(const std::string& ciphers);
  /// TLS 1.3 cipher suites, e.g. "TLS_AES_128_GCM_SHA256" (no Python
  /// equivalent). Throws tls::error (invalid_configuration) when refused.
  void set_ciphersuites(const std::string& suites);
  /// Client contexts only (a no-op on a server): whether a connection
  /// resumes a session an earlier connection to the same server (name and
  /// address) received — a TLS 1.3 ticket, each used once, or a TLS 1.2
  /// session — skipping the certificate exchange. On by default: differs
  /// from Python on purpose (as browsers and curl resume, a client making
  /// many connections to one server does most of its handshakes at a
  /// fraction of the cost). Off: every handshake is full, as in Python.
  /// Changing any setting of the context forgets the sessions kept.
  void set_session_resumption(bool on);
  /// Whether set_session_resumption is on.
  bool session_resumption() const noexcept;
  /// True for contexts made by server() or create_default_context(client_auth).
  bool server_side() const noexcept;
  /// The OpenSSL `SSL_CTX*`, for settings this class does not wrap.
  void* native_handle() const noexcept;

  /// TLS over `inner` as a client: see secure_layer::wrap_client. Throws
  /// tls::error naming `server_hostname` and OpenSSL's reason; the inner
  /// socket's errors as std::system_error; std::invalid_argument for a
  /// server context, or an empty server_hostname while check_hostname is on.
  /// Cancel-safe: cancelled, it closes `inner` and frees everything.
  task<std::unique_ptr<transport>> wrap_client(std::unique_ptr<transport> inner,
                                               std::string server_hostname,
                                               std::string leftover = {}) const override;
  /// TLS over an accepted `inner` as a server: see secure_layer::wrap_server.
  /// Throws as wrap_client (std::invalid_argument for a client context).
  task<std::unique_ptr<transport>> wrap_server(std::unique_ptr<transport> inner,
                                               std::string leftover = {}) const override;

  /// What open_connection, start_server and start_tls take.
  operator std::shared_ptr<const secure_layer>()
      const noexcept;  // NOLINT: a context is a secure layer
  /// The same, named.
  std::shared_ptr<const secure_layer> layer() const noexcept;

 private:
  explicit context(std::shared_ptr<detail::context_state> s) noexcept : state_(std::move(s)) {}
  std::shared_ptr<detail::context_state> state_;
};

/// Like `ssl.create_default_context(purpose)`: for server_auth, a client
/// context that trusts the system CA store, verifies the server and its
/// hostname, TLS 1.2 minimum; for client_auth, a server context trusting the
/// same CAs for client certificates (verify_mode none until set). Throws
/// tls::error if the system store cannot be loaded.
context create_default_context(purpose p = purpose::server_auth);
/// Like `ssl.create_default_context(purpose, cafile, capath, cadata)`: the
/// same, also trusting `where`. Throws as load_verify_locations.
// (An overload, not a default argument: GCC 12 miscompiles a braced
// default argument inside a co_await expression.)
context create_default_context(purpose p, const verify_locations& where);

}  // namespace aio::tls
