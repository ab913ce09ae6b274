// SPDX-License-Identifier: MIT
// Cancelling lookups: at the suspension point, before it, one of several
// tasks sharing a query, and the loop closing with queries in flight. ASan
// and LSan check that c-ares's late callbacks touch nothing freed.

#include <sys/socket.h>

#include "dns_test_util.hpp"

using namespace std::chrono_literals;
using aio::test::addresses;
using aio::test::resolver_for;

AIO_TEST_SUITE(dns_cancel_test);

namespace {

using answer = std::vector<aio::address_info>;

aio::task<answer> lookup(std::string host, int family = AF_UNSPEC) {
  co_return co_await aio::getaddrinfo(host, 80, family);
}

/// Waits until `fd` (a silent server) has received a datagram: the query is on the wire.
aio::task<> query_sent(int fd) { co_await aio::wait_readable(fd); }

}  // namespace

AIO_TEST(dns_cancel_test, cancel_mid_lookup_resumes_at_once) {
  aio::test::silent_udp_server silent;
  aio::configure_resolver(resolver_for({silent.address()}, 30s, 1));
  auto h = aio::create_task(lookup("never.test"));
  co_await query_sent(silent.fd);
  EXPECT_FALSE(h.done());
  h.cancel();
  bool cancelled = false;
  try {
    // Far shorter than the resolver's 30 s: the task must not wait for c-ares.
    co_await aio::wait_for(h, 5s);
  } catch (const aio::cancelled_error&) {
    cancelled = true;
  }
  EXPECT_TRUE(cancelled);
  EXPECT_TRUE(h.cancelled());
  // The loop closes with the abandoned query still in flight (ARES_EDESTRUCTION).
}

AIO_TEST(dns_cancel_test, cancel_pending_at_the_suspension_point) {
  aio::test::silent_udp_server silent;
  aio::configure_resolver(resolver_for({silent.address()}, 30s, 1));
  auto body = []() -> aio::task<answer> {
    aio::current_task().cancel();
    co_return co_await aio::getaddrinfo("pending.test", 80);
  };
  auto h = aio::create_task(body());
  bool cancelled = false;
  try {
    co_await h;
  } catch (const aio::cancelled_error&) {
    cancelled = true;
  }
  EXPECT_TRUE(cancelled);
}

AIO_TEST(dns_cancel_test, cancel_before_the_first_step) {
  aio::test::silent_udp_server silent;
  aio::configure_resolver(resolver_for({silent.address()}, 30s, 1));
  auto h = aio::create_task(lookup("unstarted.test"));
  h.cancel();
  bool cancelled = false;
  try {
    co_await h;
  } catch (const aio::cancelled_error&) {
    cancelled = true;
  }
  EXPECT_TRUE(cancelled);
  char buf[512];
  EXPECT_EQ(::recv(silent.fd, buf, sizeof buf, MSG_DONTWAIT), -1);  // never asked
}

AIO_TEST(dns_cancel_test, cancelling_one_sharer_leaves_the_others_their_answer) {
  // The first server never answers, so c-ares asks dnsmasq only after a
  // retransmission timeout: time enough to cancel one of the sharers.
  aio::test::dns_server dns({"10.7.7.7 shared.test"});
  aio::test::silent_udp_server silent;
  aio::configure_resolver(resolver_for({silent.address(), dns.address()}, 300ms, 2));
  auto a = aio::create_task(lookup("shared.test", AF_INET));
  auto b = aio::create_task(lookup("shared.test", AF_INET));
  co_await query_sent(silent.fd);
  a.cancel();
  auto r = co_await b;
  EXPECT_EQ(addresses(r), std::vector<std::string>{"10.7.7.7:80"});
  EXPECT_TRUE(a.cancelled());
  EXPECT_EQ(dns.queries("shared.test"), 1);
}

AIO_TEST(dns_cancel_test, abandoned_query_still_serves_later_askers) {
  aio::test::dns_server dns({"10.8.8.8 later.test"});
  aio::test::silent_udp_server silent;
  aio::configure_resolver(resolver_for({silent.address(), dns.address()}, 300ms, 2));
  auto a = aio::create_task(lookup("later.test", AF_INET));
  co_await query_sent(silent.fd);
  a.cancel();
  try {
    co_await a;
  } catch (const aio::cancelled_error&) {
  }
  // Nobody awaits the query now; a new asker joins it instead of asking again.
  auto r = co_await lookup("later.test", AF_INET);
  EXPECT_EQ(addresses(r), std::vector<std::string>{"10.8.8.8:80"});
  EXPECT_EQ(dns.queries("later.test"), 1);
}

AIO_TEST(dns_cancel_test, loop_closes_with_lookups_in_flight) {
  aio::test::silent_udp_server silent;
  aio::configure_resolver(resolver_for({silent.address()}, 30s, 3));
  for (int i = 0; i < 20; ++i)
    aio::create_task(lookup("pending" + std::to_string(i % 5) + ".test"));
  co_await query_sent(silent.fd);
  // Returning leaves 20 tasks on 5 queries: aio::run cancels the tasks, the
  // loop's resolver then ends the queries (ARES_EDESTRUCTION) and frees them.
}

AIO_TEST(dns_cancel_test, resolver_recovers_from_its_watchers_being_cancelled) {
  // asyncio-style shutdown code cancels every task; the resolver's socket
  // watchers are tasks too. The next lookup must bring them back for the
  // sockets c-ares keeps open. dnsmasq forwards *.slow.test to a server that
  // never answers, so c-ares's socket to dnsmasq stays open meanwhile.
  aio::test::silent_udp_server upstream;
  aio::test::dns_server dns({"10.2.2.2 two.test"}, 60,
                            {"--server=/slow.test/127.0.0.1#" + std::to_string(upstream.port)});
  aio::configure_resolver(resolver_for({dns.address()}, 2s, 1));
  auto stuck = aio::create_task(lookup("x.slow.test", AF_INET));
  co_await query_sent(upstream.fd);  // dnsmasq got it and forwarded it
  auto self = aio::current_task();
  int cancelled = 0;
  for (auto& t : aio::all_tasks()) {
    if (t == self || t == aio::task_handle<>(stuck)) continue;
    EXPECT_NE(t.get_name().find("aio dns fd"), std::string::npos) << t.get_name();
    t.cancel();
    ++cancelled;
  }
  EXPECT_EQ(cancelled, 1);  // c-ares's one UDP socket, read side
  co_await aio::sleep(10ms);
  EXPECT_EQ(aio::all_tasks().size(), 2u);
  // Same socket, new query: only a revived watcher can read its answer.
  auto r2 = co_await lookup("two.test", AF_INET);
  EXPECT_EQ(addresses(r2), std::vector<std::string>{"10.2.2.2:80"});
  EXPECT_FALSE(stuck.done());
  stuck.cancel();
}

AIO_TEST(dns_cancel_test, configure_refused_while_a_lookup_is_awaited) {
  aio::test::silent_udp_server silent;
  aio::configure_resolver(resolver_for({silent.address()}, 30s, 1));
  auto h = aio::create_task(lookup("busy.test"));
  co_await query_sent(silent.fd);
  bool refused = false;
  try {
    aio::configure_resolver(resolver_for({silent.address()}, 1s, 1));
  } catch (const aio::invalid_state_error& e) {
    refused = true;
    EXPECT_NE(std::string(e.what()).find("busy.test"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(refused);
  EXPECT_EQ(aio::resolver_configuration().timeout, 30s);
  h.cancel();
  try {
    co_await h;
  } catch (const aio::cancelled_error&) {
  }
  // Only an abandoned query is left: it is dropped and the new settings apply.
  aio::configure_resolver(resolver_for({silent.address()}, 50ms, 1));
  std::error_code code =
      co_await aio::test::lookup_error([] { return aio::getaddrinfo("busy.test", 80); });
  EXPECT_EQ(code, aio::dns_errc::timeout);
}
