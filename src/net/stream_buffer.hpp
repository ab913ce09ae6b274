// SPDX-License-Identifier: MIT
#pragma once
// The byte buffer of the streams: consumed from the front by moving an
// offset, filled at the back straight from the transport (prepare/commit).
// Bytes move only when the free tail is too small and at least as many bytes
// were consumed as remain (so each byte moves O(1) times, amortised), or when
// the buffer grows. Empty, it rewinds to the start for free.

#include <cstddef>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace aio::detail {

class byte_buffer {
 public:
  std::size_t size() const noexcept { return end_ - begin_; }
  bool empty() const noexcept { return end_ == begin_; }
  std::size_t capacity() const noexcept { return cap_; }
  const std::byte* data() const noexcept { return p_.get() + begin_; }
  std::string_view view() const noexcept {
    return {reinterpret_cast<const char*>(p_.get()) + begin_, size()};
  }
  std::span<const std::byte> readable() const noexcept { return {data(), size()}; }

  /// A writable tail of at least `min_free` bytes (maybe more: all of it).
  std::span<std::byte> prepare(std::size_t min_free) {
    if (cap_ - end_ < min_free) make_room(min_free);
    return {p_.get() + end_, cap_ - end_};
  }
  /// Adds `n` bytes written into the tail prepare() gave.
  void commit(std::size_t n) noexcept { end_ += n; }
  /// Drops `n` bytes from the front.
  void consume(std::size_t n) noexcept {
    begin_ += n;
    if (begin_ == end_) begin_ = end_ = 0;
  }
  void clear() noexcept { begin_ = end_ = 0; }
  /// Takes `n` bytes from the front as a string.
  std::string take(std::size_t n) {
    std::string out(view().substr(0, n));
    consume(n);
    return out;
  }
  void append(std::string_view s) {
    if (s.empty()) return;
    auto tail = prepare(s.size());
    std::memcpy(tail.data(), s.data(), s.size());
    commit(s.size());
  }
  /// Frees the memory when empty and larger than `keep`.
  void trim(std::size_t keep) noexcept {
    if (empty() && cap_ > keep) {
      p_.reset();
      cap_ = 0;
    }
  }
  void swap(byte_buffer& o) noexcept {
    std::swap(p_, o.p_);
    std::swap(cap_, o.cap_);
    std::swap(begin_, o.begin_);
    std::swap(end_, o.end_);
  }

 private:
  void make_room(std::size_t min_free) {
    std::size_t n = size();
    if (begin_ > 0 && begin_ >= n && cap_ - n >= min_free) {
      std::memmove(p_.get(), p_.get() + begin_, n);
      begin_ = 0;
      end_ = n;
      return;
    }
    std::size_t cap = std::max(cap_ * 2, n + min_free);
    auto p = std::make_unique_for_overwrite<std::byte[]>(cap);
    if (n) std::memcpy(p.get(), p_.get() + begin_, n);
    p_ = std::move(p);
    cap_ = cap;
    begin_ = 0;
    end_ = n;
  }

  std::unique_ptr<std::byte[]> p_;
  std::size_t cap_ = 0;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
};

}  // namespace aio::detail
