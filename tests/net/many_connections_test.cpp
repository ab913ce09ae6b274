// SPDX-License-Identifier: MIT
// Scale and descriptor limits: 10,000 concurrent connections on loopback
// (RLIMIT_NOFILE raised to its hard limit, scaled down when that is too
// low), and a server that runs out of descriptors (EMFILE): it says so once,
// backs off instead of spinning, and serves the waiting clients once
// descriptors are free again.
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "aio_test.hpp"
#include "server_test_util.hpp"

using namespace std::chrono_literals;

namespace {

// Restores RLIMIT_NOFILE on scope exit.
struct nofile_limit {
  rlimit saved{};
  nofile_limit() { ::getrlimit(RLIMIT_NOFILE, &saved); }
  ~nofile_limit() { ::setrlimit(RLIMIT_NOFILE, &saved); }
  void set_soft(rlim_t soft) {
    rlimit r = saved;
    r.rlim_cur = soft;
    ::setrlimit(RLIMIT_NOFILE, &r);
  }
};

// The highest open descriptor.
int highest_fd() {
  int high = 2;
  for (int fd = 0; fd < 65536; ++fd)
    if (::fcntl(fd, F_GETFD) != -1) high = fd;
  return high;
}

}  // namespace

AIO_TEST_SUITE(many_connections);

AIO_TEST(many_connections, ten_thousand_concurrent_round_trips) {
  nofile_limit limit;
  limit.set_soft(limit.saved.rlim_max);
  // Two descriptors per connection (both ends live here) plus headroom.
  std::size_t n = 10'000;
  if (limit.saved.rlim_max < 2 * n + 500)
    n = (static_cast<std::size_t>(limit.saved.rlim_max) - 500) / 2;
  std::printf("RLIMIT_NOFILE hard limit %llu: %zu concurrent connections\n",
              static_cast<unsigned long long>(limit.saved.rlim_max), n);

  std::size_t open = 0, peak = 0, echoed = 0;
  aio::event all_open;
  aio::server_options so;
  so.backlog = 4096;
  auto srv = co_await aio::start_server(
      [&](aio::stream_reader r, aio::stream_writer w) -> aio::task<> {
        peak = std::max(peak, ++open);
        if (open == n) all_open.set();
        std::string msg = co_await r.readexactly(100);
        co_await w.write(msg);
        co_await all_open.wait();  // every connection is open at once before any closes
        --open;
      },
      "127.0.0.1", 0, so);
  unsigned short port = srv.sockets().at(0).port();

  aio::semaphore connecting(512);  // connects in flight, not connections open
  co_await aio::with_task_group([&](aio::task_group& tg) -> aio::task<> {
    for (std::size_t i = 0; i < n; ++i) {
      tg.create_task([](std::size_t i, unsigned short port, aio::semaphore& connecting,
                        std::size_t& echoed) -> aio::task<> {
        std::string msg(100, static_cast<char>('a' + i % 26));
        msg.replace(0, std::to_string(i).size(), std::to_string(i));
        co_await connecting.acquire();
        auto [r, w] = co_await aio::open_connection("127.0.0.1", port);
        connecting.release();
        co_await w.write(msg);
        std::string back = co_await r.readexactly(100);
        if (back == msg) ++echoed;
        std::string rest = co_await r.read();  // the server closes first (no TIME_WAIT here)
        if (!rest.empty()) throw std::runtime_error("unexpected bytes after the echo");
      }(i, port, connecting, echoed));
    }
    co_return;
  });
  EXPECT_EQ(echoed, n);
  EXPECT_EQ(peak, n);
  srv.close();
  co_await srv.wait_closed();
  EXPECT_EQ(open, 0u);
}

AIO_TEST(many_connections, out_of_descriptors_pauses_accepting_without_spinning) {
  std::vector<std::string> logged;
  aio::get_running_loop().set_exception_handler(
      [&](aio::event_loop&, const aio::exception_context& c) {
        logged.push_back(c.message + ": " + aio::describe(c.exception));
      });
  auto srv = co_await aio::start_server(
      [](aio::stream_reader r, aio::stream_writer w) -> aio::task<> {
        co_await w.write(co_await r.readline());
      },
      "127.0.0.1", 0);
  unsigned short port = srv.sockets().at(0).port();

  // The clients are another process (this one will have no descriptor to
  // spare); they wait until `go` disappears, which needs no descriptor here.
  std::string go = "/tmp/aio-emfile-go-" + std::to_string(::getpid());
  ::close(::open(go.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
  const char* clients = R"(
import asyncio, os, sys
async def one(port, i):
    r, w = await asyncio.open_connection('127.0.0.1', port)
    w.write(f'client {i}\n'.encode())
    await w.drain()
    line = await r.readline()
    w.close()
    return line == f'client {i}\n'.encode()
async def main(go, port):
    while os.path.exists(go):
        await asyncio.sleep(0.01)
    ok = await asyncio.gather(*(one(port, i) for i in range(5)))
    print('served', sum(ok), flush=True)
asyncio.run(main(sys.argv[1], int(sys.argv[2])))
)";
  aio::test::child_process py({"/usr/bin/python3", "-c", clients, go, std::to_string(port)});
  aio::stream_reader out = aio::connect_read_pipe(std::exchange(py.out, -1));

  // Under UBSan, a dynamic type check that misses its cache probes memory
  // through a pipe, which cannot be made once descriptors run out: warm the
  // cache up with what the EMFILE report constructs.
  aio::get_running_loop().call_exception_handler(
      {"warm-up",
       std::make_exception_ptr(std::system_error(EMFILE, std::system_category(), "warm-up")),
       {},
       {}});
  logged.clear();

  nofile_limit limit;
  std::vector<int> fillers;  // takes every free descriptor under the new limit
  limit.set_soft(static_cast<rlim_t>(highest_fd() + 1));
  for (int fd; (fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;) fillers.push_back(fd);
  ::unlink(go.c_str());
  while (logged.empty()) co_await aio::sleep(5ms);  // the server hits EMFILE
  auto steps = aio::get_running_loop().progress().steps.load();
  co_await aio::sleep(350ms);  // several back-offs
  auto spent = aio::get_running_loop().progress().steps.load() - steps;
  std::size_t said = logged.size();
  for (int fd : fillers) ::close(fd);
  limit.set_soft(limit.saved.rlim_cur);
  // Checked with descriptors back: a failing check prints, and printing
  // under UBSan may need a descriptor.
  EXPECT_LT(spent, 1000u);  // backing off, not spinning on a readable socket
  EXPECT_EQ(said, 1u);      // said once
  EXPECT_NE(logged[0].find("out of system resource"), std::string::npos) << logged[0];
  EXPECT_NE(logged[0].find("Too many open files"), std::string::npos) << logged[0];
  std::string line = co_await aio::wait_for(out.readline(), 30s);
  EXPECT_EQ(line, "served 5\n");
  EXPECT_EQ(logged.size(), 1u);
}
