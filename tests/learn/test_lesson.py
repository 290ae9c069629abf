"""kmslab.learn.lesson: readable responses, metadata cards, calls that show their AWS error, keys a
lesson created, and the openssl command line as a party outside KMS."""

from __future__ import annotations

import hashlib
import shutil
from datetime import datetime, timezone
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key

from kmslab import LocalKMS
from kmslab.learn import lesson

HAVE_OPENSSL = shutil.which("openssl") is not None


# -- summarize and card -----------------------------------------------------------------------


def test_summarize_replaces_blobs_dates_and_drops_response_metadata() -> None:
    when = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
    got = lesson.summarize(
        {
            "CiphertextBlob": b"\x00" * 151,
            "Nested": {"When": when, "Items": [b"ab", "text", 3]},
            "ResponseMetadata": {"RequestId": "x"},
        }
    )
    assert got == {
        "CiphertextBlob": "<151 bytes>",
        "Nested": {"When": "2024-05-01T12:00:00+00:00", "Items": ["<2 bytes>", "text", 3]},
    }


def test_card_orders_fields_and_adds_the_key_type(client: Any, keys: Any) -> None:
    meta = client.describe_key(KeyId=keys.id("RSA_2048", "SIGN_VERIFY"))
    card = lesson.card(meta)  # the whole response is accepted
    names = [name for name, _ in card.rows()]
    assert names[:3] == ["KeySpec", "KeyUsage", "Key type"]
    assert dict(card.rows())["Key type"] == "Asymmetric KMS key (SIGN_VERIFY) (A-SV)"
    assert "AWSAccountId" not in names and "MultiRegion" not in names
    assert names.index("SigningAlgorithms") < names.index("KeyId") < names.index("CreationDate")
    text = repr(card)
    assert "RSASSA_PSS_SHA_256, RSASSA_PSS_SHA_384" in text
    assert meta["KeyMetadata"]["Arn"] in text
    page = card._repr_html_()
    assert page.startswith("<div><b>RSA_2048</b><table>")
    assert "<th" in page and "Asymmetric KMS key (SIGN_VERIFY) (A-SV)" in page


def test_card_escapes_html_and_tolerates_unknown_specs() -> None:
    card = lesson.card({"KeySpec": "NOT_A_SPEC", "Description": "<script>x</script>"})
    assert card.key_type is None
    assert [n for n, _ in card.rows()] == ["KeySpec", "Description"]
    assert "<script>" not in card._repr_html_()
    assert "&lt;script&gt;" in card._repr_html_()


# -- try_call ---------------------------------------------------------------------------------


def test_try_call_success_keeps_raw_values_and_shows_sizes(client: Any, keys: Any) -> None:
    result = lesson.try_call(client.encrypt, KeyId=keys.id("SYMMETRIC_DEFAULT"), Plaintext=b"hi")
    assert result.ok and bool(result)
    assert result.name == "Encrypt"
    assert isinstance(result.value["CiphertextBlob"], bytes)
    assert "ResponseMetadata" not in result.value
    text = repr(result)
    assert text.startswith("Encrypt -> OK\n")
    assert f"<{len(result.value['CiphertextBlob'])} bytes>" in text
    assert "Encrypt &rarr; <b>OK</b>" in result._repr_html_()


def test_try_call_shows_the_aws_error_code_and_message(client: Any, keys: Any) -> None:
    meta = keys.meta("ECC_NIST_P256", "SIGN_VERIFY")
    result = lesson.try_call(client.encrypt, KeyId=meta["KeyId"], Plaintext=b"hi")
    assert not result.ok and not bool(result)
    assert result.error_code == "InvalidKeyUsageException"
    assert result.error_message == (
        f"{meta['Arn']} key usage is SIGN_VERIFY which is not valid for Encrypt."
    )
    # AWS's error first, kmslab's explanation of it under it.
    lines = repr(result).splitlines()
    assert lines[:2] == ["Encrypt -> InvalidKeyUsageException", f"  {result.error_message}"]
    assert [line.split(":")[0] for line in lines[2:]] == ["  Why", "  Instead", "  Read"]
    assert "<b>InvalidKeyUsageException</b>" in result._repr_html_()


def test_try_call_says_when_an_error_has_no_message(client: Any, keys: Any) -> None:
    result = lesson.try_call(client.decrypt, CiphertextBlob=b"\x01" * 100)
    assert (result.error_code, result.error_message) == ("InvalidCiphertextException", "")
    assert repr(result).splitlines()[:2] == [
        "Decrypt -> InvalidCiphertextException",
        "  (the error has no message)",
    ]


def test_try_call_on_local_kms_call_is_named_after_the_operation() -> None:
    result = lesson.try_call(LocalKMS().call, "GenerateRandom", NumberOfBytes=2000)
    assert result.name == "GenerateRandom"
    assert result.error_code == "ValidationException"


def test_try_call_reports_botocore_parameter_checks(client: Any) -> None:
    result = lesson.try_call(client.encrypt, KeyId="k", Plaintext=b"x", Bogus=1)
    assert result.error_code == "ParamValidationError"
    assert "Unknown parameter in input" in str(result.error_message)


def test_try_call_reports_library_refusals_and_plain_results() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    bad = lesson.try_call(key.public_key().verify, b"\x30\x00", b"m", ec.ECDSA(hashes.SHA256()))
    assert bad.error_code == InvalidSignature.__name__
    good = lesson.try_call(len, b"abc")
    assert (good.ok, good.value, good.name) == (True, 3, "len")
    assert repr(good) == "len -> OK: 3"


def test_try_call_lets_real_bugs_through() -> None:
    def broken() -> None:
        raise KeyError("a bug, not an AWS error")

    with pytest.raises(KeyError):
        lesson.try_call(broken)


# -- keys a lesson created --------------------------------------------------------------------


def test_clean_up_schedules_only_the_keys_the_tracked_client_created() -> None:
    kms = LocalKMS()
    tracked, other = kms.client(), kms.client()
    before = other.create_key()["KeyMetadata"]["KeyId"]
    created = lesson.track_created_keys(tracked)
    assert lesson.track_created_keys(tracked) is created  # idempotent
    made = [tracked.create_key()["KeyMetadata"]["KeyId"] for _ in range(2)]
    made.append(
        tracked.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"][
            "KeyId"
        ]
    )
    tracked.schedule_key_deletion(KeyId=made[0], PendingWindowInDays=30)
    assert created == made
    report = lesson.clean_up(tracked)
    assert report.scheduled == tuple(made[1:]) and report.window_days == 7
    assert repr(report) == "2 key(s) scheduled for deletion in 7 days."
    states = {k: kms.keys[k].state for k in made}
    assert set(states.values()) == {"PendingDeletion"}
    assert kms.keys[made[0]].pending_window_days == 30  # left as it was
    assert kms.keys[before].state == "Enabled"
    assert created == [] and lesson.clean_up(tracked).scheduled == ()


def test_clean_up_of_an_untracked_client_does_nothing() -> None:
    client = LocalKMS().client()
    client.create_key()
    assert lesson.clean_up(client).scheduled == ()


# -- messages for Sign -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("algorithm", "length"),
    [("RSASSA_PSS_SHA_256", 32), ("ECDSA_SHA_384", 48), ("RSASSA_PKCS1_V1_5_SHA_512", 64)],
)
def test_signing_message_digest_uses_the_algorithms_hash(algorithm: str, length: int) -> None:
    digest = lesson.signing_message(algorithm, "DIGEST", b"hello")
    assert len(digest) == length
    assert digest == hashlib.new(f"sha{length * 8}", b"hello").digest()
    assert lesson.signing_message(algorithm, "RAW", b"hello") == b"hello"


def test_external_mu_signature_verifies_as_the_raw_message(client: Any, keys: Any) -> None:
    key_id = keys.id("ML_DSA_44", "SIGN_VERIFY")
    public = client.get_public_key(KeyId=key_id)["PublicKey"]
    message = b"a large document, hashed locally" * 100
    mu = lesson.signing_message("ML_DSA_SHAKE_256", "EXTERNAL_MU", message, public)
    assert len(mu) == 64
    args = {"KeyId": key_id, "SigningAlgorithm": "ML_DSA_SHAKE_256"}
    sig = client.sign(Message=mu, MessageType="EXTERNAL_MU", **args)["Signature"]
    assert client.verify(Message=message, MessageType="RAW", Signature=sig, **args)[
        "SignatureValid"
    ]
    with pytest.raises(ValueError, match="needs the public key"):
        lesson.signing_message("ML_DSA_SHAKE_256", "EXTERNAL_MU", message)


# -- openssl ----------------------------------------------------------------------------------


def test_openssl_command_reads_the_catalogue() -> None:
    pss = lesson.openssl_command("RSASSA_PSS_SHA_384", "DIGEST")
    assert pss is not None
    assert " ".join(pss) == (
        "openssl pkeyutl -verify -pubin -keyform DER -inkey public_key.der "
        "-sigfile signature.bin -in message.bin -pkeyopt digest:sha384 "
        "-pkeyopt rsa_padding_mode:pss -pkeyopt rsa_pss_saltlen:digest"
    )
    ecdsa = lesson.openssl_command("ECDSA_SHA_512")
    assert ecdsa is not None and ecdsa[-3:] == ["-rawin", "-digest", "sha512"]
    ed = lesson.openssl_command("ED25519_SHA_512")
    assert ed is not None and "-rawin" in ed and "-digest" not in ed
    for unsupported in ("ED25519_PH_SHA_512", "ML_DSA_SHAKE_256", "SM2DSA"):
        assert lesson.openssl_command(unsupported) is None
    with pytest.raises(ValueError, match="not a KMS signing algorithm"):
        lesson.openssl_command("RSAES_OAEP_SHA_256")


SIGNATURES = [
    ("RSA_2048", "RSASSA_PSS_SHA_256", "RAW"),
    ("RSA_2048", "RSASSA_PKCS1_V1_5_SHA_512", "DIGEST"),
    ("ECC_NIST_P384", "ECDSA_SHA_384", "RAW"),
    ("ECC_SECG_P256K1", "ECDSA_SHA_256", "DIGEST"),
    ("ECC_NIST_EDWARDS25519", "ED25519_SHA_512", "RAW"),
]


@pytest.mark.skipif(not HAVE_OPENSSL, reason="openssl not on PATH")
@pytest.mark.parametrize(("spec", "algorithm", "message_type"), SIGNATURES)
def test_openssl_verifies_kms_signatures(
    client: Any, keys: Any, spec: str, algorithm: str, message_type: str
) -> None:
    key_id = keys.id(spec, "SIGN_VERIFY")
    public = client.get_public_key(KeyId=key_id)["PublicKey"]
    message = lesson.signing_message(algorithm, message_type, b"signed in KMS")
    sig = client.sign(
        KeyId=key_id, Message=message, MessageType=message_type, SigningAlgorithm=algorithm
    )["Signature"]
    good = lesson.openssl_verify(public, message, sig, algorithm, message_type)
    assert good.verified is True, good
    assert good.output == "Signature Verified Successfully"
    assert repr(good).startswith("$ openssl pkeyutl -verify")
    tampered = bytes([message[0] ^ 1]) + message[1:]
    bad = lesson.openssl_verify(public, tampered, sig, algorithm, message_type)
    assert bad.verified is False
    assert bad.output == "Signature Verification Failure"


def test_openssl_verify_without_openssl_skips_with_a_note(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lesson.shutil, "which", lambda name: None)
    check = lesson.openssl_verify(b"", b"m", b"s", "ECDSA_SHA_256")
    assert check.verified is None
    assert check.note == "openssl is not installed here: check skipped."
    assert check.command.startswith("openssl pkeyutl")
    unsupported = lesson.openssl_verify(b"", b"m", b"s", "ML_DSA_SHAKE_256")
    assert unsupported.verified is None and "cannot verify ML_DSA_SHAKE_256" in unsupported.note


def test_public_key_from_kms_loads_in_cryptography(client: Any, keys: Any) -> None:
    """The DER the cards and the openssl helper handle is plain SPKI."""
    public = client.get_public_key(KeyId=keys.id("ECC_NIST_P256", "SIGN_VERIFY"))["PublicKey"]
    assert isinstance(load_der_public_key(public), ec.EllipticCurvePublicKey)
