// SPDX-License-Identifier: MIT
#include "aio/net/start_tls.hpp"

#include <cerrno>
#include <stdexcept>
#include <system_error>

#include "stream_state.hpp"

namespace aio {

namespace detail {
namespace {

task<> upgrade(stream_ref ref, const secure_layer& layer, std::string server_hostname,
               bool server_side) {
  stream_state& s = *ref;
  if (s.reading) throw invalid_state_error("start_tls: a read is waiting on the stream");
  if (s.hold_at) throw invalid_state_error("start_tls: another start_tls is in progress");
  s.check_writable("start_tls()");
  // What was written so far goes out in clear; the rest waits for TLS.
  co_await hold_and_acquire_write_side(s, "start_tls()");
  exclusive_guard guard{s};
  writes_held held{s};
  if (s.reading) throw invalid_state_error("start_tls: a read is waiting on the stream");
  s.reading = true;  // reads now would see the transport go away under them
  struct unhold {
    stream_state& s;
    ~unhold() { s.reading = false; }
  } hold{s};
  std::string leftover(s.rbuf.view());
  s.rbuf.clear();
  std::unique_ptr<transport> inner = std::move(s.t);
  s.plain = nullptr;
  std::unique_ptr<transport> secure;
  try {
    // (Not a ?: of two co_awaits: GCC 12 miscompiles that.)
    if (server_side)
      secure = co_await layer.wrap_server(std::move(inner), std::move(leftover));
    else
      secure = co_await layer.wrap_client(std::move(inner), std::move(server_hostname),
                                          std::move(leftover));
  } catch (const cancelled_error&) {
    s.fail(std::make_exception_ptr(
        std::system_error(ECANCELED, std::generic_category(), "start_tls: handshake cancelled")));
    throw;
  } catch (...) {
    s.fail(std::current_exception());
    throw;
  }
  if (!secure) {
    s.fail(std::make_exception_ptr(
        std::system_error(EPROTO, std::generic_category(), "start_tls: no transport")));
    throw_stream_errno(EPROTO, "start_tls: the secure layer returned no transport");
  }
  s.t = std::move(secure);
  s.plain = as_plain(s.t.get());
  // Closed while the handshake ran (close() or both handles dropped): the
  // guard's release closes the new transport; an error path closed the old.
  if (s.closed) s.t->close();
}

}  // namespace
}  // namespace detail

task<> start_tls(stream_reader& reader, stream_writer& writer, const secure_layer& layer,
                 std::string server_hostname, bool server_side) {
  const auto& r = detail::stream_access::of(reader);
  const auto& w = detail::stream_access::of(writer);
  if (!r || r.get() != w.get())
    throw std::invalid_argument("start_tls: reader and writer of different connections");
  return detail::upgrade(r, layer, std::move(server_hostname), server_side);
}

}  // namespace aio
