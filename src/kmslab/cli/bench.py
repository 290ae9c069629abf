"""``kmslab bench``: time every key type's operations, on the primitive and through the
local KMS (:mod:`kmslab.bench`).
"""

from __future__ import annotations

import argparse

from kmslab.bench.harness import harness_overhead
from kmslab.bench.openssl import format_openssl, run_openssl_speed
from kmslab.bench.progress import default_progress
from kmslab.bench.records import FAMILIES, MODES, format_table, warnings
from kmslab.bench.run import benchmark, format_by_strength, write_csv, write_json

__all__ = ["HELP", "configure", "run"]

HELP = "time every key type's operations, on the primitive and through the local KMS"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``bench`` arguments to ``parser``."""
    parser.add_argument(
        "--quick",
        action="store_true",
        help="quick mode: every family, its weakest and strongest spec (about 30 s)",
    )
    parser.add_argument(
        "--mode", choices=sorted(MODES), default=None, help="full (default), quick or test"
    )
    parser.add_argument(
        "--only", nargs="+", metavar="FAMILY", choices=FAMILIES,
        help=f"only these catalogue families: {', '.join(FAMILIES)}",
    )  # fmt: skip
    parser.add_argument("--json", metavar="PATH", help="write the records as a JSON list")
    parser.add_argument("--csv", metavar="PATH", help="write the records as CSV")
    parser.add_argument("--plot", metavar="PATH.png", help="save an overview figure")
    parser.add_argument(
        "--openssl",
        action="store_true",
        help="compare with `openssl speed` (about 1 s per algorithm and size)",
    )
    parser.add_argument(
        "--round-trip-ms", type=float, default=5.0, metavar="MS",
        help="network round trip to AWS KMS assumed by the KMS view (default 5 ms)",
    )  # fmt: skip
    parser.add_argument(
        "--check-harness", action="store_true",
        help="only compare the harness with bare timeit loops (RSA-2048 sign, AES-GCM 16 KiB)",
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    """Run the benchmark the arguments ask for, print the tables, write the files."""
    mode = args.mode or ("quick" if args.quick else "full")
    if args.check_harness:
        harness_overhead(mode)
        return 0
    results = benchmark(mode, families=args.only, progress=default_progress())
    env = results.environment
    print(
        f"kmslab bench ({mode} mode), {env.date}: {env.machine}, {env.cpu_count} CPUs, load "
        f"average {env.load_average} -> {env.load_average_after}; {env.python}, cryptography "
        f"{env.cryptography} ({env.openssl}), boto3 {env.boto3}"
    )
    print(format_table(results.records))
    for note in results.notes:
        print(f"note: {note}")
    for warning in warnings(results.records):  # noisy figures, said before anyone reads them
        print(f"warning: {warning}")
    print()
    print(format_by_strength(results.records))
    from kmslab.bench import kms_view

    view = kms_view.summary(results.records, round_trip_s=args.round_trip_ms / 1000)
    if view:
        print()
        print(view)
    for path, writer in ((args.json, write_json), (args.csv, write_csv)):
        if path:
            env_path = writer(path, results)
            print(f"wrote {path} (environment: {env_path})")
    if args.plot:
        from kmslab.bench import plots

        plots.plot_overview(results.records).savefig(args.plot, dpi=110)
        print(f"wrote {args.plot}")
    if args.openssl:
        ratios, notes = run_openssl_speed(results.records, seconds=MODES[mode].openssl_seconds)
        print()
        print(format_openssl(ratios))
        for note in notes:
            print(f"note: {note}")
    return 0
