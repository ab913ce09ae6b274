// SPDX-License-Identifier: MIT
#pragma once
// What stream_writer's write/drain/wait_closed return: awaiters whose state
// lives in the awaiting frame (no allocation per write). The connection state
// they refer to is private to aiocpp::net (src/net/stream_state.hpp); only
// its reference count is visible here.

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <utility>

#include "aio/core/detail/wait_list.hpp"

namespace aio::detail {

struct stream_state;

/// The reference count every holder of a stream_state shares (reader,
/// writer, a read in flight, the flusher). Loop thread only: not atomic.
struct stream_state_header {
  std::uint32_t refs = 0;
};

void destroy_stream_state(stream_state* s) noexcept;
stream_state_header& stream_header(stream_state* s) noexcept;

/// An owning, copyable reference to a connection's stream_state.
class stream_ref {
 public:
  stream_ref() noexcept = default;
  explicit stream_ref(stream_state* s) noexcept : s_(s) {
    if (s_) ++stream_header(s_).refs;
  }
  stream_ref(const stream_ref& o) noexcept : stream_ref(o.s_) {}
  stream_ref(stream_ref&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  stream_ref& operator=(stream_ref o) noexcept {
    std::swap(s_, o.s_);
    return *this;
  }
  ~stream_ref() {
    if (s_ && --stream_header(s_).refs == 0) destroy_stream_state(s_);
  }
  stream_state* get() const noexcept { return s_; }
  stream_state& operator*() const noexcept { return *s_; }
  stream_state* operator->() const noexcept { return s_; }
  explicit operator bool() const noexcept { return s_ != nullptr; }

 private:
  stream_state* s_ = nullptr;
};

/// `co_await writer.write(data)`: appends (or sends) the whole message when
/// the buffer is at or under the high-water mark, else first waits for the
/// flusher to bring it under the low-water mark.
struct stream_write_awaiter : wait_node {
  stream_ref s;
  std::span<const std::string_view> parts;
  std::string_view one;  // `parts` points here for a single write

  stream_write_awaiter(stream_ref st, std::string_view data) noexcept
      : s(std::move(st)), one(data) {}
  stream_write_awaiter(stream_ref st, std::span<const std::string_view> p) noexcept
      : s(std::move(st)), parts(p) {}
  stream_write_awaiter(const stream_write_awaiter&) = delete;
  stream_write_awaiter& operator=(const stream_write_awaiter&) = delete;

  bool await_ready();
  void await_suspend(std::coroutine_handle<> h);
  void await_resume();

 private:
  std::span<const std::string_view> message() const noexcept {
    return parts.empty() && !one.empty() ? std::span<const std::string_view>(&one, 1) : parts;
  }
};

/// `co_await writer.drain()`: waits until every byte accepted before the call
/// was handed to the transport.
struct stream_drain_awaiter : wait_node {
  stream_ref s;
  std::uint64_t target = 0;

  explicit stream_drain_awaiter(stream_ref st) noexcept : s(std::move(st)) {}
  stream_drain_awaiter(const stream_drain_awaiter&) = delete;
  stream_drain_awaiter& operator=(const stream_drain_awaiter&) = delete;
  bool await_ready();
  void await_suspend(std::coroutine_handle<> h);
  void await_resume();
};

/// `co_await writer.wait_closed()`: waits until the transport is closed.
struct stream_closed_awaiter : wait_node {
  stream_ref s;

  explicit stream_closed_awaiter(stream_ref st) noexcept : s(std::move(st)) {}
  stream_closed_awaiter(const stream_closed_awaiter&) = delete;
  stream_closed_awaiter& operator=(const stream_closed_awaiter&) = delete;
  bool await_ready();
  void await_suspend(std::coroutine_handle<> h);
  void await_resume();
};

}  // namespace aio::detail
