// SPDX-License-Identifier: MIT
// TLS under the streams API: start_server and open_connection with a
// context, STARTTLS with start_tls (the handshake's first bytes already in
// the reader's buffer), bulk and sendfile through TLS streams, close, and
// Python's asyncio with ssl as the server.
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/ssl.h>

#include <cstdio>

#include "aio/net/open_connection.hpp"
#include "aio/net/start_server.hpp"
#include "aio/net/start_tls.hpp"
#include "tls_test_util.hpp"

using namespace std::chrono_literals;
using namespace tls_test;
namespace tls = aio::tls;

namespace {

unsigned short port_of(const aio::server& srv) {
  aio::sock_address a = srv.sockets().at(0);
  return ntohs(reinterpret_cast<const sockaddr_in*>(&a.storage)->sin_port);
}

aio::connect_options tls_options() {
  aio::connect_options o;
  o.ssl = client_context();
  o.server_hostname = "localhost";
  return o;
}

// Echoes lines until end of stream, then closes.
aio::task<> line_echo(aio::stream_reader r, aio::stream_writer w) {
  for (;;) {
    std::string line = co_await r.readline();
    if (line.empty()) break;
    co_await w.write(line);
  }
  w.close();
  co_await w.wait_closed();
}

// Echoes everything in 64 KiB pieces until end of stream.
aio::task<> bulk_echo(aio::stream_reader r, aio::stream_writer w) {
  for (;;) {
    std::string chunk = co_await r.read(64 * 1024);
    if (chunk.empty()) break;
    co_await w.write(chunk);
  }
  w.close();
  co_await w.wait_closed();
}

aio::task<std::string> read_rest(aio::stream_reader& r) { co_return co_await r.read(); }

aio::task<aio::server> tls_server(aio::task<> (*handler)(aio::stream_reader, aio::stream_writer)) {
  aio::server_options so;
  so.ssl = server_context();
  co_return co_await aio::start_server(handler, "127.0.0.1", 0, so);
}

aio::task<std::string> one_line_exchange(unsigned short port, int i) {
  auto [r, w] = co_await aio::open_connection("127.0.0.1", port, tls_options());
  std::string line = "client " + std::to_string(i) + "\n";
  co_await w.write(line);
  std::string back = co_await r.readline();
  w.close();
  co_await w.wait_closed();
  co_return back == line ? "" : "client " + std::to_string(i) + " got '" + back + "'";
}

// The server half of STARTTLS: the client starts its handshake without
// waiting for an answer, so its first TLS bytes arrive with the command.
aio::task<> starttls_server(aio::stream_reader r, aio::stream_writer w) {
  co_await aio::sleep(5ms);  // let the ClientHello land in the reader's buffer too
  std::string cmd = co_await r.readline();
  if (cmd != "STARTTLS\n") throw std::runtime_error("unexpected " + cmd);
  co_await aio::start_tls(r, w, server_context(), {}, true);
  std::string secret = co_await r.readline();
  secret.pop_back();
  co_await w.write("got " + secret + " over " + w.get_extra_info("version").value_or("?") + "\n");
  w.close();
  co_await w.wait_closed();
}

}  // namespace

AIO_TEST_SUITE(tls_streams);

AIO_TEST(tls_streams, many_clients_of_a_tls_server) {
  auto srv = co_await tls_server(&line_echo);
  std::vector<aio::task_handle<std::string>> clients;
  for (int i = 0; i < 40; ++i)
    clients.push_back(aio::create_task(one_line_exchange(port_of(srv), i)));
  for (auto& c : clients) EXPECT_EQ(co_await c, "");
  srv.close();
  co_await srv.wait_closed();
}

AIO_TEST(tls_streams, extra_info_through_the_writer) {
  auto srv = co_await tls_server(&line_echo);
  auto [r, w] = co_await aio::open_connection("127.0.0.1", port_of(srv), tls_options());
  EXPECT_EQ(w.get_extra_info("version"), "TLSv1.3");
  EXPECT_EQ(w.get_extra_info("server_hostname"), "localhost");
  EXPECT_EQ(w.get_extra_info("peercert"), certs().server_cert_pem);
  EXPECT_TRUE(w.get_extra_info("peername").has_value());
  EXPECT_NE(w.native_handle("ssl_object"), nullptr);
  EXPECT_TRUE(w.can_write_eof());
  w.close();
  co_await w.wait_closed();
  srv.close();
  co_await srv.wait_closed();
}

// TLS 1.2 cannot half-close (close_notify ends both directions): write_eof
// refuses, as asyncio's does, and the stream stays usable.
AIO_TEST(tls_streams, write_eof_over_tls12_is_refused) {
  auto client = client_context();
  client.set_maximum_version(tls::version::tls1_2);
  aio::connect_options o = tls_options();
  o.ssl = client;
  auto srv = co_await tls_server(&line_echo);
  auto [r, w] = co_await aio::open_connection("127.0.0.1", port_of(srv), o);
  EXPECT_EQ(w.get_extra_info("version"), "TLSv1.2");
  EXPECT_FALSE(w.can_write_eof());
  EXPECT_THROW(w.write_eof(), aio::invalid_state_error);
  co_await w.write("still open\n");
  EXPECT_EQ(co_await r.readline(), "still open\n");
  w.close();
  co_await w.wait_closed();
  srv.close();
  co_await srv.wait_closed();
}

AIO_TEST(tls_streams, megabytes_echoed_with_half_close) {
  auto srv = co_await tls_server(&bulk_echo);
  auto [r, w] = co_await aio::open_connection("127.0.0.1", port_of(srv), tls_options());
  std::string data(5 << 20, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7 + (i >> 16));
  auto reader = aio::create_task(read_rest(r));
  co_await w.write(data);
  w.write_eof();  // close_notify once the buffer is out: the server's read ends
  std::string back = co_await reader;
  EXPECT_EQ(back.size(), data.size());
  EXPECT_TRUE(back == data);
  w.close();
  co_await w.wait_closed();
  srv.close();
  co_await srv.wait_closed();
}

AIO_TEST(tls_streams, sendfile_goes_through_tls) {
  auto srv = co_await tls_server(&bulk_echo);
  std::string path = certs().dir + "/sendfile.bin";
  std::string data(300000, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i % 251);
  {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    std::fwrite(data.data(), 1, data.size(), f);
    std::fclose(f);
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  CO_ASSERT_TRUE(fd >= 0);
  auto [r, w] = co_await aio::open_connection("127.0.0.1", port_of(srv), tls_options());
  auto reader = aio::create_task(read_rest(r));
  std::size_t sent = co_await w.sendfile(fd, 1000, 200000);
  ::close(fd);
  EXPECT_EQ(sent, 200000u);
  w.write_eof();
  std::string back = co_await reader;
  EXPECT_TRUE(back == data.substr(1000, 200000));
  w.close();
  co_await w.wait_closed();
  srv.close();
  co_await srv.wait_closed();
}

AIO_TEST(tls_streams, closing_the_writer_sends_close_notify) {
  aio::test::socket_pair sp;
  tls_pair p;
  auto st = aio::create_task(
      into(server_context().wrap_server(aio::make_fd_transport(take(sp.b)), ""), p.server));
  p.client = co_await client_context().wrap_client(aio::make_fd_transport(take(sp.a)), "localhost");
  co_await st;
  auto* server_ssl = static_cast<SSL*>(p.server->native_handle("ssl_object"));
  auto [r, w] = aio::make_streams(std::move(p.client));
  co_await w.write("goodbye");
  w.close();
  co_await w.wait_closed();
  EXPECT_EQ(co_await read_all(*p.server), "goodbye");
  EXPECT_TRUE(SSL_get_shutdown(server_ssl) & SSL_RECEIVED_SHUTDOWN);
}

AIO_TEST(tls_streams, a_failed_handshake_never_reaches_the_handler) {
  static int handled = 0;
  handled = 0;
  aio::server_options so;
  so.ssl = server_context();
  auto srv = co_await aio::start_server(
      [](aio::stream_reader r, aio::stream_writer w) -> aio::task<> {
        ++handled;
        co_await line_echo(std::move(r), std::move(w));
      },
      "127.0.0.1", 0, so);
  aio::connect_options o = tls_options();
  o.server_hostname = "example.com";
  try {
    co_await aio::open_connection("127.0.0.1", port_of(srv), o);
    ADD_FAILURE() << "connected";
  } catch (const tls::error& e) {
    EXPECT_EQ(
        std::string(e.what()),
        "TLS handshake with example.com failed: certificate verify failed: hostname mismatch");
  }
  EXPECT_EQ(co_await one_line_exchange(port_of(srv), 1), "");  // the server goes on
  EXPECT_EQ(handled, 1);
  srv.close();
  co_await srv.wait_closed();
}

AIO_TEST(tls_streams, starttls_with_the_handshake_already_in_the_buffer) {
  auto srv = co_await aio::start_server(&starttls_server, "127.0.0.1", 0);
  auto [r, w] = co_await aio::open_connection("127.0.0.1", port_of(srv));
  co_await w.write("STARTTLS\n");
  co_await aio::start_tls(r, w, client_context(), "localhost");
  EXPECT_EQ(w.get_extra_info("version"), "TLSv1.3");
  co_await w.write("secret\n");
  EXPECT_EQ(co_await r.readline(), "got secret over TLSv1.3\n");
  EXPECT_EQ(co_await r.read(), "");
  w.close();
  co_await w.wait_closed();
  srv.close();
  co_await srv.wait_closed();
}

AIO_TEST(tls_streams, python_asyncio_tls_server_with_alpn) {
  const char* script = R"(
import asyncio, ssl, sys
async def handle(r, w):
    line = await r.readline()
    proto = w.get_extra_info('ssl_object').selected_alpn_protocol()
    w.write(line.upper().rstrip(b'\n') + b' ' + proto.encode() + b'\n')
    await w.drain()
    w.close()
async def main(cert, key):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(['h2', 'http/1.1'])
    srv = await asyncio.start_server(handle, '127.0.0.1', 0, ssl=ctx)
    print(srv.sockets[0].getsockname()[1], flush=True)
    async with srv:
        await srv.serve_forever()
asyncio.run(main(sys.argv[1], sys.argv[2]))
)";
  aio::test::child_process py(
      {"/usr/bin/python3", "-c", script, certs().server_cert, certs().server_key});
  std::string port_line = py.read_line();
  CO_ASSERT_TRUE(!port_line.empty());
  auto ctx = client_context();
  ctx.set_alpn_protocols({"http/1.1"});
  aio::connect_options o;
  o.ssl = ctx;
  o.server_hostname = "localhost";
  auto [r, w] = co_await aio::open_connection("127.0.0.1",
                                              static_cast<unsigned short>(std::stoi(port_line)), o);
  EXPECT_EQ(w.get_extra_info("alpn_protocol"), "http/1.1");
  co_await w.write("hello python\n");
  EXPECT_EQ(co_await r.readline(), "HELLO PYTHON http/1.1\n");
  EXPECT_EQ(co_await r.read(), "");
  w.close();
  co_await w.wait_closed();
}
