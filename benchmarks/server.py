"""What a call to ``kmslab serve`` costs over HTTP, next to the in-process client and moto.

Two measurements, over loopback, each server in its own process (as a learner runs it):

1. Per-call latency on one kept-alive connection, with boto3 (DescribeKey, Encrypt 1 KiB):
   the in-process client ``kmslab.client()``, ``kmslab serve``, and moto's server when moto
   is installed; also ``kmslab.server.serve()`` in a thread of the timing process, as a
   notebook runs it (no process switch per call, but it shares the client's GIL). Targets
   are timed in interleaved rounds so that a busy moment of a shared machine hits all of
   them alike; the median of every call is printed with p10-p90.
   "HTTP adds" is the kmslab serve median minus the in-process median. A last target, the
   floor, is a server that does no work: it answers each request with a body recorded from
   kmslab beforehand (asyncio, one thread). What boto3 and HTTP cost the client alone is its
   median, so no server can be faster than that; "over the floor" is what each server adds to
   it, the fair ratio between two servers measured with the same client. "waitress alone" is
   kmslab's own HTTP layer answering the same recorded bodies without the KMS: what the
   HTTP library costs, apart from the service behind it.
2. Throughput: 16 client processes, each with its own kept-alive connection, calling
   DescribeKey for ``--seconds``; calls/s (median of ``--runs`` runs, min-max), and the CPU
   time per call spent by the clients and by the server. Clients and server share the
   machine's cores, so the client's cost is part of the figure. Two kinds of client: boto3
   (what learners run; boto3 costs more CPU per call than the server does) and a light one
   (http.client posting a prepared request) that shows what the server itself can take.

moto is not a kmslab dependency: install ``moto[server]`` anywhere and pass that
environment's Python with ``--moto-python`` (or install it here; it is found).

Run: .venv/bin/python benchmarks/server.py [--calls 300] [--rounds 5] [--seconds 5] [--runs 3]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import importlib.util
import json
import multiprocessing as mp
import os
import platform
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, cast

import boto3

import kmslab

KIB = os.urandom(1024)
CLIENTS = 16


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {seconds} s")


@contextmanager
def _server(argv: list[str], port: int) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(port)
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@contextmanager
def _thread_server() -> Iterator[Any]:
    """``kmslab.server.serve()`` in a thread of this process, as a notebook would run it."""
    from kmslab.server import serve

    server = serve()
    try:
        yield server
    finally:
        server.stop()


# -- the floor: a server that does no work ---------------------------------------------------


def _canned_bodies(path: Path) -> None:
    """Record kmslab's answers to the calls timed here, by operation, for the floor server."""
    kms = kmslab.LocalKMS()
    key = kms.call("CreateKey")["KeyMetadata"]["KeyId"]
    calls = {
        "CreateKey": {},
        "DescribeKey": {"KeyId": key},
        "Encrypt": {"KeyId": key, "Plaintext": KIB},
    }
    answers = {
        op: kms.handle(op, json.dumps(_wire(params)).encode())[1] for op, params in calls.items()
    }
    path.write_text(json.dumps({op: body.decode() for op, body in answers.items()}))


def _wire(params: dict[str, Any]) -> dict[str, Any]:
    import base64

    return {
        k: base64.b64encode(v).decode() if isinstance(v, bytes) else v for k, v in params.items()
    }


def serve_canned(path: str, port: int) -> None:
    """Answer every POST with the recorded body of its ``X-Amz-Target`` operation, nothing else."""
    import asyncio

    bodies = {op: body.encode() for op, body in json.loads(Path(path).read_text()).items()}
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: %d\r\n\r\n"
    )
    answers = {op: head % len(body) + body for op, body in bodies.items()}

    class Canned(asyncio.Protocol):
        def connection_made(self, transport: Any) -> None:
            self.transport, self.buffer = transport, b""

        def data_received(self, data: bytes) -> None:
            self.buffer += data
            while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
                lines = self.buffer[:end].split(b"\r\n")[1:]
                fields = {
                    k.strip().lower(): v.strip() for k, v in (x.split(b":", 1) for x in lines)
                }
                size = int(fields.get(b"content-length", b"0"))
                if len(self.buffer) < end + 4 + size:
                    return
                self.buffer = self.buffer[end + 4 + size :]
                op = fields[b"x-amz-target"].decode().split(".")[-1]
                self.transport.write(answers[op])

    async def run() -> None:
        server = await asyncio.get_running_loop().create_server(Canned, "127.0.0.1", port)
        await server.serve_forever()

    asyncio.run(run())


def serve_canned_waitress(path: str, port: int) -> None:
    """kmslab's HTTP layer (waitress, Host and target checks) in front of recorded answers."""
    from kmslab.server import KMSServer

    bodies = {op: body.encode() for op, body in json.loads(Path(path).read_text()).items()}

    class Recorded:
        """What the HTTP layer asks of a LocalKMS: who calls (nobody known), and answers."""

        region = "us-east-1"  # the Region the benchmark's clients sign for
        iam = types.SimpleNamespace(find_access_key=lambda access_key_id: None)

        def acting_as(self, principal: Any) -> Any:
            return contextlib.nullcontext()

        def handle(self, operation: str, body: bytes, *, request_id: str | None = None) -> Any:
            return 200, bodies[operation]

    KMSServer(cast(Any, Recorded()), port=port).serve_forever()


def canned_server(path: Path, port: int, http: str = "asyncio") -> list[str]:
    return [sys.executable, __file__, f"--serve-canned-{http}", str(path), str(port)]


def kmslab_server(port: int) -> list[str]:
    return [sys.executable, "-m", "kmslab", "serve", "--port", str(port)]


def moto_server(python: str, port: int) -> list[str]:
    return [python, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]


def http_client(url: str) -> Any:
    return boto3.client(
        "kms",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
    )


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (Linux /proc), or None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- 1. latency ------------------------------------------------------------------------------


def _calls(client: Any) -> dict[str, Callable[[], object]]:
    key_id = client.create_key()["KeyMetadata"]["KeyId"]
    return {
        "DescribeKey": lambda: client.describe_key(KeyId=key_id),
        "Encrypt 1 KiB": lambda: client.encrypt(KeyId=key_id, Plaintext=KIB),
    }


def latency(targets: dict[str, Any], calls: int, rounds: int) -> dict[tuple[str, str], list[float]]:
    """Seconds per call, for every (target, operation), timed in interleaved rounds."""
    prepared = {name: _calls(client) for name, client in targets.items()}
    times: dict[tuple[str, str], list[float]] = {}
    for _ in range(rounds):
        for name, ops in prepared.items():
            for op, call in ops.items():
                for _ in range(10):  # warm the connection and caches
                    call()
                bucket = times.setdefault((name, op), [])
                for _ in range(calls // rounds):
                    start = time.perf_counter()
                    call()
                    bucket.append(time.perf_counter() - start)
    return times


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:7.3f}"


def print_latency(times: dict[tuple[str, str], list[float]]) -> None:
    print("\n1. Per call, boto3 on one kept-alive connection (ms: median [p10-p90])")
    ops = sorted({op for _, op in times})
    names = list(dict.fromkeys(name for name, _ in times))
    for op in ops:
        print(f"\n  {op}")
        med = {n: statistics.median(times[n, op]) for n in names}
        for name in names:
            q = statistics.quantiles(times[name, op], n=10)
            print(f"    {name:<18}{_ms(med[name])}  [{_ms(q[0])} -{_ms(q[-1])}]")
        if "in-process" in med and "kmslab serve" in med:
            print(f"    HTTP adds         {_ms(med['kmslab serve'] - med['in-process'])}")
        if "moto server" in med:
            print(f"    moto / kmslab     {med['moto server'] / med['kmslab serve']:7.1f} x")
        if "floor" in med:
            served = med["kmslab serve"] - med["floor"]
            print(f"    kmslab over floor {_ms(served)}")
            if "waitress alone" in med:
                bare = med["waitress alone"] - med["floor"]
                print(f"      of which HTTP   {_ms(bare)}   (waitress alone over the floor)")
            if "moto server" in med:
                moto = med["moto server"] - med["floor"]
                print(f"    moto over floor   {_ms(moto)}   ({moto / served:.1f} x kmslab's)")


# -- 2. throughput ---------------------------------------------------------------------------


def _worker(kind: str, port: int, key_id: str, seconds: float, start: Any, out: Any) -> None:
    if kind == "boto3":
        client = http_client(f"http://127.0.0.1:{port}")

        def call() -> None:
            client.describe_key(KeyId=key_id)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", port)
        body = json.dumps({"KeyId": key_id}).encode()
        headers = {
            "X-Amz-Target": "TrentService.DescribeKey",
            "Content-Type": "application/x-amz-json-1.1",
            "Authorization": "AWS4-HMAC-SHA256 Credential=bench/20260101/us-east-1/kms/"
            "aws4_request, SignedHeaders=host, Signature=0",
        }

        def call() -> None:
            conn.request("POST", "/", body, headers)
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"HTTP {response.status}")

    call()  # connect and warm up before the clock starts
    start.wait()
    cpu = _own_cpu()
    n = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        call()
        n += 1
    out.put((n, _own_cpu() - cpu))


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def throughput(kind: str, port: int, pid: int, key_id: str, seconds: float) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    start, out = ctx.Event(), ctx.Queue()
    workers = [
        ctx.Process(target=_worker, args=(kind, port, key_id, seconds, start, out))
        for _ in range(CLIENTS)
    ]
    for w in workers:
        w.start()
    time.sleep(3 if kind == "boto3" else 1)  # let every client import, connect and warm up
    before = _cpu_seconds(pid)
    start.set()
    results = [out.get(timeout=seconds + 120) for _ in workers]
    after = _cpu_seconds(pid)
    for w in workers:
        w.join(timeout=30)
    total = sum(n for n, _ in results)
    return {
        "calls_per_s": total / seconds,
        "client_cpu_us": sum(c for _, c in results) / total * 1e6,
        "server_cpu_us": None if before is None else (after - before) / total * 1e6,
    }


def print_throughput(label: str, runs: list[dict[str, Any]]) -> None:
    rates = [r["calls_per_s"] for r in runs]
    server = [r["server_cpu_us"] for r in runs if r["server_cpu_us"] is not None]
    client = statistics.median(r["client_cpu_us"] for r in runs)
    server_text = f"{statistics.median(server):5.0f} µs" if server else "    ?"
    spread = f"[{min(rates):.0f}-{max(rates):.0f}]"
    print(
        f"    {label:<28}{statistics.median(rates):6.0f} calls/s {spread:<12}"
        f" CPU per call: server {server_text}, clients {client:5.0f} µs"
    )


# -- main ------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=300, help="timed calls per target and op")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of a throughput run")
    parser.add_argument("--runs", type=int, default=3, help="throughput runs per client kind")
    parser.add_argument(
        "--moto-python",
        default=sys.executable if importlib.util.find_spec("moto") else None,
        help="a Python with moto[server] installed (default: this one, if it has moto)",
    )
    for layer in ("asyncio", "waitress"):  # the recorded-answer servers, run as subprocesses
        parser.add_argument(f"--serve-canned-{layer}", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_canned_asyncio:
        serve_canned(args.serve_canned_asyncio[0], int(args.serve_canned_asyncio[1]))
        return
    if args.serve_canned_waitress:
        serve_canned_waitress(args.serve_canned_waitress[0], int(args.serve_canned_waitress[1]))
        return

    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",)
    print(
        f"kmslab {kmslab.__version__}, boto3 {boto3.__version__}, Python "
        f"{platform.python_version()}, {os.cpu_count()} cores, load average {load[0]:.1f}"
    )
    port, moto_port, floor_port, bare_port = (_free_port() for _ in range(4))
    with ExitStack() as stack:
        canned = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "canned.json"
        _canned_bodies(canned)
        proc = stack.enter_context(_server(kmslab_server(port), port))
        served = http_client(f"http://127.0.0.1:{port}")
        in_thread = stack.enter_context(_thread_server())
        targets = {
            "in-process": kmslab.client(),
            "kmslab serve": served,
            "serve() thread": http_client(in_thread.url),
        }
        if args.moto_python:
            stack.enter_context(_server(moto_server(args.moto_python, moto_port), moto_port))
            targets["moto server"] = http_client(f"http://127.0.0.1:{moto_port}")
        else:
            print("moto is not installed here: pass --moto-python to compare with moto's server")
        stack.enter_context(_server(canned_server(canned, floor_port), floor_port))
        targets["floor"] = http_client(f"http://127.0.0.1:{floor_port}")
        stack.enter_context(_server(canned_server(canned, bare_port, "waitress"), bare_port))
        targets["waitress alone"] = http_client(f"http://127.0.0.1:{bare_port}")
        print_latency(latency(targets, args.calls, args.rounds))

        print(f"\n2. {CLIENTS} clients, each on its own kept-alive connection, DescribeKey")
        key_id = served.create_key()["KeyMetadata"]["KeyId"]
        runs_by_kind = {}
        for kind in ("boto3", "light"):
            runs = [
                throughput(kind, port, proc.pid, key_id, args.seconds) for _ in range(args.runs)
            ]
            runs_by_kind[kind] = runs
            print_throughput(f"kmslab serve, {kind} clients", runs)
        if "moto server" in targets:
            moto_key = targets["moto server"].create_key()["KeyMetadata"]["KeyId"]
            moto_pid = _listener_pid(moto_port)
            moto_runs = [throughput("boto3", moto_port, moto_pid, moto_key, args.seconds)]
            print_throughput("moto server, boto3 clients", moto_runs)
            ours, theirs = _median_server_cpu(runs_by_kind["boto3"]), _median_server_cpu(moto_runs)
            if ours and theirs:
                print(
                    f"    server CPU per call, moto / kmslab (boto3 clients): {theirs / ours:.1f} x"
                )


def _median_server_cpu(runs: list[dict[str, Any]]) -> float | None:
    cpu = [r["server_cpu_us"] for r in runs if r["server_cpu_us"] is not None]
    return statistics.median(cpu) if cpu else None


def _listener_pid(port: int) -> int:
    """The pid serving ``port`` (moto's server may fork a reloader): best effort, Linux."""
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == "0A":
            inode = fields[9]
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if any(os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]"
                   for fd in os.listdir(f"/proc/{pid}/fd")):  # fmt: skip
                return int(pid)
        except OSError:
            continue
    return -1


if __name__ == "__main__":
    main()
