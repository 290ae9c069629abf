"""Where key specs can live: the catalogue's answer and the local KMS's agree."""

from __future__ import annotations

from kmslab.cli import main
from kmslab.learn.availability import (
    CUSTOM_KEY_STORE,
    availability_diff,
    availability_text,
    derived_availability,
    measured_availability,
)


def test_derived_and_measured_agree() -> None:
    derived, measured = derived_availability(), measured_availability()
    assert availability_diff(derived, measured) == []
    assert [s for (s, p), ok in derived.items() if p == CUSTOM_KEY_STORE and ok] == [
        "SYMMETRIC_DEFAULT"
    ]
    assert not derived[("ML_KEM_512", "aws-cn")] and derived[("SM2", "aws-cn")]
    changed = dict(measured)
    changed[("SM2", "aws")] = True
    assert availability_diff(derived, changed) == ["SM2 in aws: derived False, measured True"]


def test_text_and_cli(capsys) -> None:
    text = availability_text(derived_availability())
    assert text.splitlines()[0].split() == [
        "KeySpec",
        "aws-cn",
        "aws-us-gov",
        "aws",
        "custom",
        "key",
        "store",
    ]
    assert main(["compare", "--where"]) == 0
    assert "SM2" in capsys.readouterr().out
