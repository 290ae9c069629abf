"""What a benchmark measures and records: modes, tasks, records, the environment, and
the formatters that print them. The bottom of :mod:`kmslab.bench`: it imports nothing of
the benchmark above it.
"""

from __future__ import annotations

import dataclasses
import math
import os
import platform
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

from kmslab import specs

Layer = Literal["primitive", "kms"]
LAYERS: tuple[Layer, ...] = ("primitive", "kms")
#: Catalogue family names, in catalogue order (what ``--only`` accepts).
FAMILIES: tuple[str, ...] = tuple(dict.fromkeys(s.family for s in specs.all_specs()))
#: The operations each kind of algorithm (a usage of the catalogue) is timed for.
OPERATIONS_BY_KIND: dict[specs.AlgorithmKind, tuple[str, ...]] = {
    "encryption": ("encrypt", "decrypt"),
    "signing": ("sign", "verify"),
    "mac": ("generate_mac", "verify_mac"),
    "key_agreement": ("derive",),
    "encapsulation": ("encapsulate", "decapsulate"),
}
#: Our operation name -> the AWS KMS API operation the kms layer calls.
KMS_API: dict[str, str] = {
    "keygen": "CreateKey",
    "encrypt": "Encrypt",
    "decrypt": "Decrypt",
    "sign": "Sign",
    "verify": "Verify",
    "generate_mac": "GenerateMac",
    "verify_mac": "VerifyMac",
    "derive": "DeriveSharedSecret",
    "encapsulate": "Encapsulate",
    "decapsulate": "Decapsulate",
}
#: Size of the RAW message signed and MACed (a digest-sized message: the asymmetric cost
#: dominates, not the hashing).
MESSAGE_BYTES = 32
#: Key generation faster than this is timed in loops, like any operation; slower, one key
#: per sample.
ONE_KEY_PER_SAMPLE_S = 1e-4
#: Key generation slower than this (RSA) gets ``Mode.slow_keygen_samples`` samples.
SLOW_KEYGEN_S = 0.01
#: When several algorithms of a usage do the same work with another hash (RSA PSS with
#: SHA-256/384/512), the quick and test modes time the SHA-256 one.
PREFERRED_HASH = "SHA256"
#: A measurement whose interquartile range exceeds this fraction of its median is flagged:
#: the machine was busy, and the figure should not be read closely.
SPREAD_WARNING = 0.5

#: Which library does the cryptography of a row, so a slow library is not read as a slow
#: algorithm: (key spec, algorithm) first, then key spec, then family. The kms layer runs
#: the same library behind a boto3 call.
_OPENSSL = "OpenSSL via cryptography"
IMPLEMENTATIONS: dict[str, str] = {
    # FIPS 203 ML-KEM-512 is not in cryptography: kyber-py, in pure Python (kmslab.crypto.mlkem).
    "ML_KEM_512": "kyber-py (pure Python)",
    # RFC 8032 Ed25519ph is not in cryptography: pycryptodome (kmslab.crypto.edwards).
    "ED25519_PH_SHA_512": "pycryptodome",
}


def implementation(key_spec: str, algorithm: str = "") -> str:
    """The library that computes a row's cryptography.

    >>> implementation("ML_KEM_512"), implementation("ML_KEM_768")
    ('kyber-py (pure Python)', 'OpenSSL via cryptography')
    >>> implementation("ECC_NIST_EDWARDS25519", "ED25519_PH_SHA_512")
    'pycryptodome'
    """
    return IMPLEMENTATIONS.get(algorithm) or IMPLEMENTATIONS.get(key_spec) or _OPENSSL


@dataclass(frozen=True, slots=True)
class Mode:
    """How hard to measure: sample length and count, sizes, and which specs and algorithms.

    ``strengths``: ``"all"`` specs, each family's weakest and strongest (``"ends"``), or only
    its weakest, by the catalogue's ``security_bits``. ``all_algorithms=False`` times one
    algorithm per distinct kind of work (per RSA padding, say) instead of every hash.

    How many samples an operation gets is set by time, not by a fixed count: as many rounds
    (one sample of each layer, in turns) as fit in ``budget_s``, at least ``samples`` (the
    floor a median and an IQR need) and at most ``max_samples``.
    """

    name: str
    min_sample_s: float
    samples: int
    warmup_s: float
    keygen_samples: int
    slow_keygen_samples: int
    message_sizes: tuple[int, ...]
    strengths: Literal["all", "ends", "weakest"]
    all_algorithms: bool
    openssl_seconds: int = 1
    #: Seconds to spend on one operation, both layers together (see the class docstring).
    budget_s: float = 0.0
    max_samples: int = 5

    def __post_init__(self) -> None:
        if min(self.samples, self.keygen_samples, self.slow_keygen_samples) < 5:
            raise ValueError("a median and an interquartile range need at least 5 samples")


_KIB, _MIB = 1024, 1024 * 1024
MODES: dict[str, Mode] = {
    m.name: m
    for m in (
        # The test suite's: tiny samples, each family's weakest spec, three message sizes.
        Mode(
            name="test", min_sample_s=0.002, samples=5, warmup_s=0.001,
            keygen_samples=5, slow_keygen_samples=5, message_sizes=(16, 4 * _KIB, _MIB),
            strengths="weakest", all_algorithms=False, budget_s=0.02, max_samples=9,
        ),
        # Workshops: about 30 s on two cores; every family, its weakest and strongest spec.
        Mode(
            name="quick", min_sample_s=0.02, samples=5, warmup_s=0.01,
            keygen_samples=5, slow_keygen_samples=5,
            message_sizes=(16, _KIB, 4 * _KIB, 64 * _KIB, _MIB),
            strengths="ends", all_algorithms=False, budget_s=0.25, max_samples=25,
        ),
        # Careful numbers: every spec and algorithm, 30 RSA keys per layer for the tail.
        Mode(
            name="full", min_sample_s=0.1, samples=7, warmup_s=0.05,
            keygen_samples=15, slow_keygen_samples=30,
            message_sizes=(16, 64, 256, _KIB, 4 * _KIB, 16 * _KIB, 64 * _KIB, 256 * _KIB, _MIB),
            strengths="all", all_algorithms=True, budget_s=1.5, max_samples=51,
        ),
    )
}  # fmt: skip


def _mode(mode: Mode | str) -> Mode:
    """A mode, given as itself or by name."""
    return MODES[mode] if isinstance(mode, str) else mode


# -- records -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Record:
    """One measured (key spec, operation, algorithm, message size, layer).

    Times are seconds per operation. ``applicable`` is False (times NaN) when the layer
    cannot do it, as the kms layer cannot Encrypt more than 4096 bytes; ``note`` says why.

    Sizes, measured on the keys used: ``public_key_bytes`` (DER SubjectPublicKeyInfo),
    ``private_key_bytes`` (PKCS #8 DER, or the raw symmetric key), ``artifact_bytes`` (what
    the operation pair is about: ciphertext, signature, MAC, shared secret or KEM
    ciphertext) and ``overhead_bytes`` (ciphertext minus plaintext). ``catalogue_bytes`` is
    the catalogue's figure for the artifact (for DER ECDSA signatures, the maximum).
    """

    key_spec: str
    family: str
    operation: str
    algorithm: str
    message_bytes: int
    layer: str
    security_bits: int
    median_s: float
    iqr_s: float
    ops_per_s: float
    samples: int
    loops: int
    min_s: float
    p90_s: float
    max_s: float
    applicable: bool = True
    note: str = ""
    key_bits: int = 0
    public_key_bytes: int | None = None
    private_key_bytes: int | None = None
    artifact_bytes: int | None = None
    catalogue_bytes: int | None = None
    overhead_bytes: int | None = None
    #: First and third quartiles of the per-call times (the IQR is their difference).
    q1_s: float = math.nan
    q3_s: float = math.nan
    #: The library that did the cryptography (:func:`implementation`).
    implementation: str = ""
    #: Whether the kms layer was sampled in turns with the primitive layer (same noise).
    interleaved: bool = False

    @property
    def spread(self) -> float:
        """The interquartile range as a fraction of the median (NaN when not measured)."""
        return self.iqr_s / self.median_s if self.median_s else math.nan

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON-ready data (NaN becomes None)."""
        return {
            k: None if isinstance(v, float) and math.isnan(v) else v
            for k, v in dataclasses.asdict(self).items()
        }


@dataclass(frozen=True, slots=True)
class Environment:
    """Where and with what the numbers were measured."""

    date: str
    machine: str
    platform: str
    processor: str
    cpu_count: int | None
    #: 1, 5 and 15 minute load averages when the run began (and ended): a busy machine
    #: makes noisy numbers.
    load_average: tuple[float, float, float] | None
    python: str
    cryptography: str
    openssl: str
    boto3: str
    botocore: str
    kmslab: str
    mode: str
    load_average_after: tuple[float, float, float] | None = None


@dataclass(frozen=True, slots=True)
class Results:
    """What :func:`benchmark` returns: the records, the environment and notes on skips."""

    records: tuple[Record, ...]
    environment: Environment
    notes: tuple[str, ...] = ()

    def find(
        self,
        key_spec: str,
        operation: str,
        layer: str = "primitive",
        message_bytes: int | None = None,
        algorithm: str | None = None,
    ) -> Record:
        """The first record that matches (``LookupError`` when none does)."""
        for r in self.records:
            if (r.key_spec, r.operation, r.layer) == (key_spec, operation, layer) and (
                (message_bytes is None or r.message_bytes == message_bytes)
                and (algorithm is None or r.algorithm == algorithm)
            ):
                return r
        raise LookupError(f"no record for {key_spec} {operation} {layer} {message_bytes}")


def _load_average() -> tuple[float, float, float] | None:
    if not hasattr(os, "getloadavg"):  # pragma: no cover - Windows
        return None
    one, five, fifteen = os.getloadavg()
    return round(one, 2), round(five, 2), round(fifteen, 2)


def environment(mode: str = "") -> Environment:
    """Describe this machine and the library versions that do the work."""
    from importlib.metadata import PackageNotFoundError, version

    import cryptography
    from cryptography.hazmat.backends.openssl import backend

    def _version(dist: str) -> str:
        try:
            return version(dist)
        except PackageNotFoundError:
            return "not installed"

    from kmslab import __version__

    return Environment(
        date=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        machine=platform.machine(),
        platform=platform.platform(),
        processor=platform.processor(),
        cpu_count=os.cpu_count(),
        load_average=_load_average(),
        python=f"{platform.python_implementation()} {platform.python_version()}",
        cryptography=cryptography.__version__,
        openssl=backend.openssl_version_text(),
        boto3=_version("boto3"),
        botocore=_version("botocore"),
        kmslab=__version__,
        mode=mode,
    )


# -- what to measure -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Task:
    """One measurement to make: ``algorithm`` is None for key generation."""

    info: specs.KeySpecInfo
    operation: str
    algorithm: specs.Algorithm | None
    message_bytes: int
    layer: Layer
    message_type: str = "RAW"

    @property
    def label(self) -> str:
        size = f" {self.message_bytes} B" if self.message_bytes else ""
        alg = f" {self.algorithm.name}" if self.algorithm else ""
        return f"{self.info.name} {self.operation}{alg}{size} [{self.layer}]"


def format_time(seconds: float) -> str:
    """Seconds in the unit that reads best, to three significant figures.

    >>> format_time(0.000_012_3), format_time(0.0456), format_time(0.000_999_97)
    ('12.3 µs', '45.6 ms', '1 ms')
    >>> format_time(576.4), format_time(4321.0), format_time(float("nan"))
    ('576 s', '4,321 s', 'n/a')
    """
    if math.isnan(seconds):
        return "n/a"
    if seconds >= 999.5:
        return f"{seconds:,.0f} s"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale * 0.9995:  # so 999.97 µs reads 1 ms, not 1e+03 µs
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def format_size(n: int) -> str:
    """A byte count in the largest binary unit that divides it.

    >>> format_size(16), format_size(4096), format_size(2**20), format_size(1500)
    ('16 B', '4 KiB', '1 MiB', '1500 B')
    """
    if n >= _MIB and n % _MIB == 0:
        return f"{n // _MIB} MiB"
    if n >= _KIB and n % _KIB == 0:
        return f"{n // _KIB} KiB"
    return f"{n} B"


@dataclass(frozen=True, slots=True)
class Ratio:
    """How many times longer one measured operation takes than another, as a range: the
    median ratio, and the ratios of the quartiles that bound it (``low`` = q1 / other q3,
    ``high`` = q3 / other q1). On a noisy machine the range is wide: read it, not the median.

    >>> r = Ratio(12.0, 8.0, 20.0)
    >>> str(r)
    '12x (8x to 20x)'
    """

    median: float
    low: float
    high: float

    def __str__(self) -> str:
        def show(x: float) -> str:
            return f"{x:.2g}x" if x < 10 else f"{x:,.0f}x"

        return f"{show(self.median)} ({show(self.low)} to {show(self.high)})"


def ratio(slow: Record, fast: Record) -> Ratio:
    """``slow``'s time over ``fast``'s: the median ratio and the quartile bounds.

    >>> nan = float("nan")
    >>> a = Record("A", "f", "op", "", 0, "primitive", 128, 2.0, 1.0, 0.5, 5, 1, 1.0, 3.0, 3.0,
    ...            q1_s=1.5, q3_s=2.5)
    >>> b = Record("B", "f", "op", "", 0, "primitive", 128, 1.0, 0.5, 1.0, 5, 1, 0.5, 1.5, 1.5,
    ...            q1_s=0.75, q3_s=1.25)
    >>> str(ratio(a, b))
    '2x (1.2x to 3.3x)'
    """
    return Ratio(slow.median_s / fast.median_s, slow.q1_s / fast.q3_s, slow.q3_s / fast.q1_s)


def warnings(records: Iterable[Record]) -> list[str]:
    """What a reader must know before trusting the figures: measurements whose spread is
    large (IQR over :data:`SPREAD_WARNING` of the median), and full KMS calls that came out
    faster than the cryptography they contain (only noise does that).

    >>> a = Record("A", "f", "sign", "", 0, "primitive", 128, 2.0, 1.5, 0.5, 5, 1, 1.0, 3.0, 3.0)
    >>> b = dataclasses.replace(a, layer="kms", median_s=1.0, iqr_s=0.1)
    >>> for line in warnings([a, b]): print(line)
    A sign [primitive]: spread 75% of the median (a busy machine)
    A sign: KMS call (1 s) faster than its cryptography (2 s): noise
    """
    rows = [r for r in records if r.applicable and not math.isnan(r.median_s)]
    out = []
    for r in rows:
        if r.spread > SPREAD_WARNING:
            out.append(
                f"{r.key_spec} {r.operation}{' ' + r.algorithm if r.algorithm else ''} [{r.layer}]:"
                f" spread {r.spread:.0%} of the median (a busy machine)"
            )
    inner = {
        (r.key_spec, r.operation, r.algorithm, r.message_bytes): r
        for r in rows
        if r.layer == "primitive"
    }
    for r in rows:
        below = inner.get((r.key_spec, r.operation, r.algorithm, r.message_bytes))
        if r.layer == "kms" and below is not None and r.median_s < below.median_s:
            out.append(
                f"{r.key_spec} {r.operation}{' ' + r.algorithm if r.algorithm else ''}: KMS call "
                f"({format_time(r.median_s)}) faster than its cryptography "
                f"({format_time(below.median_s)}): noise"
            )
    return out


def _spread(r: Record) -> str:
    """The IQR as a share of the median, with ``!`` when over :data:`SPREAD_WARNING`."""
    if not r.applicable or math.isnan(r.median_s):
        return "-"
    return f"{'! ' if r.spread > SPREAD_WARNING else ''}{r.spread:.0%}"


def _library(r: Record) -> str:
    """The library's short name: ``OpenSSL``, ``kyber-py``, ``pycryptodome``."""
    return (r.implementation or "-").split(" ")[0]


def format_table(records: Iterable[Record]) -> str:
    """An aligned text table of records, what matters first: the spec and the library that
    did its cryptography, the operation, the median time, its quartiles and their spread
    (``!`` over half the median: noisy), then rates, sample counts, sizes and why n/a."""
    head = ("key spec", "library", "operation", "algorithm", "message", "layer", "median",
            "q1 to q3", "spread", "ops/s", "samples", "artifact B", "public key B",
            "note")  # fmt: skip
    rows = [head]
    for r in records:
        quartiles = (
            "n/a" if math.isnan(r.q1_s) else f"{format_time(r.q1_s)} to {format_time(r.q3_s)}"
        )
        rows.append(
            (
                r.key_spec, _library(r), r.operation, r.algorithm or "-",
                format_size(r.message_bytes) if r.message_bytes else "-", r.layer,
                format_time(r.median_s), quartiles, _spread(r),
                "n/a" if math.isnan(r.ops_per_s) else f"{r.ops_per_s:,.0f}",
                f"{r.samples}x{r.loops}" if r.applicable else "-",
                "-" if r.artifact_bytes is None else str(r.artifact_bytes),
                "-" if r.public_key_bytes is None else str(r.public_key_bytes),
                r.note,
            )
        )  # fmt: skip
    widths = [max(len(row[c]) for row in rows) for c in range(len(head))]
    right = {6, 7, 8, 9, 10, 11, 12}
    return "\n".join(
        "  ".join(
            cell.rjust(w) if c in right else cell.ljust(w)
            for c, (cell, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    )
