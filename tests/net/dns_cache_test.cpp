// SPDX-License-Identifier: MIT
// The resolver's cache and query sharing, counted on dnsmasq's query log:
// shared queries, cache hits, TTL expiry, eviction, failures not cached,
// and a thousand lookups at once.

#include "dns_test_util.hpp"

using namespace std::chrono_literals;
using aio::test::addresses;
using aio::test::resolver_for;

AIO_TEST_SUITE(dns_cache_test);

namespace {

using answer = std::vector<aio::address_info>;

aio::task<answer> lookup(std::string host, int family = AF_INET) {
  co_return co_await aio::getaddrinfo(host, 80, family);
}

}  // namespace

AIO_TEST(dns_cache_test, concurrent_askers_share_one_query) {
  aio::test::dns_server dns({"10.9.9.9 c.test"});
  aio::configure_resolver(resolver_for({dns.address()}));
  std::vector<aio::task_handle<answer>> askers;
  for (int i = 0; i < 20; ++i)
    askers.push_back(aio::create_task(lookup(i % 2 ? "c.test" : "C.Test")));
  for (auto& h : askers) {
    auto r = co_await h;
    EXPECT_EQ(addresses(r), std::vector<std::string>{"10.9.9.9:80"});
  }
  EXPECT_EQ(dns.queries("c.test"), 1);
}

AIO_TEST(dns_cache_test, cached_answer_survives_the_server) {
  aio::test::dns_server dns({"10.1.2.3 a.test", "fd00::1 a.test"});
  // A miss would time out at once: one try of 100 ms.
  aio::configure_resolver(resolver_for({dns.address()}, 100ms, 1));
  auto first = co_await lookup("a.test", AF_UNSPEC);
  dns.stop();
  auto again = co_await aio::getaddrinfo("a.test", 443);
  EXPECT_EQ(addresses(again), (std::vector<std::string>{"10.1.2.3:443", "[fd00::1]:443"}));
  // The AF_UNSPEC answer serves each family too.
  auto v6 = co_await lookup("A.TEST", AF_INET6);
  EXPECT_EQ(addresses(v6), std::vector<std::string>{"[fd00::1]:80"});
  auto v4 = co_await lookup("a.test", AF_INET);
  EXPECT_EQ(addresses(v4), std::vector<std::string>{"10.1.2.3:80"});
}

AIO_TEST(dns_cache_test, one_family_does_not_answer_another) {
  aio::test::dns_server dns({"10.1.2.3 a.test", "fd00::1 a.test"});
  aio::configure_resolver(resolver_for({dns.address()}));
  co_await lookup("a.test", AF_INET);
  co_await lookup("a.test", AF_INET);
  co_await lookup("a.test", AF_INET6);
  co_await lookup("a.test", AF_UNSPEC);
  EXPECT_EQ(dns.queries("a.test", "A"), 2);  // AF_INET, then AF_UNSPEC's own pair
  EXPECT_EQ(dns.queries("a.test", "AAAA"), 2);
}

AIO_TEST(dns_cache_test, answers_expire_with_their_ttl) {
  aio::test::dns_server dns({"10.3.3.3 short.test"}, /*ttl=*/1);
  aio::configure_resolver(resolver_for({dns.address()}));
  co_await lookup("short.test");
  co_await lookup("short.test");
  EXPECT_EQ(dns.queries("short.test"), 1);
  co_await aio::sleep(1200ms);  // real time: the TTL is the server's, in seconds
  auto r = co_await lookup("short.test");
  EXPECT_EQ(addresses(r), std::vector<std::string>{"10.3.3.3:80"});
  EXPECT_EQ(dns.queries("short.test"), 2);
}

AIO_TEST(dns_cache_test, max_ttl_caps_the_server_ttl) {
  aio::test::dns_server dns({"10.3.3.4 capped.test"}, /*ttl=*/3600);
  auto o = resolver_for({dns.address()});
  o.max_ttl = 1s;
  aio::configure_resolver(o);
  co_await lookup("capped.test");
  co_await lookup("capped.test");
  EXPECT_EQ(dns.queries("capped.test"), 1);
  co_await aio::sleep(1200ms);
  co_await lookup("capped.test");
  EXPECT_EQ(dns.queries("capped.test"), 2);
}

AIO_TEST(dns_cache_test, least_recently_used_is_evicted) {
  aio::test::dns_server dns({"10.0.0.1 n1.test", "10.0.0.2 n2.test", "10.0.0.3 n3.test"});
  auto o = resolver_for({dns.address()});
  o.cache_size = 2;
  aio::configure_resolver(o);
  co_await lookup("n1.test");
  co_await lookup("n2.test");
  co_await lookup("n1.test");  // n1 is now the most recent
  co_await lookup("n3.test");  // evicts n2
  co_await lookup("n1.test");
  co_await lookup("n2.test");
  EXPECT_EQ(dns.queries("n1.test"), 1);
  EXPECT_EQ(dns.queries("n2.test"), 2);
  EXPECT_EQ(dns.queries("n3.test"), 1);
}

AIO_TEST(dns_cache_test, disabled_and_cleared_caches_ask_again) {
  aio::test::dns_server dns({"10.5.5.5 d.test", "10.5.5.6 e.test"});
  auto o = resolver_for({dns.address()});
  o.cache_size = 0;
  aio::configure_resolver(o);
  co_await lookup("d.test");
  co_await lookup("d.test");
  EXPECT_EQ(dns.queries("d.test"), 2);
  aio::configure_resolver(resolver_for({dns.address()}));
  co_await lookup("e.test");
  co_await lookup("e.test");
  EXPECT_EQ(dns.queries("e.test"), 1);
  aio::clear_resolver_cache();
  co_await lookup("e.test");
  EXPECT_EQ(dns.queries("e.test"), 2);
}

AIO_TEST(dns_cache_test, failures_are_not_cached) {
  aio::test::dns_server dns({});
  aio::configure_resolver(resolver_for({dns.address()}));
  for (int i = 0; i < 2; ++i) {
    auto code = co_await aio::test::lookup_error([] { return lookup("gone.invalid"); });
    EXPECT_EQ(code, aio::dns_errc::not_found);
  }
  EXPECT_EQ(dns.queries("gone.invalid"), 2);
}

AIO_TEST(dns_cache_test, a_thousand_concurrent_lookups) {
  constexpr int n = 1000;
  std::vector<std::string> hosts;
  for (int i = 0; i < n; ++i)
    hosts.push_back("10.20." + std::to_string(i / 256) + "." + std::to_string(i % 256) + " h" +
                    std::to_string(i) + ".test");
  aio::test::dns_server dns(hosts);
  // A burst can overflow a socket buffer: short tries, several of them.
  aio::configure_resolver(resolver_for({dns.address()}, 500ms, 6));
  std::vector<aio::task_handle<answer>> askers;
  for (int i = 0; i < n; ++i)
    askers.push_back(aio::create_task(lookup("h" + std::to_string(i) + ".test")));
  int right = 0;
  for (int i = 0; i < n; ++i) {
    auto r = co_await askers[i];
    std::string want = "10.20." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ":80";
    if (addresses(r) == std::vector<std::string>{want}) ++right;
  }
  EXPECT_EQ(right, n);
}
