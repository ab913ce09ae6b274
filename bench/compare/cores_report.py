# SPDX-License-Identifier: MIT
"""Runs `./scripts/bench cores`: work spread over the cores, through aiocpp
(cores_bench) and Python (cores_bench.py under /usr/bin/python3:
concurrent.futures.ProcessPoolExecutor awaited with loop.run_in_executor), in
this session on this machine; prints one table with the ratios and the goals.

    /usr/bin/python3 cores_report.py --cores-bench build/bench/bench/cores_bench \
        --workers-bench build/bench/bench/workers_bench [--quick] [--json FILE] [--only ...]

Each figure is the best of three runs, interleaved with the runs it is
compared with (Python's cpu_bound_task at full size: one run, it takes minutes).

Adding a workload: write a function `(args) -> list of rows` (make rows with
row()), and append (key, function) to WORKLOADS. The function runs whatever
it needs (e.g. another executable named by a new --xxx-bench option).
"""

import argparse
import json
import os
import sys

from report import HERE, PYTHON, run_json, fmt  # one way to run a benchmark process

CORES_PY = os.path.join(HERE, "cores_bench.py")


def row(name, title, unit, aiocpp, python, ratio, size, goal=None, met=None, note=""):
    """One line of the table. ratio: how much better aiocpp is (above 1: better)."""
    return {"name": name, "title": title, "unit": unit, "aiocpp": aiocpp, "python": python, "ratio": ratio,
            "size": size, "goal": goal, "met": met, "note": note}


def best_of(cmds, runs=3, higher_is_better=True, timeout=3600):
    """Runs each command `runs` times, interleaved (1, 2, 1, 2, ...), so that a
    change in the machine's load hits every command alike; returns each one's
    best result. Other processes on the machine only ever make a run slower,
    so the best run is the closest to this program's own cost."""
    results = [[] for _ in cmds]
    for _ in range(runs):
        for i, cmd in enumerate(cmds):
            results[i].append(run_json(cmd, timeout))
    pick = max if higher_is_better else min
    return [pick(r, key=lambda x: x["value"]) for r in results]


# --- 1. the guide's cpu_bound_task x4: 2 workers vs 1 ---------------------------

def cpu_bound(args):
    n_cpp = 10**7 if args.quick else 10**8
    n_py = 10**6 if args.quick else 10**8
    # C++ runs the guide's n in about 0.03 s a task: too short for a stable
    # ratio of wall times (a few ms of scheduling move it). The speed-up is
    # measured at 10x n, about a second per run, as Python's takes at n.
    n_long = 10 * n_cpp
    cpp = best_of([[args.cores_bench, "cpu_bound", "--n", str(n), "--workers", str(w)]
                   for n in (n_cpp, n_long) for w in (1, 2)], higher_is_better=False)
    py = best_of([[PYTHON, CORES_PY, "cpu_bound", "--n", str(n_py), "--workers", str(w)] for w in (1, 2)],
                 runs=1 if not args.quick else 3, higher_is_better=False)
    t = {("aiocpp", w): cpp[w - 1]["value"] for w in (1, 2)}
    t.update({("python", w): py[w - 1]["value"] for w in (1, 2)})
    speedup_cpp = cpp[2]["value"] / cpp[3]["value"]
    speedup_py = t["python", 1] / t["python", 2]
    size = f"n {n_cpp:,} / {n_py:,}"
    same_n = n_cpp == n_py
    rows = []
    for w in (1, 2):
        rows.append(row(f"cpu_bound_{w}w", f"cpu_bound_task(n) x4, {w} worker(s): wall time", "s",
                        t["aiocpp", w], t["python", w], t["python", w] / t["aiocpp", w] if same_n else None, size,
                        note="" if same_n else "different n: no ratio"))
    rows.append(row("cpu_bound_speedup", "cpu_bound_task x4: time with 1 worker / time with 2", "x",
                    speedup_cpp, speedup_py, None, f"n {n_long:,} / {n_py:,}", ">= 1.8x (aiocpp)",
                    speedup_cpp >= 1.8, note=f"Python's own speed-up: {speedup_py:.2f}x; aiocpp "
                    f"{cpp[2]['value']:.3g} s -> {cpp[3]['value']:.3g} s"))
    return rows


# --- 2. trivial jobs: the per-job overhead ---------------------------------------

def trivial_jobs(args):
    n_cpp = 50_000 if args.quick else 200_000
    n_py = 5_000 if args.quick else 20_000
    a, p = best_of([[args.cores_bench, "trivial_jobs", "--n", str(n_cpp), "--workers", "2"],
                    [PYTHON, CORES_PY, "trivial_jobs", "--n", str(n_py), "--workers", "2"]])
    ratio = a["value"] / p["value"]
    size = f"n {n_cpp:,} / {n_py:,}"
    return [
        row("trivial_jobs", "64 coroutines await trivial jobs in a row, 2 workers", "jobs/s",
            a["value"], p["value"], ratio, size, ">= 10x Python (per-job overhead 10x lower)", ratio >= 10),
        row("trivial_job_overhead", "the same: wall time per job (1 / rate)", "us/job",
            1e6 / a["value"], 1e6 / p["value"], ratio, size),
        row("trivial_job_parent_cpu", "the same: CPU time of the parent process per job", "us/job",
            a["parent_cpu_us_per_job"], p["parent_cpu_us_per_job"],
            p["parent_cpu_us_per_job"] / a["parent_cpu_us_per_job"], size),
    ]


def trivial_seq(args):
    n_cpp = 10_000 if args.quick else 50_000
    n_py = 1_000 if args.quick else 5_000
    a, p = best_of([[args.cores_bench, "trivial_seq", "--n", str(n_cpp), "--workers", "2"],
                    [PYTHON, CORES_PY, "trivial_seq", "--n", str(n_py), "--workers", "2"]])
    return [row("trivial_seq", "one coroutine awaits trivial jobs in a row (round-trip latency)", "jobs/s",
                a["value"], p["value"], a["value"] / p["value"], f"n {n_cpp:,} / {n_py:,}")]


# --- 3. one loop per process: a server under workers::run(1) vs run(2) ----------

def workers_server(args):
    cmd = [args.workers_bench] + (["--quick"] if args.quick else [])
    one, two = best_of([cmd + ["--workers", "1"], cmd + ["--workers", "2"]], runs=2)
    size = f"{one['connections']} connections from {one['clients']} client processes, same machine"
    speedup = two["value"] / one["value"]
    return [
        row("server_1w", "ping-pong server, workers::run(1)", "requests/s", one["value"], None, None, size),
        row("server_2w", "ping-pong server, workers::run(2), one shared socket", "requests/s", two["value"],
            None, None, size),
        row("server_speedup", "the same: run(2) / run(1)", "x", speedup, None, None, size,
            note="report only: the load generator shares the 2 cores with the workers"),
        row("server_cpu_1w", "server CPU time per request, run(1)", "us/request",
            one["server_cpu_us_per_request"], None, None, size),
        row("server_cpu_2w", "server CPU time per request, run(2)", "us/request",
            two["server_cpu_us_per_request"], None, None, size),
    ]


WORKLOADS = [
    ("cpu_bound", cpu_bound),
    ("trivial_jobs", trivial_jobs),
    ("trivial_seq", trivial_seq),
    ("workers_server", workers_server),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cores-bench", required=True, help="path to the cores_bench executable")
    parser.add_argument("--workers-bench", required=True, help="path to the workers_bench executable")
    parser.add_argument("--quick", action="store_true", help="smaller sizes (the table says which)")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--only", nargs="*", choices=[k for k, _ in WORKLOADS], help="run only these workloads")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    start_load = " ".join(f"{x:.2f}" for x in os.getloadavg())

    rows = []
    for key, fn in WORKLOADS:
        if args.only and key not in args.only:
            continue
        print(f"{key}:", file=sys.stderr, flush=True)
        rows.extend(fn(args))

    print()
    print("| workload | unit | aiocpp | Python | aiocpp better by | sizes (aiocpp / Python) | goal | met |")
    print("|---|---|--:|--:|--:|---|---|---|")
    for r in rows:
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.3g}x"
        met = {True: "yes", False: "**NO**", None: "-"}[r["met"]]
        note = f" ({r['note']})" if r["note"] else ""
        print(f"| {r['name']} | {r['unit']} | {fmt(r['aiocpp'])} | {fmt(r['python'])} | {ratio} | {r['size']} "
              f"| {r['goal'] or '(none)'}{note} | {met} |")
    print()
    print("Python: concurrent.futures.ProcessPoolExecutor (fork start method) awaited with loop.run_in_executor; "
          "aiocpp: process_pool_executor (fork server) awaited from coroutines. cpu_bound_task is the guide's "
          "sum(i * n for i in range(n)); aiocpp's loop runs the same arithmetic in C++.")
    print(f"{os.cpu_count()} cores; load average during the run: {start_load} -> "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} (a speed-up needs the second core free)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)
            f.write("\n")
        print(f"JSON written to {args.json}", file=sys.stderr)
    return 0  # a missed goal is a finding shown in the table, not a failure of the run


if __name__ == "__main__":
    sys.exit(main())
