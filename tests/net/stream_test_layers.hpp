// SPDX-License-Identifier: MIT
#pragma once
// Test-only transports layered over a real one, standing where TLS stands:
// a pass-through (a transport that is not the plain fd one: the sendfile
// fallback) and an XOR "cipher" with a one-line handshake (start_tls's
// plumbing: leftover bytes, the swap). Both move real bytes over real
// sockets; they only stand in for the TLS layer, never for a peer.

#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "aio/aio.hpp"

namespace stream_test {

/// Forwards everything to `inner`; XORs every byte with `key` (0: plain copy).
class xor_transport final : public aio::transport {
 public:
  xor_transport(std::unique_ptr<aio::transport> inner, unsigned char key, std::string leftover = {})
      : inner_(std::move(inner)), key_(key), leftover_(std::move(leftover)) {}

  aio::task<std::size_t> read_some(std::span<std::byte> buf) override {
    std::size_t n;
    if (!leftover_.empty()) {
      n = std::min(buf.size(), leftover_.size());
      std::memcpy(buf.data(), leftover_.data(), n);
      leftover_.erase(0, n);
    } else {
      n = co_await inner_->read_some(buf);
    }
    for (std::size_t i = 0; i < n; ++i) buf[i] ^= std::byte{key_};
    co_return n;
  }
  aio::task<std::size_t> write_some(std::span<const std::byte> buf) override {
    std::vector<std::byte> enc(buf.begin(), buf.end());
    for (auto& b : enc) b ^= std::byte{key_};
    co_return co_await inner_->write_some(enc);
  }
  aio::task<> write_eof() override { co_await inner_->write_eof(); }
  void close() noexcept override { inner_->close(); }
  bool is_closing() const noexcept override { return inner_->is_closing(); }
  int fd() const noexcept override { return inner_->fd(); }
  std::optional<std::string> extra_info(std::string_view name) const override {
    if (name == "cipher") return key_ ? "xor" : "none";
    return inner_->extra_info(name);
  }
  void* native_handle(std::string_view name) const noexcept override {
    return name == "ssl_object" ? const_cast<xor_transport*>(this) : nullptr;
  }

  /// Reads exactly `n` decoded bytes (for the handshake).
  aio::task<std::string> read_exactly(std::size_t n) {
    std::string out(n, '\0');
    std::size_t got = 0;
    while (got < n) {
      std::size_t r =
          co_await read_some(std::as_writable_bytes(std::span(out.data() + got, n - got)));
      if (r == 0) throw std::runtime_error("xor handshake: end of stream");
      got += r;
    }
    co_return out;
  }
  aio::task<> write_all(std::string_view s) {
    while (!s.empty())
      s.remove_prefix(co_await write_some(std::as_bytes(std::span(s.data(), s.size()))));
  }

 private:
  std::unique_ptr<aio::transport> inner_;
  unsigned char key_;
  std::string leftover_;
};

/// A secure_layer over xor_transport: the client sends "HS:<host>\n"
/// encoded, the server checks it. Records what start_tls handed it.
class xor_layer final : public aio::secure_layer {
 public:
  explicit xor_layer(unsigned char key = 0x5a) : key_(key) {}
  mutable std::string last_leftover;
  mutable int wraps = 0;

  aio::task<std::unique_ptr<aio::transport>> wrap_client(std::unique_ptr<aio::transport> inner,
                                                         std::string server_hostname,
                                                         std::string leftover) const override {
    ++wraps;
    last_leftover = leftover;
    auto t = std::make_unique<xor_transport>(std::move(inner), key_, std::move(leftover));
    co_await t->write_all("HS:" + server_hostname + "\n");
    co_return t;
  }
  aio::task<std::unique_ptr<aio::transport>> wrap_server(std::unique_ptr<aio::transport> inner,
                                                         std::string leftover) const override {
    ++wraps;
    last_leftover = leftover;
    auto t = std::make_unique<xor_transport>(std::move(inner), key_, std::move(leftover));
    std::string hello = co_await t->read_exactly(3);
    if (hello != "HS:") throw std::runtime_error("xor handshake: bad hello");
    std::string c;
    do c = co_await t->read_exactly(1);
    while (c != "\n");
    co_return t;
  }

 private:
  unsigned char key_;
};

}  // namespace stream_test
