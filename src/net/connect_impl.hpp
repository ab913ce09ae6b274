// SPDX-License-Identifier: MIT
#pragma once
// The pieces of create_connection: one attempt, the staggered race (Happy
// Eyeballs), the family interleaving, and the combined error.

#include <chrono>
#include <exception>
#include <optional>
#include <vector>

#include "aio/net/getaddrinfo.hpp"
#include "socket_impl.hpp"

namespace aio::detail {

/// One connect attempt: a new socket (TCP_NODELAY for TCP, bound to `local`
/// if given) connected to `target`. Throws std::system_error naming the
/// address; the socket is closed on failure or cancellation.
task<unique_fd> connect_one(const address_info& target, const std::optional<sock_address>& local);

/// Like asyncio's staggered_race over connect_one: attempt i+1 starts when
/// attempt i failed or `delay` passed without a winner; the first success
/// wins, the others are cancelled (and their sockets closed) before this
/// returns. Returns an empty fd when every attempt failed, with each
/// attempt's error in `errors` (address order). Cancelled: every attempt is
/// cancelled and awaited, then cancelled_error.
task<unique_fd> connect_staggered(const std::vector<address_info>& targets,
                                  std::chrono::milliseconds delay,
                                  const std::optional<sock_address>& local,
                                  std::vector<std::exception_ptr>& errors);

/// asyncio's _interleave_addrinfos: `first_count` - 1 addresses of the
/// first family, then one of each family in turn (families in order of
/// first appearance).
std::vector<address_info> interleave_families(const std::vector<address_info>& in, int first_count);

/// The error when every attempt failed: the only one, or the first when all
/// read the same, else connect_error listing them all.
[[noreturn]] void throw_connect_errors(std::vector<std::exception_ptr> errors);

}  // namespace aio::detail
