"""RSA for RSA_2048/3072/4096: OAEP encryption, PSS and PKCS #1 v1.5 signatures (RFC 8017)."""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils

from kmslab.crypto import CryptoFailure
from kmslab.crypto._der import hash_of, load_private, private_der, public_der
from kmslab.specs import Algorithm, KeySpecInfo

__all__ = ["decrypt", "encrypt", "generate", "load", "private_der", "public_der", "sign", "verify"]

Key = rsa.RSAPrivateKey


def generate(info: KeySpecInfo) -> Key:
    return rsa.generate_private_key(public_exponent=65537, key_size=info.key_bits)


def load(info: KeySpecInfo, material: bytes, *, trusted: bool = False) -> Key:
    key: Key = load_private(material, rsa.RSAPrivateKey, trusted=trusted)
    if key.key_size != info.key_bits:
        raise CryptoFailure("RSA key of another size")
    return key


def _oaep(alg: Algorithm) -> padding.OAEP:
    h = hash_of(alg)
    return padding.OAEP(mgf=padding.MGF1(h), algorithm=h, label=None)


def encrypt(key: Key | rsa.RSAPublicKey, alg: Algorithm, plaintext: bytes) -> bytes:
    pub = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
    return pub.encrypt(plaintext, _oaep(alg))


def decrypt(key: Key, alg: Algorithm, ciphertext: bytes) -> bytes:
    try:
        return key.decrypt(ciphertext, _oaep(alg))
    except ValueError as exc:
        raise CryptoFailure("decryption failed") from exc


def _padding(alg: Algorithm) -> padding.AsymmetricPadding:
    if alg.padding == "PSS":
        # AWS KMS uses a salt as long as the digest (not the maximum, as some emulators do).
        return padding.PSS(mgf=padding.MGF1(hash_of(alg)), salt_length=padding.PSS.DIGEST_LENGTH)
    return padding.PKCS1v15()


def _hash_arg(alg: Algorithm, message_type: str) -> object:
    h = hash_of(alg)
    return utils.Prehashed(h) if message_type == "DIGEST" else h


def sign(key: Key, alg: Algorithm, message: bytes, message_type: str) -> bytes:
    return key.sign(message, _padding(alg), _hash_arg(alg, message_type))  # type: ignore[arg-type]


def verify(
    key: Key | rsa.RSAPublicKey, alg: Algorithm, message: bytes, message_type: str, sig: bytes
) -> None:
    pub = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
    try:
        pub.verify(sig, message, _padding(alg), _hash_arg(alg, message_type))  # type: ignore[arg-type]
    except InvalidSignature as exc:
        raise CryptoFailure("bad signature") from exc
