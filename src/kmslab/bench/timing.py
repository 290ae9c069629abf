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


def time_interleaved(
    fns: Sequence[Callable[[], object]],
    *,
    min_sample_s: float,
    min_samples: int,
    budget_s: float,
    max_samples: int,
    warmup_s: float = 0.0,
) -> list[tuple[list[float], int]]:
    """Time several callables in turns, so a burst of load hits each of them alike.

    Each gets its own loop count (a sample lasts at least ``min_sample_s``); then rounds of
    one sample of each, in alternating order, until ``budget_s`` is spent, with at least
    ``min_samples`` and at most ``max_samples`` rounds. Returns, per callable, (seconds per
    call for each sample, calls per sample).

    >>> timed = time_interleaved([lambda: sum(range(50)), lambda: sum(range(500))],
    ...     min_sample_s=0.001, min_samples=5, budget_s=0.01, max_samples=9)
    >>> [len(per_call) >= 5 for per_call, _ in timed]
    [True, True]
    """
    loops: list[int] = []
    round_s = 0.0
    for fn in fns:
        deadline = time.perf_counter() + warmup_s
        fn()
        while time.perf_counter() < deadline:
            fn()
        n, elapsed = _calibrate(fn, min_sample_s)
        loops.append(n)
        round_s += elapsed
    rounds = max(min_samples, min(max_samples, int(budget_s / max(round_s, 1e-9))))
    samples: list[list[float]] = [[] for _ in fns]
    order = list(range(len(fns)))
    for i in range(rounds):
        for k in order if i % 2 == 0 else reversed(order):
            samples[k].append(_run(fns[k], loops[k]) / loops[k])
    return list(zip(samples, loops, strict=True))


def _summary(per_call: Sequence[float]) -> dict[str, Any]:
    q1, _, q3 = statistics.quantiles(per_call, n=4, method="inclusive")
    median = statistics.median(per_call)
    return {
        "median_s": median,
        "iqr_s": q3 - q1,
        "q1_s": q1,
        "q3_s": q3,
        "ops_per_s": 1.0 / median,
        "min_s": min(per_call),
        "p90_s": statistics.quantiles(per_call, n=10, method="inclusive")[8],
        "max_s": max(per_call),
    }
