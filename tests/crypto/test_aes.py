"""AES-256-GCM (SYMMETRIC_DEFAULT) against Wycheproof's aes_gcm_test.json."""

from __future__ import annotations

import pytest

from kmslab import specs
from kmslab.crypto import CryptoFailure, family
from tests.wycheproof import expect, h, select

aes = family("aes")
INFO = specs.get("SYMMETRIC_DEFAULT")

# KMS's primitive: 256-bit keys, 96-bit nonces, full 128-bit tags.
GCM = select(
    ["aes_gcm_test.json"],
    lambda g, t: g["keySize"] == 256 and g["ivSize"] == 96 and g["tagSize"] == 128,
)


@pytest.mark.parametrize(("group", "test"), GCM.params)
def test_open(group, test):
    key = aes.load(INFO, h(test["key"]))
    iv, sealed, aad = h(test["iv"]), h(test["ct"]) + h(test["tag"]), h(test["aad"])
    plaintext = expect(test["result"], lambda: aes.open_(key, iv, sealed, aad))
    if test["result"] == "valid":
        assert plaintext == h(test["msg"])


VALID = [p for p in GCM.params if p.values[1]["result"] == "valid"]


@pytest.mark.parametrize(("group", "test"), VALID)
def test_seal_round_trip(group, test):
    key = aes.load(INFO, h(test["key"]))
    msg, aad = h(test["msg"]), h(test["aad"])
    nonce, sealed = aes.seal(key, msg, aad)
    assert len(nonce) == aes.NONCE_BYTES == 12
    assert len(sealed) == len(msg) + aes.TAG_BYTES
    assert aes.open_(key, nonce, sealed, aad) == msg
    # A fresh nonce per call, so the same plaintext never seals the same way twice.
    nonce2, sealed2 = aes.seal(key, msg, aad)
    assert nonce2 != nonce
    assert sealed2 != sealed
    # Tampering with the tag, the ciphertext or the AAD is caught.
    with pytest.raises(CryptoFailure):
        aes.open_(key, nonce, sealed[:-1] + bytes([sealed[-1] ^ 1]), aad)
    with pytest.raises(CryptoFailure):
        aes.open_(key, nonce, sealed, aad + b"\x00")
    if msg:
        with pytest.raises(CryptoFailure):
            aes.open_(key, nonce, bytes([sealed[0] ^ 0x80]) + sealed[1:], aad)


def test_load_rejects_wrong_key_length():
    with pytest.raises(CryptoFailure):
        aes.load(INFO, bytes(16))


def test_vectors_selected():
    GCM.assert_ran()
    assert GCM.skipped("aes_gcm_test.json") > 0, "the keySize/ivSize/tagSize filter did nothing"
