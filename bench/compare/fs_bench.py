# SPDX-License-Identifier: MIT
"""The Python side of `./scripts/bench fs`: each workload of fs_bench.cpp
through aiofiles on asyncio (what an asyncio program uses for files), or with
--sync as a plain synchronous Python loop (no event loop).

    /usr/bin/python3 fs_bench.py seq_read    --file F [--chunk 65536] [--sync]
    /usr/bin/python3 fs_bench.py seq_write   --file F --n BYTES [--chunk 65536] [--sync]
    /usr/bin/python3 fs_bench.py small_files --dir D --n FILES [--depth K] [--sync]
    /usr/bin/python3 fs_bench.py rand_pread  --file F --n OPS [--depth 32] [--sync]

rand_pread: aiofiles has no pread; what it would do (and what asyncio
programs do) is os.pread in the default executor, so that is what runs.

small_files reads every file at once (asyncio.gather), or with --depth K
through K worker coroutines, each taking the next file.

Prints one JSON object: {"workload", "value", "unit", "n", "backend", "cpu_s"}.
"""

import argparse
import asyncio
import json
import os
import resource
import sys
import time

import aiofiles

PAGE = 4096
MASK64 = (1 << 64) - 1


def offsets(pages):
    """The same page-aligned offsets as fs_bench.cpp (xorshift64)."""
    x = 88172645463325252
    while True:
        x ^= (x << 13) & MASK64
        x ^= x >> 7
        x ^= (x << 17) & MASK64
        yield (x % pages) * PAGE


def small_name(d, i):
    return f"{d}/f{i:05d}"


# --- aiofiles -------------------------------------------------------------------

async def seq_read(a):
    total = 0
    async with aiofiles.open(a.file, "rb") as f:
        while True:
            chunk = await f.read(a.chunk)
            if not chunk:
                break
            total += len(chunk)
    return total


async def seq_write(a):
    block = b"x" * a.chunk
    total = 0
    async with aiofiles.open(a.file, "wb") as f:
        while total < a.n:
            total += await f.write(block[: a.n - total])
    return total


async def read_one(path):
    async with aiofiles.open(path, "rb") as f:
        return len(await f.read())


async def small_files(a):
    if a.depth:
        names = iter(range(a.n))

        async def worker():
            return sum([await read_one(small_name(a.dir, i)) for i in names])

        return sum(await asyncio.gather(*(worker() for _ in range(a.depth))))
    sizes = await asyncio.gather(*(read_one(small_name(a.dir, i)) for i in range(a.n)))
    return sum(sizes)


async def rand_pread(a):
    loop = asyncio.get_running_loop()
    fd = os.open(a.file, os.O_RDONLY)
    where = offsets(os.fstat(fd).st_size // PAGE)

    async def worker(ops):
        got = 0
        for _ in range(ops):
            got += len(await loop.run_in_executor(None, os.pread, fd, PAGE, next(where)))
        return got

    try:
        return sum(await asyncio.gather(*(worker(a.n // a.depth) for _ in range(a.depth))))
    finally:
        os.close(fd)


# --- plain synchronous Python ---------------------------------------------------

def sync_seq_read(a):
    total = 0
    with open(a.file, "rb", buffering=0) as f:
        while chunk := f.read(a.chunk):
            total += len(chunk)
    return total


def sync_seq_write(a):
    block = b"x" * a.chunk
    total = 0
    with open(a.file, "wb", buffering=0) as f:
        while total < a.n:
            total += f.write(block[: a.n - total])
    return total


def sync_small_files(a):
    total = 0
    for i in range(a.n):
        with open(small_name(a.dir, i), "rb") as f:
            total += len(f.read())
    return total


def sync_rand_pread(a):
    fd = os.open(a.file, os.O_RDONLY)
    where = offsets(os.fstat(fd).st_size // PAGE)
    total = 0
    for _ in range(a.n // a.depth * a.depth):
        total += len(os.pread(fd, PAGE, next(where)))
    os.close(fd)
    return total


WORKLOADS = {"seq_read": (seq_read, sync_seq_read), "seq_write": (seq_write, sync_seq_write),
             "small_files": (small_files, sync_small_files), "rand_pread": (rand_pread, sync_rand_pread)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workload", choices=WORKLOADS)
    parser.add_argument("--file")
    parser.add_argument("--dir")
    parser.add_argument("--n", type=int, default=0)
    parser.add_argument("--chunk", type=int, default=65536)
    parser.add_argument("--depth", type=int, default=0, help="rand_pread: 32 unless given; small_files: 0 = all")
    parser.add_argument("--sync", action="store_true")
    a = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:  # 10,000 files at once, as fs_bench.cpp
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if a.workload == "rand_pread" and not a.depth:
        a.depth = 32
    coro, sync = WORKLOADS[a.workload]
    t0 = time.perf_counter()
    nbytes = sync(a) if a.sync else asyncio.run(coro(a))
    s = time.perf_counter() - t0
    n = a.n
    if a.workload in ("seq_read", "seq_write"):
        value, unit, n = nbytes / s / 1e6, "MB/s", nbytes
    elif a.workload == "small_files":
        if nbytes != a.n * PAGE:
            sys.exit(f"small_files read {nbytes} bytes")
        value, unit = a.n / s, "files/s"
    else:
        n = nbytes // PAGE
        value, unit = n / s, "ops/s"
    use = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"workload": a.workload, "value": value, "unit": unit, "n": n,
                      "backend": "python-sync" if a.sync else "aiofiles", "cpu_s": use.ru_utime + use.ru_stime}),
          flush=True)


if __name__ == "__main__":
    main()
