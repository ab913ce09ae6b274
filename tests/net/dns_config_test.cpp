// SPDX-License-Identifier: MIT
// Resolver configuration: the hosts file, resolv.conf's search domains,
// validation of bad settings, and the defaults.

#include <fstream>
#include <sstream>

#include "dns_test_util.hpp"

using namespace std::chrono_literals;
using aio::test::addresses;
using aio::test::resolver_for;

AIO_TEST_SUITE(dns_config_test);

namespace {

struct hosts_entry {
  std::string name;
  std::string ip;
};

/// The first IPv4 name of /etc/hosts that is not localhost (those never reach
/// c-ares): Debian lists the machine's own name there.
hosts_entry name_from_etc_hosts() {
  std::ifstream f("/etc/hosts");
  for (std::string line; std::getline(f, line);) {
    line = line.substr(0, line.find('#'));
    std::istringstream words(line);
    std::string ip, name;
    if (!(words >> ip) || ip.find('.') == std::string::npos) continue;
    while (words >> name) {
      std::vector<aio::address_info> ignored;
      if (!aio::detail::resolve_without_lookup(name, 0, AF_INET, SOCK_STREAM, ignored))
        return {name, ip};
    }
  }
  return {};
}

}  // namespace

AIO_TEST(dns_config_test, hosts_file_is_honoured) {
  hosts_entry e = name_from_etc_hosts();
  CO_ASSERT_TRUE(
      !e.name.empty());           // this machine's /etc/hosts must name something besides localhost
  aio::test::dns_server dns({});  // knows nothing of it
  aio::configure_resolver(resolver_for({dns.address()}, 500ms, 1));
  auto r = co_await aio::getaddrinfo(e.name, 22, AF_INET);
  std::vector<std::string> got = addresses(r);
  EXPECT_NE(std::find(got.begin(), got.end(), e.ip + ":22"), got.end()) << e.name;
  EXPECT_EQ(dns.queries(e.name), 0);

  auto o = resolver_for({dns.address()}, 500ms, 1);
  o.use_hosts_file = false;
  aio::configure_resolver(o);
  std::string what;
  auto code = co_await aio::test::lookup_error(
      [&] { return aio::getaddrinfo(e.name, 22, AF_INET); }, &what);
  EXPECT_TRUE(code) << e.name << " resolved without the hosts file";
  EXPECT_GE(dns.queries(e.name), 1);
}

AIO_TEST(dns_config_test, resolv_conf_search_domains_apply) {
  aio::test::dns_server dns({"10.6.6.6 box.test"});
  std::string conf = dns.dir / "resolv.conf";
  std::ofstream(conf) << "search test\noptions ndots:1\n";
  aio::configure_resolver(resolver_for({dns.address()}, 2s, 2, conf));
  auto r = co_await aio::getaddrinfo("box", 80, AF_INET);
  EXPECT_EQ(addresses(r), std::vector<std::string>{"10.6.6.6:80"});
  EXPECT_EQ(dns.queries("box.test"), 1);
  EXPECT_EQ(aio::resolver_configuration().resolv_conf, conf);
}

AIO_TEST(dns_config_test, bad_settings_are_refused_and_change_nothing) {
  aio::configure_resolver(resolver_for({"127.0.0.1:5353"}, 1500ms, 3));
  auto bad = [](auto change) {
    auto o = resolver_for({"127.0.0.1:5353"});
    change(o);
    return o;
  };
  EXPECT_THROW(aio::configure_resolver(bad([](auto& o) { o.servers = {"not an address"}; })),
               std::invalid_argument);
  EXPECT_THROW(aio::configure_resolver(bad([](auto& o) { o.servers = {"127.0.0.1,127.0.0.2"}; })),
               std::invalid_argument);
  EXPECT_THROW(aio::configure_resolver(bad([](auto& o) { o.servers = {""}; })),
               std::invalid_argument);
  EXPECT_THROW(aio::configure_resolver(bad([](auto& o) { o.timeout = 0ms; })),
               std::invalid_argument);
  EXPECT_THROW(aio::configure_resolver(bad([](auto& o) { o.tries = 0; })), std::invalid_argument);
  try {
    aio::configure_resolver(bad([](auto& o) { o.resolv_conf = "/nonexistent/resolv.conf"; }));
    ADD_FAILURE() << "a missing resolv.conf must be refused";
  } catch (const std::system_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/resolv.conf"), std::string::npos)
        << e.what();
  }
  auto now = aio::resolver_configuration();
  EXPECT_EQ(now.timeout, 1500ms);
  EXPECT_EQ(now.tries, 3);
  EXPECT_EQ(now.servers, std::vector<std::string>{"127.0.0.1:5353"});
  co_return;
}

AIO_TEST(dns_config_test, ipv6_server_syntax_is_accepted) {
  aio::configure_resolver(resolver_for({"[::1]:5353", "127.0.0.1"}));
  EXPECT_EQ(aio::resolver_configuration().servers.size(), 2u);
  co_return;
}

AIO_TEST(dns_config_test, defaults_are_the_system_resolvers) {
  aio::resolver_options d = aio::resolver_configuration();
  EXPECT_TRUE(d.servers.empty());
  EXPECT_EQ(d.timeout, 5s);
  EXPECT_EQ(d.tries, 2);
  EXPECT_TRUE(d.use_hosts_file);
  EXPECT_TRUE(d.resolv_conf.empty());
  EXPECT_EQ(d.cache_size, 256u);
  EXPECT_EQ(d.max_ttl, 300s);
  co_return;
}

TEST(dns_config_outside_loop, needs_a_running_loop) {
  EXPECT_THROW(aio::configure_resolver({}), aio::invalid_state_error);
  EXPECT_THROW(aio::resolver_configuration(), aio::invalid_state_error);
  EXPECT_THROW(aio::clear_resolver_cache(), aio::invalid_state_error);
}
