"""The hands-on checks of lessons 3 and 4, on records and envelopes made for the purpose."""

from __future__ import annotations

import dataclasses
from typing import Any

import kmslab
from kmslab.bench.records import Record
from kmslab.learn import envelope, hands_on


def _record(spec: str, median: float, q1: float, q3: float) -> Record:
    return Record(spec, "f", "sign", "", 32, "primitive", 128, median, q3 - q1, 1 / median, 5, 1,
                  q1, q3, q3, q1_s=q1, q3_s=q3)  # fmt: skip


RECORDS = [_record("A", 1.0, 0.9, 1.1), _record("B", 3.0, 2.8, 3.2), _record("C", 1.05, 1.0, 1.2)]


def test_the_fastest_is_right_and_so_is_one_within_the_noise() -> None:
    assert hands_on.check_fastest(RECORDS, "sign", "A").correct
    result = hands_on.check_fastest(RECORDS, "sign", "C")
    assert result.correct and "within the noise" in repr(result)


def test_a_slower_answer_says_how_much_slower() -> None:
    result = hands_on.check_fastest(RECORDS, "sign", "B")
    assert not result.correct
    assert "B took 3 s, 3x (2.5x to 3.6x) as long" in repr(result)


def test_an_answer_the_run_did_not_measure() -> None:
    result = hands_on.check_fastest(RECORDS, "sign", "RSA_2048")
    assert not result.correct and "it measured A, C, B" in repr(result)


def test_no_answer_yet() -> None:
    assert hands_on.check_fastest(RECORDS, "sign", ...).summary == "No answer yet."


def _kms_and_key() -> tuple[Any, str]:
    kms = kmslab.client()
    return kms, kms.create_key()["KeyMetadata"]["KeyId"]


def test_an_envelope_sealed_as_asked_passes() -> None:
    kms, key_id = _kms_and_key()
    context = {"file": "q3.csv"}
    blob = envelope.seal(kms, key_id, b"rows", encryption_context=context).to_bytes()
    assert hands_on.check_envelope(kms, key_id, blob, b"rows", context).correct


def test_an_envelope_without_the_context_fails_with_the_reason() -> None:
    kms, key_id = _kms_and_key()
    blob = envelope.seal(kms, key_id, b"rows").to_bytes()
    result = hands_on.check_envelope(kms, key_id, blob, b"rows", {"file": "q3.csv"})
    assert not result.correct and "InvalidCiphertextException" in repr(result)


def test_an_envelope_object_instead_of_bytes() -> None:
    kms, key_id = _kms_and_key()
    sealed: Any = envelope.seal(kms, key_id, b"rows", encryption_context={"a": "b"})
    result = hands_on.check_envelope(kms, key_id, sealed, b"rows", {"a": "b"})
    assert not result.correct and "to_bytes()" in repr(result)


def test_an_envelope_of_other_bytes_fails() -> None:
    kms, key_id = _kms_and_key()
    blob = envelope.seal(kms, key_id, b"other", encryption_context={"a": "b"}).to_bytes()
    assert not hands_on.check_envelope(kms, key_id, blob, b"rows", {"a": "b"}).correct


def test_records_replace_keeps_quartiles() -> None:
    assert dataclasses.replace(RECORDS[0], layer="kms").q3_s == 1.1
