// SPDX-License-Identifier: MIT
#pragma once
// Private to aiocpp::tls: a byte buffer read from the front and filled at the
// back, for ciphertext between OpenSSL and the inner transport. Nothing moves
// or reallocates except in reserve_tail, so a span handed to an in-flight
// read or write stays valid as long as its owner does not call reserve_tail.

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <span>
#include <utility>

namespace aio::tls::detail {

class byte_buffer {
 public:
  std::size_t size() const noexcept { return end_ - begin_; }
  bool empty() const noexcept { return begin_ == end_; }
  std::size_t capacity() const noexcept { return cap_; }
  std::span<std::byte> readable() noexcept { return {data_.get() + begin_, size()}; }
  std::span<std::byte> tail() noexcept { return {data_.get() + end_, cap_ - end_}; }

  void consume(std::size_t n) noexcept { begin_ += n; }
  void commit(std::size_t n) noexcept { end_ += n; }
  void clear() noexcept { begin_ = end_ = 0; }

  /// Makes room for `n` more bytes at the back: drops the consumed front,
  /// then grows (at least doubling). Moves the contents.
  void reserve_tail(std::size_t n) {
    if (begin_ == end_) begin_ = end_ = 0;
    if (cap_ - end_ >= n) return;
    std::size_t used = size();
    if (cap_ - used >= n && begin_ > 0) {
      std::memmove(data_.get(), data_.get() + begin_, used);
    } else {
      std::size_t cap = std::max(cap_ * 2, used + n);
      auto fresh = std::make_unique_for_overwrite<std::byte[]>(cap);
      if (used) std::memcpy(fresh.get(), data_.get() + begin_, used);
      data_ = std::move(fresh);
      cap_ = cap;
    }
    begin_ = 0;
    end_ = used;
  }

  void append(const void* p, std::size_t n) {
    if (n == 0) return;
    reserve_tail(n);
    std::memcpy(data_.get() + end_, p, n);
    end_ += n;
  }

  friend void swap(byte_buffer& a, byte_buffer& b) noexcept {
    using std::swap;
    swap(a.data_, b.data_);
    swap(a.cap_, b.cap_);
    swap(a.begin_, b.begin_);
    swap(a.end_, b.end_);
  }

 private:
  std::unique_ptr<std::byte[]> data_;
  std::size_t cap_ = 0, begin_ = 0, end_ = 0;
};

}  // namespace aio::tls::detail
