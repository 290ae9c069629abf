"""ML-DSA-44/65/87 (FIPS 204, empty context): verification and signing against Wycheproof's
mldsa_*_verify_test.json and mldsa_*_sign_seed_test.json.

cryptography signs ML-DSA hedged (with fresh randomness), so kmslab's signatures cannot be
compared with the vectors' deterministic ones byte for byte. Instead each sign vector checks
that the key derived from the seed is the vector's key, that the vector's signature verifies
(RAW and EXTERNAL_MU), that mu is SHAKE256(SHAKE256(pk, 64) || 0x00 || 0x00 || M, 64) and
that kmslab's own signatures of the same message and mu verify under the vector's key.
"""

from __future__ import annotations

import hashlib
from functools import cache

import pytest
from cryptography.hazmat.primitives.asymmetric import mldsa as cmldsa

from kmslab import specs
from kmslab.crypto import CryptoFailure, family
from kmslab.crypto._der import load_public
from tests.wycheproof import Selection, expect, h, seed_pkcs8, select, spki

mldsa = family("ml-dsa")
LEVELS = (44, 65, 87)
OID = {44: "2.16.840.1.101.3.4.3.17", 65: "2.16.840.1.101.3.4.3.18", 87: "2.16.840.1.101.3.4.3.19"}


def _info_alg(level: int):
    info = specs.get(f"ML_DSA_{level}")
    return info, info.algorithm("ML_DSA_SHAKE_256")


def _per_level(kind: str, keep) -> tuple[Selection, list]:
    """One selection over the three levels, with the level in front of each param."""
    total, params = Selection(), []
    for level in LEVELS:
        sel = select([f"mldsa_{level}_{kind}_test.json"], keep)
        params += [pytest.param(level, *p.values, id=p.id) for p in sel.params]
        total = total + sel
    return total, params


def _empty_ctx(test) -> bool:
    return not test.get("ctx")  # absent or ""


def _mu(public_key: bytes, message: bytes) -> bytes:
    """FIPS 204 mu for an empty context (pure ML-DSA, as AWS KMS signs)."""
    tr = hashlib.shake_256(public_key).digest(64)
    return hashlib.shake_256(tr + b"\x00\x00" + message).digest(64)


@cache
def _public(spki_hex: str):
    return load_public(h(spki_hex))


# -- verification ------------------------------------------------------------------------

# KMS signs and verifies with an empty context string.
VERIFY, VERIFY_PARAMS = _per_level("verify", lambda g, t: _empty_ctx(t))


@pytest.mark.parametrize(("level", "group", "test"), VERIFY_PARAMS)
def test_verify(level, group, test):
    info, alg = _info_alg(level)
    msg, sig = h(test["msg"]), h(test["sig"])

    def verify() -> None:
        pub = _public(group["publicKeyDer"])  # a malformed key is a CryptoFailure too
        assert type(pub).__name__ == f"MLDSA{level}PublicKey"
        mldsa.verify(pub, alg, msg, "RAW", sig)

    expect(test["result"], verify)
    if test["result"] == "valid":
        assert len(h(group["publicKeyDer"])) == info.public_key_der_bytes
        assert len(sig) == alg.signature_bytes
        pub = _public(group["publicKeyDer"])
        mldsa.verify(pub, alg, _mu(h(group["publicKey"]), msg), "EXTERNAL_MU", sig)


# -- signing from a seed -----------------------------------------------------------------

# Empty context, or a vector that gives mu (EXTERNAL_MU takes mu as it comes, whatever
# context the caller hashed into it).
SIGN, SIGN_PARAMS = _per_level("sign_seed", lambda g, t: _empty_ctx(t) or "mu" in t)


@cache
def _private(level: int, seed_hex: str):
    """The group's key through mldsa.load, from the seed-form PKCS #8 (RFC 9881)."""
    info, _ = _info_alg(level)
    return mldsa.load(info, seed_pkcs8(OID[level], h(seed_hex)))


@pytest.mark.parametrize(("level", "group", "test"), SIGN_PARAMS)
def test_sign(level, group, test):
    info, alg = _info_alg(level)
    seed = h(group["privateSeed"])
    if test["result"] == "invalid":
        # Wrong-length seeds: the loader refuses the key.
        assert len(seed) != 32, test["comment"]
        expect("invalid", lambda: mldsa.load(info, seed_pkcs8(OID[level], seed)))
        expect("invalid", lambda: mldsa.load(info, h(group.get("privateKeyPkcs8", ""))))
        return
    assert test["result"] == "valid"
    if group.get("privateKeyPkcs8"):
        assert seed_pkcs8(OID[level], seed) == h(group["privateKeyPkcs8"])
    key = _private(level, group["privateSeed"])
    public_key = key.public_key().public_bytes_raw()
    if "publicKey" in group:
        assert public_key == h(group["publicKey"])
    assert mldsa.public_der(key) == spki(OID[level], public_key)
    assert len(mldsa.public_der(key)) == info.public_key_der_bytes
    assert mldsa.private_der(key) == seed_pkcs8(OID[level], seed)
    pub = getattr(cmldsa, f"MLDSA{level}PublicKey").from_public_bytes(public_key)

    mu, sig = h(test["mu"]), h(test["sig"])
    assert len(mu) == alg.digest_bytes
    # The vector's signature verifies, and so does ours of the same mu.
    mldsa.verify(pub, alg, mu, "EXTERNAL_MU", sig)
    ours = mldsa.sign(key, alg, mu, "EXTERNAL_MU")
    assert len(ours) == alg.signature_bytes
    mldsa.verify(pub, alg, mu, "EXTERNAL_MU", ours)
    with pytest.raises(CryptoFailure):
        mldsa.verify(pub, alg, bytes([mu[0] ^ 1]) + mu[1:], "EXTERNAL_MU", ours)

    if "msg" in test and _empty_ctx(test) and "Internal" not in test["flags"]:
        msg = h(test["msg"])
        assert _mu(public_key, msg) == mu
        mldsa.verify(pub, alg, msg, "RAW", sig)
        ours = mldsa.sign(key, alg, msg, "RAW")
        mldsa.verify(pub, alg, msg, "RAW", ours)
        mldsa.verify(pub, alg, mu, "EXTERNAL_MU", ours)  # RAW signs exactly this mu
        with pytest.raises(CryptoFailure):
            mldsa.verify(pub, alg, msg + b"\x00", "RAW", ours)


def test_load_rejects_another_level():
    key44 = mldsa.generate(specs.get("ML_DSA_44"))
    with pytest.raises(CryptoFailure):
        mldsa.load(specs.get("ML_DSA_65"), mldsa.private_der(key44))


def test_vectors_selected():
    VERIFY.assert_ran()
    SIGN.assert_ran()
    for level in LEVELS:
        # The non-empty-context vectors were left out of verification ...
        assert VERIFY.skipped(f"mldsa_{level}_verify_test.json") > 0
        # ... and only the one without mu (context too long) out of signing.
        assert SIGN.skipped(f"mldsa_{level}_sign_seed_test.json") == 1
