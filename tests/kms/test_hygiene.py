"""Key material never shows: not in the repr of LocalKMS, Key or Material, not in any error
message the usual failures produce, and not in the log when kmslab itself fails."""

from __future__ import annotations

import base64
import logging
from typing import Any

import pytest
from botocore.exceptions import ClientError

from kmslab import specs
from kmslab.crypto import family
from kmslab.exceptions import KMSError, KMSInternalException
from kmslab.kms.service import LocalKMS

#: One key per family whose material is checked.
PAIRS = [
    ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"),
    ("HMAC_384", "GENERATE_VERIFY_MAC"),
    ("RSA_2048", "SIGN_VERIFY"),
    ("ECC_NIST_P384", "KEY_AGREEMENT"),
    ("ECC_NIST_EDWARDS25519", "SIGN_VERIFY"),
    ("ML_DSA_44", "SIGN_VERIFY"),
    ("ML_KEM_512", "ENCAPSULATE_DECAPSULATE"),
    ("ML_KEM_768", "ENCAPSULATE_DECAPSULATE"),
]


def secret_bytes(info: specs.KeySpecInfo, secret: Any) -> list[bytes]:
    """The raw secrets of a key: symmetric bytes, or PKCS #8 and its private value."""
    if isinstance(secret, bytes):
        return [secret]
    der: bytes = family(info.family).private_der(secret)
    found = [der]
    if hasattr(secret, "private_bytes_raw"):
        found.append(secret.private_bytes_raw())
    if hasattr(secret, "seed"):  # ML-KEM-512 held by kmslab as its seed
        found.append(secret.seed)
    if hasattr(secret, "private_numbers"):
        numbers = secret.private_numbers()
        value = getattr(numbers, "private_value", None) or getattr(numbers, "d", None)
        found.append(value.to_bytes((value.bit_length() + 7) // 8, "big"))
    return found


def forms(raw: bytes) -> list[str]:
    """How a secret could leak into text: hex, base64, repr of the bytes, decimal."""
    # A 16-byte window is enough to recognise any of them, and shorter than each secret.
    window = raw[:16]
    return [
        window.hex(),
        window.hex().upper(),
        base64.b64encode(raw).decode()[:20],
        base64.urlsafe_b64encode(raw).decode()[:20],
        repr(window)[2:-1],
        str(int.from_bytes(raw, "big"))[:30],
    ]


def assert_clean(text: str, secrets: list[bytes]) -> None:
    for raw in secrets:
        for form in forms(raw):
            assert form not in text, "key material in text"
        if raw.isascii() and len(raw) >= 16:
            assert raw.decode("ascii", "replace")[:16] not in text


@pytest.fixture(scope="module")
def world() -> tuple[LocalKMS, Any, dict[tuple[str, str], str], list[bytes]]:
    """A LocalKMS with one key per PAIRS entry, and every secret it holds."""
    kms = LocalKMS()
    ids = {
        pair: kms.call("CreateKey", KeySpec=pair[0], KeyUsage=pair[1])["KeyMetadata"]["KeyId"]
        for pair in PAIRS
    }
    secrets: list[bytes] = []
    for key in kms.keys.values():
        for material in key.materials:
            secrets += secret_bytes(key.info, material.secret)
    return kms, kms.client(), ids, secrets


def test_reprs_show_no_material(world):
    kms, _, ids, secrets = world
    texts = [repr(kms), str(kms), repr(kms.keys), repr(kms.clock)]
    for key_id in ids.values():
        key = kms.keys[key_id]
        texts += [repr(key), str(key), repr(key.materials), repr(key.current), str(key.current)]
    joined = "\n".join(texts)
    assert "Key(id=" in joined and "Material(id=" in joined  # the reprs are informative
    assert_clean(joined, secrets)


def test_symmetric_material_in_no_form(world):
    """The brief's own example: the AES key's bytes, as hex, base64 and raw."""
    kms, _, ids, _ = world
    key = kms.keys[ids[("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT")]]
    raw = key.materials[0].secret
    assert isinstance(raw, bytes) and len(raw) == 32
    for text in (repr(kms), repr(key), repr(key.materials[0])):
        assert raw.hex() not in text
        assert base64.b64encode(raw).decode() not in text
        assert repr(raw) not in text


def _typical_failures(kms: LocalKMS, client: Any, ids: dict[tuple[str, str], str]) -> list[str]:
    """Run the usual mistakes, through kms.call and boto3; return every message they give."""
    sym = ids[("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT")]
    mac = ids[("HMAC_384", "GENERATE_VERIFY_MAC")]
    sign = ids[("RSA_2048", "SIGN_VERIFY")]
    ecdh = ids[("ECC_NIST_P384", "KEY_AGREEMENT")]
    kem = ids[("ML_KEM_768", "ENCAPSULATE_DECAPSULATE")]
    blob = kms.call("Encrypt", KeyId=sym, Plaintext=b"p", EncryptionContext={"a": "b"})[
        "CiphertextBlob"
    ]
    attempts: list[tuple[str, dict[str, Any]]] = [
        ("Decrypt", {"CiphertextBlob": blob}),
        ("Decrypt", {"CiphertextBlob": blob[:-1] + b"\x00", "EncryptionContext": {"a": "b"}}),
        ("Decrypt", {"CiphertextBlob": blob, "KeyId": mac}),
        ("Encrypt", {"KeyId": sign, "Plaintext": b"p"}),
        ("Encrypt", {"KeyId": sym, "Plaintext": b"p" * 5000}),
        ("GenerateMac", {"KeyId": mac, "Message": b"m", "MacAlgorithm": "HMAC_SHA_256"}),
        (
            "VerifyMac",
            {"KeyId": mac, "Message": b"m", "Mac": b"x" * 48, "MacAlgorithm": "HMAC_SHA_384"},
        ),
        (
            "Sign",
            {
                "KeyId": sign,
                "Message": b"m" * 31,
                "MessageType": "DIGEST",
                "SigningAlgorithm": "RSASSA_PSS_SHA_256",
            },
        ),
        (
            "Verify",
            {
                "KeyId": sign,
                "Message": b"m",
                "Signature": b"s" * 256,
                "SigningAlgorithm": "RSASSA_PSS_SHA_256",
            },
        ),
        (
            "DeriveSharedSecret",
            {"KeyId": ecdh, "KeyAgreementAlgorithm": "ECDH", "PublicKey": b"junk"},
        ),
        (
            "Decapsulate",
            {"KeyId": kem, "EncapsulationAlgorithm": "ML_KEM", "SharedSecretCiphertextBlob": b"c"},
        ),
        ("GetPublicKey", {"KeyId": mac}),
        ("ScheduleKeyDeletion", {"KeyId": sym, "PendingWindowInDays": 3}),
        ("DescribeKey", {"KeyId": "alias/none"}),
    ]
    messages: list[str] = []
    for operation, params in attempts:
        with pytest.raises(KMSError) as info:
            kms.call(operation, **params)
        messages += [str(info.value), repr(info.value), info.value.message]
        method = getattr(client, _snake(operation))
        with pytest.raises(ClientError) as boto:
            method(**params)
        messages += [str(boto.value), repr(boto.value.response)]
    return messages


def _snake(operation: str) -> str:
    from botocore import xform_name

    return xform_name(operation)


def test_error_messages_show_no_material(world, caplog):
    kms, client, ids, secrets = world
    with caplog.at_level(logging.DEBUG, logger="kmslab"):
        messages = _typical_failures(kms, client, ids)
    assert len(messages) >= 40
    assert_clean("\n".join(messages) + caplog.text, secrets)


@pytest.mark.parametrize(
    ("pair", "module", "function", "operation", "params"),
    [
        (("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"), "aes", "seal", "Encrypt", {"Plaintext": b"p"}),
        (
            ("HMAC_384", "GENERATE_VERIFY_MAC"),
            "hmac",
            "mac",
            "GenerateMac",
            {"Message": b"m", "MacAlgorithm": "HMAC_SHA_384"},
        ),
        (
            ("RSA_2048", "SIGN_VERIFY"),
            "rsa",
            "sign",
            "Sign",
            {"Message": b"m", "SigningAlgorithm": "RSASSA_PSS_SHA_256"},
        ),
    ],
)
def test_internal_error_leaks_nothing(
    world, caplog, monkeypatch, pair, module, function, operation, params
):
    """A primitive that fails with the key in its message (a bug we simulate) stays private."""
    kms, client, ids, secrets = world
    key_id = ids[pair]
    info = specs.get(pair[0])

    material = kms.keys[key_id].current.secret  # what the primitive is handed (maybe wrapped)

    def broken(key: Any, *args: Any, **kwargs: Any) -> Any:
        leak = b"".join(secret_bytes(info, material))
        raise ValueError(f"cannot use {leak.hex()} / {base64.b64encode(leak).decode()} / {leak!r}")

    monkeypatch.setattr(family(info.family), function, broken)
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(KMSInternalException) as err:
            kms.call(operation, KeyId=key_id, **params)
        with pytest.raises(client.exceptions.KMSInternalException) as boto:
            getattr(client, _snake(operation))(KeyId=key_id, **params)
    assert err.value.__context__ is None and err.value.__cause__ is None
    assert err.value.message == f"kmslab internal error in {operation} (ValueError)."
    assert boto.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    ours = [r for r in caplog.records if r.name == "kmslab.kms.service"]
    assert [r.getMessage() for r in ours] == [f"internal error in {operation}: ValueError"] * 2
    assert all(r.exc_info is None for r in ours)
    text = "\n".join([str(err.value), repr(err.value), str(boto.value), caplog.text])
    assert_clean(text, secrets)
    monkeypatch.undo()
    # The key survives kmslab's own failure.
    assert kms.keys[key_id].state == "Enabled"
    kms.call(operation, KeyId=key_id, **params)
