// SPDX-License-Identifier: MIT
#pragma once
// Private to aiocpp::tls: TLS as a transport over another transport.
//
// OpenSSL never touches a socket. A custom BIO hands it ciphertext from
// `in_` (filled by inner->read_some, straight into its free tail) and
// collects what it writes in `out_`; flushing swaps `out_` into `sending_`
// and writes that through inner->write_some. So both loop backends work, and
// cancelling an operation only ever cancels an inner read or write.
//
// One reader and one writer may run at once (transport's contract), and
// either may need the other direction: SSL_read may produce bytes to send
// (TLS 1.2 renegotiation, a TLS 1.3 key update), SSL_write may need bytes
// to read (renegotiation). OpenSSL accepts application data interleaved
// with a renegotiation only inside SSL_read, so a writer that finds one
// under way drives it with SSL_read and keeps the plaintext it gets in
// `stash_` for read_some. Two small locks keep the paths apart:
//   input_lock_ — one inner read at a time; a path that waited for it
//                 retries OpenSSL first if the holder read something
//                 (input_generation_ tells);
//   flush_lock_ — one inner write at a time; the holder sends until nothing
//                 is pending, so bytes queued by the other path go too.
// SSL calls themselves never suspend, so OpenSSL's state is only ever seen
// between whole calls.
//
// write_some encrypts a chunk and returns once all of its ciphertext went to
// the inner transport: nothing waits in `out_` when it returns, so close()
// never has to send more than a close_notify.

#include <cstdint>
#include <exception>
#include <memory>
#include <string>

#include "aio/core/lock.hpp"
#include "aio/net/transport.hpp"
#include "byte_buffer.hpp"
#include "context_state.hpp"
#include "openssl.hpp"

namespace aio::tls::detail {

class tls_transport final : public transport {
 public:
  tls_transport(std::shared_ptr<const context_state> ctx, std::unique_ptr<transport> inner,
                bool server, std::string server_hostname);
  ~tls_transport() override;

  /// Client side: SNI and, with check_hostname, the name (or IP) to verify.
  void set_client_identity(bool check_hostname);
  /// Client side: resumes a session kept for this server, and keeps the
  /// tickets it sends (see session_cache.hpp).
  void use_session_cache();
  /// A ticket arrived (remember_session): the cache keeps a copy.
  void keep_session(SSL_SESSION* session);
  /// Bytes already read from the inner transport: OpenSSL sees them first.
  void feed(std::string_view leftover) { in_.append(leftover.data(), leftover.size()); }
  /// Runs the handshake; throws tls::error naming the peer, or the inner
  /// transport's std::system_error (re-worded to name the peer).
  task<> handshake();

  task<std::size_t> read_some(std::span<std::byte> buf) override;
  task<std::size_t> write_some(std::span<const std::byte> buf) override;
  task<> write_eof() override;
  bool can_write_eof() const noexcept override;
  void close() noexcept override;
  bool is_closing() const noexcept override { return closed_ || inner_->is_closing(); }
  int fd() const noexcept override { return closed_ ? -1 : inner_->fd(); }
  std::optional<std::string> extra_info(std::string_view name) const override;
  void* native_handle(std::string_view name) const noexcept override;

  // The BIO's side (see tls_transport.cpp).
  std::size_t bio_read(char* out, std::size_t len) noexcept;
  void bio_write(const char* in, std::size_t len);
  bool bio_at_eof() const noexcept { return in_eof_ && in_.empty(); }
  std::size_t bio_pending() const noexcept { return in_.size(); }

 private:
  enum class read_result { data, want_read, eof, failed };

  task<> run_handshake();
  task<> fill_input();
  task<> flush();
  task<> flush_committed();
  task<> flush_quietly();
  read_result decrypt(std::span<std::byte> buf, std::size_t& got);
  read_result decrypt_into_stash();
  task<> drive_renegotiation();
  bool output_pending() const noexcept { return !out_.empty() || !sending_.empty(); }
  std::string peer_name() const;
  std::exception_ptr handshake_error(int ssl_error);
  void send_close_notify_now() noexcept;

  std::shared_ptr<const context_state> ctx_;
  std::unique_ptr<transport> inner_;
  ssl_ptr ssl_;
  std::string server_hostname_;
  std::string session_key_;  // "name|address" of the server, when resuming
  byte_buffer in_;           // ciphertext received, not yet read by OpenSSL
  byte_buffer out_;          // ciphertext OpenSSL wrote, not yet handed to inner
  byte_buffer sending_;      // ciphertext being written by the flush lock's holder
  byte_buffer stash_;        // plaintext a writer read (renegotiation): read_some's first
  lock input_lock_;
  lock flush_lock_;
  std::uint64_t input_generation_ = 0;
  std::size_t read_size_ = 16 * 1024 + 512;  // grows while reads fill it
  std::size_t write_chunk_ = 64 * 1024;      // adapts to how fast the peer reads
  std::exception_ptr input_error_;           // the inner read failed: sticky
  std::exception_ptr fatal_;                 // a fatal TLS error: every later call throws it
  bool server_;
  bool in_eof_ = false;         // the inner transport reached end of stream
  bool socket_filled_ = false;  // a flush met a full socket (a partial inner write)
  bool handshake_done_ = false;
  bool failed_ = false;         // OpenSSL failed: no more SSL I/O (not even close_notify)
  bool shutdown_sent_ = false;  // close_notify queued (write_eof)
  bool closed_ = false;
};

}  // namespace aio::tls::detail
