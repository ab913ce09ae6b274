// SPDX-License-Identifier: MIT
// The aiocpp side of `./scripts/bench cores`: work spread over the cores.
// Each workload mirrors one in cores_bench.py (Python's ProcessPoolExecutor
// awaited with loop.run_in_executor); cores_report.py runs both in the same
// session and prints the ratios.
//
//   cores_bench <workload> [--n N] [--workers W] [--depth D (pipeline_depth)]
//
// Prints one JSON object on stdout: {"workload", "value", "unit", "n", ...}.
// Workloads (see usage()): cpu_bound, trivial_jobs, trivial_seq. More can be
// added to the table at the bottom (one function each).

#include <sys/resource.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <utility>
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

// CPU time of this process and its reaped children (the workers are the
// fork server's children, so theirs is not counted: the report says so).
double cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// One JSON object on stdout: the workload, its figure, its size, and extra numbers.
void print_result(const char* workload, double value, const char* unit, std::size_t n,
                  std::initializer_list<std::pair<const char*, double>> extra) {
  std::printf("{\"workload\": \"%s\", \"value\": %.6g, \"unit\": \"%s\", \"n\": %zu", workload, value, unit, n);
  for (const auto& [name, v] : extra) std::printf(", \"%s\": %.6g", name, v);
  std::printf("}\n");
}

}  // namespace

// The guide's cpu_bound_task: sum(i * n for i in range(n)). Unsigned, so the
// overflow wraps (Python's integers do not overflow; only the time matters).
// The empty asm keeps GCC from replacing the loop by its closed form.
std::uint64_t cpu_bound_task(std::uint64_t n) {
  std::uint64_t s = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    s += i * n;
    asm volatile("" : "+r"(s));
  }
  return s;
}
AIO_PROCESS_JOB(cpu_bound_task);

std::uint64_t trivial(std::uint64_t x) { return x + 1; }
AIO_PROCESS_JOB(trivial);

namespace {

// Starts every worker and waits until each answered once: startup is outside the timings.
aio::task<> warm_up(aio::process_pool_executor& pool) {
  std::vector<aio::concurrent_future<std::uint64_t>> fs;
  for (std::size_t i = 0; i < 4 * pool.max_workers(); ++i) fs.push_back(pool.submit(trivial, i));
  for (auto& f : fs) co_await f;
}

// --- 1. cpu_bound: the guide's cpu_bound_task(n) x4, all submitted at once ----

aio::task<> cpu_bound(std::size_t n, std::size_t workers) {
  aio::process_pool_executor pool(workers);
  co_await warm_up(pool);
  auto t0 = clock_type::now();
  std::vector<aio::concurrent_future<std::uint64_t>> fs;
  for (int i = 0; i < 4; ++i) fs.push_back(pool.submit(cpu_bound_task, std::uint64_t{n}));
  std::uint64_t check = 0;
  for (auto& f : fs) check += co_await f;  // used, so the work is not optimised away
  double elapsed = seconds_since(t0);
  print_result("cpu_bound", elapsed, "s", n,
               {{"workers", double(workers)}, {"tasks", 4}, {"check", double(check & 0xffff)}});
}

// --- 2. trivial_jobs: 64 coroutines each await trivial(i) N/64 times --------

aio::task<> trivial_worker(aio::process_pool_executor& pool, std::size_t count, std::uint64_t& sum) {
  for (std::size_t i = 0; i < count; ++i) sum += co_await pool.submit(trivial, std::uint64_t{i});
}

std::size_t depth = 0;  // --depth: process_pool_options::pipeline_depth (0: its default)

aio::process_pool_options options(std::size_t workers) {
  aio::process_pool_options o;
  o.max_workers = workers;
  if (depth) o.pipeline_depth = depth;
  return o;
}

aio::task<> trivial_jobs(std::size_t n, std::size_t workers) {
  constexpr std::size_t coroutines = 64;
  aio::process_pool_executor pool(options(workers));
  co_await warm_up(pool);
  std::size_t per = n / coroutines;
  std::uint64_t sum = 0;
  double cpu0 = cpu_seconds();
  auto t0 = clock_type::now();
  std::vector<aio::task_handle<>> handles;
  for (std::size_t c = 0; c < coroutines; ++c)
    handles.push_back(aio::create_task(trivial_worker(pool, per, sum)));
  for (auto& h : handles) co_await h;
  double elapsed = seconds_since(t0);
  double cpu = cpu_seconds() - cpu0;
  if (sum != coroutines * (per * (per + 1) / 2)) throw std::runtime_error("trivial_jobs: wrong sum");
  std::size_t jobs = per * coroutines;
  print_result("trivial_jobs", double(jobs) / elapsed, "jobs/s", jobs,
               {{"seconds", elapsed}, {"parent_cpu_us_per_job", cpu / double(jobs) * 1e6}, {"workers", double(workers)}});
}

// --- 3. trivial_seq: one coroutine awaits trivial(i) N times in a row (latency) ---

aio::task<> trivial_seq(std::size_t n, std::size_t workers) {
  aio::process_pool_executor pool(options(workers));
  co_await warm_up(pool);
  std::uint64_t sum = 0;
  auto t0 = clock_type::now();
  for (std::size_t i = 0; i < n; ++i) sum += co_await pool.submit(trivial, std::uint64_t{i});
  double elapsed = seconds_since(t0);
  if (sum != n * (n + 1) / 2) throw std::runtime_error("trivial_seq: wrong sum");
  print_result("trivial_seq", double(n) / elapsed, "jobs/s", n, {{"seconds", elapsed}, {"workers", double(workers)}});
}

struct workload {
  const char* name;
  aio::task<> (*run)(std::size_t n, std::size_t workers);
  std::size_t default_n;
  const char* help;
};

const workload workloads[] = {
    {"cpu_bound", cpu_bound, 100'000'000, "cpu_bound_task(n) x4 through the pool: wall seconds"},
    {"trivial_jobs", trivial_jobs, 200'000, "64 coroutines await trivial jobs in a row: jobs/s"},
    {"trivial_seq", trivial_seq, 50'000, "one coroutine awaits trivial jobs in a row: jobs/s"},
};

int usage() {
  std::fprintf(stderr, "usage: cores_bench <workload> [--n N] [--workers W] [--depth D]\n");
  for (const auto& w : workloads)
    std::fprintf(stderr, "  %-14s %s (default n %zu)\n", w.name, w.help, w.default_n);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  std::string_view name = argv[1];
  std::size_t n = 0, workers = 2;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--n") == 0)
      n = std::strtoull(argv[i + 1], nullptr, 10);
    else if (std::strcmp(argv[i], "--workers") == 0)
      workers = std::strtoull(argv[i + 1], nullptr, 10);
    else if (std::strcmp(argv[i], "--depth") == 0)
      depth = std::strtoull(argv[i + 1], nullptr, 10);
    else
      return usage();
  }
  aio::start_fork_server();  // before the loop (and any thread) exists
  for (const auto& w : workloads)
    if (name == w.name) {
      aio::run(w.run(n ? n : w.default_n, workers));
      return 0;
    }
  return usage();
}
