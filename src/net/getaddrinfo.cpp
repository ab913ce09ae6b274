// SPDX-License-Identifier: MIT
// aio::getaddrinfo: literals and localhost at once, then the cache, then a
// query shared with every task asking the same question (dns_resolver.hpp).

#include "aio/net/getaddrinfo.hpp"

#include <netinet/in.h>

#include <stdexcept>
#include <system_error>

#include "aio/core/loop.hpp"
#include "aio/net/resolver.hpp"
#include "dns_resolver.hpp"

namespace aio {

namespace {

void finish(std::vector<address_info>& addrs, unsigned short port, int type) {
  int protocol = type == SOCK_STREAM ? IPPROTO_TCP : type == SOCK_DGRAM ? IPPROTO_UDP : 0;
  for (auto& a : addrs) {
    a.type = type;
    a.protocol = protocol;
    if (a.family == AF_INET)
      reinterpret_cast<sockaddr_in*>(&a.address.storage)->sin_port = htons(port);
    else if (a.family == AF_INET6)
      reinterpret_cast<sockaddr_in6*>(&a.address.storage)->sin6_port = htons(port);
  }
}

}  // namespace

task<std::vector<address_info>> getaddrinfo(std::string host, unsigned short port, int family,
                                            int type) {
  if (family != AF_UNSPEC && family != AF_INET && family != AF_INET6)
    throw std::invalid_argument("getaddrinfo: family must be AF_UNSPEC, AF_INET or AF_INET6 (got " +
                                std::to_string(family) + ")");
  std::vector<address_info> out;
  if (detail::resolve_without_lookup(host, port, family, type, out)) {
    if (out.empty())
      throw std::system_error(std::make_error_code(std::errc::address_family_not_supported),
                              "getaddrinfo: '" + host + "' has no address of the requested family");
    finish(out, port, type);
    co_return out;
  }
  auto& resolver = detail::dns_resolver::of(get_running_loop());
  detail::dns_answer answer;
  if (!resolver.cached(host, family, answer.addrs)) {
    std::string key = detail::dns_key(host, family);
    detail::dns_query* q = resolver.in_flight(key);
    if (!q) q = resolver.start(key, host, family, answer);
    if (q) answer = co_await detail::dns_wait(*q);
  }
  if (answer.status != 0)
    throw std::system_error(answer.status, dns_category(),
                            "getaddrinfo: cannot resolve '" + host + "'");
  finish(answer.addrs, port, type);
  co_return std::move(answer.addrs);
}

void configure_resolver(const resolver_options& options) {
  event_loop& loop = get_running_loop();
  loop.check_thread("configure_resolver");
  detail::dns_resolver::of(loop).configure(options);
}

resolver_options resolver_configuration() {
  return detail::dns_resolver::of(get_running_loop()).options();
}

void clear_resolver_cache() { detail::dns_resolver::of(get_running_loop()).clear_cache(); }

}  // namespace aio
