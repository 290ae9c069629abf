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
from typing import Any

from kmslab import specs
from kmslab.crypto import aes, family

__all__ = ["WRAPPING_ALGORITHMS", "unwrap_key_material", "wrap_key_material"]

#: WrappingAlgorithm -> (the RSA-OAEP algorithm row it uses, whether the material itself is
#: wrapped with AES key wrap under an ephemeral AES-256 key, as PKCS #11's
#: CKM_RSA_AES_KEY_WRAP does). RSAES_PKCS1_V1_5 is deprecated by AWS and refused.
WRAPPING_ALGORITHMS: dict[str, tuple[str, bool]] = {
    "RSAES_OAEP_SHA_1": ("RSAES_OAEP_SHA_1", False),
    "RSAES_OAEP_SHA_256": ("RSAES_OAEP_SHA_256", False),
    "RSA_AES_KEY_WRAP_SHA_1": ("RSAES_OAEP_SHA_1", True),
    "RSA_AES_KEY_WRAP_SHA_256": ("RSAES_OAEP_SHA_256", True),
}


def _oaep(wrapping_spec: specs.KeySpecInfo, algorithm: str) -> specs.Algorithm:
    oaep = wrapping_spec.algorithm(WRAPPING_ALGORITHMS[algorithm][0])
    assert oaep is not None
    return oaep


def _wrapping_spec(public: Any) -> specs.KeySpecInfo:
    return specs.get(f"RSA_{public.key_size}")


def wrap_key_material(public_key_der: bytes, wrapping_algorithm: str, material: bytes) -> bytes:
    """EncryptedKeyMaterial for ImportKeyMaterial (the client's side, outside KMS).

    ``material``: 32 raw bytes for SYMMETRIC_DEFAULT, the key bytes for HMAC, a PKCS #8 DER
    private key for asymmetric keys (which need an RSA_AES_KEY_WRAP_* algorithm when larger
    than RSA-OAEP can carry).
    """
    from cryptography.hazmat.primitives import serialization

    public = serialization.load_der_public_key(public_key_der)
    oaep = _oaep(_wrapping_spec(public), wrapping_algorithm)
    rsa = family("rsa")
    if not WRAPPING_ALGORITHMS[wrapping_algorithm][1]:
        return bytes(rsa.encrypt(public, oaep, material))
    ephemeral = os.urandom(32)
    return bytes(rsa.encrypt(public, oaep, ephemeral)) + aes.key_wrap(ephemeral, material)


def unwrap_key_material(private_key: Any, wrapping_algorithm: str, wrapped: bytes) -> bytes:
    """KMS's side: undo :func:`wrap_key_material`. Raises CryptoFailure on any mismatch."""
    rsa = family("rsa")
    oaep = _oaep(_wrapping_spec(private_key), wrapping_algorithm)
    if not WRAPPING_ALGORITHMS[wrapping_algorithm][1]:
        return bytes(rsa.decrypt(private_key, oaep, wrapped))
    k = private_key.key_size // 8
    ephemeral = rsa.decrypt(private_key, oaep, wrapped[:k])
    return aes.key_unwrap(ephemeral, wrapped[k:])
