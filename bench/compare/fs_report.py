# SPDX-License-Identifier: MIT
"""Runs `./scripts/bench fs`: every workload through aiocpp on io_uring and on
the epoll backend (files on the internal thread pool), a plain synchronous
C++ loop (fs_bench --sync), aiofiles and a synchronous Python loop
(fs_bench.py), and `cat` / `dd` — in this session on this machine, on files
in one scratch directory; prints one table with the ratios against the
anchors issue 6 names.

    /usr/bin/python3 fs_report.py --fs-bench build/bench/bench/fs_bench [--quick] [--json FILE] [--dir DIR]

The reads are of cached files (each is read once before it is measured):
what is compared is the software path, not the disk. Writes go to the page
cache (no fsync); the file is removed before each run, so no run pays for
the previous one's writeback.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from report import HERE, PYTHON, anchor_ratios, finish, fmt, ratio_cells, run_json  # shared with core/exec/net

MIB = 1 << 20
PAGE = 4096

# key, title, unit, sizes {side: (full, quick)}, goals [(anchor, minimum ratio or None: report only)].
WORKLOADS = [
    ("seq_read", "sequential read of a cached file, 64 KiB chunks", "MB/s",
     {"bytes": (1024 * MIB, 256 * MIB)},
     [("cat", 0.8), ("aiofiles", 10.0), ("dd", None), ("C++ sync", None)]),
    ("seq_write", "sequential write, 64 KiB chunks, no fsync", "MB/s",
     {"bytes": (1024 * MIB, 256 * MIB)},
     [("dd", 0.8), ("aiofiles", 8.0), ("C++ sync", None)]),
    ("small_files", "files of 4 KiB read concurrently (whole-file read each)", "files/s",
     {"files": (10_000, 2_000)},
     [("aiofiles", 30.0), ("C++ sync", 1.0), ("Python sync", None)]),
    ("small_files_64", "as small_files, 64 coroutines each taking the next file (bounded concurrency)", "files/s",
     {"files": (10_000, 2_000)},
     [("aiofiles", None), ("C++ sync", None), ("Python sync", None)]),
    ("rand_pread", "4 KiB preads at random offsets of the cached file, queue depth 32", "ops/s",
     {"aiocpp": (400_000, 100_000), "python": (64_000, 16_000)},
     [("epoll pool", None), ("C++ sync", None), ("aiofiles", None)]),
]
COLUMNS = ["io_uring", "epoll pool", "C++ sync", "cat", "dd", "aiofiles", "Python sync"]


def timed(cmd, stdout=None):
    """Runs cmd; returns (wall seconds, CPU seconds of the child)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.DEVNULL)
    _, status, use = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode})")
    return wall, use.ru_utime + use.ru_stime


def startup_seconds():
    """What starting a tiny program costs here: subtracted from cat / dd times."""
    return statistics.median(timed(["cat", "/dev/null"])[0] for _ in range(5))


def anchor_rate(name, cmd, n_bytes, startup, before=None):
    """(MB/s, CPU s) of a shell tool over n_bytes: the median of three runs."""
    runs = []
    for _ in range(3):
        if before:
            before()
        wall, cpu = timed(cmd, stdout=subprocess.DEVNULL)
        runs.append((max(wall - startup, 1e-6), cpu))
    wall, cpu = sorted(runs)[1]
    value = n_bytes / wall / 1e6
    print(f"  {name}: {value:.6g} MB/s", file=sys.stderr, flush=True)
    return value, cpu


def make_seq_file(path, n_bytes):
    block = os.urandom(MIB)
    with open(path, "wb") as f:
        for i in range(n_bytes // MIB):
            f.write(block[i % 251:] + block[:i % 251])  # not one block repeated page-aligned
    subprocess.run(["cat", path], stdout=subprocess.DEVNULL, check=True)  # now it is cached


def make_small_files(d, count):
    os.makedirs(d, exist_ok=True)
    for i in range(count):
        with open(f"{d}/f{i:05d}", "wb") as f:
            f.write(os.urandom(PAGE))
    subprocess.run(["sh", "-c", f"cat {d}/* > /dev/null"], check=True)


class Sides:
    """The figures of one workload: {column: value} and {column: CPU seconds}."""

    def __init__(self):
        self.values, self.cpu = {}, {}

    def add(self, column, result):
        self.values[column], self.cpu[column] = result["value"], result.get("cpu_s")

    def add_anchor(self, column, value_cpu):
        self.values[column], self.cpu[column] = value_cpu

    def aiocpp(self, cmd, before=None, rounds=3):
        """Both backends and the --sync loop, interleaved (io_uring, epoll,
        sync, io_uring, ...) so that a burst of load hits all three alike; the
        median of `rounds` runs each."""
        sides = (("uring", "io_uring"), ("epoll", "epoll pool"), (None, "C++ sync"))
        runs = {column: [] for _, column in sides}
        for _ in range(rounds):
            for backend, column in sides:
                if before:
                    before()
                env = dict(os.environ)
                env.pop("AIO_BACKEND", None)
                if backend:
                    env["AIO_BACKEND"] = backend
                runs[column].append(run_json(cmd + ([] if backend else ["--sync"]), 600, env=env))
        for column, r in runs.items():
            self.add(column, sorted(r, key=lambda x: x["value"])[len(r) // 2])


def measure(key, bench, tmp, quick, startup):
    """Every side of one workload, and the size it ran at."""
    idx = 1 if quick else 0
    sizes = next(w[3] for w in WORKLOADS if w[0] == key)
    py = [PYTHON, os.path.join(HERE, "fs_bench.py"), key]
    seq = os.path.join(tmp, "seq")
    seq_bytes = WORKLOADS[0][3]["bytes"][idx]
    if key in ("seq_read", "rand_pread") and not os.path.exists(seq):
        make_seq_file(seq, seq_bytes)
    sides = Sides()
    if key == "seq_read":
        args = ["--file", seq]
        sides.aiocpp([bench, key, *args])
        sides.add_anchor("cat", anchor_rate("cat", ["cat", seq], seq_bytes, startup))
        sides.add_anchor("dd", anchor_rate("dd", ["dd", f"if={seq}", "of=/dev/null", "bs=64k"], seq_bytes, startup))
        sides.add("aiofiles", run_json([*py, *args], 600))
        return sides, f"{seq_bytes // MIB} MiB"
    if key == "seq_write":
        n = sizes["bytes"][idx]
        out = os.path.join(tmp, "written")

        def fresh():
            if os.path.exists(out):
                os.remove(out)

        args = ["--file", out, "--n", str(n)]
        os.sync()  # start from a clean page cache: no earlier writeback competes
        sides.aiocpp([bench, key, *args], fresh)
        sides.add_anchor("dd", anchor_rate("dd", ["dd", "if=/dev/zero", f"of={out}", "bs=64k",
                                                  f"count={n // 65536}"], n, startup, fresh))
        runs = []
        for _ in range(3):  # writes vary most from run to run: aiofiles gets its median too
            fresh()
            runs.append(run_json([*py, *args], 600))
        sides.add("aiofiles", sorted(runs, key=lambda r: r["value"])[1])
        fresh()
        return sides, f"{n // MIB} MiB"
    if key in ("small_files", "small_files_64"):
        count = sizes["files"][idx]
        d = os.path.join(tmp, "small")
        if not os.path.exists(os.path.join(d, f"f{count - 1:05d}")):
            make_small_files(d, count)
        args = ["--dir", d, "--n", str(count)] + (["--depth", "64"] if key == "small_files_64" else [])
        bench_key = [bench, "small_files", *args]
        py = [PYTHON, os.path.join(HERE, "fs_bench.py"), "small_files", *args]
        sides.aiocpp(bench_key, rounds=7)  # a run lasts 50 ms: one hiccup of the machine is a third of it
        sides.add("aiofiles", run_json(py, 600))
        sides.add("Python sync", run_json([*py, "--sync"], 600))
        return sides, f"{count:,} files"
    # rand_pread: on the seq_read file, cached.
    n_cpp, n_py = sizes["aiocpp"][idx], sizes["python"][idx]
    args = ["--file", seq, "--depth", "32"]
    sides.aiocpp([bench, key, *args, "--n", str(n_cpp)])
    sides.add("aiofiles", run_json([*py, *args, "--n", str(n_py)], 600))
    sides.add("Python sync", run_json([*py, *args, "--n", str(n_cpp), "--sync"], 600))
    return sides, f"{n_cpp:,} ops (asyncio {n_py:,}) in {seq_bytes // MIB} MiB"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fs-bench", required=True)
    parser.add_argument("--quick", action="store_true", help="smaller sizes (the table says which)")
    parser.add_argument("--json", metavar="FILE")
    parser.add_argument("--dir", help="where the scratch files go (default: a new directory under /tmp)")
    parser.add_argument("--only", nargs="*", choices=[w[0] for w in WORKLOADS])
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    start_load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    tmp = tempfile.mkdtemp(prefix="aio-fs-bench-", dir=args.dir)
    rows = []
    try:
        startup = startup_seconds()
        for key, title, unit, _, anchors in WORKLOADS:
            if args.only and key not in args.only:
                continue
            print(f"{key}:", file=sys.stderr, flush=True)
            sides, size = measure(key, args.fs_bench, tmp, args.quick, startup)
            values = sides.values
            goals = anchor_ratios(values, "io_uring", anchors)
            rows.append({"name": key, "title": title, "unit": unit, "size": size, "values": values,
                         "cpu_s": sides.cpu, "ratios": goals})
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print()
    print("| workload | unit | size | " + " | ".join(COLUMNS) + " | ratios (aiocpp io_uring / anchor) | goals met |")
    print("|---|---|---|" + "--:|" * len(COLUMNS) + "---|---|")
    for r in rows:
        v = r["values"]
        ratios, met = ratio_cells(r["ratios"])
        print(f"| {r['name']} | {r['unit']} | {r['size']} | " + " | ".join(fmt(v.get(c)) for c in COLUMNS)
              + f" | {ratios} | {met} |")
    print()
    print("CPU seconds per run (user + system, threads and kernel workers included; a loaded machine "
          "stretches wall time, not these):")
    for r in rows:
        print(f"  {r['name']}: " + ", ".join(f"{c} {r['cpu_s'][c]:.3g}" for c in COLUMNS
                                           if r["cpu_s"].get(c) is not None))
    print()
    print("io_uring / epoll pool: aiocpp on each backend (AIO_BACKEND); C++ sync: the same workload as a plain "
          "loop of system calls (fs_bench --sync); cat / dd: wall time minus a program's start-up "
          f"({startup * 1e3:.2f} ms here); aiofiles: Python asyncio + aiofiles (rand_pread: os.pread in the "
          "default executor, which is what aiofiles would do); Python sync: a plain Python loop. "
          "aiocpp and C++ figures: median of three interleaved runs (seven for the small files); Python: one run.")
    if args.quick:
        print("--quick: reduced sizes (see the size column); the issue's goals are stated for 1 GiB and 10,000 files.")
    finish(rows, start_load, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
