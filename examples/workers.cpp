// SPDX-License-Identifier: MIT
// One loop per core: a line-echo server in N worker processes sharing one
// listening socket, supervised (a worker that dies is restarted; SIGTERM or
// Ctrl-C stops them gracefully, SIGHUP restarts them one at a time).
//
//   ./example_workers [port] [workers]      # port 0: any free port; workers 0: one per core
//   printf 'hello\n' | nc 127.0.0.1 PORT    # "worker 1 (pid 1234): hello"
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "aio/aio.hpp"

aio::task<> echo(aio::stream_reader reader, aio::stream_writer writer) {
  for (;;) {
    std::string line = co_await reader.readline();
    if (line.empty()) co_return;  // end of stream
    std::string reply = "worker " + std::to_string(aio::workers::worker_index()) + " (pid " +
                        std::to_string(::getpid()) + "): " + line;
    co_await writer.write(reply);
  }
}

// Each worker's main: serve the inherited socket until told to stop. The
// stop cancels serve_forever, which stops accepting and waits for the
// connections in flight (up to options::shutdown_timeout).
aio::task<> serve(std::size_t, int sock) {
  aio::server_options o;
  o.sock = sock;
  aio::server srv = co_await aio::start_server(echo, "", 0, o);
  aio::workers::notify_ready();
  co_await srv.serve_forever();
}

int main(int argc, char** argv) {
  const auto port = static_cast<unsigned short>(argc > 1 ? std::atoi(argv[1]) : 0);
  const std::size_t n = argc > 2 ? static_cast<std::size_t>(std::atoi(argv[2])) : 0;
  aio::workers::listening_socket sock("127.0.0.1", port);  // before the fork: one accept queue
  std::printf("listening on 127.0.0.1:%u (pid %d; SIGHUP: rolling restart, Ctrl-C: stop)\n", sock.port(),
              static_cast<int>(::getpid()));
  aio::workers::options opts;
  opts.wait_ready = true;  // a rolling restart waits for notify_ready()
  opts.shutdown_timeout = std::chrono::seconds(10);
  const int fd = sock.fd();
  return aio::workers::run(n, [fd](std::size_t i) { return serve(i, fd); }, opts);
}
