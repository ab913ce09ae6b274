// SPDX-License-Identifier: MIT
// stream_reader: reads served from the buffer, which is filled straight from
// the transport into its free tail. Bytes leave the buffer only when a read
// returns them, which is what makes every read cancel-safe.
#include <cstring>
#include <stdexcept>

#include "stream_state.hpp"

namespace aio {

namespace detail {
namespace {

constexpr std::size_t max_read_hint = 256 * 1024;
constexpr std::size_t keep_read_capacity = 1 << 20;

std::string take(stream_state& s, std::size_t n) {
  std::string out = s.rbuf.take(n);
  s.rbuf.trim(keep_read_capacity);
  return out;
}

// One read at a time: a second one would consume from under the first
// one's fill (asyncio raises RuntimeError for it as well).
void check_no_reader(const stream_state& s, const char* what) {
  if (s.reading)
    throw invalid_state_error(std::string("stream_reader::") + what +
                              "() called while another task is already waiting for incoming data");
}

// Marks the one read that waits on the transport.
struct reading_guard {
  stream_state& s;
  explicit reading_guard(stream_state& st) noexcept : s(st) { s.reading = true; }
  ~reading_guard() { s.reading = false; }
};

// One read from the transport into `into`; 0 at end of stream (then s.eof
// is set). Throws the connection's error, now or recorded.
task<std::size_t> receive(stream_state& s, std::span<std::byte> into) {
  if (s.eof) co_return 0;
  if (s.error) std::rethrow_exception(s.error);
  reading_guard guard(s);
  std::size_t n;
  try {
    n = co_await s.t->read_some(into);
  } catch (const std::exception&) {
    s.fail(std::current_exception());
    throw;
  }
  if (n == 0) {
    // Closed under us by a failure of the write side: that error, not EOF.
    if (s.error) std::rethrow_exception(s.error);
    s.eof = true;
  }
  co_return n;
}

// Receives more bytes into the buffer (at least `min_free` bytes of room).
// False at end of stream.
task<bool> fill(stream_state& s, const char* what, std::size_t min_free = 0) {
  check_no_reader(s, what);
  auto tail = s.rbuf.prepare(std::max(min_free, s.read_hint));
  std::size_t n = co_await receive(s, tail);
  if (n == 0) co_return false;
  s.rbuf.commit(n);
  if (n == tail.size() && s.read_hint < max_read_hint) s.read_hint *= 2;
  co_return true;
}

task<std::string> read_some(stream_ref ref, std::ptrdiff_t n) {
  stream_state& s = *ref;
  check_no_reader(s, "read");
  if (n == 0) co_return std::string();
  if (n < 0) {
    while (co_await fill(s, "read")) {
    }
    co_return take(s, s.rbuf.size());
  }
  if (s.rbuf.empty()) co_await fill(s, "read");
  co_return take(s, std::min(s.rbuf.size(), static_cast<std::size_t>(n)));
}

// Below this, read_into goes through the buffer: small reads straight from
// the socket would cost a syscall each.
constexpr std::size_t direct_read_min = 4096;

task<std::size_t> read_into(stream_ref ref, std::span<std::byte> buf) {
  stream_state& s = *ref;
  check_no_reader(s, "read_into");
  if (buf.empty()) co_return 0;
  if (s.rbuf.empty() && buf.size() < direct_read_min && !co_await fill(s, "read_into")) co_return 0;
  if (!s.rbuf.empty()) {
    std::size_t n = std::min(buf.size(), s.rbuf.size());
    std::memcpy(buf.data(), s.rbuf.data(), n);
    s.rbuf.consume(n);
    co_return n;
  }
  std::size_t n = co_await receive(s, buf);
  co_return n;
}

task<std::string> read_exactly(stream_ref ref, std::size_t n) {
  stream_state& s = *ref;
  check_no_reader(s, "readexactly");
  while (s.rbuf.size() < n) {
    if (!co_await fill(s, "readexactly", n - s.rbuf.size())) {
      std::string partial = take(s, s.rbuf.size());
      throw incomplete_read_error(std::move(partial), n);
    }
  }
  co_return take(s, n);
}

// Finds `sep` at or after `offset`; returns its position, or npos after
// moving `offset` past every byte that cannot start it. Throws
// limit_overrun_error past the limit (the bytes stay buffered).
std::size_t scan(stream_state& s, std::string_view sep, std::size_t& offset) {
  std::string_view buf = s.rbuf.view();
  if (buf.size() < offset + sep.size()) return std::string_view::npos;
  std::size_t at;
  if (sep.size() == 1) {
    const void* p = std::memchr(buf.data() + offset, sep[0], buf.size() - offset);
    at = p ? static_cast<std::size_t>(static_cast<const char*>(p) - buf.data())
           : std::string_view::npos;
  } else {
    at = buf.find(sep, offset);
  }
  if (at != std::string_view::npos) {
    if (at > s.opts.limit)
      throw limit_overrun_error("Separator is found, but chunk is longer than limit", at);
    return at;
  }
  offset = buf.size() + 1 - sep.size();
  if (offset > s.opts.limit)
    throw limit_overrun_error("Separator is not found, and chunk exceed the limit", offset);
  return at;
}

// readuntil, and readline when `line` (asyncio's readline is readuntil("\n")
// with its two errors handled: the partial line at end of stream, and the
// long line dropped before limit_overrun_error leaves).
task<std::string> read_until(stream_ref ref, std::string sep, bool line) {
  stream_state& s = *ref;
  const char* what = line ? "readline" : "readuntil";
  if (sep.empty()) throw std::invalid_argument("readuntil: the separator must not be empty");
  check_no_reader(s, what);
  std::size_t offset = 0;
  for (;;) {
    std::size_t at;
    try {
      at = scan(s, sep, offset);
    } catch (const limit_overrun_error& e) {
      if (line) {
        // Drop the long line through its "\n" when buffered, else all of it,
        // so that the next read starts afresh.
        std::string_view buf = s.rbuf.view();
        s.rbuf.consume(buf.substr(e.consumed()).starts_with('\n') ? e.consumed() + 1 : buf.size());
      }
      throw;
    }
    if (at != std::string_view::npos) co_return take(s, at + sep.size());
    if (!co_await fill(s, what)) {
      std::string partial = take(s, s.rbuf.size());
      if (line) co_return partial;
      throw incomplete_read_error(std::move(partial), std::nullopt);
    }
  }
}

}  // namespace
}  // namespace detail

stream_reader::stream_reader(detail::stream_ref s) noexcept : s_(std::move(s)) { ++s_->handles; }

stream_reader& stream_reader::operator=(stream_reader&& o) noexcept {
  if (this != &o) {
    stream_reader old(std::move(*this));
    s_ = std::move(o.s_);
  }
  return *this;
}

stream_reader::~stream_reader() {
  if (s_ && --s_->handles == 0) s_->close_writer();
}

namespace {
const detail::stream_ref& require(const detail::stream_ref& s, const char* what) {
  if (!s)
    throw invalid_state_error(std::string("stream_reader::") + what +
                              " on an empty (moved-from) reader");
  return s;
}
}  // namespace

task<std::string> stream_reader::read(std::ptrdiff_t n) {
  return detail::read_some(require(s_, "read"), n);
}

task<std::size_t> stream_reader::read_into(std::span<std::byte> buf) {
  return detail::read_into(require(s_, "read_into"), buf);
}

task<std::string> stream_reader::readexactly(std::size_t n) {
  return detail::read_exactly(require(s_, "readexactly"), n);
}

task<std::string> stream_reader::readline() {
  return detail::read_until(require(s_, "readline"), "\n", true);
}

task<std::string> stream_reader::readuntil(std::string separator) {
  return detail::read_until(require(s_, "readuntil"), std::move(separator), false);
}

bool stream_reader::at_eof() const noexcept { return s_ && s_->eof && s_->rbuf.empty(); }

std::size_t stream_reader::buffer_size() const noexcept { return s_ ? s_->rbuf.size() : 0; }

std::size_t stream_reader::limit() const noexcept { return s_ ? s_->opts.limit : 0; }

}  // namespace aio
