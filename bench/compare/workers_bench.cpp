// SPDX-License-Identifier: MIT
// ./scripts/bench cores, the workers part: a ping-pong server under
// workers::run(1) and workers::run(2) on one shared listening socket, loaded
// by client processes on the same machine (each an aio loop with many
// connections). Prints one JSON object: requests per second ("value"), and
// the server's CPU time per request (its processes' user + system time,
// from getrusage of the reaped supervisor). The ratio of the rates of
// --workers 2 and --workers 1 is what a second core gives here; on a 2-core
// machine the load generator competes with the workers for the same cores.
//
//   workers_bench --workers N [--quick]
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "aio/aio.hpp"

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

aio::task<> pong(aio::stream_reader r, aio::stream_writer w) {
  for (;;) {
    std::string line = co_await r.readline();
    if (line.empty()) co_return;
    co_await w.write("pong\n");
  }
}

aio::task<> serve(std::size_t, int sock) {
  aio::server_options o;
  o.sock = sock;
  aio::server srv = co_await aio::start_server(pong, "", 0, o);
  co_await srv.serve_forever();
}

aio::task<> one_connection(unsigned short port, clock_type::time_point end, long& count) {
  auto [r, w] = co_await aio::open_connection("127.0.0.1", port);
  while (clock_type::now() < end) {
    co_await w.write("ping\n");
    std::string line = co_await r.readline();
    if (line.empty()) co_return;
    ++count;
  }
}

aio::task<long> load(unsigned short port, int connections, std::chrono::milliseconds d) {
  const auto end = clock_type::now() + d;
  std::vector<long> counts(static_cast<std::size_t>(connections), 0);
  std::vector<aio::task_handle<>> tasks;
  for (auto& c : counts) tasks.push_back(aio::create_task(one_connection(port, end, c)));
  for (auto& t : tasks) co_await t;
  long total = 0;
  for (long c : counts) total += c;
  co_return total;
}

double cpu_seconds_of_children() {
  rusage u{};
  ::getrusage(RUSAGE_CHILDREN, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

void measure(std::size_t workers, int clients, int connections, std::chrono::milliseconds d) {
  aio::workers::listening_socket sock("127.0.0.1", 0);
  const unsigned short port = sock.port();
  const int fd = sock.fd();
  std::fflush(nullptr);
  pid_t server = ::fork();
  if (server == 0) {
    aio::workers::options o;
    o.log = [](std::string_view) {};
    ::_exit(aio::workers::run(workers, [fd](std::size_t i) { return serve(i, fd); }, o));
  }
  ::usleep(200'000);  // the workers listen (the socket queues connections meanwhile anyway)
  std::vector<std::pair<pid_t, int>> loaders;
  for (int c = 0; c < clients; ++c) {
    int p[2];
    if (::pipe(p) != 0) return;
    pid_t pid = ::fork();
    if (pid == 0) {
      ::close(p[0]);
      long n = aio::run(load(port, connections, d));
      [[maybe_unused]] ssize_t wr = ::write(p[1], &n, sizeof n);
      ::_exit(0);
    }
    ::close(p[1]);
    loaders.emplace_back(pid, p[0]);
  }
  long requests = 0;
  for (auto [pid, rd] : loaders) {
    long n = 0;
    if (::read(rd, &n, sizeof n) == static_cast<ssize_t>(sizeof n)) requests += n;
    ::close(rd);
    int st;
    ::waitpid(pid, &st, 0);
  }
  const double before = cpu_seconds_of_children();
  ::kill(server, SIGTERM);
  int st;
  ::waitpid(server, &st, 0);
  const double server_cpu = cpu_seconds_of_children() - before;
  const double seconds = std::chrono::duration<double>(d).count();
  std::printf("{\"name\": \"hello server, workers::run(%zu)\", \"unit\": \"requests/s\", \"value\": %.0f, "
              "\"server_cpu_us_per_request\": %.2f, \"clients\": %d, \"connections\": %d}\n",
              workers, static_cast<double>(requests) / seconds,
              requests ? server_cpu * 1e6 / static_cast<double>(requests) : 0.0, clients,
              clients * connections);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  long workers = 0;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0)
      quick = true;
    else if (std::strcmp(argv[i], "--workers") == 0 && i + 1 < argc)
      workers = std::strtol(argv[++i], nullptr, 10);
  }
  if (workers < 1) {
    std::fprintf(stderr, "usage: workers_bench --workers N [--quick]  (N >= 1)\n");
    return 2;
  }
  measure(static_cast<std::size_t>(workers), 2, 32, quick ? 1000ms : 5000ms);
}
