// SPDX-License-Identifier: MIT
// TLS handshakes between aiocpp's own client and server over a socketpair:
// what they negotiate and report, and every way verification can fail.
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "tls_test_util.hpp"

using namespace std::chrono_literals;
using namespace tls_test;
namespace tls = aio::tls;

AIO_TEST_SUITE(tls_handshake);

AIO_TEST(tls_handshake, tls13_round_trip_and_extra_info) {
  auto [c, s] = co_await connect_pair(client_context(), server_context());
  co_await write_all(*c, "ping");
  CO_ASSERT_EQ(co_await read_exactly(*s, 4), "ping");
  co_await write_all(*s, "pong");
  CO_ASSERT_EQ(co_await read_exactly(*c, 4), "pong");

  EXPECT_EQ(c->extra_info("version"), "TLSv1.3");
  EXPECT_EQ(s->extra_info("version"), "TLSv1.3");
  EXPECT_TRUE(c->extra_info("cipher").has_value());
  EXPECT_EQ(c->extra_info("cipher"), s->extra_info("cipher"));
  EXPECT_EQ(c->extra_info("server_hostname"), "localhost");
  EXPECT_EQ(s->extra_info("server_hostname"), "localhost");  // the SNI the client sent
  auto peercert = c->extra_info("peercert");
  CO_ASSERT_TRUE(peercert.has_value());
  EXPECT_EQ(*peercert, certs().server_cert_pem);
  EXPECT_NE(c->extra_info("peercert_subject").value_or("").find("CN=localhost"), std::string::npos);
  EXPECT_FALSE(s->extra_info("peercert").has_value());  // no client certificate
  EXPECT_FALSE(c->extra_info("alpn_protocol").has_value());
  EXPECT_FALSE(c->extra_info("no such thing").has_value());
  EXPECT_TRUE(c->extra_info("peername").has_value());  // from the socket underneath
  EXPECT_NE(c->native_handle("ssl_object"), nullptr);
  EXPECT_EQ(c->native_handle("nothing"), nullptr);
  EXPECT_GE(c->fd(), 0);
  EXPECT_TRUE(c->can_write_eof());  // TLS 1.3 half-closes with close_notify
  EXPECT_FALSE(c->is_closing());
}

AIO_TEST(tls_handshake, tls12_when_the_server_stops_there) {
  auto server = server_context();
  server.set_maximum_version(tls::version::tls1_2);
  auto [c, s] = co_await connect_pair(client_context(), server);
  EXPECT_EQ(c->extra_info("version"), "TLSv1.2");
  EXPECT_FALSE(c->can_write_eof());
  co_await write_all(*c, "twelve");
  EXPECT_EQ(co_await read_exactly(*s, 6), "twelve");
}

AIO_TEST(tls_handshake, no_common_version_fails_on_both_sides) {
  auto client = client_context();
  client.set_minimum_version(tls::version::tls1_3);
  auto server = server_context();
  server.set_maximum_version(tls::version::tls1_2);
  auto out = co_await try_handshake(client, server);
  EXPECT_EQ(code(out.client), tls::errc::handshake_failed);
  EXPECT_EQ(code(out.server), tls::errc::handshake_failed);
  EXPECT_NE(message(out.client).find("TLS handshake with localhost failed: "), std::string::npos)
      << message(out.client);
  EXPECT_NE(message(out.server).find("TLS handshake with client "), std::string::npos)
      << message(out.server);
}

AIO_TEST(tls_handshake, ciphers_restrict_tls12) {
  auto client = client_context();
  client.set_maximum_version(tls::version::tls1_2);
  client.set_ciphers("ECDHE-ECDSA-AES128-GCM-SHA256");
  auto [c, s] = co_await connect_pair(client, server_context());
  EXPECT_EQ(c->extra_info("cipher"), "ECDHE-ECDSA-AES128-GCM-SHA256");
  auto client13 = client_context();
  client13.set_ciphersuites("TLS_CHACHA20_POLY1305_SHA256");
  auto p = co_await connect_pair(client13, server_context());
  EXPECT_EQ(p.client->extra_info("cipher"), "TLS_CHACHA20_POLY1305_SHA256");
}

AIO_TEST(tls_handshake, alpn_server_picks_its_first_choice_the_client_offers) {
  auto client = client_context();
  client.set_alpn_protocols({"h2", "http/1.1"});
  auto server = server_context();
  server.set_alpn_protocols({"http/1.1", "h2"});
  auto [c, s] = co_await connect_pair(client, server);
  EXPECT_EQ(c->extra_info("alpn_protocol"), "http/1.1");
  EXPECT_EQ(s->extra_info("alpn_protocol"), "http/1.1");

  auto other = server_context();
  other.set_alpn_protocols({"spdy/1"});
  auto p = co_await connect_pair(client, other);  // nothing in common: no ALPN, no failure
  EXPECT_FALSE(p.client->extra_info("alpn_protocol").has_value());
  EXPECT_FALSE(p.server->extra_info("alpn_protocol").has_value());
}

AIO_TEST(tls_handshake, ip_address_is_verified_against_the_certificate_without_sni) {
  auto [c, s] = co_await connect_pair(client_context(), server_context(), "127.0.0.1");
  EXPECT_EQ(c->extra_info("server_hostname"), "127.0.0.1");
  EXPECT_FALSE(s->extra_info("server_hostname").has_value());  // RFC 6066: no SNI for addresses
  auto v6 = co_await connect_pair(client_context(), server_context(), "::1");
  EXPECT_TRUE(v6.client != nullptr);
  auto out = co_await try_handshake(client_context(), server_context(), "127.0.0.2");
  EXPECT_EQ(message(out.client),
            "TLS handshake with 127.0.0.2 failed: certificate verify failed: IP address mismatch");
}

AIO_TEST(tls_handshake, wrong_hostname_names_the_host_and_the_reason) {
  auto out = co_await try_handshake(client_context(), server_context(), "example.com");
  CO_ASSERT_TRUE(out.client != nullptr);
  EXPECT_EQ(message(out.client),
            "TLS handshake with example.com failed: certificate verify failed: hostname mismatch");
  EXPECT_EQ(code(out.client), tls::errc::certificate_verify_failed);
  try {
    std::rethrow_exception(out.client);
  } catch (const tls::error& e) {
    EXPECT_EQ(e.verify_code(), X509_V_ERR_HOSTNAME_MISMATCH);
    EXPECT_EQ(e.verify_message(), "hostname mismatch");
  }
  // The client's alert reaches the server.
  EXPECT_EQ(code(out.server), tls::errc::handshake_failed);
  EXPECT_NE(message(out.server).find("alert"), std::string::npos) << message(out.server);
}

AIO_TEST(tls_handshake, expired_certificate_fails) {
  auto out = co_await try_handshake(
      client_context(), tls::context::server(certs().expired_cert, certs().expired_key));
  EXPECT_EQ(
      message(out.client),
      "TLS handshake with localhost failed: certificate verify failed: certificate has expired");
  EXPECT_EQ(code(out.client), tls::errc::certificate_verify_failed);
}

AIO_TEST(tls_handshake, self_signed_certificate_fails) {
  auto out = co_await try_handshake(
      client_context(), tls::context::server(certs().self_signed_cert, certs().self_signed_key));
  EXPECT_EQ(
      message(out.client),
      "TLS handshake with localhost failed: certificate verify failed: self-signed certificate");
}

AIO_TEST(tls_handshake, default_context_trusts_the_system_store_not_the_test_ca) {
  auto out = co_await try_handshake(tls::create_default_context(), server_context());
  EXPECT_EQ(message(out.client),
            "TLS handshake with localhost failed: certificate verify failed: unable to get local "
            "issuer certificate");
  auto with_ca =
      tls::create_default_context(tls::purpose::server_auth, {.cafile = certs().ca_file});
  EXPECT_TRUE(with_ca.check_hostname());
  EXPECT_EQ(with_ca.verify_mode(), tls::verify_mode::required);
  auto p = co_await connect_pair(with_ca, server_context());
  EXPECT_TRUE(p.client != nullptr);
}

AIO_TEST(tls_handshake, verification_off_accepts_any_certificate) {
  auto client = tls::context::client();
  client.set_check_hostname(false);
  client.set_verify_mode(tls::verify_mode::none);
  auto p = co_await connect_pair(
      client, tls::context::server(certs().self_signed_cert, certs().self_signed_key),
      "example.com");
  EXPECT_TRUE(p.client->extra_info("peercert").has_value());
}

AIO_TEST(tls_handshake, check_hostname_off_still_verifies_the_chain) {
  auto client = client_context();
  client.set_check_hostname(false);
  auto p = co_await connect_pair(client, server_context(), "example.com");
  EXPECT_TRUE(p.client != nullptr);
  auto out = co_await try_handshake(
      client, tls::context::server(certs().self_signed_cert, certs().self_signed_key));
  EXPECT_EQ(code(out.client), tls::errc::certificate_verify_failed);
  // And with no hostname at all, the peer is named by its address.
  auto anon = co_await try_handshake(
      client, tls::context::server(certs().expired_cert, certs().expired_key), "");
  EXPECT_NE(message(anon.client).find("certificate has expired"), std::string::npos)
      << message(anon.client);
}

AIO_TEST(tls_handshake, misuse_is_invalid_argument_and_closes_the_socket) {
  aio::test::socket_pair sp;
  EXPECT_THROW(co_await client_context().wrap_client(aio::make_fd_transport(take(sp.a)), ""),
               std::invalid_argument);
  EXPECT_TRUE(peer_closed(sp.b));
  aio::test::socket_pair sp2;
  EXPECT_THROW(
      co_await server_context().wrap_client(aio::make_fd_transport(take(sp2.a)), "localhost"),
      std::invalid_argument);
  EXPECT_TRUE(peer_closed(sp2.b));
  aio::test::socket_pair sp3;
  EXPECT_THROW(co_await client_context().wrap_server(aio::make_fd_transport(take(sp3.a))),
               std::invalid_argument);
  EXPECT_TRUE(peer_closed(sp3.b));
}

AIO_TEST(tls_handshake, the_secure_layer_outlives_the_context_handle) {
  std::shared_ptr<const aio::secure_layer> layer = server_context();
  aio::test::socket_pair sp;
  std::unique_ptr<aio::transport> st;
  auto s = aio::create_task(into(layer->wrap_server(aio::make_fd_transport(take(sp.b)), ""), st));
  layer.reset();  // the running handshake keeps the context alive
  auto c = co_await client_context().wrap_client(aio::make_fd_transport(take(sp.a)), "localhost");
  co_await s;
  co_await write_all(*st, "still here");
  EXPECT_EQ(co_await read_exactly(*c, 10), "still here");
}

AIO_TEST(tls_handshake, client_certificate_required_and_presented) {
  auto server = server_context();
  server.load_verify_locations({.cafile = certs().ca_file});
  server.set_verify_mode(tls::verify_mode::required);
  auto client = client_context();
  client.load_cert_chain(certs().client_cert, certs().client_key);
  auto [c, s] = co_await connect_pair(client, server);
  EXPECT_NE(s->extra_info("peercert_subject").value_or("").find("CN=aiocpp test client"),
            std::string::npos);
  co_await write_all(*c, "authenticated");
  EXPECT_EQ(co_await read_exactly(*s, 13), "authenticated");
}

AIO_TEST(tls_handshake, client_certificate_missing_tls13_fails_at_the_first_read) {
  auto server = server_context();
  server.load_verify_locations({.cafile = certs().ca_file});
  server.set_verify_mode(tls::verify_mode::required);
  auto out = co_await try_handshake(client_context(), server);
  // TLS 1.3: the client is done before the server has looked at its (absent) certificate.
  CO_ASSERT_TRUE(out.client_transport != nullptr);
  EXPECT_EQ(code(out.server), tls::errc::handshake_failed);
  EXPECT_NE(message(out.server).find("peer did not return a certificate"), std::string::npos)
      << message(out.server);
  std::byte buf[16];
  try {
    co_await out.client_transport->read_some(buf);
    ADD_FAILURE() << "read succeeded";
  } catch (const tls::error& e) {
    EXPECT_EQ(e.code(), tls::errc::protocol_error);
    EXPECT_EQ(
        std::string(e.what()),
        "TLS read from localhost failed: tlsv13 alert certificate required (SSL alert number 116)");
  }
  EXPECT_THROW(co_await out.client_transport->read_some(buf), tls::error);  // stays failed
  EXPECT_THROW(co_await out.client_transport->write_some(bytes("x")), tls::error);
}

AIO_TEST(tls_handshake, client_certificate_missing_tls12_fails_the_handshake) {
  auto server = server_context();
  server.load_verify_locations({.cafile = certs().ca_file});
  server.set_verify_mode(tls::verify_mode::required);
  server.set_maximum_version(tls::version::tls1_2);
  auto out = co_await try_handshake(client_context(), server);
  EXPECT_EQ(code(out.client), tls::errc::handshake_failed);
  EXPECT_NE(message(out.client).find("alert handshake failure"), std::string::npos)
      << message(out.client);
}

AIO_TEST(tls_handshake, client_certificate_optional_may_be_absent) {
  auto server = server_context();
  server.load_verify_locations({.cafile = certs().ca_file});
  server.set_verify_mode(tls::verify_mode::optional);
  auto [c, s] = co_await connect_pair(client_context(), server);
  EXPECT_FALSE(s->extra_info("peercert").has_value());
  co_await write_all(*c, "anonymous");
  EXPECT_EQ(co_await read_exactly(*s, 9), "anonymous");
}

AIO_TEST(tls_handshake, untrusted_client_certificate_is_refused) {
  auto server = server_context();
  server.set_verify_mode(tls::verify_mode::required);  // no CA loaded: nothing is trusted
  server.set_maximum_version(tls::version::tls1_2);
  auto client = client_context();
  client.load_cert_chain(certs().client_cert, certs().client_key);
  auto out = co_await try_handshake(client, server);
  EXPECT_EQ(code(out.server), tls::errc::certificate_verify_failed);
  EXPECT_NE(message(out.server).find("TLS handshake with client "), std::string::npos)
      << message(out.server);
  EXPECT_NE(message(out.client).find("alert unknown ca"), std::string::npos) << message(out.client);
}

AIO_TEST(tls_handshake, session_tickets_are_processed_by_reads) {
  auto [c, s] = co_await connect_pair(client_context(), server_context());
  co_await write_all(*s, "hello");
  EXPECT_EQ(co_await read_exactly(*c, 5), "hello");
  // The tickets came before the data: reading them made the session resumable.
  auto* ssl = static_cast<SSL*>(c->native_handle("ssl_object"));
  EXPECT_EQ(SSL_SESSION_is_resumable(SSL_get0_session(ssl)), 1);
}
