// SPDX-License-Identifier: MIT
// Happy Eyeballs (RFC 8305, asyncio's staggered_race) on loopback:
// "localhost" resolves to [::1] and 127.0.0.1 (IPv6 first), and each side
// is made to refuse, answer, or drop SYNs (a full accept queue). Staggering
// is checked in virtual time; no socket survives a lost race or a cancel.
#include <sys/socket.h>

#include <string>

#include "../../src/net/connect_impl.hpp"
#include "aio_test.hpp"
#include "dns_test_util.hpp"
#include "server_test_util.hpp"

using namespace std::chrono_literals;
using aio::test::localhost_pair;
using aio::test::test_port;

namespace {

aio::connect_options eyeballs(std::chrono::milliseconds delay) {
  aio::connect_options o;
  o.happy_eyeballs_delay = delay;
  return o;
}

std::string v4(unsigned short p) { return "127.0.0.1:" + std::to_string(p); }
std::string v6(unsigned short p) { return "[::1]:" + std::to_string(p); }

aio::address_info info(const char* ip) {
  aio::address_info a;
  a.address = aio::sock_address::from_ip(ip, 80);
  a.family = a.address.family();
  return a;
}

// Prints why a test that needs IPv6 on loopback did not run its body.
bool have_ipv6() {
  bool ok = aio::test::has_ipv6_loopback();
  if (!ok)
    std::printf("no IPv6 loopback on this machine: Happy Eyeballs across families not exercised\n");
  return ok;
}

}  // namespace

AIO_TEST_SUITE(happy_eyeballs);

AIO_VTEST(happy_eyeballs, the_next_address_starts_after_the_delay_and_wins) {
  if (!have_ipv6()) co_return;
  localhost_pair ports(test_port::blackhole, test_port::listening);
  int before = aio::test::count_open_fds();
  auto t0 = aio::get_running_loop().time();
  {
    auto t = co_await aio::create_connection("localhost", ports.port(), eyeballs(250ms));
    auto elapsed = aio::get_running_loop().time() - t0;
    EXPECT_EQ(t->extra_info("peername").value(), v4(ports.port()));
    EXPECT_GE(elapsed, 250ms);  // [::1] had its 250 ms alone
    EXPECT_LT(elapsed, 500ms);
    EXPECT_EQ(aio::test::count_open_fds(), before + 1);  // the [::1] attempt's socket is closed
  }
  EXPECT_EQ(aio::test::count_open_fds(), before);
}

AIO_TEST(happy_eyeballs, a_failed_attempt_starts_the_next_without_waiting) {
  if (!have_ipv6()) co_return;
  localhost_pair ports(test_port::refusing, test_port::listening);
  // With a one-hour delay, only the refusal can start the 127.0.0.1 attempt in time.
  auto t =
      co_await aio::wait_for(aio::create_connection("localhost", ports.port(), eyeballs(1h)), 30s);
  EXPECT_EQ(t->extra_info("peername").value(), v4(ports.port()));
}

AIO_VTEST(happy_eyeballs, the_first_success_cancels_the_attempts_still_running) {
  if (!have_ipv6()) co_return;
  localhost_pair ports(test_port::listening, test_port::blackhole);
  int before = aio::test::count_open_fds();
  {
    auto t = co_await aio::create_connection("localhost", ports.port(), eyeballs(10ms));
    EXPECT_EQ(t->extra_info("peername").value(), v6(ports.port()));
    EXPECT_EQ(aio::test::count_open_fds(), before + 1);
  }
  EXPECT_EQ(aio::test::count_open_fds(), before);
}

AIO_TEST(happy_eyeballs, every_attempt_failing_lists_every_address) {
  if (!have_ipv6()) co_return;
  localhost_pair ports(test_port::refusing, test_port::refusing);
  try {
    co_await aio::create_connection("localhost", ports.port(), eyeballs(250ms));
    ADD_FAILURE() << "connected to refusing ports";
  } catch (const aio::connect_error& e) {
    std::string p = std::to_string(ports.port());
    EXPECT_EQ(std::string(e.what()), "Multiple exceptions: connect to [::1]:" + p +
                                         ": Connection refused, connect to 127.0.0.1:" + p +
                                         ": Connection refused");
    EXPECT_EQ(e.exceptions().size(), 2u);
  }
}

AIO_VTEST(happy_eyeballs, cancelling_the_race_leaves_no_socket) {
  if (!have_ipv6()) co_return;
  localhost_pair ports(test_port::blackhole, test_port::blackhole);
  int before = aio::test::count_open_fds();
  // Cancelled while only [::1] is tried, then while both are.
  for (auto wait : {100ms, 400ms}) {
    auto t = aio::create_task([](unsigned short p) -> aio::task<> {
      co_await aio::create_connection("localhost", p, eyeballs(250ms));
    }(ports.port()));
    co_await aio::sleep(wait);
    EXPECT_EQ(aio::test::count_open_fds(), before + (wait < 250ms ? 1 : 2));
    t.cancel();
    EXPECT_THROW(co_await t, aio::cancelled_error);
    EXPECT_EQ(aio::test::count_open_fds(), before) << "cancelled after " << wait.count() << " ms";
  }
}

AIO_VTEST(happy_eyeballs, both_silent_ends_with_the_connect_timeout) {
  if (!have_ipv6()) co_return;
  localhost_pair ports(test_port::blackhole, test_port::blackhole);
  int before = aio::test::count_open_fds();
  auto o = eyeballs(250ms);
  o.connect_timeout = 2s;
  EXPECT_THROW(co_await aio::create_connection("localhost", ports.port(), o), aio::timeout_error);
  EXPECT_EQ(aio::test::count_open_fds(), before);
}

AIO_VTEST(happy_eyeballs, without_a_delay_addresses_are_tried_one_after_another) {
  if (!have_ipv6()) co_return;
  // asyncio's default: the silent [::1] holds up 127.0.0.1 until the deadline.
  localhost_pair ports(test_port::blackhole, test_port::listening);
  aio::connect_options o;
  o.connect_timeout = 5s;
  auto t0 = aio::get_running_loop().time();
  EXPECT_THROW(co_await aio::create_connection("localhost", ports.port(), o), aio::timeout_error);
  EXPECT_GE(aio::get_running_loop().time() - t0, 5s);
  // A refusal moves on to the next address at once.
  localhost_pair refusing(test_port::refusing, test_port::listening);
  auto t = co_await aio::create_connection("localhost", refusing.port());
  EXPECT_EQ(t->extra_info("peername").value(), v4(refusing.port()));
}

AIO_VTEST(happy_eyeballs, one_address_needs_no_race) {
  test_port port(test_port::listening, "127.0.0.1");
  auto t = co_await aio::create_connection("127.0.0.1", port.port(), eyeballs(250ms));
  EXPECT_EQ(t->extra_info("peername").value(), v4(port.port()));
}

AIO_TEST(happy_eyeballs, a_name_with_three_addresses_staggers_through_them) {
  // svc.test has three IPv4 addresses on one port: two drop SYNs, one answers.
  test_port answering(test_port::listening, "127.0.0.1");
  unsigned short p = answering.port();
  test_port silent2(test_port::blackhole, "127.0.0.2", p);
  test_port silent3(test_port::blackhole, "127.0.0.3", p);
  aio::test::dns_server dns({"127.0.0.2 svc.test", "127.0.0.3 svc.test", "127.0.0.1 svc.test"});
  aio::configure_resolver(aio::test::resolver_for({dns.address()}));
  // The resolver's order is its own: look it up (in real time) and keep it
  // in the cache, where create_connection will find it.
  auto order = co_await aio::getaddrinfo("svc.test", p);
  CO_ASSERT_EQ(order.size(), 3u);
  std::size_t k = 0;
  while (order[k].address.to_string() != v4(p)) ++k;

  aio::get_running_loop().set_virtual_time(true);
  auto t0 = aio::get_running_loop().time();
  auto t = co_await aio::create_connection("svc.test", p, eyeballs(250ms));
  auto elapsed = aio::get_running_loop().time() - t0;
  aio::get_running_loop().set_virtual_time(false);
  EXPECT_EQ(t->extra_info("peername").value(), v4(p));
  EXPECT_GE(elapsed, k * 250ms);  // each silent address before it had its 250 ms
  EXPECT_LT(elapsed, k * 250ms + 250ms);
  EXPECT_EQ(dns.queries("svc.test"), 1);  // one lookup: the connect used the cached answer
}

TEST(happy_eyeballs_order, interleave_alternates_families_as_asyncio_does) {
  using aio::detail::interleave_families;
  std::vector<aio::address_info> in = {info("::1"), info("::2"), info("::3"), info("10.0.0.1"),
                                       info("10.0.0.2")};
  auto names = [](const std::vector<aio::address_info>& v) {
    std::string out;
    for (auto& a : v) out += a.address.to_string() + " ";
    return out;
  };
  EXPECT_EQ(names(interleave_families(in, 1)),
            "[::1]:80 10.0.0.1:80 [::2]:80 10.0.0.2:80 [::3]:80 ");
  EXPECT_EQ(names(interleave_families(in, 2)),
            "[::1]:80 [::2]:80 10.0.0.1:80 [::3]:80 10.0.0.2:80 ");
  EXPECT_EQ(names(interleave_families({info("10.0.0.1"), info("::1")}, 1)),
            "10.0.0.1:80 [::1]:80 ");
  EXPECT_EQ(names(interleave_families({}, 1)), "");
  EXPECT_EQ(interleave_families(in, 0).size(), in.size());
}
