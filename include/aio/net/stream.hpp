// SPDX-License-Identifier: MIT
#pragma once
// asyncio's streams: a connection seen as a stream_reader (buffered reads:
// read, readexactly, readline, readuntil) and a stream_writer (write with
// backpressure, drain, write_eof, close, sendfile). open_connection,
// start_server, the subprocess pipes and connect_read_pipe /
// connect_write_pipe hand them out; make_streams builds them over any
// transport.
//
//   auto [reader, writer] = co_await aio::open_connection("example.org", 80);
//   co_await writer.write("GET / HTTP/1.0\r\n\r\n");
//   std::string status = co_await reader.readline();
//   writer.close();
//   co_await writer.wait_closed();
//
// The reader and writer share one connection state; the transport closes when
// both are gone (after the writer's buffered bytes are flushed) or on
// writer.close(). Both are used from the loop's thread only. Moved-from
// objects may only be destroyed or assigned to.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "aio/core/task.hpp"
#include "aio/net/detail/stream_awaiters.hpp"
#include "aio/net/transport.hpp"

namespace aio {

namespace detail {
struct stream_access;  // how aiocpp::net reaches a reader's or writer's state
}

/// Buffer limits of a stream pair (asyncio's `limit=` and the transport's
/// write-buffer limits).
struct stream_options {
  /// readuntil/readline look at most this far for the separator (asyncio's
  /// `limit`, 64 KiB by default).
  std::size_t limit = 64 * 1024;
  /// write() suspends while more than this many bytes wait to be sent…
  std::size_t high_water = 64 * 1024;
  /// …until the flusher brings them down to this many.
  std::size_t low_water = 16 * 1024;
};

class stream_writer;

/// Like `asyncio.StreamReader`, fed by the connection's transport (no
/// `feed_data`). At most one read may wait for data at a time: another read
/// meanwhile throws invalid_state_error (asyncio raises RuntimeError).
///
/// Every read is cancel-safe: bytes stay in the buffer until a read returns
/// them, so a cancelled read (readexactly and readuntil included) consumes
/// nothing and the next read sees the same bytes.
///
/// Errors: a transport failure (ECONNRESET…) is a std::system_error. Unlike
/// asyncio, bytes already buffered before the failure are still returned;
/// the error is thrown when a read needs more, and again by every later one.
class stream_reader {
 public:
  /// An empty reader (only destroy or assign to it).
  stream_reader() noexcept = default;
  stream_reader(stream_reader&& o) noexcept = default;
  stream_reader& operator=(stream_reader&& o) noexcept;
  ~stream_reader();

  /// Like `await StreamReader.read(n)`: up to `n` bytes, waiting only when
  /// the buffer is empty; "" at end of stream. `n < 0`: everything up to end
  /// of stream. `n == 0`: "" at once. Throws std::system_error on failure,
  /// invalid_state_error when another read waits. Cancel-safe.
  task<std::string> read(std::ptrdiff_t n = -1);
  /// Up to buf.size() bytes into `buf` (no asyncio StreamReader equivalent;
  /// like `loop.sock_recv_into`): buffered bytes first, else, for a buffer of
  /// 4 KiB or more, straight from the transport into `buf` with no copy
  /// through the stream's buffer. 0 at end of stream or for an empty `buf`.
  /// For bulk transfers. Throws as read(). Cancel-safe.
  task<std::size_t> read_into(std::span<std::byte> buf);
  task<std::size_t> read_into(std::span<char> buf) {
    return read_into(std::as_writable_bytes(buf));
  }
  /// Like `await StreamReader.readexactly(n)`: exactly `n` bytes. At end of
  /// stream first: incomplete_read_error carrying the partial bytes (which
  /// are consumed) and `n`. Cancel-safe: the bytes stay buffered.
  task<std::string> readexactly(std::size_t n);
  /// Like `await StreamReader.readline()`: up to and including "\n"; at end
  /// of stream, the partial last line (maybe ""). Past `limit` without "\n":
  /// limit_overrun_error (asyncio raises ValueError here), after discarding
  /// the long line up to its "\n" if buffered, else the whole buffer — the
  /// stream stays usable. Cancel-safe.
  task<std::string> readline();
  /// Like `await StreamReader.readuntil(sep)`: up to and including `sep` (any
  /// length; std::invalid_argument if empty). At end of stream without `sep`:
  /// incomplete_read_error with the whole buffer as partial (consumed).
  /// Past `limit`: limit_overrun_error, and as in asyncio the data stays
  /// buffered (read it with read(e.consumed())). Cancel-safe.
  task<std::string> readuntil(std::string separator = "\n");
  /// Like `StreamReader.at_eof()`: end of stream was seen and the buffer is empty.
  bool at_eof() const noexcept;
  /// Bytes received but not read yet.
  std::size_t buffer_size() const noexcept;
  /// The readuntil/readline limit (stream_options::limit).
  std::size_t limit() const noexcept;
  /// True unless empty or moved from.
  explicit operator bool() const noexcept { return static_cast<bool>(s_); }

 private:
  friend struct detail::stream_access;
  explicit stream_reader(detail::stream_ref s) noexcept;
  detail::stream_ref s_;
};

/// Like `asyncio.StreamWriter`, with backpressure built into write: memory
/// stays bounded (about high_water plus one message) even if the caller
/// never drains. Writes from several tasks never split each other's
/// messages. Loop thread only.
class stream_writer {
 public:
  /// An empty writer (only destroy or assign to it).
  stream_writer() noexcept = default;
  stream_writer(stream_writer&& o) noexcept = default;
  stream_writer& operator=(stream_writer&& o) noexcept;
  ~stream_writer();

  /// Like `StreamWriter.write(data)` followed by the backpressure asyncio
  /// leaves to drain(): must be awaited. When nothing is buffered the bytes
  /// go to the kernel at once; the rest is buffered and sent by a background
  /// flusher. Suspends (before taking any byte) only while more than
  /// high_water bytes are buffered, until the flusher gets under low_water.
  /// `data` must stay valid until the co_await completes. Throws the
  /// connection's std::system_error once it failed, invalid_state_error after
  /// close() or write_eof(). Cancel-safe: a cancelled write took nothing.
  [[nodiscard]] detail::stream_write_awaiter write(std::string_view data);
  [[nodiscard]] detail::stream_write_awaiter write(std::span<const std::byte> data);
  /// Like `StreamWriter.writelines(parts)`: one message made of `parts`
  /// (gathered with writev when sent at once), never split by other writers.
  /// `parts` (and what they view) must outlive the co_await. As write().
  /// (No initializer_list overload: GCC 12 cannot keep a braced list alive
  /// across a co_await. Pass an array or a vector.)
  [[nodiscard]] detail::stream_write_awaiter writelines(std::span<const std::string_view> parts);
  /// Like `await StreamWriter.drain()`, stronger on purpose: waits until
  /// every byte written before the call was handed to the transport (asyncio
  /// only waits for the buffer to drop under the high-water mark, which
  /// write() already does); a sendfile() in progress is not waited for (await
  /// the sendfile itself). Any number of tasks may wait. Throws the
  /// connection's std::system_error if it failed, or EPIPE when the stream
  /// was closed first. Cancel-safe: only the wait is abandoned.
  [[nodiscard]] detail::stream_drain_awaiter drain();
  /// Like `StreamWriter.write_eof()`: half-closes after the buffered bytes
  /// are sent (the peer reads end of stream; reading goes on). Later writes
  /// throw invalid_state_error. For a pipe this closes it. Throws
  /// invalid_state_error when can_write_eof() is false (TLS 1.2, whose
  /// close_notify ends both directions; asyncio raises NotImplementedError).
  void write_eof();
  /// Like `StreamWriter.can_write_eof()`.
  bool can_write_eof() const noexcept;
  /// Like `StreamWriter.close()`: returns at once; buffered bytes are
  /// flushed in the background, then the transport closes (a pending read
  /// sees end of stream). Idempotent. Writes waiting for room throw
  /// invalid_state_error.
  void close();
  /// Like `await StreamWriter.wait_closed()`: waits until the transport is
  /// closed; throws the connection's std::system_error if it failed.
  /// Cancel-safe: only the wait is abandoned.
  [[nodiscard]] detail::stream_closed_awaiter wait_closed();
  /// Like `StreamWriter.is_closing()`: close() was called or the connection failed.
  bool is_closing() const noexcept;
  /// Like `StreamWriter.get_extra_info(name)`, as text: "peername",
  /// "sockname", "socket" (the fd number), and what the transport adds (TLS:
  /// "peercert", "cipher", "version", "alpn_protocol"). nullopt if unknown.
  std::optional<std::string> get_extra_info(std::string_view name) const;
  /// The transport's raw objects, e.g. "ssl_object" (an `SSL*` under TLS); nullptr if none.
  void* native_handle(std::string_view name) const noexcept;
  /// The socket or pipe fd (asyncio's get_extra_info("socket")), -1 once closed.
  int socket_fd() const noexcept;
  /// Like `StreamWriter.transport`. invalid_state_error while start_tls swaps it.
  aio::transport& transport() const;
  /// Bytes accepted by write() but not yet handed to the transport (asyncio's
  /// `transport.get_write_buffer_size()`).
  std::size_t buffer_size() const noexcept;
  /// Like `transport.set_write_buffer_limits(high, low)`; `low` defaults to high / 4.
  /// std::invalid_argument if low > high.
  void set_write_buffer_limits(std::size_t high, std::optional<std::size_t> low = std::nullopt);
  /// Like `loop.sendfile(transport, file, offset, count)`: sends `count`
  /// bytes (nullopt: up to end of file) of the open file `file_fd` from
  /// `offset`, after the bytes already buffered; returns how many were sent
  /// (fewer at end of file). Zero-copy (sendfile(2)) on a plain socket or
  /// pipe; under TLS, read in chunks through the loop and written through the
  /// transport. The file position of `file_fd` is not used or moved. Writes
  /// issued meanwhile are sent after the file. Throws std::system_error;
  /// invalid_state_error after close()/write_eof(). Not cancel-safe: bytes
  /// already sent stay sent and the count is lost.
  task<std::size_t> sendfile(int file_fd, std::uint64_t offset = 0,
                             std::optional<std::size_t> count = std::nullopt);
  /// True unless empty or moved from.
  explicit operator bool() const noexcept { return static_cast<bool>(s_); }

 private:
  friend struct detail::stream_access;
  explicit stream_writer(detail::stream_ref s) noexcept;
  detail::stream_ref s_;
};

/// Builds a reader and a writer over `t` (what open_connection and
/// start_server do with a new connection; asyncio's StreamReaderProtocol
/// wiring). std::invalid_argument if `t` is null or low_water > high_water.
std::pair<stream_reader, stream_writer> make_streams(std::unique_ptr<aio::transport> t,
                                                     const stream_options& options = {});

}  // namespace aio
