# SPDX-License-Identifier: MIT
"""The asyncio / uvloop side of `./scripts/bench net`.

Each workload mirrors one in net_bench.cpp: the server runs in its own
process (its own loop, pinned to CPU 0), the client in this one (pinned to
CPU 1), both on the same kind of loop, talking over loopback with asyncio
streams — as ../shared/limits/pingpong.c pins its two threads.

    /usr/bin/python3 net_bench.py <workload> --loop asyncio|uvloop [--seconds S] [--n N]
    /usr/bin/python3 net_bench.py serve <kind> --loop asyncio|uvloop [--cert C --key K]

Prints one JSON object on stdout: {"workload", "value", "unit", "n", ...}.
"""

import argparse
import asyncio
import json
import os
import ssl
import subprocess
import sys
import time

MSG = 100
HERE = os.path.abspath(__file__)


def pin(cpu):
    try:
        if os.cpu_count() and os.cpu_count() > 1:
            os.sched_setaffinity(0, {cpu})
    except OSError:
        pass


def print_result(workload, value, unit, n, **extra):
    print(json.dumps({"workload": workload, "value": value, "unit": unit, "n": n, **extra}), flush=True)


# --- the server process --------------------------------------------------------

async def echo_handler(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def sink_handler(reader, writer):
    # Reads an 8-byte length, then that many bytes; answers one byte.
    try:
        want = int.from_bytes(await reader.readexactly(8), "little")
        got = 0
        while got < want:
            chunk = await reader.read(1 << 18)
            if not chunk:
                break
            got += len(chunk)
        writer.write(b"k")
        await writer.drain()
    finally:
        writer.close()


async def serve(kind, cert, key):
    ctx = None
    if cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
    handler = sink_handler if kind == "sink" else echo_handler
    server = await asyncio.start_server(handler, "127.0.0.1", 0, ssl=ctx, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    # Until the client closes our stdin.
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    server.close()


# --- the client side -----------------------------------------------------------

class Server:
    def __init__(self, loop_kind, kind, cert=None, key=None):
        cmd = [sys.executable, HERE, "serve", kind, "--loop", loop_kind]
        if cert:
            cmd += ["--cert", cert, "--key", key]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.port = int(self.proc.stdout.readline())

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def client_context(cafile):
    # Verifying, as aiocpp's side does: the bench's own certificate is the CA.
    return ssl.create_default_context(cafile=cafile)


async def pingpong(port, seconds, _n):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    msg = b"x" * MSG
    n = 0
    t0 = time.perf_counter()
    end = t0 + seconds
    while time.perf_counter() < end:
        for _ in range(100):
            writer.write(msg)
            await reader.readexactly(MSG)
        n += 100
    elapsed = time.perf_counter() - t0
    writer.close()
    return n / elapsed, "round trips/s", n


async def echo64(port, seconds, conns):
    conns = conns or 64
    stop = False
    counts = [0] * conns

    async def one(i):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        msg = b"y" * MSG
        while not stop:
            writer.write(msg)
            await reader.readexactly(MSG)
            counts[i] += 1
        writer.close()

    tasks = [asyncio.create_task(one(i)) for i in range(conns)]
    await asyncio.sleep(0.2)  # all connected and running
    c0 = sum(counts)
    t0 = time.perf_counter()
    await asyncio.sleep(seconds)
    n = sum(counts) - c0
    elapsed = time.perf_counter() - t0
    stop = True
    await asyncio.gather(*tasks)
    return n / elapsed, "messages/s", n


async def bulk(port, _seconds, n_bytes, ctx=None):
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ctx,
                                                   server_hostname="localhost" if ctx else None)
    chunk = b"z" * (1 << 18)
    t0 = time.perf_counter()
    writer.write(n_bytes.to_bytes(8, "little"))
    sent = 0
    while sent < n_bytes:
        part = chunk if n_bytes - sent >= len(chunk) else chunk[: n_bytes - sent]
        writer.write(part)
        await writer.drain()
        sent += len(part)
    await reader.readexactly(1)
    elapsed = time.perf_counter() - t0
    writer.close()
    return n_bytes / elapsed / 1e6, "MB/s", n_bytes


async def accept(port, _seconds, n, ctx=None):
    concurrency = 32
    per = max(1, n // concurrency)
    msg = b"a" * MSG

    async def one():
        for _ in range(per):
            reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ctx,
                                                           server_hostname="localhost" if ctx else None)
            writer.write(msg)
            await reader.readexactly(MSG)
            writer.close()
            await writer.wait_closed()

    t0 = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(concurrency)))
    elapsed = time.perf_counter() - t0
    total = per * concurrency
    unit = "handshakes/s" if ctx else "connections/s"
    return total / elapsed, unit, total


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("workload")
    parser.add_argument("kind", nargs="?")
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], required=True)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--n", type=int, default=0)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    args = parser.parse_args()
    if args.loop == "uvloop":
        import uvloop
        uvloop.install()

    if args.workload == "serve":
        pin(0)
        asyncio.run(serve(args.kind, args.cert, args.key))
        return

    pin(1)
    tls = args.workload.startswith("tls_")
    kind = "sink" if args.workload in ("bulk", "tls_bulk") else "echo"
    server = Server(args.loop, kind, args.cert if tls else None, args.key if tls else None)
    try:
        ctx = client_context(args.cert) if tls else None
        if args.workload == "pingpong":
            value, unit, n = asyncio.run(pingpong(server.port, args.seconds, args.n))
        elif args.workload == "echo64":
            value, unit, n = asyncio.run(echo64(server.port, args.seconds, args.n))
        elif args.workload in ("bulk", "tls_bulk"):
            value, unit, n = asyncio.run(bulk(server.port, args.seconds, args.n or (1 << 30), ctx))
        elif args.workload in ("accept", "tls_handshake", "tls_resume"):
            # tls_resume: asyncio streams have no session reuse; full handshakes.
            value, unit, n = asyncio.run(accept(server.port, args.seconds, args.n or 20000, ctx))
        else:
            sys.exit(f"net_bench.py: unknown workload {args.workload}")
    finally:
        server.close()
    print_result(args.workload, value, unit, n)


if __name__ == "__main__":
    main()
