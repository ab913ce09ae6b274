// SPDX-License-Identifier: MIT
// The TLS handshake, its error messages, and the secure_layer entry points
// (wrap_client / wrap_server) that streams call.
#include <arpa/inet.h>
#include <openssl/x509v3.h>

#include <stdexcept>
#include <system_error>

#include "tls_transport.hpp"

namespace aio::tls::detail {

namespace {

bool is_ip_literal(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return ::inet_pton(AF_INET, host.c_str(), buf) == 1 ||
         ::inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

// Holds the context for the whole handshake: the caller may drop its handle.
task<std::unique_ptr<transport>> wrap(std::shared_ptr<const context_state> st,
                                      std::unique_ptr<transport> inner, bool server,
                                      std::string host, std::string leftover) {
  if (st->server != server) {
    inner->close();
    throw std::invalid_argument(
        server ? "a client TLS context cannot serve a connection (use context::server)"
               : "a server TLS context cannot make a client connection (use context::client)");
  }
  if (!server && st->check_hostname && host.empty()) {
    inner->close();
    throw std::invalid_argument("check_hostname requires server_hostname");
  }
  bool check = st->check_hostname;
  auto t =
      std::make_unique<tls_transport>(std::move(st), std::move(inner), server, std::move(host));
  if (!server) {
    t->set_client_identity(check);
    t->use_session_cache();
  }
  t->feed(leftover);
  co_await t->handshake();  // cancelled or failed: `t` and the inner transport go with this frame
  co_return std::unique_ptr<transport>(std::move(t));
}

}  // namespace

task<std::unique_ptr<transport>> context_state::wrap_client(std::unique_ptr<transport> inner,
                                                            std::string server_hostname,
                                                            std::string leftover) const {
  return wrap(shared_from_this(), std::move(inner), false, std::move(server_hostname),
              std::move(leftover));
}

task<std::unique_ptr<transport>> context_state::wrap_server(std::unique_ptr<transport> inner,
                                                            std::string leftover) const {
  return wrap(shared_from_this(), std::move(inner), true, {}, std::move(leftover));
}

void tls_transport::set_client_identity(bool check_hostname) {
  SSL* s = ssl_.get();
  const std::string& host = server_hostname_;
  if (host.empty()) return;
  bool ip = is_ip_literal(host);
  ERR_clear_error();
  // RFC 6066: SNI carries DNS names only, never an address.
  if (!ip && SSL_set_tlsext_host_name(s, host.c_str()) != 1)
    throw std::invalid_argument("not a valid TLS server name: '" + host + "'");
  if (!check_hostname) return;
  X509_VERIFY_PARAM* param = SSL_get0_param(s);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str())
              : X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size());
  if (ok != 1) {
    ERR_clear_error();
    throw std::invalid_argument("cannot verify TLS server name '" + host + "'");
  }
}

void tls_transport::use_session_cache() {
  if (!ctx_->resume_sessions) return;
  session_key_ = server_hostname_ + '|' + inner_->extra_info("peername").value_or("");
  if (SSL_SESSION* s = ctx_->sessions.take(session_key_)) {
    SSL_set_session(ssl_.get(), s);  // a stale or refused one: a full handshake, no error
    SSL_SESSION_free(s);
  }
}

void tls_transport::keep_session(SSL_SESSION* session) {
  if (session_key_.empty() || !ctx_->resume_sessions || !SSL_SESSION_is_resumable(session)) return;
  // A copy: OpenSSL marks the connection's own session unresumable when the
  // connection ends without close_notify, which must not cost this ticket.
  if (SSL_SESSION* copy = SSL_SESSION_dup(session)) ctx_->sessions.put(session_key_, copy);
}

int remember_session(SSL* ssl, SSL_SESSION* session) {
  if (auto* t = static_cast<tls_transport*>(SSL_get_app_data(ssl))) t->keep_session(session);
  return 0;  // the reference stays OpenSSL's
}

std::string tls_transport::peer_name() const {
  if (!server_ && !server_hostname_.empty()) return server_hostname_;
  std::optional<std::string> addr = inner_->extra_info("peername");
  if (server_) return addr ? "client " + *addr : "a client";
  return addr ? *addr : "the server";
}

std::exception_ptr tls_transport::handshake_error(int e) {
  std::string prefix = "TLS handshake with " + peer_name() + " failed: ";
  SSL* s = ssl_.get();
  if (e == SSL_ERROR_SSL && error_reason_is(SSL_R_CERTIFICATE_VERIFY_FAILED)) {
    long code = SSL_get_verify_result(s);
    std::string reason = take_error_reason("certificate verify failed");
    std::string why = X509_verify_cert_error_string(code);
    return std::make_exception_ptr(
        error(errc::certificate_verify_failed, prefix + reason + ": " + why, code, why));
  }
  if ((e == SSL_ERROR_SSL && error_reason_is(SSL_R_UNEXPECTED_EOF_WHILE_READING)) ||
      e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)) {
    ERR_clear_error();
    return std::make_exception_ptr(
        error(errc::unexpected_eof, prefix + "the connection was closed by the peer"));
  }
  return std::make_exception_ptr(
      error(errc::handshake_failed, prefix + take_error_reason("unknown error")));
}

task<> tls_transport::run_handshake() {
  SSL* s = ssl_.get();
  for (;;) {
    ERR_clear_error();
    int r = SSL_do_handshake(s);
    if (r == 1) break;
    int e = SSL_get_error(s, r);
    if (e == SSL_ERROR_WANT_READ) {
      co_await flush();
      co_await fill_input();
      continue;
    }
    std::exception_ptr failure = handshake_error(e);
    failed_ = true;
    co_await flush_quietly();  // the alert that tells the peer why
    std::rethrow_exception(failure);
  }
  handshake_done_ = true;
  // After the handshake an end of stream without close_notify reads as an
  // end of stream, as asyncio and Python's suppress_ragged_eofs treat it.
  SSL_set_options(s, SSL_OP_IGNORE_UNEXPECTED_EOF);
  co_await flush();  // our last flight (a client's Finished, a server's tickets)
}

task<> tls_transport::handshake() {
  std::exception_ptr failure;
  try {
    co_await run_handshake();
    co_return;
  } catch (const error&) {
    throw;
  } catch (const std::system_error& e) {
    failure = std::make_exception_ptr(
        std::system_error(e.code(), "TLS handshake with " + peer_name() + " failed"));
  }
  std::rethrow_exception(failure);
}

}  // namespace aio::tls::detail
