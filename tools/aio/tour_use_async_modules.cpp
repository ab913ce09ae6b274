// SPDX-License-Identifier: MIT
// Lesson "use-async-modules": N requests to a local server that answers each
// after a delay, sent by N coroutines — once with blocking sockets called
// inside the coroutines, once with aiocpp streams. The server runs its own
// loop on its own thread (one loop per thread), so it keeps answering while
// the client's loop is stuck.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <future>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "aio/core/create_task.hpp"
#include "aio/core/event.hpp"
#include "aio/core/loop.hpp"
#include "aio/core/run.hpp"
#include "aio/core/sleep.hpp"
#include "aio/net/open_connection.hpp"
#include "aio/net/start_server.hpp"
#include "aio/net/stream.hpp"
#include "tour.hpp"

namespace aio::tour {

namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::steady_clock;

// --- the slow server, on its own thread and loop ----------------------------

class slow_server {
 public:
  explicit slow_server(milliseconds delay) {
    std::promise<unsigned short> port;
    auto ready = port.get_future();
    thread_ = std::thread([this, delay, &port] {
      try {
        aio::run(serve(delay, port));
      } catch (...) {
        try {
          port.set_exception(std::current_exception());
        } catch (const std::future_error&) {
          // the port was published: the error ends the thread quietly
        }
      }
    });
    try {
      port_ = ready.get();
    } catch (...) {
      thread_.join();
      throw;
    }
  }
  ~slow_server() {
    loop_->call_soon_threadsafe([this] { stop_.set(); });
    thread_.join();
  }
  slow_server(const slow_server&) = delete;
  unsigned short port() const noexcept { return port_; }

 private:
  task<> serve(milliseconds delay, std::promise<unsigned short>& port) {
    loop_ = &get_running_loop();
    auto handler = [delay](stream_reader reader, stream_writer writer) -> task<> {
      std::string request = co_await reader.readline();
      co_await aio::sleep(delay);  // the server's own work: it never blocks its loop
      co_await writer.write("answer to " + request);
      writer.close();
      co_await writer.wait_closed();
    };
    auto server = co_await start_server(handler, "127.0.0.1", 0);
    port.set_value(server.sockets().at(0).port());
    co_await stop_.wait();
    server.close();
    co_await server.wait_closed();
  }

  event_loop* loop_ = nullptr;
  event stop_;
  std::thread thread_;
  unsigned short port_ = 0;
};

// --- the two clients ---------------------------------------------------------

void check(bool ok, const char* what) {
  if (!ok) throw std::system_error(errno, std::system_category(), what);
}

// The mistake: blocking socket calls inside a coroutine. Each call holds the
// loop's thread until the server answers.
task<std::string> blocking_request(unsigned short port, int i) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  check(fd >= 0, "socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string answer;
  try {
    check(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0, "connect");
    const std::string line = "request " + std::to_string(i) + "\n";
    check(::send(fd, line.data(), line.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(line.size()), "send");
    char buf[256];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) answer.append(buf, static_cast<std::size_t>(n));
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  co_return answer;
}

// The fix: the same request through aiocpp's streams; every wait suspends.
task<std::string> async_request(unsigned short port, int i) {
  auto [reader, writer] = co_await open_connection("127.0.0.1", port);
  co_await writer.write("request " + std::to_string(i) + "\n");
  std::string answer = co_await reader.read();
  writer.close();
  co_return answer;
}

struct measurement {
  nanoseconds wall{};
  nanoseconds worst_lateness{};  // how late the ticker woke, at worst
  int answers = 0;
};

task<measurement> measure(int n, unsigned short port, task<std::string> (*request)(unsigned short, int)) {
  bool stop = false;
  measurement m;
  auto tick = create_task(ticker(stop, m.worst_lateness), "ticker");
  co_await aio::sleep(0s);
  const auto start = steady_clock::now();
  std::vector<task_handle<std::string>> tasks;
  tasks.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) tasks.push_back(create_task(request(port, i)));
  for (int i = 0; i < n; ++i) {
    const std::string answer = co_await tasks[static_cast<std::size_t>(i)];
    if (answer == "answer to request " + std::to_string(i) + "\n") ++m.answers;
  }
  m.wall = since(start);
  stop = true;
  co_await tick;
  co_return m;
}

constexpr int label_width = 34;

void row(const measurement& m, int n) {
  std::printf("%9s %20s %7d/%d\n", format_duration(m.wall).c_str(), format_duration(m.worst_lateness).c_str(),
              m.answers, n);
}

task<> lesson_main(int n, milliseconds delay, unsigned short port) {
  paragraph(std::to_string(n) + " coroutines each send one request to a local server that answers after " +
            std::to_string(delay.count()) + " ms (it runs its own event loop on another thread). A ticker task "
            "that wants to wake every 10 ms shows how late the client's loop runs (backend: " +
            std::string(get_running_loop().backend_name()) + ").");
  std::printf("\n");
  char head[160];
  std::snprintf(head, sizeof head, "    %-*s %9s %20s %10s", label_width, "inside each coroutine", "wall time",
                "ticker's worst delay", "answers");
  std::printf("%s\n", bold(head).c_str());

  row_label(label_width, "blocking connect/send/recv");
  const measurement blocked = co_await measure(n, port, &blocking_request);
  row(blocked, n);

  row_label(label_width, "aio::open_connection + streams");
  const measurement streamed = co_await measure(n, port, &async_request);
  row(streamed, n);

  const double ratio = static_cast<double>(blocked.wall.count()) / static_cast<double>(streamed.wall.count());
  char line[96];
  std::snprintf(line, sizeof line, "aiocpp streams finished %.*fx sooner.", ratio >= 10 ? 0 : 1, ratio);
  std::printf("\n  %s\n\n", bold(line).c_str());
  paragraph("Why: a blocking recv holds the thread that is the event loop until its answer comes, so the "
            "requests go one after another and the ticker cannot run; aio::open_connection and the streams "
            "suspend only their own coroutine, so all requests wait together and the loop stays on time.");
  std::printf("\n");
  paragraph(dim("In Python: the socket module or requests inside a coroutine block the same way; use "
                "asyncio.open_connection or aiohttp. For a library that only blocks, use aio::to_thread."));
}

}  // namespace

void use_async_modules(const options& opts) {
  const int n = opts.quick ? 20 : 100;
  const milliseconds delay = opts.quick ? 50ms : 100ms;
  slow_server server(delay);
  aio::run(lesson_main(n, delay, server.port()));
}

}  // namespace aio::tour
