"""The KMS view of the benchmark: what a call costs locally, and what it costs on AWS.

Locally a KMS call costs the cryptography plus the client and the local KMS around it
(:mod:`kmslab.bench` measures both). On AWS a network round trip of milliseconds comes on
top of every call, and request quotas cap how many calls an account may make each second.
That is why envelope encryption exists: one GenerateDataKey, then local AES-GCM for every
record, instead of one Encrypt call per record (which also refuses more than 4 KiB).

>>> from kmslab import bench
>>> from kmslab.bench import kms_view
>>> results = bench.benchmark("test", families=["aes"])
>>> per_record, envelope = kms_view.envelope_vs_encrypt(
...     results.records, n_records=100_000, record_bytes=1024, round_trip_s=0.005)
>>> per_record.kms_calls, envelope.kms_calls
(100000, 1)
>>> envelope.seconds < per_record.seconds
True
>>> big, _ = kms_view.envelope_vs_encrypt(results.records, n_records=10, record_bytes=2**20)
>>> big.feasible, big.note
(False, 'Encrypt takes at most 4096 bytes of plaintext')
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from kmslab import specs
from kmslab.bench.records import Record, format_time

__all__ = [
    "FAMILY_QUOTA",
    "QUOTAS",
    "CallCost",
    "EnvelopeEstimate",
    "Quota",
    "call_costs",
    "envelope_vs_encrypt",
    "plot_envelope",
    "summary",
]

#: The network round trip assumed when none is given (same Region, warm connection).
DEFAULT_ROUND_TRIP_S = 0.005


@dataclass(frozen=True, slots=True)
class Quota:
    """One AWS KMS request quota: its Service Quotas name and default requests per second."""

    name: str
    requests_per_s: float
    note: str


# Source: AWS KMS Developer Guide, "Request quotas" (requests-per-second.html), default
# values; every one is shared by the account's keys of that type in a Region, adjustable.
QUOTAS: dict[str, Quota] = {
    "symmetric": Quota(
        "Cryptographic operations (symmetric) request rate",
        5_500,
        "5,500 to 100,000 per second depending on the Region; counts Encrypt, Decrypt, "
        "GenerateDataKey(WithoutPlaintext), GenerateMac, VerifyMac, ReEncrypt, GenerateRandom",
    ),
    "rsa": Quota("Cryptographic operations (RSA) request rate", 500, "all RSA keys, shared"),
    "ecc": Quota(
        "Cryptographic operations (ECC) request rate", 300, "all elliptic curve keys, shared"
    ),
}
#: Catalogue family -> the quota its keys' cryptographic calls count against. ML-DSA and
#: ML-KEM are not in kmslab's quota table: check the Service Quotas console.
FAMILY_QUOTA: dict[str, str] = {
    "aes": "symmetric",
    "hmac": "symmetric",
    "rsa": "rsa",
    "ec": "ecc",
    "edwards": "ecc",
    "sm2": "ecc",
}


def _quota(family: str) -> Quota | None:
    name = FAMILY_QUOTA.get(family)
    return QUOTAS[name] if name else None


@dataclass(frozen=True, slots=True)
class CallCost:
    """One KMS operation: the cryptography alone, the local call, and an estimate on AWS.

    ``aws_s`` is the round trip plus the local call (client work plus the cryptography,
    as the local KMS does it: where kmslab's primitive is slow, such as pure-Python
    ML-KEM-512, this overstates AWS's own time). ``one_caller_per_s`` is what one caller
    calling in sequence achieves, ``quota_per_s`` what the whole account may (None: not in
    :data:`QUOTAS`).
    """

    key_spec: str
    operation: str
    algorithm: str
    message_bytes: int
    primitive_s: float | None
    local_s: float
    round_trip_s: float
    aws_s: float
    network_share: float
    one_caller_per_s: float
    quota_per_s: float | None


def call_costs(
    records: Iterable[Record], *, round_trip_s: float = DEFAULT_ROUND_TRIP_S
) -> list[CallCost]:
    """A :class:`CallCost` for every measured kms-layer record (key generation left out)."""
    records = list(records)
    primitive = {
        (r.key_spec, r.operation, r.algorithm, r.message_bytes): r.median_s
        for r in records
        if r.layer == "primitive" and r.applicable
    }
    out = []
    for r in records:
        if r.layer != "kms" or not r.applicable or r.operation == "keygen":
            continue
        aws = round_trip_s + r.median_s
        quota = _quota(r.family)
        out.append(
            CallCost(
                r.key_spec, r.operation, r.algorithm, r.message_bytes,
                primitive.get((r.key_spec, r.operation, r.algorithm, r.message_bytes)),
                r.median_s, round_trip_s, aws, round_trip_s / aws, 1 / aws,
                quota.requests_per_s if quota else None,
            )
        )  # fmt: skip
    return out


@dataclass(frozen=True, slots=True)
class EnvelopeEstimate:
    """The time to encrypt ``n_records`` records of ``record_bytes`` bytes one way.

    ``seconds`` is NaN when the way is not possible (``feasible`` False, ``note`` says
    why). ``quota_floor_s`` is the least time the account's request quota allows for the
    ``kms_calls``, however many callers run at once.
    """

    strategy: str
    n_records: int
    record_bytes: int
    kms_calls: int
    seconds: float
    network_s: float
    kms_s: float
    local_crypto_s: float
    quota_floor_s: float
    feasible: bool
    note: str = ""


def _interpolate(points: Sequence[tuple[int, float]], size: int) -> float:
    """Seconds at ``size`` bytes from measured (bytes, seconds): log-log between neighbours,
    the smallest figure below the range (fixed costs dominate), linear in bytes above it."""
    pts = sorted(p for p in points if p[0] > 0)
    if not pts:
        raise ValueError("no measured sizes to interpolate from")
    if size <= pts[0][0]:
        return pts[0][1]
    if size >= pts[-1][0]:
        return pts[-1][1] * size / pts[-1][0]
    for (x0, y0), (x1, y1) in itertools.pairwise(pts):
        if x0 <= size <= x1:
            f = math.log(size / x0) / math.log(x1 / x0)
            return math.exp(math.log(y0) + f * math.log(y1 / y0))
    raise AssertionError("unreachable")  # pragma: no cover


def _encrypt_points(records: Iterable[Record], layer: str) -> list[tuple[int, float]]:
    points = [
        (r.message_bytes, r.median_s)
        for r in records
        if r.family == "aes" and r.operation == "encrypt" and r.layer == layer and r.applicable
    ]
    if not points:
        raise ValueError(f"no {layer}-layer AES encrypt records: benchmark the aes family first")
    return points


def envelope_vs_encrypt(
    records: Iterable[Record],
    *,
    n_records: int,
    record_bytes: int,
    round_trip_s: float = DEFAULT_ROUND_TRIP_S,
    concurrency: int = 1,
) -> tuple[EnvelopeEstimate, EnvelopeEstimate]:
    """Encrypt per record versus envelope encryption, from measured local figures.

    - Encrypt per record: ``n_records`` calls, each a round trip plus the measured local
      Encrypt of ``record_bytes``; ``concurrency`` callers share the work, but never faster
      than the symmetric request quota allows. Impossible above Encrypt's 4 KiB limit.
    - Envelope: one GenerateDataKey (a round trip plus a local call, estimated by the
      measured Encrypt of a 32-byte key), then local AES-GCM of every record (measured,
      interpolated to ``record_bytes``) on one core.
    """
    records = list(records)
    kms_points, local_points = (
        _encrypt_points(records, "kms"),
        _encrypt_points(records, "primitive"),
    )
    quota = QUOTAS["symmetric"].requests_per_s
    alg = specs.get("SYMMETRIC_DEFAULT").algorithm("SYMMETRIC_DEFAULT")
    assert alg is not None and alg.max_plaintext_bytes is not None
    limit, n = alg.max_plaintext_bytes, n_records
    if record_bytes > limit:
        nan = math.nan
        per_record = EnvelopeEstimate(
            "Encrypt per record", n, record_bytes, n, nan, nan, nan, 0.0, n / quota, False,
            f"Encrypt takes at most {limit} bytes of plaintext",
        )  # fmt: skip
    else:
        call = _interpolate(kms_points, record_bytes)
        sequential = n * (round_trip_s + call) / concurrency
        floor = n / quota
        per_record = EnvelopeEstimate(
            "Encrypt per record", n, record_bytes, n, max(sequential, floor),
            n * round_trip_s / concurrency, n * call / concurrency, 0.0, floor, True,
            "limited by the request quota" if floor > sequential else "",
        )  # fmt: skip
    data_key_bytes = specs.DATA_KEY_SPECS["AES_256"]
    gdk = _interpolate(kms_points, data_key_bytes)
    local = n * _interpolate(local_points, record_bytes)
    envelope = EnvelopeEstimate(
        "GenerateDataKey + local AES-GCM", n, record_bytes, 1, round_trip_s + gdk + local,
        round_trip_s, gdk, local, 1 / quota, True,
    )  # fmt: skip
    return per_record, envelope


def plot_envelope(
    records: Iterable[Record],
    *,
    record_bytes: int = 1024,
    round_trip_s: float = DEFAULT_ROUND_TRIP_S,
    concurrency: int = 1,
    n_values: Sequence[int] = (1, 10, 100, 1_000, 10_000, 100_000, 1_000_000),
    ax: Any = None,
) -> Any:
    """Total time against the number of records: Encrypt per record vs envelope encryption.

    Returns the ``matplotlib.figure.Figure`` (drawn on ``ax`` when given).
    """
    from matplotlib.figure import Figure

    records = list(records)
    if ax is None:
        fig = Figure(figsize=(7, 4.5), layout="constrained")
        ax = fig.add_subplot()
    rows = [
        envelope_vs_encrypt(
            records, n_records=n, record_bytes=record_bytes, round_trip_s=round_trip_s,
            concurrency=concurrency,
        )
        for n in n_values
    ]  # fmt: skip
    # Okabe-Ito vermillion and blue: apart for every common kind of colour blindness.
    for i, style, colour in ((0, "o-", "#D55E00"), (1, "s-", "#0072B2")):
        ests = [row[i] for row in rows if row[i].feasible]
        if ests:
            ax.plot([e.n_records for e in ests], [e.seconds for e in ests], style,
                    label=ests[0].strategy, color=colour)  # fmt: skip
    quota = QUOTAS["symmetric"].requests_per_s
    ax.plot(n_values, [n / quota for n in n_values], ":", color="grey",
            label=f"quota floor: {quota:,.0f} calls/s")  # fmt: skip
    if not rows[0][0].feasible:
        ax.text(0.02, 0.95, f"Encrypt per record impossible: {rows[0][0].note}",
                transform=ax.transAxes, va="top", fontsize=9)  # fmt: skip
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("records (log scale)")
    ax.set_ylabel("total time, s (log scale)")
    ax.set_title(
        f"Model: {record_bytes:,} B records, {round_trip_s * 1000:.3g} ms round trip, "
        f"{concurrency} caller{'s' if concurrency > 1 else ''}"
    )
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=9)  # the quota floor is always drawn
    return ax.figure


def summary(records: Iterable[Record], *, round_trip_s: float = DEFAULT_ROUND_TRIP_S) -> str:
    """The KMS view as text: quotas, then per-record Encrypt vs envelope for a few workloads.

    Empty when ``records`` lack AES encrypt figures on both layers.
    """
    records = list(records)
    try:
        _encrypt_points(records, "kms")
        _encrypt_points(records, "primitive")
    except ValueError:
        return ""
    lines = [
        f"KMS view: on AWS every call adds a network round trip ({round_trip_s * 1000:g} ms "
        "assumed) and counts against a request quota (defaults, AWS KMS request quotas page):"
    ]
    lines += [f"  {q.requests_per_s:>7,.0f}/s  {q.name} ({q.note})" for q in QUOTAS.values()]
    lines.append("One call, locally and (estimated) on AWS, first operation of each family:")
    seen: set[str] = set()
    for c in call_costs(records, round_trip_s=round_trip_s):
        fam = specs.get(c.key_spec).family
        if fam in seen:
            continue
        seen.add(fam)
        quota = f"quota {c.quota_per_s:,.0f}/s" if c.quota_per_s else "quota: see Service Quotas"
        lines.append(
            f"  {c.key_spec:<22} {c.operation:<12} local {format_time(c.local_s):>9}  "
            f"AWS ~{format_time(c.aws_s):>9} ({c.network_share:.0%} network)  {quota}"
        )
    lines.append("Encrypting N records of S bytes, one caller:")
    for n, size in ((1_000, 1024), (100_000, 1024), (1_000, 2**20)):
        for est in envelope_vs_encrypt(
            records, n_records=n, record_bytes=size, round_trip_s=round_trip_s
        ):
            took = format_time(est.seconds) if est.feasible else "impossible"
            extra = f" ({est.note})" if est.note else ""
            lines.append(
                f"  N={n:>7,} S={size:>9,} B  {est.strategy:<32} {est.kms_calls:>7,} KMS calls"
                f"  {took:>10}{extra}"
            )
    return "\n".join(lines)
