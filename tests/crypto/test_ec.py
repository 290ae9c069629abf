"""NIST P-256/384/521 and secp256k1: ECDSA verification and ECDH, against Wycheproof's
ecdsa_secp*_sha*_test.json and ecdh_secp*_test.json."""

from __future__ import annotations

import hashlib
from functools import cache

import pytest
from cryptography.hazmat.primitives.asymmetric import ec as cec

from kmslab import specs
from kmslab.crypto import CryptoFailure, family
from kmslab.crypto._der import load_public
from tests.wycheproof import expect, h, select

ec = family("ec")

# Curve name (SEC, as Wycheproof and the catalogue spell it) -> the catalogue row.
SPEC_BY_CURVE = {info.curve: info for info in specs.all_specs() if info.family == "ec"}


@cache
def _public(spki_hex: str):
    return load_public(h(spki_hex))


# -- ECDSA -------------------------------------------------------------------------------

ECDSA_FILES = [
    "ecdsa_secp256r1_sha256_test.json",
    "ecdsa_secp384r1_sha384_test.json",
    "ecdsa_secp521r1_sha512_test.json",
    "ecdsa_secp256k1_sha256_test.json",
]


def _ecdsa_alg(group):
    info = SPEC_BY_CURVE[group["publicKey"]["curve"]]
    return info, info.algorithm(f"ECDSA_{group['sha'].replace('-', '_')}")


# Keep the (curve, hash) pairs the catalogue offers (KMS: P-256/SHA-256, P-384/SHA-384, ...).
ECDSA = select(
    ECDSA_FILES,
    lambda g, t: g["publicKey"]["curve"] in SPEC_BY_CURVE and _ecdsa_alg(g)[1] is not None,
)


@pytest.mark.parametrize(("group", "test"), ECDSA.params)
def test_ecdsa_verify(group, test):
    info, alg = _ecdsa_alg(group)
    pub = _public(group["publicKeyDer"])
    assert pub.curve.name == info.curve
    msg, sig = h(test["msg"]), h(test["sig"])
    expect(test["result"], lambda: ec.verify(pub, alg, msg, "RAW", sig))
    if test["result"] == "valid":
        assert len(sig) <= alg.signature_bytes
        digest = hashlib.new(alg.hash.lower(), msg).digest()
        assert len(digest) == alg.digest_bytes
        ec.verify(pub, alg, digest, "DIGEST", sig)


# -- ECDH --------------------------------------------------------------------------------

ECDH_FILES = [f"ecdh_{c}_test.json" for c in ("secp256r1", "secp384r1", "secp521r1", "secp256k1")]
# Every group's `public` is a DER SubjectPublicKeyInfo (encoding "asn"), like KMS's PublicKey.
# secp256k1 has no KEY_AGREEMENT in KMS; its vectors still check the ec.derive primitive.
ECDH = select(ECDH_FILES, lambda g, t: g["encoding"] == "asn" and g["curve"] in SPEC_BY_CURVE)


@cache
def _private_key(curve: str, scalar_hex: str):
    """The vector's private scalar (big-endian, maybe with a leading zero) as a key object.

    Cached: the 3,300 ECDH vectors share some 120 private keys."""
    return cec.derive_private_key(int(scalar_hex, 16), getattr(cec, curve.upper())())


@pytest.mark.parametrize(("group", "test"), ECDH.params)
def test_ecdh_derive(group, test):
    info = SPEC_BY_CURVE[group["curve"]]
    key = _private_key(group["curve"], test["private"])
    assert key.curve.name == info.curve
    shared = expect(test["result"], lambda: ec.derive(key, h(test["public"])))
    if shared is not None:  # valid, or acceptable and accepted
        assert shared == h(test["shared"])
        assert len(shared) == (info.key_bits + 7) // 8
        agreement = info.algorithm("ECDH")
        if agreement is not None:
            assert len(shared) == agreement.shared_secret_bytes


@pytest.mark.parametrize("curve", sorted(SPEC_BY_CURVE))
def test_load_round_trip_and_curve_check(curve):
    info = SPEC_BY_CURVE[curve]
    key = ec.generate(info)
    assert key.curve.name == curve
    assert len(ec.public_der(key)) == info.public_key_der_bytes
    again = ec.load(info, ec.private_der(key))
    assert again.private_numbers() == key.private_numbers()
    other = next(i for c, i in SPEC_BY_CURVE.items() if c != curve)
    with pytest.raises(CryptoFailure):
        ec.load(other, ec.private_der(key))


def test_derive_rejects_peer_on_another_curve():
    p256 = ec.generate(SPEC_BY_CURVE["secp256r1"])
    p384 = ec.generate(SPEC_BY_CURVE["secp384r1"])
    with pytest.raises(CryptoFailure):
        ec.derive(p256, ec.public_der(p384))
    with pytest.raises(CryptoFailure):
        ec.derive(p256, b"not DER")


def test_vectors_selected():
    assert ECDSA.files == sorted(ECDSA_FILES)
    assert ECDH.files == sorted(ECDH_FILES)
    ECDSA.assert_ran()
    ECDH.assert_ran()
    for f in ECDH_FILES:
        assert ECDH.kept(f, "acceptable") > 0, f
