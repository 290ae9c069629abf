"""Progress bars for a benchmark run: on a terminal, in a notebook, or none.

:func:`kmslab.bench.benchmark` tells its ``progress`` callback after each measurement
(``done`` of ``total``, and a label); any callable of that shape will do.

>>> import io
>>> out = io.StringIO()
>>> bar = TerminalProgress(out, width=8)
>>> bar(2, 8, "RSA_2048 sign")
>>> out.getvalue().split()[:2]
['[##......]', '2/8']
"""

from __future__ import annotations

import os
import sys
from typing import Any, Protocol

__all__ = ["Progress", "TerminalProgress", "default_progress", "notebook_progress"]


class Progress(Protocol):
    """Told after each measurement: ``done`` of ``total``, and what was just measured."""

    def __call__(self, done: int, total: int, label: str) -> None: ...


class TerminalProgress:
    """A one-line progress bar on stderr (use :func:`default_progress` to get one)."""

    def __init__(self, stream: Any = None, width: int = 24) -> None:
        self.stream = stream or sys.stderr
        self.width = width

    def __call__(self, done: int, total: int, label: str) -> None:
        filled = self.width * done // max(total, 1)
        bar = "#" * filled + "." * (self.width - filled)
        self.stream.write(f"\r[{bar}] {done}/{total} {label[:60]:<60}")
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


def default_progress() -> Progress | None:
    """A terminal bar when stderr is a terminal, and nothing in CI (``CI`` set) or a pipe."""
    if os.environ.get("CI") or not sys.stderr.isatty():
        return None
    return TerminalProgress()


def notebook_progress(description: str = "Benchmark") -> tuple[Any, Progress]:
    """An ipywidgets progress bar with a label, and the callback that moves it.

    >>> widget, progress = notebook_progress()
    >>> progress(3, 12, "RSA_2048 sign")
    >>> widget.children[0].value, widget.children[0].max, widget.children[1].value
    (3, 12, '3/12 RSA_2048 sign')
    """
    import ipywidgets

    bar = ipywidgets.IntProgress(value=0, min=0, max=1, description=description)
    text = ipywidgets.Label(value="")

    def update(done: int, total: int, label: str) -> None:
        bar.max = max(total, 1)
        bar.value = done
        text.value = f"{done}/{total} {label}"

    return ipywidgets.HBox([bar, text]), update
