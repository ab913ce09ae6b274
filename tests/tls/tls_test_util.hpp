// SPDX-License-Identifier: MIT
#pragma once
// Helpers for the TLS tests: contexts made from the test certificates, a
// client and a server transport over a socketpair, and whole reads/writes.

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "aio/aio.hpp"
#include "aio_test.hpp"
#include "tls_certs.hpp"

namespace tls_test {

inline std::span<const std::byte> bytes(std::string_view s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

/// Hands over one end of a socketpair (the pair no longer owns it).
inline int take(int& fd) { return std::exchange(fd, -1); }

inline const aio::test::tls_certs& certs() { return aio::test::test_certs(); }

/// A server context presenting the CA-signed localhost certificate.
inline aio::tls::context server_context() {
  return aio::tls::context::server(certs().server_cert, certs().server_key);
}

/// A client context trusting the test CA (and only it).
inline aio::tls::context client_context() {
  auto c = aio::tls::context::client();
  c.load_verify_locations({.cafile = certs().ca_file});
  return c;
}

/// Awaits `t` (a handshake) into `out`: a task whose result is movable only
/// cannot be awaited through a task_handle, which copies results.
inline aio::task<> into(aio::task<std::unique_ptr<aio::transport>> t,
                        std::unique_ptr<aio::transport>& out) {
  out = co_await std::move(t);
}

struct tls_pair {
  std::unique_ptr<aio::transport> client, server;
};

/// Handshakes a client and a server over a fresh socketpair.
inline aio::task<tls_pair> connect_pair(aio::tls::context client, aio::tls::context server,
                                        std::string host = "localhost") {
  aio::test::socket_pair sp;
  tls_pair p;
  auto s = aio::create_task(into(server.wrap_server(aio::make_fd_transport(take(sp.b))), p.server));
  try {
    p.client = co_await client.wrap_client(aio::make_fd_transport(take(sp.a)), host);
  } catch (...) {
    s.cancel();
    throw;
  }
  co_await s;
  co_return p;
}

/// The outcome of a handshake attempt on each side.
struct handshake_outcome {
  std::exception_ptr client, server;
  std::unique_ptr<aio::transport> client_transport, server_transport;
};

/// Runs both handshakes to their end, catching what each throws.
inline aio::task<handshake_outcome> try_handshake(aio::tls::context client,
                                                  aio::tls::context server,
                                                  std::string host = "localhost") {
  aio::test::socket_pair sp;
  handshake_outcome out;
  auto s = aio::create_task(
      into(server.wrap_server(aio::make_fd_transport(take(sp.b))), out.server_transport));
  try {
    out.client_transport = co_await client.wrap_client(aio::make_fd_transport(take(sp.a)), host);
  } catch (const std::exception&) {
    out.client = std::current_exception();
  }
  try {
    co_await s;
  } catch (const std::exception&) {
    out.server = std::current_exception();
  }
  co_return out;
}

/// The message of an exception_ptr's exception ("" if none).
inline std::string message(const std::exception_ptr& e) {
  if (!e) return {};
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  }
}

/// The error code of a std::system_error in `e` (empty if none or another type).
inline std::error_code code(const std::exception_ptr& e) {
  if (!e) return {};
  try {
    std::rethrow_exception(e);
  } catch (const std::system_error& x) {
    return x.code();
  } catch (...) {
    return {};
  }
}

inline aio::task<> write_all(aio::transport& t, std::string_view s) {
  while (!s.empty()) s.remove_prefix(co_await t.write_some(bytes(s)));
}

/// Reads until end of stream.
inline aio::task<std::string> read_all(aio::transport& t) {
  std::string got;
  std::byte buf[16 * 1024];
  for (;;) {
    std::size_t n = co_await t.read_some(buf);
    if (n == 0) co_return got;
    got.append(reinterpret_cast<const char*>(buf), n);
  }
}

/// Reads exactly `n` bytes (fewer only at end of stream).
inline aio::task<std::string> read_exactly(aio::transport& t, std::size_t n) {
  std::string got;
  std::byte buf[16 * 1024];
  while (got.size() < n) {
    std::size_t k = co_await t.read_some(std::span(buf, std::min(sizeof buf, n - got.size())));
    if (k == 0) break;
    got.append(reinterpret_cast<const char*>(buf), k);
  }
  co_return got;
}

/// True if `fd` is still open in this process.
inline bool fd_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

/// Reads and drops what is queued on socket `fd`; true if its peer has
/// closed (end of stream or reset), false if it is merely quiet.
inline bool peer_closed(int fd) {
  char buf[65536];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) continue;
    return n == 0 || errno == ECONNRESET;
  }
}

}  // namespace tls_test
