// SPDX-License-Identifier: MIT
// start_server and open_connection with streams, against themselves and
// against programs nobody here wrote: Python's asyncio streams (Debian's
// /usr/bin/python3) as client and as server, and netcat. IPv4, IPv6 and
// the listening variants (several addresses, every interface).
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <string>

#include "../../src/net/plain_transport.hpp"
#include "aio_test.hpp"
#include "server_test_util.hpp"

using namespace std::chrono_literals;

namespace {

// Answers each line upper-cased until end of stream.
aio::task<> shout(aio::stream_reader r, aio::stream_writer w) {
  for (;;) {
    std::string line = co_await r.readline();
    if (line.empty()) break;
    std::transform(line.begin(), line.end(), line.begin(),
                   [](unsigned char c) { return std::toupper(c); });
    co_await w.write(line);
  }
  w.close();
  co_await w.wait_closed();
}

unsigned short port(const aio::server& s) { return s.sockets().at(0).port(); }

// A program's first line of output, read on the loop (the program talks to
// a server on this same loop, so a blocking read would deadlock).
aio::task<std::string> first_line(aio::test::child_process& p) {
  aio::stream_reader out = aio::connect_read_pipe(std::exchange(p.out, -1));
  std::string line = co_await aio::wait_for(out.readline(), 30s);
  if (!line.empty() && line.back() == '\n') line.pop_back();
  co_return line;
}

const char* python = "/usr/bin/python3";

// An asyncio client: three lines, then half-close, then everything to EOF.
const char* python_client = R"(
import asyncio, sys
async def main(host, port):
    r, w = await asyncio.open_connection(host, int(port))
    got = []
    for i in range(3):
        w.write(f'line {i}\n'.encode())
        await w.drain()
        got.append((await r.readline()).decode().strip())
    w.write_eof()
    rest = await r.read()
    w.close()
    await w.wait_closed()
    print('|'.join(got), 'eof' if rest == b'' else repr(rest), flush=True)
asyncio.run(main(sys.argv[1], sys.argv[2]))
)";

// An asyncio server: prints its port, answers "py:" + each line.
const char* python_server = R"(
import asyncio
async def handle(r, w):
    while line := await r.readline():
        w.write(b'py:' + line)
        await w.drain()
    w.close()
async def main():
    srv = await asyncio.start_server(handle, '127.0.0.1', 0)
    print(srv.sockets[0].getsockname()[1], flush=True)
    await srv.serve_forever()
asyncio.run(main())
)";

}  // namespace

AIO_TEST_SUITE(server_peers);

AIO_TEST(server_peers, streams_echo_against_itself) {
  std::string handler_peer;
  auto srv = co_await aio::start_server(
      [&](aio::stream_reader r, aio::stream_writer w) -> aio::task<> {
        handler_peer = w.get_extra_info("peername").value_or("");
        co_await shout(std::move(r), std::move(w));
      },
      "127.0.0.1", 0);
  auto [r, w] = co_await aio::open_connection("127.0.0.1", port(srv));
  co_await w.write("hello\n");
  EXPECT_EQ(co_await r.readline(), "HELLO\n");
  std::string big(60'000, 'a');  // under the 64 KiB readline limit
  big += '\n';
  co_await w.write(big);
  std::string back = co_await r.readline();
  EXPECT_EQ(back.size(), big.size());
  EXPECT_EQ(back.substr(0, 3), "AAA");
  EXPECT_EQ(handler_peer, w.get_extra_info("sockname").value());
  w.write_eof();
  EXPECT_EQ(co_await r.read(), "");  // the handler closed after our end of stream
  srv.close();
  co_await srv.wait_closed();
}

AIO_TEST(server_peers, server_side_streams_keep_the_plain_socket_fast_path) {
  // The streams write straight to the kernel (and sendfile zero-copy) only
  // over a plain transport: the server's tracking must not hide it.
  std::vector<bool> plain;
  auto handler = [&](aio::stream_reader, aio::stream_writer w) -> aio::task<> {
    plain.push_back(aio::detail::as_plain(&w.transport()) != nullptr);
    co_return;
  };
  auto srv = co_await aio::start_server(handler, "127.0.0.1", 0);
  auto [r, w] = co_await aio::open_connection("127.0.0.1", port(srv));
  EXPECT_EQ(co_await r.read(), "");
  aio::server_options so;
  so.ssl =
      std::make_shared<aio::test::fake_tls>();  // returns the plain transport after its handshake
  auto tls_srv = co_await aio::start_server(handler, "127.0.0.1", 0, so);
  aio::connect_options co;
  co.ssl = so.ssl;
  auto [r2, w2] = co_await aio::open_connection("127.0.0.1", port(tls_srv), co);
  EXPECT_EQ(co_await r2.read(), "");
  EXPECT_EQ(plain, (std::vector<bool>{true, true}));
  EXPECT_NE(aio::detail::as_plain(&w.transport()), nullptr);  // the client side too
}

AIO_TEST(server_peers, stream_options_reach_both_sides) {
  aio::server_options so;
  so.streams.limit = 16;
  std::string error;
  auto srv = co_await aio::start_server(
      [&](aio::stream_reader r, aio::stream_writer) -> aio::task<> {
        try {
          co_await r.readline();
        } catch (const aio::limit_overrun_error& e) {
          error = e.what();
        }
      },
      "127.0.0.1", 0, so);
  aio::connect_options co;
  co.streams.limit = 8;
  auto [r, w] = co_await aio::open_connection("127.0.0.1", port(srv), co);
  EXPECT_EQ(r.limit(), 8u);
  co_await w.write(std::string(64, 'x') + "\n");
  EXPECT_EQ(co_await r.read(), "");  // the handler gave up on the long line and closed
  EXPECT_FALSE(error.empty());
}

AIO_TEST(server_peers, python_asyncio_client_talks_to_our_server) {
  auto srv = co_await aio::start_server(shout, "127.0.0.1", 0);
  aio::test::child_process py(
      {python, "-c", python_client, "127.0.0.1", std::to_string(port(srv))});
  EXPECT_EQ(co_await first_line(py), "LINE 0|LINE 1|LINE 2 eof");
}

AIO_TEST(server_peers, our_client_talks_to_a_python_asyncio_server) {
  aio::test::child_process py({python, "-c", python_server});
  std::string p = py.read_line();  // blocking is fine: nothing of ours runs yet
  CO_ASSERT_TRUE(!p.empty());
  auto [r, w] =
      co_await aio::open_connection("127.0.0.1", static_cast<unsigned short>(std::stoi(p)));
  std::array<std::string_view, 2> lines = {"one\n", "two\n"};
  co_await w.writelines(lines);
  EXPECT_EQ(co_await r.readline(), "py:one\n");
  EXPECT_EQ(co_await r.readline(), "py:two\n");
  w.write_eof();
  EXPECT_EQ(co_await r.read(), "");
}

AIO_TEST(server_peers, netcat_talks_to_our_server) {
  auto srv = co_await aio::start_server(shout, "127.0.0.1", 0);
  std::string cmd = "printf 'from nc\\n' | nc -N 127.0.0.1 " + std::to_string(port(srv));
  aio::test::child_process nc({"/bin/sh", "-c", cmd});
  EXPECT_EQ(co_await first_line(nc), "FROM NC");
}

AIO_TEST(server_peers, ipv6_loopback_both_ways) {
  if (!aio::test::has_ipv6_loopback()) {
    std::printf("no IPv6 loopback on this machine: [::1] not tested\n");
    co_return;
  }
  auto srv = co_await aio::start_server(shout, "::1", 0);
  CO_ASSERT_EQ(srv.sockets().size(), 1u);
  EXPECT_EQ(srv.sockets()[0].family(), AF_INET6);
  auto [r, w] = co_await aio::open_connection("::1", port(srv));
  co_await w.write("six\n");
  EXPECT_EQ(co_await r.readline(), "SIX\n");
  aio::test::child_process py({python, "-c", python_client, "::1", std::to_string(port(srv))});
  EXPECT_EQ(co_await first_line(py), "LINE 0|LINE 1|LINE 2 eof");
}

AIO_TEST(server_peers, a_name_with_two_addresses_listens_on_both_with_one_port) {
  auto srv = co_await aio::start_server(shout, "localhost", 0);
  bool six = aio::test::has_ipv6_loopback();
  CO_ASSERT_EQ(srv.sockets().size(), six ? 2u : 1u);
  unsigned short p = port(srv);
  for (auto& s : srv.sockets()) EXPECT_EQ(s.port(), p);
  for (const char* host : {"127.0.0.1", "::1"}) {
    if (!six && std::string(host) == "::1") continue;
    auto [r, w] = co_await aio::open_connection(host, p);
    co_await w.write(std::string(host) + "\n");
    EXPECT_EQ(co_await r.readline(), std::string(host) + "\n");
    std::string expected = std::string(host) == "::1" ? "[::1]:" : std::string(host) + ":";
    EXPECT_EQ(w.get_extra_info("peername").value(), expected + std::to_string(p));
  }
}

AIO_TEST(server_peers, empty_host_listens_on_every_interface) {
  auto srv = co_await aio::start_server(shout, "", 0);
  std::vector<int> families;
  for (auto& s : srv.sockets()) families.push_back(s.family());
  EXPECT_NE(std::find(families.begin(), families.end(), AF_INET), families.end());
  unsigned short p = port(srv);
  auto [r, w] = co_await aio::open_connection("127.0.0.1", p);
  co_await w.write("any\n");
  EXPECT_EQ(co_await r.readline(), "ANY\n");
  if (aio::test::has_ipv6_loopback()) {
    EXPECT_EQ(families.size(), 2u);
    auto [r6, w6] = co_await aio::open_connection("::1", p);
    co_await w6.write("any6\n");
    EXPECT_EQ(co_await r6.readline(), "ANY6\n");
  }
  aio::server_options v4only;
  v4only.family = AF_INET;
  auto srv4 = co_await aio::start_server(shout, "", 0, v4only);
  CO_ASSERT_EQ(srv4.sockets().size(), 1u);
  EXPECT_EQ(srv4.sockets()[0].to_string(), "0.0.0.0:" + std::to_string(port(srv4)));
}

AIO_TEST(server_peers, reuse_port_lets_two_servers_share_a_port) {
  aio::server_options o;
  o.reuse_port = true;
  auto a = co_await aio::start_server(shout, "127.0.0.1", 0, o);
  auto b = co_await aio::start_server(shout, "127.0.0.1", port(a), o);
  EXPECT_EQ(port(a), port(b));
  auto [r, w] = co_await aio::open_connection("127.0.0.1", port(a));
  co_await w.write("shared\n");
  EXPECT_EQ(co_await r.readline(), "SHARED\n");
}
