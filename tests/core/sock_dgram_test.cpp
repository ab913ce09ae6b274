// SPDX-License-Identifier: MIT
// sock_recvfrom / sock_sendto (recvmsg/sendmsg in both backends): UDP on
// loopback, Unix datagram pairs, truncation, ICMP errors, cancellation.
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "aio_test.hpp"

using namespace std::chrono_literals;

namespace {

// A non-blocking UDP socket bound to `ip`:0; closed on destruction.
struct udp_socket {
  int fd = -1;
  aio::sock_address addr;
  explicit udp_socket(const char* ip = "127.0.0.1") {
    addr = aio::sock_address::from_ip(ip, 0);
    fd = ::socket(addr.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || ::bind(fd, addr.data(), addr.size) != 0)
      throw std::system_error(errno, std::generic_category(), "udp");
    addr.size = sizeof addr.storage;
    ::getsockname(fd, addr.data(), &addr.size);
  }
  ~udp_socket() { ::close(fd); }
  udp_socket(const udp_socket&) = delete;
};

// A connected pair of non-blocking Unix datagram sockets.
struct dgram_pair {
  int a = -1, b = -1;
  dgram_pair() {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0)
      throw std::system_error(errno, std::generic_category(), "socketpair");
    a = fds[0];
    b = fds[1];
  }
  ~dgram_pair() {
    ::close(a);
    ::close(b);
  }
  dgram_pair(const dgram_pair&) = delete;
};

// A UDP port with nobody bound to it.
aio::sock_address closed_udp_port() {
  udp_socket probe;
  return probe.addr;  // the socket closes: the port is free again
}

}  // namespace

AIO_TEST_SUITE(sock_dgram_test);

AIO_TEST(sock_dgram_test, udp_round_trip_reports_the_sender) {
  udp_socket a, b;
  CO_ASSERT_EQ(co_await aio::sock_sendto(a.fd, "ping", b.addr), 4u);
  aio::datagram d = co_await aio::sock_recvfrom(b.fd, 100);
  EXPECT_EQ(d.data, "ping");
  EXPECT_FALSE(d.truncated);
  EXPECT_EQ(d.from.to_string(), a.addr.to_string());
  CO_ASSERT_EQ(co_await aio::sock_sendto(b.fd, "pong:" + d.data, d.from), 9u);
  std::byte buf[64];
  auto r = co_await aio::sock_recvfrom_into(a.fd, buf);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(buf), r.size), "pong:ping");
  EXPECT_EQ(r.from.to_string(), b.addr.to_string());
}

AIO_TEST(sock_dgram_test, udp_over_ipv6_loopback) {
  udp_socket a("::1"), b("::1");
  co_await aio::sock_sendto(a.fd, "six", b.addr);
  aio::datagram d = co_await aio::sock_recvfrom(b.fd, 16);
  EXPECT_EQ(d.data, "six");
  EXPECT_EQ(d.from.family(), AF_INET6);
  EXPECT_EQ(d.from.to_string(), a.addr.to_string());
}

AIO_TEST(sock_dgram_test, empty_datagram_is_a_datagram) {
  udp_socket a, b;
  CO_ASSERT_EQ(co_await aio::sock_sendto(a.fd, "", b.addr), 0u);
  aio::datagram d = co_await aio::sock_recvfrom(b.fd, 16);
  EXPECT_EQ(d.data, "");
  EXPECT_FALSE(d.truncated);
  EXPECT_EQ(d.from.to_string(), a.addr.to_string());
}

AIO_TEST(sock_dgram_test, a_datagram_longer_than_the_buffer_is_reported_truncated) {
  udp_socket a, b;
  std::string big(1000, 'x');
  big[0] = 'a';
  co_await aio::sock_sendto(a.fd, big, b.addr);
  co_await aio::sock_sendto(a.fd, "next", b.addr);
  aio::datagram d = co_await aio::sock_recvfrom(b.fd, 10);
  EXPECT_TRUE(d.truncated);
  EXPECT_EQ(d.data, big.substr(0, 10));
  // The tail is gone; the next datagram is whole.
  d = co_await aio::sock_recvfrom(b.fd, 10);
  EXPECT_FALSE(d.truncated);
  EXPECT_EQ(d.data, "next");
  // Exactly the buffer's size is not truncation.
  co_await aio::sock_sendto(a.fd, "0123456789", b.addr);
  d = co_await aio::sock_recvfrom(b.fd, 10);
  EXPECT_FALSE(d.truncated);
  EXPECT_EQ(d.data, "0123456789");
}

AIO_TEST(sock_dgram_test, recvfrom_suspends_until_a_datagram_arrives) {
  udp_socket a, b;
  auto reader = aio::create_task(aio::sock_recvfrom(b.fd, 64));
  co_await aio::sleep(2ms);
  EXPECT_FALSE(reader.done());
  co_await aio::sock_sendto(a.fd, "late", b.addr);
  aio::datagram d = co_await reader;
  EXPECT_EQ(d.data, "late");
  EXPECT_EQ(d.from.to_string(), a.addr.to_string());
}

AIO_TEST(sock_dgram_test, cancelled_recvfrom_consumes_nothing) {
  udp_socket a, b;
  auto reader = aio::create_task(aio::sock_recvfrom(b.fd, 64));
  co_await aio::sleep(1ms);
  reader.cancel();
  EXPECT_THROW(co_await reader, aio::cancelled_error);
  co_await aio::sock_sendto(a.fd, "kept", b.addr);
  EXPECT_EQ((co_await aio::sock_recvfrom(b.fd, 64)).data, "kept");
}

AIO_TEST(sock_dgram_test, cancel_before_the_first_suspension_throws_at_once) {
  udp_socket a, b;
  co_await aio::sock_sendto(a.fd, "waiting", b.addr);
  auto reader = aio::create_task(aio::sock_recvfrom(b.fd, 64));
  reader.cancel();  // before it ever ran
  EXPECT_THROW(co_await reader, aio::cancelled_error);
  EXPECT_EQ((co_await aio::sock_recvfrom(b.fd, 64)).data, "waiting");
}

AIO_TEST(sock_dgram_test, many_receivers_in_flight_each_get_one_datagram) {
  udp_socket a, b;
  int big = 1 << 20;
  ::setsockopt(b.fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  constexpr int n = 64;
  std::vector<aio::task_handle<aio::datagram>> readers;
  for (int i = 0; i < n; ++i) readers.push_back(aio::create_task(aio::sock_recvfrom(b.fd, 64)));
  co_await aio::sleep(1ms);
  for (int i = 0; i < n; ++i) co_await aio::sock_sendto(a.fd, "d" + std::to_string(i), b.addr);
  std::set<std::string> got;
  for (auto& r : readers) got.insert((co_await r).data);
  EXPECT_EQ(got.size(), static_cast<std::size_t>(n));
  EXPECT_TRUE(got.count("d0") && got.count("d63"));
}

AIO_TEST(sock_dgram_test, too_large_a_datagram_names_its_size_and_address) {
  udp_socket a, b;
  std::string huge(70000, 'x');
  try {
    co_await aio::sock_sendto(a.fd, huge, b.addr);
    ADD_FAILURE() << "a 70000-byte UDP datagram cannot be sent";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), EMSGSIZE);
    std::string what = e.what();
    EXPECT_NE(what.find("70000-byte"), std::string::npos) << what;
    EXPECT_NE(what.find(b.addr.to_string()), std::string::npos) << what;
  }
}

AIO_TEST(sock_dgram_test, icmp_port_unreachable_surfaces_as_connection_refused) {
  aio::sock_address dead = closed_udp_port();
  udp_socket a;
  CO_ASSERT_EQ(::connect(a.fd, dead.data(), dead.size), 0);
  co_await aio::sock_sendto(a.fd, "anyone?", aio::sock_address{});  // to the connected peer
  try {
    co_await aio::sock_recvfrom(a.fd, 64);
    ADD_FAILURE() << "the ICMP error should surface on the next receive";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), ECONNREFUSED) << e.what();
  }
  // The error was reported once; the socket stays usable.
  auto reader = aio::create_task(aio::sock_recvfrom(a.fd, 64));
  co_await aio::sleep(1ms);
  EXPECT_FALSE(reader.done());
  reader.cancel();
  EXPECT_THROW(co_await reader, aio::cancelled_error);
}

AIO_TEST(sock_dgram_test, unix_datagram_pair) {
  dgram_pair p;
  co_await aio::sock_sendto(p.a, "over unix", aio::sock_address{});
  aio::datagram d = co_await aio::sock_recvfrom(p.b, 64);
  EXPECT_EQ(d.data, "over unix");
  EXPECT_EQ(d.from.family() == AF_UNIX || d.from.size == 0, true);
  co_await aio::sock_sendto(p.b, std::string(200, 'u'), aio::sock_address{});
  d = co_await aio::sock_recvfrom(p.a, 50);
  EXPECT_TRUE(d.truncated);
  EXPECT_EQ(d.data, std::string(50, 'u'));
}

AIO_TEST(sock_dgram_test, sendto_suspends_while_the_peer_queue_is_full_and_cancels_cleanly) {
  dgram_pair p;
  int queued = 0;
  while (::send(p.a, "q", 1, MSG_DONTWAIT) == 1) ++queued;
  CO_ASSERT_TRUE(errno == EAGAIN && queued > 0);
  auto send_one = [](int fd, std::string data) -> aio::task<std::size_t> {
    co_return co_await aio::sock_sendto(fd, data, aio::sock_address{});
  };
  // Suspended and cancelled: the datagram is not sent.
  auto cancelled = aio::create_task(send_one(p.a, "cancelled"));
  co_await aio::sleep(2ms);
  EXPECT_FALSE(cancelled.done());
  cancelled.cancel();
  EXPECT_THROW(co_await cancelled, aio::cancelled_error);
  // Suspended and then let through when the reader makes room.
  auto sender = aio::create_task(send_one(p.a, "last"));
  co_await aio::sleep(2ms);
  EXPECT_FALSE(sender.done());
  std::vector<std::string> got;
  for (int i = 0; i <= queued; ++i) got.push_back((co_await aio::sock_recvfrom(p.b, 64)).data);
  EXPECT_EQ(co_await sender, 4u);
  EXPECT_EQ(got.back(), "last");
  EXPECT_EQ(std::count(got.begin(), got.end(), std::string("q")), queued);
  EXPECT_EQ(std::count(got.begin(), got.end(), std::string("cancelled")), 0);
}

TEST(sock_address_unix, paths_and_abstract_names) {
  auto a = aio::sock_address::from_unix("/tmp/x.sock");
  EXPECT_EQ(a.family(), AF_UNIX);
  EXPECT_EQ(a.to_string(), "/tmp/x.sock");
  EXPECT_EQ(a.size, offsetof(sockaddr_un, sun_path) + 12);  // with the terminating NUL
  auto b = aio::sock_address::from_unix("@name");
  EXPECT_EQ(b.to_string(), "@name");
  EXPECT_EQ(b.size, offsetof(sockaddr_un, sun_path) + 5);  // the NUL and "name", no terminator
  EXPECT_THROW(aio::sock_address::from_unix(""), std::invalid_argument);
  EXPECT_THROW(aio::sock_address::from_unix(std::string(108, 'p')), std::invalid_argument);
  EXPECT_NO_THROW(aio::sock_address::from_unix(std::string(107, 'p')));
  EXPECT_NO_THROW(aio::sock_address::from_unix("@" + std::string(107, 'p')));
}
