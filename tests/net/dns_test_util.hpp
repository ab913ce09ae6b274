// SPDX-License-Identifier: MIT
#pragma once
// Shared by the resolver tests: a resolver configuration that talks only to
// the given servers (never the machine's own resolv.conf servers), and
// compact views of answers.

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "aio_test.hpp"

namespace aio::test {

/// Options that use only `servers` and a resolv.conf with no search domain
/// and no server (`resolv_conf` may name another).
inline resolver_options resolver_for(
    std::vector<std::string> servers,
    std::chrono::milliseconds timeout = std::chrono::milliseconds(2000), int tries = 2,
    std::string resolv_conf = "/dev/null") {
  resolver_options o;
  o.servers = std::move(servers);
  o.timeout = timeout;
  o.tries = tries;
  o.resolv_conf = std::move(resolv_conf);
  return o;
}

/// "10.1.2.3:443", "[fd00::1]:443", … sorted, for comparisons that ignore order.
inline std::vector<std::string> addresses(const std::vector<address_info>& v) {
  std::vector<std::string> out;
  for (const auto& a : v) out.push_back(a.address.to_string());
  std::sort(out.begin(), out.end());
  return out;
}

/// The dns_errc of a failed lookup (its exception must be a std::system_error).
template <class F>
task<std::error_code> lookup_error(F lookup, std::string* what = nullptr) {
  try {
    co_await lookup();
  } catch (const std::system_error& e) {
    if (what) *what = e.what();
    co_return e.code();
  }
  co_return std::error_code{};
}

}  // namespace aio::test
