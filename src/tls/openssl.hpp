// SPDX-License-Identifier: MIT
#pragma once
// Private to aiocpp::tls: owning pointers for OpenSSL objects and the text
// of OpenSSL's per-thread error queue.

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <string_view>

namespace aio::tls::detail {

template <auto Free>
struct openssl_free {
  template <class T>
  void operator()(T* p) const noexcept {
    Free(p);
  }
};
using bio_ptr = std::unique_ptr<BIO, openssl_free<BIO_free_all>>;
using x509_ptr = std::unique_ptr<X509, openssl_free<X509_free>>;
using pkey_ptr = std::unique_ptr<EVP_PKEY, openssl_free<EVP_PKEY_free>>;
using ssl_ptr = std::unique_ptr<SSL, openssl_free<SSL_free>>;

/// OpenSSL's reason for the oldest error queued on this thread ("certificate
/// verify failed", "wrong version number"), or `fallback` if none; always
/// empties the queue (a stale entry would confuse the next SSL_get_error).
std::string take_error_reason(std::string_view fallback);
/// True if the oldest queued error has this SSL reason (the queue is kept).
bool error_reason_is(int reason) noexcept;
/// Throws tls::error(invalid_configuration) with "`what`: <OpenSSL's reason>".
[[noreturn]] void throw_config_error(const std::string& what);

}  // namespace aio::tls::detail
