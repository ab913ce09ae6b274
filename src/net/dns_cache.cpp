// SPDX-License-Identifier: MIT
#include "dns_cache.hpp"

namespace aio::detail {

const std::vector<address_info>* dns_cache::find(std::string_view key, clock::time_point now) {
  auto it = index_.find(key);
  if (it == index_.end()) return nullptr;
  auto pos = it->second;
  if (pos->expires <= now) {
    index_.erase(it);
    lru_.erase(pos);
    return nullptr;
  }
  lru_.splice(lru_.begin(), lru_, pos);
  return &pos->addrs;
}

void dns_cache::insert(std::string_view key, std::vector<address_info> addrs,
                       clock::time_point expires) {
  if (capacity_ == 0) return;
  if (auto it = index_.find(key); it != index_.end()) {
    auto pos = it->second;
    pos->addrs = std::move(addrs);
    pos->expires = expires;
    lru_.splice(lru_.begin(), lru_, pos);
    return;
  }
  lru_.push_front(entry{std::string(key), std::move(addrs), expires});
  try {
    index_.emplace(lru_.front().key, lru_.begin());
  } catch (...) {
    lru_.pop_front();
    throw;
  }
  trim();
}

void dns_cache::clear() noexcept {
  index_.clear();
  lru_.clear();
}

void dns_cache::set_capacity(std::size_t capacity) noexcept {
  capacity_ = capacity;
  trim();
}

void dns_cache::trim() noexcept {
  while (lru_.size() > capacity_) {
    index_.erase(lru_.back().key);
    lru_.pop_back();
  }
}

}  // namespace aio::detail
