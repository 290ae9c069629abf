"""The benchmark's progress bars (:mod:`kmslab.bench.progress`): terminal, notebook, none."""

from __future__ import annotations

import io
import sys

import pytest

from kmslab.bench import progress as bench_progress


def test_terminal_progress_bar() -> None:
    out = io.StringIO()
    bar = bench_progress.TerminalProgress(out, width=10)
    bar(5, 10, "RSA_2048 sign")
    bar(10, 10, "done")
    text = out.getvalue()
    assert "[#####.....] 5/10 RSA_2048 sign" in text
    assert "[##########] 10/10 done" in text and text.endswith("\n")


def test_no_progress_bar_in_ci_or_a_pipe(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stderr", Tty())
    monkeypatch.delenv("CI", raising=False)
    assert isinstance(bench_progress.default_progress(), bench_progress.TerminalProgress)
    monkeypatch.setenv("CI", "true")
    assert bench_progress.default_progress() is None
    monkeypatch.delenv("CI")
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert bench_progress.default_progress() is None


def test_notebook_progress_widget() -> None:
    widget, progress = bench_progress.notebook_progress("Timing")
    bar, label = widget.children
    assert bar.description == "Timing"
    progress(7, 9, "ML_DSA_44 sign")
    assert (bar.value, bar.max, label.value) == (7, 9, "7/9 ML_DSA_44 sign")
