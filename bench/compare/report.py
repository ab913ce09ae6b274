# SPDX-License-Identifier: MIT
"""Runs the core (or exec) comparison: every workload through aiocpp
(core_bench / exec_bench), Python asyncio and uvloop (core_bench.py /
exec_bench.py under /usr/bin/python3), in this session on this machine, and
prints one table with the ratios and the goals.

    /usr/bin/python3 report.py --core-bench build/bench/bench/core_bench [--quick] [--json FILE]
    /usr/bin/python3 report.py --exec-bench build/bench/bench/exec_bench [--quick] [--json FILE]

Each figure comes from a fresh process (so RSS figures are not polluted by an
earlier workload); the aiocpp figure is the median of three runs, the Python
ones a single run (they take seconds to minutes). --quick shrinks the sizes (the table says which were used).
"""

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = "/usr/bin/python3"  # Debian's: it has python3-uvloop


class Workload:
    """One row: sizes per side, whether higher is better, and the issue's goal."""

    def __init__(self, key, title, unit, higher_is_better, sizes, quick_sizes, goal):
        self.key = key
        self.title = title
        self.unit = unit
        self.higher_is_better = higher_is_better
        self.sizes = sizes              # (aiocpp n, python n)
        self.quick_sizes = quick_sizes
        self.goal = goal                # (kind, threshold, text): kind is 'vs_asyncio', 'vs_uvloop' or 'absolute'


WORKLOADS = [
    Workload("spawn", "create_task + await trivial coroutine, batches of 10,000", "tasks/s", True,
             (1_000_000, 1_000_000), (1_000_000, 200_000),
             [("vs_asyncio", 50, ">= 50x asyncio"), ("vs_uvloop", 25, ">= 25x uvloop")]),
    Workload("memory", "RSS growth per task suspended in sleep(10 s)", "B/task", False,
             (1_000_000, 1_000_000), (100_000, 100_000),
             [("absolute", 256, "<= 256 B/task")]),
    Workload("sleep_wall", "N concurrent sleep(0.5 s): wall time until all done", "s", False,
             (1_000_000, 1_000_000), (100_000, 100_000),
             [("absolute", 0.7, "<= 0.7 s (at 1,000,000)")]),
    Workload("pingpong_event", "ping-pong between two tasks via an event pair", "switches/s", True,
             (1_000_000, 300_000), (1_000_000, 100_000),
             [("vs_asyncio", 30, ">= 30x asyncio")]),
    Workload("pingpong_queue", "ping-pong between two tasks via queues of size 1", "switches/s", True,
             (1_000_000, 300_000), (1_000_000, 100_000),
             [("vs_asyncio", 30, ">= 30x asyncio")]),
    Workload("threadsafe", "call_soon_threadsafe from another thread", "callbacks/s", True,
             (2_000_000, 500_000), (1_000_000, 100_000),
             [("vs_asyncio", 10, ">= 10x asyncio")]),
]


# ./scripts/bench exec: to_thread round trips of a trivial function.
EXEC_WORKLOADS = [
    Workload("to_thread_seq", "one coroutine awaits to_thread(trivial) in a row (round-trip latency)", "calls/s",
             True, (1_000_000, 50_000), (200_000, 20_000),
             [("vs_asyncio", 10, ">= 10x asyncio")]),
    Workload("to_thread_concurrent", "64 coroutines each await to_thread(trivial) in a row", "calls/s", True,
             (2_000_000, 200_000), (500_000, 50_000),
             [("vs_asyncio", 10, ">= 10x asyncio")]),
]


def run_json(cmd, timeout, env=None):
    """Runs one benchmark process (with `env` as its environment, if given) and
    returns the JSON object it printed."""
    t0 = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"{' '.join(cmd)} printed no result:\n{proc.stdout}\n{proc.stderr}")
    result = json.loads(lines[-1])
    backend = f"AIO_BACKEND={env['AIO_BACKEND']} " if env and "AIO_BACKEND" in env else ""
    print(f"  {backend}{' '.join(os.path.basename(c) if i == 0 else c for i, c in enumerate(cmd))}: "
          f"{result['value']:.6g} {result['unit']} ({time.monotonic() - t0:.1f} s)", file=sys.stderr, flush=True)
    return result


def anchor_ratios(values, ours, anchors):
    """The ratio of values[ours] to each anchor's value, and whether it meets
    the anchor's goal: anchors are (name, minimum ratio or None for report
    only); an anchor missing from `values` gets ratio None."""
    goals = []
    for anchor, minimum in anchors:
        if values.get(anchor) is None:
            goals.append({"anchor": anchor, "ratio": None, "goal": minimum, "met": None})
            continue
        ratio = values[ours] / values[anchor]
        goals.append({"anchor": anchor, "ratio": ratio, "goal": minimum,
                      "met": None if minimum is None else ratio >= minimum})
    return goals


def ratio_cells(goals):
    """The "ratios" and "goals met" cells of a table row, from anchor_ratios."""
    ratios = ", ".join(f"{g['ratio']:.3g}x {g['anchor']}" for g in goals if g["ratio"] is not None)
    met = ", ".join(f"{'yes' if g['met'] else '**NO**'} (>= {g['goal']}x {g['anchor']})"
                    for g in goals if g["goal"] is not None and g["met"] is not None) or "-"
    missing = [g["anchor"] for g in goals if g["ratio"] is None]
    if missing:
        met += f" (no {', '.join(missing)} anchor here)"
    return ratios, met


def finish(rows, start_load, json_path):
    """The load average line, and the JSON file when asked for."""
    print(f"load average during the run: {start_load} -> {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if json_path:
        with open(json_path, "w") as f:
            json.dump(rows, f, indent=2)
            f.write("\n")
        print(f"JSON written to {json_path}", file=sys.stderr)


def goal_met(goal, w, aio, asyncio_v, uvloop_v):
    kind, threshold, _ = goal
    if kind == "absolute":
        return aio >= threshold if w.higher_is_better else aio <= threshold
    anchor = asyncio_v if kind == "vs_asyncio" else uvloop_v
    return aio / anchor >= threshold


def fmt(v):
    """A rate for a table cell: 26.47 M, 246 k, 1469, 0.579; "-" for None."""
    if v is None:
        return "-"
    if v >= 1e6:
        return f"{v / 1e6:.2f} M"
    if v >= 1e4:
        return f"{v / 1e3:.0f} k"
    if v >= 100:
        return f"{v:.0f}"
    return f"{v:.3g}"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    area = parser.add_mutually_exclusive_group(required=True)
    area.add_argument("--core-bench", help="path to the core_bench executable")
    area.add_argument("--exec-bench", help="path to the exec_bench executable (./scripts/bench exec)")
    parser.add_argument("--quick", action="store_true", help="smaller sizes (see the table)")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--only", nargs="*", choices=[w.key for w in WORKLOADS + EXEC_WORKLOADS],
                        help="run only these workloads")
    args = parser.parse_args()
    if args.exec_bench:
        workloads, bench, script = EXEC_WORKLOADS, args.exec_bench, "exec_bench.py"
    else:
        workloads, bench, script = WORKLOADS, args.core_bench, "core_bench.py"
    sys.stdout.reconfigure(line_buffering=True)
    start_load = " ".join(f"{x:.2f}" for x in os.getloadavg())

    rows = []
    for w in workloads:
        if args.only and w.key not in args.only:
            continue
        cpp_n, py_n = w.quick_sizes if args.quick else w.sizes
        print(f"{w.key}:", file=sys.stderr, flush=True)
        # aiocpp runs take well under a second: the median of three steadies them.
        runs = sorted((run_json([bench, w.key, "--n", str(cpp_n)], 120) for _ in range(3)),
                      key=lambda r: r["value"])
        aio = runs[1]
        asy = run_json([PYTHON, os.path.join(HERE, script), w.key, "--loop", "asyncio", "--n", str(py_n)], 300)
        uvl = run_json([PYTHON, os.path.join(HERE, script), w.key, "--loop", "uvloop", "--n", str(py_n)], 300)
        a, b, c = aio["value"], asy["value"], uvl["value"]
        # sleep_wall's goal is a wall time at 1,000,000 tasks: it says nothing at another size.
        comparable = w.key != "sleep_wall" or cpp_n == w.sizes[0]
        goals = [{"goal": g[2], "met": goal_met(g, w, a, b, c) if comparable else None} for g in w.goal]
        rows.append({
            "name": w.key, "title": w.title, "unit": w.unit, "higher_is_better": w.higher_is_better,
            "aiocpp": a, "asyncio": b, "uvloop": c,
            "ratio_asyncio": a / b, "ratio_uvloop": a / c,
            "n_aiocpp": cpp_n, "n_python": py_n, "goals": goals,
            "details": {"aiocpp": aio, "asyncio": asy, "uvloop": uvl},
        })
        if w.key == "memory":
            # The same run cancels every sleeping task: report that rate too (no goal in the issue).
            ca, cb, cc = (r["n"] / r["cancel_seconds"] for r in (aio, asy, uvl))
            rows.append({
                "name": "cancel", "title": "cancel() of tasks suspended in sleep, until they finish",
                "unit": "tasks/s", "higher_is_better": True, "aiocpp": ca, "asyncio": cb, "uvloop": cc,
                "ratio_asyncio": ca / cb, "ratio_uvloop": ca / cc, "n_aiocpp": cpp_n, "n_python": py_n,
                "goals": [], "details": {},
            })

    header = ("| workload | unit | aiocpp | asyncio | uvloop | aiocpp/asyncio | aiocpp/uvloop | sizes (aiocpp / Python) "
              "| goal | met |")
    print()
    print(header)
    print("|---|---|--:|--:|--:|--:|--:|---|---|---|")
    for r in rows:
        goal_text = "; ".join(g["goal"] for g in r["goals"]) or "(none)"
        met_text = "; ".join({True: "yes", False: "**NO**", None: "n/a (size)"}[g["met"]] for g in r["goals"]) or "-"
        print(f"| {r['name']} | {r['unit']} | {fmt(r['aiocpp'])} | {fmt(r['asyncio'])} | {fmt(r['uvloop'])} "
              f"| {r['ratio_asyncio']:.3g}x | {r['ratio_uvloop']:.3g}x | {r['n_aiocpp']:,} / {r['n_python']:,} "
              f"| {goal_text} | {met_text} |")
    print()
    print("Ratios are aiocpp / anchor: above 1 is better for rates (tasks/s, switches/s, callbacks/s, calls/s), "
          "below 1 is better for costs (B/task, s).")
    for r in rows:
        if r["name"] == "sleep_wall":
            cpu = {side: r["details"][side].get("cpu_s") for side in ("aiocpp", "asyncio", "uvloop")}
            print("sleep_wall CPU time (s): " + ", ".join(f"{k} {v:.3g}" for k, v in cpu.items() if v is not None)
                  + ". Wall time above 0.5 s + CPU time is time spent waiting for a CPU (a loaded machine).")
    if args.quick:
        print("--quick: reduced sizes (see the sizes column); sleep_wall's goal is stated for 1,000,000 tasks.")
    finish(rows, start_load, args.json)
    # A missed goal is a finding shown in the table, not a failure of the run.
    return 0


if __name__ == "__main__":
    sys.exit(main())
