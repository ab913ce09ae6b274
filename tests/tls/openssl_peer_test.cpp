// SPDX-License-Identifier: MIT
// aiocpp's TLS against peers nobody here wrote: `openssl s_server` for the
// client side, `openssl s_client` for the server side.
#include <netinet/in.h>
#include <sys/socket.h>

#include "tls_test_util.hpp"

using namespace std::chrono_literals;
using namespace tls_test;
namespace tls = aio::tls;

namespace {

// `openssl s_server -rev` (answers each line reversed) on a free port.
struct s_server {
  aio::test::child_process child;
  unsigned short port = 0;

  explicit s_server(std::vector<std::string> extra)
      : child([&] {
          std::string cmd = "exec /usr/bin/openssl s_server -accept 127.0.0.1:0 -cert " +
                            certs().server_cert + " -key " + certs().server_key +
                            " -naccept 1 -rev";
          for (const auto& a : extra) cmd += " " + a;
          return std::vector<std::string>{"/bin/sh", "-c", cmd + " 2>/dev/null"};
        }()) {
    for (int i = 0; i < 10 && port == 0; ++i) {
      std::string line = child.read_line();  // "ACCEPT 127.0.0.1:40123" once it listens
      if (line.rfind("ACCEPT ", 0) == 0)
        port = static_cast<unsigned short>(std::stoi(line.substr(line.rfind(':') + 1)));
      if (line.empty()) break;
    }
  }
};

aio::task<std::unique_ptr<aio::transport>> connect_tcp(unsigned short port) {
  int fd = aio::test::tcp_socket();
  try {
    co_await aio::sock_connect(fd, aio::sock_address::from_ip("127.0.0.1", port));
  } catch (...) {
    ::close(fd);
    throw;
  }
  co_return aio::make_fd_transport(fd);
}

// Runs `openssl s_client` through the shell, with `input` on its stdin.
aio::test::child_process s_client(unsigned short port, const std::string& input,
                                  const std::string& extra) {
  std::string cmd = "printf '" + input + "' | exec /usr/bin/openssl s_client -connect 127.0.0.1:" +
                    std::to_string(port) +
                    " -servername localhost -verify_hostname localhost -CAfile " + certs().ca_file +
                    " -verify_return_error -quiet " + extra + " 2>/dev/null";
  return aio::test::child_process({"/bin/sh", "-c", cmd});
}

aio::task<std::unique_ptr<aio::transport>> accept_tls(const aio::test::tcp_listener& l,
                                                      tls::context ctx) {
  aio::accepted a = co_await aio::sock_accept(l.fd);
  co_return co_await ctx.wrap_server(aio::make_fd_transport(a.fd));
}

aio::task<std::string> read_line(aio::transport& t) {
  std::string line;
  std::byte c[1];
  while (line.empty() || line.back() != '\n') {
    std::size_t n = co_await t.read_some(c);
    if (n == 0) break;
    line += static_cast<char>(c[0]);
  }
  co_return line;
}

}  // namespace

AIO_TEST_SUITE(tls_openssl_peer);

AIO_TEST(tls_openssl_peer, client_against_s_server) {
  s_server srv({});
  CO_ASSERT_TRUE(srv.port != 0);
  auto t = co_await client_context().wrap_client(co_await connect_tcp(srv.port), "localhost");
  EXPECT_EQ(t->extra_info("version"), "TLSv1.3");
  co_await write_all(*t, "hello aiocpp\n");
  EXPECT_EQ(co_await read_line(*t), "ppcoia olleh\n");
  co_await write_all(*t, "CLOSE\n");  // s_server -rev's word for "hang up"
  co_await read_all(*t);              // and it does: end of stream
}

AIO_TEST(tls_openssl_peer, client_tls12_and_alpn_with_s_server) {
  s_server srv({"-tls1_2", "-alpn", "h2,http/1.1"});
  CO_ASSERT_TRUE(srv.port != 0);
  auto ctx = client_context();
  ctx.set_alpn_protocols({"http/1.1"});
  auto t = co_await ctx.wrap_client(co_await connect_tcp(srv.port), "localhost");
  EXPECT_EQ(t->extra_info("version"), "TLSv1.2");
  EXPECT_EQ(t->extra_info("alpn_protocol"), "http/1.1");
  co_await write_all(*t, "abc\n");
  EXPECT_EQ(co_await read_line(*t), "cba\n");
}

AIO_TEST(tls_openssl_peer, client_certificate_required_by_s_server) {
  s_server srv({"-Verify", "1", "-CAfile", certs().ca_file});
  CO_ASSERT_TRUE(srv.port != 0);
  auto ctx = client_context();
  ctx.load_cert_chain(certs().client_cert, certs().client_key);
  auto t = co_await ctx.wrap_client(co_await connect_tcp(srv.port), "localhost");
  co_await write_all(*t, "with cert\n");
  EXPECT_EQ(co_await read_line(*t), "trec htiw\n");
}

AIO_TEST(tls_openssl_peer, missing_client_certificate_refused_by_s_server) {
  s_server srv({"-Verify", "1", "-CAfile", certs().ca_file, "-tls1_2"});
  CO_ASSERT_TRUE(srv.port != 0);
  try {
    co_await client_context().wrap_client(co_await connect_tcp(srv.port), "localhost");
    ADD_FAILURE() << "handshake succeeded";
  } catch (const tls::error& e) {
    EXPECT_EQ(e.code(), tls::errc::handshake_failed);
    EXPECT_EQ(std::string(e.what()).rfind("TLS handshake with localhost failed: ", 0), 0u)
        << e.what();
  }
}

AIO_TEST(tls_openssl_peer, wrong_name_from_s_server) {
  s_server srv({});
  CO_ASSERT_TRUE(srv.port != 0);
  try {
    co_await client_context().wrap_client(co_await connect_tcp(srv.port), "example.com");
    ADD_FAILURE() << "handshake succeeded";
  } catch (const tls::error& e) {
    EXPECT_EQ(
        std::string(e.what()),
        "TLS handshake with example.com failed: certificate verify failed: hostname mismatch");
  }
}

AIO_TEST(tls_openssl_peer, server_against_s_client) {
  aio::test::tcp_listener l;
  unsigned short port = ntohs(reinterpret_cast<const sockaddr_in*>(l.addr.data())->sin_port);
  auto client = s_client(port, "ping\\n", "");
  auto t = co_await accept_tls(l, server_context());
  EXPECT_EQ(t->extra_info("server_hostname"), "localhost");
  EXPECT_EQ(co_await read_line(*t), "ping\n");
  co_await write_all(*t, "pong\n");
  co_await t->write_eof();  // close_notify, then FIN: s_client exits
  t->close();
  EXPECT_EQ(client.read_line(), "pong");
}

AIO_TEST(tls_openssl_peer, server_tls12_alpn_and_client_certificate_with_s_client) {
  aio::test::tcp_listener l;
  unsigned short port = ntohs(reinterpret_cast<const sockaddr_in*>(l.addr.data())->sin_port);
  auto ctx = server_context();
  ctx.load_verify_locations({.cafile = certs().ca_file});
  ctx.set_verify_mode(tls::verify_mode::required);
  ctx.set_alpn_protocols({"h2"});
  auto client =
      s_client(port, "twelve\\n",
               "-tls1_2 -alpn h2 -cert " + certs().client_cert + " -key " + certs().client_key);
  auto t = co_await accept_tls(l, ctx);
  EXPECT_EQ(t->extra_info("version"), "TLSv1.2");
  EXPECT_EQ(t->extra_info("alpn_protocol"), "h2");
  EXPECT_NE(t->extra_info("peercert_subject").value_or("").find("CN=aiocpp test client"),
            std::string::npos);
  EXPECT_EQ(co_await read_line(*t), "twelve\n");
  co_await write_all(*t, "ok\n");
  t->close();  // close() alone still says close_notify
  EXPECT_EQ(client.read_line(), "ok");
}

AIO_TEST(tls_openssl_peer, s_client_refusing_our_certificate) {
  aio::test::tcp_listener l;
  unsigned short port = ntohs(reinterpret_cast<const sockaddr_in*>(l.addr.data())->sin_port);
  auto client = s_client(port, "x\\n", "");
  try {
    co_await accept_tls(l, tls::context::server(certs().self_signed_cert, certs().self_signed_key));
    ADD_FAILURE() << "handshake succeeded";
  } catch (const tls::error& e) {
    EXPECT_EQ(e.code(), tls::errc::handshake_failed);
    EXPECT_NE(std::string(e.what()).find("alert"), std::string::npos) << e.what();
  }
}
