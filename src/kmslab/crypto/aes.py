"""AES-256-GCM for SYMMETRIC_DEFAULT keys (cryptography's AESGCM)."""

from __future__ import annotations

import os
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kmslab.crypto import CryptoFailure
from kmslab.specs import KeySpecInfo

NONCE_BYTES = 12
TAG_BYTES = 16


def generate(info: KeySpecInfo) -> bytes:
    return os.urandom(info.key_bits // 8)


def load(info: KeySpecInfo, material: bytes) -> bytes:
    if len(material) != info.key_bits // 8:
        raise CryptoFailure("wrong key length")
    return bytes(material)


def cipher(key: bytes) -> AESGCM:
    """The AES-GCM object for a key; keep it to skip the key schedule on every call."""
    return AESGCM(key)


class AEAD(Protocol):
    """What :func:`seal` and :func:`open_` need: AESGCM, or :class:`kmslab.crypto.sm4.SM4GCM`."""

    def encrypt(self, nonce: bytes, data: bytes, aad: bytes | None) -> bytes: ...
    def decrypt(self, nonce: bytes, data: bytes, aad: bytes | None) -> bytes: ...


def seal(key: bytes | AEAD, plaintext: bytes, aad: bytes) -> tuple[bytes, bytes]:
    """Encrypt; returns (nonce, ciphertext || tag). A fresh random 96-bit nonce per call."""
    nonce = os.urandom(NONCE_BYTES)
    aead = AESGCM(key) if isinstance(key, bytes) else key
    return nonce, aead.encrypt(nonce, plaintext, aad)


def open_(key: bytes | AEAD, nonce: bytes, sealed: bytes, aad: bytes) -> bytes:
    aead = AESGCM(key) if isinstance(key, bytes) else key
    try:
        return aead.decrypt(nonce, sealed, aad)
    except (InvalidTag, ValueError) as exc:
        raise CryptoFailure("authentication failed") from exc


def key_wrap(key: bytes, material: bytes) -> bytes:
    """AES key wrap with padding (RFC 5649), as RSA_AES_KEY_WRAP_* uses for import."""
    from cryptography.hazmat.primitives import keywrap

    return keywrap.aes_key_wrap_with_padding(key, material)


def key_unwrap(key: bytes, wrapped: bytes) -> bytes:
    from cryptography.hazmat.primitives import keywrap

    try:
        return keywrap.aes_key_unwrap_with_padding(key, wrapped)
    except (keywrap.InvalidUnwrap, ValueError) as exc:
        raise CryptoFailure("key unwrap failed") from exc
