// SPDX-License-Identifier: MIT
#pragma once
// Name resolution on the loop, like `loop.getaddrinfo`. Literal addresses
// and "localhost" are answered at once; other names go through c-ares on the
// loop's own poller (no thread per lookup, unlike asyncio, Tokio and Asio),
// honouring /etc/hosts and /etc/resolv.conf, with a small positive cache and
// one query for any number of tasks asking the same question at once.
// resolver.hpp configures it (servers, timeouts, cache) and names its errors.

#include <sys/socket.h>

#include <string>
#include <string_view>
#include <vector>

#include "aio/core/sock.hpp"
#include "aio/core/task.hpp"
#include "aio/net/resolver.hpp"

namespace aio {

/// One answer of getaddrinfo: what to pass to socket() and connect().
struct address_info {
  int family = AF_UNSPEC;  // AF_INET or AF_INET6
  int type = SOCK_STREAM;
  int protocol = 0;
  sock_address address;  // with the port filled in
};

/// Like `loop.getaddrinfo(host, port, family=…, type=…)`: the addresses of
/// `host`, in c-ares's preferred order (RFC 6724, as glibc sorts), each with
/// `port`, `type` and its protocol (IPPROTO_TCP for SOCK_STREAM, IPPROTO_UDP
/// for SOCK_DGRAM) filled in. `host` may be a name, an IPv4 or IPv6 literal,
/// or a bracketed IPv6 literal ("[::1]"); literals and localhost never reach
/// the network. `family` is AF_UNSPEC (A and AAAA), AF_INET or AF_INET6.
/// Throws std::invalid_argument for an empty host or another family;
/// std::system_error naming the host when it does not resolve, with a
/// dns_errc code and c-ares's reason ("getaddrinfo: cannot resolve
/// 'nosuch.invalid': Domain name not found"; dns_errc::timeout, equal to
/// std::errc::timed_out, when no server answers in time), or
/// std::errc::address_family_not_supported for a literal of the other family.
/// Cancel-safe: a cancelled lookup resumes at once with cancelled_error; the
/// query itself runs on (its answer still fills the cache) and is freed when
/// c-ares is done with it, or when the loop closes. Loop thread only.
task<std::vector<address_info>> getaddrinfo(std::string host, unsigned short port,
                                            int family = AF_UNSPEC, int type = SOCK_STREAM);

namespace detail {
/// The answer for a literal IPv4/IPv6 address or "localhost" without any
/// lookup; false when `host` needs the resolver.
bool resolve_without_lookup(std::string_view host, unsigned short port, int family, int type,
                            std::vector<address_info>& out);
}  // namespace detail

}  // namespace aio
