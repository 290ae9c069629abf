"""SM3 and SM4 from ``cryptography``, and kmslab's SM4-GCM, against the published vectors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from kmslab import specs
from kmslab.crypto import CryptoFailure, sm4

VECTORS = json.loads((Path(__file__).parents[1] / "vectors/sm/sm_vectors.json").read_text())


@pytest.mark.parametrize("v", VECTORS["sm3"])
def test_sm3(v) -> None:
    h = hashes.Hash(hashes.SM3())
    h.update(v["message_ascii"].encode())
    assert h.finalize().hex() == v["digest"]


@pytest.mark.parametrize("v", VECTORS["sm4"], ids=lambda v: f"x{v['iterations']}")
def test_sm4_block(v) -> None:
    enc = Cipher(algorithms.SM4(bytes.fromhex(v["key"])), modes.ECB()).encryptor()
    block = bytes.fromhex(v["plaintext"])
    for _ in range(v["iterations"]):
        block = enc.update(block)
    assert block.hex() == v["ciphertext"]


@pytest.mark.parametrize("v", VECTORS["sm4_gcm"])
def test_sm4_gcm_rfc8998(v) -> None:
    aead = sm4.cipher(bytes.fromhex(v["key"]))
    iv, aad = bytes.fromhex(v["iv"]), bytes.fromhex(v["aad"])
    sealed = aead.encrypt(iv, bytes.fromhex(v["plaintext"]), aad)
    assert sealed.hex() == v["ciphertext"] + v["tag"]
    assert sm4.open_(aead, iv, sealed, aad).hex() == v["plaintext"]
    with pytest.raises(CryptoFailure):
        sm4.open_(aead, iv, sealed[:-1] + bytes([sealed[-1] ^ 1]), aad)
    with pytest.raises(CryptoFailure):
        sm4.open_(aead, iv, sealed, aad + b"x")


def test_sm4_keys() -> None:
    info = specs.get("SYMMETRIC_DEFAULT")
    assert len(sm4.generate(info)) == 16 == info.key_bytes_in(china_regions=True)
    with pytest.raises(CryptoFailure):
        sm4.load(info, bytes(32))
    assert "key" not in repr(sm4.cipher(bytes(16))).replace("key hidden", "")
