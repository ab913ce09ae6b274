// SPDX-License-Identifier: MIT
#pragma once
// The per-loop resolver (a loop extension): one c-ares channel, driven by
// the loop. c-ares says through its socket-state callback which sockets to
// watch; each wanted direction of each socket gets a small watcher task that
// waits on the loop's poller and hands readiness to ares_process_fd. One timer
// (ares_timeout) drives retransmissions and timeouts.
//
// A lookup is a heap record (dns_query) that c-ares's callback always frees,
// whatever happened to the tasks that asked: a cancelled task only leaves
// the record's wait list, so nothing is freed under c-ares's feet. Tasks
// asking the same question while it is in flight wait on the same record.
// Private: c-ares types never reach the public headers.

#include <ares.h>

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "aio/core/detail/wait_list.hpp"
#include "aio/core/loop.hpp"
#include "aio/net/getaddrinfo.hpp"
#include "aio/net/resolver.hpp"
#include "dns_cache.hpp"

namespace aio::detail {

class dns_resolver;

/// How a lookup ended: c-ares's status and, on success, the addresses (port 0).
struct dns_answer {
  int status = ARES_SUCCESS;
  std::vector<address_info> addrs;
};

/// A task waiting for a query; the answer is copied in before it is woken.
struct dns_waiter : wait_node {
  dns_answer answer;
};

/// One c-ares lookup in flight. Freed by c-ares's callback only (an answer, a
/// failure, or ARES_EDESTRUCTION when the channel goes), never by a waiter.
struct dns_query {
  dns_resolver* owner = nullptr;
  std::string key;
  wait_list waiters;
  bool starting = true;  // inside ares_getaddrinfo: an answer now is handed back, not delivered
  bool done = false;
  dns_answer answer;
};

/// The awaiter of a query: joins its wait list. Cancel-safe: a cancelled task
/// leaves the list; the query runs on and its answer still fills the cache.
/// Not an aggregate on purpose: GCC 12 destroys an aggregate temporary built
/// inside a co_await expression twice.
struct dns_wait {
  explicit dns_wait(dns_query& q) noexcept : query(q) {}
  dns_query& query;
  dns_waiter node;
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    node.what_ = "getaddrinfo";
    query.waiters.suspend(node, h);
  }
  dns_answer await_resume() {
    node.resume_or_throw();
    return std::move(node.answer);
  }
};

struct dns_poll;  // dns_watch.cpp: one watcher's wait on the poller

/// A socket c-ares asked us to watch; shared by the map and its watcher tasks.
struct dns_watch {
  dns_resolver* owner = nullptr;
  int fd = -1;
  bool want[2] = {false, false};           // [0] readable, [1] writable
  bool alive[2] = {false, false};          // a watcher task runs for that direction
  bool closed = false;                     // c-ares is closing it: watchers leave
  dns_poll* poll[2] = {nullptr, nullptr};  // the wait in flight, per direction
};

/// The cache key of a question: the name in lower case and the family.
std::string dns_key(std::string_view host, int family);

class dns_resolver final : public loop_extension {
 public:
  explicit dns_resolver(event_loop& loop);
  ~dns_resolver() override;
  dns_resolver(const dns_resolver&) = delete;
  dns_resolver& operator=(const dns_resolver&) = delete;

  /// The loop's resolver, created on first use.
  static dns_resolver& of(event_loop& loop);

  void configure(const resolver_options& options);
  const resolver_options& options() const noexcept { return options_; }
  void clear_cache() noexcept { cache_.clear(); }

  /// A cached answer for (`host`, `family`) into `out`; false on a miss. A
  /// cached AF_UNSPEC answer serves AF_INET and AF_INET6 when it has such addresses.
  bool cached(std::string_view host, int family, std::vector<address_info>& out);
  /// The query in flight for `key`, or nullptr.
  dns_query* in_flight(const std::string& key) const;
  /// Starts a query. nullptr when c-ares answered at once (the hosts file, a
  /// malformed name): `out` then holds the answer.
  dns_query* start(const std::string& key, const std::string& host, int family, dns_answer& out);

  event_loop& loop() noexcept { return loop_; }
  /// Hands readiness of `read_fd` / `write_fd` (or ARES_SOCKET_BAD) to c-ares.
  void process(int read_fd, int write_fd) noexcept;
  /// A watcher task was cancelled by someone else (the loop is shutting
  /// down, as a rule): no new watchers until the next lookup starts.
  void watcher_cancelled() noexcept { spawn_paused_ = true; }

 private:
  static void on_sock_state(void* data, ares_socket_t fd, int readable, int writable) noexcept;
  static void on_answer(void* arg, int status, int timeouts, ares_addrinfo* ai) noexcept;
  static void interrupt(dns_watch& w, int dir) noexcept;

  ares_channel make_channel(const resolver_options& options);
  void spawn_watchers(const std::shared_ptr<dns_watch>& w) noexcept;
  void arm_timer() noexcept;
  void on_timer() noexcept;
  void store(dns_query& q, const ares_addrinfo* ai) noexcept;

  event_loop& loop_;
  resolver_options options_;
  ares_channel channel_ = nullptr;
  std::unordered_map<int, std::shared_ptr<dns_watch>> watches_;
  std::unordered_map<std::string, dns_query*> queries_;
  dns_cache cache_;
  callback_handle timer_;
  event_loop::time_point timer_when_{};
  bool timer_armed_ = false;
  bool spawn_paused_ = false;
  bool destroying_ = false;
};

}  // namespace aio::detail
