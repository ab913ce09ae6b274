// SPDX-License-Identifier: MIT
#include "session_cache.hpp"

namespace aio::tls::detail {

SSL_SESSION* session_cache::take(const std::string& key) {
  std::lock_guard g(m_);
  auto it = sessions_.find(key);
  if (it == sessions_.end()) return nullptr;
  SSL_SESSION* s = it->second.back();  // the newest: the longest left to live
  it->second.pop_back();
  if (it->second.empty()) sessions_.erase(it);
  return s;
}

void session_cache::put(const std::string& key, SSL_SESSION* s) {
  std::lock_guard g(m_);
  auto it = sessions_.find(key);
  if (it == sessions_.end()) {
    if (sessions_.size() >= max_servers) {  // bounded: forget some server
      for (SSL_SESSION* old : sessions_.begin()->second) SSL_SESSION_free(old);
      sessions_.erase(sessions_.begin());
    }
    it = sessions_.emplace(key, std::vector<SSL_SESSION*>{}).first;
  }
  auto& list = it->second;
  if (list.size() >= max_per_server) {
    SSL_SESSION_free(list.front());
    list.erase(list.begin());
  }
  list.push_back(s);
}

void session_cache::clear() noexcept {
  std::lock_guard g(m_);
  for (auto& [key, list] : sessions_)
    for (SSL_SESSION* s : list) SSL_SESSION_free(s);
  sessions_.clear();
}

}  // namespace aio::tls::detail
