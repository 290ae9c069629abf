"""The calls the benchmark times: each operation on each layer, prepared once per key.

For a :class:`~kmslab.bench.Task`, :meth:`Subject.calls` returns the zero-argument calls
to time for both operations of its algorithm and message size (encrypt and decrypt, sign
and verify...), each with the size of what it makes. Every pair is round-tripped once
before it is timed: a benchmark of a broken round trip measures nothing.

- :func:`primitive_calls`: the :mod:`kmslab.crypto` family function the local KMS itself
  calls, on a key object of the family;
- :func:`kms_calls`: the same operation through a boto3 client on a local KMS.

>>> from kmslab import specs
>>> from kmslab.crypto import family
>>> from kmslab.bench import Task
>>> info = specs.get("HMAC_256")
>>> task = Task(info, "generate_mac", info.algorithm("HMAC_SHA_256"), 32, "primitive")
>>> calls = Subject(info, family("hmac"), client=None).calls(task)
>>> sorted(calls), calls["generate_mac"][1]   # the operations, and the MAC's size
(['generate_mac', 'verify_mac'], 32)
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any

from kmslab import specs

if TYPE_CHECKING:
    from kmslab.bench.records import Task

__all__ = ["Prepared", "Subject", "catalogue_bytes", "kms_calls", "kms_like_aad", "primitive_calls"]

Prepared = dict[str, tuple[Callable[[], object], int | None, int | None]]
"""operation -> (the call to time, artifact bytes, overhead bytes)."""


@dataclass
class Subject:
    """The keys of one spec: a primitive key object and KMS keys (one per usage)."""

    info: specs.KeySpecInfo
    module: ModuleType
    client: Any
    key: Any = None
    key_ids: dict[str, str] = field(default_factory=dict)
    prepared: dict[tuple[str, str, int], Prepared] = field(default_factory=dict)

    def calls(self, t: Task) -> Prepared:
        """The timed calls for a task's algorithm and size, prepared once for both operations."""
        assert t.algorithm is not None
        cache_key = (t.layer, t.algorithm.name, t.message_bytes)
        if cache_key not in self.prepared:
            prepare = primitive_calls if t.layer == "primitive" else kms_calls
            self.prepared[cache_key] = prepare(self, t)
        return self.prepared[cache_key]

    def primitive_key(self) -> Any:
        if self.key is None:
            self.key = self.module.generate(self.info)
        return self.key

    def kms_key(self, usage: str) -> str:
        if usage not in self.key_ids:
            made = self.client.create_key(KeySpec=self.info.name, KeyUsage=usage)
            self.key_ids[usage] = made["KeyMetadata"]["KeyId"]
        return self.key_ids[usage]

    def key_sizes(self) -> tuple[int | None, int]:
        key = self.primitive_key()
        if isinstance(key, bytes):
            return None, len(key)
        return len(self.module.public_der(key)), len(self.module.private_der(key))


def kms_like_aad() -> bytes:
    """Authenticated data as long as the local KMS's (its blob header before the nonce)."""
    from kmslab.crypto import aes
    from kmslab.kms import ciphertext

    return bytes(ciphertext.HEADER_BYTES - aes.NONCE_BYTES)


def _check(ok: bool, what: str) -> None:
    """A timed call must work: a benchmark of a broken round trip measures nothing."""
    if not ok:
        raise RuntimeError(f"benchmark set-up: {what} did not round-trip")


def primitive_calls(s: Subject, t: Task) -> Prepared:
    """The family module's calls on the subject's key object, as the local KMS makes them."""
    mod, key, alg, info = s.module, s.primitive_key(), t.algorithm, s.info
    assert alg is not None
    data = os.urandom(t.message_bytes)
    kind, mt = alg.kind, t.message_type
    if kind == "encryption" and info.symmetric:
        aad = kms_like_aad()
        key = mod.cipher(key)  # as the local KMS keeps it: one AES-GCM object per key version
        nonce, sealed = mod.seal(key, data, aad)
        _check(mod.open_(key, nonce, sealed, aad) == data, "AES-GCM")
        size = len(nonce) + len(sealed)
        return {
            "encrypt": (lambda: mod.seal(key, data, aad), size, size - len(data)),
            "decrypt": (lambda: mod.open_(key, nonce, sealed, aad), size, size - len(data)),
        }
    if kind == "encryption":
        ct = mod.encrypt(key, alg, data)
        _check(mod.decrypt(key, alg, ct) == data, alg.name)
        over = len(ct) - len(data)
        return {
            "encrypt": (lambda: mod.encrypt(key, alg, data), len(ct), over),
            "decrypt": (lambda: mod.decrypt(key, alg, ct), len(ct), over),
        }
    if kind == "signing":
        sig = mod.sign(key, alg, data, mt)
        mod.verify(key, alg, data, mt, sig)  # raises CryptoFailure on a bad signature
        return {
            "sign": (lambda: mod.sign(key, alg, data, mt), len(sig), None),
            "verify": (lambda: mod.verify(key, alg, data, mt, sig), len(sig), None),
        }
    if kind == "mac":
        tag = mod.mac(key, alg, data)
        mod.verify_mac(key, alg, data, tag)
        return {
            "generate_mac": (lambda: mod.mac(key, alg, data), len(tag), None),
            "verify_mac": (lambda: mod.verify_mac(key, alg, data, tag), len(tag), None),
        }
    if kind == "key_agreement":
        other = mod.generate(info)
        peer, secret = mod.public_der(other), mod.derive(other, mod.public_der(key))
        _check(mod.derive(key, peer) == secret, "ECDH")
        return {"derive": (lambda: mod.derive(key, peer), len(secret), None)}
    shared, kem_ct = mod.encapsulate(key)
    _check(mod.decapsulate(key, kem_ct) == shared, "ML-KEM")
    return {
        "encapsulate": (lambda: mod.encapsulate(key), len(kem_ct), None),
        "decapsulate": (lambda: mod.decapsulate(key, kem_ct), len(kem_ct), None),
    }


def kms_calls(s: Subject, t: Task) -> Prepared:
    """The KMS API calls through the subject's boto3 client, on its key of the right usage."""
    c, alg, info = s.client, t.algorithm, s.info
    assert alg is not None
    usage = next(u.name for u in info.usages if alg in u.algorithms)
    kid = s.kms_key(usage)
    data = os.urandom(t.message_bytes)
    p: dict[str, Any]
    if alg.kind == "encryption":
        p = {"KeyId": kid, "EncryptionAlgorithm": alg.name}
        blob = c.encrypt(Plaintext=data, **p)["CiphertextBlob"]
        _check(c.decrypt(CiphertextBlob=blob, **p)["Plaintext"] == data, "Encrypt/Decrypt")
        over = len(blob) - len(data)
        return {
            "encrypt": (lambda: c.encrypt(Plaintext=data, **p), len(blob), over),
            "decrypt": (lambda: c.decrypt(CiphertextBlob=blob, **p), len(blob), over),
        }
    if alg.kind == "signing":
        p = {
            "KeyId": kid,
            "SigningAlgorithm": alg.name,
            "Message": data,
            "MessageType": t.message_type,
        }
        sig = c.sign(**p)["Signature"]
        _check(c.verify(Signature=sig, **p)["SignatureValid"], "Sign/Verify")
        return {
            "sign": (lambda: c.sign(**p), len(sig), None),
            "verify": (lambda: c.verify(Signature=sig, **p), len(sig), None),
        }
    if alg.kind == "mac":
        p = {"KeyId": kid, "MacAlgorithm": alg.name, "Message": data}
        tag = c.generate_mac(**p)["Mac"]
        _check(c.verify_mac(Mac=tag, **p)["MacValid"], "GenerateMac/VerifyMac")
        return {
            "generate_mac": (lambda: c.generate_mac(**p), len(tag), None),
            "verify_mac": (lambda: c.verify_mac(Mac=tag, **p), len(tag), None),
        }
    if alg.kind == "key_agreement":
        other = s.module.generate(info)
        p = {"KeyId": kid, "KeyAgreementAlgorithm": alg.name}
        p["PublicKey"] = s.module.public_der(other)
        secret = c.derive_shared_secret(**p)["SharedSecret"]
        public = c.get_public_key(KeyId=kid)["PublicKey"]
        _check(s.module.derive(other, public) == secret, "DeriveSharedSecret")
        return {"derive": (lambda: c.derive_shared_secret(**p), len(secret), None)}
    p = {"KeyId": kid, "EncapsulationAlgorithm": alg.name}
    made = c.encapsulate(**p)
    kem_ct = made["SharedSecretCiphertextBlob"]
    again = c.decapsulate(SharedSecretCiphertextBlob=kem_ct, **p)["SharedSecret"]
    _check(again == made["SharedSecret"], "Encapsulate/Decapsulate")
    return {
        "encapsulate": (lambda: c.encapsulate(**p), len(kem_ct), None),
        "decapsulate": (
            lambda: c.decapsulate(SharedSecretCiphertextBlob=kem_ct, **p),
            len(kem_ct),
            None,
        ),
    }


def catalogue_bytes(alg: specs.Algorithm) -> int | None:
    """The catalogue's size for what ``alg`` makes (ciphertext, signature, MAC...)."""
    return {
        "encryption": alg.ciphertext_bytes,
        "signing": alg.signature_bytes,
        "mac": alg.mac_bytes,
        "key_agreement": alg.shared_secret_bytes,
        "encapsulation": alg.ciphertext_bytes,
    }[alg.kind]
