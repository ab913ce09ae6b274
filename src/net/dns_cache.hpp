// SPDX-License-Identifier: MIT
#pragma once
// The resolver's positive cache: answers by (name, family), each until its
// DNS TTL runs out, the least recently used evicted first when full.

#include <chrono>
#include <cstddef>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "aio/net/getaddrinfo.hpp"

namespace aio::detail {

class dns_cache {
 public:
  using clock = std::chrono::steady_clock;

  explicit dns_cache(std::size_t capacity) : capacity_(capacity) {}
  dns_cache(const dns_cache&) = delete;
  dns_cache& operator=(const dns_cache&) = delete;

  /// The live answer under `key` (marked most recent), or nullptr; an expired
  /// one is dropped.
  const std::vector<address_info>* find(std::string_view key, clock::time_point now);
  /// Stores (or replaces) the answer under `key` until `expires`.
  void insert(std::string_view key, std::vector<address_info> addrs, clock::time_point expires);
  void clear() noexcept;
  /// Changes the bound; evicts the oldest entries past it. 0 disables the cache.
  void set_capacity(std::size_t capacity) noexcept;
  std::size_t size() const noexcept { return lru_.size(); }

 private:
  struct entry {
    std::string key;
    std::vector<address_info> addrs;
    clock::time_point expires;
  };
  void trim() noexcept;

  std::list<entry> lru_;  // most recently used first
  std::unordered_map<std::string_view, std::list<entry>::iterator> index_;  // views of entry::key
  std::size_t capacity_;
};

}  // namespace aio::detail
