// SPDX-License-Identifier: MIT
// The write side's machinery: submit (kernel first, then the buffer), the
// flusher task, failure and close. See stream_state.hpp for the model.
#include "stream_state.hpp"

#include <cerrno>
#include <system_error>

#include "aio/core/create_task.hpp"

namespace aio::detail {

namespace {

// A write buffer bigger than this is freed once empty (a huge message must
// not pin its memory for the rest of the connection).
constexpr std::size_t keep_write_capacity = 1 << 20;

// One round over a plain transport: one sendmsg of everything queued, or a
// wait for room. Nothing points into the buffers across the wait, so writes
// may append (and move) them meanwhile. False once the transport closed.
task<bool> flush_plain(stream_state& s, std::size_t allowed) {
  std::string_view parts[2];
  std::size_t n = s.plain->try_write({parts, s.gather(parts, allowed)});
  if (n == 0) co_return co_await s.plain->wait_writable();
  s.consume_sent(n);
  co_return true;
}

// Through any other transport (TLS): write_some may keep pointing at its
// bytes while it waits, so it gets `sending` while appends go to `pending`.
task<> flush_layered(stream_state& s, std::size_t allowed) {
  if (s.sending.empty()) s.sending.swap(s.pending);
  auto chunk = s.sending.readable();
  if (chunk.size() > allowed) chunk = chunk.first(allowed);
  std::size_t n = co_await s.t->write_some(chunk);
  s.sending.consume(n);
  s.flushed += n;
}

task<> flush_loop(stream_ref ref) {
  stream_state& s = *ref;
  try {
    for (;;) {
      if (s.error || s.closed) break;
      std::size_t allowed = s.sendable();
      if (allowed == 0) break;  // all sent, or held for start_tls
      if (s.plain) {
        if (!co_await flush_plain(s, allowed)) break;
      } else {
        co_await flush_layered(s, allowed);
      }
      s.on_flushed();
    }
    s.sending.trim(keep_write_capacity);
    s.pending.trim(keep_write_capacity);
    if (s.eof_requested && !s.eof_sent && !s.error && !s.closed && s.buffered() == 0) {
      s.eof_sent = true;
      co_await s.t->write_eof();
      if (s.t->is_closing()) s.close_transport();  // a pipe's write end closes
    }
  } catch (const cancelled_error&) {
    // The loop is shutting down (nobody else cancels this task): the
    // unsent bytes are lost, and whoever waits for them must hear it.
    s.fail(std::make_exception_ptr(std::system_error(
        ECANCELED, std::generic_category(), "stream flusher cancelled with bytes unsent")));
    s.exclusive = false;
    throw;
  } catch (...) {
    s.fail(std::current_exception());
  }
  s.release_exclusive();
}

}  // namespace

void throw_stream_errno(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), what);
}

stream_state_header& stream_header(stream_state* s) noexcept { return *s; }
void destroy_stream_state(stream_state* s) noexcept { delete s; }

void stream_state::wake_all_writers() noexcept {
  while (writers.wake_front()) ++woken_writers;
  while (idle.wake_front()) {  // sendfile / start_tls look again (and throw)
  }
}

void stream_state::close_transport() noexcept {
  if (closed) return;
  closed = true;
  if (t) t->close();
  while (closers.wake_front()) {
  }
  while (drains.wake_front()) {
  }
  while (idle.wake_front()) {
  }
}

task<> acquire_write_side(stream_state& s, const char* what, bool upgrade) {
  for (;;) {
    s.check_writable(what);
    // Not exclusive and nothing sendable: whoever appends starts a flusher.
    if (!s.exclusive && (upgrade ? s.sendable() == 0 : !s.hold_at && s.buffered() == 0)) {
      s.exclusive = true;
      co_return;
    }
    co_await list_wait(s.idle, "stream_writer (waiting for the flusher)");
  }
}

task<> hold_and_acquire_write_side(stream_state& s, const char* what) {
  s.hold_at = s.accepted;
  try {
    co_await acquire_write_side(s, what, true);
  } catch (...) {
    s.hold_at.reset();
    s.kick();  // the held writes go out after all
    if (!s.exclusive)
      while (s.idle.wake_front()) {
      }
    throw;
  }
}

void stream_state::fail(std::exception_ptr e) noexcept {
  if (!error) error = std::move(e);
  close_transport();
  wake_all_writers();
}

std::size_t stream_state::gather(std::string_view* out, std::size_t allowed) const noexcept {
  std::size_t count = 0;
  for (std::string_view v : {sending.view(), pending.view()}) {
    v = v.substr(0, allowed);
    if (v.empty()) continue;
    out[count++] = v;
    allowed -= v.size();
  }
  return count;
}

void stream_state::consume_sent(std::size_t n) noexcept {
  flushed += n;
  std::size_t k = std::min(n, sending.size());
  sending.consume(k);
  pending.consume(n - k);
}

void stream_state::check_writable(const char* what) const {
  if (error) std::rethrow_exception(error);
  if (closing || closed)
    throw invalid_state_error(std::string("stream_writer::") + what + " after close()");
  if (eof_requested)
    throw invalid_state_error(std::string("stream_writer::") + what + " after write_eof()");
}

void stream_state::submit(std::span<const std::string_view> parts) {
  std::size_t total = 0;
  for (auto p : parts) total += p.size();
  if (total == 0) return;
  std::size_t sent = 0;
  if (!exclusive && buffered() == 0 && plain && !hold_at) {
    try {
      sent = plain->try_write(parts);
    } catch (...) {
      fail(std::current_exception());
      throw;
    }
    accepted += sent;
    flushed += sent;
    if (sent == total) return;
  }
  for (auto p : parts) {
    if (sent >= p.size()) {
      sent -= p.size();
      continue;
    }
    pending.append(p.substr(sent));
    accepted += p.size() - sent;
    sent = 0;
  }
  kick();
}

void stream_state::on_flushed() noexcept {
  while (wait_node* n = drains.front()) {
    if (static_cast<stream_drain_awaiter*>(n)->target > flushed) break;
    drains.wake_front();
  }
  if (woken_writers == 0 && !writers.empty() && buffered() <= opts.low_water) {
    ++woken_writers;
    writers.wake_front();
  }
}

void stream_state::pass_turn() noexcept {
  if (!writers.empty() && buffered() <= opts.high_water) {
    ++woken_writers;
    writers.wake_front();
  }
}

void stream_state::kick() noexcept {
  if (exclusive || closed || error) return;
  if (hold_at && sendable() == 0) return;  // start_tls takes over from here
  bool eof_owed = eof_requested && !eof_sent;
  if (buffered() == 0 && (!eof_owed || plain)) {
    if (eof_owed) {
      eof_sent = true;
      try {
        plain->shutdown_write();
      } catch (...) {
        fail(std::current_exception());
        return;
      }
      if (t->is_closing()) close_transport();  // a pipe's write end closes
    }
    if (closing) close_transport();
    return;
  }
  event_loop* loop = try_get_running_loop();
  if (!loop) {
    // Dropped after its loop ended: nothing can send the rest.
    fail(std::make_exception_ptr(std::system_error(
        EPIPE, std::generic_category(), "stream dropped without a running loop to flush it")));
    return;
  }
  exclusive = true;
  detail::spawn(*loop, flush_loop(stream_ref(this)), {});
}

void stream_state::release_exclusive() noexcept {
  exclusive = false;
  kick();
  if (!exclusive) {
    while (idle.wake_front()) {  // each looks again (a start_tls may go before a sendfile)
    }
  }
}

void stream_state::close_writer() noexcept {
  if (closing) return;
  closing = true;
  wake_all_writers();
  kick();
}

}  // namespace aio::detail
