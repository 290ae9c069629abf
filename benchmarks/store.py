"""What keeping keys in a store costs per call: the same calls with and without ``store=``.

For CreateKey (SYMMETRIC_DEFAULT), Encrypt (1 KiB) and TagResource, each call is timed on
its own (perf_counter_ns, garbage collector off) on three LocalKMS objects, one after the
other (interleaved with the fsync-ing one, the others would wait for its disk flushes):

  memory        LocalKMS()                       no store (as without --store)
  store         LocalKMS(store=PATH)             SQLite, WAL, synchronous=FULL (the default:
                                                 each commit is fsynced before the answer)
  store-normal  the same with synchronous=NORMAL (commits survive a process crash but not
                                                 a power loss): what the fsync costs

Encrypt changes nothing, so it should cost the same in all three. The figures are the
median and the interquartile range, in microseconds, of ``--calls`` calls per variant. Then
TagResource is timed again on a store holding ``--keys`` keys, to show that a call's cost
does not grow with the number of keys (the store writes only what the call changed).

Run: .venv/bin/python benchmarks/store.py [--calls 300] [--keys 2000] [--dir DIR]
(DIR: where the stores go, default a temporary folder: put it on the disk you care about.)
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kmslab.kms import LocalKMS

KIB = os.urandom(1024)


def _normal(kms: LocalKMS) -> LocalKMS:
    """Switch this store's connection to synchronous=NORMAL (for comparison only)."""
    assert kms.store is not None
    db: sqlite3.Connection = kms.store._connection()
    db.execute("PRAGMA synchronous=NORMAL")
    return kms


def _time(fn: Callable[[], Any]) -> float:
    start = time.perf_counter_ns()
    fn()
    return (time.perf_counter_ns() - start) / 1000


def _summary(samples: list[float]) -> str:
    q1, median, q3 = statistics.quantiles(samples, n=4)
    return f"{median:9.1f} ({q1:7.1f}-{q3:7.1f})"


def measure(kinds: dict[str, LocalKMS], calls: int) -> dict[str, dict[str, list[float]]]:
    """Operation -> variant -> per-call microseconds.

    Each variant is timed in its own block: interleaved with the fsync-ing variant, the
    others would pay for its disk flushes too.
    """
    ops: dict[str, Callable[[LocalKMS, str, int], Any]] = {
        "CreateKey SYMMETRIC_DEFAULT": lambda kms, key, i: kms.call("CreateKey"),
        "Encrypt 1 KiB": lambda kms, key, i: kms.call("Encrypt", KeyId=key, Plaintext=KIB),
        "TagResource (1 tag)": lambda kms, key, i: kms.call(
            "TagResource", KeyId=key, Tags=[{"TagKey": "n", "TagValue": str(i)}]
        ),
    }
    results: dict[str, dict[str, list[float]]] = {op: {n: [] for n in kinds} for op in ops}
    for name, kms in kinds.items():
        key = kms.call("CreateKey")["KeyMetadata"]["KeyId"]
        for op, fn in ops.items():  # one operation at a time: Encrypt never follows an fsync
            gc.disable()
            try:
                samples = results[op][name]
                for i in range(calls):
                    samples.append(_time(lambda f=fn, k=kms, kid=key, n=i: f(k, kid, n)))
            finally:
                gc.enable()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=300, help="calls per variant (default 300)")
    parser.add_argument("--keys", type=int, default=2000, help="keys for the size check")
    parser.add_argument("--dir", type=Path, default=None, help="folder for the stores")
    args = parser.parse_args()
    folder = Path(args.dir or tempfile.mkdtemp(prefix="kmslab-store-bench-"))
    print(
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"{os.cpu_count()} CPUs; stores in {folder}"
    )
    kinds = {
        "memory": LocalKMS(),
        "store": LocalKMS(store=folder / "full.sqlite3"),
        "store-normal": _normal(LocalKMS(store=folder / "normal.sqlite3")),
    }
    try:
        results = measure(kinds, args.calls)
        print(f"\nper call, microseconds: median (interquartile range), {args.calls} calls each")
        print(f"{'operation':28}" + "".join(f"{name:>28}" for name in kinds))
        for op, by_kind in results.items():
            print(f"{op:28}" + "".join(f"{_summary(s):>28}" for s in by_kind.values()))
        base = {op: statistics.median(v["memory"]) for op, v in results.items()}
        print("\nwhat the store adds (median store - median memory), microseconds:")
        for op, by_kind in results.items():
            added = [
                f"{name} +{statistics.median(by_kind[name]) - base[op]:.1f}"
                for name in kinds
                if name != "memory"
            ]
            print(f"  {op:28} " + ", ".join(added))

        # Size check: TagResource on a store holding --keys keys vs the one above; on the
        # synchronous=NORMAL store, so that the disk's fsync time does not hide the store's.
        big = kinds["store-normal"]
        for _ in range(args.keys):
            big.call("CreateKey")
        total = len(big.keys)
        key_id = next(iter(big.keys))
        gc.disable()
        try:
            samples = [
                _time(
                    lambda i=i: big.call(
                        "TagResource", KeyId=key_id, Tags=[{"TagKey": "m", "TagValue": str(i)}]
                    )
                )
                for i in range(args.calls)
            ]
        finally:
            gc.enable()
        small = results["TagResource (1 tag)"]["store-normal"]
        print(
            f"\nTagResource (synchronous=NORMAL) with {total} keys: {_summary(samples)} "
            f"(vs {_summary(small)} with {args.calls + 1} keys)"
        )
    finally:
        for kms in kinds.values():
            kms.close()


if __name__ == "__main__":
    main()
