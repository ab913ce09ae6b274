// SPDX-License-Identifier: MIT
// Streams in three scenes, over a socket pair (no network needed):
//   1. a line-echo server handler and a client, asyncio style;
//   2. a read that times out halfway through a line and loses nothing;
//   3. a writer whose peer stops reading: write() waits, memory stays bounded.
#include <sys/socket.h>

#include <cstdio>

#include "aio/aio.hpp"

using namespace std::chrono_literals;

namespace {

// The handler start_server would run for each connection.
aio::task<> echo_handler(aio::stream_reader reader, aio::stream_writer writer) {
  for (;;) {
    std::string line = co_await reader.readline();
    if (line.empty()) break;  // end of stream
    co_await writer.write("echo: " + line);
  }
  writer.close();
  co_await writer.wait_closed();
}

std::pair<std::pair<aio::stream_reader, aio::stream_writer>,
          std::pair<aio::stream_reader, aio::stream_writer>>
socket_pair_streams(aio::stream_options options = {}) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0)
    throw std::system_error(errno, std::generic_category(), "socketpair");
  return {aio::make_streams(aio::make_fd_transport(fds[0]), options),
          aio::make_streams(aio::make_fd_transport(fds[1]), options)};
}

aio::task<> scene_echo() {
  auto [client, server] = socket_pair_streams();
  auto handler = aio::create_task(echo_handler(std::move(server.first), std::move(server.second)));
  auto& [reader, writer] = client;
  static const char* const words[] = {"hello\n", "streams\n"};
  for (const char* word : words) {
    co_await writer.write(word);
    std::printf("%s", (co_await reader.readline()).c_str());
  }
  writer.write_eof();  // the handler reads end of stream and closes
  std::printf("server closed: %s\n", (co_await reader.read()).empty() ? "yes" : "no");
  co_await handler;
}

aio::task<> scene_timeout() {
  auto [a, b] = socket_pair_streams();
  co_await b.second.write("half a ");
  try {
    co_await aio::wait_for(a.first.readline(), 20ms);
  } catch (const aio::timeout_error&) {
    std::printf("readline timed out; %zu bytes kept in the buffer\n", a.first.buffer_size());
  }
  co_await b.second.write("line\n");
  std::printf("next readline: %s", (co_await a.first.readline()).c_str());
}

aio::task<> fill(aio::stream_writer& w, std::size_t& written) {
  std::string chunk(16 * 1024, 'x');
  for (;;) {
    co_await w.write(chunk);
    written += chunk.size();
  }
}

aio::task<> scene_backpressure() {
  auto [a, b] = socket_pair_streams({.high_water = 64 * 1024, .low_water = 16 * 1024});
  std::size_t written = 0;
  auto writer = aio::create_task(fill(a.second, written));
  co_await aio::sleep(50ms);  // the peer reads nothing meanwhile
  std::printf(
      "peer not reading: %zu bytes written, %zu buffered (high water 64 KiB), writer waiting: %s\n",
      written, a.second.buffer_size(), writer.done() ? "no" : "yes");
  std::size_t before = written;
  co_await b.first.readexactly(1 << 20);  // the peer catches up a little
  co_await aio::sleep(10ms);
  std::printf("after the peer read 1 MiB: %zu more bytes written\n", written - before);
  writer.cancel();
  try {
    co_await writer;
  } catch (const aio::cancelled_error&) {
  }
}

aio::task<> amain() {
  co_await scene_echo();
  co_await scene_timeout();
  co_await scene_backpressure();
}

}  // namespace

int main() { aio::run(amain()); }
