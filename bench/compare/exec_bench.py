# SPDX-License-Identifier: MIT
"""The asyncio / uvloop side of `./scripts/bench exec`.

Each workload mirrors one in exec_bench.cpp line for line; report.py runs both
in the same session and prints the ratios.

    /usr/bin/python3 exec_bench.py <workload> --loop asyncio|uvloop [--n N]

Prints one JSON object on stdout: {"workload", "value", "unit", "n", ...}.
"""

import argparse
import asyncio
import json
import sys
import time


def print_result(workload, value, unit, n, **extra):
    print(json.dumps({"workload": workload, "value": value, "unit": unit, "n": n, **extra}), flush=True)


def trivial(x):
    return x + 1


# --- 1. one coroutine awaits to_thread(trivial) N times in a row ---------------

async def to_thread_seq(n):
    await asyncio.to_thread(trivial, 0)  # the pool's first thread starts outside the timing
    total = 0
    t0 = time.perf_counter()
    for i in range(n):
        total += await asyncio.to_thread(trivial, i)
    elapsed = time.perf_counter() - t0
    if total != n * (n + 1) // 2:
        raise RuntimeError("to_thread_seq: wrong sum")
    print_result("to_thread_seq", n / elapsed, "calls/s", n, seconds=elapsed)


# --- 2. 64 coroutines each await to_thread(trivial) N/64 times ------------------

async def to_thread_worker(count, sums):
    s = 0
    for i in range(count):
        s += await asyncio.to_thread(trivial, i)
    sums.append(s)


async def to_thread_concurrent(n):
    coroutines = 64
    await asyncio.to_thread(trivial, 0)
    per = n // coroutines
    sums = []
    t0 = time.perf_counter()
    await asyncio.gather(*(to_thread_worker(per, sums) for _ in range(coroutines)))
    elapsed = time.perf_counter() - t0
    if sum(sums) != coroutines * (per * (per + 1) // 2):
        raise RuntimeError("to_thread_concurrent: wrong sum")
    print_result("to_thread_concurrent", per * coroutines / elapsed, "calls/s", per * coroutines, seconds=elapsed)


WORKLOADS = {"to_thread_seq": to_thread_seq, "to_thread_concurrent": to_thread_concurrent}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workload", choices=sorted(WORKLOADS))
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    parser.add_argument("--n", type=int, default=100_000)
    args = parser.parse_args()
    if args.n < 64:
        parser.error("--n must be at least 64")
    if args.loop == "uvloop":
        import uvloop
        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    loop.run_until_complete(WORKLOADS[args.workload](args.n))
    loop.run_until_complete(loop.shutdown_default_executor())
    loop.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
