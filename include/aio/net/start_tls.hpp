// SPDX-License-Identifier: MIT
#pragma once
// Upgrading a plain connection to TLS in place (STARTTLS: SMTP, IMAP,
// PostgreSQL's SSLRequest), like asyncio's `StreamWriter.start_tls` /
// `loop.start_tls`. The reader and writer keep working, now encrypted.
//
//   co_await writer.write("STARTTLS\r\n");
//   co_await reader.readline();                       // "220 go ahead"
//   co_await aio::start_tls(reader, writer, ctx, "mail.example.org");

#include <string>

#include "aio/net/stream.hpp"
#include "aio/net/transport.hpp"

namespace aio {

/// Like `await StreamWriter.start_tls(sslcontext, server_hostname=…)`
/// (asyncio 3.11), also for the server side (`server_side`, as
/// `loop.start_tls`). Flushes what the writer buffered, then hands the
/// transport and the reader's unread bytes (the peer may already have sent
/// its first handshake bytes) to `layer` (an aio::tls context), and swaps the
/// secure transport in. Writes issued meanwhile are sent after the swap,
/// encrypted. `reader` and `writer` must be one connection's
/// (std::invalid_argument). invalid_state_error while a read waits, or after
/// close()/write_eof(). A failed handshake throws its error and leaves the
/// connection failed and closed. Not cancel-safe: a cancelled handshake
/// closes the connection (later operations throw ECANCELED).
task<> start_tls(stream_reader& reader, stream_writer& writer, const secure_layer& layer,
                 std::string server_hostname = {}, bool server_side = false);

}  // namespace aio
