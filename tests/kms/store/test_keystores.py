"""Custom key stores, CloudHSM clusters, proxy routes and IAM principals survive a restart."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kmslab.exceptions import StoreError
from kmslab.kms import LocalKMS
from kmslab.kms.keystores import xks_client
from kmslab.kms.store.extras import COLLECTIONS
from kmslab.xks import XksProxy
from tests.kms.keystore_setup import cloudhsm_store

Scenario = Callable[[LocalKMS, XksProxy], dict[str, Any]]
Snap = Callable[[LocalKMS], dict[str, Any]]
UNREACHABLE = xks_client.FAILURES["unreachable"]


def _rows(path: Path, table: str) -> list[str]:
    db = sqlite3.connect(path)
    try:
        return [row[0] for row in db.execute(f"SELECT id FROM {table} ORDER BY rowid")]
    finally:
        db.close()


def test_a_key_in_a_cloudhsm_key_store_decrypts_after_a_reopen(store_path: Path) -> None:
    """The issue 14 gap: the key store, its key's CustomKeyStoreId and old ciphertext."""
    kms = LocalKMS(store=store_path)
    client = kms.client()
    cluster = kms.cloudhsm.create(hsms=2, kmsuser_password="kmsPswd")
    store_id = client.create_custom_key_store(
        CustomKeyStoreName="h",
        CloudHsmClusterId=cluster.id,
        TrustAnchorCertificate=cluster.trust_anchor,
        KeyStorePassword="kmsPswd",
    )["CustomKeyStoreId"]
    client.connect_custom_key_store(CustomKeyStoreId=store_id)
    key_id = client.create_key(CustomKeyStoreId=store_id, Origin="AWS_CLOUDHSM")["KeyMetadata"][
        "KeyId"
    ]
    blob = client.encrypt(KeyId=key_id, Plaintext=b"x")["CiphertextBlob"]
    stores = client.describe_custom_key_stores()["CustomKeyStores"]
    meta = client.describe_key(KeyId=key_id)["KeyMetadata"]
    kms.close()
    with LocalKMS(store=store_path) as again:
        client = again.client()
        assert client.describe_custom_key_stores()["CustomKeyStores"] == stores
        reopened = client.describe_key(KeyId=key_id)["KeyMetadata"]
        assert reopened == meta
        assert reopened["CustomKeyStoreId"] == store_id
        assert reopened["CloudHsmClusterId"] == cluster.id
        assert reopened["KeyState"] == "Enabled"
        assert client.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"
        # The cluster came back with the key's material in it, and its kmsuser.
        loaded = again.cloudhsm.get(cluster.id)
        assert loaded is not None and loaded.active_hsms() == 2
        assert loaded.keys.keys() == {key_id}
        assert loaded.keys[key_id] == again.keys[key_id].current.secret  # type: ignore[union-attr]
        # Disconnect and connect again: the kept password still logs in as kmsuser.
        client.disconnect_custom_key_store(CustomKeyStoreId=store_id)
        client.connect_custom_key_store(CustomKeyStoreId=store_id)
        entry = client.describe_custom_key_stores(CustomKeyStoreId=store_id)["CustomKeyStores"]
        assert entry[0]["ConnectionState"] == "CONNECTED"


def test_every_key_store_change_survives_a_reopen(
    store_path: Path, xks_proxy: XksProxy, keystore_scenario: Scenario, keystore_snap: Snap
) -> None:
    with LocalKMS(store=store_path) as kms:
        made = keystore_scenario(kms, xks_proxy)
        before = keystore_snap(kms)
    names = [s["CustomKeyStoreName"] for s in before["stores"]]
    assert names == ["hsm-store", "xks"]  # renamed, and the deleted one is gone
    assert {s["ConnectionState"] for s in before["stores"]} == {"CONNECTED"}
    with LocalKMS(store=store_path) as again:
        assert keystore_snap(again) == before
        for blob, plaintext in made["ciphertexts"]:
            assert again.call("Decrypt", CiphertextBlob=blob)["Plaintext"] == plaintext
        # The HSM added outside any call was kept (by the calls after it).
        cluster = again.cloudhsm.get(made["cluster"])
        assert cluster is not None and cluster.active_hsms() == 3
        assert again.xks_routes == {"https://xks.example.com": xks_proxy.url}
        assert made["gone"] not in again.key_stores
    assert made["gone"] not in _rows(store_path, "key_stores")


def test_an_external_key_store_keeps_its_configuration_and_state(
    store_path: Path, xks_proxy: XksProxy, keystore_scenario: Scenario, aws_error: Any
) -> None:
    """CONNECTED is kept; with its proxy gone, calls fail as AWS's do for an unreachable
    proxy, and work again once the proxy serves on its routed address."""
    with LocalKMS(store=store_path) as kms:
        made = keystore_scenario(kms, xks_proxy)
        entry = kms.call("DescribeCustomKeyStores", CustomKeyStoreId=made["xks"])
    blob = made["ciphertexts"][1][0]
    xks_proxy.stop()
    with LocalKMS(store=store_path) as again:
        assert again.call("DescribeCustomKeyStores", CustomKeyStoreId=made["xks"]) == entry
        config = entry["CustomKeyStores"][0]["XksProxyConfiguration"]
        assert config["AccessKeyId"] == xks_proxy.access_key_id
        assert config["UriPath"] == xks_proxy.uri_path
        meta = again.call("DescribeKey", KeyId=made["xks_key"])["KeyMetadata"]
        assert meta["XksKeyConfiguration"] == {"Id": "ext-1"}
        assert meta["KeyState"] == "Enabled"
        with aws_error(UNREACHABLE.crypto, UNREACHABLE.message):
            again.call("Decrypt", CiphertextBlob=blob)
        xks_proxy.start()  # the same port: the kept route and credential reach it
        assert again.call("Decrypt", CiphertextBlob=blob)["Plaintext"] == b"behind the proxy"


def test_a_deleted_key_store_stays_deleted(store_path: Path, aws_error: Any) -> None:
    with LocalKMS(store=store_path) as kms:
        store_id, cluster = cloudhsm_store(kms, "short-lived")
    assert _rows(store_path, "key_stores") == [store_id]
    with LocalKMS(store=store_path) as kms:
        kms.call("DeleteCustomKeyStore", CustomKeyStoreId=store_id)
    assert _rows(store_path, "key_stores") == []
    with LocalKMS(store=store_path) as again:
        assert again.call("DescribeCustomKeyStores")["CustomKeyStores"] == []
        with aws_error("CustomKeyStoreNotFoundException"):
            again.call("DescribeCustomKeyStores", CustomKeyStoreId=store_id)
        # Its cluster is free again for a new key store.
        cloudhsm_store(again, "short-lived", cluster=cluster)


def _writes(kms: LocalKMS) -> list[str]:
    assert kms.store is not None
    seen: list[str] = []
    kms.store._connection().set_trace_callback(seen.append)
    return seen


def test_a_failed_key_store_call_saves_nothing(store_path: Path, aws_error: Any) -> None:
    with LocalKMS(store=store_path) as kms:
        store_id, cluster = cloudhsm_store(kms, "kept", connect=True)
        other = kms.cloudhsm.create(hsms=2)
        seen = _writes(kms)
        with aws_error("IncorrectTrustAnchorException"):
            kms.call(
                "CreateCustomKeyStore",
                CustomKeyStoreName="refused",
                CloudHsmClusterId=other.id,
                TrustAnchorCertificate=cluster.trust_anchor,
                KeyStorePassword="kmsPswd",
            )
        with aws_error("CustomKeyStoreInvalidStateException"):  # connected: cannot change
            kms.call(
                "UpdateCustomKeyStore", CustomKeyStoreId=store_id, KeyStorePassword="newPassword"
            )
        with aws_error("CustomKeyStoreInvalidStateException"):
            kms.call("DeleteCustomKeyStore", CustomKeyStoreId=store_id)
        with aws_error("CloudHsmClusterInUseException"):
            kms.call(
                "CreateCustomKeyStore",
                CustomKeyStoreName="same cluster",
                CloudHsmClusterId=cluster.id,
                TrustAnchorCertificate=cluster.trust_anchor,
                KeyStorePassword="kmsPswd",
            )
        assert [s for s in seen if s.startswith(("INSERT", "DELETE", "UPDATE"))] == []
        kms.store._connection().set_trace_callback(None)  # type: ignore[union-attr]
    with LocalKMS(store=store_path) as again:
        stores = again.call("DescribeCustomKeyStores")["CustomKeyStores"]
        assert [(s["CustomKeyStoreName"], s["ConnectionState"]) for s in stores] == [
            ("kept", "CONNECTED")
        ]
        assert again.key_stores[store_id].password == "kmsPswd"


def test_unchanged_key_stores_are_not_written_again(
    store_path: Path, xks_proxy: XksProxy, keystore_scenario: Scenario
) -> None:
    """A reopened store's records encode to the text committed: a call writes only its key."""
    with LocalKMS(store=store_path) as kms:
        keystore_scenario(kms, xks_proxy)
    with LocalKMS(store=store_path) as again:
        key_id = again.call("CreateKey")["KeyMetadata"]["KeyId"]
        seen = _writes(again)
        again.call("TagResource", KeyId=key_id, Tags=[{"TagKey": "a", "TagValue": "b"}])
        writes = [s for s in seen if s.startswith(("INSERT", "DELETE", "UPDATE"))]
        assert len(writes) == 2 and all(key_id in s or "grants" in s for s in writes)
        seen.clear()
        again.call("DescribeCustomKeyStores")  # a read writes nothing
        assert seen == []
        # A change made outside a call is written by the next state-changing call.
        next(iter(again.cloudhsm.by_id.values())).remove_hsm()
        again.call("TagResource", KeyId=key_id, Tags=[{"TagKey": "c", "TagValue": "d"}])
        assert any("clusters" in s for s in seen)
        again.store._connection().set_trace_callback(None)  # type: ignore[union-attr]


def test_key_stores_stay_in_their_region_and_account(store_path: Path) -> None:
    with LocalKMS(region="eu-west-1", store=store_path) as kms:
        _, cluster = cloudhsm_store(kms, "eu")
    # The Region that holds only a key store comes back with the account.
    with LocalKMS(store=store_path) as east:
        assert east.call("DescribeCustomKeyStores")["CustomKeyStores"] == []
        eu = east.aws_account.regions["eu-west-1"]
        names = [
            s["CustomKeyStoreName"] for s in eu.call("DescribeCustomKeyStores")["CustomKeyStores"]
        ]
        assert names == ["eu"] and list(eu.cloudhsm.by_id) == [cluster.id]
    with LocalKMS(region="eu-west-1", account="444455556666", store=store_path) as other:
        assert other.call("DescribeCustomKeyStores")["CustomKeyStores"] == []
        assert other.cloudhsm.by_id == {}


def test_iam_principals_and_their_policies_survive_a_reopen(
    store_path: Path, aws_error: Any
) -> None:
    reader = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "kms:DescribeKey", "Resource": "*"}],
    }
    with LocalKMS(store=store_path) as kms:
        key_id = kms.call("CreateKey")["KeyMetadata"]["KeyId"]
        role = kms.iam.create_role("Reader", policy=reader)
        user = kms.iam.create_user("alice")
        everything = {"Effect": "Allow", "Action": "kms:*", "Resource": "*"}
        kms.iam.put_policy(user, "all", {"Version": "2012-10-17", "Statement": [everything]})
    with LocalKMS(store=store_path) as again:
        arns = {p.arn for p in again.iam.principals}
        assert {role.arn, user.arn, again.iam.default.arn, again.iam.root.arn} == arns
        as_reader = again.client(principal=role.arn)
        assert as_reader.describe_key(KeyId=key_id)["KeyMetadata"]["KeyId"] == key_id
        with aws_error("AccessDeniedException"):
            as_reader.encrypt(KeyId=key_id, Plaintext=b"x")
        assert again.client(principal=user.arn).encrypt(KeyId=key_id, Plaintext=b"x")
        again.iam.delete_policy(role.arn, "inline")  # kept by close()
    with LocalKMS(store=store_path) as third:
        assert third.iam.get(role.arn).policies == {}
        with aws_error("AccessDeniedException"):
            third.client(principal=role.arn).describe_key(KeyId=key_id)


def test_every_new_table_is_scoped_like_the_keys(store_path: Path) -> None:
    LocalKMS(store=store_path).close()
    db = sqlite3.connect(store_path)
    try:
        for collection in COLLECTIONS:
            columns = [r[1] for r in db.execute(f"PRAGMA table_info({collection.table})")]
            assert columns == ["account", "region", "id", "doc"]
    finally:
        db.close()


@pytest.mark.parametrize(
    "doc",
    [
        "not json",
        '{"principals": [{"kind": "AssumedRole", "name": "bad name!", "policies": {}}]}',
        '{"principals": [{"kind": "IAMUser", "name": "a", "policies": {"p": "{nope"}}]}',
        '{"principals": [{"kind": "Alien", "name": "a", "policies": {}}]}',
    ],
)
def test_a_damaged_iam_record_is_refused_plainly(store_path: Path, doc: str) -> None:
    LocalKMS(store=store_path).close()
    db = sqlite3.connect(store_path)
    db.execute("UPDATE iam SET doc = ?", (doc,))
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="IAM record of account 111122223333 is damaged"):
        LocalKMS(store=store_path)
    LocalKMS(store=store_path.with_name("other.sqlite3")).close()  # the lock was released
    with pytest.raises(StoreError):
        LocalKMS(store=store_path)


def test_a_damaged_key_store_record_is_refused_and_left_as_it_was(store_path: Path) -> None:
    with LocalKMS(store=store_path) as kms:
        cloudhsm_store(kms, "h")
    db = sqlite3.connect(store_path)
    db.execute("UPDATE key_stores SET doc = ?", ('{"$obj": "kmslab.kms.keystores:Nope"}',))
    db.commit()
    for _ in range(2):  # refused each time: the failed open wrote nothing over it
        with pytest.raises(StoreError):
            LocalKMS(store=store_path)
    assert db.execute("SELECT doc FROM key_stores").fetchone()[0].endswith('Nope"}')
    db.close()
