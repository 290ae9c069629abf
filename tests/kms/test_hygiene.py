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
    """The example from the issue: the AES key's bytes, as hex, base64 and raw."""
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
        messages += [str(info.value), repr(info.value), info.value.message or ""]
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
    # What the local KMS keeps of each failure for kmslab.explain holds no material either.
    assert_clean(repr(list(kms.failures.values())), secrets)


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


# -- nothing secret reachable from an exception or a pickle ------------------------------------


def _frames(err: BaseException) -> list[Any]:
    """Every frame reachable from an exception: its traceback, context and cause, recursively."""
    out: list[Any] = []
    seen: set[int] = set()
    todo: list[BaseException | None] = [err]
    while todo:
        exc = todo.pop()
        if exc is None or id(exc) in seen:
            continue
        seen.add(id(exc))
        tb = exc.__traceback__
        while tb is not None:
            out.append(tb.tb_frame)
            tb = tb.tb_next
        todo += [exc.__context__, exc.__cause__]
    return out


def test_failed_verify_mac_keeps_the_key_out_of_reach() -> None:
    """Once, the HMAC key object stayed reachable from the error's __context__ frames."""
    kms = LocalKMS()
    key_id = kms.call("CreateKey", KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")[
        "KeyMetadata"
    ]["KeyId"]
    secret = kms.keys[key_id].current.secret
    with pytest.raises(KMSError) as caught:
        kms.call(
            "VerifyMac", KeyId=key_id, Message=b"m", MacAlgorithm="HMAC_SHA_256", Mac=b"\0" * 32
        )
    err = caught.value
    assert err.code == "KMSInvalidMacException"
    assert err.__context__ is None and err.__cause__ is None
    frames = [f for f in _frames(err) if f.f_code.co_filename != __file__]  # not the test's
    assert all("kmslab/crypto" not in f.f_code.co_filename for f in frames)
    assert all("kmslab/kms/ops" not in f.f_code.co_filename for f in frames)
    for frame in frames:
        assert all(value is not secret for value in frame.f_locals.values())


def test_failed_import_keeps_offered_material_out_of_tracebacks() -> None:
    kms = LocalKMS()
    key_id = kms.call("CreateKey", Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    params = kms.call(
        "GetParametersForImport",
        KeyId=key_id,
        WrappingKeySpec="RSA_2048",
        WrappingAlgorithm="RSAES_OAEP_SHA_256",
    )
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    offered = b"\x5a" * 31  # not 32 bytes: IncorrectKeyMaterialException after unwrapping
    oaep = padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), None)
    wrapped = serialization.load_der_public_key(params["PublicKey"]).encrypt(offered, oaep)  # type: ignore[union-attr]
    with pytest.raises(KMSError) as caught:
        kms.call(
            "ImportKeyMaterial",
            KeyId=key_id,
            ImportToken=params["ImportToken"],
            EncryptedKeyMaterial=wrapped,
            ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE",
        )
    assert caught.value.code == "IncorrectKeyMaterialException"
    for frame in _frames(caught.value):
        if frame.f_code.co_filename == __file__:
            continue  # the test's own frame holds what it offered
        assert all(
            not (isinstance(v, bytes | bytearray) and offered in bytes(v))
            for v in frame.f_locals.values()
        )


def test_key_objects_refuse_to_pickle_or_copy() -> None:
    import copy
    import pickle

    kms = LocalKMS()
    for params in (
        {},
        {"KeySpec": "ML_KEM_512", "KeyUsage": "ENCAPSULATE_DECAPSULATE"},
        {"KeySpec": "ECC_NIST_P256", "KeyUsage": "SIGN_VERIFY"},
    ):
        key = kms.keys[kms.call("CreateKey", **params)["KeyMetadata"]["KeyId"]]
        for thing in (key, key.current):
            with pytest.raises(TypeError):
                pickle.dumps(thing)
            with pytest.raises(TypeError):
                copy.deepcopy(thing)
        if params:  # the key object itself (cryptography's, or kmslab's ML-KEM-512)
            with pytest.raises(TypeError):
                pickle.dumps(key.current.secret)
    external = kms.call("CreateKey", Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    kms.call(
        "GetParametersForImport",
        KeyId=external,
        WrappingKeySpec="RSA_2048",
        WrappingAlgorithm="RSAES_OAEP_SHA_256",
    )
    (wrapping,) = kms.keys[external].import_state["tokens"].values()
    with pytest.raises(TypeError):
        pickle.dumps(wrapping)


@pytest.mark.parametrize(
    ("operation", "body"),
    [
        (
            "CreateCustomKeyStore",
            {"CustomKeyStoreName": "s", "KeyStorePassword": "Zq9"},  # too short
        ),
        (
            "CreateCustomKeyStore",
            {"CustomKeyStoreName": "s", "KeyStorePassword": "Zq9" * 20},  # too long
        ),
        (
            "UpdateCustomKeyStore",
            {
                "CustomKeyStoreId": "cks-1234567890abcdef0",
                "XksProxyAuthenticationCredential": {
                    "AccessKeyId": "Zq9Zq9Zq9Zq9Zq9Zq9Zq9Zq9Zq9",
                    "RawSecretAccessKey": "Zq9!",
                },
            },
        ),
    ],
)
def test_sensitive_members_are_never_echoed(operation: str, body: dict[str, Any]) -> None:
    import json

    status, payload = LocalKMS().handle(operation, json.dumps(body).encode())
    answer = json.loads(payload)
    assert status == 400 and answer["__type"] == "ValidationException", answer
    assert "Zq9" not in answer["message"]


def test_oversized_values_are_echoed_as_a_bounded_prefix() -> None:
    import json

    from kmslab.kms.wire import ECHO_LIMIT

    body = {"Description": "A" * 100_000, "KeyUsage": "B" * 100_000}
    status, payload = LocalKMS().handle("CreateKey", json.dumps(body).encode())
    message = json.loads(payload)["message"]
    assert status == 400 and message.startswith("2 validation errors detected")
    assert "A" * ECHO_LIMIT + "..." in message and "A" * (ECHO_LIMIT + 1) not in message
    assert len(payload) < 4 * ECHO_LIMIT + 1_000


def test_ml_kem_512_randomness_cannot_be_seeded_from_outside() -> None:
    """kyber-py's shared object can be switched to a seeded DRBG; kmslab does not use it."""
    import os

    from kyber_py.ml_kem import ML_KEM_512

    kms = LocalKMS()
    key_id = kms.call("CreateKey", KeySpec="ML_KEM_512", KeyUsage="ENCAPSULATE_DECAPSULATE")[
        "KeyMetadata"
    ]["KeyId"]
    try:
        outs = []
        for _ in range(2):
            ML_KEM_512.set_drbg_seed(b"\x01" * 48)  # what other code in the process might do
            outs.append(
                kms.call("Encapsulate", KeyId=key_id, EncapsulationAlgorithm="ML_KEM")[
                    "SharedSecretCiphertextBlob"
                ]
            )
        assert outs[0] != outs[1]
    finally:
        ML_KEM_512.random_bytes = os.urandom
