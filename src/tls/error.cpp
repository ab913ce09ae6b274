// SPDX-License-Identifier: MIT
// The tls error category, and turning OpenSSL's error queue into text.
#include "aio/tls/error.hpp"

#include "openssl.hpp"

namespace aio::tls {

namespace {

class tls_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "tls"; }
  std::string message(int c) const override {
    switch (static_cast<errc>(c)) {
      case errc::certificate_verify_failed:
        return "certificate verify failed";
      case errc::handshake_failed:
        return "TLS handshake failed";
      case errc::unexpected_eof:
        return "connection closed during the TLS handshake";
      case errc::protocol_error:
        return "TLS protocol error";
      case errc::invalid_configuration:
        return "invalid TLS configuration";
    }
    return "unknown TLS error";
  }
};

}  // namespace

const std::error_category& category() noexcept {
  static const tls_category c;
  return c;
}

namespace detail {

std::string take_error_reason(std::string_view fallback) {
  const char* data = nullptr;
  int flags = 0;
  unsigned long code = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags);
  std::string text;
  if (code != 0) {
    if (const char* r = ERR_reason_error_string(code)) {
      text = r;
    } else {
      char buf[256];
      ERR_error_string_n(code, buf, sizeof buf);
      text = buf;
    }
    // Details OpenSSL attached, e.g. the file a PEM read failed on.
    if (data && (flags & ERR_TXT_STRING) && *data) text += std::string(" (") + data + ")";
  } else {
    text = fallback;
  }
  ERR_clear_error();
  return text;
}

bool error_reason_is(int reason) noexcept {
  unsigned long code = ERR_peek_error();
  return code != 0 && ERR_GET_LIB(code) == ERR_LIB_SSL && ERR_GET_REASON(code) == reason;
}

void throw_config_error(const std::string& what) {
  throw error(errc::invalid_configuration, what + ": " + take_error_reason("refused by OpenSSL"));
}

}  // namespace detail
}  // namespace aio::tls
