// SPDX-License-Identifier: MIT
// Answers that never touch the network: literal addresses and localhost.
#include <strings.h>

#include <stdexcept>

#include "aio/net/getaddrinfo.hpp"

namespace aio::detail {

namespace {
bool wanted(int family, int f) { return family == AF_UNSPEC || family == f; }
}  // namespace

bool resolve_without_lookup(std::string_view host, unsigned short port, int family, int type,
                            std::vector<address_info>& out) {
  auto add = [&](std::string_view ip) {
    address_info ai;
    ai.address = sock_address::from_ip(ip, port);
    ai.family = ai.address.family();
    ai.type = type;
    if (wanted(family, ai.family)) out.push_back(ai);
  };
  if (host.empty()) throw std::invalid_argument("getaddrinfo: empty host name");
  std::string h(host);
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  try {
    add(h);
    return true;
  } catch (const std::invalid_argument&) {
    // not a literal address
  }
  std::string_view name = h;
  if (name.back() == '.') name.remove_suffix(1);
  bool local = ::strncasecmp(name.data(), "localhost", name.size()) == 0 && name.size() == 9;
  bool sub = name.size() > 10 &&
             ::strcasecmp(std::string(name.substr(name.size() - 10)).c_str(), ".localhost") == 0;
  if (!local && !sub) return false;
  // RFC 6761: localhost is the loopback, IPv6 first as glibc orders it.
  add("::1");
  add("127.0.0.1");
  return true;
}

}  // namespace aio::detail
