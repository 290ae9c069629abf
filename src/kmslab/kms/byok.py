"""Bring your own key: wrapping key material for ImportKeyMaterial, both sides of it.

The learner's side runs outside KMS: take the PublicKey and ImportToken from
GetParametersForImport, wrap the material with :func:`wrap_key_material`, and send it.

>>> import kmslab
>>> kms = kmslab.client()
>>> key = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]
>>> params = kms.get_parameters_for_import(KeyId=key["KeyId"],
...     WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048")
>>> wrapped = wrap_key_material(params["PublicKey"], "RSAES_OAEP_SHA_256", bytes(32))
>>> _ = kms.import_key_material(KeyId=key["KeyId"], ImportToken=params["ImportToken"],
...     EncryptedKeyMaterial=wrapped, ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
>>> kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"]
'Enabled'

(All-zero key material is for this example only: never import a key you did not generate
with a cryptographically secure random generator.)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from kmslab import specs
from kmslab.crypto import aes, family

__all__ = ["WRAPPING_ALGORITHMS", "Wrapping", "unwrap_key_material", "wrap_key_material"]


@dataclass(frozen=True, slots=True)
class Wrapping:
    """One WrappingAlgorithm of GetParametersForImport.

    ``inner`` is the catalogue encryption algorithm that encrypts under the wrapping public
    key; with ``aes_wrap`` it encrypts an ephemeral AES-256 key and the material itself is
    wrapped with AES key wrap with padding (RFC 5649), as PKCS #11's CKM_RSA_AES_KEY_WRAP
    does. ``specs`` are the WrappingKeySpec values the algorithm takes. Source: AWS KMS
    Developer Guide, "Download the public key and import token" (SM2PKE with the SM2
    wrapping key spec: China Regions only). RSAES_PKCS1_V1_5 is deprecated and refused.
    """

    name: str
    family: str
    inner: str
    aes_wrap: bool
    specs: tuple[str, ...]


_RSA_SPECS = ("RSA_2048", "RSA_3072", "RSA_4096")

#: WrappingAlgorithm -> its row.
WRAPPING_ALGORITHMS: dict[str, Wrapping] = {
    w.name: w
    for w in (
        Wrapping("RSAES_OAEP_SHA_1", "rsa", "RSAES_OAEP_SHA_1", False, _RSA_SPECS),
        Wrapping("RSAES_OAEP_SHA_256", "rsa", "RSAES_OAEP_SHA_256", False, _RSA_SPECS),
        Wrapping("RSA_AES_KEY_WRAP_SHA_1", "rsa", "RSAES_OAEP_SHA_1", True, _RSA_SPECS),
        Wrapping("RSA_AES_KEY_WRAP_SHA_256", "rsa", "RSAES_OAEP_SHA_256", True, _RSA_SPECS),
        Wrapping("SM2PKE", "sm2", "SM2PKE", False, ("SM2",)),
    )
}


def _inner(wrapping_spec: specs.KeySpecInfo, algorithm: str) -> specs.Algorithm:
    inner = wrapping_spec.algorithm(WRAPPING_ALGORITHMS[algorithm].inner)
    assert inner is not None
    return inner


def _wrapping_spec(public: Any, algorithm: str) -> specs.KeySpecInfo:
    if WRAPPING_ALGORITHMS[algorithm].family == "sm2":
        return specs.get("SM2")
    return specs.get(f"RSA_{public.key_size}")


def _load_public(public_key_der: bytes, algorithm: str) -> Any:
    if WRAPPING_ALGORITHMS[algorithm].family == "sm2":
        return family("sm2").load_public(public_key_der)
    from cryptography.hazmat.primitives import serialization

    return serialization.load_der_public_key(public_key_der)


def wrap_key_material(public_key_der: bytes, wrapping_algorithm: str, material: bytes) -> bytes:
    """EncryptedKeyMaterial for ImportKeyMaterial (the client's side, outside KMS).

    ``material``: 32 raw bytes for SYMMETRIC_DEFAULT (16 in the China Regions), the key
    bytes for HMAC, a PKCS #8 DER private key for asymmetric keys (which need an
    RSA_AES_KEY_WRAP_* algorithm when larger than RSA-OAEP can carry).
    """
    row = WRAPPING_ALGORITHMS[wrapping_algorithm]
    public = _load_public(public_key_der, wrapping_algorithm)
    inner = _inner(_wrapping_spec(public, wrapping_algorithm), wrapping_algorithm)
    module = family(row.family)
    if not row.aes_wrap:
        return bytes(module.encrypt(public, inner, material))
    ephemeral = os.urandom(32)
    return bytes(module.encrypt(public, inner, ephemeral)) + aes.key_wrap(ephemeral, material)


def unwrap_key_material(private_key: Any, wrapping_algorithm: str, wrapped: bytes) -> bytes:
    """KMS's side: undo :func:`wrap_key_material`. Raises CryptoFailure on any mismatch."""
    row = WRAPPING_ALGORITHMS[wrapping_algorithm]
    module = family(row.family)
    inner = _inner(_wrapping_spec(private_key, wrapping_algorithm), wrapping_algorithm)
    if not row.aes_wrap:
        return bytes(module.decrypt(private_key, inner, wrapped))
    k = private_key.key_size // 8
    ephemeral = module.decrypt(private_key, inner, wrapped[:k])
    return aes.key_unwrap(ephemeral, wrapped[k:])
