"""The key-spec chooser, held to answers written out by hand from AWS's guidance.

Sources: the AWS KMS Developer Guide's "Choosing the KMS key type" (symmetric unless you
need asymmetric; asymmetric when parties outside AWS encrypt or verify; services integrated
with KMS use symmetric encryption keys; data key pairs come from GenerateDataKeyPair on a
symmetric encryption key), "Asymmetric key specs" (RSA is the only asymmetric encryption
outside China; ECDH key agreement on the NIST curves; SM2 only in the China Regions, where
SYMMETRIC_DEFAULT is SM4), and the post-quantum pages (ML-DSA signs, ML-KEM encapsulates;
ML-KEM is not offered in the China Regions). Rankings inside a family follow the chooser's
documented scoring (smallest strength that meets the target first).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from kmslab import specs
from kmslab.cli import main
from kmslab.kms.rules import allowed
from kmslab.learn.choose import Needs, Recommendation, choose

# (needs, the ranked (KeySpec, KeyUsage) pairs expected, or a prefix of them ending in ...)
ED, SV, MAC, KA, KEM = (
    "ENCRYPT_DECRYPT",
    "SIGN_VERIFY",
    "GENERATE_VERIFY_MAC",
    "KEY_AGREEMENT",
    "ENCAPSULATE_DECAPSULATE",
)
EXPECTED: list[tuple[Needs, list[Any]]] = [
    # Encrypting inside AWS: symmetric first, then RSA; never SM2 outside China.
    (
        Needs(encrypt_in_aws=True),
        [("SYMMETRIC_DEFAULT", ED), ("RSA_3072", ED), ("RSA_4096", ED), ("RSA_2048", ED)],
    ),
    # Parties outside AWS encrypt: RSA ENCRYPT_DECRYPT is the only asymmetric encryption.
    (Needs(encrypt_outside_aws=True), [("RSA_3072", ED), ("RSA_4096", ED), ("RSA_2048", ED)]),
    (
        Needs(encrypt_outside_aws=True, min_security_bits=128),
        [("RSA_3072", ED), ("RSA_4096", ED)],
    ),
    (
        Needs(encrypt_outside_aws=True, china_regions=True),
        [("SM2", ED), ("RSA_3072", ED), ("RSA_4096", ED), ("RSA_2048", ED)],
    ),
    # Post-quantum signatures: ML-DSA only, filtered by strength.
    (
        Needs(sign=True, post_quantum=True),
        [("ML_DSA_44", SV), ("ML_DSA_65", SV), ("ML_DSA_87", SV)],
    ),
    (
        Needs(sign=True, post_quantum=True, min_security_bits=192),
        [("ML_DSA_65", SV), ("ML_DSA_87", SV)],
    ),
    (Needs(sign=True, post_quantum=True, min_security_bits=256), [("ML_DSA_87", SV)]),
    # MACs: the HMAC specs; with no minimum HMAC_224 (192-bit) ranks first, by design.
    (
        Needs(mac=True),
        [("HMAC_224", MAC), ("HMAC_256", MAC), ("HMAC_384", MAC), ("HMAC_512", MAC)],
    ),
    (
        Needs(mac=True, min_security_bits=256),
        [("HMAC_256", MAC), ("HMAC_384", MAC), ("HMAC_512", MAC)],
    ),
    # ECDH key agreement: the NIST curves (SM2 too, in China).
    (
        Needs(shared_secret=True),
        [("ECC_NIST_P256", KA), ("ECC_NIST_P384", KA), ("ECC_NIST_P521", KA)],
    ),
    (
        Needs(shared_secret=True, china_regions=True),
        [("SM2", KA), ("ECC_NIST_P256", KA), ("ECC_NIST_P384", KA), ("ECC_NIST_P521", KA)],
    ),
    # Key encapsulation: ML-KEM.
    (Needs(kem=True), [("ML_KEM_512", KEM), ("ML_KEM_768", KEM), ("ML_KEM_1024", KEM)]),
    (Needs(kem=True, min_security_bits=192), [("ML_KEM_768", KEM), ("ML_KEM_1024", KEM)]),
    # China Regions: SM2 first for signing.
    (Needs(sign=True, china_regions=True), [("SM2", SV), ...]),
    (
        Needs(encrypt_in_aws=True, china_regions=True),
        [
            ("SYMMETRIC_DEFAULT", ED),
            ("SM2", ED),
            ("RSA_3072", ED),
            ("RSA_4096", ED),
            ("RSA_2048", ED),
        ],
    ),
    # Services integrated with KMS, and data key pairs: the symmetric encryption key only.
    (Needs(aws_service_integration=True), [("SYMMETRIC_DEFAULT", ED)]),
    (Needs(data_key_pair_offline=True), [("SYMMETRIC_DEFAULT", ED)]),
    (Needs(aws_service_integration=True, encrypt_in_aws=True), [("SYMMETRIC_DEFAULT", ED)]),
    # AES-256 already resists quantum computers.
    (Needs(encrypt_in_aws=True, post_quantum=True), [("SYMMETRIC_DEFAULT", ED)]),
    # Signing, verified outside AWS: asymmetric SIGN_VERIFY, smallest footprint first.
    (
        Needs(sign=True, verify_outside_aws=True),
        [("ECC_NIST_EDWARDS25519", SV), ("ECC_SECG_P256K1", SV), ("ECC_NIST_P256", SV), ...],
    ),
    # Nothing asked: the default KMS key.
    (Needs(), [("SYMMETRIC_DEFAULT", ED), ...]),
]


def _ids(case: tuple[Needs, Any]) -> str:
    return "+".join(case[0].given()) or "nothing"


@pytest.mark.parametrize(("needs", "expected"), EXPECTED, ids=[_ids(c) for c in EXPECTED])
def test_hand_written_answers(needs: Needs, expected: list[Any]) -> None:
    got = [(r.key_spec, r.key_usage) for r in choose(needs)]
    if expected[-1] is Ellipsis:
        assert got[: len(expected) - 1] == expected[:-1]
    else:
        assert got == expected


# Needs that no single key can meet, and a phrase the explanation must contain.
CONTRADICTIONS = [
    (Needs(aws_service_integration=True, sign=True), "No single KMS key can"),
    (Needs(encrypt_in_aws=True, sign=True), "a KMS key has one key usage"),
    (Needs(mac=True, encrypt_outside_aws=True), "Use one key for each need"),
    (
        Needs(data_key_pair_offline=True, sign=True),
        "needs a key of type SYM, the other needs leave only keys of type A-SV",
    ),
    (Needs(shared_secret=True, post_quantum=True), "use a KEM (kem)"),
    (Needs(kem=True, china_regions=True), "not offered in the China Regions"),
    (Needs(sign=True, min_security_bits=300), "the strongest offers 256 bits"),
    (Needs(encrypt_outside_aws=True, post_quantum=True), "resists quantum computers"),
]


@pytest.mark.parametrize(("needs", "phrase"), CONTRADICTIONS, ids=[_ids(c) for c in CONTRADICTIONS])
def test_contradictions_give_an_empty_result_and_a_reason(needs: Needs, phrase: str) -> None:
    result = choose(needs)
    assert len(result) == 0 and list(result) == [] and result.best is None
    assert phrase in result.notes[0]
    assert "No single KMS key fits these needs." in result.to_text()


def test_sm2_and_ml_kem_follow_the_region() -> None:
    outside = [r.key_spec for r in choose(Needs(sign=True))]
    assert "SM2" not in outside
    inside = [r.key_spec for r in choose(Needs(kem=True, post_quantum=True))]
    assert inside == ["ML_KEM_512", "ML_KEM_768", "ML_KEM_1024"]


@pytest.mark.parametrize("needs", [n for n, _ in EXPECTED], ids=[_ids(c) for c in EXPECTED])
def test_every_recommendation_really_fits(needs: Needs) -> None:
    result = choose(needs)
    assert [r.rank for r in result] == list(range(1, len(result) + 1))
    assert [r.score for r in result] == sorted(r.score for r in result)
    for r in result:
        info = specs.get(r.key_spec)
        assert info.usage(r.key_usage) is not None
        assert r.key_type == specs.key_type(r.key_spec, r.key_usage)
        assert info.security_bits >= needs.min_security_bits
        if needs.sign:
            assert allowed("Sign", r.key_spec, r.key_usage)
        if needs.encrypt_outside_aws or needs.verify_outside_aws:
            assert allowed("GetPublicKey", r.key_spec, r.key_usage)
        if needs.aws_service_integration or needs.data_key_pair_offline:
            assert r.key_type == "SYM"
        if not needs.china_regions:
            assert info.regions != "china-only"
        assert r.reason.startswith(info.summary)
        assert r.create_key_args == {"KeySpec": r.key_spec, "KeyUsage": r.key_usage}


def test_reasons_and_notes_carry_the_advice() -> None:
    symmetric = choose(Needs(encrypt_in_aws=True))
    assert any("symmetric" in n.lower() for n in symmetric.notes)
    assert "256-bit security" in symmetric[0].reason
    rsa_2048 = next(r for r in symmetric if r.key_spec == "RSA_2048")
    assert "NIST accepts 112 bits through 2030" in rsa_2048.reason
    pairs = choose(Needs(data_key_pair_offline=True, post_quantum=True))
    assert "KeyPairSpec choices that meet your needs: ML_KEM_512, ML_KEM_768, ML_KEM_1024" in (
        pairs[0].reason
    )
    china = choose(Needs(encrypt_in_aws=True, china_regions=True))
    assert "SM4" in china[0].reason  # SYMMETRIC_DEFAULT is SM4-128 there
    assert any("SM4-128" in n for n in china.notes)
    assert any("No use given" in n for n in choose(Needs()).notes)
    ed25519 = choose(Needs(sign=True, verify_outside_aws=True))[0]
    assert "public key 44 bytes" in ed25519.reason and "signatures up to 64 bytes" in ed25519.reason


def test_result_renderings() -> None:
    result = choose(Needs(kem=True))
    text = result.to_text().splitlines()
    assert text[0].split() == ["#", "KeySpec", "KeyUsage", "type", "bits"]
    assert text[1].split() == ["1", "ML_KEM_512", "ENCAPSULATE_DECAPSULATE", "A-KEM", "128"]
    assert "<td><b>ML_KEM_512</b></td>" in result._repr_html_()
    assert result._repr_markdown_().startswith("| # | KeySpec |")
    data = result.to_json()
    assert data["needs"] == {"kem": True}
    assert [r["key_spec"] for r in data["recommendations"]] == [
        "ML_KEM_512",
        "ML_KEM_768",
        "ML_KEM_1024",
    ]
    assert isinstance(result[0], Recommendation)


# -- command line ------------------------------------------------------------------------


def test_cli_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["choose", "--encrypt-outside-aws", "--min-security", "128"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["#", "KeySpec", "KeyUsage", "type", "bits"]
    rows = [line.split() for line in lines if line[:1].isdigit()]
    assert [row[1] for row in rows] == ["RSA_3072", "RSA_4096"]


def test_cli_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["choose", "--sign", "--post-quantum", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["needs"] == {"sign": True, "post_quantum": True}
    assert [r["key_spec"] for r in data["recommendations"]] == [
        "ML_DSA_44",
        "ML_DSA_65",
        "ML_DSA_87",
    ]
    assert set(data["recommendations"][0]) == {
        "rank",
        "key_spec",
        "key_usage",
        "key_type",
        "security_bits",
        "reason",
    }


def test_cli_contradiction_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["choose", "--aws-service-integration", "--sign"]) == 1
    out = capsys.readouterr().out
    assert "No single KMS key fits these needs." in out
    assert "No single KMS key can" in out


def test_cli_help_lists_every_need(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["choose", "--help"]) == 0
    out = capsys.readouterr().out
    for flag in (
        "--encrypt-in-aws",
        "--encrypt-outside-aws",
        "--sign",
        "--verify-outside-aws",
        "--mac",
        "--shared-secret",
        "--kem",
        "--post-quantum",
        "--min-security",
        "--china-regions",
        "--data-key-pair-offline",
        "--aws-service-integration",
        "--json",
    ):
        assert flag in out


def test_cli_rejects_a_non_number(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["choose", "--min-security", "lots"]) == 2
    assert "invalid int value" in capsys.readouterr().err


def test_china_regions_rate_symmetric_default_as_sm4_128() -> None:
    # In the China Regions SYMMETRIC_DEFAULT is SM4-128, so 192 bits cannot be met there.
    assert choose(Needs(encrypt_in_aws=True, min_security_bits=192)).best.key_spec == (
        "SYMMETRIC_DEFAULT"
    )
    china = choose(Needs(encrypt_in_aws=True, china_regions=True, min_security_bits=192))
    assert list(china) == []
    assert any("152 bits" in note for note in china.notes)
    best = choose(Needs(encrypt_in_aws=True, china_regions=True)).best
    assert (best.key_spec, best.security_bits) == ("SYMMETRIC_DEFAULT", 128)
