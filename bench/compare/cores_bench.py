# SPDX-License-Identifier: MIT
"""The Python side of `./scripts/bench cores`: concurrent.futures.ProcessPoolExecutor
awaited from asyncio with loop.run_in_executor.

Each workload mirrors one in cores_bench.cpp line for line; cores_report.py
runs both in the same session and prints the ratios.

    /usr/bin/python3 cores_bench.py <workload> [--n N] [--workers W]

Prints one JSON object on stdout: {"workload", "value", "unit", "n", ...}.
The pool uses Python's default start method on Linux (fork, the fastest).
"""

import argparse
import asyncio
import concurrent.futures
import json
import resource
import sys
import time


def print_result(workload, value, unit, n, **extra):
    print(json.dumps({"workload": workload, "value": value, "unit": unit, "n": n, **extra}), flush=True)


def cpu_bound_task(n):  # the guide's
    return sum(i * n for i in range(n))


def trivial(x):
    return x + 1


def cpu_seconds():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


async def warm_up(loop, pool, workers):
    await asyncio.gather(*(loop.run_in_executor(pool, trivial, i) for i in range(4 * workers)))


# --- 1. cpu_bound: the guide's cpu_bound_task(n) x4, all submitted at once ----

async def cpu_bound(n, workers):
    loop = asyncio.get_running_loop()
    with concurrent.futures.ProcessPoolExecutor(max_workers=workers) as pool:
        await warm_up(loop, pool, workers)
        t0 = time.perf_counter()
        await asyncio.gather(*(loop.run_in_executor(pool, cpu_bound_task, n) for _ in range(4)))
        elapsed = time.perf_counter() - t0
    print_result("cpu_bound", elapsed, "s", n, workers=workers, tasks=4)


# --- 2. trivial_jobs: 64 coroutines each await trivial(i) N/64 times --------

async def trivial_worker(loop, pool, count, sums):
    s = 0
    for i in range(count):
        s += await loop.run_in_executor(pool, trivial, i)
    sums.append(s)


async def trivial_jobs(n, workers):
    coroutines = 64
    loop = asyncio.get_running_loop()
    with concurrent.futures.ProcessPoolExecutor(max_workers=workers) as pool:
        await warm_up(loop, pool, workers)
        per = n // coroutines
        sums = []
        cpu0 = cpu_seconds()
        t0 = time.perf_counter()
        await asyncio.gather(*(trivial_worker(loop, pool, per, sums) for _ in range(coroutines)))
        elapsed = time.perf_counter() - t0
        cpu = cpu_seconds() - cpu0
    if sum(sums) != coroutines * (per * (per + 1) // 2):
        raise RuntimeError("trivial_jobs: wrong sum")
    jobs = per * coroutines
    print_result("trivial_jobs", jobs / elapsed, "jobs/s", jobs, seconds=elapsed,
                 parent_cpu_us_per_job=cpu / jobs * 1e6, workers=workers)


# --- 3. trivial_seq: one coroutine awaits trivial(i) N times in a row (latency) ---

async def trivial_seq(n, workers):
    loop = asyncio.get_running_loop()
    with concurrent.futures.ProcessPoolExecutor(max_workers=workers) as pool:
        await warm_up(loop, pool, workers)
        total = 0
        t0 = time.perf_counter()
        for i in range(n):
            total += await loop.run_in_executor(pool, trivial, i)
        elapsed = time.perf_counter() - t0
    if total != n * (n + 1) // 2:
        raise RuntimeError("trivial_seq: wrong sum")
    print_result("trivial_seq", n / elapsed, "jobs/s", n, seconds=elapsed, workers=workers)


WORKLOADS = {
    "cpu_bound": (cpu_bound, 100_000_000),
    "trivial_jobs": (trivial_jobs, 20_000),
    "trivial_seq": (trivial_seq, 5_000),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workload", choices=sorted(WORKLOADS))
    parser.add_argument("--n", type=int)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    fn, default_n = WORKLOADS[args.workload]
    asyncio.run(fn(args.n or default_n, args.workers))
    return 0


if __name__ == "__main__":
    sys.exit(main())
