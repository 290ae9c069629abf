"""Ed25519 for ECC_NIST_EDWARDS25519: pure Ed25519 and Ed25519ph (RFC 8032).

Pure Ed25519 comes from ``cryptography``. ``cryptography`` has no Ed25519ph (the prehash
variant with dom2 and PH = SHA-512), so ED25519_PH_SHA_512 uses pycryptodome's RFC 8032
implementation (``Crypto.Signature.eddsa``): a long-maintained library with its own test
vectors, chosen over writing EdDSA ourselves. The key lives once, as a ``cryptography``
object; pycryptodome sees only its 32-byte seed, for the duration of one call.

With MessageType DIGEST, AWS KMS treats the 64-byte value sent as the Ed25519ph message,
so it is hashed once more with SHA-512 (PH) before signing, as RFC 8032 section 5.1 says.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from kmslab.crypto import CryptoFailure
from kmslab.crypto._der import load_private, private_der, public_der
from kmslab.specs import Algorithm, KeySpecInfo

__all__ = ["generate", "load", "private_der", "public_der", "sign", "verify"]

Key = ed25519.Ed25519PrivateKey
_RAW = (serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def generate(info: KeySpecInfo) -> Key:
    return ed25519.Ed25519PrivateKey.generate()


def load(info: KeySpecInfo, material: bytes, *, trusted: bool = False) -> Key:
    key: Key = load_private(material, ed25519.Ed25519PrivateKey, trusted=trusted)
    return key


def _prehashed(message: bytes) -> object:
    from Crypto.Hash import SHA512

    return SHA512.new(message)


def sign(key: Key, alg: Algorithm, message: bytes, message_type: str) -> bytes:
    if alg.name == "ED25519_PH_SHA_512":
        from Crypto.Signature import eddsa

        signer = eddsa.new(eddsa.import_private_key(key.private_bytes_raw()), "rfc8032")
        return signer.sign(_prehashed(message))  # type: ignore[arg-type]
    return key.sign(message)


def verify(
    key: Key | ed25519.Ed25519PublicKey,
    alg: Algorithm,
    message: bytes,
    message_type: str,
    sig: bytes,
) -> None:
    pub = key.public_key() if isinstance(key, ed25519.Ed25519PrivateKey) else key
    if alg.name == "ED25519_PH_SHA_512":
        from Crypto.Signature import eddsa

        verifier = eddsa.new(eddsa.import_public_key(pub.public_bytes(*_RAW)), "rfc8032")
        try:
            verifier.verify(_prehashed(message), sig)  # type: ignore[arg-type]
        except ValueError as exc:
            raise CryptoFailure("bad signature") from exc
        return
    try:
        pub.verify(sig, message)
    except InvalidSignature as exc:
        raise CryptoFailure("bad signature") from exc
