"""Envelope encryption: seal a payload of any size under a data key that a KMS key protects.

Encrypt takes at most 4096 bytes and costs a round trip to KMS per call. Envelope encryption
calls KMS once: GenerateDataKey returns a fresh AES key twice, in plaintext (to encrypt the
payload here, then forget) and encrypted under the KMS key (to store beside the payload).
To read the payload back, Decrypt the stored data key (one call) and decrypt locally.

>>> import kmslab
>>> from kmslab.learn import envelope
>>> kms = kmslab.client()
>>> key_id = kms.create_key()["KeyMetadata"]["KeyId"]
>>> sealed = envelope.seal(kms, key_id, b"x" * 100_000, encryption_context={"file": "a.csv"})
>>> len(sealed.to_bytes()) - 100_000 == sealed.overhead
True
>>> envelope.unseal(kms, sealed.to_bytes(), encryption_context={"file": "a.csv"}) == b"x" * 100_000
True

The envelope format (version 1; integers big-endian)::

    offset   size   field
    0        1      version (0x01)
    1        2      n: length of the encrypted data key
    3        n      encrypted data key (GenerateDataKey's CiphertextBlob)
    3+n      12     AES-GCM nonce (random for each envelope)
    15+n     m+16   AES-256-GCM ciphertext of the m-byte payload, then its 16-byte tag

The authenticated data of the payload is the header (the first 3+n bytes) followed by the
canonical encoding of the encryption context (:func:`kmslab.kms.ciphertext.context_bytes`). The
context itself is not stored: as with KMS, whoever opens the envelope must present it again,
and KMS refuses to decrypt the data key (InvalidCiphertextException) when it differs.

Only the public AWS API is used (GenerateDataKey, Decrypt), so the same code runs against
real AWS KMS.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kmslab.exceptions import KmslabError
from kmslab.kms.ciphertext import context_bytes

__all__ = [
    "MAX_ENCRYPTED_DATA_KEY",
    "NONCE_BYTES",
    "TAG_BYTES",
    "VERSION",
    "Envelope",
    "MalformedEnvelope",
    "seal",
    "seal_with_data_key",
    "unseal",
    "unseal_with_data_key",
]

VERSION = 1
NONCE_BYTES = 12
TAG_BYTES = 16
_HEAD = 3  # version byte and the 2-byte length of the encrypted data key
#: An encrypted data key is a KMS CiphertextBlob: 1 to 6144 bytes.
MAX_ENCRYPTED_DATA_KEY = 6144


class MalformedEnvelope(KmslabError, ValueError):
    """Bytes that are not an envelope, or an envelope whose payload fails authentication."""


@dataclass(frozen=True)
class Envelope:
    """A sealed payload: the encrypted data key, the nonce, and the AES-GCM ciphertext + tag.

    ``repr`` shows sizes only.
    """

    encrypted_data_key: bytes
    nonce: bytes
    ciphertext: bytes

    def header(self) -> bytes:
        """Version, data key length and encrypted data key: the part the payload's tag covers."""
        n = len(self.encrypted_data_key)
        return bytes([VERSION]) + n.to_bytes(2, "big") + self.encrypted_data_key

    def to_bytes(self) -> bytes:
        return self.header() + self.nonce + self.ciphertext

    @classmethod
    def from_bytes(cls, data: bytes) -> Envelope:
        """Split stored bytes into their fields; raises :class:`MalformedEnvelope`."""
        data = bytes(data)
        if len(data) < _HEAD or data[0] != VERSION:
            raise MalformedEnvelope("not a kmslab envelope (unknown version byte)")
        n = int.from_bytes(data[1:3], "big")
        if not 1 <= n <= MAX_ENCRYPTED_DATA_KEY:
            raise MalformedEnvelope(
                f"an encrypted data key of {n} bytes: a KMS ciphertext blob has 1 to "
                f"{MAX_ENCRYPTED_DATA_KEY}"
            )
        body = _HEAD + n
        if len(data) < body + NONCE_BYTES + TAG_BYTES:
            raise MalformedEnvelope("truncated envelope")
        return cls(data[_HEAD:body], data[body : body + NONCE_BYTES], data[body + NONCE_BYTES :])

    @property
    def payload_bytes(self) -> int:
        """Size of the payload inside."""
        return len(self.ciphertext) - TAG_BYTES

    @property
    def overhead(self) -> int:
        """Bytes the envelope adds to the payload: header, nonce and tag."""
        return _HEAD + len(self.encrypted_data_key) + NONCE_BYTES + TAG_BYTES

    def __repr__(self) -> str:
        return (
            f"Envelope(encrypted_data_key=<{len(self.encrypted_data_key)} bytes>, "
            f"nonce=<{len(self.nonce)} bytes>, payload=<{self.payload_bytes} bytes>, "
            f"overhead={self.overhead} bytes)"
        )


def _aad(header: bytes, context: Mapping[str, str] | None) -> bytes:
    return header + context_bytes(context)


def seal_with_data_key(
    data_key: bytes,
    encrypted_data_key: bytes,
    payload: bytes,
    *,
    encryption_context: Mapping[str, str] | None = None,
) -> Envelope:
    """The local half of :func:`seal`: AES-GCM with a data key you already have.

    >>> env = seal_with_data_key(bytes(32), b"stored-key", b"hello")
    >>> unseal_with_data_key(bytes(32), env) == b"hello"
    True
    """
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if not 1 <= len(encrypted_data_key) <= MAX_ENCRYPTED_DATA_KEY:
        raise ValueError(
            f"an encrypted data key is a KMS ciphertext blob of 1 to {MAX_ENCRYPTED_DATA_KEY} "
            f"bytes, not {len(encrypted_data_key)}"
        )
    nonce = os.urandom(NONCE_BYTES)
    head = Envelope(bytes(encrypted_data_key), nonce, b"").header()
    sealed = AESGCM(data_key).encrypt(nonce, bytes(payload), _aad(head, encryption_context))
    return Envelope(bytes(encrypted_data_key), nonce, sealed)


def unseal_with_data_key(
    data_key: bytes,
    envelope: Envelope | bytes,
    *,
    encryption_context: Mapping[str, str] | None = None,
) -> bytes:
    """The local half of :func:`unseal`; raises :class:`MalformedEnvelope` on a bad tag."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    env = envelope if isinstance(envelope, Envelope) else Envelope.from_bytes(envelope)
    try:
        return AESGCM(data_key).decrypt(
            env.nonce, env.ciphertext, _aad(env.header(), encryption_context)
        )
    except InvalidTag:
        raise MalformedEnvelope(
            "the payload failed authentication: the envelope was changed, or the encryption "
            "context differs from the one it was sealed with"
        ) from None


def seal(
    client: Any,
    key_id: str,
    payload: bytes,
    *,
    encryption_context: Mapping[str, str] | None = None,
    data_key_spec: str = "AES_256",
) -> Envelope:
    """Seal ``payload`` under a fresh data key from ``client.generate_data_key``.

    One KMS call, whatever the payload's size. The plaintext data key is used once and
    dropped; only its encrypted copy is kept, inside the envelope.
    """
    context = dict(encryption_context or {})
    extra: dict[str, Any] = {"EncryptionContext": context} if context else {}
    response = client.generate_data_key(KeyId=key_id, KeySpec=data_key_spec, **extra)
    return seal_with_data_key(
        response["Plaintext"],
        response["CiphertextBlob"],
        payload,
        encryption_context=context,
    )


def unseal(
    client: Any,
    envelope: Envelope | bytes,
    *,
    encryption_context: Mapping[str, str] | None = None,
) -> bytes:
    """Open an envelope: ``client.decrypt`` the data key (one KMS call), then AES-GCM locally.

    A wrong encryption context fails at KMS with InvalidCiphertextException (raised by the
    client); a changed payload fails here with :class:`MalformedEnvelope`.
    """
    env = envelope if isinstance(envelope, Envelope) else Envelope.from_bytes(envelope)
    context = dict(encryption_context or {})
    extra: dict[str, Any] = {"EncryptionContext": context} if context else {}
    data_key = client.decrypt(CiphertextBlob=env.encrypted_data_key, **extra)["Plaintext"]
    return unseal_with_data_key(data_key, env, encryption_context=context)
