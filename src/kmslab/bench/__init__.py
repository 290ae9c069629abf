"""Timing RSA vs ECC vs AES (and HMAC, Ed25519, ML-DSA, ML-KEM, ECDH): a benchmark to trust.

Every (key spec, operation) pair comes from the catalogue (:mod:`kmslab.specs`): each spec's
usages and algorithms say what to time. Each pair is timed on two layers:

- ``"primitive"``: the :mod:`kmslab.crypto` family function the local KMS itself calls
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
:mod:`kmslab.bench.openssl`), and ``kmslab bench --check-harness`` (the harness against a
bare timeit loop: :mod:`kmslab.bench.harness`). The calls timed on each layer are prepared
in :mod:`kmslab.bench.calls`, progress bars are in :mod:`kmslab.bench.progress`, plots in
:mod:`kmslab.bench.plots`, and what a call costs on AWS in :mod:`kmslab.bench.kms_view`.
"""

from __future__ import annotations

from kmslab.bench.harness import HarnessCheck, harness_overhead
from kmslab.bench.openssl import (
    OpenSSLRatio,
    format_openssl,
    parse_openssl_speed,
    run_openssl_speed,
)
from kmslab.bench.progress import Progress, TerminalProgress, default_progress, notebook_progress
from kmslab.bench.records import (
    FAMILIES,
    KMS_API,
    LAYERS,
    MESSAGE_BYTES,
    MODES,
    OPERATIONS_BY_KIND,
    Environment,
    Mode,
    Ratio,
    Record,
    Results,
    Task,
    environment,
    format_size,
    format_table,
    format_time,
    implementation,
    ratio,
    warnings,
)
from kmslab.bench.run import (
    benchmark,
    by_strength,
    format_by_strength,
    plan,
    read_json,
    select_specs,
    strength_groups,
    write_csv,
    write_json,
)
from kmslab.bench.timing import time_callable

__all__ = [
    "FAMILIES", "KMS_API", "LAYERS", "MESSAGE_BYTES", "MODES", "OPERATIONS_BY_KIND",
    "Environment", "HarnessCheck", "Mode", "OpenSSLRatio", "Progress", "Ratio", "Record",
    "Results", "Task", "TerminalProgress", "benchmark", "by_strength", "default_progress",
    "environment",
    "format_by_strength", "format_openssl", "format_size", "format_table", "format_time",
    "harness_overhead", "implementation", "notebook_progress", "parse_openssl_speed", "plan",
    "ratio", "read_json", "run_openssl_speed", "select_specs", "strength_groups",
    "time_callable", "warnings", "write_csv", "write_json",
]  # fmt: skip
