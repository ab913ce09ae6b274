// SPDX-License-Identifier: MIT
// Connecting (create_connection / create_unix_connection): errors that name
// the address, the connect timeout, local_addr, TCP_NODELAY, cancellation
// without leaked sockets, the TLS plumbing, Unix paths.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "aio_test.hpp"
#include "server_test_util.hpp"

using namespace std::chrono_literals;
using aio::test::read_n;
using aio::test::test_port;
using aio::test::write_all;

namespace {

aio::task<> echo(std::unique_ptr<aio::transport> t) {
  std::byte buf[4096];
  for (;;) {
    std::size_t n = co_await t->read_some(buf);
    if (n == 0) break;
    co_await write_all(*t, std::string_view(reinterpret_cast<char*>(buf), n));
  }
}

unsigned short port(const aio::server& s) { return s.sockets().at(0).port(); }

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

}  // namespace

AIO_TEST_SUITE(open_connection);

AIO_TEST(open_connection, refused_connect_names_the_address) {
  test_port closed(test_port::refusing, "127.0.0.1");
  try {
    co_await aio::create_connection("127.0.0.1", closed.port());
    ADD_FAILURE() << "connected to a port nobody listens on";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), ECONNREFUSED);
    EXPECT_TRUE(contains(e.what(), "127.0.0.1:" + std::to_string(closed.port()))) << e.what();
  }
}

AIO_TEST(open_connection, every_address_refused_lists_them_all) {
  if (!aio::test::has_ipv6_loopback()) {
    std::printf("no IPv6 loopback here: only the single-address case is checked\n");
    co_return;
  }
  aio::test::localhost_pair closed(test_port::refusing, test_port::refusing);
  std::string p = std::to_string(closed.port());
  try {
    co_await aio::create_connection("localhost", closed.port());
    ADD_FAILURE() << "connected to a port nobody listens on";
  } catch (const aio::connect_error& e) {
    EXPECT_EQ(e.code().value(), ECONNREFUSED);
    EXPECT_EQ(std::string(e.what()), "Multiple exceptions: connect to [::1]:" + p +
                                         ": Connection refused, connect to 127.0.0.1:" + p +
                                         ": Connection refused");
    EXPECT_EQ(e.exceptions().size(), 2u);
  }
}

AIO_TEST(open_connection, connects_tcp_with_nodelay_and_echoes) {
  auto srv = co_await aio::create_server(echo, "127.0.0.1", 0);
  auto t = co_await aio::create_connection("127.0.0.1", port(srv));
  int nodelay = 0;
  socklen_t len = sizeof nodelay;
  CO_ASSERT_EQ(::getsockopt(t->fd(), IPPROTO_TCP, TCP_NODELAY, &nodelay, &len), 0);
  EXPECT_EQ(nodelay, 1);
  EXPECT_EQ(t->extra_info("peername").value(), "127.0.0.1:" + std::to_string(port(srv)));
  co_await write_all(*t, "ping");
  EXPECT_EQ(co_await read_n(*t, 4), "ping");
}

AIO_TEST(open_connection, names_and_literals_in_brackets_resolve) {
  auto srv = co_await aio::create_server(echo, "127.0.0.1", 0);
  aio::connect_options v4;
  v4.family = AF_INET;
  auto t = co_await aio::create_connection("localhost", port(srv), v4);
  EXPECT_EQ(t->extra_info("peername").value(), "127.0.0.1:" + std::to_string(port(srv)));
  if (aio::test::has_ipv6_loopback()) {
    auto srv6 = co_await aio::create_server(echo, "::1", 0);
    auto t6 = co_await aio::create_connection("[::1]", port(srv6));
    EXPECT_EQ(t6->extra_info("peername").value(), "[::1]:" + std::to_string(port(srv6)));
    co_await write_all(*t6, "six");
    EXPECT_EQ(co_await read_n(*t6, 3), "six");
  } else {
    std::printf("no IPv6 loopback here: the [::1] case is skipped\n");
  }
}

AIO_TEST(open_connection, local_addr_binds_the_client_side) {
  std::string peer;
  auto srv = co_await aio::create_server(
      [&](std::unique_ptr<aio::transport> t) -> aio::task<> {
        peer = t->extra_info("peername").value_or("");
        co_return;
      },
      "127.0.0.1", 0);
  aio::connect_options o;
  o.local_addr = aio::sock_address::from_ip("127.0.0.2", 0);
  auto t = co_await aio::create_connection("127.0.0.1", port(srv), o);
  EXPECT_EQ(co_await aio::test::read_to_eof(*t), "");
  EXPECT_TRUE(peer.starts_with("127.0.0.2:")) << peer;
  EXPECT_EQ(t->extra_info("sockname").value(), peer);

  // Only addresses of local_addr's family are tried: "localhost" means 127.0.0.1 here.
  auto t2 = co_await aio::create_connection("localhost", port(srv), o);
  EXPECT_EQ(t2->extra_info("peername").value(), "127.0.0.1:" + std::to_string(port(srv)));

  test_port taken(test_port::listening, "127.0.0.2");
  o.local_addr = taken.addr;
  try {
    co_await aio::create_connection("127.0.0.1", port(srv), o);
    ADD_FAILURE() << "bound a local address in use";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), EADDRINUSE);
    EXPECT_TRUE(contains(e.what(), "bind to local address " + taken.addr.to_string())) << e.what();
  }
}

AIO_VTEST(open_connection, connect_timeout_names_host_and_port) {
  test_port hole(test_port::blackhole, "127.0.0.1");
  int before = aio::test::count_open_fds();
  aio::connect_options o;
  o.connect_timeout = 250ms;
  auto t0 = aio::get_running_loop().time();
  try {
    co_await aio::create_connection("127.0.0.1", hole.port(), o);
    ADD_FAILURE() << "connected to a blackhole";
  } catch (const aio::timeout_error& e) {
    EXPECT_EQ(std::string(e.what()),
              "connect to 127.0.0.1:" + std::to_string(hole.port()) + " timed out after 250 ms");
  }
  EXPECT_GE(aio::get_running_loop().time() - t0, 250ms);
  EXPECT_EQ(aio::test::count_open_fds(), before);
}

AIO_TEST(open_connection, cancelled_connect_leaves_no_socket) {
  test_port hole(test_port::blackhole, "127.0.0.1");
  int before = aio::test::count_open_fds();
  for (auto wait : {0ms, 1ms, 20ms}) {  // before the first step, during resolution/connect
    auto t = aio::create_task([](unsigned short p) -> aio::task<> {
      co_await aio::create_connection("127.0.0.1", p);
    }(hole.port()));
    if (wait > 0ms) co_await aio::sleep(wait);
    t.cancel();
    EXPECT_THROW(co_await t, aio::cancelled_error);
    EXPECT_EQ(aio::test::count_open_fds(), before) << "after " << wait.count() << " ms";
  }
}

AIO_TEST(open_connection, bad_arguments_are_rejected) {
  aio::connect_options o;
  o.server_hostname = "example.org";
  EXPECT_THROW(co_await aio::create_connection("127.0.0.1", 1, o), std::invalid_argument);
  EXPECT_THROW(co_await aio::create_unix_connection("/tmp/x", o), std::invalid_argument);
  aio::connect_options he;
  he.happy_eyeballs_delay = 250ms;
  EXPECT_THROW(co_await aio::create_unix_connection("/tmp/x", he), std::invalid_argument);
  aio::connect_options tls_no_name;
  tls_no_name.ssl = std::make_shared<aio::test::fake_tls>();
  EXPECT_THROW(co_await aio::create_unix_connection("/tmp/x", tls_no_name), std::invalid_argument);
  EXPECT_THROW(co_await aio::create_unix_connection(""), std::invalid_argument);
  EXPECT_THROW(co_await aio::create_unix_connection(std::string(200, 'x')), std::invalid_argument);
  aio::connect_options mixed;
  mixed.family = AF_INET6;
  mixed.local_addr = aio::sock_address::from_ip("127.0.0.1", 0);
  EXPECT_THROW(co_await aio::create_connection("localhost", 1, mixed), std::invalid_argument);
}

AIO_TEST(open_connection, unix_connect_errors_name_the_path) {
  std::string path = "/tmp/aio-open-connection-missing-" + std::to_string(::getpid());
  try {
    co_await aio::create_unix_connection(path);
    ADD_FAILURE() << "connected to a missing path";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), ENOENT);
    EXPECT_TRUE(contains(e.what(), path)) << e.what();
  }
  try {
    co_await aio::create_unix_connection("@aio-nobody-listens-" + std::to_string(::getpid()));
    ADD_FAILURE() << "connected to a missing abstract name";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), ECONNREFUSED);
    EXPECT_TRUE(contains(e.what(), "@aio-nobody-listens-")) << e.what();
  }
}

AIO_TEST(open_connection, tls_handshakes_with_the_host_or_server_hostname) {
  auto tls = std::make_shared<aio::test::fake_tls>();
  aio::server_options so;
  so.ssl = tls;
  auto srv = co_await aio::create_server(echo, "127.0.0.1", 0, so);
  aio::connect_options o;
  o.ssl = tls;
  auto a = co_await aio::create_connection("127.0.0.1", port(srv), o);
  co_await write_all(*a, "after handshake");
  EXPECT_EQ(co_await read_n(*a, 15), "after handshake");
  o.server_hostname = "service.internal";
  auto b = co_await aio::create_connection("[127.0.0.1]", port(srv), o);
  co_await write_all(*b, "b");
  EXPECT_EQ(co_await read_n(*b, 1), "b");
  CO_ASSERT_EQ(tls->client_names.size(), 2u);
  EXPECT_EQ(tls->client_names[0], "127.0.0.1");
  EXPECT_EQ(tls->client_names[1], "service.internal");
  EXPECT_EQ(tls->server_handshakes, 2);
}

AIO_VTEST(open_connection, tls_handshake_timeout_closes_the_connection) {
  auto tls = std::make_shared<aio::test::fake_tls>();
  tls->stall = true;
  auto srv = co_await aio::create_server(echo, "127.0.0.1", 0);
  int before = aio::test::count_open_fds();
  aio::connect_options o;
  o.ssl = tls;
  o.ssl_handshake_timeout = 5s;
  try {
    co_await aio::create_connection("127.0.0.1", port(srv), o);
    ADD_FAILURE() << "a stalled handshake finished";
  } catch (const aio::timeout_error& e) {
    EXPECT_EQ(std::string(e.what()), "TLS handshake with 127.0.0.1:" + std::to_string(port(srv)) +
                                         " timed out after 5000 ms");
  }
  srv.close();
  co_await srv.wait_closed();
  EXPECT_EQ(aio::test::count_open_fds(), before - 1);  // the listening socket is gone too
}
