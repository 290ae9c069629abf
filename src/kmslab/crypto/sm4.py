"""SM4-128 for SYMMETRIC_DEFAULT keys in the China Regions (GB/T 32907, ``cryptography``'s SM4).

AWS documents that SYMMETRIC_DEFAULT "creates a 128-bit symmetric key that uses SM4
encryption" in the China Regions, and names no mode of operation. kmslab chooses GCM on
purpose: it is the mode AWS uses for AES-256 in every other Region, RFC 8998 defines
SM4-GCM with the same 96-bit nonce and 128-bit tag, and so the ciphertext blob keeps one
layout for both ciphers. The mode is kmslab's choice, not an AWS fact.

>>> from kmslab import specs
>>> aead = cipher(generate(specs.get("SYMMETRIC_DEFAULT")))
>>> nonce, sealed = seal(aead, b"hi", b"aad")
>>> open_(aead, nonce, sealed, b"aad")
b'hi'
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from kmslab.crypto import CryptoFailure
from kmslab.crypto.aes import NONCE_BYTES, TAG_BYTES
from kmslab.specs import KeySpecInfo

__all__ = ["KEY_BYTES", "SM4GCM", "cipher", "generate", "load", "open_", "seal"]

#: SM4 keys are 128 bits (GB/T 32907).
KEY_BYTES = 16


class SM4GCM:
    """SM4 in GCM mode with the call shape of ``cryptography``'s ``AESGCM``.

    ``cryptography`` offers SM4 as a block cipher with the GCM mode object, not as an AEAD
    class; this keeps the key and gives ``encrypt``/``decrypt`` as AESGCM does.
    """

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError("SM4 keys are 16 bytes")
        self._key = bytes(key)

    def __repr__(self) -> str:
        return "SM4GCM(<key hidden>)"

    def encrypt(self, nonce: bytes, data: bytes, aad: bytes | None) -> bytes:
        enc = Cipher(algorithms.SM4(self._key), modes.GCM(nonce)).encryptor()
        if aad:
            enc.authenticate_additional_data(aad)
        return enc.update(data) + enc.finalize() + enc.tag

    def decrypt(self, nonce: bytes, data: bytes, aad: bytes | None) -> bytes:
        if len(data) < TAG_BYTES:
            raise InvalidTag
        body, tag = data[:-TAG_BYTES], data[-TAG_BYTES:]
        dec = Cipher(algorithms.SM4(self._key), modes.GCM(nonce, tag)).decryptor()
        if aad:
            dec.authenticate_additional_data(aad)
        return dec.update(body) + dec.finalize()


def generate(info: KeySpecInfo) -> bytes:
    return os.urandom(KEY_BYTES)


def load(info: KeySpecInfo, material: bytes) -> bytes:
    """Imported SM4 key material: exactly 16 bytes."""
    if len(material) != KEY_BYTES:
        raise CryptoFailure("wrong key length")
    return bytes(material)


def cipher(key: bytes) -> SM4GCM:
    return SM4GCM(key)


def seal(aead: SM4GCM, plaintext: bytes, aad: bytes) -> tuple[bytes, bytes]:
    """Encrypt; returns (nonce, ciphertext || tag) with a fresh random 96-bit nonce."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce, aead.encrypt(nonce, plaintext, aad)


def open_(aead: SM4GCM, nonce: bytes, sealed: bytes, aad: bytes) -> bytes:
    try:
        return aead.decrypt(nonce, sealed, aad)
    except (InvalidTag, ValueError) as exc:
        raise CryptoFailure("authentication failed") from exc
