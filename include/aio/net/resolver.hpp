// SPDX-License-Identifier: MIT
#pragma once
// The DNS resolver behind aio::getaddrinfo: one c-ares channel per event loop,
// driven by the loop itself (no thread per lookup), with a small positive
// cache. Most programs never touch it: the defaults read /etc/resolv.conf and
// /etc/hosts as the system resolver does. `configure_resolver` points a loop
// at other servers (a test's dnsmasq, a split-horizon resolver), changes the
// timeouts or the cache. Lookup failures are std::system_error whose code is
// in `dns_category()`.

#include <chrono>
#include <cstddef>
#include <string>
#include <system_error>
#include <type_traits>
#include <vector>

namespace aio {

/// How a loop's resolver finds answers. No asyncio equivalent (asyncio hands
/// lookups to the C library in a thread and takes its configuration).
/// Not an aggregate, like aiocpp's other option types (GCC 12 destroys an
/// aggregate temporary inside co_await twice): set fields on a variable.
struct resolver_options {
  resolver_options() {}  // NOLINT: user-provided on purpose (not an aggregate)
  /// Name servers as "ip", "ip:port" or "[ipv6]:port", tried in order.
  /// Empty: the `nameserver` lines of `resolv_conf`.
  std::vector<std::string> servers;
  /// How long one try waits for an answer (c-ares backs off on later
  /// rounds), and how many rounds over the servers before a lookup fails
  /// with dns_errc::timeout. The defaults are glibc's (5 s, 2 attempts);
  /// resolv.conf's `options timeout:/attempts:` are not consulted.
  std::chrono::milliseconds timeout{5000};
  int tries = 2;
  /// Consult the hosts file (/etc/hosts) before DNS, as nsswitch's "files dns".
  bool use_hosts_file = true;
  /// The resolv.conf to read (servers when `servers` is empty, search domains,
  /// ndots). Empty: /etc/resolv.conf.
  std::string resolv_conf;
  /// Positive answers kept, least recently used evicted first; 0 disables
  /// the cache. Each answer lives for its smallest DNS TTL, at least 1 s and
  /// at most `max_ttl`. Failures are never cached.
  std::size_t cache_size = 256;
  std::chrono::seconds max_ttl{300};
};

/// Replaces the running loop's resolver configuration and empties its cache;
/// later lookups use it. Throws std::invalid_argument for a malformed server,
/// a timeout under 1 ms or tries under 1, std::system_error naming the path
/// when `resolv_conf` cannot be read, invalid_state_error outside a running
/// loop or while a lookup is awaited on this loop (lookups nobody awaits any
/// more, e.g. cancelled ones, are dropped). Not a coroutine; loop thread only.
void configure_resolver(const resolver_options& options);

/// The running loop's resolver configuration (the defaults until
/// configure_resolver is called). Throws invalid_state_error outside a loop.
resolver_options resolver_configuration();

/// Forgets every cached answer of the running loop's resolver. Throws
/// invalid_state_error outside a running loop.
void clear_resolver_cache();

/// Why a lookup failed: c-ares's status codes, under their c-ares meaning
/// (the message is c-ares's own, e.g. "Domain name not found").
/// `timeout` compares equal to std::errc::timed_out, `connection_refused`
/// to std::errc::connection_refused, `cancelled` to std::errc::operation_canceled.
enum class dns_errc {
  no_data = 1,         // the name exists but has no address of that family
  format_error = 2,    // the server could not parse the query
  server_failure = 3,  // SERVFAIL
  not_found = 4,       // NXDOMAIN, or not in the hosts file
  not_implemented = 5,
  refused = 6,  // the server refused to answer
  bad_query = 7,
  bad_name = 8,  // not a valid domain name
  bad_family = 9,
  bad_response = 10,
  connection_refused = 11,  // no server could be reached
  timeout = 12,             // no answer within tries × timeout
  eof = 13,
  file_error = 14,  // the hosts file or resolv.conf could not be read
  no_memory = 15,
  destruction = 16,  // the loop closed (or the resolver was reconfigured) mid-lookup
  bad_string = 17,
  bad_flags = 18,
  no_name = 19,
  bad_hints = 20,
  not_initialized = 21,
  cancelled = 24,  // c-ares cancelled the query
};

/// The error category of dns_errc ("aio.dns"). Any thread.
const std::error_category& dns_category() noexcept;

/// Makes dns_errc usable as a std::error_code.
inline std::error_code make_error_code(dns_errc e) noexcept {
  return {static_cast<int>(e), dns_category()};
}

}  // namespace aio

template <>
struct std::is_error_code_enum<aio::dns_errc> : std::true_type {};
