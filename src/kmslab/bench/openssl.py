"""The reference point: our primitive figures as a ratio of ``openssl speed``'s.

``openssl speed -mr -elapsed`` times the same algorithms in C: RSA PKCS #1 v1.5 signing,
ECDSA and ECDH on the NIST curves, Ed25519, AES-GCM (``-evp``) and HMAC (``-hmac``) at the
message sizes the benchmark used. A ratio near 1 says the figures measure the cryptography,
not Python around it. From a shell: ``kmslab bench --only rsa ec --openssl``.

>>> lines = ["+DTP:256:sign:ecdsa:1", "+R5:41319:256:1.00"]
>>> parse_openssl_speed("\\n".join(lines))
{('ecdsa', 'sign', 256): 41319.0}
>>> from kmslab import bench
>>> results = bench.benchmark("quick", families=["rsa", "ec"])  # doctest: +SKIP
>>> ratios, notes = run_openssl_speed(results.records)  # doctest: +SKIP
>>> print(format_openssl(ratios))  # doctest: +SKIP
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kmslab import specs

if TYPE_CHECKING:
    from kmslab.bench.records import Record

__all__ = ["OpenSSLRatio", "format_openssl", "parse_openssl_speed", "run_openssl_speed"]


#: SEC curve names (the catalogue's) -> the suffix ``openssl speed`` gives them.
_OPENSSL_CURVES = {"secp256r1": "p256", "secp384r1": "p384", "secp521r1": "p521"}
#: ``+DTP`` "what" field of ``openssl speed -mr`` -> our operation (3.0 says private/public).
_OPENSSL_WHAT = {"private": "sign", "public": "verify", "sign": "sign", "verify": "verify"}


@dataclass(frozen=True, slots=True)
class OpenSSLRatio:
    """Our primitive figure as a ratio of ``openssl speed``'s for the same algorithm.

    ``ratio`` is our operations per second over openssl's: 0.9 means we reach 90% of the
    C tool's rate (the rest is Python, cryptography's bindings and kmslab's wrapper).
    """

    key_spec: str
    operation: str
    algorithm: str
    message_bytes: int
    openssl_algorithm: str
    ops_per_s: float
    openssl_ops_per_s: float
    ratio: float


def _openssl_target(r: Record) -> tuple[str, str, tuple[str, str, int | None]] | None:
    """How openssl times what a primitive record measured, or None when it cannot.

    (kind, openssl name, (algorithm, operation, bits or bytes) as parsed from its output).
    Kinds: "pki" (one ``openssl speed`` run for all), "evp" and "hmac" (a run per size).
    """
    info = specs.get(r.key_spec)
    alg = info.algorithm(r.algorithm) if r.algorithm else None
    if r.layer != "primitive" or not r.applicable or alg is None:
        return None
    op, bits = r.operation, info.key_bits
    if info.family == "rsa" and alg.kind == "signing" and alg.padding == "PKCS1v15":
        return "pki", f"rsa{bits}", ("rsa", op, bits)
    if info.family == "ec" and info.curve in _OPENSSL_CURVES:
        prefix = "ecdh" if alg.kind == "key_agreement" else "ecdsa"
        return "pki", prefix + _OPENSSL_CURVES[info.curve], (prefix, op, bits)
    if info.family == "edwards" and alg.kind == "signing" and "RAW" in alg.message_types:
        return "pki", "ed25519", ("ed25519", op, None)  # openssl counts 253 bits
    if info.family == "aes" and op == "encrypt":
        name = f"aes-{bits}-gcm"
        return "evp", name, (name, op, r.message_bytes)
    if info.family == "hmac" and op == "generate_mac" and alg.hash is not None:
        name = alg.hash.lower()
        return "hmac", name, (f"hmac({name})", op, r.message_bytes)
    return None


def parse_openssl_speed(text: str) -> dict[tuple[str, str, int], float]:
    """Operations per second from ``openssl speed -mr`` output.

    Keys: (algorithm, operation, bits or bytes); PKI lines give key bits, the others
    (``-evp``, ``-hmac``) the buffer size. Lines it does not understand are ignored.

    >>> lines = ["+DTP:2048:private:rsa:1", "+R1:1037:2048:1.00",
    ...          "+DT:AES-256-GCM:1:16384", "+R:209157:AES-256-GCM:1.000000"]
    >>> parse_openssl_speed("\\n".join(lines))
    {('rsa', 'sign', 2048): 1037.0, ('aes-256-gcm', 'encrypt', 16384): 209157.0}
    """
    out: dict[tuple[str, str, int], float] = {}
    pending: tuple[str, str, int] | None = None
    for line in text.splitlines():
        fields = line.strip().split(":")
        try:
            if fields[0] == "+DTP":  # +DTP:bits:what:algorithm:seconds
                what = _OPENSSL_WHAT.get(fields[2], "derive" if fields[3] == "ecdh" else "")
                pending = (fields[3].lower(), what, int(fields[1]))
            elif fields[0] == "+DT":  # +DT:name:seconds:bytes
                name = fields[1].lower()
                op = "generate_mac" if name.startswith("hmac(") else "encrypt"
                pending = (name, op, int(fields[3]))
            elif fields[0].startswith("+R") and pending is not None:  # +R..:count:...:seconds
                seconds = float(fields[-1])
                if pending[1] and seconds > 0:
                    out[pending] = int(fields[1]) / seconds
                pending = None
        except (IndexError, ValueError):
            pending = None
    return out


def run_openssl_speed(
    records: Iterable[Record], *, seconds: int = 1, openssl: str | None = None
) -> tuple[list[OpenSSLRatio], list[str]]:
    """Time the same algorithms with ``openssl speed -mr -elapsed`` and compare.

    Runs one ``openssl speed`` for the public key algorithms among ``records`` (RSA
    PKCS #1 v1.5, ECDSA and ECDH on the NIST curves, Ed25519) and one per buffer size for
    AES-GCM (``-evp``) and HMAC (``-hmac``). Returns the ratios and notes on what could not
    be compared (no openssl, an algorithm it lacks, output it could not parse).
    """
    exe = openssl or shutil.which("openssl")
    if exe is None:
        return [], ["openssl is not installed: no reference point."]
    wanted = [(r, t) for r in records if (t := _openssl_target(r)) is not None]
    runs: list[tuple[str, ...]] = []
    pki = sorted({name for _, (kind, name, _) in wanted if kind == "pki"})
    if pki:
        runs.append(tuple(pki))
    for r, (kind, name, _) in wanted:
        sized: tuple[str, ...] = (f"-{kind}", name, "-bytes", str(r.message_bytes))
        if kind != "pki" and sized not in runs:
            runs.append(sized)
    figures: dict[tuple[str, str, int], float] = {}
    notes: list[str] = []
    from cryptography.hazmat.backends.openssl import backend

    try:
        answer = subprocess.run([exe, "version"], capture_output=True, text=True, timeout=30)
        version = answer.stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        version = "unknown"
    if version != backend.openssl_version_text():
        notes.append(
            f"The openssl command is {version}; cryptography runs its own "
            f"{backend.openssl_version_text()}: the ratio compares two builds, not only Python."
        )
    while runs:
        args = runs.pop(0)
        command = [exe, "speed", "-mr", "-elapsed", "-seconds", str(seconds), *args]
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=30 + 4 * seconds * len(args)
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            notes.append(f"openssl speed {' '.join(args)} failed: {exc}")
            continue
        parsed = parse_openssl_speed(done.stderr + "\n" + done.stdout)  # +DT, +R: stderr
        if not parsed and len(args) > 1 and not args[0].startswith("-"):
            runs[:0] = [(name,) for name in args]  # one name it lacks fails them all: split
        elif done.returncode != 0 or not parsed:
            notes.append(f"openssl speed {' '.join(args)}: no figures (exit {done.returncode})")
        figures.update(parsed)
    ratios = []
    for r, (_, name, (algorithm, op, size)) in wanted:
        theirs = next(
            (
                v
                for (a, o, n), v in figures.items()
                if (a, o) == (algorithm, op) and size in (None, n)
            ),
            None,
        )
        if theirs is None:
            notes.append(f"openssl gave no figure for {name} {op}: {r.key_spec} not compared.")
            continue
        ratios.append(
            OpenSSLRatio(r.key_spec, r.operation, r.algorithm, r.message_bytes, name,
                         r.ops_per_s, theirs, r.ops_per_s / theirs)
        )  # fmt: skip
    return ratios, notes


def format_openssl(ratios: Iterable[OpenSSLRatio]) -> str:
    """The comparison with openssl as text, one line per figure."""
    from kmslab.bench.records import format_size

    lines = ["key spec / operation / algorithm / message     ours ops/s   openssl ops/s   ratio"]
    for x in ratios:
        size = format_size(x.message_bytes) if x.message_bytes else ""
        what = f"{x.key_spec} {x.operation} {x.algorithm} {size}"
        lines.append(f"{what:<46}{x.ops_per_s:>12,.0f}{x.openssl_ops_per_s:>16,.0f}{x.ratio:>8.2f}")
    return "\n".join(lines)
