// SPDX-License-Identifier: MIT
// One resolver per loop: loops on several threads resolve at once, each with
// its own c-ares channel, configuration and cache (c-ares's process-wide
// initialisation happens once). Named "thread" so the TSan pass runs it.

#include <atomic>
#include <latch>
#include <thread>

#include "dns_test_util.hpp"

using namespace std::chrono_literals;
using aio::test::addresses;
using aio::test::resolver_for;

namespace {

aio::task<int> resolve_many(std::string server, bool hosts_file, int rounds,
                            std::latch& all_loops_up) {
  // No loop closes before every loop is made: liburing maps its rings by raw
  // system call, so ThreadSanitizer takes a ring reused at a freed ring's
  // address on another thread for a race.
  all_loops_up.arrive_and_wait();
  auto o = resolver_for({server});
  o.use_hosts_file = hosts_file;  // each loop its own configuration
  aio::configure_resolver(o);
  int right = 0;
  for (int i = 0; i < rounds; ++i) {
    std::string name = "t" + std::to_string(i % 10) + ".test";
    auto r = co_await aio::getaddrinfo(name, 80, AF_INET);
    if (addresses(r) == std::vector<std::string>{"10.40.0." + std::to_string(i % 10) + ":80"})
      ++right;
  }
  EXPECT_EQ(aio::resolver_configuration().use_hosts_file, hosts_file);
  co_return right;
}

}  // namespace

TEST(dns_thread_test, loops_on_several_threads_resolve_independently) {
  std::vector<std::string> hosts;
  for (int i = 0; i < 10; ++i)
    hosts.push_back("10.40.0." + std::to_string(i) + " t" + std::to_string(i) + ".test");
  aio::test::dns_server dns(hosts);
  for (auto backend : {aio::backend_kind::uring, aio::backend_kind::epoll}) {
    std::atomic<int> right{0};
    std::vector<std::thread> threads;
    std::latch all_loops_up(4);
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        aio::run_options ro;
        ro.loop.backend = backend;
        ro.handle_sigint = false;
        right += aio::run(resolve_many(dns.address(), t % 2 == 0, 50, all_loops_up), ro);
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(right.load(), 4 * 50);
  }
  // Each loop's cache answered its repeats: 4 loops × 10 names per backend.
  int total = 0;
  for (int i = 0; i < 10; ++i) total += dns.queries("t" + std::to_string(i) + ".test");
  EXPECT_EQ(total, 2 * 4 * 10);
}
