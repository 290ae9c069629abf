"""Multi-Region keys: CreateKey(MultiRegion=True), ReplicateKey, UpdatePrimaryRegion, shared
key material and rotation, deletion of related keys (PendingReplicaDeletion), and Regions of
one account.

Sources: the CreateKey, ReplicateKey, UpdatePrimaryRegion, ScheduleKeyDeletion and
KeyMetadata pages of the AWS KMS API Reference; the Developer Guide's multi-Region key pages;
error texts recorded from real AWS (their rows in the fidelity ledger cite the recordings).
"""

from __future__ import annotations

import json
import os
import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st

import kmslab
from kmslab.clock import Clock
from kmslab.exceptions import KMSError
from kmslab.kms.account import DEFAULT_ACCOUNT, Account
from kmslab.kms.ops.manage import default_policy
from kmslab.kms.service import LocalKMS
from tests.kms.test_lifecycle import import_material

START = datetime(2032, 6, 1, 8, tzinfo=timezone.utc)
EAST, WEST, SYDNEY = "us-east-1", "eu-west-1", "ap-southeast-2"


class Regions:
    """One account; ``r.client(region)`` a boto3 client for that Region of it."""

    def __init__(self) -> None:
        self.account = Account(clock=Clock(frozen_at=START))
        self._clients: dict[str, Any] = {}

    def kms(self, region: str) -> LocalKMS:
        return self.account.region(region)

    def client(self, region: str) -> Any:
        if region not in self._clients:
            self._clients[region] = self.kms(region).client()
        return self._clients[region]

    def arn(self, region: str, key_id: str) -> str:
        return f"arn:aws:kms:{region}:{DEFAULT_ACCOUNT}:key/{key_id}"


@pytest.fixture
def regions() -> Regions:
    return Regions()


def _primary(regions: Regions, **create: Any) -> dict[str, Any]:
    meta: dict[str, Any] = regions.client(EAST).create_key(MultiRegion=True, **create)[
        "KeyMetadata"
    ]
    return meta


def _replicate(regions: Regions, key_id: str, region: str = WEST, **extra: Any) -> Any:
    return regions.client(EAST).replicate_key(KeyId=key_id, ReplicaRegion=region, **extra)


def _error(call: Any, **params: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as info:
        call(**params)
    err = info.value.response["Error"]
    return err["Code"], err["Message"]


def test_create_a_multi_region_primary_key(regions: Regions) -> None:
    meta = _primary(regions)
    assert re.fullmatch(r"mrk-[0-9a-f]{32}", meta["KeyId"])
    assert meta["Arn"] == regions.arn(EAST, meta["KeyId"])
    assert meta["MultiRegion"] is True
    assert meta["MultiRegionConfiguration"] == {
        "MultiRegionKeyType": "PRIMARY",
        "PrimaryKey": {"Arn": meta["Arn"], "Region": EAST},
        "ReplicaKeys": [],
    }
    single = regions.client(EAST).create_key()["KeyMetadata"]
    assert single["MultiRegion"] is False and "MultiRegionConfiguration" not in single


@pytest.mark.parametrize(
    ("spec", "usage", "origin"),
    [
        ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", "AWS_KMS"),
        ("HMAC_256", "GENERATE_VERIFY_MAC", "AWS_KMS"),
        ("ECC_NIST_P256", "SIGN_VERIFY", "AWS_KMS"),
        ("RSA_2048", "ENCRYPT_DECRYPT", "AWS_KMS"),
        ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", "EXTERNAL"),
    ],
)
def test_every_key_type_may_be_multi_region(
    regions: Regions, spec: str, usage: str, origin: str
) -> None:
    # CreateKey's MultiRegion: symmetric, asymmetric, HMAC and imported key material; not
    # custom key stores.
    meta = _primary(regions, KeySpec=spec, KeyUsage=usage, Origin=origin)
    assert meta["MultiRegion"] is True and meta["KeySpec"] == spec


def test_replicate_key(regions: Regions) -> None:
    meta = _primary(regions, Description="primary")
    key_id = meta["KeyId"]
    out = _replicate(
        regions, key_id, Description="replica", Tags=[{"TagKey": "site", "TagValue": "dub"}]
    )
    replica = out["ReplicaKeyMetadata"]
    assert replica["KeyId"] == key_id
    assert replica["Arn"] == regions.arn(WEST, key_id)
    assert replica["KeyState"] == "Enabled" and replica["Enabled"] is True
    assert replica["Description"] == "replica"
    assert replica["MultiRegionConfiguration"] == {
        "MultiRegionKeyType": "REPLICA",
        "PrimaryKey": {"Arn": meta["Arn"], "Region": EAST},
        "ReplicaKeys": [{"Arn": replica["Arn"], "Region": WEST}],
    }
    assert json.loads(out["ReplicaPolicy"]) == json.loads(default_policy(DEFAULT_ACCOUNT))
    assert out["ReplicaTags"] == [{"TagKey": "site", "TagValue": "dub"}]
    # In its Region the replica is an ordinary, usable key.
    west = regions.client(WEST)
    described = west.describe_key(KeyId=key_id)["KeyMetadata"]
    assert described["KeyState"] == "Enabled"
    assert [k["KeyId"] for k in west.list_keys()["Keys"]] == [key_id]
    # The primary now lists its replica; shared properties are equal.
    primary = regions.client(EAST).describe_key(KeyId=key_id)["KeyMetadata"]
    assert primary["MultiRegionConfiguration"]["ReplicaKeys"] == [
        {"Arn": replica["Arn"], "Region": WEST}
    ]
    for shared in ("KeySpec", "KeyUsage", "Origin", "CurrentKeyMaterialId"):
        assert primary[shared] == described[shared]
    assert primary["Description"] == "primary"  # not shared


def test_ciphertext_decrypts_in_every_related_region(regions: Regions) -> None:
    key_id = _primary(regions)["KeyId"]
    _replicate(regions, key_id)
    east, west = regions.client(EAST), regions.client(WEST)
    blob = east.encrypt(KeyId=key_id, Plaintext=b"from the east")["CiphertextBlob"]
    out = west.decrypt(CiphertextBlob=blob)
    assert out["Plaintext"] == b"from the east"
    assert out["KeyId"] == regions.arn(WEST, key_id)
    back = west.encrypt(KeyId=key_id, Plaintext=b"from the west")["CiphertextBlob"]
    assert east.decrypt(CiphertextBlob=back, KeyId=key_id)["Plaintext"] == b"from the west"
    # A Region without a replica does not know the key.
    sydney = regions.client(SYDNEY)
    code, message = _error(sydney.decrypt, CiphertextBlob=blob, KeyId=key_id)
    assert (code, message) == (
        "NotFoundException",
        f"Key '{regions.arn(SYDNEY, key_id)}' does not exist",
    )


def test_related_asymmetric_and_hmac_keys_agree(regions: Regions) -> None:
    east, west = regions.client(EAST), regions.client(WEST)
    mac_key = _primary(regions, KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyId"]
    _replicate(regions, mac_key)
    args = {"KeyId": mac_key, "Message": b"m", "MacAlgorithm": "HMAC_SHA_256"}
    assert east.generate_mac(**args)["Mac"] == west.generate_mac(**args)["Mac"]
    sign_key = _primary(regions, KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyId"]
    _replicate(regions, sign_key)
    assert (
        east.get_public_key(KeyId=sign_key)["PublicKey"]
        == west.get_public_key(KeyId=sign_key)["PublicKey"]
    )
    sig = east.sign(KeyId=sign_key, Message=b"m", SigningAlgorithm="ECDSA_SHA_256")["Signature"]
    verified = west.verify(
        KeyId=sign_key, Message=b"m", Signature=sig, SigningAlgorithm="ECDSA_SHA_256"
    )
    assert verified["SignatureValid"] is True


def test_rotation_is_shared_and_set_at_the_primary(regions: Regions) -> None:
    key_id = _primary(regions)["KeyId"]
    _replicate(regions, key_id)
    east, west = regions.client(EAST), regions.client(WEST)
    east.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=90)
    status = west.get_key_rotation_status(KeyId=key_id)
    assert status["KeyRotationEnabled"] is True and status["RotationPeriodInDays"] == 90
    not_primary = f"{regions.arn(WEST, key_id)} is not a multi-region primary key."
    for op in (west.enable_key_rotation, west.disable_key_rotation, west.rotate_key_on_demand):
        assert _error(op, KeyId=key_id) == ("UnsupportedOperationException", not_primary)
    east.rotate_key_on_demand(KeyId=key_id)
    current = east.describe_key(KeyId=key_id)["KeyMetadata"]["CurrentKeyMaterialId"]
    assert west.describe_key(KeyId=key_id)["KeyMetadata"]["CurrentKeyMaterialId"] == current
    regions.account.clock.advance(days=90)
    automatic = west.list_key_rotations(KeyId=key_id)["Rotations"]
    assert [r["RotationType"] for r in automatic] == ["ON_DEMAND", "AUTOMATIC"]
    assert automatic == east.list_key_rotations(KeyId=key_id)["Rotations"]
    blob = west.encrypt(KeyId=key_id, Plaintext=b"after rotation")["CiphertextBlob"]
    assert east.decrypt(CiphertextBlob=blob)["Plaintext"] == b"after rotation"


def test_replicate_key_errors(regions: Regions) -> None:
    east = regions.client(EAST)
    key_id = _primary(regions)["KeyId"]
    _replicate(regions, key_id)
    # From the replica's Region (the fidelity ledger, observed).
    code, message = _error(regions.client(WEST).replicate_key, KeyId=key_id, ReplicaRegion=SYDNEY)
    assert (code, message) == (
        "UnsupportedOperationException",
        f"{regions.arn(WEST, key_id)} is not a multi-region primary key.",
    )
    single = east.create_key()["KeyMetadata"]
    assert _error(east.replicate_key, KeyId=single["KeyId"], ReplicaRegion=WEST) == (
        "UnsupportedOperationException",
        f"{single['Arn']} is not a multi-region primary key.",
    )
    code, _ = _error(east.replicate_key, KeyId=key_id, ReplicaRegion=WEST)
    assert code == "AlreadyExistsException"
    code, _ = _error(east.replicate_key, KeyId=key_id, ReplicaRegion=EAST)
    assert code == "ValidationException"
    code, _ = _error(east.replicate_key, KeyId=key_id, ReplicaRegion="cn-north-1")
    assert code == "ValidationException"
    east.disable_key(KeyId=key_id)
    arn = regions.arn(EAST, key_id)
    assert _error(east.replicate_key, KeyId=key_id, ReplicaRegion=SYDNEY) == (
        "DisabledException",
        f"{arn} is disabled.",
    )
    assert SYDNEY not in regions.kms(EAST).keys[key_id].multi_region.keys  # type: ignore[union-attr]


def test_missing_mrk_key_ids(regions: Regions) -> None:
    east = regions.client(EAST)
    missing = "mrk-" + "d3b95762" * 4
    # Research file 1.7 (observed): a well-formed mrk id that does not exist.
    assert _error(east.describe_key, KeyId=missing) == (
        "NotFoundException",
        f"Key '{regions.arn(EAST, missing)}' does not exist",
    )
    code, message = _error(east.describe_key, KeyId="mrk-fake-key-id")
    assert code == "NotFoundException" and "does not exist" not in message
    # A primary key asked for in a Region that has no replica (the fidelity ledger).
    key_id = _primary(regions)["KeyId"]
    assert _error(regions.client(SYDNEY).describe_key, KeyId=key_id) == (
        "NotFoundException",
        f"Key '{regions.arn(SYDNEY, key_id)}' does not exist",
    )


def test_update_primary_region(regions: Regions) -> None:
    east, west = regions.client(EAST), regions.client(WEST)
    key_id = _primary(regions)["KeyId"]
    _replicate(regions, key_id)
    east.enable_key_rotation(KeyId=key_id)
    assert east.update_primary_region(KeyId=key_id, PrimaryRegion=WEST)["ResponseMetadata"]
    config = west.describe_key(KeyId=key_id)["KeyMetadata"]["MultiRegionConfiguration"]
    assert config == {
        "MultiRegionKeyType": "PRIMARY",
        "PrimaryKey": {"Arn": regions.arn(WEST, key_id), "Region": WEST},
        "ReplicaKeys": [{"Arn": regions.arn(EAST, key_id), "Region": EAST}],
    }
    east_config = east.describe_key(KeyId=key_id)["KeyMetadata"]["MultiRegionConfiguration"]
    assert east_config["MultiRegionKeyType"] == "REPLICA"
    # Rotation is now managed, and scheduled, at the new primary.
    assert regions.kms(WEST).timer("rotate", key_id) is not None
    assert regions.kms(EAST).timer("rotate", key_id) is None
    code, _ = _error(east.replicate_key, KeyId=key_id, ReplicaRegion=SYDNEY)
    assert code == "UnsupportedOperationException"
    west.replicate_key(KeyId=key_id, ReplicaRegion=SYDNEY)
    assert _error(west.update_primary_region, KeyId=key_id, PrimaryRegion="ca-central-1") == (
        "NotFoundException",
        f"Key '{regions.arn('ca-central-1', key_id)}' does not exist",
    )


def test_deleting_a_primary_waits_for_its_replicas(regions: Regions) -> None:
    east, west = regions.client(EAST), regions.client(WEST)
    key_id = _primary(regions)["KeyId"]
    _replicate(regions, key_id)
    arn = regions.arn(EAST, key_id)
    out = east.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=10)
    assert "DeletionDate" not in out
    assert (out["KeyId"], out["KeyState"], out["PendingWindowInDays"]) == (
        arn,
        "PendingReplicaDeletion",
        10,
    )
    meta = east.describe_key(KeyId=key_id)["KeyMetadata"]
    assert meta["KeyState"] == "PendingReplicaDeletion" and meta["Enabled"] is False
    assert meta["PendingDeletionWindowInDays"] == 10 and "DeletionDate" not in meta
    code, message = _error(east.encrypt, KeyId=key_id, Plaintext=b"x")
    assert (code, message) == ("KMSInvalidStateException", f"{arn} is pending replica deletion.")
    # The replica is still usable; once it is deleted, the primary's window starts.
    assert west.encrypt(KeyId=key_id, Plaintext=b"x")["KeyId"] == regions.arn(WEST, key_id)
    west.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    regions.account.clock.advance(days=7)
    code, _ = _error(west.describe_key, KeyId=key_id)
    assert code == "NotFoundException"
    meta = east.describe_key(KeyId=key_id)["KeyMetadata"]
    assert meta["KeyState"] == "PendingDeletion"
    assert meta["DeletionDate"] == START + timedelta(days=17)
    assert meta["MultiRegionConfiguration"]["ReplicaKeys"] == []
    regions.account.clock.advance(days=10)
    code, _ = _error(east.describe_key, KeyId=key_id)
    assert code == "NotFoundException"


def test_cancel_deletion_of_a_primary_waiting_for_replicas(regions: Regions) -> None:
    east = regions.client(EAST)
    key_id = _primary(regions)["KeyId"]
    _replicate(regions, key_id)
    east.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    east.cancel_key_deletion(KeyId=key_id)
    meta = east.describe_key(KeyId=key_id)["KeyMetadata"]
    assert meta["KeyState"] == "Disabled" and "PendingDeletionWindowInDays" not in meta


def test_imported_material_in_related_keys(regions: Regions) -> None:
    east, west = regions.client(EAST), regions.client(WEST)
    key_id = _primary(regions, Origin="EXTERNAL")["KeyId"]
    first = os.urandom(32)
    one = import_material(regions.kms(EAST).call, key_id, first)["KeyMaterialId"]
    out = _replicate(regions, key_id)
    assert out["ReplicaKeyMetadata"]["Origin"] == "EXTERNAL"
    assert west.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingImport"
    # The replica takes only the same material (the same key id gives the same material id).
    with pytest.raises(Exception) as info:
        import_material(regions.kms(WEST).call, key_id, os.urandom(32))
    assert getattr(info.value, "code", None) == "IncorrectKeyMaterialException"
    again = import_material(regions.kms(WEST).call, key_id, first)
    assert again["KeyMaterialId"] == one
    blob = east.encrypt(KeyId=key_id, Plaintext=b"imported")["CiphertextBlob"]
    assert west.decrypt(CiphertextBlob=blob)["Plaintext"] == b"imported"

    # New material: into the primary, then into every replica, then rotate at the primary.
    second = os.urandom(32)
    two = import_material(regions.kms(EAST).call, key_id, second, ImportType="NEW_KEY_MATERIAL")[
        "KeyMaterialId"
    ]
    states = east.list_key_rotations(KeyId=key_id, IncludeKeyMaterial="ALL_KEY_MATERIAL")
    assert [r["KeyMaterialState"] for r in states["Rotations"]] == [
        "CURRENT",
        "PENDING_MULTI_REGION_IMPORT_AND_ROTATION",
    ]
    code, message = _error(east.rotate_key_on_demand, KeyId=key_id)
    assert code == "KMSInvalidStateException"
    assert message == (
        f"No available key material pending rotation for the key: {regions.arn(EAST, key_id)}."
    )
    with pytest.raises(Exception) as info:  # new material goes into the primary only
        import_material(
            regions.kms(WEST).call, key_id, os.urandom(32), ImportType="NEW_KEY_MATERIAL"
        )
    assert getattr(info.value, "code", None) == "UnsupportedOperationException"
    import_material(regions.kms(WEST).call, key_id, second, ImportType="EXISTING_KEY_MATERIAL")
    states = east.list_key_rotations(KeyId=key_id, IncludeKeyMaterial="ALL_KEY_MATERIAL")
    assert states["Rotations"][1]["KeyMaterialState"] == "PENDING_ROTATION"
    east.rotate_key_on_demand(KeyId=key_id)
    for client in (east, west):
        assert client.describe_key(KeyId=key_id)["KeyMetadata"]["CurrentKeyMaterialId"] == two
    blob = west.encrypt(KeyId=key_id, Plaintext=b"second")["CiphertextBlob"]
    assert east.decrypt(CiphertextBlob=blob)["KeyMaterialId"] == two


def test_local_kms_alone_and_regions_of_one_account() -> None:
    alone = LocalKMS(region="eu-central-1")
    assert alone.aws_account.regions == {"eu-central-1": alone}
    other = LocalKMS(region="eu-central-1")
    assert other.aws_account is not alone.aws_account
    key_id = alone.call("CreateKey", MultiRegion=True)["KeyMetadata"]["KeyId"]
    alone.call("ReplicateKey", KeyId=key_id, ReplicaRegion="eu-north-1")
    assert key_id in alone.aws_account.region("eu-north-1").keys
    assert key_id not in other.aws_account.region("eu-north-1").keys
    with pytest.raises(ValueError):
        LocalKMS(region="eu-central-1", aws_account=alone.aws_account)


def test_clients_of_one_process_share_one_account(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KMSLAB_TARGET", raising=False)
    east = kmslab.client(region_name="us-east-2")
    west = kmslab.client(region_name="us-west-1")
    key_id = east.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
    east.replicate_key(KeyId=key_id, ReplicaRegion="us-west-1")
    blob = west.encrypt(KeyId=key_id, Plaintext=b"one account")["CiphertextBlob"]
    assert east.decrypt(CiphertextBlob=blob)["Plaintext"] == b"one account"


_PAIR = Regions()
_PAIR_KEY = _PAIR.kms(EAST).call("CreateKey", MultiRegion=True)["KeyMetadata"]["KeyId"]
_PAIR.kms(EAST).call("ReplicateKey", KeyId=_PAIR_KEY, ReplicaRegion=WEST)


@settings(max_examples=60, deadline=None)
@given(
    plaintext=st.binary(min_size=1, max_size=256),
    context=st.dictionaries(st.text(min_size=1, max_size=8), st.text(max_size=8), max_size=3),
    flip=st.integers(min_value=0),
)
def test_blobs_cross_regions_and_tampering_fails_in_both(
    plaintext: bytes, context: dict[str, str], flip: int
) -> None:
    east, west = _PAIR.kms(EAST), _PAIR.kms(WEST)
    blob = west.call("Encrypt", KeyId=_PAIR_KEY, Plaintext=plaintext, EncryptionContext=context)[
        "CiphertextBlob"
    ]
    got = east.call("Decrypt", CiphertextBlob=blob, EncryptionContext=context)
    assert got["Plaintext"] == plaintext
    bad = bytearray(blob)
    bad[flip % len(bad)] ^= 0x01
    for region in (east, west):
        with pytest.raises(KMSError) as info:
            region.call("Decrypt", CiphertextBlob=bytes(bad), EncryptionContext=context)
        assert info.value.code == "InvalidCiphertextException"


def test_update_primary_region_errors(regions: Regions) -> None:
    east, west = regions.client(EAST), regions.client(WEST)
    key_id = _primary(regions)["KeyId"]
    _replicate(regions, key_id)
    code, _ = _error(east.update_primary_region, KeyId=key_id, PrimaryRegion=EAST)
    assert code == "ValidationException"
    not_primary = f"{regions.arn(WEST, key_id)} is not a multi-region primary key."
    assert _error(west.update_primary_region, KeyId=key_id, PrimaryRegion=EAST) == (
        "UnsupportedOperationException",
        not_primary,
    )
    west.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    assert _error(east.update_primary_region, KeyId=key_id, PrimaryRegion=WEST) == (
        "KMSInvalidStateException",
        f"{regions.arn(WEST, key_id)} is pending deletion.",
    )
    group = regions.kms(EAST).keys[key_id].multi_region
    assert group is not None and group.primary == EAST


def test_replica_of_a_key_still_waiting_for_material(regions: Regions) -> None:
    east, west = regions.client(EAST), regions.client(WEST)
    key_id = _primary(regions, Origin="EXTERNAL")["KeyId"]
    _replicate(regions, key_id)
    material = os.urandom(32)
    # The first material may go into either key; the other then takes only that material.
    first = import_material(regions.kms(WEST).call, key_id, material)["KeyMaterialId"]
    with pytest.raises(Exception) as info:
        import_material(regions.kms(EAST).call, key_id, os.urandom(32))
    assert getattr(info.value, "code", None) == "IncorrectKeyMaterialException"
    assert import_material(regions.kms(EAST).call, key_id, material)["KeyMaterialId"] == first
    blob = west.encrypt(KeyId=key_id, Plaintext=b"both")["CiphertextBlob"]
    assert east.decrypt(CiphertextBlob=blob)["Plaintext"] == b"both"


def test_replica_keys_are_listed_by_region(regions: Regions) -> None:
    key_id = _primary(regions)["KeyId"]
    _replicate(regions, key_id, WEST)
    out = _replicate(regions, key_id, SYDNEY)
    listed = out["ReplicaKeyMetadata"]["MultiRegionConfiguration"]["ReplicaKeys"]
    assert [r["Region"] for r in listed] == [SYDNEY, WEST]


def test_a_clock_jump_past_both_windows_deletes_both(regions: Regions) -> None:
    east, west = regions.client(EAST), regions.client(WEST)
    key_id = _primary(regions)["KeyId"]
    _replicate(regions, key_id)
    east.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    west.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    regions.account.clock.advance(days=15)  # replica gone on day 7, primary on day 14
    for client in (east, west):
        code, _ = _error(client.describe_key, KeyId=key_id)
        assert code == "NotFoundException"


@settings(max_examples=80, deadline=None)
@given(
    tail=st.one_of(
        st.text(max_size=40), st.text(alphabet="0123456789abcdef", min_size=32, max_size=32)
    )
)
def test_any_mrk_like_key_id_gets_not_found(tail: str) -> None:
    kms = _PAIR.kms(SYDNEY)
    with pytest.raises(KMSError) as info:
        kms.call("DescribeKey", KeyId="mrk-" + tail)
    assert info.value.code in ("NotFoundException", "ValidationException")
    well_formed = re.fullmatch(r"[0-9a-f]{32}", tail) is not None
    assert ("does not exist" in info.value.message) == well_formed


def test_deleting_the_primarys_pending_material_deletes_the_replicas_copy(
    regions: Regions,
) -> None:
    east, west = regions.client(EAST), regions.client(WEST)
    key_id = _primary(regions, Origin="EXTERNAL")["KeyId"]
    _replicate(regions, key_id)
    first = os.urandom(32)
    for region in (EAST, WEST):
        import_material(regions.kms(region).call, key_id, first)
    second = os.urandom(32)
    new = import_material(regions.kms(EAST).call, key_id, second, ImportType="NEW_KEY_MATERIAL")[
        "KeyMaterialId"
    ]
    import_material(regions.kms(WEST).call, key_id, second)
    listed = west.list_key_rotations(KeyId=key_id, IncludeKeyMaterial="ALL_KEY_MATERIAL")
    assert [r["KeyMaterialState"] for r in listed["Rotations"]] == ["CURRENT", "PENDING_ROTATION"]
    east.delete_imported_key_material(KeyId=key_id, KeyMaterialId=new)
    for client in (east, west):
        listed = client.list_key_rotations(KeyId=key_id, IncludeKeyMaterial="ALL_KEY_MATERIAL")
        assert [r["KeyMaterialState"] for r in listed["Rotations"]] == ["CURRENT"]
        assert client.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
