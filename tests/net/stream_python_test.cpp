// SPDX-License-Identifier: MIT
// The streams against a real peer nobody here wrote: Python's own asyncio
// streams (Debian's /usr/bin/python3), as server and as client.
#include <signal.h>

#include "stream_test_util.hpp"

using namespace std::chrono_literals;
using stream_test::pattern;
using stream_test::python_peer;

AIO_TEST_SUITE(stream_python);

namespace {

constexpr const char* line_echo_server = R"(
import asyncio
async def handle(r, w):
    while line := await r.readline():
        w.write(line)
        await w.drain()
    w.close()
async def main():
    srv = await asyncio.start_server(handle, '127.0.0.1', 0, limit=1 << 20)
    print(srv.sockets[0].getsockname()[1], flush=True)
    await srv.serve_forever()
asyncio.run(main())
)";

// Sends the bytes expression argv[1] and closes.
constexpr const char* scripted_server = R"(
import asyncio, sys
payload = eval(sys.argv[1])  # a bytes expression from the test
async def handle(r, w):
    w.write(payload)
    await w.drain()
    w.close()
async def main():
    srv = await asyncio.start_server(handle, '127.0.0.1', 0)
    print(srv.sockets[0].getsockname()[1], flush=True)
    await srv.serve_forever()
asyncio.run(main())
)";

aio::task<> write_forever(aio::stream_writer& w, const std::string& chunk, std::size_t high) {
  for (;;) {
    co_await w.write(chunk);
    EXPECT_LE(w.buffer_size(), high + chunk.size());
  }
}

}  // namespace

AIO_TEST(stream_python, lines_through_an_asyncio_echo_server) {
  python_peer py(line_echo_server);
  auto [r, w] = co_await stream_test::connect_tcp(py.port);
  for (int i = 0; i < 300; ++i) {
    std::string line = pattern(static_cast<std::size_t>(i * 37 % 5000)) + "\n";
    co_await w.write(line);
    EXPECT_EQ(co_await r.readline(), line);
  }
  co_await w.write("a|b||c\n");
  EXPECT_EQ(co_await r.readuntil("|"), "a|");
  EXPECT_EQ(co_await r.readuntil("||"), "b||");
  EXPECT_EQ(co_await r.readexactly(2), "c\n");
  w.write_eof();
  EXPECT_EQ(co_await r.read(), "");  // the server closes after our end of stream
  EXPECT_TRUE(r.at_eof());
}

AIO_TEST(stream_python, incomplete_read_with_the_partial_bytes) {
  python_peer py(scripted_server, {R"(b"hello\r\nworld")"});
  auto [r, w] = co_await stream_test::connect_tcp(py.port);
  EXPECT_EQ(co_await r.readuntil("\r\n"), "hello\r\n");
  std::string partial;
  std::optional<std::size_t> expected;
  try {
    co_await r.readexactly(10);
  } catch (const aio::incomplete_read_error& e) {
    partial = e.partial();
    expected = e.expected();
  }
  EXPECT_EQ(partial, "world");
  EXPECT_EQ(expected, std::optional<std::size_t>(10));
}

AIO_TEST(stream_python, overlong_line_then_the_stream_goes_on) {
  python_peer py(scripted_server, {R"(b"x" * 100000 + b"\nok\n")"});
  auto [r, w] = co_await stream_test::connect_tcp(py.port, {.limit = 64 * 1024});
  EXPECT_THROW(co_await r.readline(), aio::limit_overrun_error);
  // The long line is dropped; if part of it had not arrived yet, that part
  // reads as a line of x's of its own.
  std::string line = co_await r.readline();
  if (line != "ok\n") {
    EXPECT_EQ(line.find_first_not_of('x'), line.size() - 1);
    line = co_await r.readline();
  }
  EXPECT_EQ(line, "ok\n");
  EXPECT_EQ(co_await r.readline(), "");
}

AIO_TEST(stream_python, an_asyncio_client_against_our_streams) {
  aio::test::tcp_listener l;
  python_peer py(
      R"(
import asyncio, sys
async def main():
    print(0, flush=True)
    r, w = await asyncio.open_connection('127.0.0.1', int(sys.argv[1]))
    w.write(b"one\ntwo\n" + b"z" * 200000 + b"\n")
    w.write_eof()
    got = await r.read()
    print(len(got), got[:8].decode(), flush=True)
    w.close()
    await w.wait_closed()
asyncio.run(main())
)",
      {std::to_string(ntohs(reinterpret_cast<const sockaddr_in*>(l.addr.data())->sin_port))});
  auto acc = co_await aio::sock_accept(l.fd);
  auto [r, w] = aio::make_streams(aio::make_fd_transport(acc.fd), {.limit = 1 << 20});
  EXPECT_EQ(co_await r.readline(), "one\n");
  EXPECT_EQ(co_await r.readline(), "two\n");
  std::string big = co_await r.readline();
  EXPECT_EQ(big.size(), 200001u);
  EXPECT_EQ(co_await r.read(), "");  // its write_eof
  co_await w.write("reply:");
  co_await w.write(pattern(300000));
  w.close();
  co_await w.wait_closed();
  EXPECT_EQ(co_await py.out.readline(), "300006 reply:01\n");
}

AIO_TEST(stream_python, backpressure_against_a_peer_that_never_reads_then_its_reset) {
  python_peer py(R"(
import asyncio
async def handle(r, w):
    await asyncio.sleep(3600)
async def main():
    srv = await asyncio.start_server(handle, '127.0.0.1', 0)
    print(srv.sockets[0].getsockname()[1], flush=True)
    await srv.serve_forever()
asyncio.run(main())
)");
  constexpr std::size_t high = 64 * 1024;
  auto [r, w] =
      co_await stream_test::connect_tcp(py.port, {.high_water = high, .low_water = 16 * 1024});
  stream_test::small_buffers(w.socket_fd());
  std::string chunk = pattern(16 * 1024);
  auto writer = aio::create_task(write_forever(w, chunk, high));
  auto& wr = w;
  EXPECT_TRUE(
      co_await stream_test::eventually([&] { return wr.buffer_size() > high - chunk.size(); }));
  EXPECT_FALSE(writer.done());  // suspended in write(): the kernel buffers are full
  EXPECT_LE(w.buffer_size(), high + chunk.size());
  ::kill(py.proc.pid, SIGKILL);  // its socket closes with unread data: a reset
  int err = 0;
  try {
    co_await writer;
  } catch (const std::system_error& e) {
    err = e.code().value();
  }
  EXPECT_TRUE(err == ECONNRESET || err == EPIPE) << err;
  EXPECT_THROW(co_await w.drain(), std::system_error);
  EXPECT_TRUE(w.is_closing());
}

AIO_TEST(stream_python, peer_reset_mid_read) {
  python_peer py(R"(
import asyncio, socket, struct
async def handle(r, w):
    await r.readexactly(2)
    w.get_extra_info('socket').setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    w.transport.abort()
async def main():
    srv = await asyncio.start_server(handle, '127.0.0.1', 0)
    print(srv.sockets[0].getsockname()[1], flush=True)
    await srv.serve_forever()
asyncio.run(main())
)");
  auto [r, w] = co_await stream_test::connect_tcp(py.port);
  auto pending = aio::create_task(r.readline());
  co_await w.write("go");
  int err = 0;
  try {
    co_await pending;
  } catch (const std::system_error& e) {
    err = e.code().value();
  }
  EXPECT_EQ(err, ECONNRESET);
  EXPECT_THROW(co_await w.wait_closed(), std::system_error);
}

AIO_TEST(stream_python, half_close_both_ways) {
  python_peer py(R"(
import asyncio
async def handle(r, w):
    w.write(b"from python")
    w.write_eof()
    got = await r.read()
    print(got.decode(), flush=True)
    w.close()
async def main():
    srv = await asyncio.start_server(handle, '127.0.0.1', 0)
    print(srv.sockets[0].getsockname()[1], flush=True)
    await srv.serve_forever()
asyncio.run(main())
)");
  auto [r, w] = co_await stream_test::connect_tcp(py.port);
  EXPECT_EQ(co_await r.read(), "from python");  // its end of stream; it still reads
  EXPECT_TRUE(r.at_eof());
  co_await w.write("from aiocpp");
  w.write_eof();
  EXPECT_EQ(co_await py.out.readline(), "from aiocpp\n");
}

AIO_TEST(stream_python, sendfile_to_an_asyncio_server) {
  python_peer py(R"(
import asyncio, sys
n = int(sys.argv[1])
p = b"The quick brown fox jumps over the lazy dog. "
expect = (p * (n // len(p) + 1))[:n]
async def handle(r, w):
    got = await r.read()
    print("ok" if got == expect else "bad %d" % len(got), flush=True)
    w.close()
async def main():
    srv = await asyncio.start_server(handle, '127.0.0.1', 0)
    print(srv.sockets[0].getsockname()[1], flush=True)
    await srv.serve_forever()
asyncio.run(main())
)",
                 {"3000000"});
  std::string data = pattern(3000000, "The quick brown fox jumps over the lazy dog. ");
  aio::test::temp_file file(data);
  auto [r, w] = co_await stream_test::connect_tcp(py.port);
  EXPECT_EQ(co_await w.sendfile(file.fd), data.size());
  w.write_eof();
  EXPECT_EQ(co_await py.out.readline(), "ok\n");
}
