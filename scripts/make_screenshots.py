"""Render the timing plots of the README into docs/images/ (``make screenshots``).

Runs the benchmark in quick mode (about half a minute: the weakest and strongest spec of each
family, on both layers) and saves each plot of :mod:`kmslab.bench.plots` as a PNG, plus the
overview figure. The numbers are this machine's: the script prints where it ran so the README
can say so. The lesson screenshots come from the browser test instead
(``KMSLAB_SCREENSHOTS=docs/images pytest tests/browser``; ``make screenshots`` runs both).

    python scripts/make_screenshots.py                  # quick mode, into docs/images/
    python scripts/make_screenshots.py --mode test --out /tmp/plots   # seconds, for a check
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]

#: File name (without .png) -> plot function name in kmslab.bench.plots.
PLOTS: dict[str, str] = {
    "bench-ops-per-second": "plot_ops_per_second",
    "bench-latency-vs-size": "plot_latency_vs_size",
    "bench-sign-verify": "plot_sign_verify",
    "bench-by-strength": "plot_by_strength",
    "bench-sizes": "plot_sizes",
    "bench-overview": "plot_overview",
}
DPI = 100


def render(records: Sequence[Any], out: Path) -> list[Path]:
    """Save every plot of ``records`` into ``out``; the paths written."""
    from kmslab.bench import plots

    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, function in PLOTS.items():
        plot: Callable[..., Any] = getattr(plots, function)
        figure = plot(records)
        path = out / f"{name}.png"
        figure.savefig(path, dpi=DPI)
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", default="quick", help="benchmark mode: test, quick or full")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "images")
    args = parser.parse_args(argv)

    from kmslab import bench

    results = bench.benchmark(args.mode, progress=bench.default_progress())
    env = results.environment
    print(
        f"measured in {args.mode} mode, {env.date}: {env.machine}, {env.cpu_count} CPUs, "
        f"load {env.load_average}, {env.python}, cryptography {env.cryptography} "
        f"({env.openssl}), kmslab {env.kmslab}",
        file=sys.stderr,
    )
    for path in render(results.records, args.out):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
