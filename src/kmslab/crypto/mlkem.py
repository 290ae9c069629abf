"""ML-KEM-512/768/1024 (FIPS 203): Encapsulate and Decapsulate with implicit rejection.

ML-KEM-768 and ML-KEM-1024 come from ``cryptography``. ``cryptography`` has no ML-KEM-512,
so that level uses ``kyber-py`` (a small, readable FIPS 203 implementation, checked in
``tests/crypto/test_mlkem.py`` against the Wycheproof ML-KEM-512 vectors) behind the same
interface. Its keys are kept as the 64-byte seed (d || z), as RFC 9935's PKCS #8 seed
form stores them; SPKI and PKCS #8 framing below is fixed-length DER, not cryptography.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric import mlkem

from kmslab.crypto import CryptoFailure
from kmslab.crypto._der import load_private
from kmslab.crypto._der import private_der as _private_der
from kmslab.crypto._der import public_der as _public_der
from kmslab.specs import KeySpecInfo

__all__ = ["decapsulate", "encapsulate", "generate", "load", "private_der", "public_der"]

# id-alg-ml-kem-512 (2.16.840.1.101.3.4.4.1), DER-encoded with its AlgorithmIdentifier.
_ALG_512 = bytes.fromhex("300b0609608648016503040401")
_SPKI_512 = bytes.fromhex("30820332") + _ALG_512 + bytes.fromhex("038203210000")[:-1]
_PKCS8_512 = bytes.fromhex("3054020100") + _ALG_512 + bytes.fromhex("04428040")


@dataclass(frozen=True, repr=False)
class MLKEM512PrivateKey:
    """An ML-KEM-512 decapsulation key held as its seed (d || z); never printed."""

    seed: bytes
    ek: bytes = field(init=False)
    dk: bytes = field(init=False)

    def __post_init__(self) -> None:
        ek, dk = _ml_kem_512().key_derive(self.seed)
        object.__setattr__(self, "ek", ek)
        object.__setattr__(self, "dk", dk)

    def __repr__(self) -> str:
        return "<MLKEM512PrivateKey>"

    def __reduce_ex__(self, protocol: Any) -> Any:
        # As cryptography's key objects: a private key does not pickle.
        raise TypeError("MLKEM512PrivateKey cannot be pickled")


_instance: Any = None


def _ml_kem_512() -> Any:
    """kmslab's own ML-KEM-512 object, drawing randomness from os.urandom only.

    kyber-py's shared ``ML_KEM_512`` can be switched to a seeded, deterministic DRBG by any
    code in the process (``ML_KEM_512.set_drbg_seed``); encapsulation through it would then
    be predictable. A private instance, whose ``random_bytes`` is pinned on every use,
    cannot be reached that way.
    """
    global _instance
    if _instance is None:
        from kyber_py.ml_kem.default_parameters import DEFAULT_PARAMETERS
        from kyber_py.ml_kem.ml_kem import ML_KEM

        _instance = ML_KEM(DEFAULT_PARAMETERS["ML512"])
    _instance.random_bytes = os.urandom
    return _instance


def _is_512(info: KeySpecInfo) -> bool:
    return info.name == "ML_KEM_512"


def _cls(info: KeySpecInfo) -> Any:
    level = info.name.rsplit("_", 1)[1]
    return getattr(mlkem, f"MLKEM{level}PrivateKey")


def generate(info: KeySpecInfo) -> Any:
    if _is_512(info):
        return MLKEM512PrivateKey(os.urandom(64))
    return _cls(info).generate()


def load(info: KeySpecInfo, material: bytes, *, trusted: bool = False) -> Any:
    if _is_512(info):
        material = bytes(material)
        if len(material) != len(_PKCS8_512) + 64 or not material.startswith(_PKCS8_512):
            raise CryptoFailure("not an ML-KEM-512 PKCS #8 seed-form private key")
        return MLKEM512PrivateKey(material[len(_PKCS8_512) :])
    return load_private(material, _cls(info), trusted=trusted)


def public_der(key: Any) -> bytes:
    if isinstance(key, MLKEM512PrivateKey):
        return _SPKI_512 + key.ek
    return _public_der(key)


def private_der(key: Any) -> bytes:
    if isinstance(key, MLKEM512PrivateKey):
        return _PKCS8_512 + key.seed
    return _private_der(key)


def encapsulate(key: Any) -> tuple[bytes, bytes]:
    """(shared secret, ciphertext) for the key's public half."""
    if isinstance(key, MLKEM512PrivateKey):
        return _ml_kem_512().encaps(key.ek)  # type: ignore[no-any-return]
    ss, ct = key.public_key().encapsulate()
    return ss, ct


def decapsulate(key: Any, ciphertext: bytes) -> bytes:
    """The shared secret; a wrong but well-sized ciphertext gives a pseudo-random one."""
    try:
        if isinstance(key, MLKEM512PrivateKey):
            return _ml_kem_512().decaps(key.dk, bytes(ciphertext))  # type: ignore[no-any-return]
        return key.decapsulate(bytes(ciphertext))  # type: ignore[no-any-return]
    except ValueError as exc:
        raise CryptoFailure("ciphertext does not fit the key") from exc
