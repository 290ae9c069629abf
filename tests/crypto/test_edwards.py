"""Ed25519 (ECC_NIST_EDWARDS25519): pure Ed25519 verification against Wycheproof's
ed25519_test.json, and Ed25519ph against the RFC 8032 section 7.3 test vector."""

from __future__ import annotations

from functools import cache

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from kmslab import specs
from kmslab.crypto import CryptoFailure, family
from kmslab.crypto._der import load_public
from tests.wycheproof import expect, h, select

edwards = family("edwards")
INFO = specs.get("ECC_NIST_EDWARDS25519")
PURE = INFO.algorithm("ED25519_SHA_512")
PH = INFO.algorithm("ED25519_PH_SHA_512")

ED25519 = select(["ed25519_test.json"])


@cache
def _public(spki_hex: str):
    return load_public(h(spki_hex))


@pytest.mark.parametrize(("group", "test"), ED25519.params)
def test_ed25519_verify(group, test):
    pub = _public(group["publicKeyDer"])
    assert pub.public_bytes_raw() == h(group["publicKey"]["pk"])
    msg, sig = h(test["msg"]), h(test["sig"])
    expect(test["result"], lambda: edwards.verify(pub, PURE, msg, "RAW", sig))


# RFC 8032 section 7.1, TEST 1: pure Ed25519 is deterministic, so the signature is exact.
RFC8032_TEST1 = {
    "secret": "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
    "public": "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
    "message": "",
    "signature": "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
    "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
}

# RFC 8032 section 7.3, the one Ed25519ph vector ("TEST abc").
RFC8032_PH = {
    "secret": "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
    "public": "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
    "message": "616263",
    "signature": "98a70222f0b8121aa9d30f813d683f809e462b469c7ff87639499bb94e6dae41"
    "31f85042463c2a355a2003d062adf5aaa10b8c61e636062aaad11c2a26083406",
}

# PKCS #8 for an Ed25519 seed (RFC 8410): the fixed prefix, then the 32-byte seed.
_PKCS8_PREFIX = h("302e020100300506032b657004220420")


def _key(vector):
    """Through the primitive's own loader, as ImportKeyMaterial would."""
    key = edwards.load(INFO, _PKCS8_PREFIX + h(vector["secret"]))
    assert key.public_key().public_bytes_raw() == h(vector["public"])
    return key


def test_ed25519_rfc8032_test1_sign():
    key = _key(RFC8032_TEST1)
    sig = edwards.sign(key, PURE, h(RFC8032_TEST1["message"]), "RAW")
    assert sig == h(RFC8032_TEST1["signature"])
    edwards.verify(key.public_key(), PURE, b"", "RAW", sig)


def test_ed25519ph_rfc8032_sign():
    """kmslab's DIGEST message is the Ed25519ph message M: the primitive hashes it once more
    (PH(M) = SHA-512(M)), as AWS KMS does with the 64-byte digest it is sent. The RFC's M is
    "abc", so the primitive gets b"abc" (it does not check the DIGEST length; the KMS layer
    does) and must reproduce the RFC signature byte for byte."""
    key = _key(RFC8032_PH)
    message = h(RFC8032_PH["message"])
    assert message == b"abc"
    sig = edwards.sign(key, PH, message, "DIGEST")
    assert sig == h(RFC8032_PH["signature"])
    assert len(sig) == PH.signature_bytes


def test_ed25519ph_rfc8032_verify():
    pub = ed25519.Ed25519PublicKey.from_public_bytes(h(RFC8032_PH["public"]))
    message, sig = h(RFC8032_PH["message"]), h(RFC8032_PH["signature"])
    edwards.verify(pub, PH, message, "DIGEST", sig)
    with pytest.raises(CryptoFailure):
        edwards.verify(pub, PH, message, "DIGEST", sig[:-1] + bytes([sig[-1] ^ 1]))
    with pytest.raises(CryptoFailure):
        edwards.verify(pub, PH, b"abd", "DIGEST", sig)
    with pytest.raises(CryptoFailure):
        edwards.verify(pub, PH, message, "DIGEST", sig[:-1])
    # Ed25519ph and pure Ed25519 are domain-separated: neither verifies as the other.
    with pytest.raises(CryptoFailure):
        edwards.verify(pub, PURE, message, "RAW", sig)


def test_ed25519ph_round_trip_with_64_byte_digest():
    key = edwards.generate(INFO)
    digest = bytes(range(64))
    sig = edwards.sign(key, PH, digest, "DIGEST")
    edwards.verify(key, PH, digest, "DIGEST", sig)
    edwards.verify(key.public_key(), PH, digest, "DIGEST", sig)
    with pytest.raises(CryptoFailure):
        edwards.verify(key, PURE, digest, "RAW", sig)
    assert len(edwards.public_der(key)) == INFO.public_key_der_bytes
    again = edwards.load(INFO, edwards.private_der(key))
    assert again.private_bytes_raw() == key.private_bytes_raw()


def test_vectors_selected():
    ED25519.assert_ran()
    assert ED25519.skipped("ed25519_test.json") == 0
