// SPDX-License-Identifier: MIT
// create_datagram_endpoint against itself: UDP (IPv4, IPv6, connected),
// Unix datagrams (paths, abstract names), errors, close and cancellation.
#include "aio/net/datagram.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "aio_test.hpp"

using namespace std::chrono_literals;

namespace {

aio::datagram_options local(const char* host = "127.0.0.1", unsigned short port = 0) {
  aio::datagram_options o;
  o.local_addr = aio::host_port{host, port};
  return o;
}

bool fd_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

}  // namespace

AIO_TEST_SUITE(datagram_test);

AIO_TEST(datagram_test, echo_with_itself_over_udp) {
  auto server = co_await aio::create_datagram_endpoint(local());
  auto addr = server.sockname();
  EXPECT_EQ(addr.family(), AF_INET);
  aio::datagram_options to_server;
  to_server.remote_addr = aio::host_port{"127.0.0.1", addr.port()};
  auto client = co_await aio::create_datagram_endpoint(to_server);
  CO_ASSERT_TRUE(client.peername().has_value());
  EXPECT_EQ(client.peername()->to_string(), addr.to_string());
  EXPECT_FALSE(server.peername().has_value());
  co_await client.send("ping");
  aio::datagram d = co_await server.recvfrom();
  EXPECT_EQ(d.data, "ping");
  EXPECT_FALSE(d.truncated);
  EXPECT_EQ(d.from.to_string(), client.sockname().to_string());
  co_await server.sendto("pong", d.from);
  aio::datagram back = co_await client.recv();
  EXPECT_EQ(back.data, "pong");
  EXPECT_EQ(back.from.to_string(), addr.to_string());
}

AIO_TEST(datagram_test, ipv6_and_names_resolve) {
  auto server = co_await aio::create_datagram_endpoint(local("::1"));
  EXPECT_EQ(server.family(), AF_INET6);
  aio::datagram_options v6;
  v6.family = AF_INET6;
  auto client = co_await aio::create_datagram_endpoint(v6);
  co_await client.sendto("by name", "localhost", server.sockname().port());
  aio::datagram d = co_await server.recvfrom();
  EXPECT_EQ(d.data, "by name");
  EXPECT_EQ(d.from.family(), AF_INET6);
  // localhost resolves to ::1 first; asked for IPv4, to 127.0.0.1.
  auto any = co_await aio::create_datagram_endpoint(local("localhost"));
  EXPECT_EQ(any.family(), AF_INET6);
  aio::datagram_options v4_only;
  v4_only.local_addr = aio::host_port{"localhost", 0};
  v4_only.family = AF_INET;
  auto v4 = co_await aio::create_datagram_endpoint(v4_only);
  EXPECT_EQ(v4.family(), AF_INET);
  EXPECT_NE(v4.sockname().to_string().find("127.0.0.1:"), std::string::npos);
}

AIO_TEST(datagram_test, truncated_datagrams_are_flagged) {
  auto a = co_await aio::create_datagram_endpoint(local());
  auto b = co_await aio::create_datagram_endpoint(local());
  co_await a.sendto(std::string(3000, 'z'), b.sockname());
  aio::datagram d = co_await b.recvfrom(100);
  EXPECT_TRUE(d.truncated);
  EXPECT_EQ(d.data, std::string(100, 'z'));
  co_await a.sendto("whole", b.sockname());
  std::byte buf[5];
  aio::received_from r = co_await b.recvfrom_into(buf);
  EXPECT_FALSE(r.truncated);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(buf), r.size), "whole");
}

AIO_TEST(datagram_test, icmp_unreachable_is_connection_refused_on_the_next_call) {
  unsigned short dead;
  {
    auto probe = co_await aio::create_datagram_endpoint(local());
    dead = probe.sockname().port();
  }  // closed: nobody listens on `dead` now
  aio::datagram_options to_dead;
  to_dead.remote_addr = aio::host_port{"127.0.0.1", dead};
  auto client = co_await aio::create_datagram_endpoint(to_dead);
  co_await client.send("hello?");
  try {
    co_await client.recv();
    ADD_FAILURE() << "recv should report the ICMP port unreachable";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), ECONNREFUSED);
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:" + std::to_string(dead)), std::string::npos)
        << e.what();
  }
  // A send reports it the same way once the next ICMP answer is in (it
  // comes asynchronously: keep sending until it shows, for at most ~5 s).
  std::string error;
  for (int i = 0; i < 500 && error.empty(); ++i) {
    try {
      co_await client.send("again");
      co_await aio::sleep(10ms);
    } catch (const std::system_error& e) {
      EXPECT_EQ(e.code().value(), ECONNREFUSED);
      error = e.what();
    }
  }
  EXPECT_NE(error.find("to 127.0.0.1:" + std::to_string(dead)), std::string::npos) << error;
}

AIO_TEST(datagram_test, too_large_a_datagram_names_its_size) {
  auto a = co_await aio::create_datagram_endpoint(local());
  auto b = co_await aio::create_datagram_endpoint(local());
  try {
    co_await a.sendto(std::string(66000, 'x'), b.sockname());
    ADD_FAILURE() << "66000 bytes do not fit in a UDP datagram";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), EMSGSIZE);
    EXPECT_NE(std::string(e.what()).find("66000-byte datagram to " + b.sockname().to_string()),
              std::string::npos)
        << e.what();
  }
  // The largest UDP payload over IPv4 still goes through.
  std::string max(65507, 'm');
  co_await a.sendto(max, b.sockname());
  EXPECT_EQ((co_await b.recvfrom()).data.size(), 65507u);
}

AIO_TEST(datagram_test, many_datagrams_in_flight_both_ways) {
  auto a = co_await aio::create_datagram_endpoint(local());
  auto b = co_await aio::create_datagram_endpoint(local());
  int big = 4 << 20;
  ::setsockopt(b.fd(), SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  constexpr int n = 200;
  std::vector<aio::task_handle<aio::datagram>> receivers;
  for (int i = 0; i < n; ++i) receivers.push_back(aio::create_task(b.recvfrom(64)));
  std::vector<std::string> payloads;
  for (int i = 0; i < n; ++i) payloads.push_back("datagram " + std::to_string(i));
  std::vector<aio::task_handle<>> senders;
  for (int i = 0; i < n; ++i)
    senders.push_back(aio::create_task(a.sendto(payloads[i], b.sockname())));
  for (auto& s : senders) co_await s;
  std::set<std::string> got;
  for (auto& r : receivers) {
    aio::datagram d = co_await r;
    EXPECT_EQ(d.from.to_string(), a.sockname().to_string());
    got.insert(d.data);
  }
  EXPECT_EQ(got, std::set<std::string>(payloads.begin(), payloads.end()));
}

AIO_TEST(datagram_test, cancelled_recvfrom_loses_no_datagram) {
  auto a = co_await aio::create_datagram_endpoint(local());
  auto b = co_await aio::create_datagram_endpoint(local());
  auto r = aio::create_task(b.recvfrom());
  co_await aio::sleep(1ms);
  r.cancel();
  EXPECT_THROW(co_await r, aio::cancelled_error);
  co_await a.sendto("after", b.sockname());
  EXPECT_EQ((co_await b.recvfrom()).data, "after");
  // Cancelled while a second receiver (with its own buffer) waits too.
  auto first = aio::create_task(b.recvfrom());
  auto second = aio::create_task(b.recvfrom());
  co_await aio::sleep(1ms);
  first.cancel();
  EXPECT_THROW(co_await first, aio::cancelled_error);
  co_await a.sendto("to the second", b.sockname());
  EXPECT_EQ((co_await second).data, "to the second");
}

AIO_TEST(datagram_test, close_wakes_calls_in_flight_and_then_closes_the_socket) {
  auto ep = co_await aio::create_datagram_endpoint(local());
  int fd = ep.fd();
  auto r1 = aio::create_task(ep.recvfrom());
  auto r2 = aio::create_task(ep.recvfrom());
  co_await aio::sleep(1ms);
  ep.close();
  EXPECT_TRUE(ep.is_closing());
  EXPECT_EQ(ep.fd(), -1);
  for (auto* r : {&r1, &r2}) {
    try {
      co_await *r;
      ADD_FAILURE() << "recvfrom in flight should fail on close";
    } catch (const std::system_error& e) {
      EXPECT_EQ(e.code().value(), EBADF) << e.what();
    }
  }
  EXPECT_FALSE(fd_open(fd));
  EXPECT_THROW(co_await ep.recvfrom(), std::system_error);
  EXPECT_THROW(co_await ep.send("x"), std::system_error);
  EXPECT_THROW(ep.sockname(), std::system_error);
  ep.close();  // idempotent
  // Dropping the last handle closes too.
  int fd2;
  aio::task_handle<aio::datagram> r3;
  {
    auto ep2 = co_await aio::create_datagram_endpoint(local());
    fd2 = ep2.fd();
    r3 = aio::create_task(ep2.recvfrom());
    co_await aio::sleep(1ms);
  }
  EXPECT_THROW(co_await r3, std::system_error);
  EXPECT_FALSE(fd_open(fd2));
}

AIO_TEST(datagram_test, a_blocked_send_cancels_and_closes_cleanly) {
  // A Unix datagram peer that never reads: its queue fills and send waits.
  std::string name = "@aio_dgram_full_" + std::to_string(::getpid());
  aio::datagram_options server_opts;
  server_opts.local_path = name;
  auto server = co_await aio::create_datagram_endpoint(server_opts);
  aio::datagram_options client_opts;
  client_opts.remote_path = name;
  auto client = co_await aio::create_datagram_endpoint(client_opts);
  int queued = 0;
  while (::send(client.fd(), "q", 1, MSG_DONTWAIT) == 1) ++queued;
  CO_ASSERT_TRUE(queued > 0);
  auto blocked = aio::create_task(client.send("cancelled"));
  co_await aio::sleep(2ms);
  EXPECT_FALSE(blocked.done());
  blocked.cancel();
  EXPECT_THROW(co_await blocked, aio::cancelled_error);
  // Blocked again, then the endpoint is closed under it.
  int fd = client.fd();
  auto closed = aio::create_task(client.send("closed"));
  co_await aio::sleep(2ms);
  EXPECT_FALSE(closed.done());
  client.close();
  try {
    co_await closed;
    ADD_FAILURE() << "a send in flight should fail on close";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), EBADF) << e.what();
  }
  EXPECT_FALSE(fd_open(fd));
  // Neither datagram went out: the server holds only the queued ones.
  for (int i = 0; i < queued; ++i) EXPECT_EQ((co_await server.recvfrom()).data, "q");
  auto more = aio::create_task(server.recvfrom());
  co_await aio::sleep(2ms);
  EXPECT_FALSE(more.done());
  more.cancel();
  EXPECT_THROW(co_await more, aio::cancelled_error);
}

AIO_TEST(datagram_test, unix_datagrams_with_a_path_and_an_autobound_client) {
  aio::test::temp_dir dir("aio_dgram_");
  std::string path = dir / "server.sock";
  aio::datagram_options server_opts;
  server_opts.local_path = path;
  auto server = co_await aio::create_datagram_endpoint(server_opts);
  EXPECT_EQ(server.family(), AF_UNIX);
  EXPECT_EQ(server.sockname().to_string(), path);
  aio::datagram_options client_opts;
  client_opts.remote_path = path;
  auto client = co_await aio::create_datagram_endpoint(client_opts);
  co_await client.send("unix ping");
  aio::datagram d = co_await server.recvfrom();
  EXPECT_EQ(d.data, "unix ping");
  CO_ASSERT_EQ(d.from.to_string().substr(0, 1), "@");  // autobound: an abstract name
  co_await server.sendto("unix pong", d.from);
  EXPECT_EQ((co_await client.recv()).data, "unix pong");
  server.close();
  // A stale socket file is replaced, as asyncio does.
  struct stat st {};
  CO_ASSERT_EQ(::stat(path.c_str(), &st), 0);
  aio::datagram_options again_opts;
  again_opts.local_path = path;
  auto again = co_await aio::create_datagram_endpoint(again_opts);
  co_await aio::sock_sendto(client.fd(), "to the new one", aio::sock_address::from_unix(path));
  EXPECT_EQ((co_await again.recvfrom()).data, "to the new one");
}

AIO_TEST(datagram_test, unix_abstract_names) {
  std::string name = "@aio_dgram_test_" + std::to_string(::getpid());
  aio::datagram_options server_opts;
  server_opts.local_path = name;
  auto server = co_await aio::create_datagram_endpoint(server_opts);
  EXPECT_EQ(server.sockname().to_string(), name);
  aio::datagram_options client_opts;
  client_opts.family = AF_UNIX;
  auto client = co_await aio::create_datagram_endpoint(client_opts);
  co_await client.sendto("abstract", aio::sock_address::from_unix(name));
  aio::datagram d = co_await server.recvfrom();
  EXPECT_EQ(d.data, "abstract");
  co_await server.sendto("back", d.from);
  EXPECT_EQ((co_await client.recvfrom()).data, "back");
  EXPECT_THROW(co_await client.sendto("x", "localhost", 1), std::invalid_argument);
}

AIO_TEST(datagram_test, connecting_to_a_missing_unix_path_names_it) {
  try {
    aio::datagram_options missing;
    missing.remote_path = "/nonexistent/aio.sock";
    co_await aio::create_datagram_endpoint(missing);
    ADD_FAILURE() << "connect should fail";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), ENOENT);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/aio.sock"), std::string::npos) << e.what();
  }
}

AIO_TEST(datagram_test, reuse_port_and_address_in_use) {
  aio::datagram_options first;
  first.local_addr = aio::host_port{"127.0.0.1", 0};
  first.reuse_port = true;
  auto a = co_await aio::create_datagram_endpoint(first);
  unsigned short port = a.sockname().port();
  aio::datagram_options second;
  second.local_addr = aio::host_port{"127.0.0.1", port};
  second.reuse_port = true;
  auto b = co_await aio::create_datagram_endpoint(second);
  EXPECT_EQ(b.sockname().to_string(), a.sockname().to_string());
  try {
    co_await aio::create_datagram_endpoint(local("127.0.0.1", port));
    ADD_FAILURE() << "bind should fail without reuse_port";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), EADDRINUSE);
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:" + std::to_string(port)), std::string::npos)
        << e.what();
  }
}

AIO_TEST(datagram_test, broadcast_needs_allow_broadcast) {
  auto plain = co_await aio::create_datagram_endpoint(local());
  auto bcast = aio::sock_address::from_ip("127.255.255.255", 9);
  try {
    co_await plain.sendto("x", bcast);
    ADD_FAILURE() << "broadcast without SO_BROADCAST should fail";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), EACCES) << e.what();
  }
  aio::datagram_options broadcast;
  broadcast.local_addr = aio::host_port{"127.0.0.1", 0};
  broadcast.allow_broadcast = true;
  auto allowed = co_await aio::create_datagram_endpoint(broadcast);
  co_await allowed.sendto("x", bcast);
}

AIO_TEST(datagram_test, bad_options) {
  aio::datagram_options none;
  EXPECT_THROW(co_await aio::create_datagram_endpoint(none), std::invalid_argument);
  aio::datagram_options both;
  both.local_addr = aio::host_port{"127.0.0.1", 0};
  both.local_path = "/tmp/x";
  EXPECT_THROW(co_await aio::create_datagram_endpoint(both), std::invalid_argument);
  aio::datagram_options wrong_family;
  wrong_family.family = AF_INET6;
  wrong_family.remote_path = "@x";
  EXPECT_THROW(co_await aio::create_datagram_endpoint(wrong_family), std::invalid_argument);
  aio::datagram_options bad_family;
  bad_family.family = 12345;
  EXPECT_THROW(co_await aio::create_datagram_endpoint(bad_family), std::invalid_argument);
  aio::datagram_options unix_reuse;
  unix_reuse.reuse_port = true;
  unix_reuse.local_path = "@x";
  EXPECT_THROW(co_await aio::create_datagram_endpoint(unix_reuse), std::invalid_argument);
  aio::datagram_options too_long;
  too_long.local_path = std::string(200, 'p');
  EXPECT_THROW(co_await aio::create_datagram_endpoint(too_long), std::invalid_argument);
  // No common family between an IPv4 local address and an IPv6 peer.
  aio::datagram_options mixed;
  mixed.local_addr = aio::host_port{"127.0.0.1", 0};
  mixed.remote_addr = aio::host_port{"::1", 9};
  try {
    co_await aio::create_datagram_endpoint(mixed);
    ADD_FAILURE() << "mismatched families should fail";
  } catch (const std::system_error& e) {
    EXPECT_NE(std::string(e.what()).find("[::1]:9"), std::string::npos) << e.what();
  }
  aio::datagram_endpoint empty;
  EXPECT_TRUE(empty.is_closing());
  EXPECT_THROW(co_await empty.recvfrom(), std::system_error);
}
