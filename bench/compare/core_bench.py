# SPDX-License-Identifier: MIT
"""The asyncio / uvloop side of `./scripts/bench core`.

Each workload mirrors one in core_bench.cpp line for line; report.py runs both
in the same session and prints the ratios.

    /usr/bin/python3 core_bench.py <workload> --loop asyncio|uvloop [--n N]

Prints one JSON object on stdout: {"workload", "value", "unit", "n", ...}.
"""

import argparse
import asyncio
import json
import os
import resource
import sys
import threading
import time


def rss_bytes():
    """Resident set size now, in bytes (the second field of /proc/self/statm)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGESIZE")


def cpu_seconds():
    """CPU time this process used so far (user + system), in seconds."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def print_result(workload, value, unit, n, **extra):
    print(json.dumps({"workload": workload, "value": value, "unit": unit, "n": n, **extra}), flush=True)


# --- 1. create_task + await of a trivial coroutine, in gathered batches --------

async def trivial():
    pass


async def spawn_workload(n, batch):
    t0 = time.perf_counter()
    done = 0
    while done < n:
        this_batch = min(batch, n - done)
        await asyncio.gather(*[asyncio.create_task(trivial()) for _ in range(this_batch)])
        done += this_batch
    elapsed = time.perf_counter() - t0
    print_result("spawn", n / elapsed, "tasks/s", n, batch=batch, seconds=elapsed)


# --- 2. memory of N tasks suspended in sleep(10 s) -----------------------------

async def sleeper(d):
    await asyncio.sleep(d)


async def memory_workload(n):
    tasks = [None] * n  # the list is not the tasks' memory: allocate it first
    before = rss_bytes()
    for i in range(n):
        tasks[i] = asyncio.create_task(sleeper(10))
    await asyncio.sleep(0)  # every task runs to its sleep before this one resumes
    after = rss_bytes()
    t0 = time.perf_counter()
    for t in tasks:
        t.cancel()
    await asyncio.sleep(0)  # the cancelled tasks finish before this one resumes
    cancel_seconds = time.perf_counter() - t0
    if not all(t.cancelled() for t in tasks):
        raise RuntimeError("memory: a task was not cancelled")
    print_result("memory", (after - before) / n, "B/task", n,
                 rss_before=before, rss_after=after, cancel_seconds=cancel_seconds)


# --- 3. N concurrent sleep(0.5 s): wall time until all are done -----------------

async def sleep_wall_workload(n):
    cpu0 = cpu_seconds()
    t0 = time.perf_counter()
    tasks = [asyncio.create_task(sleeper(0.5)) for _ in range(n)]
    created = time.perf_counter() - t0
    await tasks[0]
    first_done = time.perf_counter() - t0
    for t in tasks:
        await t
    print_result("sleep_wall", time.perf_counter() - t0, "s", n, created_s=created, first_done_s=first_done,
                 cpu_s=cpu_seconds() - cpu0)


# --- 4. ping-pong between two tasks ---------------------------------------------

async def pingpong_event_workload(n):
    ping, pong = asyncio.Event(), asyncio.Event()

    async def server():
        for _ in range(n):
            await ping.wait()
            ping.clear()
            pong.set()

    t0 = time.perf_counter()
    s = asyncio.create_task(server())
    for _ in range(n):
        ping.set()
        await pong.wait()
        pong.clear()
    await s
    elapsed = time.perf_counter() - t0
    print_result("pingpong_event", 2 * n / elapsed, "switches/s", n, seconds=elapsed)


async def pingpong_queue_workload(n):
    requests, replies = asyncio.Queue(1), asyncio.Queue(1)

    async def server():
        for _ in range(n):
            replies.put_nowait(await requests.get())

    t0 = time.perf_counter()
    s = asyncio.create_task(server())
    for i in range(n):
        await requests.put(i)
        if await replies.get() != i:
            raise RuntimeError("pingpong_queue: wrong reply")
    await s
    elapsed = time.perf_counter() - t0
    print_result("pingpong_queue", 2 * n / elapsed, "switches/s", n, seconds=elapsed)


# --- 5. call_soon_threadsafe from another thread ---------------------------------

def threadsafe_workload(n, new_loop):
    loop = new_loop()
    count = 0

    def bump():
        nonlocal count
        count += 1
        if count == n:
            loop.stop()

    def produce():
        for _ in range(n):
            loop.call_soon_threadsafe(bump)

    t0 = time.perf_counter()
    producer = threading.Thread(target=produce)
    producer.start()
    loop.run_forever()
    elapsed = time.perf_counter() - t0
    producer.join()
    loop.close()
    if count != n:
        raise RuntimeError("threadsafe: callbacks lost")
    print_result("threadsafe", n / elapsed, "callbacks/s", n, seconds=elapsed)


WORKLOADS = {
    "spawn": lambda n: spawn_workload(n, 10_000),
    "memory": memory_workload,
    "sleep_wall": sleep_wall_workload,
    "pingpong_event": pingpong_event_workload,
    "pingpong_queue": pingpong_queue_workload,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workload", choices=sorted([*WORKLOADS, "threadsafe"]))
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    parser.add_argument("--n", type=int, default=1_000_000)
    args = parser.parse_args()
    if args.n <= 0:
        parser.error("--n must be positive")
    if args.loop == "uvloop":
        import uvloop
        new_loop = uvloop.new_event_loop
    else:
        new_loop = asyncio.new_event_loop
    if args.workload == "threadsafe":
        threadsafe_workload(args.n, new_loop)
        return 0
    loop = new_loop()
    loop.run_until_complete(WORKLOADS[args.workload](args.n))
    # Tearing down a million task objects takes longer than the workload
    # itself and measures nothing: leave without it.
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
