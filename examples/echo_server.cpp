// SPDX-License-Identifier: MIT
// An echo server and its clients, asyncio style: start_server runs a handler
// task per connection, open_connection connects (here with Happy Eyeballs
// over "localhost"), and shutdown(grace) stops accepting, waits for the
// handlers, then cancels the one that would not finish.
//
//   ./example_echo_server          # server and clients in one run
//   ./example_echo_server 8888     # serve 127.0.0.1:8888 until Ctrl-C; try `nc 127.0.0.1 8888`
#include <csignal>
#include <cstdio>
#include <string>

#include "aio/aio.hpp"

using namespace std::chrono_literals;

namespace {

// The handler: one task per connection, owned by the server.
aio::task<> echo(aio::stream_reader reader, aio::stream_writer writer) {
  std::string peer = writer.get_extra_info("peername").value_or("?");
  std::printf("  [%s] connected (task \"%s\")\n", peer.c_str(), aio::current_task().get_name().c_str());
  try {
    for (;;) {
      std::string line = co_await reader.readline();
      if (line.empty()) break;  // the client half-closed: end of stream
      co_await writer.write("echo: " + line);
    }
    std::printf("  [%s] done\n", peer.c_str());
  } catch (const aio::cancelled_error&) {
    std::printf("  [%s] cancelled by the shutdown\n", peer.c_str());
    throw;
  }
}

aio::task<> client(unsigned short port, std::string name) {
  aio::connect_options options;
  options.happy_eyeballs_delay = 250ms;  // [::1] and 127.0.0.1, whichever answers first
  options.connect_timeout = 5s;
  auto [reader, writer] = co_await aio::open_connection("localhost", port, options);
  co_await writer.write("hello from " + name + "\n");
  std::printf("%s got: %s", name.c_str(), (co_await reader.readline()).c_str());
  writer.write_eof();
  co_await reader.read();  // until the server closes
}

aio::task<> demo() {
  aio::server srv = co_await aio::start_server(echo, "localhost", 0);
  unsigned short port = 0;
  for (const auto& address : srv.sockets()) {
    std::printf("listening on %s\n", address.to_string().c_str());
    port = address.port();
  }
  co_await aio::gather(client(port, "alice"), client(port, "bob"));

  // A client that connects and never says anything: its handler stays in readline.
  auto [idle_reader, idle_writer] = co_await aio::open_connection("127.0.0.1", port);
  co_await aio::sleep(10ms);
  std::printf("shutting down with %zu connection(s) open, 100 ms grace\n", srv.active_connections());
  co_await srv.shutdown(100ms);
  std::printf("closed: %s\n", (co_await idle_reader.read()).empty() ? "the idle client sees end of stream" : "?");
}

aio::task<> serve(unsigned short port) {
  aio::server srv = co_await aio::start_server(echo, "127.0.0.1", port);
  std::printf("serving on %s; Ctrl-C to stop\n", srv.sockets().at(0).to_string().c_str());
  aio::event stop;
  aio::get_running_loop().add_signal_handler(SIGINT, [&] { stop.set(); });
  co_await stop.wait();
  std::printf("\nstopping: 2 s for the handlers to finish\n");
  co_await srv.shutdown(2s);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) aio::run(serve(static_cast<unsigned short>(std::stoi(argv[1]))));
  else aio::run(demo());
}
