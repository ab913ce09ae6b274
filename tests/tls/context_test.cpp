// SPDX-License-Identifier: MIT
// Configuring a tls::context: what each setting does and how bad input fails.
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <fstream>

#include "tls_test_util.hpp"

using namespace tls_test;
namespace tls = aio::tls;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

std::string write_temp(const std::string& name, const std::string& text) {
  std::string path = certs().dir + "/" + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST(tls_context, defaults_are_pythons) {
  auto c = tls::context::client();
  EXPECT_FALSE(c.server_side());
  EXPECT_TRUE(c.check_hostname());
  EXPECT_EQ(c.verify_mode(), tls::verify_mode::required);
  auto* ctx = static_cast<SSL_CTX*>(c.native_handle());
  EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
  EXPECT_EQ(SSL_CTX_get_verify_mode(ctx), SSL_VERIFY_PEER);

  auto s = tls::context::server();
  EXPECT_TRUE(s.server_side());
  EXPECT_FALSE(s.check_hostname());
  EXPECT_EQ(s.verify_mode(), tls::verify_mode::none);
  EXPECT_EQ(SSL_CTX_get_verify_mode(static_cast<SSL_CTX*>(s.native_handle())), SSL_VERIFY_NONE);

  auto d = tls::create_default_context();
  EXPECT_FALSE(d.server_side());
  EXPECT_TRUE(d.check_hostname());
  auto srv = tls::create_default_context(tls::purpose::client_auth);
  EXPECT_TRUE(srv.server_side());
  EXPECT_EQ(srv.verify_mode(), tls::verify_mode::none);
}

TEST(tls_context, copies_share_one_configuration) {
  auto a = tls::context::client();
  auto b = a;
  b.set_check_hostname(false);
  EXPECT_FALSE(a.check_hostname());
  EXPECT_EQ(a.native_handle(), b.native_handle());
  std::shared_ptr<const aio::secure_layer> layer = a;
  EXPECT_EQ(layer, a.layer());
}

TEST(tls_context, verify_mode_and_check_hostname_follow_python) {
  auto c = tls::context::client();
  EXPECT_THROW(c.set_verify_mode(tls::verify_mode::none),
               std::invalid_argument);  // check_hostname is on
  c.set_check_hostname(false);
  c.set_verify_mode(tls::verify_mode::none);
  EXPECT_EQ(SSL_CTX_get_verify_mode(static_cast<SSL_CTX*>(c.native_handle())), SSL_VERIFY_NONE);
  c.set_check_hostname(true);  // turns verification back on
  EXPECT_EQ(c.verify_mode(), tls::verify_mode::required);

  auto s = tls::context::server();
  s.set_verify_mode(tls::verify_mode::optional);
  EXPECT_EQ(SSL_CTX_get_verify_mode(static_cast<SSL_CTX*>(s.native_handle())), SSL_VERIFY_PEER);
  s.set_verify_mode(tls::verify_mode::required);
  EXPECT_EQ(SSL_CTX_get_verify_mode(static_cast<SSL_CTX*>(s.native_handle())),
            SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT);
}

TEST(tls_context, versions) {
  auto c = tls::context::client();
  c.set_minimum_version(tls::version::tls1_3);
  c.set_maximum_version(tls::version::tls1_3);
  auto* ctx = static_cast<SSL_CTX*>(c.native_handle());
  EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx), TLS1_3_VERSION);
  EXPECT_EQ(SSL_CTX_get_max_proto_version(ctx), TLS1_3_VERSION);
}

TEST(tls_context, missing_files_are_system_errors_naming_the_path) {
  auto s = tls::context::server();
  try {
    s.load_cert_chain("/nonexistent/cert.pem", "/nonexistent/key.pem");
    ADD_FAILURE();
  } catch (const tls::error&) {
    ADD_FAILURE() << "a TLS error for a missing file";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/cert.pem"), std::string::npos) << e.what();
  }
  EXPECT_NE(error_of([&] {
              s.load_cert_chain(certs().server_cert, "/nonexistent/key.pem");
            }).find("cannot open key file /nonexistent/key.pem"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              s.load_verify_locations({.cafile = "/nonexistent/ca.pem"});
            }).find("cannot open CA file /nonexistent/ca.pem"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              s.load_verify_locations({.capath = "/nonexistent/dir"});
            }).find("cannot open CA directory /nonexistent/dir"),
            std::string::npos);
}

TEST(tls_context, bad_contents_are_tls_configuration_errors) {
  auto s = tls::context::server();
  std::string junk = write_temp("junk.pem", "this is not PEM\n");
  try {
    s.load_cert_chain(junk, certs().server_key);
    ADD_FAILURE();
  } catch (const tls::error& e) {
    EXPECT_EQ(e.code(), tls::errc::invalid_configuration);
    EXPECT_EQ(
        std::string(e.what()).rfind("cannot load the certificate chain from " + junk + ": ", 0), 0u)
        << e.what();
  }
  // A key that belongs to another certificate.
  EXPECT_NE(error_of([&] {
              s.load_cert_chain(certs().server_cert, certs().client_key);
            }).find("key values mismatch"),
            std::string::npos);
  EXPECT_THROW(s.load_verify_locations({.cafile = junk}), tls::error);
  EXPECT_THROW(s.load_verify_locations(
                   {.cadata = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}),
               tls::error);
  EXPECT_THROW(s.load_verify_locations({.cadata = "not DER either"}), tls::error);
  EXPECT_THROW(s.load_cert_chain_pem("nonsense"), tls::error);
  EXPECT_THROW(s.set_ciphers("NO-SUCH-CIPHER"), tls::error);
  EXPECT_THROW(s.set_ciphersuites("TLS_NO_SUCH_SUITE"), tls::error);
  EXPECT_THROW(s.set_alpn_protocols({""}), std::invalid_argument);
  EXPECT_THROW(s.set_alpn_protocols({std::string(256, 'x')}), std::invalid_argument);
  EXPECT_EQ(ERR_peek_error(), 0u);  // nothing left in OpenSSL's error queue
}

TEST(tls_context, encrypted_key_needs_its_password) {
  auto s = tls::context::server();
  // No password: refused, never a terminal prompt.
  EXPECT_THROW(s.load_cert_chain(certs().server_cert, certs().encrypted_key), tls::error);
  EXPECT_THROW(s.load_cert_chain(certs().server_cert, certs().encrypted_key, "wrong"), tls::error);
  s.load_cert_chain(certs().server_cert, certs().encrypted_key, certs().password);
  auto m = tls::context::server();
  std::string key = read_file(certs().encrypted_key);
  EXPECT_THROW(m.load_cert_chain_pem(certs().server_cert_pem, key, "wrong"), tls::error);
  m.load_cert_chain_pem(certs().server_cert_pem, key, certs().password);
}

TEST(tls_context, key_in_the_certificate_file) {
  std::string both = write_temp("both.pem", certs().server_cert_pem + certs().server_key_pem);
  auto s = tls::context::server();
  s.load_cert_chain(both);
  auto m = tls::context::server_from_pem(certs().server_cert_pem + certs().server_key_pem, "");
  EXPECT_TRUE(m.server_side());
}

TEST(tls_context, cadata_as_pem_or_der) {
  auto c = tls::context::client();
  c.load_verify_locations({.cadata = certs().ca_pem});
  auto* store = SSL_CTX_get_cert_store(static_cast<SSL_CTX*>(c.native_handle()));
  EXPECT_EQ(sk_X509_OBJECT_num(X509_STORE_get0_objects(store)), 1);

  BIO* b = BIO_new_mem_buf(certs().ca_pem.data(), static_cast<int>(certs().ca_pem.size()));
  X509* ca = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
  BIO_free(b);
  unsigned char* der = nullptr;
  int len = i2d_X509(ca, &der);
  X509_free(ca);
  auto d = tls::context::client();
  d.load_verify_locations(
      {.cadata = std::string(reinterpret_cast<char*>(der), static_cast<std::size_t>(len))});
  OPENSSL_free(der);
  auto* dstore = SSL_CTX_get_cert_store(static_cast<SSL_CTX*>(d.native_handle()));
  EXPECT_EQ(sk_X509_OBJECT_num(X509_STORE_get0_objects(dstore)), 1);
}

AIO_TEST_SUITE(tls_context_use);

AIO_TEST(tls_context_use, server_from_pem_text_and_cadata_handshake) {
  auto server = tls::context::server_from_pem(certs().server_cert_pem, certs().server_key_pem);
  auto client = tls::context::client();
  client.load_verify_locations({.cadata = certs().ca_pem});
  auto p = co_await connect_pair(client, server);
  co_await write_all(*p.client, "pem");
  EXPECT_EQ(co_await read_exactly(*p.server, 3), "pem");
}

AIO_TEST(tls_context_use, encrypted_key_serves) {
  auto server = tls::context::server();
  server.load_cert_chain(certs().server_cert, certs().encrypted_key, certs().password);
  auto p = co_await connect_pair(client_context(), server);
  EXPECT_TRUE(p.server != nullptr);
}
