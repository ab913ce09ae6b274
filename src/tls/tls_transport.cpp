// SPDX-License-Identifier: MIT
// The TLS transport's data path: reads, writes, half-close and close. The
// handshake and the wrap_* entry points are in handshake.cpp.
#include "tls_transport.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "aio/core/errors.hpp"

namespace aio::tls::detail {

namespace {

// Plaintext handed to SSL_write per write_some. write_some returns once its
// ciphertext is out, so the chunk adapts: it doubles while the socket takes
// each flush whole (bulk to a fast reader: big writes, fewer system calls,
// 8% more throughput at 256 KiB than at 64 KiB) and halves when the socket
// fills (a slow reader: a write waits for it to read one small chunk, not a
// big one).
constexpr std::size_t min_write_chunk = 16 * 1024, max_write_chunk = 256 * 1024;
// Ciphertext asked of one inner read once reads keep filling the buffer
// (asyncio's SSL protocol reads 256 KiB at a time too).
constexpr std::size_t max_read_size = 256 * 1024;

tls_transport* owner(BIO* b) noexcept { return static_cast<tls_transport*>(BIO_get_data(b)); }

int bio_read_ex(BIO* b, char* out, std::size_t len, std::size_t* got) {
  BIO_clear_retry_flags(b);
  tls_transport* t = owner(b);
  std::size_t n = t ? t->bio_read(out, len) : 0;
  *got = n;
  if (n > 0) return 1;
  // Not at the end of the stream: "try again" (SSL_ERROR_WANT_READ).
  if (t && !t->bio_at_eof()) BIO_set_retry_read(b);
  return 0;
}

int bio_write_ex(BIO* b, const char* in, std::size_t len, std::size_t* put) {
  BIO_clear_retry_flags(b);
  tls_transport* t = owner(b);
  if (!t) return 0;
  try {
    t->bio_write(in, len);
  } catch (const std::bad_alloc&) {
    return 0;
  }
  *put = len;
  return 1;
}

long bio_ctrl(BIO* b, int cmd, long /*num*/, void* /*ptr*/) {
  tls_transport* t = owner(b);
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      return 1;  // writes are always taken whole
    case BIO_CTRL_EOF:
      return t && t->bio_at_eof() ? 1 : 0;
    case BIO_CTRL_PENDING:
      return t ? static_cast<long>(t->bio_pending()) : 0;
    default:
      return 0;
  }
}

int bio_create(BIO* b) {
  BIO_set_init(b, 1);
  return 1;
}

BIO_METHOD* transport_bio_method() {
  static BIO_METHOD* const method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "aio transport");
    if (!m) return m;
    BIO_meth_set_read_ex(m, &bio_read_ex);
    BIO_meth_set_write_ex(m, &bio_write_ex);
    BIO_meth_set_ctrl(m, &bio_ctrl);
    BIO_meth_set_create(m, &bio_create);
    return m;
  }();
  return method;
}

[[noreturn]] void throw_epipe(const char* what) {
  throw std::system_error(EPIPE, std::generic_category(), what);
}

// A cancellation that arrives while bytes already given to OpenSSL are being
// sent cannot take them back: the operation completes, and the cancel lands
// at the task's next suspension point (as when an operation completes just
// before its cancel arrives).
void postpone_cancel() noexcept {
  if (event_loop* loop = aio::detail::running_loop_)
    if (aio::detail::promise_base* t = loop->current_task()) t->must_cancel_ = true;
}

}  // namespace

tls_transport::tls_transport(std::shared_ptr<const context_state> ctx,
                             std::unique_ptr<transport> inner, bool server,
                             std::string server_hostname)
    : ctx_(std::move(ctx)),
      inner_(std::move(inner)),
      server_hostname_(std::move(server_hostname)),
      server_(server) {
  ERR_clear_error();
  ssl_.reset(SSL_new(ctx_->ctx));
  if (!ssl_) throw_config_error("cannot create an SSL object");
  BIO_METHOD* method = transport_bio_method();
  BIO* bio = method ? BIO_new(method) : nullptr;
  if (!bio) throw_config_error("cannot create the transport BIO");
  BIO_set_data(bio, this);
  SSL_set_bio(ssl_.get(), bio, bio);  // the SSL owns it now
  SSL_set_app_data(ssl_.get(), this);
  if (server)
    SSL_set_accept_state(ssl_.get());
  else
    SSL_set_connect_state(ssl_.get());
}

tls_transport::~tls_transport() {
  // Detach the BIO first: SSL_free may still call it (a final alert) and
  // this object is half gone.
  if (ssl_) {
    BIO_set_data(SSL_get_rbio(ssl_.get()), nullptr);
    SSL_set_app_data(ssl_.get(), nullptr);
  }
  ssl_.reset();
  ERR_clear_error();
}

std::size_t tls_transport::bio_read(char* out, std::size_t len) noexcept {
  std::size_t n = std::min(len, in_.size());
  if (n == 0) return 0;
  std::memcpy(out, in_.readable().data(), n);
  in_.consume(n);
  return n;
}

void tls_transport::bio_write(const char* in, std::size_t len) { out_.append(in, len); }

task<> tls_transport::fill_input() {
  std::uint64_t seen = input_generation_;
  auto held = co_await input_lock_.scoped();
  // Whoever held the lock read something: OpenSSL gets a look at it first.
  if (seen != input_generation_ || in_eof_ || closed_) co_return;
  if (input_error_) std::rethrow_exception(input_error_);
  in_.reserve_tail(read_size_);
  std::span<std::byte> room = in_.tail();
  std::size_t n = 0;
  try {
    n = co_await inner_->read_some(room);
  } catch (const std::system_error&) {
    input_error_ = std::current_exception();
    ++input_generation_;
    throw;
  }
  ++input_generation_;
  if (n == 0) {
    in_eof_ = true;
    co_return;
  }
  in_.commit(n);
  if (n == room.size() && read_size_ < max_read_size)
    read_size_ = std::min(read_size_ * 2, max_read_size);
}

task<> tls_transport::flush() {
  if (!output_pending()) co_return;
  auto held = co_await flush_lock_.scoped();
  while (output_pending()) {
    if (sending_.empty()) {
      sending_.clear();
      swap(sending_, out_);
    }
    std::size_t n = co_await inner_->write_some(sending_.readable());
    if (n < sending_.size()) socket_filled_ = true;
    sending_.consume(n);
  }
}

task<> tls_transport::flush_committed() {
  try {
    co_await flush();
  } catch (const cancelled_error&) {
    postpone_cancel();
  }
}

task<> tls_transport::flush_quietly() {
  // A writer holding the lock sends these bytes with its own.
  if (!output_pending() || closed_ || flush_lock_.locked()) co_return;
  try {
    co_await flush();
  } catch (const std::system_error&) {
    // The writer meets the same error and reports it; a reader goes on reading.
  }
}

tls_transport::read_result tls_transport::decrypt(std::span<std::byte> buf, std::size_t& got) {
  SSL* s = ssl_.get();
  got = 0;
  for (;;) {
    ERR_clear_error();
    std::size_t n = 0;
    int r = SSL_read_ex(s, buf.data() + got, buf.size() - got, &n);
    if (r == 1) {
      got += n;
      // More records may already be here: fill the caller's buffer without
      // another trip through the loop.
      if (got == buf.size() || (in_.empty() && SSL_pending(s) == 0)) return read_result::data;
      continue;
    }
    int e = SSL_get_error(s, r);
    if (e == SSL_ERROR_WANT_READ) return got ? read_result::data : read_result::want_read;
    if (e == SSL_ERROR_ZERO_RETURN) {  // close_notify, or (suppressed) a ragged end of stream
      ERR_clear_error();
      return got ? read_result::data : read_result::eof;
    }
    failed_ = true;
    fatal_ = std::make_exception_ptr(
        error(errc::protocol_error,
              "TLS read from " + peer_name() + " failed: " + take_error_reason("I/O error")));
    return got ? read_result::data : read_result::failed;
  }
}

tls_transport::read_result tls_transport::decrypt_into_stash() {
  std::size_t total = 0;
  for (;;) {
    stash_.reserve_tail(16 * 1024);
    std::span<std::byte> room = stash_.tail();
    std::size_t got = 0;
    read_result r = decrypt(room, got);
    stash_.commit(got);
    total += got;
    if (r != read_result::data) return total ? read_result::data : r;
    if (got < room.size()) return read_result::data;
  }
}

task<> tls_transport::drive_renegotiation() {
  SSL* s = ssl_.get();
  while (SSL_in_init(s)) {
    if (closed_) throw_epipe("write to a closed TLS transport");
    std::size_t before = in_.size();
    read_result r = decrypt_into_stash();
    if (r == read_result::failed) {
      co_await flush_quietly();
      std::rethrow_exception(fatal_);
    }
    if (r == read_result::eof) throw_epipe("the peer closed the TLS connection");
    if (fatal_) std::rethrow_exception(fatal_);  // after data that went to the stash
    co_await flush();                            // our handshake messages
    // Nothing to work on: wait for the peer's next message.
    if (SSL_in_init(s) && r == read_result::want_read && in_.size() == before)
      co_await fill_input();
  }
}

task<std::size_t> tls_transport::read_some(std::span<std::byte> buf) {
  for (;;) {
    if (!stash_.empty() && !buf.empty()) {
      std::size_t n = std::min(buf.size(), stash_.size());
      std::memcpy(buf.data(), stash_.readable().data(), n);
      stash_.consume(n);
      co_return n;
    }
    if (fatal_) std::rethrow_exception(fatal_);
    if (closed_ || buf.empty()) co_return 0;
    std::size_t got = 0;
    switch (decrypt(buf, got)) {
      case read_result::data:
        // Handshake messages OpenSSL wrote while reading (a renegotiation)
        // go out now: the peer waits for them. The plaintext is ours
        // whatever happens to them.
        if (output_pending() && SSL_in_init(ssl_.get())) {
          try {
            co_await flush_quietly();
          } catch (const cancelled_error&) {
            postpone_cancel();
          }
        }
        co_return got;
      case read_result::eof:
        co_return 0;
      case read_result::failed:
        co_await flush_quietly();  // the alert that tells the peer why
        std::rethrow_exception(fatal_);
      case read_result::want_read:
        break;
    }
    // Nothing consumed yet that is not kept in OpenSSL: cancel-safe below.
    // Only a handshake in progress makes the peer wait for our bytes; other
    // pending bytes (a writer's leftovers, a key update answer, which TLS 1.3
    // wants sent before our next data) go with the next write, so a reader
    // never waits for a full socket while the peer waits for it to read.
    if (SSL_in_init(ssl_.get())) co_await flush_quietly();
    co_await fill_input();
  }
}

task<std::size_t> tls_transport::write_some(std::span<const std::byte> buf) {
  if (closed_) throw_epipe("write to a closed TLS transport");
  if (shutdown_sent_) throw_epipe("write to a TLS transport after write_eof");
  if (fatal_) std::rethrow_exception(fatal_);
  if (buf.empty()) co_return 0;
  co_await flush();  // earlier bytes first; none of `buf` is taken before this returns
  std::span<const std::byte> chunk = buf.first(std::min(buf.size(), write_chunk_));
  for (;;) {
    if (closed_) throw_epipe("write to a closed TLS transport");
    if (fatal_) std::rethrow_exception(fatal_);
    // A renegotiation under way: SSL_write must not be the one to meet the
    // peer's application data (OpenSSL fails it as an unexpected record).
    if (SSL_in_init(ssl_.get())) co_await drive_renegotiation();
    ERR_clear_error();
    std::size_t n = 0;
    int r = SSL_write_ex(ssl_.get(), chunk.data(), chunk.size(), &n);
    if (r == 1) {
      socket_filled_ = false;
      co_await flush_committed();
      if (socket_filled_)
        write_chunk_ = std::max(write_chunk_ / 2, min_write_chunk);
      else if (n == write_chunk_)
        write_chunk_ = std::min(write_chunk_ * 2, max_write_chunk);
      co_return n;
    }
    int e = SSL_get_error(ssl_.get(), r);
    if (e == SSL_ERROR_WANT_READ) {
      // SSL_write started a renegotiation (or found one): see the loop's top.
      co_await flush();
      if (!SSL_in_init(ssl_.get())) {
        if (in_eof_) throw_epipe("the peer closed the TLS connection");
        co_await fill_input();
      }
      continue;
    }
    if (e == SSL_ERROR_ZERO_RETURN) {
      ERR_clear_error();
      throw_epipe("the peer closed the TLS connection");
    }
    failed_ = true;
    fatal_ = std::make_exception_ptr(
        error(errc::protocol_error,
              "TLS write to " + peer_name() + " failed: " + take_error_reason("I/O error")));
    co_await flush_quietly();
    std::rethrow_exception(fatal_);
  }
}

task<> tls_transport::write_eof() {
  if (closed_ || shutdown_sent_) co_return;
  if (!failed_) {
    co_await flush();
    ERR_clear_error();
    SSL_shutdown(ssl_.get());  // queues close_notify; reading goes on
    ERR_clear_error();
    shutdown_sent_ = true;
    co_await flush();  // cancelled here: close() still tries to send it
  }
  co_await inner_->write_eof();
}

bool tls_transport::can_write_eof() const noexcept {
  return SSL_version(ssl_.get()) >= TLS1_3_VERSION;
}

void tls_transport::close() noexcept {
  if (closed_) return;
  closed_ = true;
  send_close_notify_now();
  inner_->close();
}

void tls_transport::send_close_notify_now() noexcept {
  // Best effort, without suspending: only straight to a plain socket, and
  // only when no inner write is in flight (its bytes would interleave).
  if (!handshake_done_ || failed_ || flush_lock_.locked()) return;
  if (inner_->native_handle("ssl_object") != nullptr) return;
  int fd = inner_->fd();
  if (fd < 0) return;
  if (!shutdown_sent_) {
    ERR_clear_error();
    SSL_shutdown(ssl_.get());
    ERR_clear_error();
    shutdown_sent_ = true;
  }
  for (byte_buffer* b : {&sending_, &out_}) {
    while (!b->empty()) {
      ssize_t r = ::send(fd, b->readable().data(), b->size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      if (r <= 0) return;
      b->consume(static_cast<std::size_t>(r));
    }
  }
}

}  // namespace aio::tls::detail
