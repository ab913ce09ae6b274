// SPDX-License-Identifier: MIT
// What a TLS transport tells about itself: asyncio's get_extra_info names
// ("cipher", "version", "peercert"…) and the raw SSL*.
#include <openssl/pem.h>

#include "tls_transport.hpp"

namespace aio::tls::detail {

std::optional<std::string> tls_transport::extra_info(std::string_view name) const {
  SSL* s = ssl_.get();
  if (name == "cipher" || name == "version") {
    if (!handshake_done_) return std::nullopt;
    const char* v = name == "cipher" ? SSL_get_cipher_name(s) : SSL_get_version(s);
    if (!v) return std::nullopt;
    return std::string(v);
  }
  if (name == "alpn_protocol") {
    const unsigned char* p = nullptr;
    unsigned len = 0;
    SSL_get0_alpn_selected(s, &p, &len);
    if (len == 0) return std::nullopt;
    return std::string(reinterpret_cast<const char*>(p), len);
  }
  if (name == "session_reused") {
    if (!handshake_done_) return std::nullopt;
    return std::string(SSL_session_reused(s) ? "true" : "false");
  }
  if (name == "server_hostname") {
    // A client's own; on a server, the name the client asked for (SNI).
    if (!server_)
      return server_hostname_.empty() ? std::nullopt : std::optional<std::string>(server_hostname_);
    const char* sni = SSL_get_servername(s, TLSEXT_NAMETYPE_host_name);
    if (!sni) return std::nullopt;
    return std::string(sni);
  }
  if (name == "peercert" || name == "peercert_subject") {
    X509* cert = SSL_get0_peer_certificate(s);
    if (!cert) return std::nullopt;
    bio_ptr mem{BIO_new(BIO_s_mem())};
    if (!mem) return std::nullopt;
    if (name == "peercert")
      PEM_write_bio_X509(mem.get(), cert);
    else
      X509_NAME_print_ex(mem.get(), X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
    char* data = nullptr;
    long len = BIO_get_mem_data(mem.get(), &data);
    ERR_clear_error();
    return std::string(data, static_cast<std::size_t>(len > 0 ? len : 0));
  }
  return inner_->extra_info(name);
}

void* tls_transport::native_handle(std::string_view name) const noexcept {
  if (name == "ssl_object") return ssl_.get();
  return inner_->native_handle(name);
}

}  // namespace aio::tls::detail
