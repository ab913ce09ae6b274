// SPDX-License-Identifier: MIT
// Lesson "use-every-core": a loop is one thread on one core. The guide's
// two examples: four processes each running its own loop (their tasks
// print when they start and finish), then the guide's cpu_bound_task four
// times, with one worker process and then with two, and the speed-up this
// machine gives. Sections are functions called in order by use_every_core;
// the process_pool_executor section (a pool that coroutines await while a
// ticker keeps ticking) comes last.

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "aio/core/create_task.hpp"
#include "aio/core/run.hpp"
#include "aio/core/sleep.hpp"
#include "aio/exec/process_pool_executor.hpp"
#include "aio/workers/run.hpp"
#include "tour.hpp"

namespace aio::tour {

namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

// --- four processes, four loops ---------------------------------------------

task<> print_task(std::size_t n, milliseconds d) {
  std::printf("    task %zu started in process %d\n", n, static_cast<int>(::getpid()));
  std::fflush(stdout);
  co_await aio::sleep(d);
  std::printf("    task %zu finished in process %d\n", n, static_cast<int>(::getpid()));
  std::fflush(stdout);
}

void processes_section(const options& opts) {
  const milliseconds d = opts.quick ? 200ms : 1000ms;
  paragraph("aio::workers::run(4, main) forks four processes; each runs aio::run(main(i)) on its own "
            "event loop, so their tasks run at the same time on different cores (the parent "
            "supervises them: a worker that dies is restarted, SIGTERM stops them all gracefully). "
            "Each task waits " + std::to_string(d.count()) + " ms:");
  std::printf("\n");
  const auto start = steady_clock::now();
  workers::run(4, [d](std::size_t i) { return print_task(i, d); });
  std::printf("\n");
  paragraph("All four finished after " + format_duration(since(start)) +
            ", not four times " + std::to_string(d.count()) + " ms: four loops, four processes.");
}

// --- the guide's cpu_bound_task ---------------------------------------------

// The guide's `sum(i * n for i in range(10**8))`. The empty asm keeps the
// compiler from replacing the loop with its closed form: the point is to
// burn the CPU.
std::uint64_t cpu_bound_task(std::uint64_t n, std::uint64_t below) {
  std::uint64_t sum = 0;
  for (std::uint64_t i = 0; i < below; ++i) {
    asm volatile("" : "+r"(i));
    sum += i * n;
  }
  return sum;
}

task<> compute_share(std::size_t worker, std::size_t workers, std::uint64_t below) {
  // Tasks 1..4 dealt out to the workers: worker w takes n = w+1, w+1+workers, …
  for (std::uint64_t n = worker + 1; n <= 4; n += workers) {
    const std::uint64_t sum = cpu_bound_task(n, below);
    std::printf("    cpu_bound_task(%llu) = %llu  (process %d)\n", static_cast<unsigned long long>(n),
                static_cast<unsigned long long>(sum), static_cast<int>(::getpid()));
    std::fflush(stdout);
  }
  co_return;
}

// The one-minute load average (/proc/loadavg), or 0.
double load_average() {
  double load = 0;
  if (std::FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &load) != 1) load = 0;
    std::fclose(f);
  }
  return load;
}

steady_clock::duration time_workers(std::size_t n, std::uint64_t below) {
  std::printf("  %s\n", bold("workers::run(" + std::to_string(n) + ")").c_str());
  std::fflush(stdout);
  const auto start = steady_clock::now();
  workers::run(n, [n, below](std::size_t i) { return compute_share(i, n, below); });
  const auto wall = since(start);
  std::printf("    %s\n\n", dim("wall time " + format_duration(wall)).c_str());
  return wall;
}

void cpu_bound_section(const options& opts) {
  const std::uint64_t below = opts.quick ? 20'000'000 : 100'000'000;
  paragraph("The guide's cpu_bound_task(n) sums i * n for i below " +
            std::string(opts.quick ? "2*10**7 (--quick; the guide uses 10**8)" : "10**8") +
            ". A coroutine cannot make it faster: it never waits, so it holds its loop's only "
            "thread. Four of them, first in one worker process, then dealt out to two:");
  std::printf("\n");
  const auto one = time_workers(1, below);
  const auto two = time_workers(2, below);
  const double speedup = static_cast<double>(one.count()) / static_cast<double>(two.count());
  char line[96];
  std::snprintf(line, sizeof line, "Two processes: %.2fx the speed of one (this machine has %ld cores).",
                speedup, ::sysconf(_SC_NPROCESSORS_ONLN));
  std::printf("  %s\n\n", bold(line).c_str());
  if (double load = load_average(); speedup < 1.5 && load >= 1.0) {
    char busy[160];
    std::snprintf(busy, sizeof busy,
                  "The machine is busy (load average %.1f): other processes hold the cores, so the "
                  "second worker had no idle core to run on. On an idle machine expect close to 2x.",
                  load);
    paragraph(busy);
    std::printf("\n");
  }
  paragraph(dim("In Python the same holds, with one more reason: the GIL lets one thread run Python "
                "code at a time, so only processes use more cores. In C++ threads would also do "
                "(workers::run_threads: one loop per thread), but processes isolate a crash."));
}

// --- the same work in a process pool that coroutines await --------------------

task<> pool_run(process_pool_executor& pool, std::uint64_t below, std::chrono::nanoseconds& worst,
                std::chrono::nanoseconds& wall) {
  bool stop = false;
  auto tick = create_task(ticker(stop, worst));
  const auto start = steady_clock::now();
  std::vector<concurrent_future<std::uint64_t>> jobs;
  for (std::uint64_t n = 1; n <= 4; ++n) jobs.push_back(pool.submit(cpu_bound_task, n, below));
  for (std::uint64_t n = 1; n <= 4; ++n) {
    const std::uint64_t sum = co_await jobs[n - 1];
    std::printf("    cpu_bound_task(%llu) = %llu  (awaited on the loop, process %d)\n",
                static_cast<unsigned long long>(n), static_cast<unsigned long long>(sum),
                static_cast<int>(::getpid()));
    std::fflush(stdout);
  }
  wall = since(start);
  stop = true;
  co_await tick;
}

void process_pool_section(const options& opts) {
  const std::uint64_t below = opts.quick ? 20'000'000 : 100'000'000;
  paragraph("Inside one program, a process pool does the same for CPU-bound calls: "
            "aio::process_pool_executor pool(2) starts two worker processes once, and coroutines "
            "co_await pool.submit(cpu_bound_task, n, below) like any other awaitable. A ticker "
            "task wakes every 10 ms on the loop meanwhile:");
  std::printf("\n");
  process_pool_executor pool(2);
  std::chrono::nanoseconds worst{0}, wall{0};
  aio::run(pool_run(pool, below, worst, wall));
  std::printf("\n");
  paragraph("Four tasks in " + format_duration(wall) + " on two workers, and the ticker woke at worst " +
            format_duration(worst) + " late: the loop never stopped. A worker that crashes fails only "
            "the job it ran; the pool starts another (Python's ProcessPoolExecutor breaks for good).");
}

}  // namespace

// A process job is a function registered by name; the pool's workers find it so.
AIO_PROCESS_JOB(cpu_bound_task);

void use_every_core(const options& opts) {
  processes_section(opts);
  std::printf("\n");
  cpu_bound_section(opts);
  std::printf("\n");
  process_pool_section(opts);
}

}  // namespace aio::tour
