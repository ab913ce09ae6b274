// SPDX-License-Identifier: MIT
#pragma once
// The state a stream_reader and stream_writer share: the transport, the read
// buffer, the write buffers and who waits on them. Reference-counted by
// stream_ref (the two handles, every operation in flight, the flusher), so
// the transport outlives every operation that uses it.
//
// Writing: when nothing is buffered, write() hands the bytes to the kernel
// at once (plain transports); what is left goes to `pending`. One flusher
// task per connection (spawned when bytes are left, gone when they are sent)
// swaps `pending` into `sending` and writes `sending` through the transport,
// so appends never move bytes an in-flight write points into. `exclusive`
// marks who owns the transport's write side: the flusher, a sendfile or a
// start_tls; while it is set every write lands in `pending`, in order.

#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>

#include "aio/net/stream.hpp"
#include "plain_transport.hpp"
#include "stream_buffer.hpp"

namespace aio::detail {

struct stream_state : stream_state_header {
  std::unique_ptr<transport> t;
  plain_transport* plain = nullptr;  // t, when it is make_fd_transport's
  stream_options opts;
  std::uint32_t handles = 0;  // live stream_reader / stream_writer objects

  // --- reading ---
  byte_buffer rbuf;
  std::size_t read_hint = 16 * 1024;  // grows while reads fill the whole tail
  bool eof = false;
  bool reading = false;  // a read waits on the transport (or start_tls holds it)

  // --- writing ---
  byte_buffer pending;              // appended by write()
  byte_buffer sending;              // written by the flusher
  std::uint64_t accepted = 0;       // bytes write() took, ever
  std::uint64_t flushed = 0;        // of those, bytes handed to the transport
  wait_list writers;                // write() waiting for room (stream_write_awaiter)
  wait_list drains;                 // drain(), in order of target (stream_drain_awaiter)
  wait_list closers;                // wait_closed()
  wait_list idle;                   // sendfile / start_tls waiting for `exclusive`
  std::uint32_t woken_writers = 0;  // writers woken that have not taken their turn yet
  bool exclusive = false;
  // start_tls was called when `accepted` was this: bytes up to here go out
  // over the old transport, later ones wait for the new one.
  std::optional<std::uint64_t> hold_at;
  bool eof_requested = false;
  bool eof_sent = false;
  bool closing = false;      // close() was called (or both handles are gone)
  bool closed = false;       // the transport is closed (or gone)
  std::exception_ptr error;  // the connection's failure, sticky

  std::size_t buffered() const noexcept { return static_cast<std::size_t>(accepted - flushed); }

  /// Records the first failure, closes the transport, wakes every waiter.
  void fail(std::exception_ptr e) noexcept;
  /// Closes the transport now (idempotent) and wakes wait_closed() and drain().
  void close_transport() noexcept;
  /// Throws what makes a write impossible now (error, close, eof).
  void check_writable(const char* what) const;
  /// Hands `parts` to the kernel or the buffer; starts the flusher as needed.
  void submit(std::span<const std::string_view> parts);
  /// The plain flusher's next sendmsg: `sending` then `pending`, at most
  /// `allowed` bytes. Returns how many views it filled (0 to 2).
  std::size_t gather(std::string_view* out, std::size_t allowed) const noexcept;
  /// `n` bytes of gather()'s views went out: drops them from the buffers.
  void consume_sent(std::size_t n) noexcept;
  /// After `flushed` grew: wakes the drains it satisfies and a writer if under low_water.
  void on_flushed() noexcept;
  /// Wakes the next waiting writer if the buffer has room (after a writer's turn).
  void pass_turn() noexcept;
  /// Starts whatever the write side owes (flush, eof, close) once nobody owns it.
  void kick() noexcept;
  /// Bytes the flusher may send now (the hold of a start_tls stops it).
  std::size_t sendable() const noexcept {
    return hold_at ? static_cast<std::size_t>(*hold_at > flushed ? *hold_at - flushed : 0)
                   : buffered();
  }
  /// Gives the write side back (end of flusher, sendfile, start_tls).
  void release_exclusive() noexcept;
  /// close(), and what dropping both handles does.
  void close_writer() noexcept;
  void wake_all_writers() noexcept;
};

/// How aiocpp::net reaches a reader's or writer's state.
struct stream_access {
  static const stream_ref& of(const stream_reader& r) noexcept { return r.s_; }
  static const stream_ref& of(const stream_writer& w) noexcept { return w.s_; }
  static stream_reader reader(stream_ref s) { return stream_reader(std::move(s)); }
  static stream_writer writer(stream_ref s) { return stream_writer(std::move(s)); }
};

/// A wait on `list` with no result (the `idle` list): throws cancelled_error if cancelled.
struct list_wait : wait_node {
  wait_list& list;
  explicit list_wait(wait_list& l, const char* what) noexcept : list(l) { what_ = what; }
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) { list.suspend(*this, h); }
  void await_resume() const { resume_or_throw(); }
};

/// Waits until nobody owns the write side and every byte before it was sent
/// (for start_tls: every byte up to hold_at), and takes it: sendfile and
/// start_tls. Throws as check_writable; cancel-safe.
task<> acquire_write_side(stream_state& s, const char* what, bool upgrade = false);

/// Pins the write boundary at what was accepted so far (writes issued from
/// now on wait behind it) and takes the write side once every byte before it
/// is sent: sendfile and start_tls, whose bytes must go exactly there. On an
/// error the boundary is dropped and the held writes go out; otherwise the
/// caller drops it (a writes_held) when done. Cancel-safe.
task<> hold_and_acquire_write_side(stream_state& s, const char* what);

/// Gives the write side back when it leaves scope.
struct exclusive_guard {
  stream_state& s;
  ~exclusive_guard() { s.release_exclusive(); }
};

/// Drops the write boundary of hold_and_acquire_write_side when it leaves scope.
struct writes_held {
  stream_state& s;
  ~writes_held() { s.hold_at.reset(); }
};

[[noreturn]] void throw_stream_errno(int err, const std::string& what);

}  // namespace aio::detail
