"""Hands-on exercises whose answer depends on what the learner did: a benchmark run they made
(lesson 3) or an envelope they sealed (lesson 4). Each check returns a
:class:`~kmslab.learn.exercises.CheckResult` with specific feedback and a hint.

>>> from kmslab import bench
>>> run = bench.benchmark("test", specs=["ECC_NIST_P256", "ECC_NIST_EDWARDS25519"],
...                       operations=["sign"], layers=["primitive"])
>>> check_fastest(run.records, "sign", ...).summary
'No answer yet.'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import EllipsisType
from typing import Any

from kmslab.bench.records import Record, format_time, ratio
from kmslab.learn import envelope
from kmslab.learn.exercises import NO_ANSWER, CheckResult

__all__ = ["check_envelope", "check_fastest"]


def _rows(records: Iterable[Record], operation: str, layer: str) -> list[Record]:
    return sorted(
        (r for r in records if r.operation == operation and r.layer == layer and r.applicable),
        key=lambda r: r.median_s,
    )


def check_fastest(
    records: Iterable[Record],
    operation: str,
    answer: str | EllipsisType,
    *,
    layer: str = "primitive",
) -> CheckResult:
    """Is ``answer`` the key spec whose ``operation`` had the lowest median in this run?

    Feedback names the winner with its time, and says when the runner-up is within the
    noise (their quartile ranges overlap), in which case either answer counts.
    """
    if answer is ...:
        return NO_ANSWER
    rows = _rows(records, operation, layer)
    if not rows:
        return CheckResult(False, (f"this run has no {operation} on the {layer} layer",))
    best = rows[0]
    times: dict[str, Record] = {}
    for r in rows:  # fastest first, so each spec keeps its fastest algorithm
        times.setdefault(r.key_spec, r)
    close = [k for k, r in times.items() if k != best.key_spec and r.q1_s <= best.q3_s]
    line = f"{best.key_spec} had the lowest median {operation}: {format_time(best.median_s)}"
    if answer == best.key_spec or answer in close:
        extra = (
            f"; {', '.join(close)} came within the noise (their quartile ranges overlap)"
            if close
            else ""
        )
        return CheckResult(True, (line + extra,))
    if answer not in times:
        return CheckResult(
            False,
            (f"{answer!r} has no {operation} in this run; it measured {', '.join(times)}",),
            "Pick one of the key specs in the table above.",
        )
    theirs = times[str(answer)]
    return CheckResult(
        False,
        (f"{answer} took {format_time(theirs.median_s)}, {ratio(theirs, best)} as long", line),
        "Read the median column of the table for that operation, or sort the records by median_s.",
    )


def check_envelope(
    client: Any,
    key_id: str,
    sealed: bytes | EllipsisType,
    payload: bytes,
    encryption_context: Mapping[str, str],
) -> CheckResult:
    """Does ``sealed`` (bytes from :meth:`Envelope.to_bytes`) open to ``payload`` under the
    KMS key ``key_id`` with ``encryption_context``, and refuse to open without it?"""
    if sealed is ...:
        return NO_ANSWER
    if not isinstance(sealed, (bytes, bytearray)):
        return CheckResult(
            False,
            (f"expected bytes, got {type(sealed).__name__}",),
            "Call .to_bytes() on what envelope.seal returns.",
        )
    try:
        opened = envelope.unseal(client, bytes(sealed), encryption_context=dict(encryption_context))
    except Exception as exc:  # any failure to open is the feedback
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
        return CheckResult(
            False,
            (f"it does not open with the encryption context {dict(encryption_context)}: {code}",),
            "Seal with encryption_context=... the same dictionary the check uses.",
        )
    if opened != payload:
        return CheckResult(False, ("it opens, but to other bytes than the payload",))
    try:
        envelope.unseal(client, bytes(sealed))
    except Exception:  # refusing without the context is the point
        pass
    else:
        return CheckResult(
            False,
            ("it opens without an encryption context too",),
            "Pass encryption_context= to envelope.seal.",
        )
    # The key that sealed it: the encrypted data key names it.
    described = client.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"]
    sealed_by = client.decrypt(
        CiphertextBlob=envelope.Envelope.from_bytes(bytes(sealed)).encrypted_data_key,
        EncryptionContext=dict(encryption_context),
    )["KeyId"]
    if sealed_by != described:
        return CheckResult(False, ("it was sealed under another KMS key",))
    return CheckResult(
        True,
        (
            f"it opens to the {len(payload):,}-byte payload under {key_id} with "
            f"{dict(encryption_context)}, and not without that context",
        ),
    )
