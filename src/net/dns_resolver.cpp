// SPDX-License-Identifier: MIT
// The per-loop c-ares channel: creation, queries, their answers, the cache
// and the retransmission timer. The socket side is in dns_watch.cpp.

#include "dns_resolver.hpp"

#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <system_error>

#include "aio/core/errors.hpp"

namespace aio::detail {

namespace {

const char resolver_key = 0;

/// ares_library_init once per process; its status for every later caller.
int library_status() {
  static std::once_flag once;
  static int status = ARES_SUCCESS;
  std::call_once(once, [] { status = ::ares_library_init(ARES_LIB_INIT_ALL); });
  return status;
}

std::chrono::seconds answer_ttl(const ares_addrinfo* ai, std::chrono::seconds max_ttl) {
  int ttl = std::numeric_limits<int>::max();
  for (const ares_addrinfo_node* n = ai->nodes; n; n = n->ai_next) ttl = std::min(ttl, n->ai_ttl);
  for (const ares_addrinfo_cname* c = ai->cnames; c; c = c->next) ttl = std::min(ttl, c->ttl);
  return std::clamp(std::chrono::seconds(ttl), std::chrono::seconds(1),
                    std::max(max_ttl, std::chrono::seconds(1)));
}

}  // namespace

std::string dns_key(std::string_view host, int family) {
  std::string key;
  key.reserve(host.size() + 4);
  for (char c : host) key += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  key += '|';
  key += std::to_string(family);
  return key;
}

dns_resolver::dns_resolver(event_loop& loop) : loop_(loop), cache_(options_.cache_size) {}

dns_resolver::~dns_resolver() {
  // The loop has already cancelled and drained its tasks (the watchers too).
  // ares_destroy answers every query left with ARES_EDESTRUCTION, which
  // frees its record, and reports each socket closed.
  destroying_ = true;
  timer_.cancel();
  if (channel_) ::ares_destroy(channel_);
  channel_ = nullptr;
  watches_.clear();
}

dns_resolver& dns_resolver::of(event_loop& loop) {
  if (auto* e = loop.find_extension(&resolver_key)) return static_cast<dns_resolver&>(*e);
  return static_cast<dns_resolver&>(
      loop.add_extension(&resolver_key, std::make_unique<dns_resolver>(loop)));
}

ares_channel dns_resolver::make_channel(const resolver_options& o) {
  if (int s = library_status(); s != ARES_SUCCESS)
    throw std::system_error(s, dns_category(), "getaddrinfo: c-ares cannot initialise");
  ares_options opts{};
  int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_LOOKUPS;
  opts.sock_state_cb = &on_sock_state;
  opts.sock_state_cb_data = this;
  opts.timeout = static_cast<int>(o.timeout.count());
  opts.tries = o.tries;
  std::string lookups = o.use_hosts_file ? "fb" : "b";  // files then DNS, or DNS only
  opts.lookups = lookups.data();
  std::string resolv_conf = o.resolv_conf;
  if (!resolv_conf.empty()) {
    mask |= ARES_OPT_RESOLVCONF;
    opts.resolvconf_path = resolv_conf.data();
  }
  ares_channel ch = nullptr;
  if (int s = ::ares_init_options(&ch, &opts, mask); s != ARES_SUCCESS)
    throw std::system_error(s, dns_category(), "getaddrinfo: cannot set up a c-ares channel");
  if (!o.servers.empty()) {
    std::string csv;
    for (const auto& s : o.servers) {
      if (s.empty() || s.find(',') != std::string::npos) {
        ::ares_destroy(ch);
        throw std::invalid_argument("configure_resolver: bad server address '" + s + "'");
      }
      if (!csv.empty()) csv += ',';
      csv += s;
    }
    if (int s = ::ares_set_servers_ports_csv(ch, csv.c_str()); s != ARES_SUCCESS) {
      ::ares_destroy(ch);
      throw std::invalid_argument("configure_resolver: bad server list '" + csv +
                                  "': " + ::ares_strerror(s));
    }
  }
  return ch;
}

void dns_resolver::configure(const resolver_options& o) {
  if (o.timeout < std::chrono::milliseconds(1) ||
      o.timeout.count() > std::numeric_limits<int>::max())
    throw std::invalid_argument("configure_resolver: timeout must be between 1 ms and INT_MAX ms");
  if (o.tries < 1) throw std::invalid_argument("configure_resolver: tries must be at least 1");
  if (!o.resolv_conf.empty() && ::access(o.resolv_conf.c_str(), R_OK) != 0)
    throw std::system_error(errno, std::generic_category(),
                            "configure_resolver: cannot read '" + o.resolv_conf + "'");
  for (const auto& [key, q] : queries_)
    if (!q->waiters.empty())
      throw invalid_state_error(
          "configure_resolver: lookups are in flight on this loop (awaiting '" +
          key.substr(0, key.rfind('|')) + "')");
  ares_channel fresh = make_channel(o);
  ares_channel old = std::exchange(channel_, fresh);
  options_ = o;
  cache_.set_capacity(o.cache_size);
  cache_.clear();
  // Queries nobody awaits any more end with ARES_EDESTRUCTION here.
  if (old) ::ares_destroy(old);
  arm_timer();
}

bool dns_resolver::cached(std::string_view host, int family, std::vector<address_info>& out) {
  auto now = dns_cache::clock::now();
  if (const auto* hit = cache_.find(dns_key(host, family), now)) {
    out = *hit;
    return true;
  }
  // An AF_UNSPEC answer holds both families' addresses: it answers either.
  if (family == AF_UNSPEC) return false;
  const auto* all = cache_.find(dns_key(host, AF_UNSPEC), now);
  if (!all) return false;
  out.clear();
  for (const auto& a : *all)
    if (a.family == family) out.push_back(a);
  return !out.empty();
}

dns_query* dns_resolver::in_flight(const std::string& key) const {
  auto it = queries_.find(key);
  return it == queries_.end() ? nullptr : it->second;
}

dns_query* dns_resolver::start(const std::string& key, const std::string& host, int family,
                               dns_answer& out) {
  if (!channel_) channel_ = make_channel(options_);
  // A lookup proves the loop is in use: watchers cancelled by someone else
  // come back for the sockets c-ares still holds.
  spawn_paused_ = false;
  for (const auto& [fd, w] : watches_) spawn_watchers(w);

  auto q = std::make_unique<dns_query>();
  q->owner = this;
  q->key = key;
  ares_addrinfo_hints hints{};
  hints.ai_family = family;
  ::ares_getaddrinfo(channel_, host.c_str(), nullptr, &hints, &on_answer, q.get());
  arm_timer();
  if (q->done) {
    out = std::move(q->answer);
    return nullptr;
  }
  q->starting = false;
  dns_query* raw = q.release();  // c-ares's callback owns it now
  try {
    queries_.emplace(key, raw);
  } catch (...) {
    // Not shared with later askers; still answered and freed by its callback.
  }
  return raw;
}

void dns_resolver::process(int read_fd, int write_fd) noexcept {
  if (!channel_) return;
  ::ares_process_fd(channel_, read_fd, write_fd);
  arm_timer();
}

void dns_resolver::arm_timer() noexcept {
  if (!channel_ || destroying_) return;
  timeval tv{};
  if (!::ares_timeout(channel_, nullptr, &tv)) {  // no query in flight
    if (timer_armed_) timer_.cancel();
    timer_armed_ = false;
    return;
  }
  auto delay = std::chrono::duration_cast<event_loop::duration>(
      std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec));
  auto when = loop_.time() + delay;
  if (timer_armed_ && timer_when_ <= when) return;  // fires early enough; it re-arms itself
  timer_.cancel();
  try {
    timer_ = loop_.call_later(delay, [this] { on_timer(); });
    timer_when_ = when;
    timer_armed_ = true;
  } catch (...) {
    timer_armed_ = false;  // the next socket event re-arms it
  }
}

void dns_resolver::on_timer() noexcept {
  timer_armed_ = false;
  process(ARES_SOCKET_BAD, ARES_SOCKET_BAD);
}

void dns_resolver::store(dns_query& q, const ares_addrinfo* ai) noexcept {
  try {
    for (const ares_addrinfo_node* n = ai->nodes; n; n = n->ai_next) {
      if (n->ai_family != AF_INET && n->ai_family != AF_INET6) continue;
      address_info a;
      a.family = n->ai_family;
      std::size_t len = std::min<std::size_t>(n->ai_addrlen, sizeof a.address.storage);
      std::memcpy(&a.address.storage, n->ai_addr, len);
      a.address.size = static_cast<socklen_t>(len);
      q.answer.addrs.push_back(a);
    }
    if (q.answer.addrs.empty()) {
      q.answer.status = ARES_ENODATA;
      return;
    }
    if (!destroying_ && options_.cache_size > 0)
      cache_.insert(q.key, q.answer.addrs,
                    dns_cache::clock::now() + answer_ttl(ai, options_.max_ttl));
  } catch (...) {
    q.answer.status = ARES_ENOMEM;
    q.answer.addrs.clear();
  }
}

void dns_resolver::on_answer(void* arg, int status, int /*timeouts*/, ares_addrinfo* ai) noexcept {
  auto* q = static_cast<dns_query*>(arg);
  dns_resolver& r = *q->owner;
  q->answer.status = status;
  if (status == ARES_SUCCESS && ai)
    r.store(*q, ai);
  else if (status == ARES_SUCCESS)
    q->answer.status = ARES_ENODATA;
  if (ai) ::ares_freeaddrinfo(ai);
  if (q->starting) {  // answered inside ares_getaddrinfo: start() hands it back
    q->done = true;
    return;
  }
  if (auto it = r.queries_.find(q->key); it != r.queries_.end() && it->second == q)
    r.queries_.erase(it);
  while (wait_node* n = q->waiters.front()) {
    auto* w = static_cast<dns_waiter*>(n);
    try {
      w->answer = q->answer;
    } catch (...) {
      w->answer.status = ARES_ENOMEM;
      w->answer.addrs.clear();
    }
    q->waiters.wake_front();
  }
  delete q;
}

}  // namespace aio::detail
