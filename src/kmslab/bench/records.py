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


@dataclass(frozen=True, slots=True)
class Mode:
    """How hard to measure: sample length and count, sizes, and which specs and algorithms.

    ``strengths``: ``"all"`` specs, each family's weakest and strongest (``"ends"``), or only
    its weakest, by the catalogue's ``security_bits``. ``all_algorithms=False`` times one
    algorithm per distinct kind of work (per RSA padding, say) instead of every hash.
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
            strengths="weakest", all_algorithms=False,
        ),
        # Workshops: about 30 s on two cores; every family, its weakest and strongest spec.
        Mode(
            name="quick", min_sample_s=0.02, samples=5, warmup_s=0.01,
            keygen_samples=5, slow_keygen_samples=5,
            message_sizes=(16, _KIB, 4 * _KIB, 64 * _KIB, _MIB),
            strengths="ends", all_algorithms=False,
        ),
        # Careful numbers: every spec and algorithm, 30 RSA keys per layer for the tail.
        Mode(
            name="full", min_sample_s=0.1, samples=7, warmup_s=0.05,
            keygen_samples=15, slow_keygen_samples=30,
            message_sizes=(16, 64, 256, _KIB, 4 * _KIB, 16 * _KIB, 64 * _KIB, 256 * _KIB, _MIB),
            strengths="all", all_algorithms=True,
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


def format_table(records: Iterable[Record]) -> str:
    """An aligned text table of records: times per operation, sizes, and why n/a."""
    head = ("key spec", "operation", "algorithm", "message", "layer", "median", "IQR",
            "ops/s", "samples", "artifact B", "public key B", "note")  # fmt: skip
    rows = [head]
    for r in records:
        rows.append(
            (
                r.key_spec, r.operation, r.algorithm or "-",
                format_size(r.message_bytes) if r.message_bytes else "-", r.layer,
                format_time(r.median_s), format_time(r.iqr_s),
                "n/a" if math.isnan(r.ops_per_s) else f"{r.ops_per_s:,.0f}",
                f"{r.samples}x{r.loops}" if r.applicable else "-",
                "-" if r.artifact_bytes is None else str(r.artifact_bytes),
                "-" if r.public_key_bytes is None else str(r.public_key_bytes),
                r.note,
            )
        )  # fmt: skip
    widths = [max(len(row[c]) for row in rows) for c in range(len(head))]
    right = {5, 6, 7, 8, 9, 10}
    return "\n".join(
        "  ".join(
            cell.rjust(w) if c in right else cell.ljust(w)
            for c, (cell, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    )
