// SPDX-License-Identifier: MIT
// Handshakes against peers that misbehave: garbage, an early close, a reset,
// silence (cancellation at each suspension point), and leftover bytes.
#include <sys/socket.h>

#include <random>

#include "tls_test_util.hpp"

using namespace std::chrono_literals;
using namespace tls_test;
namespace tls = aio::tls;

namespace {

// Waits until socket `fd` has bytes to read (the peer's first flight).
aio::task<> wait_readable(int fd) {
  char c;
  while (::recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) <= 0) co_await aio::sleep(1ms);
}

std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::string s(n, '\0');
  for (auto& ch : s) ch = static_cast<char>(gen());
  s[0] = '\x42';  // never a valid TLS record type
  return s;
}

}  // namespace

AIO_TEST_SUITE(tls_handshake_fault);

AIO_TEST(tls_handshake_fault, garbage_from_the_server_is_an_error) {
  for (unsigned seed = 1; seed <= 5; ++seed) {
    aio::test::socket_pair sp;
    std::string junk = random_bytes(4096, seed);
    CO_ASSERT_EQ(::send(sp.b, junk.data(), junk.size(), 0), static_cast<ssize_t>(junk.size()));
    try {
      co_await client_context().wrap_client(aio::make_fd_transport(take(sp.a)), "localhost");
      ADD_FAILURE() << "handshake succeeded";
    } catch (const tls::error& e) {
      EXPECT_EQ(e.code(), tls::errc::handshake_failed);
      EXPECT_EQ(std::string(e.what()).rfind("TLS handshake with localhost failed: ", 0), 0u)
          << e.what();
    }
    EXPECT_TRUE(peer_closed(sp.b));
  }
}

AIO_TEST(tls_handshake_fault, garbage_from_the_client_is_an_error) {
  aio::test::socket_pair sp;
  std::string request = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
  ::send(sp.b, request.data(), request.size(), 0);
  try {
    co_await server_context().wrap_server(aio::make_fd_transport(take(sp.a)));
    ADD_FAILURE() << "handshake succeeded";
  } catch (const tls::error& e) {
    EXPECT_EQ(e.code(), tls::errc::handshake_failed);
    EXPECT_NE(std::string(e.what()).find("http request"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("TLS handshake with client "), std::string::npos)
        << e.what();
  }
}

AIO_TEST(tls_handshake_fault, server_closing_before_answering_is_unexpected_eof) {
  aio::test::socket_pair sp;
  auto closer = aio::create_task([](int fd) -> aio::task<> {
    co_await wait_readable(fd);  // the ClientHello arrived: read it, then hang up
    char buf[4096];
    while (::recv(fd, buf, sizeof buf, MSG_DONTWAIT) > 0) {
    }
    ::shutdown(fd, SHUT_WR);
  }(sp.b));
  try {
    co_await client_context().wrap_client(aio::make_fd_transport(take(sp.a)), "localhost");
    ADD_FAILURE() << "handshake succeeded";
  } catch (const tls::error& e) {
    EXPECT_EQ(e.code(), tls::errc::unexpected_eof);
    EXPECT_EQ(std::string(e.what()),
              "TLS handshake with localhost failed: the connection was closed by the peer");
  }
  co_await closer;
}

AIO_TEST(tls_handshake_fault, reset_mid_handshake_is_a_system_error_naming_the_host) {
  aio::test::socket_pair sp;
  auto resetter = aio::create_task([](int& fd) -> aio::task<> {
    co_await wait_readable(fd);
    ::close(std::exchange(fd, -1));  // unread data queued: the peer sees ECONNRESET
  }(sp.b));
  try {
    co_await client_context().wrap_client(aio::make_fd_transport(take(sp.a)), "localhost");
    ADD_FAILURE() << "handshake succeeded";
  } catch (const tls::error& e) {
    ADD_FAILURE() << "a TLS error instead of the socket's: " << e.what();
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::connection_reset);
    EXPECT_EQ(std::string(e.what()).rfind("TLS handshake with localhost failed", 0), 0u)
        << e.what();
  }
  co_await resetter;
}

AIO_TEST(tls_handshake_fault, leftover_bytes_are_handshake_input) {
  aio::test::socket_pair sp;
  std::unique_ptr<aio::transport> ct;
  auto c = aio::create_task(
      into(client_context().wrap_client(aio::make_fd_transport(take(sp.a)), "localhost"), ct));
  co_await wait_readable(sp.b);
  // A STARTTLS server's reader may already hold the start of the ClientHello.
  char head[10];
  CO_ASSERT_EQ(::recv(sp.b, head, sizeof head, 0), 10);
  auto s = co_await server_context().wrap_server(aio::make_fd_transport(take(sp.b)),
                                                 std::string(head, 10));
  co_await c;
  co_await write_all(*ct, "after leftover");
  EXPECT_EQ(co_await read_exactly(*s, 14), "after leftover");
}

AIO_TEST(tls_handshake_fault, cancel_while_waiting_for_the_server_hello) {
  aio::test::socket_pair sp;  // nobody answers on sp.b
  std::unique_ptr<aio::transport> sink_spa;
  auto c = aio::create_task(into(
      client_context().wrap_client(aio::make_fd_transport(take(sp.a)), "localhost"), sink_spa));
  co_await wait_readable(sp.b);  // the ClientHello went out: now it waits to read
  co_await aio::sleep(1ms);
  EXPECT_FALSE(c.done());
  c.cancel();
  EXPECT_THROW(co_await c, aio::cancelled_error);
  EXPECT_TRUE(peer_closed(sp.b));  // the inner transport was closed
}

AIO_TEST(tls_handshake_fault, cancel_while_sending_the_client_hello) {
  aio::test::socket_pair sp;
  // Fill the socket so the ClientHello cannot be written.
  int small = 4096;
  ::setsockopt(sp.a, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  std::string fill(4096, 'x');
  while (::send(sp.a, fill.data(), fill.size(), MSG_DONTWAIT) > 0) {
  }
  std::unique_ptr<aio::transport> sink_spa;
  auto c = aio::create_task(into(
      client_context().wrap_client(aio::make_fd_transport(take(sp.a)), "localhost"), sink_spa));
  co_await aio::sleep(5ms);
  EXPECT_FALSE(c.done());
  c.cancel();
  EXPECT_THROW(co_await c, aio::cancelled_error);
  EXPECT_TRUE(peer_closed(sp.b));
}

AIO_TEST(tls_handshake_fault, cancel_server_waiting_for_the_client_finished) {
  aio::test::socket_pair sp;
  std::unique_ptr<aio::transport> sink_spb;
  auto s = aio::create_task(
      into(server_context().wrap_server(aio::make_fd_transport(take(sp.b))), sink_spb));
  // Play the client by hand: send a real ClientHello (from a client handshake
  // we let run only until it waits for the server), never answer.
  aio::test::socket_pair relay;
  std::unique_ptr<aio::transport> sink_relaya;
  auto c = aio::create_task(
      into(client_context().wrap_client(aio::make_fd_transport(take(relay.a)), "localhost"),
           sink_relaya));
  co_await wait_readable(relay.b);
  char hello[4096];
  ssize_t n = ::recv(relay.b, hello, sizeof hello, 0);
  CO_ASSERT_TRUE(n > 0);
  ::send(sp.a, hello, static_cast<std::size_t>(n), 0);
  co_await wait_readable(sp.a);  // the server's flight came back: it now waits for the client
  co_await aio::sleep(1ms);
  EXPECT_FALSE(s.done());
  s.cancel();
  EXPECT_THROW(co_await s, aio::cancelled_error);
  EXPECT_TRUE(peer_closed(sp.a));
  c.cancel();
  EXPECT_THROW(co_await c, aio::cancelled_error);
}

AIO_TEST(tls_handshake_fault, timeout_around_a_silent_server) {
  aio::test::socket_pair sp;
  EXPECT_THROW(
      co_await aio::wait_for(
          client_context().wrap_client(aio::make_fd_transport(take(sp.a)), "localhost"), 20ms),
      aio::timeout_error);
  co_await wait_readable(sp.b);
  EXPECT_TRUE(peer_closed(sp.b));
}
