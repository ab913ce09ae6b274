// SPDX-License-Identifier: MIT
// server_options::sock (asyncio's sock=): serving a socket the caller bound,
// shared by several servers; closing one leaves the socket to the others.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "aio_test.hpp"
#include "server_test_util.hpp"

using namespace std::chrono_literals;
using aio::test::read_n;
using aio::test::write_all;

namespace {

aio::task<> greet(std::unique_ptr<aio::transport> t, std::string who) {
  co_await write_all(*t, who);
}

aio::task<> greet_a(std::unique_ptr<aio::transport> t) { co_await greet(std::move(t), "a"); }
aio::task<> greet_b(std::unique_ptr<aio::transport> t) { co_await greet(std::move(t), "b"); }

aio::task<std::string> first_byte(unsigned short p) {
  auto t = co_await aio::create_connection("127.0.0.1", p);
  co_return co_await read_n(*t, 1);
}

// A bound (not yet listening) blocking TCP socket on 127.0.0.1:0.
int bound_socket() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  auto a = aio::sock_address::from_ip("127.0.0.1", 0);
  if (::bind(fd, a.data(), a.size) != 0) return -1;
  return fd;
}

}  // namespace

AIO_TEST_SUITE(server_sock);

AIO_TEST(server_sock, serves_a_socket_the_caller_bound) {
  int fd = bound_socket();
  CO_ASSERT_TRUE(fd >= 0);
  aio::server_options o;
  o.sock = fd;
  auto srv = co_await aio::create_server(greet_a, "", 0, o);
  CO_ASSERT_EQ(srv.sockets().size(), 1u);
  const unsigned short p = srv.sockets()[0].port();
  EXPECT_EQ(co_await first_byte(p), "a");
  srv.close();
  co_await srv.wait_closed();
  // The caller's socket is still open and still listening (not shut down).
  int listening = 0;
  socklen_t len = sizeof listening;
  EXPECT_EQ(::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len), 0);
  EXPECT_EQ(listening, 1);
  ::close(fd);
}

AIO_TEST(server_sock, closing_one_server_leaves_the_shared_socket_to_the_other) {
  int fd = bound_socket();
  CO_ASSERT_TRUE(fd >= 0);
  aio::server_options o;
  o.sock = fd;
  auto a = co_await aio::create_server(greet_a, "", 0, o);
  auto b = co_await aio::create_server(greet_b, "", 0, o);
  const unsigned short p = a.sockets()[0].port();
  a.close();
  co_await a.wait_closed();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(co_await first_byte(p), "b");
  b.close();
  co_await b.wait_closed();
  ::close(fd);
}

AIO_TEST(server_sock, rejects_host_and_port_with_a_socket_and_a_datagram_socket) {
  int fd = bound_socket();
  CO_ASSERT_TRUE(fd >= 0);
  aio::server_options o;
  o.sock = fd;
  bool both = false;
  try {
    co_await aio::create_server(greet_a, "127.0.0.1", 0, o);
  } catch (const std::invalid_argument&) {
    both = true;
  }
  EXPECT_TRUE(both);
  ::close(fd);
  int udp = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  o.sock = udp;
  bool datagram = false;
  try {
    co_await aio::create_server(greet_a, "", 0, o);
  } catch (const std::invalid_argument&) {
    datagram = true;
  }
  EXPECT_TRUE(datagram);
  ::close(udp);
}
