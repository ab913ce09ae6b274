// SPDX-License-Identifier: MIT
#pragma once
// The containers behind aio::queue (FIFO ring), aio::lifo_queue (stack) and
// aio::priority_queue (binary heap). Items are moved in and out, never
// copied; storage grows geometrically and is reused, so a put/get pair
// allocates nothing once the queue has reached its working size.

#include <algorithm>
#include <cstddef>
#include <memory>
#include <new>
#include <utility>
#include <vector>

namespace aio::detail {

/// A growable ring buffer (FIFO). Capacity is a power of two.
template <class T>
class ring_storage {
 public:
  ring_storage() noexcept = default;
  ring_storage(const ring_storage&) = delete;
  ring_storage& operator=(const ring_storage&) = delete;
  ~ring_storage() {
    clear();
    if (buf_) std::allocator<T>().deallocate(buf_, cap_);
  }

  bool empty() const noexcept { return size_ == 0; }
  std::size_t size() const noexcept { return size_; }
  void push(T&& v) {
    if (size_ == cap_) grow();
    ::new (static_cast<void*>(buf_ + ((head_ + size_) & (cap_ - 1)))) T(std::move(v));
    ++size_;
  }
  T pop() {
    T* p = buf_ + head_;
    T v(std::move(*p));
    p->~T();
    head_ = (head_ + 1) & (cap_ - 1);
    --size_;
    return v;
  }
  void clear() noexcept {
    while (size_ > 0) {
      buf_[head_].~T();
      head_ = (head_ + 1) & (cap_ - 1);
      --size_;
    }
    head_ = 0;
  }

 private:
  void grow() {
    std::size_t cap = cap_ ? cap_ * 2 : 8;
    T* buf = std::allocator<T>().allocate(cap);
    std::size_t moved = 0;
    try {
      for (; moved < size_; ++moved)
        ::new (static_cast<void*>(buf + moved))
            T(std::move_if_noexcept(buf_[(head_ + moved) & (cap_ - 1)]));
    } catch (...) {
      for (std::size_t i = 0; i < moved; ++i) buf[i].~T();
      std::allocator<T>().deallocate(buf, cap);
      throw;
    }
    std::size_t n = size_;
    clear();
    if (buf_) std::allocator<T>().deallocate(buf_, cap_);
    buf_ = buf;
    cap_ = cap;
    head_ = 0;
    size_ = n;
  }

  T* buf_ = nullptr;
  std::size_t cap_ = 0;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

/// A stack (LIFO): the last item put is the first got.
template <class T>
class lifo_storage {
 public:
  bool empty() const noexcept { return v_.empty(); }
  std::size_t size() const noexcept { return v_.size(); }
  void push(T&& v) { v_.push_back(std::move(v)); }
  T pop() {
    T v(std::move(v_.back()));
    v_.pop_back();
    return v;
  }
  void clear() noexcept { v_.clear(); }

 private:
  std::vector<T> v_;
};

/// A binary min-heap under `Compare` (like heapq): pop() yields the smallest.
template <class T, class Compare>
class heap_storage {
 public:
  explicit heap_storage(Compare c = Compare()) : c_(std::move(c)) {}
  bool empty() const noexcept { return v_.empty(); }
  std::size_t size() const noexcept { return v_.size(); }
  void push(T&& v) {
    v_.push_back(std::move(v));
    std::push_heap(v_.begin(), v_.end(), greater{&c_});
  }
  T pop() {
    std::pop_heap(v_.begin(), v_.end(), greater{&c_});
    T v(std::move(v_.back()));
    v_.pop_back();
    return v;
  }
  void clear() noexcept { v_.clear(); }

 private:
  // std heaps put the largest first; inverting the order makes it a min-heap.
  struct greater {
    Compare* c;
    bool operator()(const T& a, const T& b) const { return (*c)(b, a); }
  };
  std::vector<T> v_;
  Compare c_;
};

}  // namespace aio::detail
