// SPDX-License-Identifier: MIT
// getaddrinfo: names resolved on the loop, several at once, no thread per lookup.
//
// Resolves every name on the command line concurrently (default: localhost,
// [::1] and this machine's own name, which /etc/hosts normally lists) and
// prints the addresses. Then it points the resolver at a "server" that never
// answers (a UDP socket of its own on loopback) and shows a lookup cut short
// by wait_for, and the resolver's own timeout error.
//
//   ./example_resolve [name…]
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "aio/aio.hpp"

using namespace std::chrono_literals;

namespace {

aio::task<> show(std::string name) {
  try {
    auto answers = co_await aio::getaddrinfo(name, 443);
    std::printf("%-24s", name.c_str());
    for (const auto& a : answers) std::printf(" %s", a.address.to_string().c_str());
    std::printf("\n");
  } catch (const std::exception& e) {  // std::system_error, or invalid_argument for ""
    std::printf("%-24s %s\n", name.c_str(), e.what());
  }
}

/// A UDP socket on 127.0.0.1 that never reads: a DNS server that never answers.
struct silent_server {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  std::string address;
  silent_server() {
    aio::sock_address a = aio::sock_address::from_ip("127.0.0.1", 0);
    ::bind(fd, a.data(), a.size);
    ::getsockname(fd, a.data(), &a.size);
    address = a.to_string();
  }
  ~silent_server() { ::close(fd); }
};

aio::task<> amain(std::vector<std::string> names) {
  std::printf("-- every name at once:\n");
  aio::task_group group;
  for (auto& n : names) group.create_task(show(n));
  co_await group.join();

  std::printf("-- a server that never answers:\n");
  silent_server silent;
  aio::resolver_options o;
  o.servers = {silent.address};
  o.timeout = 300ms;
  o.tries = 1;
  o.use_hosts_file = false;
  aio::configure_resolver(o);
  try {
    co_await aio::wait_for(aio::getaddrinfo("slow.example", 80), 100ms);
  } catch (const aio::timeout_error&) {
    std::printf("wait_for gave up after 100 ms; the loop stayed free meanwhile\n");
  }
  co_await show("slow.example");  // the resolver's own timeout: 300 ms, one try
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> names(argv + 1, argv + argc);
  if (names.empty()) {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    names = {"localhost", "[::1]", host};
  }
  aio::run(amain(std::move(names)));
}
