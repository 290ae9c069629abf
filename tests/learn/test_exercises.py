"""kmslab.learn.exercises: the checks give the right verdicts and specific feedback.

Right answers are written out here from AWS's documentation (the reference tables), not
read from kmslab's own tables, so a drift in either shows up. The quizzes are tested in
test_quiz.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from kmslab.learn import exercises
from kmslab.learn.exercises import CheckResult, check_operations

# AWS's "operations by key type" table, for the operations the prediction exercise asks about.
ALLOWED = {
    ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"): {
        "Encrypt",
        "Decrypt",
        "ReEncrypt",
        "GenerateDataKey",
        "GenerateDataKeyPair",
        "EnableKeyRotation",
    },
    ("HMAC_384", "GENERATE_VERIFY_MAC"): {"GenerateMac", "VerifyMac"},
    ("RSA_3072", "ENCRYPT_DECRYPT"): {"Encrypt", "Decrypt", "ReEncrypt", "GetPublicKey"},
    ("RSA_2048", "SIGN_VERIFY"): {"Sign", "Verify", "GetPublicKey"},
    ("ECC_NIST_EDWARDS25519", "SIGN_VERIFY"): {"Sign", "Verify", "GetPublicKey"},
    ("ECC_NIST_P521", "KEY_AGREEMENT"): {"DeriveSharedSecret", "GetPublicKey"},
    ("ML_KEM_768", "ENCAPSULATE_DECAPSULATE"): {"Encapsulate", "Decapsulate", "GetPublicKey"},
}


@pytest.mark.parametrize(("pair", "allowed"), ALLOWED.items())
def test_a_right_prediction_is_correct(pair: tuple[str, str], allowed: set[str]) -> None:
    result = check_operations(*pair, allowed)
    assert result.correct, result
    assert (
        result.summary == f"Correct! All {len(exercises.PREDICTION_OPERATIONS)} answers are right."
    )


@pytest.mark.parametrize(("pair", "allowed"), ALLOWED.items())
def test_each_wrong_answer_is_named_with_its_error(
    pair: tuple[str, str], allowed: set[str]
) -> None:
    # Flip every answer: all of them must be reported, each with the reason.
    flipped = {op: op not in allowed for op in exercises.PREDICTION_OPERATIONS}
    result = check_operations(*pair, flipped)
    assert not result.correct
    assert len(result.feedback) == len(flipped)
    assert result.summary.startswith(f"Not yet: {len(flipped)} of {len(flipped)}")
    for line in result.feedback:
        op = line.split(":")[0]
        if op in allowed:
            assert "allowed" in line and "not allowed" not in line
        else:
            assert line.startswith(f"{op}: not allowed. {pair[0]} with {pair[1]}")
            refusal = (
                "UnsupportedOperationException"
                if op in ("GetPublicKey", "EnableKeyRotation")
                else "IncorrectKeyException"
                if op in ("Decrypt", "ReEncrypt")
                else "InvalidKeyUsageException"
            )
            assert line.endswith(f"so AWS answers {refusal}.")


def test_feedback_explains_the_key_type_and_what_the_operation_needs() -> None:
    result = check_operations("HMAC_256", "GENERATE_VERIFY_MAC", {"GetPublicKey": True})
    assert result.feedback == (
        "GetPublicKey: not allowed. HMAC_256 with GENERATE_VERIFY_MAC is of key type HMAC KMS key "
        "(HMAC); GetPublicKey takes an asymmetric key (any usage), so AWS answers "
        "UnsupportedOperationException.",
    )
    assert "one key usage" in result.hint
    rotation = check_operations("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", {"EnableKeyRotation": True})
    assert rotation.correct
    assert "Origin is AWS_KMS" in rotation.feedback[0]


def test_a_mapping_checks_only_the_operations_named() -> None:
    result = check_operations("RSA_2048", "SIGN_VERIFY", {"Sign": True, "Encrypt": True})
    assert result.summary == "Not yet: 1 of 2 answers need another look."
    assert [line.split(":")[0] for line in result.feedback] == ["Encrypt"]


def test_bad_input_to_check_operations() -> None:
    assert "not a key spec" in check_operations("RSA_1024", "SIGN_VERIFY", []).feedback[0]
    bad_pair = check_operations("HMAC_256", "SIGN_VERIFY", [])
    assert bad_pair.feedback == (
        "HMAC_256 keys cannot have KeyUsage SIGN_VERIFY; they allow GENERATE_VERIFY_MAC.",
    )
    unknown = check_operations("RSA_2048", "SIGN_VERIFY", {"Sing": True})
    assert unknown.feedback == ("Sing: kmslab does not know an operation of that name.",)


def test_check_specs_for_usage() -> None:
    assert exercises.check_specs_for_usage(
        "KEY_AGREEMENT", ["ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521", "SM2"]
    ).correct
    result = exercises.check_specs_for_usage(
        "KEY_AGREEMENT", ["ECC_NIST_P256", "ECC_SECG_P256K1", "X25519"]
    )
    assert not result.correct
    assert result.feedback[:2] == (
        "ECC_SECG_P256K1 does not allow KEY_AGREEMENT; it allows SIGN_VERIFY.",
        "X25519 is not a key spec.",
    )
    assert [line.split(":")[0] for line in result.feedback[2:]] == [
        "missing ECC_NIST_P384",
        "missing ECC_NIST_P521",
        "missing SM2",
    ]
    assert "not a KeyUsage" in exercises.check_specs_for_usage("SIGN", []).feedback[0]


KEY_TYPES = [
    ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", "SYM", "Symmetric encryption KMS key"),
    ("HMAC_512", "GENERATE_VERIFY_MAC", "HMAC", "HMAC"),
    ("RSA_2048", "ENCRYPT_DECRYPT", "A-ED", "Asymmetric KMS key (ENCRYPT_DECRYPT)"),
    ("ECC_SECG_P256K1", "SIGN_VERIFY", "A-SV", "Asymmetric KMS key (SIGN_VERIFY)"),
    ("ECC_NIST_P384", "KEY_AGREEMENT", "A-KA", "asymmetric key_agreement"),
    (
        "ML_KEM_512",
        "ENCAPSULATE_DECAPSULATE",
        "A-KEM",
        "Asymmetric KMS key (ENCAPSULATE_DECAPSULATE)",
    ),
]


@pytest.mark.parametrize(("spec", "usage", "code", "name"), KEY_TYPES)
def test_check_key_type_on_real_metadata(
    keys: Any, spec: str, usage: str, code: str, name: str
) -> None:
    meta = keys.meta(spec, usage)
    assert exercises.check_key_type(meta, code).correct
    assert exercises.check_key_type({"KeyMetadata": meta}, name).correct
    assert exercises.check_key_type(meta, code.lower()).correct


def test_check_key_type_feedback() -> None:
    rsa = {"KeySpec": "RSA_2048", "KeyUsage": "SIGN_VERIFY"}
    assert "RSA_2048 is asymmetric" in exercises.check_key_type(rsa, "SYM").feedback[0]
    assert "look at KeyUsage" in exercises.check_key_type(rsa, "A-ED").feedback[0]
    assert "not a key type" in exercises.check_key_type(rsa, "RSA").feedback[0]
    assert exercises.check_key_type(rsa, "A-SV").feedback == (
        "KeySpec RSA_2048 is asymmetric and KeyUsage is SIGN_VERIFY: an Asymmetric KMS key "
        "(SIGN_VERIFY) (A-SV).",
    )


# The reference's OAEP table (k - 2*hLen - 2), and the symmetric limit.
MAX_PLAINTEXT = [
    ("RSA_2048", "RSAES_OAEP_SHA_1", 214),
    ("RSA_2048", "RSAES_OAEP_SHA_256", 190),
    ("RSA_3072", "RSAES_OAEP_SHA_1", 342),
    ("RSA_3072", "RSAES_OAEP_SHA_256", 318),
    ("RSA_4096", "RSAES_OAEP_SHA_1", 470),
    ("RSA_4096", "RSAES_OAEP_SHA_256", 446),
    ("SYMMETRIC_DEFAULT", "SYMMETRIC_DEFAULT", 4096),
]


@pytest.mark.parametrize(("spec", "algorithm", "limit"), MAX_PLAINTEXT)
def test_check_max_plaintext(spec: str, algorithm: str, limit: int) -> None:
    assert exercises.check_max_plaintext(spec, algorithm, limit).correct
    assert not exercises.check_max_plaintext(spec, algorithm, limit + 1).correct


def test_check_max_plaintext_names_the_usual_mistakes() -> None:
    modulus = exercises.check_max_plaintext("RSA_3072", "RSAES_OAEP_SHA_256", 384)
    assert "384 bytes is the modulus" in modulus.feedback[0]
    other_hash = exercises.check_max_plaintext("RSA_3072", "RSAES_OAEP_SHA_256", 342)
    assert "342 bytes is the limit with RSAES_OAEP_SHA_1" in other_hash.feedback[0]
    right = exercises.check_max_plaintext("RSA_3072", "RSAES_OAEP_SHA_256", 318)
    assert right.feedback == (
        "RSA_3072 with RSAES_OAEP_SHA_256: k - 2*hLen - 2 = 384 - 2*32 - 2 = 318 bytes.",
    )
    assert "does not offer" in exercises.check_max_plaintext("RSA_2048", "SM2PKE", 1).feedback[0]
    assert (
        "does not encrypt"
        in exercises.check_max_plaintext("RSA_2048", "RSASSA_PSS_SHA_256", 1).feedback[0]
    )


SIGNATURE_BYTES = [
    ("RSA_2048", "RSASSA_PSS_SHA_256", 256),
    ("RSA_4096", "RSASSA_PKCS1_V1_5_SHA_512", 512),
    ("ECC_NIST_P256", "ECDSA_SHA_256", 72),
    ("ECC_NIST_P384", "ECDSA_SHA_384", 104),
    ("ECC_NIST_P521", "ECDSA_SHA_512", 139),
    ("ECC_NIST_EDWARDS25519", "ED25519_SHA_512", 64),
    ("ML_DSA_44", "ML_DSA_SHAKE_256", 2420),
    ("ML_DSA_65", "ML_DSA_SHAKE_256", 3309),
    ("ML_DSA_87", "ML_DSA_SHAKE_256", 4627),
]


@pytest.mark.parametrize(("spec", "algorithm", "size"), SIGNATURE_BYTES)
def test_check_signature_bytes(spec: str, algorithm: str, size: int) -> None:
    assert exercises.check_signature_bytes(spec, algorithm, size).correct
    assert not exercises.check_signature_bytes(spec, algorithm, size * 2).correct


def test_check_signature_bytes_explains_der_and_modulus() -> None:
    short = exercises.check_signature_bytes("ECC_NIST_P256", "ECDSA_SHA_256", 71)
    assert "vary in length, up to 72 bytes" in short.feedback[0]
    assert (
        "at most"
        in exercises.check_signature_bytes("ECC_NIST_P256", "ECDSA_SHA_256", 72).feedback[0]
    )
    raw = exercises.check_signature_bytes("ECC_NIST_P384", "ECDSA_SHA_384", 96)
    assert "r || s side by side" in raw.feedback[0]
    assert "up to 104 bytes" in raw.feedback[0]
    rsa = exercises.check_signature_bytes("RSA_3072", "RSASSA_PSS_SHA_384", 48)
    assert "as long as the modulus: 384 bytes" in rsa.feedback[0]


@pytest.mark.parametrize(
    ("spec", "size"),
    [
        ("ECC_NIST_P256", 32),
        ("ECC_NIST_P384", 48),
        ("ECC_NIST_P521", 66),
        ("ML_KEM_512", 32),
        ("ML_KEM_1024", 32),
    ],
)
def test_check_shared_secret_bytes(spec: str, size: int) -> None:
    assert exercises.check_shared_secret_bytes(spec, size).correct
    wrong = exercises.check_shared_secret_bytes(spec, size + 1)
    assert not wrong.correct and wrong.feedback[0].startswith(f"{spec}: not {size + 1} bytes.")


def test_check_shared_secret_bytes_of_a_key_without_one() -> None:
    result = exercises.check_shared_secret_bytes("RSA_2048", 32)
    assert result.feedback == (
        "RSA_2048 makes no shared secrets; it allows ENCRYPT_DECRYPT, SIGN_VERIFY.",
    )
    assert (
        "521 bits round up to 66 bytes"
        in exercises.check_shared_secret_bytes("ECC_NIST_P521", 66).feedback[0]
    )


# Reference section 7.
STATES = [
    ("Encrypt", "Enabled", "OK"),
    ("Encrypt", "Disabled", "DisabledException"),
    ("Sign", "PendingDeletion", "KMSInvalidStateException"),
    ("Decrypt", "PendingImport", "KMSInvalidStateException"),
    ("DescribeKey", "PendingDeletion", "OK"),
    ("EnableKey", "PendingDeletion", "KMSInvalidStateException"),
    ("ScheduleKeyDeletion", "PendingImport", "OK"),
    ("CancelKeyDeletion", "Enabled", "KMSInvalidStateException"),
    ("CancelKeyDeletion", "PendingDeletion", "OK"),
    ("TagResource", "Disabled", "OK"),
    ("EnableKeyRotation", "Disabled", "DisabledException"),
    ("EnableKeyRotation", "PendingImport", "UnsupportedOperationException"),
]


@pytest.mark.parametrize(("operation", "state", "answer"), STATES)
def test_check_state_error(operation: str, state: str, answer: str) -> None:
    assert exercises.check_state_error(operation, state, answer).correct
    other = "OK" if answer != "OK" else "DisabledException"
    assert not exercises.check_state_error(operation, state, other).correct


def test_check_state_error_feedback() -> None:
    result = exercises.check_state_error("Encrypt", "PendingDeletion", "DisabledException")
    assert result.feedback == (
        "Encrypt in state PendingDeletion raises KMSInvalidStateException (<key ARN> is "
        "pending deletion.), not DisabledException.",
    )
    assert exercises.check_state_error("Encrypt", "Enabled", None).correct
    assert "not an operation" in exercises.check_state_error("Encrpyt", "Enabled", "OK").feedback[0]
    assert "not a key state" in exercises.check_state_error("Encrypt", "On", "OK").feedback[0]


@pytest.mark.parametrize(
    ("check", "args"),
    [
        (exercises.check_operations, ("RSA_2048", "SIGN_VERIFY")),
        (exercises.check_specs_for_usage, ("KEY_AGREEMENT",)),
        (exercises.check_key_type, ({"KeySpec": "RSA_2048", "KeyUsage": "SIGN_VERIFY"},)),
        (exercises.check_max_plaintext, ("RSA_2048", "RSAES_OAEP_SHA_1")),
        (exercises.check_signature_bytes, ("ECC_NIST_P256", "ECDSA_SHA_256")),
        (exercises.check_shared_secret_bytes, ("ECC_NIST_P256",)),
        (exercises.check_state_error, ("Encrypt", "Disabled")),
    ],
)
def test_the_placeholder_gives_nothing_away(check: Any, args: tuple[Any, ...]) -> None:
    result = check(*args, ...)
    assert result is exercises.NO_ANSWER
    assert (
        repr(result) == "No answer yet.\nHint: Replace ... with your answer and run the cell again."
    )


def test_check_result_text_and_html() -> None:
    result = CheckResult(False, ("a <b> line",), "look again")
    assert repr(result) == "Not yet.\n- a <b> line\nHint: look again"
    page = result._repr_html_()
    assert "a &lt;b&gt; line" in page and "<i>Hint:</i> look again" in page
    assert repr(CheckResult(True, (), "hidden when correct")) == "Correct!"
