"""RSA (RSA_2048/3072/4096): OAEP decryption, PSS verification and deterministic PKCS #1 v1.5
signing, against Wycheproof's rsa_oaep_*, rsa_pss_* and rsa_pkcs1_*_sig_gen vectors."""

from __future__ import annotations

import hashlib
from functools import cache

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from kmslab import specs
from kmslab.crypto import CryptoFailure, family
from kmslab.crypto._der import load_public
from tests.wycheproof import expect, h, load, select

rsa = family("rsa")

SIZES = {info.key_bits for info in specs.all_specs() if info.family == "rsa"}
DIGEST_BYTES = {"SHA-1": 20, "SHA-256": 32, "SHA-384": 48, "SHA-512": 64}


def _in_catalogue(group) -> bool:
    return int(group["keySize"]) in SIZES


def _info(group):
    return specs.get(f"RSA_{int(group['keySize'])}")


def _alg(group, prefix: str):
    """The catalogue row: ("RSAES_OAEP", "SHA-256") -> RSAES_OAEP_SHA_256."""
    alg = _info(group).algorithm(f"{prefix}_{group['sha'].replace('-', '_')}")
    assert alg is not None, (prefix, group["sha"])
    return alg


def _digest(alg, message: bytes) -> bytes:
    return hashlib.new(alg.hash.lower(), message).digest()


@cache
def _private(size: int, pkcs8_hex: str):
    """A group's private key, loaded once.

    ``trusted=True`` skips cryptography's RSA key check (up to 0.4 s a key);
    :func:`test_load_with_key_check` loads one key of each size the slow, checked way.
    """
    return rsa.load(specs.get(f"RSA_{size}"), h(pkcs8_hex), trusted=True)


@cache
def _public(spki_hex: str):
    return load_public(h(spki_hex))


def _flip(b: bytes) -> bytes:
    return b[:-1] + bytes([b[-1] ^ 1])


# -- RSAES-OAEP -------------------------------------------------------------------------

OAEP_FILES = [
    "rsa_oaep_2048_sha1_mgf1sha1_test.json",
    "rsa_oaep_2048_sha256_mgf1sha256_test.json",
    "rsa_oaep_3072_sha256_mgf1sha256_test.json",
    "rsa_oaep_4096_sha256_mgf1sha256_test.json",
    "rsa_oaep_misc_test.json",
]
# KMS: no label, MGF1 with the OAEP hash, SHA-1 or SHA-256.
OAEP = select(
    OAEP_FILES,
    lambda g, t: (
        _in_catalogue(g)
        and g["sha"] in ("SHA-1", "SHA-256")
        and g["mgf"] == "MGF1"
        and g["mgfSha"] == g["sha"]
        and t["label"] == ""
    ),
)


@pytest.mark.parametrize(("group", "test"), OAEP.params)
def test_oaep_decrypt(group, test):
    alg = _alg(group, "RSAES_OAEP")
    key = _private(int(group["keySize"]), group["privateKeyPkcs8"])
    ct = h(test["ct"])
    plaintext = expect(test["result"], lambda: rsa.decrypt(key, alg, ct))
    if test["result"] == "valid":
        msg = h(test["msg"])
        assert plaintext == msg
        assert len(msg) <= alg.max_plaintext_bytes
        # And back: our ciphertext (randomised) decrypts to the same plaintext.
        ours = rsa.encrypt(key.public_key(), alg, msg)
        assert len(ours) == alg.ciphertext_bytes
        assert ours != ct
        assert rsa.decrypt(key, alg, ours) == msg


def _oaep_groups():
    seen = {}
    for p in OAEP.params:
        group = p.values[0]
        seen.setdefault((int(group["keySize"]), group["sha"]), group)
    return [pytest.param(g, id=f"RSA_{size}-{sha}") for (size, sha), g in sorted(seen.items())]


@pytest.mark.parametrize("group", _oaep_groups())
def test_oaep_max_plaintext_matches_catalogue(group):
    """The catalogue's max_plaintext_bytes is exactly the OAEP limit k - 2 hLen - 2."""
    alg = _alg(group, "RSAES_OAEP")
    key = _private(int(group["keySize"]), group["privateKeyPkcs8"])
    largest = bytes(range(256)) * 2
    ct = rsa.encrypt(key, alg, largest[: alg.max_plaintext_bytes])
    assert rsa.decrypt(key, alg, ct) == largest[: alg.max_plaintext_bytes]
    with pytest.raises((ValueError, CryptoFailure)):
        rsa.encrypt(key, alg, largest[: alg.max_plaintext_bytes + 1])


# -- RSASSA-PSS -------------------------------------------------------------------------

PSS_FILES = [
    "rsa_pss_2048_sha256_mgf1_32_test.json",
    "rsa_pss_2048_sha384_mgf1_48_test.json",
    "rsa_pss_3072_sha256_mgf1_32_test.json",
    "rsa_pss_4096_sha256_mgf1_32_test.json",
    "rsa_pss_4096_sha384_mgf1_48_test.json",
    "rsa_pss_4096_sha512_mgf1_64_test.json",
    "rsa_pss_misc_test.json",
]
# KMS: SHA-2 hash, MGF1 with the same hash, salt as long as the digest.
PSS = select(
    PSS_FILES,
    lambda g, t: (
        _in_catalogue(g)
        and g["sha"] in ("SHA-256", "SHA-384", "SHA-512")
        and g["mgf"] == "MGF1"
        and g["mgfSha"] == g["sha"]
        and int(g["sLen"]) == DIGEST_BYTES[g["sha"]]
    ),
)


@pytest.mark.parametrize(("group", "test"), PSS.params)
def test_pss_verify(group, test):
    alg = _alg(group, "RSASSA_PSS")
    pub = _public(group["publicKeyDer"])
    msg, sig = h(test["msg"]), h(test["sig"])
    expect(test["result"], lambda: rsa.verify(pub, alg, msg, "RAW", sig))
    if test["result"] == "valid":
        # MessageType DIGEST: the same signature over the message's digest.
        rsa.verify(pub, alg, _digest(alg, msg), "DIGEST", sig)


# -- RSASSA-PKCS1-v1_5 signing (deterministic) -------------------------------------------

SIG_GEN_FILES = [f"rsa_pkcs1_{bits}_sig_gen_test.json" for bits in (2048, 3072, 4096)]
SIG_GEN = select(
    SIG_GEN_FILES,
    lambda g, t: _in_catalogue(g) and g["sha"] in ("SHA-256", "SHA-384", "SHA-512"),
)


@pytest.mark.parametrize(("group", "test"), SIG_GEN.params)
def test_pkcs1_sign(group, test):
    alg = _alg(group, "RSASSA_PKCS1_V1_5")
    msg, expected = h(test["msg"]), h(test["sig"])

    def sign() -> bytes:
        key = _private(int(group["keySize"]), group["privateKeyPkcs8"])
        return rsa.sign(key, alg, msg, "RAW")

    sig = expect(test["result"], sign)
    if sig is None:  # an acceptable vector whose key kmslab refused
        return
    assert sig == expected  # PKCS #1 v1.5 is deterministic: byte for byte
    key = _private(int(group["keySize"]), group["privateKeyPkcs8"])
    assert len(sig) == alg.signature_bytes
    assert rsa.sign(key, alg, _digest(alg, msg), "DIGEST") == expected
    rsa.verify(key, alg, msg, "RAW", expected)
    rsa.verify(_public(group["keyDer"]), alg, _digest(alg, msg), "DIGEST", expected)
    with pytest.raises(CryptoFailure):
        rsa.verify(key, alg, msg, "RAW", _flip(expected))
    with pytest.raises(CryptoFailure):
        rsa.verify(key, alg, msg + b"\x00", "RAW", expected)


# -- key loading -------------------------------------------------------------------------


def test_load_rejects_key_of_another_size():
    group = load("rsa_oaep_2048_sha256_mgf1sha256_test.json")["testGroups"][0]
    assert int(group["keySize"]) == 2048
    with pytest.raises(CryptoFailure):
        rsa.load(specs.get("RSA_3072"), h(group["privateKeyPkcs8"]))


@pytest.mark.parametrize("bits", sorted(SIZES))
def test_load_with_key_check(bits):
    """The default (untrusted) load runs the full RSA key check and accepts a good key."""
    group = load(f"rsa_pkcs1_{bits}_sig_gen_test.json")["testGroups"][-1]
    key = rsa.load(specs.get(f"RSA_{bits}"), h(group["privateKeyPkcs8"]))
    assert key.key_size == bits
    assert rsa.public_der(key) == h(group["keyDer"])
    assert rsa.private_der(key) == h(group["privateKeyPkcs8"])


def test_load_rejects_non_rsa_and_garbage():
    with pytest.raises(CryptoFailure):
        rsa.load(specs.get("RSA_2048"), b"\x30\x03\x02\x01\x00")
    ec_key = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(CryptoFailure):
        rsa.load(specs.get("RSA_2048"), rsa.private_der(ec_key))


def test_vectors_selected():
    OAEP.assert_ran(invalid=False)
    PSS.assert_ran(invalid=False)
    SIG_GEN.assert_ran(invalid=False)
    for f in ("rsa_oaep_2048_sha256_mgf1sha256_test.json", "rsa_pss_2048_sha256_mgf1_32_test.json"):
        assert OAEP.kept(f, "invalid") + PSS.kept(f, "invalid") > 0, f
    # The misc files are mostly other sizes and hash combinations; some must still run.
    assert OAEP.skipped("rsa_oaep_misc_test.json") > OAEP.kept("rsa_oaep_misc_test.json") > 0
    assert PSS.skipped("rsa_pss_misc_test.json") > PSS.kept("rsa_pss_misc_test.json") > 0
    assert SIG_GEN.skipped("rsa_pkcs1_2048_sig_gen_test.json") > 0  # SHA-1, SHA-224
