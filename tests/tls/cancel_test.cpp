// SPDX-License-Identifier: MIT
// Cancellation at the TLS transport's less obvious suspension points: a
// writer's leftover bytes (which must not hold up a reader), a reader
// queued behind a writer's renegotiation, write_eof waiting for room.
#include <openssl/ssl.h>

#include "tls_test_util.hpp"

using namespace std::chrono_literals;
using namespace tls_test;
namespace tls = aio::tls;

namespace {

// Writes `chunk` over and over, counting what write_some accepted.
aio::task<> write_forever(aio::transport& t, const std::string& chunk, std::size_t& accepted) {
  for (;;) accepted += co_await t.write_some(bytes(chunk));
}

// One read_some into `out`, then one more suspension point.
aio::task<> read_once_then_pause(aio::transport& t, std::string& out) {
  std::byte buf[64];
  std::size_t n = co_await t.read_some(buf);
  out.assign(reinterpret_cast<const char*>(buf), n);
  co_await aio::sleep(0ms);
}

aio::task<std::string> read_n(aio::transport& t, std::size_t n) {
  co_return co_await read_exactly(t, n);
}

}  // namespace

AIO_TEST_SUITE(tls_cancel);

AIO_TEST(tls_cancel, a_cancelled_writers_queued_bytes_never_hold_up_the_reader) {
  auto p = co_await connect_pair(client_context(), server_context());
  // 1. Fill the client-to-server direction: the cancelled writer's accepted
  //    bytes stay queued in the transport, the socket is full.
  std::string chunk(256 * 1024, 'w');
  std::size_t accepted = 0;
  auto writer = aio::create_task(write_forever(*p.client, chunk, accepted));
  co_await aio::sleep(5ms);
  writer.cancel();
  EXPECT_THROW(co_await writer, aio::cancelled_error);
  CO_ASSERT_TRUE(accepted > 0);

  // 2. The server, not reading, asks for new keys and sends data: the
  //    client reads it at once, though its answer cannot go out yet (a
  //    reader that waited for room here would deadlock with this server).
  auto* sssl = static_cast<SSL*>(p.server->native_handle("ssl_object"));
  CO_ASSERT_EQ(SSL_key_update(sssl, SSL_KEY_UPDATE_REQUESTED), 1);
  co_await write_all(*p.server, "fresh keys");
  EXPECT_EQ(co_await aio::wait_for(read_n(*p.client, 10), 10s), "fresh keys");

  // 3. Everything queued still goes out, in order: the server reads the
  //    accepted bytes, then what the client writes next (the key update
  //    answer goes before it, under the old keys; "after" under the new).
  auto server_reads = aio::create_task(read_n(*p.server, accepted + 5));
  co_await write_all(*p.client, "after");
  std::string all = co_await server_reads;
  CO_ASSERT_EQ(all.size(), accepted + 5);
  EXPECT_EQ(all.substr(accepted), "after");
  EXPECT_EQ(all.find_first_not_of('w'), accepted);
}

AIO_TEST(tls_cancel, reader_queued_behind_a_renegotiating_writer_tls12) {
  auto server_ctx = server_context();
  server_ctx.set_maximum_version(tls::version::tls1_2);
  auto p = co_await connect_pair(client_context(), server_ctx);
  auto* sssl = static_cast<SSL*>(p.server->native_handle("ssl_object"));
  CO_ASSERT_EQ(SSL_renegotiate(sssl), 1);
  co_await write_all(*p.server, "x");
  EXPECT_EQ(co_await read_exactly(*p.client, 1), "x");  // the client is now renegotiating
  // The client's writer drives the renegotiation and waits for the server,
  // which is not reading yet; a reader queues behind it for input.
  auto writer = aio::create_task(write_all(*p.client, "y"));
  co_await aio::sleep(2ms);
  EXPECT_FALSE(writer.done());
  std::string lost;
  auto reader = aio::create_task(read_once_then_pause(*p.client, lost));
  co_await aio::sleep(2ms);
  EXPECT_FALSE(reader.done());
  reader.cancel();
  EXPECT_THROW(co_await reader, aio::cancelled_error);
  EXPECT_EQ(lost, "");
  // The server reads: the renegotiation completes, the write goes through.
  auto server_reads = aio::create_task(read_n(*p.server, 1));
  co_await writer;
  EXPECT_EQ(co_await server_reads, "y");
  co_await write_all(*p.server, "z");
  EXPECT_EQ(co_await read_exactly(*p.client, 1), "z");  // nothing was lost to the cancelled reader
}

AIO_TEST(tls_cancel, write_eof_cancelled_while_flushing_still_closes_cleanly) {
  auto p = co_await connect_pair(client_context(), server_context());
  std::string chunk(256 * 1024, 'e');
  std::size_t accepted = 0;
  auto writer = aio::create_task(write_forever(*p.client, chunk, accepted));
  co_await aio::sleep(5ms);
  writer.cancel();
  EXPECT_THROW(co_await writer, aio::cancelled_error);
  // write_eof must first send what is queued: the socket is full, it waits.
  auto eof = aio::create_task(p.client->write_eof());
  co_await aio::sleep(2ms);
  EXPECT_FALSE(eof.done());
  eof.cancel();
  EXPECT_THROW(co_await eof, aio::cancelled_error);
  // A second write_eof, with the server reading, finishes the job.
  auto server_reads = aio::create_task(read_all(*p.server));
  co_await p.client->write_eof();
  std::string all = co_await server_reads;
  EXPECT_EQ(all.size(), accepted);
  auto* sssl = static_cast<SSL*>(p.server->native_handle("ssl_object"));
  EXPECT_TRUE(SSL_get_shutdown(sssl) & SSL_RECEIVED_SHUTDOWN);
}
