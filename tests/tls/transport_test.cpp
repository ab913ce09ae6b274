// SPDX-License-Identifier: MIT
// The TLS transport after the handshake: bulk data both ways at once,
// close_notify and half-close, renegotiation, corrupt records, close.
#include <openssl/ssl.h>
#include <sys/socket.h>

#include "tls_test_util.hpp"

using namespace std::chrono_literals;
using namespace tls_test;
namespace tls = aio::tls;

namespace {

// Bytes whose position is recoverable from their value: a lost, repeated or
// reordered chunk shows up in a comparison.
std::string pattern(std::size_t n, unsigned salt) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + salt + (i >> 12)) & 0xff);
  return s;
}

aio::tls::context server_tls12() {
  auto s = server_context();
  s.set_maximum_version(tls::version::tls1_2);
  return s;
}

aio::task<std::string> read_n(aio::transport& t, std::size_t n) {
  co_return co_await read_exactly(t, n);
}

aio::task<> send(aio::transport& t, const std::string& s) { co_await write_all(t, s); }

// Cancels `h` and waits until it has finished.
aio::task<> stop(aio::task_handle<> h) {
  h.cancel();
  try {
    co_await h;
  } catch (const aio::cancelled_error&) {
  }
}

// Copies bytes from socket `from` to socket `to` until end of stream.
aio::task<> relay(int from, int to) {
  std::byte buf[16384];
  for (;;) {
    std::size_t n = co_await aio::sock_recv_into(from, buf);
    if (n == 0) co_return;
    co_await aio::sock_sendall(to, std::span<const std::byte>(buf, n));
  }
}

// Sends `size` bytes and reads as many back at the same time, on both ends.
// A failure closes both ends, so that no task is left waiting.
aio::task<> exchange_both_ways(tls_pair& p, std::size_t size) {
  std::string up = pattern(size, 1), down = pattern(size, 2);
  auto w1 = aio::create_task(send(*p.client, up));
  auto w2 = aio::create_task(send(*p.server, down));
  auto r1 = aio::create_task(read_n(*p.server, size));
  auto r2 = aio::create_task(read_n(*p.client, size));
  std::string errors;
  auto failed = [&](const std::exception_ptr& e) {
    errors += message(e) + "; ";
    p.client->close();
    p.server->close();
  };
  for (auto* w : {&w1, &w2}) {
    try {
      co_await *w;
    } catch (const std::exception&) {
      failed(std::current_exception());
    }
  }
  std::string got_up, got_down;
  try {
    got_up = co_await r1;
    got_down = co_await r2;
  } catch (const std::exception&) {
    failed(std::current_exception());
  }
  EXPECT_EQ(errors, "");
  EXPECT_TRUE(got_up == up);
  EXPECT_TRUE(got_down == down);
}

}  // namespace

AIO_TEST_SUITE(tls_transport);

AIO_TEST(tls_transport, megabytes_both_ways_at_once_tls13) {
  auto p = co_await connect_pair(client_context(), server_context());
  co_await exchange_both_ways(p, 6 << 20);
}

AIO_TEST(tls_transport, megabytes_both_ways_at_once_tls12) {
  auto p = co_await connect_pair(client_context(), server_tls12());
  co_await exchange_both_ways(p, 3 << 20);
}

AIO_TEST(tls_transport, a_write_takes_at_least_a_byte_and_reads_fill_large_buffers) {
  auto p = co_await connect_pair(client_context(), server_context());
  std::string big = pattern(1 << 20, 3);
  std::size_t n = co_await p.client->write_some(bytes(big));
  EXPECT_GT(n, 0u);
  EXPECT_LE(n, big.size());
  std::string rest = big.substr(n);
  auto w = aio::create_task(send(*p.client, rest));
  std::string got = co_await read_exactly(*p.server, big.size());
  co_await w;
  EXPECT_TRUE(got == big);
  EXPECT_EQ(co_await p.client->write_some({}), 0u);
}

AIO_TEST(tls_transport, write_eof_sends_close_notify_and_reading_goes_on) {
  auto p = co_await connect_pair(client_context(), server_context());
  co_await write_all(*p.client, "request");
  co_await p.client->write_eof();
  EXPECT_EQ(co_await read_all(*p.server), "request");  // close_notify: end of stream
  auto* ssl = static_cast<SSL*>(p.server->native_handle("ssl_object"));
  EXPECT_TRUE(SSL_get_shutdown(ssl) &
              SSL_RECEIVED_SHUTDOWN);  // a real close_notify, not a bare FIN
  // TLS 1.3 half-close: the other direction still works.
  co_await write_all(*p.server, "response");
  co_await p.server->write_eof();
  EXPECT_EQ(co_await read_all(*p.client), "response");
  EXPECT_THROW(co_await p.client->write_some(bytes("late")), std::system_error);
  co_await p.client->write_eof();  // twice: nothing happens
}

AIO_TEST(tls_transport, end_of_stream_repeats) {
  auto p = co_await connect_pair(client_context(), server_context());
  co_await p.server->write_eof();
  std::byte buf[8];
  EXPECT_EQ(co_await p.client->read_some(buf), 0u);
  EXPECT_EQ(co_await p.client->read_some(buf), 0u);
}

AIO_TEST(tls_transport, tls12_close_notify_ends_the_stream) {
  auto p = co_await connect_pair(client_context(), server_tls12());
  co_await write_all(*p.server, "bye");
  co_await p.server->write_eof();
  EXPECT_EQ(co_await read_all(*p.client), "bye");
}

AIO_TEST(tls_transport, ragged_end_of_stream_reads_as_end_of_stream) {
  auto p = co_await connect_pair(client_context(), server_context());
  co_await write_all(*p.server, "data");
  ::shutdown(p.server->fd(), SHUT_WR);  // a FIN without close_notify
  EXPECT_EQ(co_await read_all(*p.client), "data");
}

AIO_TEST(tls_transport, close_sends_close_notify) {
  auto p = co_await connect_pair(client_context(), server_context());
  co_await write_all(*p.server, "last words");
  p.server->close();
  EXPECT_TRUE(p.server->is_closing());
  EXPECT_EQ(p.server->fd(), -1);
  p.server->close();  // idempotent
  EXPECT_EQ(co_await read_all(*p.client), "last words");
  auto* ssl = static_cast<SSL*>(p.client->native_handle("ssl_object"));
  EXPECT_TRUE(SSL_get_shutdown(ssl) & SSL_RECEIVED_SHUTDOWN);
  std::byte buf[4];
  EXPECT_EQ(co_await p.server->read_some(buf), 0u);
  EXPECT_THROW(co_await p.server->write_some(bytes("x")), std::system_error);
}

AIO_TEST(tls_transport, close_wakes_a_pending_read) {
  auto p = co_await connect_pair(client_context(), server_context());
  auto reader = aio::create_task(read_all(*p.client));
  co_await aio::sleep(2ms);
  EXPECT_FALSE(reader.done());
  p.client->close();
  EXPECT_EQ(co_await reader, "");
}

AIO_TEST(tls_transport, close_fails_a_write_blocked_on_a_full_socket) {
  auto p = co_await connect_pair(client_context(), server_context());
  std::string big = pattern(8 << 20, 4);
  auto writer = aio::create_task(send(*p.client, big));  // nobody reads
  co_await aio::sleep(5ms);
  CO_ASSERT_TRUE(!writer.done());
  p.client->close();
  try {
    co_await writer;
    ADD_FAILURE() << "write finished";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::broken_pipe);
  }
}

AIO_TEST(tls_transport, cancelled_read_loses_nothing) {
  auto p = co_await connect_pair(client_context(), server_context());
  std::byte buf[64];
  auto reader =
      aio::create_task([](aio::transport& t, std::span<std::byte> b) -> aio::task<std::size_t> {
        co_return co_await t.read_some(b);
      }(*p.client, buf));
  co_await aio::sleep(2ms);
  reader.cancel();
  EXPECT_THROW(co_await reader, aio::cancelled_error);
  co_await write_all(*p.server, "kept");
  EXPECT_EQ(co_await read_exactly(*p.client, 4), "kept");
}

AIO_TEST(tls_transport, cancelled_read_holding_half_a_record_keeps_it) {
  // client <-> c.b | this test | s.a <-> server: the test decides what
  // ciphertext the client sees.
  aio::test::socket_pair c, s;
  auto up = aio::create_task(relay(c.b, s.a));
  auto down = aio::create_task(relay(s.a, c.b));
  tls_pair p;
  auto st = aio::create_task(
      into(server_context().wrap_server(aio::make_fd_transport(take(s.b)), ""), p.server));
  p.client = co_await client_context().wrap_client(aio::make_fd_transport(take(c.a)), "localhost");
  co_await st;
  co_await write_all(*p.server, "warm-up");
  EXPECT_EQ(co_await read_exactly(*p.client, 7), "warm-up");  // the tickets are through too
  co_await stop(down);

  co_await write_all(*p.server, "second half");
  std::string record;
  while (record.size() < 5 + 11 + 17) {  // header, data, content type and tag
    char buf[256];
    ssize_t n = ::recv(s.a, buf, sizeof buf, 0);
    if (n > 0)
      record.append(buf, static_cast<std::size_t>(n));
    else
      co_await aio::sleep(1ms);
  }
  ::send(c.b, record.data(), record.size() / 2, 0);
  auto reader = aio::create_task(read_n(*p.client, 11));
  co_await aio::sleep(2ms);  // it took the first half and waits for the rest
  EXPECT_FALSE(reader.done());
  reader.cancel();
  EXPECT_THROW(co_await reader, aio::cancelled_error);
  ::send(c.b, record.data() + record.size() / 2, record.size() - record.size() / 2, 0);
  EXPECT_EQ(co_await read_exactly(*p.client, 11), "second half");
  co_await stop(up);
}

AIO_TEST(tls_transport, cancelled_writer_sent_exactly_what_it_reported) {
  auto p = co_await connect_pair(client_context(), server_context());
  std::size_t reported = 0;
  std::string chunk = pattern(256 * 1024, 5);
  auto writer = aio::create_task(
      [](aio::transport& t, const std::string& c, std::size_t& sent) -> aio::task<> {
        for (;;) sent += co_await t.write_some(bytes(c).subspan(sent % c.size()));
      }(*p.client, chunk, reported));
  co_await aio::sleep(5ms);  // the socket is full: the writer is blocked
  writer.cancel();
  EXPECT_THROW(co_await writer, aio::cancelled_error);
  CO_ASSERT_TRUE(reported > 0);
  auto reader = aio::create_task(read_all(*p.server));
  co_await p.client->write_eof();  // sends what was accepted, then close_notify
  std::string got = co_await reader;
  CO_ASSERT_EQ(got.size(), reported);
  std::string expect;
  while (expect.size() < reported) expect += chunk;
  expect.resize(reported);
  EXPECT_TRUE(got == expect);
}

AIO_TEST(tls_transport, corrupt_record_is_a_protocol_error) {
  auto p = co_await connect_pair(client_context(), server_context());
  co_await write_all(*p.server, "fine");
  CO_ASSERT_EQ(co_await read_exactly(*p.client, 4), "fine");
  // An application-data record of garbage, written past the TLS layer.
  std::string fake = std::string("\x17\x03\x03\x00\x20", 5) + std::string(32, '\x55');
  ::send(p.server->fd(), fake.data(), fake.size(), 0);
  std::byte buf[16];
  try {
    co_await p.client->read_some(buf);
    ADD_FAILURE() << "read succeeded";
  } catch (const tls::error& e) {
    EXPECT_EQ(e.code(), tls::errc::protocol_error);
    EXPECT_EQ(std::string(e.what()).rfind("TLS read from localhost failed: ", 0), 0u) << e.what();
  }
  EXPECT_THROW(co_await p.client->read_some(buf), tls::error);
  EXPECT_THROW(co_await p.client->write_some(bytes("no")), tls::error);
  // The client's alert reaches the server as an error too.
  EXPECT_THROW(co_await read_all(*p.server), tls::error);
}

AIO_TEST(tls_transport, renegotiation_driven_by_a_writer_tls12) {
  auto p = co_await connect_pair(client_context(), server_tls12());
  auto* sssl = static_cast<SSL*>(p.server->native_handle("ssl_object"));
  CO_ASSERT_EQ(SSL_renegotiate(sssl), 1);
  co_await write_all(*p.server, "x");  // a HelloRequest, then "x"
  // Reading it, the client answers with a ClientHello: a read that writes.
  EXPECT_EQ(co_await read_exactly(*p.client, 1), "x");
  // Its next write must first read the server's answer (a write that
  // reads), which the server's reader produces.
  auto server_reads = aio::create_task(read_n(*p.server, 1));
  co_await write_all(*p.client, "y");
  EXPECT_EQ(co_await server_reads, "y");
  EXPECT_EQ(SSL_renegotiate_pending(sssl), 0);
  EXPECT_GE(SSL_num_renegotiations(sssl), 1);
}

AIO_TEST(tls_transport, renegotiation_in_the_middle_of_bulk_both_ways_tls12) {
  auto p = co_await connect_pair(client_context(), server_tls12());
  auto* sssl = static_cast<SSL*>(p.server->native_handle("ssl_object"));
  CO_ASSERT_EQ(SSL_renegotiate(sssl), 1);
  // Application data keeps arriving while either side's writer drives the
  // handshake: what it reads meanwhile must reach the reader, in order.
  co_await exchange_both_ways(p, 2 << 20);
  EXPECT_EQ(SSL_renegotiate_pending(sssl), 0);
  EXPECT_GE(SSL_num_renegotiations(sssl), 1);
}

AIO_TEST(tls_transport, key_update_is_answered_by_a_reader_tls13) {
  auto p = co_await connect_pair(client_context(), server_context());
  auto* sssl = static_cast<SSL*>(p.server->native_handle("ssl_object"));
  CO_ASSERT_EQ(SSL_key_update(sssl, SSL_KEY_UPDATE_REQUESTED), 1);
  co_await write_all(*p.server, "rekeyed");                   // carries the KeyUpdate first
  EXPECT_EQ(co_await read_exactly(*p.client, 7), "rekeyed");  // the client answers with its own
  co_await write_all(*p.client, "ack");
  EXPECT_EQ(co_await read_exactly(*p.server, 3), "ack");
  co_await exchange_both_ways(p, 1 << 20);
}
