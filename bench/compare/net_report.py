# SPDX-License-Identifier: MIT
"""Runs `./scripts/bench net`: every workload through aiocpp (net_bench),
Python asyncio and uvloop streams (net_bench.py), and the machine's own
limits — ../shared/limits/pingpong.c and echo64.c (blocking / plain epoll C),
limits/accept32.c (plain epoll C), limits/bulk.c (blocking C copy),
limits/tls_handshake.c (OpenSSL alone, in memory) and a socat copy — in this
session on this machine, three interleaved rounds, medians; prints one table
with the ratios against the anchors the issue names.

    /usr/bin/python3 net_report.py --net-bench build/bench/bench/net_bench --limits DIR [--quick] [--json FILE]
"""

import argparse
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from report import HERE, PYTHON, anchor_ratios, finish, fmt, ratio_cells, run_json  # shared with core/exec/fs
GIB = 1 << 30
ROUNDS = 3


def run_limit(exe, args):
    """A limits program prints one number: its rate."""
    out = subprocess.run([exe, *args], capture_output=True, text=True, timeout=120, check=True).stdout
    value = float(out.strip().splitlines()[-1])
    print(f"  {os.path.basename(exe)} {' '.join(args)}: {value:.6g}", file=sys.stderr, flush=True)
    return value


def build_limits(src_dir, out_dir):
    """pingpong.c and echo64.c from the issue's limits directory (when there is
    one), accept32.c, bulk.c and tls_handshake.c from this tree: compiled here, plain -O2."""
    sources = {"accept": os.path.join(HERE, "limits", "accept32.c"),
               "bulk": os.path.join(HERE, "limits", "bulk.c"),
               "tls_handshake": os.path.join(HERE, "limits", "tls_handshake.c")}
    for name in ("pingpong", "echo64"):
        if src_dir and os.path.exists(os.path.join(src_dir, name + ".c")):
            sources[name] = os.path.join(src_dir, name + ".c")
    exes = {}
    for name, src in sources.items():
        exe = os.path.join(out_dir, name)
        subprocess.run(["cc", "-O2", src, "-o", exe, "-lssl", "-lcrypto", "-lpthread"], check=True)
        exes[name] = exe
    return exes


def limit_args(key_name, size, cert, key):
    """The limit program's arguments for a workload, or None when it has none."""
    if key_name == "pingpong":
        return [str(size)]
    if key_name == "echo64":
        return [str(size), "64"]
    if key_name == "accept":
        return [str(size), "32"]
    if key_name == "bulk":
        return [str(size)]
    if key_name == "tls_handshake":  # OpenSSL alone: client and server in memory, one thread per core
        return [cert, key, str(size), "2"]
    return None


def with_cpu(run):
    """Runs one side once: (its value, the CPU seconds its processes used —
    user + system of every child waited for meanwhile)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    value = run()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return value, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def median_run(runs):
    """The (value, cpu) of the run with the median value."""
    return sorted(runs)[len(runs) // 2]


def cpu_per_op(key_name, flag, size, cpu):
    """CPU cost of one operation for the count-based workloads: µs per
    connection or handshake, or CPU seconds per GiB moved; None otherwise."""
    if flag != "--n" or cpu is None:
        return None
    if key_name in ("bulk", "tls_bulk"):
        return cpu / (size / GIB)
    return cpu / size * 1e6


def socat_copy(n_bytes):
    """Plain copy of n_bytes over loopback with socat at both ends: MB/s."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sink = subprocess.Popen(["taskset", "-c", "0", "socat", "-u", "-b", "262144",
                             f"TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr", "OPEN:/dev/null"])
    time.sleep(0.3)
    t0 = time.perf_counter()
    subprocess.run(["taskset", "-c", "1", "sh", "-c",
                          f"head -c {n_bytes} /dev/zero | socat -u -b 262144 STDIN TCP:127.0.0.1:{port}"],
                         check=True)
    sink.wait(timeout=120)
    elapsed = time.perf_counter() - t0
    value = n_bytes / elapsed / 1e6
    print(f"  socat copy {n_bytes} B: {value:.6g} MB/s", file=sys.stderr, flush=True)
    return value


def make_cert(tmp):
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


# key, title, unit, sizes (full, quick) as (flag, value), anchors with goals:
# (anchor name, minimum ratio aiocpp/anchor or None for "report only").
WORKLOADS = [
    ("pingpong", "echo, 1 connection, 100-byte messages", "round trips/s", ("--seconds", 5, 2),
     [("limit", 0.95), ("uvloop", None), ("asyncio", None)]),
    ("echo64", "echo, 64 connections, 100-byte messages, one in flight each", "messages/s",
     ("--seconds", 5, 2), [("limit", 1.0), ("uvloop", None), ("asyncio", None)]),
    ("bulk", "bulk transfer over one connection", "MB/s", ("--n", GIB, GIB // 4),
     [("limit", 0.8), ("uvloop", 3.0), ("socat", None), ("asyncio", None)]),
    ("tls_handshake", "TLS: connect + handshake + one round trip + close, 32 clients", "handshakes/s",
     ("--n", 4000, 1000), [("asyncio", 3.0), ("limit", None), ("uvloop", None)]),
    ("tls_resume", "TLS as tls_handshake, aiocpp resuming sessions (its default); Python: full handshakes",
     "handshakes/s", ("--n", 4000, 1000), [("asyncio", None), ("uvloop", None)]),
    ("tls_bulk", "TLS: bulk transfer over one connection", "MB/s", ("--n", GIB // 2, GIB // 8),
     [("asyncio", 3.0), ("uvloop", None)]),
    ("accept", "connect + one round trip + close, 32 clients", "connections/s", ("--n", 40000, 10000),
     [("uvloop", 3.0), ("limit", None), ("asyncio", None)]),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--net-bench", required=True)
    parser.add_argument("--limits", help="directory with pingpong.c and echo64.c")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", metavar="FILE")
    parser.add_argument("--only", nargs="*", choices=[w[0] for w in WORKLOADS])
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    start_load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    tmp = tempfile.mkdtemp(prefix="aio-net-bench-")
    rows = []
    try:
        limits = build_limits(args.limits if args.limits and os.path.isdir(args.limits) else None, tmp)
        cert, key = make_cert(tmp)
        for key_name, title, unit, (flag, full, quick), anchors in WORKLOADS:
            if args.only and key_name not in args.only:
                continue
            size = quick if args.quick else full
            print(f"{key_name}:", file=sys.stderr, flush=True)
            extra = ["--cert", cert, "--key", key] if key_name.startswith("tls_") else []
            # Every side runs ROUNDS times, interleaved (aiocpp, limit, uvloop,
            # asyncio, aiocpp, ...), and each reports its median: a burst of
            # load on this shared machine then hits every side alike.
            sides = {"aiocpp": lambda: run_json([args.net_bench, key_name, flag, str(size), *extra], 600)["value"]}
            largs = limit_args(key_name, size, cert, key)
            if key_name in limits and largs is not None:
                sides["limit"] = lambda exe=limits[key_name], a=largs: run_limit(exe, a)
            if key_name == "bulk" and shutil.which("socat"):
                sides["socat"] = lambda: socat_copy(size)
            for loop in ("uvloop", "asyncio"):
                sides[loop] = lambda loop=loop: run_json([PYTHON, os.path.join(HERE, "net_bench.py"), key_name,
                                                          "--loop", loop, flag, str(size), *extra], 600)["value"]
            samples = {name: [] for name in sides}
            for _ in range(ROUNDS):
                for name, run in sides.items():
                    samples[name].append(with_cpu(run))
            medians = {name: median_run(runs) for name, runs in samples.items()}
            values = {name: v for name, (v, _) in medians.items()}
            cpu = {name: cpu_per_op(key_name, flag, size, c) for name, (_, c) in medians.items()}
            goals = anchor_ratios(values, "aiocpp", anchors)
            rows.append({"name": key_name, "title": title, "unit": unit, "size": f"{flag} {size}",
                         "values": values, "ratios": goals, "cpu_per_op": cpu})
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print()
    print("| workload | unit | aiocpp | limit (C) | uvloop | asyncio | ratios (aiocpp / anchor) | goals met |")
    print("|---|---|--:|--:|--:|--:|---|---|")
    for r in rows:
        v = r["values"]
        ratios, met = ratio_cells(r["ratios"])
        print(f"| {r['name']} | {r['unit']} | {fmt(v['aiocpp'])} | {fmt(v.get('limit'))} | {fmt(v.get('uvloop'))} "
              f"| {fmt(v.get('asyncio'))} | {ratios} | {met} |")
    print()
    print("CPU per operation, all processes of a side (user + system; a loaded machine does not stretch it):")
    print()
    print("| workload | per | aiocpp | limit (C) | socat | uvloop | asyncio |")
    print("|---|---|--:|--:|--:|--:|--:|")
    for r in rows:
        c = r["cpu_per_op"]
        if c.get("aiocpp") is None:
            continue
        per = "GiB (s)" if r["name"] in ("bulk", "tls_bulk") else "op (µs)"
        print(f"| {r['name']} | {per} | " + " | ".join(
            "-" if c.get(side) is None else f"{c[side]:.3g}" for side in ("aiocpp", "limit", "socat", "uvloop", "asyncio"))
            + " |")
    print()
    print("limit: pingpong.c (blocking sockets), echo64.c (plain C epoll), from ../shared/limits; "
          "accept32.c (plain C epoll), bulk.c (blocking C copy; socat is in the ratios) and tls_handshake.c (OpenSSL alone, no sockets), bench/compare/limits. Every figure is the median of 3 interleaved runs.")
    finish(rows, start_load, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
