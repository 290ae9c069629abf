"""Key lifecycle through the local KMS: rotation of key material (automatic on the clock, and
on demand) and imported key material (GetParametersForImport, ImportKeyMaterial,
DeleteImportedKeyMaterial, expiry), with AWS's errors, and no failed call changing a key.

Key material is wrapped here with ``cryptography`` the way a user would wrap it, independently
of kmslab's unwrapping code.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from functools import cache
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes, hmac, keywrap, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, mldsa, padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kmslab import specs
from kmslab.clock import Clock
from kmslab.exceptions import KMSError
from kmslab.kms import ciphertext
from kmslab.kms.ops.lifecycle import MAX_ON_DEMAND_ROTATIONS
from kmslab.kms.registry import TIMERS
from kmslab.kms.service import LocalKMS

START = datetime(2030, 1, 1, 12, tzinfo=timezone.utc)
DAY = timedelta(days=1)
PKCS8 = (
    serialization.Encoding.DER,
    serialization.PrivateFormat.PKCS8,
    serialization.NoEncryption(),
)
SPKI = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
NEVER = {"ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE"}


# -- helpers (also used by test_lifecycle_wycheproof) -------------------------------------------


def wrap(public_der: bytes, algorithm: str, material: bytes) -> bytes:
    """Wrap key material for ImportKeyMaterial with cryptography, as a user would."""
    public = serialization.load_der_public_key(public_der)
    assert isinstance(public, rsa.RSAPublicKey)
    h = hashes.SHA1() if algorithm.endswith("_SHA_1") else hashes.SHA256()
    oaep = padding.OAEP(mgf=padding.MGF1(h), algorithm=h, label=None)
    if algorithm.startswith("RSAES_OAEP"):
        return public.encrypt(material, oaep)
    assert algorithm.startswith("RSA_AES_KEY_WRAP")
    aes_key = os.urandom(32)
    return public.encrypt(aes_key, oaep) + keywrap.aes_key_wrap_with_padding(aes_key, material)


def import_material(
    call: Callable[..., Any],
    key_id: str,
    material: bytes,
    algorithm: str = "RSAES_OAEP_SHA_256",
    wrapping_spec: str = "RSA_2048",
    **extra: Any,
) -> Any:
    """GetParametersForImport, wrap, ImportKeyMaterial; ``call(op, **params)`` makes the calls."""
    params = call(
        "GetParametersForImport",
        KeyId=key_id,
        WrappingAlgorithm=algorithm,
        WrappingKeySpec=wrapping_spec,
    )
    if "ValidTo" not in extra:
        extra = {**NEVER, **extra}
    return call(
        "ImportKeyMaterial",
        KeyId=key_id,
        ImportToken=params["ImportToken"],
        EncryptedKeyMaterial=wrap(params["PublicKey"], algorithm, material),
        **extra,
    )


def error_code(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> str:
    """The AWS error code ``fn`` fails with, from kms.call (KMSError) or boto3 (ClientError)."""
    try:
        fn(*args, **kwargs)
    except KMSError as err:
        return err.code
    except ClientError as err:
        return str(err.response["Error"]["Code"])
    pytest.fail(f"{fn} succeeded")


def pkcs8(private: Any) -> bytes:
    return bytes(private.private_bytes(*PKCS8))


@pytest.fixture
def kms() -> LocalKMS:
    """A LocalKMS of this test's own on a frozen clock (only ``advance`` moves it)."""
    return LocalKMS(clock=Clock(frozen_at=START))


@pytest.fixture(scope="module")
def shared() -> tuple[LocalKMS, Any]:
    """A LocalKMS on a frozen clock and its boto3 client, for tests that never move the clock
    (a boto3 client costs about 0.2 s to make)."""
    kms = LocalKMS(clock=Clock(frozen_at=START))
    return kms, kms.client()


@pytest.fixture(scope="module")
def shared_raw_client(shared: tuple[LocalKMS, Any]) -> Any:
    """The same LocalKMS, with botocore's client-side checks off: the server's answer."""
    return shared[0].client(parameter_validation=False)


def new_key(kms: LocalKMS, **params: Any) -> str:
    return str(kms.call("CreateKey", **params)["KeyMetadata"]["KeyId"])


def material_ids(kms: LocalKMS, key_id: str) -> list[str]:
    return [m.id for m in kms.keys[key_id].materials]


def snapshot(kms: LocalKMS, key_id: str, *, tokens: bool = True) -> tuple[Any, ...]:
    """Everything a failed call must leave alone (``tokens=False``: but the import tokens,
    for a check around a GetParametersForImport that succeeded)."""
    key = kms.keys[key_id]
    state = {k: (dict(v) if k == "tokens" else v) for k, v in key.import_state.items()}
    if not tokens:
        state.pop("tokens", None)
    return (
        kms.call("DescribeKey", KeyId=key_id)["KeyMetadata"],
        [(m.id, id(m), m.source, m.created) for m in key.materials],
        key.state,
        key.valid_to,
        key.expiration_model,
        key.rotation_enabled,
        key.rotation_period_days,
        key.next_rotation,
        key.on_demand_rotations,
        state,
        repr(key.import_state.get("record")),
        due(kms).get(key_id),
    )


@cache
def rsa_private(bits: int) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


# -- rotation --------------------------------------------------------------------------------


def due(kms: LocalKMS) -> dict[str, datetime]:
    """Key id -> when the clock next changes it by itself (rotation or expiry timers)."""
    return {k: when for (kind, k), when in kms.timers().items() if kind in ("rotate", "expire")}


def test_timers_registered() -> None:
    assert {"delete", "rotate", "expire"} <= set(TIMERS)


def test_enable_disable_and_status(kms: LocalKMS) -> None:
    key_id = new_key(kms)
    arn = kms.key_arn(key_id)
    assert kms.call("GetKeyRotationStatus", KeyId=key_id) == {
        "KeyRotationEnabled": False,
        "KeyId": arn,
    }
    assert due(kms) == {}  # nothing for the tick hook to look at
    assert kms.call("EnableKeyRotation", KeyId=arn) == {}  # a key ARN works too
    assert kms.call("GetKeyRotationStatus", KeyId=key_id) == {
        "KeyRotationEnabled": True,
        "KeyId": arn,
        "RotationPeriodInDays": 365,
        "NextRotationDate": START + 365 * DAY,
    }
    assert due(kms) == {key_id: START + 365 * DAY}
    assert kms.call("DisableKeyRotation", KeyId=key_id) == {}
    assert kms.call("GetKeyRotationStatus", KeyId=key_id)["KeyRotationEnabled"] is False
    assert "NextRotationDate" not in kms.call("GetKeyRotationStatus", KeyId=key_id)
    assert due(kms) == {}
    # Enabling again counts from the new enable date.
    kms.clock.advance(days=10)
    kms.call("EnableKeyRotation", KeyId=key_id, RotationPeriodInDays=90)
    status = kms.call("GetKeyRotationStatus", KeyId=key_id)
    assert status["NextRotationDate"] == START + 100 * DAY
    assert status["RotationPeriodInDays"] == 90


@pytest.mark.parametrize(("days", "ok"), [(89, False), (90, True), (2560, True), (2561, False)])
def test_rotation_period_bounds(
    shared: tuple[LocalKMS, Any], shared_raw_client: Any, days: int, ok: bool
) -> None:
    kms, client = shared[0], shared_raw_client
    key_id = new_key(kms)
    if ok:
        client.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=days)
        status = client.get_key_rotation_status(KeyId=key_id)
        assert status["RotationPeriodInDays"] == days
        assert status["NextRotationDate"] == START + days * DAY
    else:
        before = snapshot(kms, key_id)
        assert error_code(client.enable_key_rotation, KeyId=key_id, RotationPeriodInDays=days) == (
            "ValidationException"
        )
        assert error_code(
            kms.call, "EnableKeyRotation", KeyId=key_id, RotationPeriodInDays=days
        ) == ("ValidationException")
        assert snapshot(kms, key_id) == before


def test_changing_the_period_counts_from_the_last_rotation(kms: LocalKMS) -> None:
    key_id = new_key(kms)
    kms.call("EnableKeyRotation", KeyId=key_id, RotationPeriodInDays=365)
    kms.clock.advance(days=100)
    kms.call("EnableKeyRotation", KeyId=key_id, RotationPeriodInDays=180)
    assert kms.call("GetKeyRotationStatus", KeyId=key_id)["NextRotationDate"] == START + 180 * DAY
    # Without a period, EnableKeyRotation on an enabled key changes nothing.
    kms.call("EnableKeyRotation", KeyId=key_id)
    assert kms.call("GetKeyRotationStatus", KeyId=key_id)["RotationPeriodInDays"] == 180
    # A shorter period whose date has already passed rotates at once.
    kms.call("EnableKeyRotation", KeyId=key_id, RotationPeriodInDays=90)
    assert len(kms.call("ListKeyRotations", KeyId=key_id)["Rotations"]) == 1
    status = kms.call("GetKeyRotationStatus", KeyId=key_id)
    assert status["NextRotationDate"] == START + 190 * DAY


def _blob_material(blob: bytes) -> str:
    """The KeyMaterialId a ciphertext blob names (kmslab's documented blob format)."""
    return ciphertext.parse(blob).material_id


def test_old_ciphertexts_decrypt_after_three_years_of_rotation(kms: LocalKMS) -> None:
    client = kms.client()
    key_id = new_key(kms)
    # AWS's Encrypt response has no KeyMaterialId; the blob names the material, and
    # GenerateDataKey and Decrypt return it.
    first = client.encrypt(KeyId=key_id, Plaintext=b"year 0")["CiphertextBlob"]
    data_key = client.generate_data_key(KeyId=key_id, KeySpec="AES_256")
    client.enable_key_rotation(KeyId=key_id)
    kms.clock.advance(days=365 * 3)
    rotations = client.list_key_rotations(KeyId=key_id)["Rotations"]
    assert [r["RotationType"] for r in rotations] == ["AUTOMATIC"] * 3
    assert [r["RotationDate"] for r in rotations] == [START + 365 * k * DAY for k in (1, 2, 3)]
    assert {r["KeyId"] for r in rotations} == {key_id}
    assert [r["KeyMaterialState"] for r in rotations] == ["NON_CURRENT", "NON_CURRENT", "CURRENT"]
    status = client.get_key_rotation_status(KeyId=key_id)
    assert status["NextRotationDate"] == START + 4 * 365 * DAY
    ids = material_ids(kms, key_id)
    assert len(ids) == 4
    assert ids[0] == _blob_material(first) == data_key["KeyMaterialId"]
    assert [r["KeyMaterialId"] for r in rotations] == ids[1:]

    later = client.encrypt(KeyId=key_id, Plaintext=b"year 3")["CiphertextBlob"]
    assert _blob_material(later) == ids[-1]
    assert client.generate_data_key(KeyId=key_id, NumberOfBytes=16)["KeyMaterialId"] == ids[-1]
    assert client.describe_key(KeyId=key_id)["KeyMetadata"]["CurrentKeyMaterialId"] == ids[-1]
    for blob, text, material_id in ((first, b"year 0", ids[0]), (later, b"year 3", ids[-1])):
        out = client.decrypt(CiphertextBlob=blob)
        assert out["Plaintext"] == text
        assert out["KeyMaterialId"] == material_id
    old_key = client.decrypt(CiphertextBlob=data_key["CiphertextBlob"])
    assert old_key["Plaintext"] == data_key["Plaintext"]
    assert old_key["KeyMaterialId"] == ids[0]


def test_a_clock_jump_rotates_once_per_period(kms: LocalKMS) -> None:
    key_id = new_key(kms)
    kms.call("EnableKeyRotation", KeyId=key_id, RotationPeriodInDays=90)
    blobs = []
    for _ in range(3):
        blobs.append(kms.call("Encrypt", KeyId=key_id, Plaintext=b"x")["CiphertextBlob"])
        kms.clock.advance(days=200)
    rotations = kms.call("ListKeyRotations", KeyId=key_id)["Rotations"]
    assert [r["RotationDate"] for r in rotations] == [START + 90 * k * DAY for k in range(1, 7)]
    for blob in blobs:
        assert kms.call("Decrypt", CiphertextBlob=blob)["Plaintext"] == b"x"


def test_on_demand_rotation_and_its_limit(kms: LocalKMS) -> None:
    key_id = new_key(kms)
    kms.call("EnableKeyRotation", KeyId=key_id)
    blobs = [kms.call("Encrypt", KeyId=key_id, Plaintext=b"v0")["CiphertextBlob"]]
    for n in range(1, MAX_ON_DEMAND_ROTATIONS + 1):
        kms.clock.advance(hours=1)
        assert kms.call("RotateKeyOnDemand", KeyId=key_id) == {"KeyId": kms.key_arn(key_id)}
        blobs.append(
            kms.call("Encrypt", KeyId=key_id, Plaintext=f"v{n}".encode())["CiphertextBlob"]
        )
    status = kms.call("GetKeyRotationStatus", KeyId=key_id)
    # Each on-demand rotation has finished: AWS reports no OnDemandRotationStartDate then.
    assert "OnDemandRotationStartDate" not in status
    # On-demand rotations leave the automatic schedule alone.
    assert status["NextRotationDate"] == START + 365 * DAY
    before = snapshot(kms, key_id)
    assert error_code(kms.call, "RotateKeyOnDemand", KeyId=key_id) == "LimitExceededException"
    assert snapshot(kms, key_id) == before
    rotations = kms.call("ListKeyRotations", KeyId=key_id, Limit=1000)["Rotations"]
    assert [r["RotationType"] for r in rotations] == ["ON_DEMAND"] * MAX_ON_DEMAND_ROTATIONS
    for n, blob in enumerate(blobs):
        assert kms.call("Decrypt", CiphertextBlob=blob)["Plaintext"] == f"v{n}".encode()
    # The limit is on on-demand rotations only: automatic rotation carries on.
    kms.clock.advance(days=365)
    assert len(kms.call("ListKeyRotations", KeyId=key_id, Limit=1000)["Rotations"]) == 26


def test_list_key_rotations_pages(shared: tuple[LocalKMS, Any]) -> None:
    kms, client = shared
    key_id = new_key(kms)
    for _ in range(5):
        kms.call("RotateKeyOnDemand", KeyId=key_id)
    ids = material_ids(kms, key_id)
    first = kms.call("ListKeyRotations", KeyId=key_id, Limit=2)
    assert first["Truncated"] is True and len(first["Rotations"]) == 2
    second = kms.call("ListKeyRotations", KeyId=key_id, Limit=2, Marker=first["NextMarker"])
    third = kms.call("ListKeyRotations", KeyId=key_id, Limit=2, Marker=second["NextMarker"])
    assert third["Truncated"] is False and "NextMarker" not in third
    paged = [r["KeyMaterialId"] for page in (first, second, third) for r in page["Rotations"]]
    assert paged == ids[1:]  # the original material is not a rotation
    # botocore's own paginator walks the same pages.
    pages = client.get_paginator("list_key_rotations").paginate(
        KeyId=key_id, PaginationConfig={"PageSize": 2}
    )
    assert [r["KeyMaterialId"] for p in pages for r in p["Rotations"]] == ids[1:]
    assert error_code(kms.call, "ListKeyRotations", KeyId=key_id, Marker="x") == (
        "InvalidMarkerException"
    )
    every = kms.call("ListKeyRotations", KeyId=key_id, IncludeKeyMaterial="ALL_KEY_MATERIAL")
    entries = every["Rotations"]
    assert [e["KeyMaterialId"] for e in entries] == ids
    assert "RotationDate" not in entries[0] and "RotationType" not in entries[0]
    assert [e["KeyMaterialState"] for e in entries] == ["NON_CURRENT"] * 5 + ["CURRENT"]


@pytest.mark.parametrize(
    ("spec", "usage"),
    [
        ("HMAC_256", "GENERATE_VERIFY_MAC"),
        ("RSA_2048", "ENCRYPT_DECRYPT"),
        ("ECC_NIST_P256", "SIGN_VERIFY"),
        ("ECC_NIST_P384", "KEY_AGREEMENT"),
        ("ML_KEM_768", "ENCAPSULATE_DECAPSULATE"),
    ],
)
def test_rotation_refused_for_other_key_types(kms: LocalKMS, spec: str, usage: str) -> None:
    key_id = new_key(kms, KeySpec=spec, KeyUsage=usage)
    before = snapshot(kms, key_id)
    for op in ("EnableKeyRotation", "DisableKeyRotation", "RotateKeyOnDemand", "ListKeyRotations"):
        assert error_code(kms.call, op, KeyId=key_id) == "UnsupportedOperationException", op
    assert kms.call("GetKeyRotationStatus", KeyId=key_id)["KeyRotationEnabled"] is False
    assert snapshot(kms, key_id) == before


def test_automatic_rotation_refused_for_imported_key_material(kms: LocalKMS) -> None:
    key_id = new_key(kms, Origin="EXTERNAL")
    ops = ("EnableKeyRotation", "DisableKeyRotation")
    for op in ops:  # PendingImport
        assert error_code(kms.call, op, KeyId=key_id) == "UnsupportedOperationException"
    # On-demand rotation is possible for imported material, but not without any (observed:
    # see the fidelity ledger).
    assert error_code(kms.call, "RotateKeyOnDemand", KeyId=key_id) == "KMSInvalidStateException"
    import_material(kms.call, key_id, os.urandom(32))
    for op in ops:  # Enabled, but Origin EXTERNAL
        try:
            kms.call(op, KeyId=key_id)
        except KMSError as err:
            assert err.code == "UnsupportedOperationException"
            assert "origin is EXTERNAL" in err.message
        else:
            pytest.fail(op)
    assert kms.call("GetKeyRotationStatus", KeyId=key_id)["KeyRotationEnabled"] is False
    # ListKeyRotations is allowed: an imported key's first material is not a rotation.
    assert kms.call("ListKeyRotations", KeyId=key_id)["Rotations"] == []


def test_rotation_and_key_states(kms: LocalKMS) -> None:
    key_id = new_key(kms)
    kms.call("EnableKeyRotation", KeyId=key_id)
    kms.call("DisableKey", KeyId=key_id)
    before = snapshot(kms, key_id)
    for op in ("EnableKeyRotation", "DisableKeyRotation", "RotateKeyOnDemand"):
        assert error_code(kms.call, op, KeyId=key_id) == "DisabledException"
    assert snapshot(kms, key_id) == before
    assert kms.call("GetKeyRotationStatus", KeyId=key_id)["KeyRotationEnabled"] is True
    kms.call("ScheduleKeyDeletion", KeyId=key_id, PendingWindowInDays=7)
    for op in ("EnableKeyRotation", "DisableKeyRotation", "RotateKeyOnDemand"):
        assert error_code(kms.call, op, KeyId=key_id) == "KMSInvalidStateException"
    # AWS reports rotation off while a key is pending deletion, and on again after cancelling.
    assert kms.call("GetKeyRotationStatus", KeyId=key_id) == {
        "KeyRotationEnabled": False,
        "KeyId": kms.key_arn(key_id),
    }
    kms.call("CancelKeyDeletion", KeyId=key_id)
    assert kms.call("GetKeyRotationStatus", KeyId=key_id)["KeyRotationEnabled"] is True


def test_a_disabled_key_is_not_rotated_then_rotates_once_when_enabled(kms: LocalKMS) -> None:
    key_id = new_key(kms)
    kms.call("EnableKeyRotation", KeyId=key_id)
    kms.call("DisableKey", KeyId=key_id)
    kms.clock.advance(days=365 * 3)
    assert kms.call("ListKeyRotations", KeyId=key_id)["Rotations"] == []
    kms.call("EnableKey", KeyId=key_id)
    enabled_at = START + 365 * 3 * DAY
    rotations = kms.call("ListKeyRotations", KeyId=key_id)["Rotations"]
    assert [(r["RotationType"], r["RotationDate"]) for r in rotations] == [
        ("AUTOMATIC", enabled_at)
    ]
    status = kms.call("GetKeyRotationStatus", KeyId=key_id)
    assert status["NextRotationDate"] == enabled_at + 365 * DAY


def test_a_deleted_key_leaves_the_schedule(kms: LocalKMS) -> None:
    key_id = new_key(kms)
    kms.call("EnableKeyRotation", KeyId=key_id)
    kms.call("ScheduleKeyDeletion", KeyId=key_id, PendingWindowInDays=7)
    kms.clock.advance(days=400)
    assert kms.call("ListKeys")["Keys"] == []
    assert due(kms) == {}


# -- imported key material: the happy paths ---------------------------------------------------


@pytest.mark.parametrize(
    ("wrapping_spec", "algorithm"),
    [
        ("RSA_2048", "RSAES_OAEP_SHA_1"),
        ("RSA_2048", "RSAES_OAEP_SHA_256"),
        ("RSA_2048", "RSA_AES_KEY_WRAP_SHA_1"),
        ("RSA_2048", "RSA_AES_KEY_WRAP_SHA_256"),
        ("RSA_3072", "RSAES_OAEP_SHA_256"),
        ("RSA_4096", "RSA_AES_KEY_WRAP_SHA_256"),
    ],
)
def test_import_symmetric_key_through_boto3(
    shared: tuple[LocalKMS, Any], wrapping_spec: str, algorithm: str
) -> None:
    kms, client = shared
    key_id = client.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    meta = client.describe_key(KeyId=key_id)["KeyMetadata"]
    assert meta["KeyState"] == "PendingImport" and meta["Origin"] == "EXTERNAL"
    assert "CurrentKeyMaterialId" not in meta and "ExpirationModel" not in meta
    params = client.get_parameters_for_import(
        KeyId=key_id, WrappingAlgorithm=algorithm, WrappingKeySpec=wrapping_spec
    )
    assert params["KeyId"] == kms.key_arn(key_id)
    assert params["ParametersValidTo"] == START + timedelta(hours=24)
    public = serialization.load_der_public_key(params["PublicKey"])
    assert isinstance(public, rsa.RSAPublicKey)
    assert public.key_size == specs.get(wrapping_spec).key_bits
    material = os.urandom(32)
    valid_to = START + 30 * DAY
    out = client.import_key_material(
        KeyId=key_id,
        ImportToken=params["ImportToken"],
        EncryptedKeyMaterial=wrap(params["PublicKey"], algorithm, material),
        ExpirationModel="KEY_MATERIAL_EXPIRES",
        ValidTo=valid_to,
    )
    assert out["KeyId"] == kms.key_arn(key_id)
    meta = client.describe_key(KeyId=key_id)["KeyMetadata"]
    assert meta["KeyState"] == "Enabled" and meta["Enabled"] is True
    assert meta["ExpirationModel"] == "KEY_MATERIAL_EXPIRES"
    assert meta["ValidTo"] == valid_to
    assert meta["CurrentKeyMaterialId"] == out["KeyMaterialId"]
    made = client.encrypt(KeyId=key_id, Plaintext=b"bring your own key")
    opened = client.decrypt(CiphertextBlob=made["CiphertextBlob"])
    assert opened["Plaintext"] == b"bring your own key"
    assert opened["KeyMaterialId"] == out["KeyMaterialId"]
    # The material really is ours: the blob opens with AES-256-GCM under it (documented
    # format, see kmslab.kms.ciphertext).
    blob = ciphertext.parse(made["CiphertextBlob"])
    assert AESGCM(material).decrypt(blob.nonce, blob.sealed, blob.aad(None)) == (
        b"bring your own key"
    )


@pytest.mark.parametrize("bits", [224, 256, 384, 512])
def test_imported_hmac_key_matches_cryptography(kms: LocalKMS, bits: int) -> None:
    info = specs.get(f"HMAC_{bits}")
    assert info.key_bytes is not None
    key_id = new_key(kms, KeySpec=info.name, KeyUsage="GENERATE_VERIFY_MAC", Origin="EXTERNAL")
    material = os.urandom(info.key_bytes)
    import_material(kms.call, key_id, material, "RSAES_OAEP_SHA_1")
    message = b"a message to authenticate"
    tag = kms.call("GenerateMac", KeyId=key_id, Message=message, MacAlgorithm=f"HMAC_SHA_{bits}")
    ours = hmac.HMAC(material, getattr(hashes, f"SHA{bits}")())
    ours.update(message)
    assert tag["Mac"] == ours.finalize()
    assert "CurrentKeyMaterialId" not in kms.call("DescribeKey", KeyId=key_id)["KeyMetadata"]


ASYMMETRIC_CASES = [
    ("RSA_2048", "SIGN_VERIFY", lambda: rsa_private(2048), "RSA_AES_KEY_WRAP_SHA_256"),
    ("RSA_3072", "ENCRYPT_DECRYPT", lambda: rsa_private(3072), "RSA_AES_KEY_WRAP_SHA_1"),
    ("ECC_NIST_P256", "SIGN_VERIFY", lambda: ec.generate_private_key(ec.SECP256R1()), None),
    ("ECC_NIST_P384", "KEY_AGREEMENT", lambda: ec.generate_private_key(ec.SECP384R1()), None),
    (
        "ECC_NIST_P521",
        "SIGN_VERIFY",
        lambda: ec.generate_private_key(ec.SECP521R1()),
        "RSA_AES_KEY_WRAP_SHA_256",  # too long for RSAES_OAEP under RSA_2048, as AWS says
    ),
    ("ECC_SECG_P256K1", "SIGN_VERIFY", lambda: ec.generate_private_key(ec.SECP256K1()), None),
    ("ECC_NIST_EDWARDS25519", "SIGN_VERIFY", ed25519.Ed25519PrivateKey.generate, None),
    ("ML_DSA_44", "SIGN_VERIFY", mldsa.MLDSA44PrivateKey.generate, None),
    ("ML_DSA_65", "SIGN_VERIFY", mldsa.MLDSA65PrivateKey.generate, None),
    ("ML_DSA_87", "SIGN_VERIFY", mldsa.MLDSA87PrivateKey.generate, None),
]


@pytest.mark.parametrize(
    ("spec", "usage", "make", "algorithm"), ASYMMETRIC_CASES, ids=[c[0] for c in ASYMMETRIC_CASES]
)
def test_imported_asymmetric_key_public_key_matches(
    kms: LocalKMS, spec: str, usage: str, make: Callable[[], Any], algorithm: str | None
) -> None:
    private = make()
    key_id = new_key(kms, KeySpec=spec, KeyUsage=usage, Origin="EXTERNAL")
    out = import_material(kms.call, key_id, pkcs8(private), algorithm or "RSAES_OAEP_SHA_256")
    assert len(out["KeyMaterialId"]) == 64
    got = kms.call("GetPublicKey", KeyId=key_id)
    assert got["PublicKey"] == private.public_key().public_bytes(*SPKI)
    assert kms.call("DescribeKey", KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
    if usage == "SIGN_VERIFY":  # KMS signs with the imported key: cryptography verifies
        alg = specs.get(spec).usage(usage).algorithms[0]  # type: ignore[union-attr]
        sig = kms.call("Sign", KeyId=key_id, Message=b"m", SigningAlgorithm=alg.name)["Signature"]
        pub = private.public_key()
        if isinstance(pub, rsa.RSAPublicKey):
            h = getattr(hashes, alg.hash)()
            pad = (
                padding.PSS(mgf=padding.MGF1(h), salt_length=padding.PSS.DIGEST_LENGTH)
                if alg.padding == "PSS"
                else padding.PKCS1v15()
            )
            pub.verify(sig, b"m", pad, h)
        elif isinstance(pub, ec.EllipticCurvePublicKey):
            pub.verify(sig, b"m", ec.ECDSA(getattr(hashes, alg.hash)()))
        else:
            pub.verify(sig, b"m")
    if usage == "ENCRYPT_DECRYPT":  # cryptography encrypts: KMS decrypts with the imported key
        oaep = padding.OAEP(
            mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None
        )
        blob = private.public_key().encrypt(b"secret", oaep)
        out = kms.call(
            "Decrypt", KeyId=key_id, CiphertextBlob=blob, EncryptionAlgorithm="RSAES_OAEP_SHA_256"
        )
        assert out["Plaintext"] == b"secret"


def test_imported_key_agreement_matches_cryptography(kms: LocalKMS) -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    peer = ec.generate_private_key(ec.SECP256R1())
    key_id = new_key(kms, KeySpec="ECC_NIST_P256", KeyUsage="KEY_AGREEMENT", Origin="EXTERNAL")
    import_material(kms.call, key_id, pkcs8(private))
    out = kms.call(
        "DeriveSharedSecret",
        KeyId=key_id,
        KeyAgreementAlgorithm="ECDH",
        PublicKey=peer.public_key().public_bytes(*SPKI),
    )
    assert out["SharedSecret"] == peer.exchange(ec.ECDH(), private.public_key())
    assert out["KeyOrigin"] == "EXTERNAL"


# -- imported key material: deletion, re-import and expiry ---------------------------------------


def test_delete_and_reimport_the_same_material(kms: LocalKMS) -> None:
    key_id = new_key(kms, Origin="EXTERNAL")
    material = os.urandom(32)
    first = import_material(kms.call, key_id, material, KeyMaterialDescription="batch 1")
    blob = kms.call("Encrypt", KeyId=key_id, Plaintext=b"kept")["CiphertextBlob"]
    out = kms.call("DeleteImportedKeyMaterial", KeyId=key_id)
    assert out == {"KeyId": kms.key_arn(key_id), "KeyMaterialId": first["KeyMaterialId"]}
    meta = kms.call("DescribeKey", KeyId=key_id)["KeyMetadata"]
    assert meta["KeyState"] == "PendingImport"
    # The material is still the key's current material, waiting to be imported again.
    assert meta["CurrentKeyMaterialId"] == first["KeyMaterialId"] and "ValidTo" not in meta
    assert [m.imported for m in kms.keys[key_id].materials] == [False]
    assert error_code(kms.call, "Decrypt", CiphertextBlob=blob) == "KMSInvalidStateException"
    pending = kms.call("ListKeyRotations", KeyId=key_id, IncludeKeyMaterial="ALL_KEY_MATERIAL")
    assert pending["Rotations"] == [
        {
            "KeyId": key_id,
            "KeyMaterialId": first["KeyMaterialId"],
            "KeyMaterialState": "CURRENT",
            "ImportState": "PENDING_IMPORT",
            "KeyMaterialDescription": "batch 1",
        }
    ]
    # Deleting again is harmless.
    assert (
        kms.call("DeleteImportedKeyMaterial", KeyId=key_id)["KeyMaterialId"]
        == (first["KeyMaterialId"])
    )
    # Other material is refused, even now that the key has none.
    before = snapshot(kms, key_id, tokens=False)
    assert error_code(import_material, kms.call, key_id, os.urandom(32)) == (
        "IncorrectKeyMaterialException"
    )
    assert snapshot(kms, key_id, tokens=False) == before
    # The same material comes back with the same KeyMaterialId: the old ciphertext decrypts.
    again = import_material(kms.call, key_id, material, "RSA_AES_KEY_WRAP_SHA_1", "RSA_3072")
    assert again["KeyMaterialId"] == first["KeyMaterialId"]
    assert kms.call("Decrypt", CiphertextBlob=blob)["Plaintext"] == b"kept"
    listed = kms.call("ListKeyRotations", KeyId=key_id, IncludeKeyMaterial="ALL_KEY_MATERIAL")
    assert listed["Rotations"] == [
        {
            "KeyId": key_id,
            "KeyMaterialId": first["KeyMaterialId"],
            "KeyMaterialState": "CURRENT",
            "ImportState": "IMPORTED",
            "ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE",
            "KeyMaterialDescription": "batch 1",
        }
    ]


def test_reimport_while_present_changes_only_the_expiry(kms: LocalKMS) -> None:
    key_id = new_key(kms, Origin="EXTERNAL")
    material = os.urandom(32)
    first = import_material(kms.call, key_id, material, ValidTo=START + 10 * DAY)
    kept = kms.keys[key_id].current
    kms.call("DisableKey", KeyId=key_id)
    again = import_material(
        kms.call, key_id, material, ImportType="EXISTING_KEY_MATERIAL",
        KeyMaterialId=first["KeyMaterialId"],
    )  # fmt: skip
    assert again["KeyMaterialId"] == first["KeyMaterialId"]
    assert kms.keys[key_id].current is kept
    meta = kms.call("DescribeKey", KeyId=key_id)["KeyMetadata"]
    assert meta["KeyState"] == "Disabled"  # re-import does not enable a disabled key
    assert meta["ExpirationModel"] == "KEY_MATERIAL_DOES_NOT_EXPIRE" and "ValidTo" not in meta
    assert due(kms) == {}


def test_imported_asymmetric_key_delete_and_reimport(kms: LocalKMS) -> None:
    private = ec.generate_private_key(ec.SECP384R1())
    other = ec.generate_private_key(ec.SECP384R1())
    key_id = new_key(kms, KeySpec="ECC_NIST_P384", KeyUsage="SIGN_VERIFY", Origin="EXTERNAL")
    import_material(kms.call, key_id, pkcs8(private))
    assert error_code(import_material, kms.call, key_id, pkcs8(other)) == (
        "IncorrectKeyMaterialException"
    )
    kms.call("DeleteImportedKeyMaterial", KeyId=key_id)
    assert error_code(kms.call, "GetPublicKey", KeyId=key_id) == "KMSInvalidStateException"
    assert error_code(import_material, kms.call, key_id, pkcs8(other)) == (
        "IncorrectKeyMaterialException"
    )
    import_material(kms.call, key_id, pkcs8(private), "RSA_AES_KEY_WRAP_SHA_1")
    got = kms.call("GetPublicKey", KeyId=key_id)["PublicKey"]
    assert got == private.public_key().public_bytes(*SPKI)


def test_material_expires_on_the_clock(kms: LocalKMS) -> None:
    client = kms.client()
    key_id = new_key(kms, Origin="EXTERNAL")
    material = os.urandom(32)
    valid_to = START + 10 * DAY
    import_material(kms.call, key_id, material, ValidTo=valid_to)
    assert due(kms) == {key_id: valid_to}
    blob = client.encrypt(KeyId=key_id, Plaintext=b"before expiry")["CiphertextBlob"]
    kms.clock.advance(days=9)
    assert client.describe_key(KeyId=key_id)["KeyMetadata"]["ValidTo"] == valid_to
    kms.clock.advance(days=1)  # ValidTo reached
    meta = client.describe_key(KeyId=key_id)["KeyMetadata"]
    assert meta["KeyState"] == "PendingImport"
    assert "ValidTo" not in meta and "ExpirationModel" not in meta
    assert due(kms) == {}
    assert error_code(client.encrypt, KeyId=key_id, Plaintext=b"x") == "KMSInvalidStateException"
    import_material(kms.call, key_id, material, ValidTo=START + 100 * DAY)
    assert client.decrypt(CiphertextBlob=blob)["Plaintext"] == b"before expiry"


def test_a_naive_valid_to_is_utc(kms: LocalKMS) -> None:
    key_id = new_key(kms, Origin="EXTERNAL")
    naive = (START + 5 * DAY).replace(tzinfo=None)
    import_material(kms.call, key_id, os.urandom(32), ValidTo=naive)
    assert kms.call("DescribeKey", KeyId=key_id)["KeyMetadata"]["ValidTo"] == START + 5 * DAY


def test_expiry_of_a_key_pending_deletion_keeps_its_state(kms: LocalKMS) -> None:
    key_id = new_key(kms, Origin="EXTERNAL")
    import_material(kms.call, key_id, os.urandom(32), ValidTo=START + 2 * DAY)
    kms.call("ScheduleKeyDeletion", KeyId=key_id, PendingWindowInDays=7)
    kms.clock.advance(days=3)
    meta = kms.call("DescribeKey", KeyId=key_id)["KeyMetadata"]
    assert meta["KeyState"] == "PendingDeletion"
    assert [m.imported for m in kms.keys[key_id].materials] == [False]


# -- imported key material: errors, which leave the key as it was --------------------------------


def _prepared(kms: LocalKMS, spec: str = "SYMMETRIC_DEFAULT", **create: Any) -> dict[str, Any]:
    """A key with material already imported, and fresh import parameters for it."""
    info = specs.get(spec)
    material = os.urandom(info.key_bytes or 32)
    usage = info.default_usage or info.usage_names[0]
    key_id = new_key(kms, KeySpec=spec, KeyUsage=usage, Origin="EXTERNAL", **create)
    import_material(kms.call, key_id, material, ValidTo=START + 30 * DAY)
    params = kms.call(
        "GetParametersForImport",
        KeyId=key_id,
        WrappingAlgorithm="RSAES_OAEP_SHA_256",
        WrappingKeySpec="RSA_2048",
    )
    return {"key_id": key_id, "material": material, **params}


def _request(p: dict[str, Any], **changes: Any) -> dict[str, Any]:
    request = {
        "KeyId": p["key_id"],
        "ImportToken": p["ImportToken"],
        "EncryptedKeyMaterial": wrap(p["PublicKey"], "RSAES_OAEP_SHA_256", p["material"]),
        "ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE",
    }
    request.update(changes)
    return {k: v for k, v in request.items() if v is not None}


def _other_wrapping_key(kms: LocalKMS, p: dict[str, Any]) -> bytes:
    other = kms.call(
        "GetParametersForImport",
        KeyId=p["key_id"],
        WrappingAlgorithm="RSAES_OAEP_SHA_256",
        WrappingKeySpec="RSA_2048",
    )
    return wrap(other["PublicKey"], "RSAES_OAEP_SHA_256", p["material"])


def _key_wrapped(p: dict[str, Any], tamper: Callable[[bytes], bytes]) -> bytes:
    """Material wrapped with RSA_AES_KEY_WRAP_SHA_256, sent under an RSAES_OAEP_SHA_256 token."""
    return tamper(wrap(p["PublicKey"], "RSA_AES_KEY_WRAP_SHA_256", p["material"]))


def _flip(b: bytes) -> bytes:
    middle = len(b) // 2
    return b[:middle] + bytes([b[middle] ^ 0x10]) + b[middle + 1 :]


IMPORT_ERRORS: dict[str, tuple[str, Callable[[LocalKMS, dict[str, Any]], dict[str, Any]]]] = {
    "random token": (
        "InvalidImportTokenException",
        lambda kms, p: _request(p, ImportToken=os.urandom(64)),
    ),
    "another key's token": (
        "InvalidImportTokenException",
        lambda kms, p: _request(p, ImportToken=_prepared(kms)["ImportToken"]),
    ),
    "truncated": (
        "InvalidCiphertextException",
        lambda kms, p: _request(p, EncryptedKeyMaterial=_request(p)["EncryptedKeyMaterial"][:-1]),
    ),
    "padded": (
        "InvalidCiphertextException",
        lambda kms, p: _request(
            p, EncryptedKeyMaterial=_request(p)["EncryptedKeyMaterial"] + b"\0"
        ),
    ),
    "bit flipped": (
        "InvalidCiphertextException",
        lambda kms, p: _request(p, EncryptedKeyMaterial=_flip(_request(p)["EncryptedKeyMaterial"])),
    ),
    "AES key wrap with a flipped bit": (
        "InvalidCiphertextException",
        lambda kms, p: _request(p, EncryptedKeyMaterial=_key_wrapped(p, _flip)),
    ),
    "wrapped under another wrapping key": (
        "InvalidCiphertextException",
        lambda kms, p: _request(p, EncryptedKeyMaterial=_other_wrapping_key(kms, p)),
    ),
    "AES key wrap sent as RSAES_OAEP": (
        "InvalidCiphertextException",
        lambda kms, p: _request(p, EncryptedKeyMaterial=_key_wrapped(p, lambda b: b)),
    ),
    "material 31 bytes": (
        "IncorrectKeyMaterialException",
        lambda kms, p: _request(
            p, EncryptedKeyMaterial=wrap(p["PublicKey"], "RSAES_OAEP_SHA_256", p["material"][:31])
        ),
    ),
    "material 33 bytes": (
        "IncorrectKeyMaterialException",
        lambda kms, p: _request(
            p, EncryptedKeyMaterial=wrap(p["PublicKey"], "RSAES_OAEP_SHA_256", p["material"] + b"!")
        ),
    ),
    "different material": (
        "IncorrectKeyMaterialException",
        lambda kms, p: _request(
            p, EncryptedKeyMaterial=wrap(p["PublicKey"], "RSAES_OAEP_SHA_256", os.urandom(32))
        ),
    ),
    "EXPIRES without ValidTo": (
        "ValidationException",
        lambda kms, p: _request(p, ExpirationModel="KEY_MATERIAL_EXPIRES"),
    ),
    "default model without ValidTo": (
        "ValidationException",
        lambda kms, p: _request(p, ExpirationModel=None),
    ),
    "DOES_NOT_EXPIRE with ValidTo": (
        "ValidationException",
        lambda kms, p: _request(p, ValidTo=START + DAY),
    ),
    "ValidTo in the past": (
        "ValidationException",
        lambda kms, p: _request(p, ExpirationModel=None, ValidTo=START - DAY),
    ),
    "ValidTo beyond 365 days": (
        "ValidationException",
        lambda kms, p: _request(p, ExpirationModel=None, ValidTo=START + 366 * DAY),
    ),
    "NEW_KEY_MATERIAL with a KeyMaterialId": (
        "ValidationException",
        lambda kms, p: _request(p, ImportType="NEW_KEY_MATERIAL", KeyMaterialId="ab" * 32),
    ),
    "NEW_KEY_MATERIAL that is already the key's": (
        "IncorrectKeyMaterialException",
        lambda kms, p: _request(p, ImportType="NEW_KEY_MATERIAL"),
    ),
    "wrong KeyMaterialId": (
        "IncorrectKeyMaterialException",
        lambda kms, p: _request(p, KeyMaterialId="ab" * 32),
    ),
    "AWS_KMS key": (
        "UnsupportedOperationException",
        lambda kms, p: _request(p, KeyId=new_key(kms)),
    ),
}


@pytest.fixture(scope="module")
def shared_prepared(shared: tuple[LocalKMS, Any]) -> dict[str, Any]:
    """One key with imported material for the error cases: none of them may change it."""
    return _prepared(shared[0])


@pytest.mark.parametrize("case", sorted(IMPORT_ERRORS))
def test_failed_import_leaves_the_key_as_it_was(
    shared: tuple[LocalKMS, Any], shared_prepared: dict[str, Any], case: str
) -> None:
    code, build = IMPORT_ERRORS[case]
    kms, p = shared[0], shared_prepared
    request = build(kms, p)
    key_id = request["KeyId"]
    before = snapshot(kms, key_id)
    assert error_code(kms.call, "ImportKeyMaterial", **request) == code
    assert snapshot(kms, key_id) == before


@pytest.mark.parametrize(
    "case", ["truncated", "wrapped under another wrapping key", "random token"]
)
def test_failed_import_through_boto3(
    shared: tuple[LocalKMS, Any], shared_prepared: dict[str, Any], case: str
) -> None:
    code, build = IMPORT_ERRORS[case]
    (kms, client), p = shared, shared_prepared
    request = build(kms, p)
    before = snapshot(kms, p["key_id"])
    assert error_code(client.import_key_material, **request) == code
    assert snapshot(kms, p["key_id"]) == before


def test_expired_import_token(kms: LocalKMS) -> None:
    p = _prepared(kms)
    kms.clock.advance(hours=23)
    assert kms.call("ImportKeyMaterial", **_request(p))["KeyId"] == kms.key_arn(p["key_id"])
    kms.clock.advance(hours=1)  # ParametersValidTo reached
    before = snapshot(kms, p["key_id"], tokens=False)
    assert error_code(kms.call, "ImportKeyMaterial", **_request(p)) == (
        "ExpiredImportTokenException"
    )
    # Still expired after a new GetParametersForImport drops the old wrapping key.
    fresh = kms.call(
        "GetParametersForImport",
        KeyId=p["key_id"],
        WrappingAlgorithm="RSAES_OAEP_SHA_1",
        WrappingKeySpec="RSA_2048",
    )
    assert error_code(kms.call, "ImportKeyMaterial", **_request(p)) == (
        "ExpiredImportTokenException"
    )
    assert snapshot(kms, p["key_id"], tokens=False) == before
    request = _request(
        p,
        ImportToken=fresh["ImportToken"],
        EncryptedKeyMaterial=wrap(fresh["PublicKey"], "RSAES_OAEP_SHA_1", p["material"]),
    )
    assert kms.call("ImportKeyMaterial", **request)["KeyId"] == kms.key_arn(p["key_id"])


def test_import_options_only_for_symmetric_encryption_keys(kms: LocalKMS) -> None:
    p = _prepared(kms, "HMAC_384")
    for option in (
        {"ImportType": "EXISTING_KEY_MATERIAL"},
        {"KeyMaterialDescription": "mine"},
        {"KeyMaterialId": "ab" * 32},
    ):
        before = snapshot(kms, p["key_id"])
        assert error_code(kms.call, "ImportKeyMaterial", **_request(p, **option)) == (
            "ValidationException"
        )
        assert snapshot(kms, p["key_id"]) == before
    assert kms.call("ImportKeyMaterial", **_request(p))["KeyId"] == kms.key_arn(p["key_id"])


def test_existing_key_material_on_a_first_import(kms: LocalKMS) -> None:
    key_id = new_key(kms, Origin="EXTERNAL")
    before = snapshot(kms, key_id, tokens=False)
    assert error_code(
        import_material, kms.call, key_id, os.urandom(32), ImportType="EXISTING_KEY_MATERIAL"
    ) == ("IncorrectKeyMaterialException")
    assert snapshot(kms, key_id, tokens=False) == before


@pytest.mark.parametrize(
    ("spec", "usage", "material"),
    [
        ("HMAC_256", "GENERATE_VERIFY_MAC", lambda: os.urandom(31)),
        ("HMAC_512", "GENERATE_VERIFY_MAC", lambda: os.urandom(32)),
        ("RSA_2048", "SIGN_VERIFY", lambda: pkcs8(rsa_private(3072))),
        ("ECC_NIST_P256", "SIGN_VERIFY", lambda: pkcs8(ec.generate_private_key(ec.SECP384R1()))),
        ("ECC_NIST_P256", "SIGN_VERIFY", lambda: pkcs8(ed25519.Ed25519PrivateKey.generate())),
        (
            "ECC_NIST_P256",  # SEC 1 (not PKCS #8), which AWS refuses
            "SIGN_VERIFY",
            lambda: ec.generate_private_key(ec.SECP256R1()).private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            ),
        ),
        (
            "RSA_2048",  # PKCS #1 (not PKCS #8)
            "SIGN_VERIFY",
            lambda: rsa_private(2048).private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            ),
        ),
        ("ML_DSA_65", "SIGN_VERIFY", lambda: pkcs8(mldsa.MLDSA44PrivateKey.generate())),
        ("ECC_NIST_EDWARDS25519", "SIGN_VERIFY", lambda: os.urandom(48)),
        ("ML_KEM_768", "ENCAPSULATE_DECAPSULATE", lambda: b"\x30\x03\x02\x01\x00"),
    ],
    ids=[
        "hmac-short",
        "hmac-wrong-size",
        "rsa-size",
        "ec-curve",
        "ec-ed25519",
        "ec-sec1",
        "rsa-pkcs1",
        "mldsa-level",
        "garbage",
        "truncated-der",
    ],
)
def test_material_that_does_not_fit_the_key_spec(
    kms: LocalKMS, spec: str, usage: str, material: Callable[[], bytes]
) -> None:
    key_id = new_key(kms, KeySpec=spec, KeyUsage=usage, Origin="EXTERNAL")
    before = snapshot(kms, key_id, tokens=False)
    code = error_code(import_material, kms.call, key_id, material(), "RSA_AES_KEY_WRAP_SHA_256")
    assert code == "IncorrectKeyMaterialException"
    assert snapshot(kms, key_id, tokens=False) == before
    assert kms.call("DescribeKey", KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingImport"


def test_get_parameters_for_import_errors(kms: LocalKMS) -> None:
    key_id = new_key(kms, Origin="EXTERNAL")
    call = kms.call

    def params(**p: Any) -> Any:
        return call("GetParametersForImport", **{"KeyId": key_id, **p})

    assert error_code(params, WrappingAlgorithm="RSAES_PKCS1_V1_5", WrappingKeySpec="RSA_2048") == (
        "ValidationException"
    )
    assert error_code(params, WrappingAlgorithm="SM2PKE", WrappingKeySpec="SM2") == (
        "UnsupportedOperationException"
    )
    assert error_code(params, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="SM2") == (
        "UnsupportedOperationException"
    )
    assert error_code(
        params, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_1024"
    ) == ("ValidationException")
    assert kms.keys[key_id].import_state == {}
    aws_kms = new_key(kms)
    assert error_code(
        params, KeyId=aws_kms, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048"
    ) == ("UnsupportedOperationException")
    assert error_code(params, WrappingAlgorithm="SM2PKE", WrappingKeySpec="RSA_2048") == (
        "ValidationException"
    )
    call("ScheduleKeyDeletion", KeyId=key_id, PendingWindowInDays=7)
    assert error_code(
        params, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048"
    ) == ("KMSInvalidStateException")
    assert error_code(call, "GetParametersForImport", KeyId="alias/nope",
                      WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048") == (
        "NotFoundException"
    )  # fmt: skip


def test_delete_imported_key_material_errors(kms: LocalKMS) -> None:
    p = _prepared(kms)
    before = snapshot(kms, p["key_id"])
    assert error_code(
        kms.call, "DeleteImportedKeyMaterial", KeyId=p["key_id"], KeyMaterialId="cd" * 32
    ) == ("NotFoundException")
    assert snapshot(kms, p["key_id"]) == before
    assert error_code(kms.call, "DeleteImportedKeyMaterial", KeyId=new_key(kms)) == (
        "UnsupportedOperationException"
    )
    current = kms.call("DescribeKey", KeyId=p["key_id"])["KeyMetadata"]["CurrentKeyMaterialId"]
    out = kms.call("DeleteImportedKeyMaterial", KeyId=p["key_id"], KeyMaterialId=current)
    assert out["KeyMaterialId"] == current
    never = new_key(kms, Origin="EXTERNAL")
    assert kms.call("DeleteImportedKeyMaterial", KeyId=never) == {"KeyId": kms.key_arn(never)}


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(blob=st.binary(min_size=1, max_size=600), token=st.booleans())
def test_any_bytes_get_an_aws_error_never_a_traceback(
    shared: tuple[LocalKMS, Any], shared_prepared: dict[str, Any], blob: bytes, token: bool
) -> None:
    kms, p = shared[0], shared_prepared
    request = _request(
        p, EncryptedKeyMaterial=blob, ImportToken=p["ImportToken"] if token else os.urandom(8)
    )
    code = error_code(kms.call, "ImportKeyMaterial", **request)
    assert code in {"InvalidCiphertextException", "InvalidImportTokenException"}
    assert kms.keys[p["key_id"]].state == "Enabled"


def test_no_material_in_reprs_or_messages(kms: LocalKMS) -> None:
    p = _prepared(kms)
    key = kms.keys[p["key_id"]]
    fingerprint = key.materials[0].fingerprint
    assert fingerprint is not None
    shown = repr(key) + repr(key.import_state) + repr(key.materials)
    for secret in (p["material"], fingerprint):
        assert secret.hex() not in shown and repr(secret) not in shown
    try:
        kms.call("ImportKeyMaterial", **_request(p, KeyMaterialId="ab" * 32))
    except KMSError as err:
        assert p["material"].hex() not in err.message
