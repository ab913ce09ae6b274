// SPDX-License-Identifier: MIT
#pragma once
// Worker mains of the workers::run tests: each reports to the test with
// emit() (supervised.hpp).

#include <unistd.h>

#include <chrono>
#include <string>

#include "supervised.hpp"

namespace aio::test {

inline std::string pid_text() { return std::to_string(::getpid()); }

/// Says "ready <index> <pid>", waits for the stop request, says "stopped <index> <pid>".
inline task<> wait_for_stop(std::size_t i) {
  emit("ready " + std::to_string(i) + " " + pid_text());
  co_await workers::stopping();
  emit("stopped " + std::to_string(i) + " " + pid_text());
}

/// One request per connection: reads a line, says "got <pid>", waits
/// `delay_ms` (the line's number, 0 if none), answers "done <pid>".
inline task<> answer_after_delay(stream_reader r, stream_writer w) {
  std::string line = co_await r.readline();
  emit("got " + pid_text());
  const long delay_ms = std::strtol(line.c_str(), nullptr, 10);
  if (delay_ms > 0) co_await aio::sleep(std::chrono::milliseconds(delay_ms));
  std::string reply = "done " + pid_text() + "\n";
  co_await w.write(reply);
  co_await w.drain();
}

/// Serves `sock` (inherited from the supervisor) until stopped: says
/// "ready <index> <pid>" once it serves, after notify_ready().
inline task<> serve_shared(std::size_t i, int sock) {
  server_options o;
  o.sock = sock;
  server srv = co_await start_server(&answer_after_delay, "", 0, o);
  workers::notify_ready();
  emit("ready " + std::to_string(i) + " " + pid_text());
  co_await srv.serve_forever();
}

}  // namespace aio::test
