"""ML-KEM-512/768/1024 (FIPS 203) against Wycheproof's mlkem_*_test.json (decapsulation,
including implicit rejection) and mlkem_512_encaps_test.json.

ML-KEM-512 runs on kyber-py (cryptography has no ML-KEM-512), so its vectors are the check
on that dependency; 768 and 1024 run on cryptography.

Encapsulation vectors give a bare encapsulation key and the encapsulation randomness m.
kmslab's ``encapsulate`` takes a private key and draws m itself, so there is no way to feed
either through it. For ML-KEM-512 the vectors instead drive ``ML_KEM_512.encaps`` (the very
call ``encapsulate`` makes) with m fixed. The 768/1024 encapsulation vectors would test only
cryptography, so they are not vendored.
"""

from __future__ import annotations

from functools import cache

import pytest
from cryptography.hazmat.primitives.asymmetric import mlkem as cmlkem
from kyber_py.ml_kem import ML_KEM_512

from kmslab import specs
from kmslab.crypto import CryptoFailure, family
from tests.wycheproof import Selection, expect, h, seed_pkcs8, select, spki

mlkem = family("ml-kem")
LEVELS = (512, 768, 1024)
OID = {512: "2.16.840.1.101.3.4.4.1", 768: "2.16.840.1.101.3.4.4.2", 1024: "2.16.840.1.101.3.4.4.3"}


def _info_alg(level: int):
    info = specs.get(f"ML_KEM_{level}")
    return info, info.algorithm("ML_KEM")


def _decaps_selection() -> tuple[Selection, list]:
    total, params = Selection(), []
    for level in LEVELS:
        sel = select([f"mlkem_{level}_test.json"])
        params += [pytest.param(level, *p.values, id=p.id) for p in sel.params]
        total = total + sel
    return total, params


DECAPS, DECAPS_PARAMS = _decaps_selection()


@cache
def _key(level: int, seed_hex: str):
    """The key through mlkem.load, from the seed-form PKCS #8 (RFC 9935) of d || z."""
    info, _ = _info_alg(level)
    return mlkem.load(info, seed_pkcs8(OID[level], h(seed_hex)))


@pytest.mark.parametrize(("level", "group", "test"), DECAPS_PARAMS)
def test_decapsulate(level, group, test):
    info, alg = _info_alg(level)
    assert group["parameterSet"] == f"ML-KEM-{level}"
    seed, ct = h(test["seed"]), h(test["c"])
    if test["result"] == "invalid":
        if len(seed) != 64:  # "Private key too short/long": the loader refuses the seed
            expect("invalid", lambda: mlkem.load(info, seed_pkcs8(OID[level], seed)))
        else:  # "Ciphertext too short/long": decapsulation refuses it
            assert len(ct) != alg.ciphertext_bytes, test["comment"]
            key = _key(level, test["seed"])
            expect("invalid", lambda: mlkem.decapsulate(key, ct))
        return
    assert test["result"] == "valid"
    key = _key(level, test["seed"])
    # The key derived from the seed is the vector's: same encapsulation key, same framing.
    ek = h(test["ek"])
    assert mlkem.public_der(key) == spki(OID[level], ek)
    assert len(mlkem.public_der(key)) == info.public_key_der_bytes
    assert mlkem.private_der(key) == seed_pkcs8(OID[level], seed)
    # Valid ciphertexts and implicit rejection ("Bit flipped", "Random ciphertext") alike
    # decapsulate to the vector's shared secret.
    assert len(ct) == alg.ciphertext_bytes
    shared = mlkem.decapsulate(key, ct)
    assert shared == h(test["K"])
    assert len(shared) == alg.shared_secret_bytes


@pytest.mark.parametrize("level", LEVELS)
def test_round_trip_on_vector_keys(level):
    """Keys built straight from the seed (kmslab's MLKEM512PrivateKey, cryptography's
    from_seed_bytes) and keys from mlkem.load agree, and encapsulate for each other."""
    _, alg = _info_alg(level)
    vectors = [
        p.values[2]
        for p in DECAPS_PARAMS
        if p.values[0] == level and p.values[2]["result"] == "valid"
    ][:5]
    assert vectors
    for test in vectors:
        seed = h(test["seed"])
        if level == 512:
            direct = mlkem.MLKEM512PrivateKey(seed)
            assert direct.ek == h(test["ek"])
        else:
            direct = getattr(cmlkem, f"MLKEM{level}PrivateKey").from_seed_bytes(seed)
            assert direct.public_key().public_bytes_raw() == h(test["ek"])
        loaded = _key(level, test["seed"])
        for encapsulator, decapsulator in ((direct, loaded), (loaded, direct)):
            shared, ct = mlkem.encapsulate(encapsulator)
            assert len(ct) == alg.ciphertext_bytes
            assert len(shared) == alg.shared_secret_bytes
            assert mlkem.decapsulate(decapsulator, ct) == shared
        assert mlkem.decapsulate(loaded, h(test["c"])) == h(test["K"])


@pytest.mark.parametrize("level", LEVELS)
def test_generate_and_load_round_trip(level):
    info, _ = _info_alg(level)
    key = mlkem.generate(info)
    again = mlkem.load(info, mlkem.private_der(key))
    assert mlkem.public_der(again) == mlkem.public_der(key)
    assert len(mlkem.public_der(key)) == info.public_key_der_bytes
    shared, ct = mlkem.encapsulate(key)
    assert mlkem.decapsulate(again, ct) == shared


def test_load_rejects_another_level():
    key512 = mlkem.generate(specs.get("ML_KEM_512"))
    key768 = mlkem.generate(specs.get("ML_KEM_768"))
    with pytest.raises(CryptoFailure):
        mlkem.load(specs.get("ML_KEM_768"), mlkem.private_der(key512))
    with pytest.raises(CryptoFailure):
        mlkem.load(specs.get("ML_KEM_512"), mlkem.private_der(key768))
    with pytest.raises(CryptoFailure):
        mlkem.load(specs.get("ML_KEM_1024"), mlkem.private_der(key768))


# -- ML-KEM-512 encapsulation (kyber-py, with the vector's randomness) --------------------

ENCAPS = select(["mlkem_512_encaps_test.json"])


@pytest.mark.parametrize(("group", "test"), ENCAPS.params)
def test_kyber_py_encaps_512(group, test, monkeypatch):
    assert group["parameterSet"] == "ML-KEM-512"
    ek, m = h(test["ek"]), h(test["m"])
    monkeypatch.setattr(ML_KEM_512, "random_bytes", lambda n: m[:n])
    if test["result"] == "invalid":
        # Wrong length or coefficients not reduced mod q (FIPS 203 7.2 input checks).
        with pytest.raises(ValueError):
            ML_KEM_512.encaps(ek)
        return
    shared, ct = ML_KEM_512.encaps(ek)
    assert (shared, ct) == (h(test["K"]), h(test["c"]))


def test_vectors_selected():
    DECAPS.assert_ran()
    ENCAPS.assert_ran()
    for level in LEVELS:
        name = f"mlkem_{level}_test.json"
        implicit_rejection = [
            p
            for p in DECAPS_PARAMS
            if p.values[0] == level
            and p.values[2].get("comment") in ("Bit flipped ciphertext", "Random ciphertext")
        ]
        assert len(implicit_rejection) > 0, name
        assert DECAPS.skipped(name) == 0
