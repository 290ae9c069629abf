"""DER helpers shared by the asymmetric families: SPKI and PKCS #8 in and out."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives import hashes, serialization

from kmslab.crypto import CryptoFailure
from kmslab.specs import Algorithm

SPKI = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
PKCS8 = (
    serialization.Encoding.DER,
    serialization.PrivateFormat.PKCS8,
    serialization.NoEncryption(),
)


def public_der(key: Any) -> bytes:
    return key.public_key().public_bytes(*SPKI)  # type: ignore[no-any-return]


def private_der(key: Any) -> bytes:
    return key.private_bytes(*PKCS8)  # type: ignore[no-any-return]


def load_private(material: bytes, expected: type | tuple[type, ...], *, trusted: bool) -> Any:
    """Load PKCS #8 DER and check its type; ``trusted`` skips RSA's costly key check."""
    try:
        key = serialization.load_der_private_key(
            bytes(material), None, unsafe_skip_rsa_key_validation=trusted
        )
    except (ValueError, TypeError) as exc:
        raise CryptoFailure("not a PKCS #8 private key") from exc
    except Exception as exc:  # cryptography.exceptions.UnsupportedAlgorithm
        raise CryptoFailure("unsupported private key") from exc
    if not isinstance(key, expected):
        raise CryptoFailure("private key of another type")
    return key


def load_public(der: bytes) -> Any:
    try:
        return serialization.load_der_public_key(bytes(der))
    except Exception as exc:  # ValueError, UnsupportedAlgorithm
        raise CryptoFailure("not a DER SubjectPublicKeyInfo") from exc


def hash_of(alg: Algorithm) -> hashes.HashAlgorithm:
    """The cryptography hash object an algorithm row names."""
    assert alg.hash is not None
    return getattr(hashes, alg.hash)()  # type: ignore[no-any-return]
