// SPDX-License-Identifier: MIT
// aio::getaddrinfo against a real DNS server (dnsmasq): answers, families,
// errors, timeouts, and the names that never reach the resolver.

#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>

#include "dns_test_util.hpp"

using namespace std::chrono_literals;
using aio::test::addresses;
using aio::test::lookup_error;
using aio::test::resolver_for;

AIO_TEST_SUITE(getaddrinfo_test);

namespace {
const std::vector<std::string> hosts = {"10.1.2.3 a.test", "fd00::1 a.test",
                                        "10.4.4.4 v4only.test"};
}

AIO_TEST(getaddrinfo_test, ipv4_literal) {
  auto r = co_await aio::getaddrinfo("127.0.0.1", 8080);
  CO_ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].family, AF_INET);
  EXPECT_EQ(r[0].type, SOCK_STREAM);
  EXPECT_EQ(r[0].protocol, IPPROTO_TCP);
  EXPECT_EQ(r[0].address.to_string(), "127.0.0.1:8080");
}

AIO_TEST(getaddrinfo_test, ipv6_literal_plain_and_bracketed) {
  for (const char* host : {"::1", "[::1]", "fd00::5", "[fd00::5]"}) {
    auto r = co_await aio::getaddrinfo(host, 443, AF_UNSPEC, SOCK_DGRAM);
    CO_ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].family, AF_INET6) << host;
    EXPECT_EQ(r[0].protocol, IPPROTO_UDP) << host;
    EXPECT_EQ(r[0].address.to_string().substr(r[0].address.to_string().size() - 5), "]:443")
        << host;
  }
}

AIO_TEST(getaddrinfo_test, literal_of_the_other_family_is_an_error) {
  std::string what;
  auto code =
      co_await lookup_error([] { return aio::getaddrinfo("127.0.0.1", 80, AF_INET6); }, &what);
  EXPECT_EQ(code, std::errc::address_family_not_supported);
  EXPECT_NE(what.find("'127.0.0.1'"), std::string::npos) << what;
  code = co_await lookup_error([] { return aio::getaddrinfo("[::1]", 80, AF_INET); });
  EXPECT_EQ(code, std::errc::address_family_not_supported);
}

AIO_TEST(getaddrinfo_test, localhost_never_reaches_the_resolver) {
  // The only server never answers and the hosts file is off: a lookup that
  // reached c-ares would fail; the silent socket proves nothing was sent.
  aio::test::silent_udp_server silent;
  auto o = resolver_for({silent.address()}, 50ms, 1);
  o.use_hosts_file = false;
  aio::configure_resolver(o);
  for (const char* host : {"localhost", "LocalHost.", "db.localhost"}) {
    auto r = co_await aio::getaddrinfo(host, 5432);
    EXPECT_EQ(addresses(r), (std::vector<std::string>{"127.0.0.1:5432", "[::1]:5432"})) << host;
  }
  auto v4 = co_await aio::getaddrinfo("localhost", 1, AF_INET);
  EXPECT_EQ(addresses(v4), std::vector<std::string>{"127.0.0.1:1"});
  char buf[512];
  EXPECT_EQ(::recv(silent.fd, buf, sizeof buf, MSG_DONTWAIT), -1);
  EXPECT_EQ(errno, EAGAIN);
}

AIO_TEST(getaddrinfo_test, bad_arguments) {
  bool threw = false;
  try {
    co_await aio::getaddrinfo("", 80);
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  EXPECT_TRUE(threw);
  threw = false;
  try {
    co_await aio::getaddrinfo("a.test", 80, AF_UNIX);
  } catch (const std::invalid_argument& e) {
    threw = true;
    EXPECT_NE(std::string(e.what()).find("family"), std::string::npos);
  }
  EXPECT_TRUE(threw);
}

AIO_TEST(getaddrinfo_test, a_and_aaaa_records_by_family) {
  aio::test::dns_server dns(hosts);
  aio::configure_resolver(resolver_for({dns.address()}));
  auto both = co_await aio::getaddrinfo("a.test", 443);
  EXPECT_EQ(addresses(both), (std::vector<std::string>{"10.1.2.3:443", "[fd00::1]:443"}));
  for (const auto& a : both) {
    EXPECT_EQ(a.type, SOCK_STREAM);
    EXPECT_EQ(a.protocol, IPPROTO_TCP);
    EXPECT_EQ(a.family, a.address.family());
  }
  auto v4 = co_await aio::getaddrinfo("a.test", 53, AF_INET, SOCK_DGRAM);
  EXPECT_EQ(addresses(v4), std::vector<std::string>{"10.1.2.3:53"});
  CO_ASSERT_EQ(v4.size(), 1u);
  EXPECT_EQ(v4[0].protocol, IPPROTO_UDP);
  auto v6 = co_await aio::getaddrinfo("A.TEST", 80, AF_INET6);
  EXPECT_EQ(addresses(v6), std::vector<std::string>{"[fd00::1]:80"});
  EXPECT_EQ(dns.queries("a.test", "A"), 1);
  EXPECT_EQ(dns.queries("a.test", "AAAA"), 1);
}

AIO_TEST(getaddrinfo_test, unknown_name_is_an_error_naming_it) {
  aio::test::dns_server dns(hosts);
  aio::configure_resolver(resolver_for({dns.address()}));
  std::string what;
  auto code = co_await lookup_error([] { return aio::getaddrinfo("nosuch.invalid", 80); }, &what);
  EXPECT_EQ(code, aio::dns_errc::not_found);
  EXPECT_EQ(code.category(), aio::dns_category());
  EXPECT_NE(what.find("getaddrinfo: cannot resolve 'nosuch.invalid'"), std::string::npos) << what;
  EXPECT_NE(what.find("Domain name not found"), std::string::npos) << what;
}

AIO_TEST(getaddrinfo_test, name_without_that_family_is_an_error) {
  aio::test::dns_server dns(hosts);
  aio::configure_resolver(resolver_for({dns.address()}));
  std::string what;
  auto code =
      co_await lookup_error([] { return aio::getaddrinfo("v4only.test", 80, AF_INET6); }, &what);
  EXPECT_EQ(code, aio::dns_errc::no_data) << what;
  EXPECT_NE(what.find("'v4only.test'"), std::string::npos) << what;
  auto r = co_await aio::getaddrinfo("v4only.test", 80);  // AF_UNSPEC still finds the A record
  EXPECT_EQ(addresses(r), std::vector<std::string>{"10.4.4.4:80"});
}

AIO_TEST(getaddrinfo_test, silent_server_times_out) {
  aio::test::silent_udp_server silent;
  aio::configure_resolver(resolver_for({silent.address()}, 100ms, 1));
  std::string what;
  auto code = co_await lookup_error([] { return aio::getaddrinfo("slow.test", 80); }, &what);
  EXPECT_EQ(code, aio::dns_errc::timeout) << what;
  EXPECT_EQ(code, std::errc::timed_out);
  EXPECT_NE(what.find("'slow.test'"), std::string::npos) << what;
  // The query did reach the server (c-ares's own socket, driven by the loop).
  char buf[512];
  EXPECT_GT(::recv(silent.fd, buf, sizeof buf, MSG_DONTWAIT), 0);
}

TEST(dns_category_test, names_and_conditions) {
  EXPECT_STREQ(aio::dns_category().name(), "aio.dns");
  EXPECT_EQ(std::error_code(aio::dns_errc::not_found).message(), "Domain name not found");
  EXPECT_EQ(std::error_code(aio::dns_errc::timeout), std::errc::timed_out);
  EXPECT_EQ(std::error_code(aio::dns_errc::connection_refused), std::errc::connection_refused);
  EXPECT_EQ(std::error_code(aio::dns_errc::cancelled), std::errc::operation_canceled);
  EXPECT_NE(std::error_code(aio::dns_errc::not_found), std::errc::timed_out);
}

AIO_TEST(getaddrinfo_test, large_answer_comes_over_tcp) {
  // 200 addresses do not fit a UDP answer: dnsmasq truncates it and c-ares
  // asks again over TCP, whose connect needs the socket's write side watched.
  std::vector<std::string> lines;
  for (int i = 0; i < 200; ++i)
    lines.push_back("10.30." + std::to_string(i / 100) + "." + std::to_string(i % 100 + 1) +
                    " big.test");
  aio::test::dns_server dns(lines);
  aio::configure_resolver(resolver_for({dns.address()}));
  auto r = co_await aio::getaddrinfo("big.test", 80, AF_INET);
  EXPECT_EQ(r.size(), 200u);
  EXPECT_EQ(dns.queries("big.test"), 2);  // over UDP (truncated), then over TCP
}

AIO_TEST(getaddrinfo_test, malformed_names_fail_without_a_query) {
  aio::test::silent_udp_server silent;
  aio::configure_resolver(resolver_for({silent.address()}, 5s, 1));
  for (std::string host : {std::string("a..test"), std::string(300, 'a') + ".test"}) {
    std::string what;
    auto code = co_await lookup_error([&] { return aio::getaddrinfo(host, 80); }, &what);
    EXPECT_EQ(code, aio::dns_errc::bad_name) << what;
    EXPECT_NE(what.find("Misformatted domain name"), std::string::npos) << what;
  }
  char buf[512];
  EXPECT_EQ(::recv(silent.fd, buf, sizeof buf, MSG_DONTWAIT), -1);  // nothing was sent
}
