// SPDX-License-Identifier: MIT
// The aiocpp side of `./scripts/bench exec`. Each workload mirrors one in
// exec_bench.py (asyncio / uvloop) line for line; report.py runs both in the
// same session and prints the ratios.
//
//   exec_bench <workload> [--n N]
//
// Prints one JSON object on stdout: {"workload", "value", "unit", "n", ...}.
// Workloads: to_thread_seq, to_thread_concurrent (see usage()).

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "aio/aio.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

void print_result(const std::string& workload, double value, const std::string& unit, std::size_t n,
                  const std::string& extra = {}) {
  char number[64];
  std::snprintf(number, sizeof number, "%.6g", value);
  std::string line = "{\"workload\": \"" + workload + "\", \"value\": " + number +
                     ", \"unit\": \"" + unit + "\", \"n\": " + std::to_string(n);
  if (!extra.empty()) line += ", " + extra;
  line += "}\n";
  std::fputs(line.c_str(), stdout);
}

std::size_t trivial(std::size_t x) { return x + 1; }

// --- 1. one coroutine awaits to_thread(trivial) N times in a row ---------------

aio::task<> to_thread_seq_workload(std::size_t n) {
  co_await aio::to_thread(trivial, 0);  // the pool's first thread starts outside the timing
  std::size_t sum = 0;
  auto t0 = clock_type::now();
  for (std::size_t i = 0; i < n; ++i) sum += co_await aio::to_thread(trivial, i);
  double elapsed = seconds_since(t0);
  if (sum != n * (n + 1) / 2) throw std::runtime_error("to_thread_seq: wrong sum");
  print_result("to_thread_seq", static_cast<double>(n) / elapsed, "calls/s", n,
               "\"seconds\": " + std::to_string(elapsed));
}

// --- 2. 64 coroutines each await to_thread(trivial) N/64 times ------------------

aio::task<> to_thread_worker(std::size_t count, std::size_t& sum) {
  for (std::size_t i = 0; i < count; ++i) sum += co_await aio::to_thread(trivial, i);
}

aio::task<> to_thread_concurrent_workload(std::size_t n) {
  constexpr std::size_t coroutines = 64;
  co_await aio::to_thread(trivial, 0);
  std::size_t per = n / coroutines;
  std::size_t sum = 0;
  std::vector<aio::task_handle<>> handles;
  auto t0 = clock_type::now();
  for (std::size_t c = 0; c < coroutines; ++c)
    handles.push_back(aio::create_task(to_thread_worker(per, sum)));
  for (auto& h : handles) co_await h;
  double elapsed = seconds_since(t0);
  if (sum != coroutines * (per * (per + 1) / 2))
    throw std::runtime_error("to_thread_concurrent: wrong sum");
  print_result("to_thread_concurrent", static_cast<double>(per * coroutines) / elapsed, "calls/s",
               per * coroutines, "\"seconds\": " + std::to_string(elapsed));
}

int usage() {
  std::fprintf(
      stderr,
      "usage: exec_bench <workload> [--n N]\n"
      "  to_thread_seq         one coroutine awaits to_thread(trivial) N times (calls/s)\n"
      "  to_thread_concurrent  64 coroutines each await to_thread(trivial) N/64 times (calls/s)\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  std::string_view workload = argv[1];
  std::size_t n = 100'000;
  for (int i = 2; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--n" && i + 1 < argc)
      n = std::strtoull(argv[++i], nullptr, 10);
    else
      return usage();
  }
  if (n < 64) return usage();
  aio::run_options options;
  options.handle_sigint = false;
  if (workload == "to_thread_seq")
    aio::run(to_thread_seq_workload(n), options);
  else if (workload == "to_thread_concurrent")
    aio::run(to_thread_concurrent_workload(n), options);
  else
    return usage();
  return 0;
}
