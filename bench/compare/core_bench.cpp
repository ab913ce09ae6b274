// SPDX-License-Identifier: MIT
// The aiocpp side of `./scripts/bench core`. Each workload mirrors one in
// core_bench.py (asyncio / uvloop) line for line; report.py runs both in the
// same session and prints the ratios.
//
//   core_bench <workload> [--n N]
//
// Prints one JSON object on stdout: {"workload", "value", "unit", "n", ...}.
// Workloads: spawn, memory, sleep_wall, pingpong_event, pingpong_queue,
// threadsafe (see usage()).

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "aio/aio.hpp"
#include "aio/core/gather.hpp"
#include "aio/core/event.hpp"
#include "aio/core/queue.hpp"

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

/// CPU time this process used so far (user + system), in seconds.
double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto tv = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return tv(ru.ru_utime) + tv(ru.ru_stime);
}

/// Resident set size now, in bytes (the second field of /proc/self/statm).
std::int64_t rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::int64_t size = 0;
  std::int64_t resident = 0;
  statm >> size >> resident;
  return resident * static_cast<std::int64_t>(sysconf(_SC_PAGESIZE));
}

void print_result(const std::string& workload, double value, const std::string& unit, std::size_t n,
                  const std::string& extra = {}) {
  char number[64];
  std::snprintf(number, sizeof number, "%.6g", value);
  std::string line = "{\"workload\": \"" + workload + "\", \"value\": " + number + ", \"unit\": \"" + unit +
                     "\", \"n\": " + std::to_string(n);
  if (!extra.empty()) line += ", " + extra;
  line += "}\n";
  std::fputs(line.c_str(), stdout);
}

// --- 1. create_task + await of a trivial coroutine, in gathered batches -------

aio::task<> trivial() { co_return; }

aio::task<> spawn_workload(std::size_t n, std::size_t batch) {
  std::vector<aio::task_handle<>> handles;
  handles.reserve(batch);
  auto t0 = clock_type::now();
  for (std::size_t done = 0; done < n;) {
    std::size_t this_batch = std::min(batch, n - done);
    for (std::size_t i = 0; i < this_batch; ++i) handles.push_back(aio::create_task(trivial()));
    done += this_batch;
    co_await aio::gather(handles);
    handles.clear();
  }
  double elapsed = seconds_since(t0);
  print_result("spawn", static_cast<double>(n) / elapsed, "tasks/s", n,
               "\"batch\": " + std::to_string(batch) + ", \"seconds\": " + std::to_string(elapsed));
}

// --- 2. memory of N tasks suspended in sleep(10 s) ----------------------------

aio::task<> sleeper(std::chrono::milliseconds d) { co_await aio::sleep(d); }

aio::task<> memory_workload(std::size_t n) {
  std::vector<aio::task_handle<>> handles;
  handles.reserve(n);  // the handle array is not the tasks' memory: allocate it first
  std::int64_t before = rss_bytes();
  for (std::size_t i = 0; i < n; ++i) handles.push_back(aio::create_task(sleeper(10s)));
  co_await aio::sleep(0s);  // every task runs to its sleep before this one resumes
  std::int64_t after = rss_bytes();
  auto t0 = clock_type::now();
  for (auto& h : handles) h.cancel();
  co_await aio::sleep(0s);  // the cancelled tasks finish before this one resumes
  double cancel_seconds = seconds_since(t0);
  for (auto& h : handles)
    if (!h.cancelled()) throw std::runtime_error("memory: a task was not cancelled");
  double per_task = static_cast<double>(after - before) / static_cast<double>(n);
  print_result("memory", per_task, "B/task", n,
               "\"rss_before\": " + std::to_string(before) + ", \"rss_after\": " + std::to_string(after) +
                   ", \"cancel_seconds\": " + std::to_string(cancel_seconds));
}

// --- 3. N concurrent sleep(0.5 s): wall time until all are done ----------------

aio::task<> sleep_wall_workload(std::size_t n) {
  std::vector<aio::task_handle<>> handles;
  handles.reserve(n);
  double cpu0 = cpu_seconds();
  auto t0 = clock_type::now();
  for (std::size_t i = 0; i < n; ++i) handles.push_back(aio::create_task(sleeper(500ms)));
  double created = seconds_since(t0);
  co_await handles.front();
  double first_done = seconds_since(t0);
  for (auto& h : handles) co_await h;
  double elapsed = seconds_since(t0);
  print_result("sleep_wall", elapsed, "s", n,
               "\"created_s\": " + std::to_string(created) + ", \"first_done_s\": " + std::to_string(first_done) +
                   ", \"cpu_s\": " + std::to_string(cpu_seconds() - cpu0));
}

// --- 4. ping-pong between two tasks ------------------------------------------

aio::task<> event_server(aio::event& ping, aio::event& pong, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    co_await ping.wait();
    ping.clear();
    pong.set();
  }
}

aio::task<> pingpong_event_workload(std::size_t n) {
  aio::event ping;
  aio::event pong;
  auto t0 = clock_type::now();
  auto server = aio::create_task(event_server(ping, pong, n));
  for (std::size_t i = 0; i < n; ++i) {
    ping.set();
    co_await pong.wait();
    pong.clear();
  }
  co_await server;
  double elapsed = seconds_since(t0);
  print_result("pingpong_event", 2.0 * static_cast<double>(n) / elapsed, "switches/s", n,
               "\"seconds\": " + std::to_string(elapsed));
}

aio::task<> queue_server(aio::queue<std::size_t>& requests, aio::queue<std::size_t>& replies, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) replies.put_nowait(co_await requests.get());
}

aio::task<> pingpong_queue_workload(std::size_t n) {
  aio::queue<std::size_t> requests(1);
  aio::queue<std::size_t> replies(1);
  auto t0 = clock_type::now();
  auto server = aio::create_task(queue_server(requests, replies, n));
  for (std::size_t i = 0; i < n; ++i) {
    co_await requests.put(i);
    if (co_await replies.get() != i) throw std::runtime_error("pingpong_queue: wrong reply");
  }
  co_await server;
  double elapsed = seconds_since(t0);
  print_result("pingpong_queue", 2.0 * static_cast<double>(n) / elapsed, "switches/s", n,
               "\"seconds\": " + std::to_string(elapsed));
}

// --- 5. call_soon_threadsafe from another thread -------------------------------

void threadsafe_workload(std::size_t n) {
  aio::event_loop loop;
  std::size_t count = 0;  // touched only on the loop thread
  auto t0 = clock_type::now();
  std::thread producer([&] {
    for (std::size_t i = 0; i < n; ++i)
      loop.call_soon_threadsafe([&] {
        if (++count == n) loop.stop();
      });
  });
  loop.run_forever();
  double elapsed = seconds_since(t0);
  producer.join();
  if (count != n) throw std::runtime_error("threadsafe: callbacks lost");
  print_result("threadsafe", static_cast<double>(n) / elapsed, "callbacks/s", n,
               "\"seconds\": " + std::to_string(elapsed));
}

int usage() {
  std::fprintf(stderr,
               "usage: core_bench <workload> [--n N]\n"
               "  spawn       create_task + await of a trivial coroutine, batches of 10,000 (tasks/s)\n"
               "  memory      N tasks suspended in sleep(10 s), then cancelled (RSS bytes per task)\n"
               "  sleep_wall  N concurrent sleep(0.5 s) (seconds until all are done)\n"
               "  pingpong_event  two tasks alternate through a pair of aio::event (switches/s)\n"
               "  pingpong_queue  two tasks alternate through two aio::queue of size 1 (switches/s)\n"
               "  threadsafe  N call_soon_threadsafe callbacks from another thread (callbacks/s)\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  std::string_view workload = argv[1];
  std::size_t n = 1'000'000;
  for (int i = 2; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--n" && i + 1 < argc) n = std::strtoull(argv[++i], nullptr, 10);
    else return usage();
  }
  if (n == 0) return usage();
  aio::run_options options;
  options.handle_sigint = false;
  if (workload == "spawn") aio::run(spawn_workload(n, 10'000), options);
  else if (workload == "memory") aio::run(memory_workload(n), options);
  else if (workload == "sleep_wall") aio::run(sleep_wall_workload(n), options);
  else if (workload == "pingpong_event") aio::run(pingpong_event_workload(n), options);
  else if (workload == "pingpong_queue") aio::run(pingpong_queue_workload(n), options);
  else if (workload == "threadsafe") threadsafe_workload(n);
  else return usage();
  return 0;
}
