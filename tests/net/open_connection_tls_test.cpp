// SPDX-License-Identifier: MIT
// open_connection and start_server over real TLS (aio::tls::context, the
// test CA's certificate for localhost / 127.0.0.1 / ::1): against each
// other, against Python's asyncio with ssl, and against socat's OpenSSL server.
#include <string>

#include "aio_test.hpp"
#include "server_test_util.hpp"
#include "tls_certs.hpp"

using namespace std::chrono_literals;

namespace {

const aio::test::tls_certs& certs() { return aio::test::test_certs(); }

std::shared_ptr<const aio::secure_layer> server_tls() {
  return aio::tls::context::server(certs().server_cert,
                                   certs().server_key);  // a context is a secure_layer
}

std::shared_ptr<const aio::secure_layer> client_tls() {
  auto c = aio::tls::context::client();
  c.load_verify_locations({.cafile = certs().ca_file});
  return c;
}

aio::task<> echo_lines(aio::stream_reader r, aio::stream_writer w) {
  for (;;) {
    std::string line = co_await r.readline();
    if (line.empty()) break;
    co_await w.write(line);
  }
}

aio::task<aio::server> tls_server() {
  aio::server_options so;
  so.ssl = server_tls();
  co_return co_await aio::start_server(echo_lines, "127.0.0.1", 0, so);
}

unsigned short port(const aio::server& s) { return s.sockets().at(0).port(); }

aio::task<std::string> first_line(aio::test::child_process& p) {
  aio::stream_reader out = aio::connect_read_pipe(std::exchange(p.out, -1));
  co_return co_await aio::wait_for(out.readline(), 30s);
}

}  // namespace

AIO_TEST_SUITE(open_connection_tls);

AIO_TEST(open_connection_tls, verifies_the_host_it_connects_to) {
  auto srv = co_await tls_server();
  aio::connect_options o;
  o.ssl = client_tls();
  // The name TLS checks is the host argument: the certificate names 127.0.0.1 and localhost.
  for (const char* host : {"127.0.0.1", "localhost"}) {
    auto [r, w] = co_await aio::open_connection(host, port(srv), o);
    EXPECT_TRUE(w.get_extra_info("version").has_value()) << host;
    co_await w.write(std::string("over tls to ") + host + "\n");
    EXPECT_EQ(co_await r.readline(), std::string("over tls to ") + host + "\n");
  }
}

AIO_TEST(open_connection_tls, a_wrong_server_hostname_fails_and_the_server_goes_on) {
  auto srv = co_await tls_server();
  int before = aio::test::count_open_fds();
  aio::connect_options o;
  o.ssl = client_tls();
  o.server_hostname = "wrong.example";
  try {
    co_await aio::open_connection("127.0.0.1", port(srv), o);
    ADD_FAILURE() << "verified a certificate for the wrong name";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("wrong.example"), std::string::npos) << e.what();
  }
  while (srv.active_connections() > 0) co_await aio::sleep(1ms);  // the server side gave up too
  EXPECT_EQ(aio::test::count_open_fds(), before);
  o.server_hostname = "localhost";
  auto [r, w] = co_await aio::open_connection("127.0.0.1", port(srv), o);
  co_await w.write("after a failure\n");
  EXPECT_EQ(co_await r.readline(), "after a failure\n");
}

AIO_TEST(open_connection_tls, python_asyncio_tls_client_talks_to_our_server) {
  auto srv = co_await tls_server();
  const char* script = R"(
import asyncio, ssl, sys
async def main(port, cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    r, w = await asyncio.open_connection('127.0.0.1', port, ssl=ctx, server_hostname='localhost')
    w.write(b'python over tls\n')
    await w.drain()
    print((await r.readline()).decode().strip(), w.get_extra_info('ssl_object').version(), flush=True)
    w.close()
    try:
        await w.wait_closed()
    except (ConnectionError, ssl.SSLError):
        pass
asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
)";
  aio::test::child_process py(
      {"/usr/bin/python3", "-c", script, std::to_string(port(srv)), certs().ca_file});
  std::string line = co_await first_line(py);
  EXPECT_TRUE(line.starts_with("python over tls TLSv1.")) << line;
}

AIO_TEST(open_connection_tls, our_client_talks_to_socat_openssl_listen) {
  unsigned short free_port;
  {
    aio::test::test_port probe(aio::test::test_port::refusing, "127.0.0.1");
    free_port = probe.port();
  }  // released for socat
  // socat's OpenSSL server echoing what it receives.
  aio::test::child_process socat({"/usr/bin/socat",
                                  "OPENSSL-LISTEN:" + std::to_string(free_port) +
                                      ",bind=127.0.0.1,cert=" + certs().server_cert +
                                      ",key=" + certs().server_key + ",verify=0",
                                  "PIPE"});
  aio::connect_options o;
  o.ssl = client_tls();
  o.server_hostname = "localhost";
  for (int attempt = 0;; ++attempt) {  // socat needs a moment to listen
    try {
      auto [r, w] = co_await aio::open_connection("127.0.0.1", free_port, o);
      co_await w.write("hello socat\n");
      EXPECT_EQ(co_await aio::wait_for(r.readline(), 30s), "hello socat\n");
      EXPECT_TRUE(w.get_extra_info("version").value_or("").starts_with("TLSv1."));
      break;
    } catch (const std::system_error& e) {
      if (e.code().value() != ECONNREFUSED || attempt > 250) throw;
    }
    co_await aio::sleep(20ms);
  }
}
