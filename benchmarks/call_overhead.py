"""What one call to kmslab's local KMS costs, next to what it is made of.

For each operation, three figures are measured side by side in one run (timeit-style: the
garbage collector off, each variant timed in interleaved rounds, the median kept):

  (a) raw       the `cryptography` operation alone (or os.urandom for key generation);
  (b) boto3     a boto3 KMS client built exactly as kmslab.target.local_client builds it
                (UNSIGNED, no retries, the same before-send hook), answered with a canned
                response body: boto3's own per-call cost;
  (c) kmslab    kmslab.client(): boto3 plus the local KMS doing the real work.

kmslab overhead = (c) - (b) - (a): what kmslab itself adds (JSON, validation against
botocore's model, rules, ARNs). If moto is importable, moto's mock_aws client is timed on
the same calls afterwards and the moto/kmslab ratio is printed.

Run: .venv/bin/python benchmarks/call_overhead.py [--repeats 9] [--min-time 0.05]
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import sys
import timeit
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
import botocore
import cryptography
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

import kmslab
from kmslab.target import local_client

KIB = os.urandom(1024)
MESSAGE = b"benchmark message"
PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)


@dataclass
class Row:
    """One benchmarked call: its label, the KMS key it needs, the request, the raw work."""

    label: str
    operation: str
    key: tuple[str, str] | None  # (KeySpec, KeyUsage) of the key the call names
    request: Callable[[str], dict[str, Any]]  # key id -> boto3 keyword arguments
    raw: Callable[[], object]


def _rows() -> list[Row]:
    aes_key = os.urandom(32)
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    rsa_sig = rsa_key.sign(MESSAGE, PSS, hashes.SHA256())
    ec_sig = ec_key.sign(MESSAGE, ec.ECDSA(hashes.SHA256()))
    mac_key = os.urandom(32)

    def mac() -> bytes:
        h = crypto_hmac.HMAC(mac_key, hashes.SHA256())
        h.update(MESSAGE)
        return h.finalize()

    sym = ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT")
    return [
        Row(
            "Encrypt 1 KiB (SYMMETRIC_DEFAULT)",
            "Encrypt",
            sym,
            lambda k: {"KeyId": k, "Plaintext": KIB},
            lambda: AESGCM(aes_key).encrypt(os.urandom(12), KIB, b"\x01" * 49),
        ),
        Row(
            "GenerateDataKey AES_256",
            "GenerateDataKey",
            sym,
            lambda k: {"KeyId": k, "KeySpec": "AES_256"},
            lambda: AESGCM(aes_key).encrypt(os.urandom(12), os.urandom(32), b"\x01" * 49),
        ),
        Row(
            "Sign RSA_2048 PSS SHA-256",
            "Sign",
            ("RSA_2048", "SIGN_VERIFY"),
            lambda k: {"KeyId": k, "Message": MESSAGE, "SigningAlgorithm": "RSASSA_PSS_SHA_256"},
            lambda: rsa_key.sign(MESSAGE, PSS, hashes.SHA256()),
        ),
        Row(
            "Verify RSA_2048 PSS SHA-256",
            "Verify",
            ("RSA_2048", "SIGN_VERIFY"),
            lambda k: {
                "KeyId": k,
                "Message": MESSAGE,
                "SigningAlgorithm": "RSASSA_PSS_SHA_256",
                "Signature": b"",  # filled in with a real signature before timing
            },
            lambda: rsa_key.public_key().verify(rsa_sig, MESSAGE, PSS, hashes.SHA256()),
        ),
        Row(
            "Sign ECC_NIST_P256 ECDSA",
            "Sign",
            ("ECC_NIST_P256", "SIGN_VERIFY"),
            lambda k: {"KeyId": k, "Message": MESSAGE, "SigningAlgorithm": "ECDSA_SHA_256"},
            lambda: ec_key.sign(MESSAGE, ec.ECDSA(hashes.SHA256())),
        ),
        Row(
            "Verify ECC_NIST_P256 ECDSA",
            "Verify",
            ("ECC_NIST_P256", "SIGN_VERIFY"),
            lambda k: {
                "KeyId": k,
                "Message": MESSAGE,
                "SigningAlgorithm": "ECDSA_SHA_256",
                "Signature": b"",
            },
            lambda: ec_key.public_key().verify(ec_sig, MESSAGE, ec.ECDSA(hashes.SHA256())),
        ),
        Row(
            "GenerateMac HMAC_256",
            "GenerateMac",
            ("HMAC_256", "GENERATE_VERIFY_MAC"),
            lambda k: {"KeyId": k, "Message": MESSAGE, "MacAlgorithm": "HMAC_SHA_256"},
            mac,
        ),
        Row(
            "CreateKey SYMMETRIC_DEFAULT",
            "CreateKey",
            None,
            lambda k: {},
            lambda: os.urandom(32),
        ),
        Row(
            "CreateKey HMAC_256",
            "CreateKey",
            None,
            lambda k: {"KeySpec": "HMAC_256", "KeyUsage": "GENERATE_VERIFY_MAC"},
            lambda: os.urandom(32),
        ),
    ]


# -- clients ------------------------------------------------------------------------------


class CannedKMS:
    """Stands where a LocalKMS stands behind local_client, answering every call with a
    recorded response body: the client does all its work, the server none."""

    region = "us-east-1"

    def __init__(self) -> None:
        self.bodies: dict[str, bytes] = {}

    def handle(self, operation: str, body: bytes) -> tuple[int, bytes]:
        return 200, self.bodies[operation]


def _prepare(client: Any, rows: list[Row]) -> dict[str, dict[str, Any]]:
    """The boto3 keyword arguments of each row, with keys (and signatures) made in ``client``."""
    key_ids: dict[tuple[str, str], str] = {}
    requests: dict[str, dict[str, Any]] = {}
    for row in rows:
        key_id = ""
        if row.key is not None:
            if row.key not in key_ids:
                made = client.create_key(KeySpec=row.key[0], KeyUsage=row.key[1])
                key_ids[row.key] = made["KeyMetadata"]["KeyId"]
            key_id = key_ids[row.key]
        request = row.request(key_id)
        if row.operation == "Verify":
            sign = {k: v for k, v in request.items() if k != "Signature"}
            request["Signature"] = client.sign(**sign)["Signature"]
        requests[row.label] = request
    return requests


class Recorder:
    """Stands in front of a LocalKMS and keeps the last response body of each operation."""

    def __init__(self, kms: Any) -> None:
        self.kms = kms
        self.region = kms.region
        self.bodies: dict[str, bytes] = {}

    def handle(self, operation: str, body: bytes) -> tuple[int, bytes]:
        status, payload = self.kms.handle(operation, body)
        assert status == 200, payload
        self.bodies[operation] = payload
        return status, payload


def _record_bodies(kms: Any, rows: list[Row], requests: dict[str, dict[str, Any]]) -> CannedKMS:
    """A CannedKMS replaying a real response body of each row's operation."""
    recorder = Recorder(kms)
    client = local_client(recorder)
    for row in rows:
        _call(client, row.operation, requests[row.label])()
    canned = CannedKMS()
    canned.bodies.update(recorder.bodies)
    return canned


# -- timing -------------------------------------------------------------------------------


def _number(fn: Callable[[], object], min_time: float) -> int:
    """How many calls make one timing run last at least ``min_time`` seconds."""
    n = 1
    while True:
        t = timeit.Timer(fn).timeit(n)
        if t >= min_time:
            return n
        n = max(n * 2, int(n * min_time / max(t, 1e-9) * 1.2))


def measure(
    variants: dict[str, Callable[[], object]], repeats: int, min_time: float
) -> dict[str, float]:
    """Median microseconds per call of each variant, timed in interleaved rounds."""
    numbers = {name: _number(fn, min_time) for name, fn in variants.items()}
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(repeats):
        for name, fn in variants.items():
            samples[name].append(timeit.Timer(fn).timeit(numbers[name]) / numbers[name])
    return {name: statistics.median(s) * 1e6 for name, s in samples.items()}


def _call(client: Any, operation: str, request: dict[str, Any]) -> Callable[[], object]:
    method = getattr(client, botocore.xform_name(operation))
    return lambda: method(**request)


# -- moto ---------------------------------------------------------------------------------


def _moto(rows: list[Row], repeats: int, min_time: float) -> dict[str, float | str] | None:
    """Median microseconds per call with moto's mock_aws, or None if moto is not installed.

    Imported only now: moto hooks into every botocore client created after its import.
    """
    try:
        from moto import mock_aws
    except ImportError:
        return None
    fake = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    saved = {name: os.environ.get(name) for name in fake}
    os.environ.update(fake)
    out: dict[str, float | str] = {}
    try:
        with mock_aws():
            client = boto3.client("kms", region_name="us-east-1")
            for row in rows:
                try:
                    request = _prepare(client, [row])[row.label]
                    fn = _call(client, row.operation, request)
                    fn()
                except Exception as exc:  # moto lacks some operations or key specs
                    out[row.label] = f"n/a ({type(exc).__name__})"
                    continue
                out[row.label] = measure({"moto": fn}, repeats, min_time)["moto"]
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return out


# -- report -------------------------------------------------------------------------------


def _fmt(value: float | str) -> str:
    return f"{value:,.1f}" if isinstance(value, float) else value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=9, help="timing rounds (median kept)")
    parser.add_argument(
        "--min-time", type=float, default=0.05, help="seconds each timing run lasts at least"
    )
    args = parser.parse_args(argv)

    rows = _rows()
    kms_client = kmslab.client()
    kms = kms_client.local_kms
    requests = _prepare(kms_client, rows)
    canned_client = local_client(_record_bodies(kms, rows, requests))
    # CreateKey gets a LocalKMS of its own: the thousands of keys it makes stay out of the
    # other rows' way.
    create_client = kmslab.client()

    results: dict[str, dict[str, float]] = {}
    gc.collect()
    for row in rows:
        target = create_client if row.operation == "CreateKey" else kms_client
        request = requests[row.label]
        results[row.label] = measure(
            {
                "raw": row.raw,
                "boto3": _call(canned_client, row.operation, request),
                "kmslab": _call(target, row.operation, request),
            },
            args.repeats,
            args.min_time,
        )
    moto = _moto(rows, args.repeats, args.min_time)

    print(
        f"kmslab call overhead: median µs per call, {args.repeats} rounds "
        f"(Python {platform.python_version()}, cryptography {cryptography.__version__}, "
        f"boto3 {boto3.__version__}, {os.cpu_count()} CPUs)"
    )
    headers = ["operation", "(a) raw", "(b) boto3", "(c) kmslab", "overhead c-b-a"]
    if moto is not None:
        headers += ["moto", "moto/kmslab"]
    table = []
    for row in rows:
        r = results[row.label]
        line = [
            row.label,
            _fmt(r["raw"]),
            _fmt(r["boto3"]),
            _fmt(r["kmslab"]),
            _fmt(r["kmslab"] - r["boto3"] - r["raw"]),
        ]
        if moto is not None:
            m = moto[row.label]
            line += [_fmt(m), f"{m / r['kmslab']:.1f}x" if isinstance(m, float) else "-"]
        table.append(line)
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *table, strict=True)]
    for i, line in enumerate([headers, *table]):
        cells = [line[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(line[1:], widths[1:], strict=True)
        ]
        print("  ".join(cells))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    print(
        "(a) cryptography alone; (b) boto3 with a canned answer (its own cost); "
        "(c) kmslab.client(); overhead is what kmslab adds."
    )
    if moto is None:
        print("moto is not installed: `pip install moto` to add moto's mock_aws for comparison.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
