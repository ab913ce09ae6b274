// SPDX-License-Identifier: MIT
// start_tls's plumbing with a test-only layer (stream_test_layers.hpp): the
// flush before, the leftover bytes, the swap, failures and cancellation.
// Real TLS over it is the TLS module's test.
#include <fcntl.h>

#include "stream_test_layers.hpp"
#include "stream_test_util.hpp"

using namespace std::chrono_literals;

AIO_TEST_SUITE(start_tls);

namespace {

// The server side of a STARTTLS exchange: reads the command only once the
// client's handshake bytes were sent too (`sent`), so they sit in the
// reader's buffer.
aio::task<std::string> starttls_server(stream_test::streams& s, const stream_test::xor_layer& layer,
                                       aio::event& sent) {
  co_await sent.wait();
  std::string cmd = co_await s.first.readline();
  if (cmd != "STARTTLS\n") throw std::runtime_error("unexpected " + cmd);
  co_await aio::start_tls(s.first, s.second, layer, {}, true);
  std::string secret = co_await s.first.readline();
  co_await s.second.write("got " + secret);
  co_return secret;
}

aio::task<> read_line(aio::stream_reader& r) { co_await r.readline(); }
aio::task<> write_once(aio::stream_writer& w, std::string data) { co_await w.write(data); }

}  // namespace

AIO_TEST(start_tls, upgrade_hands_over_leftover_bytes_and_swaps_the_transport) {
  auto [c, s] = stream_test::unix_pair();
  stream_test::xor_layer client_layer, server_layer;
  aio::event sent;
  auto server = aio::create_task(starttls_server(s, server_layer, sent));
  co_await c.second.write("STARTTLS\n");
  co_await aio::start_tls(c.first, c.second, client_layer, "mail.example.org");
  sent.set();  // the client's hello went out right after the command
  EXPECT_EQ(client_layer.wraps, 1);
  EXPECT_EQ(c.second.get_extra_info("cipher"), "xor");
  EXPECT_NE(c.second.native_handle("ssl_object"), nullptr);
  co_await c.second.write("secret\n");
  EXPECT_EQ(co_await c.first.readline(), "got secret\n");
  EXPECT_EQ(co_await server, "secret\n");
  // The client's handshake line was already in the server's buffer.
  std::string expect = "HS:mail.example.org\n";
  for (auto& ch : expect) ch = static_cast<char>(ch ^ 0x5a);
  EXPECT_EQ(server_layer.last_leftover.substr(0, expect.size()), expect);
  EXPECT_EQ(client_layer.last_leftover, "");
}

AIO_TEST(start_tls, buffered_writes_go_first_in_clear_and_later_ones_encrypted) {
  auto [fc, fs] = co_await stream_test::tcp_fds();
  stream_test::small_buffers(fc);
  stream_test::small_buffers(fs);
  auto c = aio::make_streams(aio::make_fd_transport(fc));
  auto s = aio::make_streams(aio::make_fd_transport(fs));
  std::string clear = stream_test::pattern(1 << 20) + "\n";
  co_await c.second.write(clear);
  CO_ASSERT_TRUE(c.second.buffer_size() > 0);  // start_tls must flush these first
  stream_test::xor_layer layer;
  auto upgrade = aio::create_task(aio::start_tls(c.first, c.second, layer, "h"));
  co_await aio::sleep(1ms);
  EXPECT_FALSE(upgrade.done());
  auto during =
      aio::create_task(write_once(c.second, "during\n"));  // issued meanwhile: waits for the swap
  co_await aio::sleep(1ms);
  EXPECT_TRUE(co_await s.first.readexactly(clear.size()) == clear);
  co_await aio::start_tls(s.first, s.second, layer, {}, true);
  co_await upgrade;
  co_await during;
  EXPECT_EQ(co_await s.first.readline(), "during\n");  // decoded: it went out encrypted
}

AIO_TEST(start_tls, refused_while_a_read_waits_or_after_close_or_across_connections) {
  auto [c, s] = stream_test::unix_pair();
  stream_test::xor_layer layer;
  auto pending = aio::create_task(read_line(c.first));
  co_await aio::sleep(1ms);
  EXPECT_THROW(co_await aio::start_tls(c.first, c.second, layer), aio::invalid_state_error);
  EXPECT_THROW(co_await aio::start_tls(c.first, s.second, layer), std::invalid_argument);
  co_await s.second.write("x\n");
  co_await pending;
  c.second.close();
  EXPECT_THROW(co_await aio::start_tls(c.first, c.second, layer), aio::invalid_state_error);
  EXPECT_EQ(layer.wraps, 0);
}

AIO_TEST(start_tls, a_failed_handshake_fails_the_stream) {
  auto [c, s] = stream_test::unix_pair();
  stream_test::xor_layer layer;
  co_await c.second.write("garbage!\n");
  EXPECT_THROW(co_await aio::start_tls(s.first, s.second, layer, {}, true), std::runtime_error);
  EXPECT_TRUE(s.second.is_closing());
  EXPECT_THROW(co_await s.second.write("x"), std::runtime_error);
  EXPECT_THROW(co_await s.first.read(1), std::runtime_error);
  // The peer sees the connection gone (reset: the garbage was not all read).
  EXPECT_THROW(co_await c.first.read(), std::system_error);
}

AIO_TEST(start_tls, a_cancelled_handshake_closes_the_connection) {
  aio::test::socket_pair sp;
  int fd = sp.a;
  auto s = aio::make_streams(aio::make_fd_transport(std::exchange(sp.a, -1)));
  stream_test::xor_layer layer;
  auto hs = aio::create_task(aio::start_tls(s.first, s.second, layer, {}, true));
  co_await aio::sleep(1ms);
  EXPECT_FALSE(hs.done());  // the server waits for the client's hello
  hs.cancel();
  EXPECT_THROW(co_await hs, aio::cancelled_error);
  EXPECT_EQ(::fcntl(fd, F_GETFD), -1);  // the layer dropped the connection
  int err = 0;
  try {
    co_await s.second.write("x");
  } catch (const std::system_error& e) {
    err = e.code().value();
  }
  EXPECT_EQ(err, ECANCELED);
  EXPECT_THROW(co_await s.second.wait_closed(), std::system_error);  // closed, with that error
}
