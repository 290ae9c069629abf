"""Timing loops: timeit-style calibration with garbage collection off, and summaries
(median, IQR, p90) of per-call times.
"""

from __future__ import annotations

import gc
import itertools
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any


def _run(fn: Callable[[], object], loops: int) -> float:
    """Seconds for ``loops`` calls of ``fn``, garbage collection off (as timeit does)."""
    gc_was_on = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in itertools.repeat(None, loops):
            fn()
        return time.perf_counter() - start
    finally:
        if gc_was_on:
            gc.enable()


def _calibrate(fn: Callable[[], object], min_sample_s: float) -> tuple[int, float]:
    """The smallest of 1, 2, 5, 10, 20, 50... calls that lasts ``min_sample_s``, and its time."""
    for exponent in itertools.count():
        for step in (1, 2, 5):
            loops = step * int(10**exponent)
            elapsed = _run(fn, loops)
            if elapsed >= min_sample_s:
                return loops, elapsed
    raise AssertionError("unreachable")  # pragma: no cover


def time_callable(
    fn: Callable[[], object],
    *,
    min_sample_s: float,
    samples: int,
    warmup_s: float = 0.0,
    loops: int | None = None,
) -> tuple[list[float], int]:
    """Time ``fn``: (seconds per call for each sample, calls per sample).

    Warm up for ``warmup_s`` (at least one call), pick the loop count so a sample lasts
    ``min_sample_s`` (unless ``loops`` is given), then take ``samples`` samples; the
    calibration run that reached ``min_sample_s`` counts as the first.

    >>> per_call, loops = time_callable(lambda: sum(range(100)), min_sample_s=0.001, samples=5)
    >>> len(per_call), loops >= 1, min(per_call) > 0
    (5, True, True)
    """
    deadline = time.perf_counter() + warmup_s
    fn()
    while time.perf_counter() < deadline:
        fn()
    first: list[float] = []
    if loops is None:
        loops, elapsed = _calibrate(fn, min_sample_s)
        first.append(elapsed / loops)
    rest = [_run(fn, loops) / loops for _ in range(samples - len(first))]
    return first + rest, loops


def _summary(per_call: Sequence[float]) -> dict[str, Any]:
    q1, _, q3 = statistics.quantiles(per_call, n=4, method="inclusive")
    median = statistics.median(per_call)
    return {
        "median_s": median,
        "iqr_s": q3 - q1,
        "ops_per_s": 1.0 / median,
        "min_s": min(per_call),
        "p90_s": statistics.quantiles(per_call, n=10, method="inclusive")[8],
        "max_s": max(per_call),
    }
