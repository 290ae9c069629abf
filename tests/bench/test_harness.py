"""The harness check (:mod:`kmslab.bench.harness`): our loop against bare ``timeit`` loops."""

from __future__ import annotations

import pytest

from kmslab.bench import harness


def test_harness_overhead_reports_ratios(capsys: pytest.CaptureFixture[str]) -> None:
    checks = harness.harness_overhead("test")
    assert [c.target for c in checks] == [1.10, 1.15, None]
    assert all(c.ours_s > 0 and c.bare_s > 0 and c.ratio > 0 for c in checks)
    out = capsys.readouterr().out
    assert "RSA_2048 sign RSASSA_PSS_SHA_256" in out and "ratio" in out
