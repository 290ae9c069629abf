"""Timing RSA vs ECC vs AES (and HMAC, Ed25519, ML-DSA, ML-KEM, ECDH): a benchmark to trust.

Every (key spec, operation) pair comes from the catalogue (:mod:`kmslab.specs`): each spec's
usages and algorithms say what to time. Each pair is timed on two layers:

- ``"primitive"``: the :mod:`kmslab._crypto` family function the local KMS itself calls
  (the same code path, without the KMS around it);
- ``"kms"``: the full call through a boto3 client on a :class:`~kmslab.LocalKMS`
  (``kmslab.client("local")``): parameter validation, JSON, base64, key lookup, rules.

Method: warm-up, then timeit-style automatic loop counts (each sample lasts at least the
mode's ``min_sample_s``), at least 5 samples, median and interquartile range. Key generation
is timed separately, one key per sample when a key takes more than 0.1 ms, and slow key
generation (RSA) gets many samples so its heavy tail shows (min, median, p90, max).

>>> from kmslab import bench
>>> results = bench.benchmark("test", specs=["HMAC_224"], layers=["primitive"])
>>> for r in results.records:
...     print(r.operation, r.algorithm or "-", r.message_bytes, r.artifact_bytes)
keygen - 0 None
generate_mac HMAC_SHA_224 32 28
verify_mac HMAC_SHA_224 32 28
>>> all(r.median_s > 0 and r.samples >= 5 for r in results.records)
True

Modes: ``"test"`` (tiny samples, for the test suite), ``"quick"`` (workshops: the weakest and
strongest spec of each family, about 30 s in all) and ``"full"`` (every spec and algorithm,
careful numbers, several minutes):

>>> results = bench.benchmark("quick", families=["rsa", "ec"])  # doctest: +SKIP
>>> bench.write_json("bench.json", results)  # and bench.environment.json  # doctest: +SKIP
>>> print(bench.format_table(results.records))  # doctest: +SKIP

From a shell: ``kmslab bench --quick --json bench.json --plot bench.png``,
``kmslab bench --only rsa ec --openssl`` (our figures as a ratio of ``openssl speed``:
:mod:`kmslab.bench_openssl`), and ``kmslab bench --check-harness`` (the harness against a
bare timeit loop: :mod:`kmslab.bench_harness`). The calls timed on each layer are prepared
in :mod:`kmslab._bench_calls`, progress bars are in :mod:`kmslab.bench_progress`, plots in
:mod:`kmslab.bench_plots`, and what a call costs on AWS in :mod:`kmslab.bench_kms`.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import gc
import itertools
import json
import math
import os
import platform
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from kmslab import specs
from kmslab._bench_calls import Subject, catalogue_bytes
from kmslab._crypto import family

# The reference checks and the progress bars live in their own modules; their names are
# re-exported here, where the notebooks and scripts have always found them.
from kmslab.bench_harness import HarnessCheck, harness_overhead
from kmslab.bench_openssl import (
    OpenSSLRatio,
    format_openssl,
    parse_openssl_speed,
    run_openssl_speed,
)
from kmslab.bench_progress import (
    Progress,
    TerminalProgress,
    default_progress,
    notebook_progress,
)

__all__ = [
    "FAMILIES",
    "HELP",
    "KMS_API",
    "LAYERS",
    "MODES",
    "OPERATIONS_BY_KIND",
    "Environment",
    "HarnessCheck",
    "Mode",
    "OpenSSLRatio",
    "Progress",
    "Record",
    "Results",
    "Task",
    "TerminalProgress",
    "benchmark",
    "by_strength",
    "configure",
    "default_progress",
    "environment",
    "format_by_strength",
    "format_openssl",
    "format_size",
    "format_table",
    "format_time",
    "harness_overhead",
    "notebook_progress",
    "parse_openssl_speed",
    "plan",
    "read_json",
    "run",
    "run_openssl_speed",
    "select_specs",
    "strength_groups",
    "time_callable",
    "write_csv",
    "write_json",
]

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


# -- timing --------------------------------------------------------------------------------


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


def _summary(per_call: Sequence[float]) -> dict[str, Any]:
    q1, _, q3 = statistics.quantiles(per_call, n=4, method="inclusive")
    median = statistics.median(per_call)
    return {
        "median_s": median,
        "iqr_s": q3 - q1,
        "ops_per_s": 1.0 / median,
        "min_s": min(per_call),
        "p90_s": statistics.quantiles(per_call, n=10, method="inclusive")[8],
        "max_s": max(per_call),
    }


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


def _implemented(info: specs.KeySpecInfo) -> bool:
    return bool(getattr(family(info.family), "IMPLEMENTED", True))


def select_specs(
    mode: Mode, families: Iterable[str] | None = None, names: Iterable[str] | None = None
) -> list[specs.KeySpecInfo]:
    """The specs a run covers: ``names`` if given, else the mode's pick from ``families``.

    >>> [s.name for s in select_specs(MODES["quick"], ["rsa", "ml-kem"])]
    ['RSA_2048', 'RSA_4096', 'ML_KEM_512', 'ML_KEM_1024']
    """
    if names is not None:
        return [specs.get(n) for n in names]
    wanted = set(FAMILIES if families is None else families)
    unknown = wanted - set(FAMILIES)
    if unknown:
        raise ValueError(f"unknown families {sorted(unknown)}; choose from {', '.join(FAMILIES)}")
    rows = [s for s in specs.all_specs() if s.family in wanted]
    if mode.strengths == "all":
        return rows
    keep: set[str] = set()
    for fam in wanted:
        members = [s for s in rows if s.family == fam]
        if members:
            keep.add(min(members, key=lambda s: s.security_bits).name)  # first of ties
            if mode.strengths == "ends":
                keep.add(max(members, key=lambda s: s.security_bits).name)
    return [s for s in rows if s.name in keep]


def _algorithms(usage: specs.Usage, every: bool) -> list[specs.Algorithm]:
    """Every algorithm, or one per kind of work (same padding and message types)."""
    if every:
        return list(usage.algorithms)
    groups: dict[tuple[str | None, tuple[str, ...]], list[specs.Algorithm]] = {}
    for alg in usage.algorithms:
        groups.setdefault((alg.padding, alg.message_types), []).append(alg)
    return [next((a for a in g if a.hash == PREFERRED_HASH), g[0]) for g in groups.values()]


def _message_plan(
    info: specs.KeySpecInfo, alg: specs.Algorithm, mode: Mode
) -> list[tuple[int, str]]:
    """(message bytes, message type) pairs for one algorithm, read from the catalogue."""
    if alg.kind == "encryption":
        if info.symmetric:  # symmetric encryption: a sweep of sizes
            return [(size, "RAW") for size in mode.message_sizes]
        assert alg.max_plaintext_bytes is not None  # asymmetric: the largest it allows
        return [(alg.max_plaintext_bytes, "RAW")]
    if alg.kind == "signing":
        if "RAW" in alg.message_types:
            return [(MESSAGE_BYTES, "RAW")]
        assert alg.digest_bytes is not None
        return [(alg.digest_bytes, alg.message_types[0])]
    if alg.kind == "mac":
        return [(MESSAGE_BYTES, "RAW")]
    return [(0, "RAW")]  # key agreement and encapsulation take no message


def plan(
    mode: Mode | str = "quick",
    *,
    families: Iterable[str] | None = None,
    specs: Iterable[str] | None = None,
    operations: Iterable[str] | None = None,
    layers: Iterable[Layer] = LAYERS,
) -> tuple[list[Task], list[str]]:
    """The measurements a run makes, derived from the catalogue, and notes on what is skipped.

    >>> tasks, notes = plan("test", families=["sm2", "ec"], layers=["primitive"])
    >>> sorted({t.operation for t in tasks})
    ['derive', 'keygen', 'sign', 'verify']
    >>> notes
    ['SM2 skipped: kmslab does not implement sm2 cryptography.']
    """
    m = _mode(mode)
    wanted_ops = None if operations is None else set(operations)
    wanted_layers = tuple(layers)
    tasks: list[Task] = []
    notes: list[str] = []

    def add(task: Task) -> None:
        if (wanted_ops is None or task.operation in wanted_ops) and task.layer in wanted_layers:
            tasks.append(task)

    for info in select_specs(m, families, specs):
        if not _implemented(info):
            notes.append(
                f"{info.name} skipped: kmslab does not implement {info.family} cryptography."
            )
            continue
        for layer in LAYERS:
            add(Task(info, "keygen", None, 0, layer))
        for usage in info.usages:
            for alg in _algorithms(usage, m.all_algorithms):
                for size, message_type in _message_plan(info, alg, m):
                    for op in OPERATIONS_BY_KIND[usage.kind]:
                        for layer in LAYERS:
                            add(Task(info, op, alg, size, layer, message_type))
    return tasks, notes


# -- running -------------------------------------------------------------------------------


def _time_keygen(s: Subject, t: Task, m: Mode) -> tuple[list[float], int]:
    """Time key generation: one key per sample when a key takes long, many samples then.

    On the primitive layer the last key made becomes the spec's working key. The kms layer
    calls CreateKey on a throwaway KMS: piling keys into the shared one would slow its
    later calls (each call scans the keys for due deletions).
    """
    info, gen = s.info, s.module.generate
    if t.layer == "primitive":

        def make() -> None:
            s.key = gen(info)

    else:
        import kmslab

        scratch = kmslab.client("local")
        params = {"KeySpec": info.name, "KeyUsage": info.default_usage or info.usage_names[0]}

        def make() -> None:
            scratch.create_key(**params)

    first = _run(make, 1)  # a warm-up, unless the key is slow to make
    second = _run(make, 1)
    if min(first, second) >= SLOW_KEYGEN_S:  # warming up is noise next to such a key
        return [first, second] + [_run(make, 1) for _ in range(m.slow_keygen_samples - 2)], 1
    if second >= ONE_KEY_PER_SAMPLE_S:
        return [second] + [_run(make, 1) for _ in range(m.keygen_samples - 1)], 1
    return time_callable(
        (lambda: gen(info)) if t.layer == "primitive" else make,
        min_sample_s=m.min_sample_s,
        samples=m.keygen_samples,
        warmup_s=m.warmup_s,
    )


def _measure(s: Subject, t: Task, m: Mode) -> Record:
    alg = t.algorithm
    common: dict[str, Any] = {
        "key_spec": t.info.name,
        "family": t.info.family,
        "operation": t.operation,
        "algorithm": alg.name if alg else "",
        "message_bytes": t.message_bytes,
        "layer": t.layer,
        "security_bits": t.info.security_bits,
        "key_bits": t.info.key_bits,
    }
    limit = alg.max_plaintext_bytes if alg and alg.kind == "encryption" else None
    if t.layer == "kms" and limit is not None and t.message_bytes > limit:
        nan = math.nan
        public, private = s.key_sizes()
        return Record(
            **common,
            public_key_bytes=public, private_key_bytes=private,
            median_s=nan, iqr_s=nan, ops_per_s=nan, samples=0, loops=0, min_s=nan, p90_s=nan,
            max_s=nan, applicable=False,
            note=f"{KMS_API[t.operation]} takes at most {limit} bytes: use envelope encryption",
        )  # fmt: skip
    if alg is None:
        per_call, loops = _time_keygen(s, t, m)
        artifact = over = catalogue = None
    else:
        fn, artifact, over = s.calls(t)[t.operation]
        per_call, loops = time_callable(
            fn, min_sample_s=m.min_sample_s, samples=m.samples, warmup_s=m.warmup_s
        )
        catalogue = catalogue_bytes(alg)
    public, private = s.key_sizes()  # after keygen: its last key is the working key
    return Record(
        **common,
        **_summary(per_call),
        samples=len(per_call),
        loops=loops,
        public_key_bytes=public,
        private_key_bytes=private,
        artifact_bytes=artifact,
        catalogue_bytes=catalogue,
        overhead_bytes=over,
    )


def benchmark(
    mode: Mode | str = "quick",
    *,
    families: Iterable[str] | None = None,
    specs: Iterable[str] | None = None,
    operations: Iterable[str] | None = None,
    layers: Iterable[Layer] = LAYERS,
    progress: Progress | None = None,
) -> Results:
    """Measure every planned (spec, operation, algorithm, size, layer); see :func:`plan`.

    ``families`` are catalogue family names (``aes``, ``rsa``, ``ml-kem``...); ``specs``
    names key specs outright. ``progress`` is told after each measurement.
    """
    import kmslab

    m = _mode(mode)
    tasks, notes = plan(m, families=families, specs=specs, operations=operations, layers=layers)
    env = environment(m.name)
    client = kmslab.client("local") if any(t.layer == "kms" for t in tasks) else None
    subjects: dict[str, Subject] = {}
    records = []
    for done, task in enumerate(tasks, 1):
        info = task.info
        subject = subjects.setdefault(info.name, Subject(info, family(info.family), client))
        records.append(_measure(subject, task, m))
        if progress is not None:
            progress(done, len(tasks), task.label)
    env = replace(env, load_average_after=_load_average())
    return Results(tuple(records), env, tuple(notes))


def strength_groups() -> dict[int, list[str]]:
    """Key specs grouped by security strength (bits), from the catalogue: compare like with like.

    >>> strength_groups()[128]  # doctest: +NORMALIZE_WHITESPACE
    ['RSA_3072', 'ECC_NIST_P256', 'ECC_SECG_P256K1', 'ECC_NIST_EDWARDS25519',
     'ML_DSA_44', 'ML_KEM_512', 'SM2']
    """
    groups: dict[int, list[str]] = {}
    for info in sorted(specs.all_specs(), key=lambda s: s.security_bits):
        groups.setdefault(info.security_bits, []).append(info.name)
    return groups


def by_strength(records: Iterable[Record], layer: str = "primitive") -> dict[int, list[Record]]:
    """Measured records grouped by their spec's security strength, weakest group first.

    >>> run = benchmark("test", specs=["HMAC_224", "ECC_NIST_P256"], operations=["keygen"],
    ...                 layers=["primitive"])
    >>> {bits: [r.key_spec for r in rows] for bits, rows in by_strength(run.records).items()}
    {128: ['ECC_NIST_P256'], 192: ['HMAC_224']}
    """
    groups: dict[int, list[Record]] = {}
    for r in sorted(records, key=lambda r: r.security_bits):
        if r.layer == layer and r.applicable:
            groups.setdefault(r.security_bits, []).append(r)
    return groups


def format_by_strength(records: Iterable[Record], layer: str = "primitive") -> str:
    """Equal security side by side: per strength, each spec's operations (first algorithm,
    smallest message), so RSA-3072 is set against P-256, not P-521."""
    lines = [f"Equal security ({layer} layer, median time per operation):"]
    for bits, rows in by_strength(records, layer).items():
        per_spec: dict[str, dict[str, Record]] = {}
        for r in rows:
            ops = per_spec.setdefault(r.key_spec, {})
            if r.operation not in ops or r.message_bytes < ops[r.operation].message_bytes:
                ops[r.operation] = r
        for i, (name, ops) in enumerate(per_spec.items()):
            cells = "  ".join(f"{op} {format_time(r.median_s)}" for op, r in ops.items())
            lines.append(f"  {f'{bits} bits' if i == 0 else '':<9} {name:<22} {cells}")
    return "\n".join(lines)


# -- output --------------------------------------------------------------------------------

#: Record fields in the order JSON and CSV give them.
FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Record))


def write_json(path: str | Path, results: Results) -> Path:
    """Write the records as a JSON list, and the environment beside it.

    The environment goes to ``<path stem>.environment.json``; that path is returned.
    """
    path = Path(path)
    path.write_text(json.dumps([r.to_dict() for r in results.records], indent=1) + "\n")
    return _write_environment(path, results)


def read_json(path: str | Path) -> tuple[Record, ...]:
    """Records back from :func:`write_json`'s file (None times become NaN again), to plot
    or compare runs from other machines."""
    floats = {f.name for f in dataclasses.fields(Record) if f.type == "float"}
    rows: list[dict[str, Any]] = json.loads(Path(path).read_text())
    fixed: list[dict[str, Any]] = [
        {k: math.nan if k in floats and v is None else v for k, v in row.items()} for row in rows
    ]
    return tuple(Record(**row) for row in fixed)


def write_csv(path: str | Path, results: Results) -> Path:
    """Write the records as CSV (one row each), and the environment beside it as JSON."""
    path = Path(path)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        for r in results.records:
            writer.writerow({k: "" if v is None else v for k, v in r.to_dict().items()})
    return _write_environment(path, results)


def _write_environment(path: Path, results: Results) -> Path:
    env_path = path.with_name(path.stem + ".environment.json")
    data = {**dataclasses.asdict(results.environment), "notes": list(results.notes)}
    env_path.write_text(json.dumps(data, indent=1) + "\n")
    return env_path


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


# -- command line --------------------------------------------------------------------------

HELP = "time every key type's operations, on the primitive and through the local KMS"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``bench`` arguments to ``parser``."""
    parser.add_argument(
        "--quick",
        action="store_true",
        help="quick mode: every family, its weakest and strongest spec (about 30 s)",
    )
    parser.add_argument(
        "--mode", choices=sorted(MODES), default=None, help="full (default), quick or test"
    )
    parser.add_argument(
        "--only", nargs="+", metavar="FAMILY", choices=FAMILIES,
        help=f"only these catalogue families: {', '.join(FAMILIES)}",
    )  # fmt: skip
    parser.add_argument("--json", metavar="PATH", help="write the records as a JSON list")
    parser.add_argument("--csv", metavar="PATH", help="write the records as CSV")
    parser.add_argument("--plot", metavar="PATH.png", help="save an overview figure")
    parser.add_argument(
        "--openssl",
        action="store_true",
        help="compare with `openssl speed` (about 1 s per algorithm and size)",
    )
    parser.add_argument(
        "--round-trip-ms", type=float, default=5.0, metavar="MS",
        help="network round trip to AWS KMS assumed by the KMS view (default 5 ms)",
    )  # fmt: skip
    parser.add_argument(
        "--check-harness", action="store_true",
        help="only compare the harness with bare timeit loops (RSA-2048 sign, AES-GCM 16 KiB)",
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    """Run the benchmark the arguments ask for, print the tables, write the files."""
    mode = args.mode or ("quick" if args.quick else "full")
    if args.check_harness:
        harness_overhead(mode)
        return 0
    results = benchmark(mode, families=args.only, progress=default_progress())
    env = results.environment
    print(
        f"kmslab bench ({mode} mode), {env.date}: {env.machine}, {env.cpu_count} CPUs, load "
        f"average {env.load_average} -> {env.load_average_after}; {env.python}, cryptography "
        f"{env.cryptography} ({env.openssl}), boto3 {env.boto3}"
    )
    print(format_table(results.records))
    for note in results.notes:
        print(f"note: {note}")
    print()
    print(format_by_strength(results.records))
    from kmslab import bench_kms

    view = bench_kms.summary(results.records, round_trip_s=args.round_trip_ms / 1000)
    if view:
        print()
        print(view)
    for path, writer in ((args.json, write_json), (args.csv, write_csv)):
        if path:
            env_path = writer(path, results)
            print(f"wrote {path} (environment: {env_path})")
    if args.plot:
        from kmslab import bench_plots

        bench_plots.plot_overview(results.records).savefig(args.plot, dpi=110)
        print(f"wrote {args.plot}")
    if args.openssl:
        ratios, notes = run_openssl_speed(results.records, seconds=MODES[mode].openssl_seconds)
        print()
        print(format_openssl(ratios))
        for note in notes:
            print(f"note: {note}")
    return 0
