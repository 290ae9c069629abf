"""Project Wycheproof vectors for the primitive-layer tests (``tests/crypto/test_*.py``).

The vectors are vendored, unchanged, in ``tests/vectors/wycheproof`` (see its README for
provenance and licence). A test module picks vectors with :func:`select`, which keeps count
of what it kept and what its filter dropped, so a module can assert that its filter did not
silently drop everything. Test modules import this as ``tests.wycheproof``.

>>> h("00ff")
b'\\x00\\xff'
>>> sel = select(["hmac_sha256_test.json"], lambda g, t: g["tagSize"] == 256)
>>> sel.kept("hmac_sha256_test.json") > 0 and sel.skipped("hmac_sha256_test.json") > 0
True
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import pytest

from kmslab.crypto import CryptoFailure

VECTORS = Path(__file__).parent / "vectors" / "wycheproof"

Group = dict[str, Any]
Test = dict[str, Any]
T = TypeVar("T")


@cache
def load(name: str) -> dict[str, Any]:
    """One vector file, parsed once per session."""
    with (VECTORS / name).open(encoding="utf-8") as f:
        return json.load(f)  # type: ignore[no-any-return]


def cases(name: str) -> Iterator[tuple[Group, Test]]:
    """Every (group, test) pair of a file, in file order."""
    for group in load(name)["testGroups"]:
        for test in group["tests"]:
            yield group, test


def h(hexstr: str) -> bytes:
    """Wycheproof byte strings are lower-case hex."""
    return bytes.fromhex(hexstr)


@dataclass
class Selection:
    """The vectors a module runs, as pytest params, with counts per file and result."""

    params: list[Any] = field(default_factory=list)
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)

    def __add__(self, other: Selection) -> Selection:
        return Selection(self.params + other.params, self.counts + other.counts)

    def kept(self, name: str, result: str | None = None) -> int:
        if result is not None:
            return self.counts[(name, result)]
        return sum(n for (f, r), n in self.counts.items() if f == name and r != "skipped")

    def skipped(self, name: str) -> int:
        return self.counts[(name, "skipped")]

    @property
    def files(self) -> list[str]:
        return sorted({f for f, _ in self.counts})

    def summary(self) -> str:
        return "; ".join(
            f"{f}: {self.kept(f)} run ({self.kept(f, 'valid')} valid, "
            f"{self.kept(f, 'invalid')} invalid, {self.kept(f, 'acceptable')} acceptable), "
            f"{self.skipped(f)} filtered out"
            for f in self.files
        )

    def assert_ran(self, *, invalid: bool = True) -> None:
        """Every file kept valid vectors (and invalid ones, unless ``invalid=False``)."""
        for f in self.files:
            assert self.kept(f, "valid") > 0, f"no valid vectors kept from {f}: {self.summary()}"
            if invalid:
                assert self.kept(f, "invalid") > 0, (
                    f"no invalid vectors kept from {f}: {self.summary()}"
                )


def select(names: list[str], keep: Callable[[Group, Test], bool] | None = None) -> Selection:
    """The (group, test) pairs of ``names`` that ``keep`` accepts, as pytest params."""
    sel = Selection()
    for name in names:
        stem = name.removesuffix("_test.json")
        for group, test in cases(name):
            if keep is not None and not keep(group, test):
                sel.counts[(name, "skipped")] += 1
                continue
            sel.counts[(name, test["result"])] += 1
            sel.params.append(pytest.param(group, test, id=f"{stem}-{test['tcId']}"))
    return sel


# -- DER, for the seed-form keys of ML-DSA and ML-KEM (RFC 9881, RFC 9935) ----------------


def _tlv(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        length = bytes([n])
    else:
        octets = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(octets)]) + octets
    return bytes([tag]) + length + content


def _oid(dotted: str) -> bytes:
    first, second, *rest = (int(arc) for arc in dotted.split("."))
    body = bytearray([40 * first + second])
    for arc in rest:
        chunk = [arc & 0x7F]
        while arc > 0x7F:
            arc >>= 7
            chunk.append(0x80 | (arc & 0x7F))
        body += bytes(reversed(chunk))
    return _tlv(0x06, bytes(body))


def seed_pkcs8(oid: str, seed: bytes) -> bytes:
    """OneAsymmetricKey with the seed-only private key: OCTET STRING { [0] IMPLICIT seed }.

    >>> seed_pkcs8("2.16.840.1.101.3.4.3.17", bytes(32)).hex()[:44]
    '3034020100300b060960864801650304031104228020'
    """
    algorithm = _tlv(0x30, _oid(oid))
    private_key = _tlv(0x04, _tlv(0x80, seed))
    return _tlv(0x30, _tlv(0x02, b"\x00") + algorithm + private_key)


def spki(oid: str, public_key: bytes) -> bytes:
    """SubjectPublicKeyInfo with an absent-parameters AlgorithmIdentifier."""
    return _tlv(0x30, _tlv(0x30, _oid(oid)) + _tlv(0x03, b"\x00" + public_key))


def expect(result: str, op: Callable[[], T]) -> T | None:
    """Run ``op`` as a vector's result says it must behave.

    valid: must succeed (its value is returned for the caller to compare); invalid: must
    raise :class:`CryptoFailure`; acceptable: either, and ``None`` when it raised. Any
    other exception propagates and fails the test.
    """
    if result == "invalid":
        with pytest.raises(CryptoFailure):
            op()
        return None
    if result == "valid":
        try:
            return op()
        except CryptoFailure as exc:
            pytest.fail(f"valid vector rejected: {exc!r}")
    assert result == "acceptable", result
    try:
        return op()
    except CryptoFailure:
        return None
