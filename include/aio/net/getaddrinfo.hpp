// SPDX-License-Identifier: MIT
#pragma once
// Name resolution on the loop, like `loop.getaddrinfo`. Literal addresses
// and "localhost" are answered at once; other names go through c-ares on the
// loop's own poller (no thread per lookup, unlike asyncio, Tokio and Asio),
// honouring /etc/hosts and /etc/resolv.conf, with a small positive cache.

#include <sys/socket.h>

#include <string>
#include <string_view>
#include <vector>

#include "aio/core/sock.hpp"
#include "aio/core/task.hpp"

namespace aio {

/// One answer of getaddrinfo: what to pass to socket() and connect().
struct address_info {
  int family = AF_UNSPEC;  // AF_INET or AF_INET6
  int type = SOCK_STREAM;
  int protocol = 0;
  sock_address address;    // with the port filled in
};

/// Like `loop.getaddrinfo(host, port, family=…, type=…)`: the addresses of
/// `host`, in the resolver's preferred order. `family` is AF_UNSPEC, AF_INET
/// or AF_INET6. Throws std::system_error naming the host when it does not
/// resolve (or the lookup times out). Cancel-safe: a cancelled lookup is
/// abandoned and leaves nothing behind.
task<std::vector<address_info>> getaddrinfo(std::string host, unsigned short port, int family = AF_UNSPEC,
                                            int type = SOCK_STREAM);

namespace detail {
/// The answer for a literal IPv4/IPv6 address or "localhost" without any
/// lookup; false when `host` needs the resolver.
bool resolve_without_lookup(std::string_view host, unsigned short port, int family, int type,
                            std::vector<address_info>& out);
}  // namespace detail

}  // namespace aio
