"""Rotation of imported key material (AWS since 2025): new material for a symmetric EXTERNAL
key, its states and ids in DescribeKey, ListKeyRotations, ImportKeyMaterial and
DeleteImportedKeyMaterial, and RotateKeyOnDemand to it.

Sources: the ImportKeyMaterial, RotateKeyOnDemand, ListKeyRotations (RotationsListEntry) and
DeleteImportedKeyMaterial pages of the AWS KMS API Reference; the Developer Guide pages
importing-keys-import-key-material.html and importing-keys-delete-key-material.html; error
texts recorded from real AWS (their rows in the fidelity ledger cite the recordings).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kmslab.clock import Clock
from kmslab.exceptions import KMSError
from kmslab.kms.service import LocalKMS
from tests.kms.test_lifecycle import import_material, pkcs8

START = datetime(2031, 3, 1, 9, tzinfo=timezone.utc)
DAY = timedelta(days=1)
NEW = {"ImportType": "NEW_KEY_MATERIAL"}


@pytest.fixture
def kms() -> LocalKMS:
    return LocalKMS(clock=Clock(frozen_at=START))


@pytest.fixture
def client(kms: LocalKMS) -> Any:
    return kms.client()


def _external(kms: LocalKMS, **create: Any) -> str:
    return str(kms.call("CreateKey", Origin="EXTERNAL", **create)["KeyMetadata"]["KeyId"])


def _rotations(client: Any, key_id: str, everything: bool = True) -> list[dict[str, Any]]:
    include = "ALL_KEY_MATERIAL" if everything else "ROTATIONS_ONLY"
    out: list[dict[str, Any]] = client.list_key_rotations(KeyId=key_id, IncludeKeyMaterial=include)[
        "Rotations"
    ]
    return out


def _snapshot(kms: LocalKMS, key_id: str) -> Any:
    key = kms.keys[key_id]
    return (
        key.state,
        [(m.id, m.imported, m.valid_to, m.description, m.rotation_type) for m in key.materials],
        None if key.pending is None else (key.pending.id, key.pending.imported),
        key.on_demand_rotations,
    )


def test_import_new_material_then_rotate_on_demand(kms: LocalKMS, client: Any) -> None:
    key_id = _external(kms)
    arn = kms.key_arn(key_id)
    first, second = os.urandom(32), os.urandom(32)
    one = import_material(kms.call, key_id, first, KeyMaterialDescription="first")
    assert (
        client.describe_key(KeyId=key_id)["KeyMetadata"]["CurrentKeyMaterialId"]
        == (one["KeyMaterialId"])
    )
    old = client.encrypt(KeyId=key_id, Plaintext=b"under the first")["CiphertextBlob"]

    valid_to = START + 30 * DAY
    two = import_material(
        kms.call, key_id, second, ValidTo=valid_to, KeyMaterialDescription="second", **NEW
    )
    assert two == {"KeyId": arn, "KeyMaterialId": two["KeyMaterialId"]}
    assert len(two["KeyMaterialId"]) == 64 and two["KeyMaterialId"] != one["KeyMaterialId"]
    # Pending material is not used yet: DescribeKey and Encrypt still name the first.
    meta = client.describe_key(KeyId=key_id)["KeyMetadata"]
    assert meta["CurrentKeyMaterialId"] == one["KeyMaterialId"]
    assert meta["ExpirationModel"] == "KEY_MATERIAL_DOES_NOT_EXPIRE" and "ValidTo" not in meta
    assert _rotations(client, key_id, everything=False) == []
    assert _rotations(client, key_id) == [
        {
            "KeyId": key_id,
            "KeyMaterialId": one["KeyMaterialId"],
            "KeyMaterialDescription": "first",
            "ImportState": "IMPORTED",
            "KeyMaterialState": "CURRENT",
            "ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE",
        },
        {
            "KeyId": key_id,
            "KeyMaterialId": two["KeyMaterialId"],
            "KeyMaterialDescription": "second",
            "ImportState": "IMPORTED",
            "KeyMaterialState": "PENDING_ROTATION",
            "ExpirationModel": "KEY_MATERIAL_EXPIRES",
            "ValidTo": valid_to,
        },
    ]

    kms.clock.advance(hours=2)
    assert client.rotate_key_on_demand(KeyId=key_id)["KeyId"] in (key_id, arn)
    meta = client.describe_key(KeyId=key_id)["KeyMetadata"]
    assert meta["CurrentKeyMaterialId"] == two["KeyMaterialId"]
    assert meta["ExpirationModel"] == "KEY_MATERIAL_EXPIRES" and meta["ValidTo"] == valid_to
    rotated = {
        "KeyId": key_id,
        "KeyMaterialId": two["KeyMaterialId"],
        "KeyMaterialDescription": "second",
        "ImportState": "IMPORTED",
        "KeyMaterialState": "CURRENT",
        "ExpirationModel": "KEY_MATERIAL_EXPIRES",
        "ValidTo": valid_to,
        "RotationDate": START + timedelta(hours=2),
        "RotationType": "ON_DEMAND",
    }
    assert _rotations(client, key_id, everything=False) == [rotated]
    listed = _rotations(client, key_id)
    assert [r["KeyMaterialState"] for r in listed] == ["NON_CURRENT", "CURRENT"]
    assert listed[1] == rotated
    # Old ciphertext still decrypts under the first material; new ciphertext uses the second.
    back = client.decrypt(CiphertextBlob=old)
    assert back["Plaintext"] == b"under the first"
    assert back["KeyMaterialId"] == one["KeyMaterialId"]
    new = client.generate_data_key(KeyId=key_id, NumberOfBytes=32)
    assert new["KeyMaterialId"] == two["KeyMaterialId"]


def test_rotate_with_nothing_pending(kms: LocalKMS, aws_error: Any) -> None:
    key_id = _external(kms)
    arn = kms.key_arn(key_id)
    # No material at all: the key is pending import (the fidelity ledger).
    with aws_error("KMSInvalidStateException", f"{arn} is pending import."):
        kms.call("RotateKeyOnDemand", KeyId=key_id)
    import_material(kms.call, key_id, os.urandom(32))
    before = _snapshot(kms, key_id)
    # Material, but none pending rotation (the fidelity ledger, observed).
    message = f"No available key material pending rotation for the key: {arn}."
    with aws_error("KMSInvalidStateException", message):
        kms.call("RotateKeyOnDemand", KeyId=key_id)
    assert _snapshot(kms, key_id) == before


def test_second_new_material_while_one_is_pending(kms: LocalKMS, aws_error: Any) -> None:
    key_id = _external(kms)
    import_material(kms.call, key_id, os.urandom(32))
    pending = import_material(kms.call, key_id, os.urandom(32), **NEW)["KeyMaterialId"]
    before = _snapshot(kms, key_id)
    with pytest.raises(Exception) as info:
        import_material(kms.call, key_id, os.urandom(32), **NEW)
    err = info.value
    assert getattr(err, "code", None) == "KMSInvalidStateException"
    # Observed text (the fidelity ledger): the new material's id, the bare key id, the pending id.
    prefix = "New key material (id: "
    message: str = err.message  # type: ignore[attr-defined]
    assert message.startswith(prefix)
    new_id = message[len(prefix) : len(prefix) + 64]
    assert message == (
        f"New key material (id: {new_id}) cannot be imported into KMS key {key_id}, because "
        f"another key material (id: {pending}) is pending rotation."
    )
    assert _snapshot(kms, key_id) == before


def test_delete_pending_material_then_import_other(kms: LocalKMS, client: Any) -> None:
    key_id = _external(kms)
    import_material(kms.call, key_id, os.urandom(32))
    pending = import_material(kms.call, key_id, os.urandom(32), **NEW)["KeyMaterialId"]
    out = client.delete_imported_key_material(KeyId=key_id, KeyMaterialId=pending)
    assert (out["KeyId"], out["KeyMaterialId"]) == (kms.key_arn(key_id), pending)
    # Pending material is not permanently associated: the key stays usable.
    assert client.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
    assert [r["KeyMaterialState"] for r in _rotations(client, key_id)] == ["CURRENT"]
    other = import_material(kms.call, key_id, os.urandom(32), **NEW)["KeyMaterialId"]
    assert [r["KeyMaterialId"] for r in _rotations(client, key_id)][1] == other


def test_deleting_older_material_needs_it_back(kms: LocalKMS, client: Any, aws_error: Any) -> None:
    key_id = _external(kms)
    arn = kms.key_arn(key_id)
    first = os.urandom(32)
    one = import_material(kms.call, key_id, first)["KeyMaterialId"]
    old = client.encrypt(KeyId=key_id, Plaintext=b"old")["CiphertextBlob"]
    import_material(kms.call, key_id, os.urandom(32), **NEW)
    client.rotate_key_on_demand(KeyId=key_id)
    out = client.delete_imported_key_material(KeyId=key_id, KeyMaterialId=one)
    assert out["KeyMaterialId"] == one
    # Deleting any permanently associated material makes the key PendingImport.
    assert client.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingImport"
    with aws_error("KMSInvalidStateException", f"{arn} is pending import."):
        client.encrypt(KeyId=key_id, Plaintext=b"x")
    listed = _rotations(client, key_id)
    assert [(r["KeyMaterialState"], r["ImportState"]) for r in listed] == [
        ("NON_CURRENT", "PENDING_IMPORT"),
        ("CURRENT", "IMPORTED"),
    ]
    assert "ExpirationModel" not in listed[0]
    # Reimport (the default ImportType once a key has material), naming the id.
    again = import_material(kms.call, key_id, first, KeyMaterialId=one)
    assert again["KeyMaterialId"] == one
    assert client.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
    assert client.decrypt(CiphertextBlob=old)["Plaintext"] == b"old"


def test_reimport_keeps_the_description(kms: LocalKMS, client: Any) -> None:
    key_id = _external(kms)
    material = os.urandom(32)
    import_material(kms.call, key_id, material, KeyMaterialDescription="batch-1")
    import_material(kms.call, key_id, material, ValidTo=START + 5 * DAY)
    (entry,) = _rotations(client, key_id)
    assert entry["KeyMaterialDescription"] == "batch-1"
    assert entry["ExpirationModel"] == "KEY_MATERIAL_EXPIRES"


def test_existing_material_must_be_the_keys(kms: LocalKMS) -> None:
    key_id = _external(kms)
    import_material(kms.call, key_id, os.urandom(32))
    before = _snapshot(kms, key_id)
    for extra in ({}, {"ImportType": "EXISTING_KEY_MATERIAL"}):
        with pytest.raises(Exception) as info:
            import_material(kms.call, key_id, os.urandom(32), **extra)
        assert getattr(info.value, "code", None) == "IncorrectKeyMaterialException"
    assert _snapshot(kms, key_id) == before


def test_expiry_of_pending_and_of_older_material(kms: LocalKMS, client: Any) -> None:
    key_id = _external(kms)
    import_material(kms.call, key_id, os.urandom(32), ValidTo=START + 10 * DAY)
    import_material(kms.call, key_id, os.urandom(32), ValidTo=START + 3 * DAY, **NEW)
    kms.clock.advance(days=3)
    # Expired pending material is gone; the key is still usable.
    assert [r["KeyMaterialState"] for r in _rotations(client, key_id)] == ["CURRENT"]
    assert client.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
    import_material(kms.call, key_id, os.urandom(32), **NEW)
    client.rotate_key_on_demand(KeyId=key_id)
    kms.clock.advance(days=7)  # the first (now NON_CURRENT) material expires
    assert client.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingImport"


def test_delete_unknown_material_id(kms: LocalKMS, aws_error: Any) -> None:
    key_id = _external(kms)
    import_material(kms.call, key_id, os.urandom(32))
    with aws_error("NotFoundException"):
        kms.call("DeleteImportedKeyMaterial", KeyId=key_id, KeyMaterialId="ab" * 32)
    assert kms.keys[key_id].state == "Enabled"


def test_asymmetric_imported_keys_do_not_rotate(kms: LocalKMS, aws_error: Any) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    key_id = _external(kms, KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")
    private = ec.generate_private_key(ec.SECP256R1())
    import_material(kms.call, key_id, pkcs8(private))
    with aws_error("ValidationException"):  # ImportType is for symmetric keys only
        import_material(kms.call, key_id, pkcs8(private), **NEW)
    with aws_error("UnsupportedOperationException"):
        kms.call("RotateKeyOnDemand", KeyId=key_id)
    with aws_error("UnsupportedOperationException"):
        kms.call("EnableKeyRotation", KeyId=key_id)


# -- any sequence of imports, deletions and rotations keeps the key consistent ---------------

_POOL = [bytes([i]) * 32 for i in range(1, 4)]
_IMPORT_TYPES = {"new": "NEW_KEY_MATERIAL", "existing": "EXISTING_KEY_MATERIAL"}
_ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(["new", "existing", "default", "delete", "delete-id", "rotate", "use"]),
        st.integers(min_value=0, max_value=len(_POOL) - 1),
    ),
    max_size=12,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions=_ACTIONS)
def test_any_sequence_keeps_the_key_consistent(actions: list[tuple[str, int]]) -> None:
    kms = LocalKMS(clock=Clock(frozen_at=START))
    key_id = _external(kms)
    blobs: dict[bytes, bytes] = {}  # plaintext -> ciphertext made while the key was usable
    for action, n in actions:
        before = _snapshot(kms, key_id)
        try:
            if action in ("new", "existing", "default"):
                extra = {} if action == "default" else {"ImportType": _IMPORT_TYPES[action]}
                import_material(kms.call, key_id, _POOL[n], **extra)
            elif action == "delete":
                kms.call("DeleteImportedKeyMaterial", KeyId=key_id)
            elif action == "delete-id":
                ids = [m.id for m in kms.keys[key_id].materials]
                if kms.keys[key_id].pending is not None:
                    ids.append(kms.keys[key_id].pending.id)
                target = ids[n % len(ids)] if ids else "ab" * 32
                kms.call("DeleteImportedKeyMaterial", KeyId=key_id, KeyMaterialId=target)
            elif action == "rotate":
                kms.call("RotateKeyOnDemand", KeyId=key_id)
            else:
                text = bytes([n]) + os.urandom(4)
                blobs[text] = kms.call("Encrypt", KeyId=key_id, Plaintext=text)["CiphertextBlob"]
        except KMSError:
            assert _snapshot(kms, key_id) == before  # a failed call changes nothing
        key = kms.keys[key_id]
        # The key is usable exactly when every associated material is present.
        complete = bool(key.materials) and all(m.imported for m in key.materials)
        assert (key.state == "Enabled") == complete
        ids = [m.id for m in key.materials]
        assert len(ids) == len(set(ids))
        assert key.pending is None or key.pending.id not in ids
        meta = kms.call("DescribeKey", KeyId=key_id)["KeyMetadata"]
        assert meta.get("CurrentKeyMaterialId") == (ids[-1] if ids else None)
        if complete:
            for text, blob in blobs.items():
                assert kms.call("Decrypt", CiphertextBlob=blob)["Plaintext"] == text
