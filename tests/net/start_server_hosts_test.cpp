// SPDX-License-Identifier: MIT
// start_server / create_server with a list of hosts (asyncio's host=[…]):
// one server on every address of every host, one port, duplicates bound once.
#include <sys/socket.h>

#include <string>
#include <system_error>
#include <vector>

#include "aio_test.hpp"
#include "server_test_util.hpp"

namespace {

// Echoes one line.
aio::task<> echo_line(aio::stream_reader r, aio::stream_writer w) {
  co_await w.write(co_await r.readline());
  co_await w.drain();
}

aio::task<std::string> ask(std::string host, unsigned short port, std::string line) {
  auto [r, w] = co_await aio::open_connection(host, port);
  co_await w.write(line);
  co_return co_await r.readline();
}

aio::task<> drop(std::unique_ptr<aio::transport>) { co_return; }

}  // namespace

AIO_TEST_SUITE(server_hosts);

AIO_TEST(server_hosts, a_list_listens_on_each_host_with_one_port_and_binds_duplicates_once) {
  bool six = aio::test::has_ipv6_loopback();
  std::vector<std::string> hosts{"127.0.0.1", "::1", "127.0.0.1"};
  if (!six) hosts.erase(hosts.begin() + 1);
  auto srv = co_await aio::start_server(echo_line, hosts, 0);
  CO_ASSERT_EQ(srv.sockets().size(), six ? 2u : 1u);
  unsigned short p = srv.sockets()[0].port();
  for (auto& s : srv.sockets()) EXPECT_EQ(s.port(), p);
  std::string four = co_await ask("127.0.0.1", p, "four\n");
  EXPECT_EQ(four, "four\n");
  if (six) {
    std::string answer = co_await ask("::1", p, "six\n");
    EXPECT_EQ(answer, "six\n");
  }
}

AIO_TEST(server_hosts, a_vector_of_names_and_literals_merges_their_addresses) {
  std::vector<std::string> hosts{"localhost", "127.0.0.1"};
  auto srv = co_await aio::start_server(echo_line, hosts, 0);
  std::size_t expected = aio::test::has_ipv6_loopback() ? 2u : 1u;  // localhost: 127.0.0.1 (+ ::1)
  EXPECT_EQ(srv.sockets().size(), expected);
  std::string answer = co_await ask("127.0.0.1", srv.sockets()[0].port(), "merged\n");
  EXPECT_EQ(answer, "merged\n");
}

AIO_TEST(server_hosts, an_empty_host_among_them_means_every_interface) {
  aio::server_options v4;
  v4.family = AF_INET;
  std::vector<std::string> hosts{"127.0.0.1", ""};
  auto srv = co_await aio::start_server(echo_line, hosts, 0, v4);
  CO_ASSERT_EQ(srv.sockets().size(), 1u);
  EXPECT_EQ(srv.sockets()[0].to_string(), "0.0.0.0:" + std::to_string(srv.sockets()[0].port()));
  hosts.clear();
  auto none = co_await aio::start_server(echo_line, hosts, 0, v4);
  CO_ASSERT_EQ(none.sockets().size(), 1u);  // an empty list is "" too
  EXPECT_EQ(none.sockets()[0].to_string(), "0.0.0.0:" + std::to_string(none.sockets()[0].port()));
}

AIO_TEST(server_hosts, an_address_that_cannot_be_bound_fails_naming_it_and_closes_the_others) {
  int fds = aio::test::count_open_fds();
  try {
    // 192.0.2.1 (TEST-NET-1) is not an address of this machine.
    std::vector<std::string> hosts{"127.0.0.1", "192.0.2.1"};
    co_await aio::create_server(drop, hosts, 0);
    ADD_FAILURE() << "binding 192.0.2.1 should fail";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), EADDRNOTAVAIL);
    EXPECT_NE(std::string(e.what()).find("192.0.2.1"), std::string::npos) << e.what();
  }
  EXPECT_EQ(aio::test::count_open_fds(), fds);  // the 127.0.0.1 socket was closed
}

AIO_TEST(server_hosts, sock_and_a_list_of_hosts_together_are_rejected) {
  aio::server_options o;
  o.sock = 0;  // never used: the call is refused first
  std::vector<std::string> hosts{"127.0.0.1", "::1"};
  EXPECT_THROW(co_await aio::start_server(echo_line, hosts, 0, o), std::invalid_argument);
}
