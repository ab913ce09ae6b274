// SPDX-License-Identifier: MIT
#pragma once
// The errors of aiocpp::tls: one exception type, tls::error, a
// std::system_error whose code is a tls::errc in the tls category (one
// category per module). Its message names the peer and OpenSSL's reason:
//
//   TLS handshake with example.com failed: certificate verify failed: hostname mismatch
//
// OS errors from the socket underneath stay std::system_error with their
// errno (during a handshake the message then names the host as well).

#include <string>
#include <system_error>
#include <type_traits>

namespace aio::tls {

/// What went wrong, as Python's ssl module tells its exceptions apart.
enum class errc {
  /// The peer's certificate was rejected (untrusted, expired, wrong host…).
  /// Like `ssl.SSLCertVerificationError`; verify_code() says why.
  certificate_verify_failed = 1,
  /// The handshake failed otherwise: no shared protocol or cipher, an alert
  /// from the peer, bytes that are not TLS. Like `ssl.SSLError`.
  handshake_failed,
  /// The peer closed the connection in the middle of the handshake.
  /// Like `ssl.SSLEOFError`.
  unexpected_eof,
  /// A fault after the handshake: a corrupt record, an alert from the peer.
  /// Like `ssl.SSLError` from a read or write.
  protocol_error,
  /// A certificate, key, CA file, password or cipher string was refused
  /// while configuring a context. Like `ssl.SSLError` from `load_cert_chain`.
  invalid_configuration,
};

/// The error category of aiocpp::tls ("tls").
const std::error_category& category() noexcept;

/// Makes a std::error_code in the tls category.
inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), category()};
}

/// A TLS failure. Like `ssl.SSLError` (and its subclasses, told apart by
/// code()). Catch it as std::system_error to treat it like any I/O error.
class error : public std::system_error {
 public:
  /// `what` is the whole message (it names the peer and the reason).
  error(errc code, const std::string& what, long verify_code = 0, std::string verify_message = {})
      : std::system_error(make_error_code(code), what),
        what_(what),
        verify_code_(verify_code),
        verify_message_(std::move(verify_message)) {}

  /// The message alone (std::system_error would append the category's text).
  const char* what() const noexcept override { return what_.c_str(); }

  /// Like `SSLCertVerificationError.verify_code`: OpenSSL's X509_V_ERR_*
  /// value (e.g. 62 for a hostname mismatch), 0 when not a verification failure.
  long verify_code() const noexcept { return verify_code_; }
  /// Like `SSLCertVerificationError.verify_message`: "hostname mismatch",
  /// "certificate has expired"…; empty when not a verification failure.
  const std::string& verify_message() const noexcept { return verify_message_; }

 private:
  std::string what_;
  long verify_code_;
  std::string verify_message_;
};

}  // namespace aio::tls

template <>
struct std::is_error_code_enum<aio::tls::errc> : std::true_type {};
