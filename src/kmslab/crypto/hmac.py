"""HMAC-SHA-2 for the HMAC_* key specs (cryptography's HMAC)."""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hmac as _hmac

from kmslab.crypto import CryptoFailure
from kmslab.crypto._der import hash_of
from kmslab.specs import Algorithm, KeySpecInfo


def generate(info: KeySpecInfo) -> bytes:
    assert info.key_bytes is not None
    return os.urandom(info.key_bytes)


def load(info: KeySpecInfo, material: bytes) -> bytes:
    if len(material) != info.key_bytes:
        raise CryptoFailure("wrong key length")
    return bytes(material)


def mac(key: bytes, alg: Algorithm, message: bytes) -> bytes:
    h = _hmac.HMAC(key, hash_of(alg))
    h.update(message)
    return h.finalize()


def verify_mac(key: bytes, alg: Algorithm, message: bytes, tag: bytes) -> None:
    h = _hmac.HMAC(key, hash_of(alg))
    h.update(message)
    try:
        h.verify(tag)  # constant time
    except InvalidSignature as exc:
        raise CryptoFailure("bad mac") from exc
