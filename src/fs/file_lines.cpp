// SPDX-License-Identifier: MIT
// readline / lines(): one read-ahead buffer per file. A line is consumed only
// once it is complete, so a cancelled or failed readline leaves the position
// at the line's start with what was read still buffered: nothing is lost,
// even on a pipe. The buffer grows only to hold a line longer than itself,
// up to the limit, and shrinks back afterwards.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>

#include "aio/core/errors.hpp"
#include "aio/fs/file.hpp"
#include "file_io_impl.hpp"
#include "write_behind_impl.hpp"

namespace aio::fs {

namespace detail {

std::size_t read_buffer::find_line(std::size_t limit) noexcept {
  std::size_t stop = std::min(size(), limit);
  if (scanned >= stop) return 0;
  const char* from = data.get() + begin;
  const void* nl = std::memchr(from + scanned, '\n', stop - scanned);
  if (!nl) {
    scanned = stop;
    return 0;
  }
  return static_cast<std::size_t>(static_cast<const char*>(nl) - from) + 1;
}

void read_buffer::consume(std::size_t n) noexcept {
  begin += n;
  scanned = scanned > n ? scanned - n : 0;
}

void read_buffer::drop() noexcept {
  begin = end = scanned = 0;
  ++generation;
}

}  // namespace detail

namespace {

constexpr std::uint64_t current_position = static_cast<std::uint64_t>(-1);

// Clears the "a fill is waiting" mark however the fill ends.
struct filling_guard {
  detail::read_buffer& rb;
  explicit filling_guard(detail::read_buffer& b) : rb(b) { rb.filling = true; }
  ~filling_guard() { rb.filling = false; }
  filling_guard(const filling_guard&) = delete;
};

}  // namespace

void file::consume(std::size_t n) noexcept {
  rb_.consume(n);
  pos_ += n;
}

std::size_t file::take_buffered(std::span<std::byte> buf) noexcept {
  std::size_t n = std::min(buf.size(), rb_.size());
  if (n == 0) return 0;
  std::memcpy(buf.data(), rb_.data.get() + rb_.begin, n);
  consume(n);
  return n;
}

task<bool> file::fill(std::size_t limit) {
  detail::read_buffer& rb = rb_;
  if (rb.end == rb.cap) {
    std::size_t keep = rb.size();
    // The buffer must hold `limit` bytes to see whether a line fits in it.
    std::size_t want = std::max(read_buffer_size, rb.cap);
    if (keep == rb.cap) want = std::max(read_buffer_size, std::min(rb.cap * 2, limit));
    if (want > read_buffer_size && keep <= read_buffer_size / 2) want = read_buffer_size;  // back to normal
    if (want != rb.cap || !rb.data) {
      auto bigger = std::make_unique_for_overwrite<char[]>(want);
      if (keep) std::memcpy(bigger.get(), rb.data.get() + rb.begin, keep);
      rb.data = std::move(bigger);
      rb.cap = want;
    } else if (rb.begin > 0) {
      std::memmove(rb.data.get(), rb.data.get() + rb.begin, keep);
    }
    rb.begin = 0;
    rb.end = keep;
  }
  std::uint32_t generation = rb.generation;
  detail::file_io_awaiter op(aio::detail::io_kind::read, fd_, "read", path_);
  op.buf_ = rb.data.get() + rb.end;
  op.len_ = std::min(rb.cap - rb.end, detail::max_chunk);
  op.offset_ = seekable_ ? pos_ + rb.size() : current_position;
  auto n = static_cast<std::size_t>(co_await op);
  // A pwrite or truncate overlapping the buffer dropped it meanwhile: what
  // this read brought may be stale; the caller reads again.
  if (generation != rb.generation) co_return true;
  rb.end += n;
  co_return n > 0;
}

task<std::size_t> file::buffer_line(std::size_t limit, bool partial) {
  check_open("readline");
  co_await written();  // write-behind: read back what was written
  if (rb_.filling) {
    throw invalid_state_error("readline '" + path_ + "': another read of this file is waiting for data");
  }
  filling_guard guard(rb_);
  for (;;) {
    if (std::size_t n = rb_.find_line(limit)) co_return n;
    if (partial && rb_.size() >= limit) co_return limit;
    // Exactly `limit` bytes without '\n' are a line only if the file ends there.
    if (rb_.size() > limit) {
      throw limit_overrun_error("readline '" + path_ + "': no end of line within " + std::to_string(limit) +
                                    " bytes at offset " + std::to_string(pos_),
                                rb_.size());
    }
    // One byte past the limit tells a line of exactly `limit` bytes from a
    // longer one; with no limit (SIZE_MAX) there is nothing to tell.
    const std::size_t want = partial || limit == SIZE_MAX ? limit : limit + 1;
    bool more = co_await fill(want);
    if (!more) co_return rb_.size();  // end of file: the rest is the last line
  }
}

std::optional<std::string_view> file::buffered_line() noexcept {
  std::size_t n = rb_.filling ? 0 : rb_.find_line(max_line_);
  if (n == 0) return std::nullopt;
  std::string_view line(rb_.data.get() + rb_.begin, n);
  consume(n);
  return line;
}

task<std::optional<std::string_view>> file::next_line() {
  std::size_t n = co_await buffer_line(max_line_, false);
  if (n == 0) co_return std::nullopt;
  std::string_view line(rb_.data.get() + rb_.begin, n);
  consume(n);
  co_return line;
}

task<std::string> file::readline() {
  std::size_t n = co_await buffer_line(max_line_, false);
  std::string line(rb_.data.get() + rb_.begin, n);
  consume(n);
  co_return line;
}

task<std::string> file::readline(std::size_t size) {
  if (size == 0) {
    check_open("readline");
    co_return std::string();
  }
  std::size_t n = co_await buffer_line(size, true);
  std::string line(rb_.data.get() + rb_.begin, n);
  consume(n);
  co_return line;
}

task<std::vector<std::string>> file::readlines() {
  std::vector<std::string> out;
  for (;;) {
    std::size_t n = co_await buffer_line(max_line_, false);
    if (n == 0) break;
    out.emplace_back(rb_.data.get() + rb_.begin, n);
    consume(n);
  }
  co_return out;
}

namespace {

task<std::vector<std::string>> read_lines_impl(std::string path, open_options options) {
  file f = co_await open(path, "rb", options);
  std::vector<std::string> lines = co_await f.readlines();
  co_await f.close();
  co_return lines;
}

}  // namespace

task<std::vector<std::string>> read_lines(const std::filesystem::path& path, const open_options& options) {
  return read_lines_impl(path.string(), options);
}

}  // namespace aio::fs
