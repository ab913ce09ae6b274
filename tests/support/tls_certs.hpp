// SPDX-License-Identifier: MIT
#pragma once
// Certificates for TLS tests, made with OpenSSL's C API once per test
// process into a temporary directory (removed at exit): a test CA, a server
// certificate for localhost / 127.0.0.1 / ::1 signed by it, the same names
// expired and self-signed, a client certificate, and an encrypted key.
//
//   const auto& certs = aio::test::test_certs();
//   auto server = aio::tls::context::server(certs.server_cert, certs.server_key);
//   auto client = aio::tls::context::client();
//   client.load_verify_locations({.cafile = certs.ca_file});
//
// Header-only: a test that includes it links OpenSSL through aiocpp::tls.

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

#include "aio_test.hpp"

namespace aio::test {

/// Paths of PEM files (and their text) for TLS tests.
struct tls_certs {
  temp_dir scratch{"aio-tls-certs-"};
  std::string dir = scratch.path.string();
  std::string ca_file, ca_key;  // the test CA
  std::string server_cert,
      server_key;  // CN=localhost, SAN localhost, 127.0.0.1, ::1; signed by the CA
  std::string expired_cert, expired_key;  // the same names, expired yesterday; signed by the CA
  std::string self_signed_cert, self_signed_key;  // the same names, self-signed
  std::string client_cert, client_key;  // CN=aiocpp test client, clientAuth; signed by the CA
  std::string encrypted_key;            // server_key's key encrypted with `password`
  std::string password = "correct horse";
  std::string ca_pem, server_cert_pem, server_key_pem;  // file contents

  tls_certs();
  tls_certs(const tls_certs&) = delete;
};

/// The process's test certificates, made on first use.
inline const tls_certs& test_certs() {
  static const tls_certs certs;
  return certs;
}

namespace detail {

struct pkey_free {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
struct x509_free {
  void operator()(X509* p) const noexcept { X509_free(p); }
};
using test_pkey = std::unique_ptr<EVP_PKEY, pkey_free>;
using test_x509 = std::unique_ptr<X509, x509_free>;

inline void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test certificates: ") + what + " failed");
}

inline test_pkey make_key() {
  test_pkey k{EVP_EC_gen("P-256")};
  check(k != nullptr, "EVP_EC_gen");
  return k;
}

inline void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  check(ext != nullptr, value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

/// A certificate for `cn` valid from now+`from_days` to now+`to_days`,
/// signed by `issuer`/`issuer_key` (nullptr: self-signed).
inline test_x509 make_cert(const char* cn, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key,
                           bool ca, const char* san, const char* eku, long from_days, long to_days,
                           long serial) {
  test_x509 cert{X509_new()};
  check(cert != nullptr, "X509_new");
  X509* c = cert.get();
  X509_set_version(c, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(c), serial);
  X509_gmtime_adj(X509_getm_notBefore(c), from_days * 86400);
  X509_gmtime_adj(X509_getm_notAfter(c), to_days * 86400);
  X509_set_pubkey(c, key);
  X509_NAME* name = X509_get_subject_name(c);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("aiocpp tests"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                             -1, -1, 0);
  X509* signer = issuer ? issuer : c;
  X509_set_issuer_name(c, X509_get_subject_name(signer));
  add_ext(c, signer, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  add_ext(c, signer, NID_key_usage,
          ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
  add_ext(c, signer, NID_subject_key_identifier, "hash");
  if (issuer) add_ext(c, signer, NID_authority_key_identifier, "keyid:always");
  if (san) add_ext(c, signer, NID_subject_alt_name, san);
  if (eku) add_ext(c, signer, NID_ext_key_usage, eku);
  check(X509_sign(c, issuer_key ? issuer_key : key, EVP_sha256()) > 0, "X509_sign");
  return cert;
}

inline std::string cert_pem(X509* c) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(b, c);
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  std::string s(data, static_cast<std::size_t>(n));
  BIO_free(b);
  return s;
}

inline std::string key_pem(EVP_PKEY* k, const std::string* password = nullptr) {
  BIO* b = BIO_new(BIO_s_mem());
  if (password)
    PEM_write_bio_PKCS8PrivateKey(b, k, EVP_aes_256_cbc(), password->data(),
                                  static_cast<int>(password->size()), nullptr, nullptr);
  else
    PEM_write_bio_PrivateKey(b, k, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  std::string s(data, static_cast<std::size_t>(n));
  BIO_free(b);
  return s;
}

inline std::string write_file(const std::string& dir, const char* name, const std::string& text) {
  std::string path = dir + "/" + name;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  check(f != nullptr, "fopen");
  std::fwrite(text.data(), 1, text.size(), f);
  std::fclose(f);
  return path;
}

}  // namespace detail

inline tls_certs::tls_certs() {
  using namespace detail;
  const char* names = "DNS:localhost,IP:127.0.0.1,IP:::1";
  test_pkey ca_k = make_key(), srv_k = make_key(), old_k = make_key(), self_k = make_key(),
            cli_k = make_key();
  test_x509 ca = make_cert("aiocpp test CA", ca_k.get(), nullptr, nullptr, true, nullptr, nullptr,
                           -1, 3650, 1);
  test_x509 srv = make_cert("localhost", srv_k.get(), ca.get(), ca_k.get(), false, names,
                            "serverAuth", -1, 365, 2);
  test_x509 old = make_cert("localhost", old_k.get(), ca.get(), ca_k.get(), false, names,
                            "serverAuth", -30, -1, 3);
  test_x509 self = make_cert("localhost", self_k.get(), nullptr, nullptr, false, names,
                             "serverAuth", -1, 365, 4);
  test_x509 cli = make_cert("aiocpp test client", cli_k.get(), ca.get(), ca_k.get(), false, nullptr,
                            "clientAuth", -1, 365, 5);
  ca_pem = cert_pem(ca.get());
  server_cert_pem = cert_pem(srv.get());
  server_key_pem = key_pem(srv_k.get());
  ca_file = write_file(dir, "ca.pem", ca_pem);
  ca_key = write_file(dir, "ca.key", key_pem(ca_k.get()));
  server_cert = write_file(dir, "server.pem", server_cert_pem);
  server_key = write_file(dir, "server.key", server_key_pem);
  expired_cert = write_file(dir, "expired.pem", cert_pem(old.get()));
  expired_key = write_file(dir, "expired.key", key_pem(old_k.get()));
  self_signed_cert = write_file(dir, "self_signed.pem", cert_pem(self.get()));
  self_signed_key = write_file(dir, "self_signed.key", key_pem(self_k.get()));
  client_cert = write_file(dir, "client.pem", cert_pem(cli.get()));
  client_key = write_file(dir, "client.key", key_pem(cli_k.get()));
  encrypted_key = write_file(dir, "encrypted.key", key_pem(srv_k.get(), &password));
}

}  // namespace aio::test
