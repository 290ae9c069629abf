"""ML-DSA-44/65/87 (FIPS 204) from ``cryptography``: RAW messages and EXTERNAL_MU.

AWS KMS signs with an empty context string. For EXTERNAL_MU the 64-byte message is mu,
SHAKE256(SHAKE256(pk, 64) || 0x00 || 0x00 || M, 64), and is signed with ``sign_mu``.
"""

from __future__ import annotations

from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import mldsa

from kmslab.crypto import CryptoFailure
from kmslab.crypto._der import load_private, private_der, public_der
from kmslab.specs import Algorithm, KeySpecInfo

__all__ = ["generate", "load", "private_der", "public_der", "sign", "verify"]


def _classes(info: KeySpecInfo) -> tuple[Any, Any]:
    level = info.name.rsplit("_", 1)[1]  # ML_DSA_65 -> "65"
    return getattr(mldsa, f"MLDSA{level}PrivateKey"), getattr(mldsa, f"MLDSA{level}PublicKey")


def generate(info: KeySpecInfo) -> Any:
    return _classes(info)[0].generate()


def load(info: KeySpecInfo, material: bytes, *, trusted: bool = False) -> Any:
    return load_private(material, _classes(info)[0], trusted=trusted)


def sign(key: Any, alg: Algorithm, message: bytes, message_type: str) -> bytes:
    if message_type == "EXTERNAL_MU":
        return key.sign_mu(message)  # type: ignore[no-any-return]
    return key.sign(message)  # type: ignore[no-any-return]


def verify(key: Any, alg: Algorithm, message: bytes, message_type: str, sig: bytes) -> None:
    pub = key.public_key() if hasattr(key, "sign") else key
    try:
        if message_type == "EXTERNAL_MU":
            pub.verify_mu(sig, message)
        else:
            pub.verify(sig, message)
    except (InvalidSignature, ValueError) as exc:
        raise CryptoFailure("bad signature") from exc
