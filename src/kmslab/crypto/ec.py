"""NIST P-256/384/521 and secp256k1: ECDSA (DER signatures) and ECDH (raw x-coordinate)."""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, utils

from kmslab.crypto import CryptoFailure
from kmslab.crypto._der import hash_of, load_private, load_public, private_der, public_der
from kmslab.specs import Algorithm, KeySpecInfo

__all__ = ["derive", "generate", "load", "private_der", "public_der", "sign", "verify"]

Key = ec.EllipticCurvePrivateKey


def _curve(info: KeySpecInfo) -> ec.EllipticCurve:
    assert info.curve is not None
    # Catalogue curve names are SEC names; cryptography's classes are the same, upper-cased.
    return getattr(ec, info.curve.upper())()  # type: ignore[no-any-return]


def generate(info: KeySpecInfo) -> Key:
    return ec.generate_private_key(_curve(info))


def load(info: KeySpecInfo, material: bytes, *, trusted: bool = False) -> Key:
    key: Key = load_private(material, ec.EllipticCurvePrivateKey, trusted=trusted)
    if key.curve.name != info.curve:
        raise CryptoFailure("key on another curve")
    return key


def _ecdsa(alg: Algorithm, message_type: str) -> ec.ECDSA:
    h = hash_of(alg)
    return ec.ECDSA(utils.Prehashed(h) if message_type == "DIGEST" else h)


def sign(key: Key, alg: Algorithm, message: bytes, message_type: str) -> bytes:
    return key.sign(message, _ecdsa(alg, message_type))


def verify(
    key: Key | ec.EllipticCurvePublicKey,
    alg: Algorithm,
    message: bytes,
    message_type: str,
    sig: bytes,
) -> None:
    pub = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
    try:
        pub.verify(sig, message, _ecdsa(alg, message_type))
    except (InvalidSignature, ValueError) as exc:
        raise CryptoFailure("bad signature") from exc


def derive(key: Key, peer_spki: bytes) -> bytes:
    """ECDH: the raw shared x-coordinate, no KDF, as DeriveSharedSecret returns it."""
    peer = load_public(peer_spki)
    if not isinstance(peer, ec.EllipticCurvePublicKey) or peer.curve.name != key.curve.name:
        raise CryptoFailure("peer key is not on the key's curve")
    try:
        return key.exchange(ec.ECDH(), peer)
    except ValueError as exc:
        raise CryptoFailure("invalid peer key") from exc
