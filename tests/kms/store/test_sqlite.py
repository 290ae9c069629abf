"""The store keeps everything a call changes, one transaction per call, one owner at a time."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import kmslab
from kmslab.clock import Clock
from kmslab.exceptions import StoreError, StoreLockedError
from kmslab.kms import HANDLERS, LocalKMS
from kmslab.kms.registry import changes_state
from kmslab.kms.store import Store

Scenario = Callable[[LocalKMS], dict[str, Any]]


def test_every_state_changing_operation_is_in_the_scenario(
    operations_made: frozenset[str], keystore_operations_made: frozenset[str]
) -> None:
    # A new operation that changes state must be added to conftest.every_change (or, for
    # custom key stores, to conftest.keystore_changes).
    changing = {op for op in HANDLERS if changes_state(op)}
    assert changing == operations_made | keystore_operations_made


def test_everything_survives_a_reopen(
    store_path: Path, scenario: Scenario, take_snapshot: Scenario
) -> None:
    with LocalKMS(store=store_path, clock=Clock()) as kms:
        made = scenario(kms)
        before = take_snapshot(kms)
    east = before["us-east-1"]
    assert made["doomed"] not in {k["KeyId"] for k in east["keys"]}  # deleted by the clock
    assert set(before) == {"now", "us-east-1", "eu-west-1", "us-west-2"}
    managed = [a for a in east["aliases"] if a["AliasName"] == "alias/aws/s3"]
    assert managed and "TargetKeyId" in managed[0]  # made on first use, and kept
    with LocalKMS(store=store_path) as again:
        after = take_snapshot(again)
        assert after.pop("now") >= before.pop("now")  # the clock moved 100 days, and kept it
        assert after == before
        for blob, plaintext in made["ciphertexts"]:
            assert again.call("Decrypt", CiphertextBlob=blob)["Plaintext"] == plaintext
        for spec, key_id in made["ids"].items():
            if spec == "RSA_2048":
                sig = again.call(
                    "Sign", KeyId=key_id, Message=b"m", SigningAlgorithm="RSASSA_PSS_SHA_256"
                )
                assert again.call(
                    "Verify",
                    KeyId=key_id,
                    Message=b"m",
                    Signature=sig["Signature"],
                    SigningAlgorithm="RSASSA_PSS_SHA_256",
                )["SignatureValid"]
            if spec == "ML_KEM_512":
                enc = again.call("Encapsulate", KeyId=key_id, EncapsulationAlgorithm="ML_KEM")
                dec = again.call(
                    "Decapsulate",
                    KeyId=key_id,
                    EncapsulationAlgorithm="ML_KEM",
                    SharedSecretCiphertextBlob=enc["SharedSecretCiphertextBlob"],
                )
                assert dec["SharedSecret"] == enc["SharedSecret"]
        # Clock-driven changes keep happening after a restart: the next automatic rotation.
        sym = made["ids"]["sym"]
        count = len(again.call("ListKeyRotations", KeyId=sym)["Rotations"])
        again.clock.advance(days=90)
        assert len(again.call("ListKeyRotations", KeyId=sym)["Rotations"]) == count + 1
    with LocalKMS(store=store_path) as third:  # ...and that rotation was saved by a read call
        assert len(third.call("ListKeyRotations", KeyId=sym)["Rotations"]) == count + 1


def test_a_frozen_clock_is_restored(store_path: Path) -> None:
    from datetime import datetime, timedelta, timezone

    start = datetime(2030, 1, 1, tzinfo=timezone.utc)
    with LocalKMS(store=store_path, clock=Clock(frozen_at=start)) as kms:
        kms.clock.advance(days=3)
        kms.call("CreateKey")
        kms.clock.advance(days=1)  # no call after this: close() keeps it
    with LocalKMS(store=store_path) as again:
        assert again.clock.now() - start == timedelta(days=4)


def test_a_change_the_store_cannot_keep_is_an_internal_error(
    store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The call fails with KMSInternalException and is undone (tests/kms/store/
    test_failed_save.py injects SQLite's own error at COMMIT, for many operations)."""
    with LocalKMS(store=store_path) as kms:
        key_id = kms.call("CreateKey")["KeyMetadata"]["KeyId"]

        def disk_full(self: Store, account: Any, batches: Any, *, extras: bool = False) -> None:
            if any(any(batch) for batch in batches.values()):  # a write, not a read
                raise OSError(28, "No space left on device")

        monkeypatch.setattr(Store, "save", disk_full)
        with pytest.raises(kmslab.exceptions.KMSInternalException) as info:
            kms.call("TagResource", KeyId=key_id, Tags=[{"TagKey": "a", "TagValue": "b"}])
        assert str(info.value) == (
            "kmslab could not save this change to its store (OSError); nothing was changed."
        )
        assert info.value.__cause__ is None and info.value.__context__ is None
        # The change is undone: reads answer (they save nothing) and do not show it.
        assert kms.call("ListResourceTags", KeyId=key_id)["Tags"] == []
        monkeypatch.undo()
        kms.call("TagResource", KeyId=key_id, Tags=[{"TagKey": "a", "TagValue": "c"}])
    with LocalKMS(store=store_path) as again:
        assert again.call("ListResourceTags", KeyId=key_id)["Tags"] == [
            {"TagKey": "a", "TagValue": "c"}
        ]


def test_a_failed_call_changes_nothing_in_the_store(store_path: Path) -> None:
    with LocalKMS(store=store_path) as kms:
        key_id = kms.call("CreateKey")["KeyMetadata"]["KeyId"]
        with pytest.raises(kmslab.exceptions.TagException):
            kms.call(
                "TagResource",
                KeyId=key_id,
                Tags=[{"TagKey": f"k{i}", "TagValue": "v"} for i in range(51)],
            )
        with pytest.raises(kmslab.exceptions.NotFoundException):
            kms.call("UpdateAlias", AliasName="alias/none", TargetKeyId=key_id)
    with LocalKMS(store=store_path) as again:
        assert again.call("ListResourceTags", KeyId=key_id)["Tags"] == []
        names = [a["AliasName"] for a in again.call("ListAliases")["Aliases"]]
        assert not [n for n in names if not n.startswith("alias/aws/")]  # AWS's predefined


def _statements(kms: LocalKMS) -> list[str]:
    assert kms.store is not None
    seen: list[str] = []
    kms.store._connection().set_trace_callback(seen.append)
    return seen


def test_a_call_writes_only_what_it_changed(store_path: Path) -> None:
    """The store's cost per call does not grow with the number of keys."""
    with LocalKMS(store=store_path) as kms:
        ids = [
            kms.call("CreateKey", KeyUsage="GENERATE_VERIFY_MAC", KeySpec="HMAC_224")[
                "KeyMetadata"
            ]["KeyId"]
            for _ in range(60)
        ]
        seen = _statements(kms)
        kms.call("TagResource", KeyId=ids[30], Tags=[{"TagKey": "a", "TagValue": "b"}])
        writes = [s for s in seen if s.startswith(("INSERT", "DELETE", "UPDATE"))]
        # The key's row and its (empty) grants row; nothing about the other 59 keys.
        assert len(writes) == 2 and all(ids[30] in s or "grants" in s for s in writes)
        assert seen[0] == "BEGIN IMMEDIATE" and seen[-1] == "COMMIT"
        seen.clear()
        kms.call("GenerateMac", KeyId=ids[1], Message=b"m", MacAlgorithm="HMAC_SHA_224")
        kms.call("DescribeKey", KeyId=ids[2])
        assert seen == []  # read calls write nothing


def test_one_owner_at_a_time(store_path: Path) -> None:
    with LocalKMS(store=store_path) as kms:
        kms.call("CreateKey")
        with pytest.raises(StoreLockedError) as info:
            LocalKMS(store=store_path)
        message = str(info.value)
        assert "already open in this process" in message and str(store_path) in message
        assert info.value.owner["pid"] == os.getpid()
        assert "since 20" in message and "close()" in message
        # Another process gets the same answer.
        code = textwrap.dedent(f"""
            from kmslab import LocalKMS
            from kmslab.exceptions import StoreLockedError
            try:
                LocalKMS(store={str(store_path)!r})
            except StoreLockedError as exc:
                print(exc.owner["pid"])
        """)
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
        )
        assert out.stdout.strip() == str(os.getpid())
    # Released on close: the next owner opens it and finds the key.
    with LocalKMS(store=store_path) as again:
        assert len(again.call("ListKeys")["Keys"]) == 1


def test_the_lock_goes_with_a_killed_owner(store_path: Path) -> None:
    code = textwrap.dedent(f"""
        import os
        from kmslab import LocalKMS
        kms = LocalKMS(store={str(store_path)!r})
        print(kms.call("CreateKey")["KeyMetadata"]["KeyId"], flush=True)
        os._exit(0)  # no close(): a crash
    """)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    with LocalKMS(store=store_path) as kms:
        assert kms.call("DescribeKey", KeyId=out.stdout.strip())["KeyMetadata"]["Enabled"]


@pytest.mark.parametrize("ending", ["exit", "os._exit"])
def test_a_store_left_open_keeps_its_clock(store_path: Path, ending: str) -> None:
    """A notebook: advance the clock 30 days, then the kernel exits without close(). At a
    normal exit an atexit hook closes the store; even a killed process (os._exit: no hooks)
    kept the clock, committed when it was advanced."""
    code = textwrap.dedent(f"""
        import os
        from kmslab import LocalKMS
        kms = LocalKMS(store={str(store_path)!r})
        key_id = kms.call("CreateKey")["KeyMetadata"]["KeyId"]
        kms.call("ScheduleKeyDeletion", KeyId=key_id, PendingWindowInDays=7)
        kept = kms.call("CreateKey")["KeyMetadata"]["KeyId"]
        print(key_id, kept, kms.clock.now().isoformat(), flush=True)
        kms.clock.advance(days=30)
        if {ending!r} == "os._exit":
            os._exit(0)
    """)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    key_id, kept, before = out.stdout.split()
    with LocalKMS(store=store_path) as kms:
        assert kms.clock.now() - datetime.fromisoformat(before) >= timedelta(days=30)
        assert [k["KeyId"] for k in kms.call("ListKeys")["Keys"]] == [kept]
        assert key_id not in kms.keys
    if ending == "exit":  # closed: checkpointed into the database file, the WAL gone
        assert not store_path.with_name(store_path.name + "-wal").exists()


def test_the_exit_hook_keeps_no_store_alive(store_path: Path) -> None:
    import gc
    import weakref

    kms = LocalKMS(store=store_path)
    kms.call("CreateKey")
    gone = weakref.ref(kms.aws_account)
    del kms
    gc.collect()
    assert gone() is None
    gc.collect()
    with LocalKMS(store=store_path) as again:  # its lock went with it
        assert len(again.call("ListKeys")["Keys"]) == 1


def test_regions_share_a_store_without_mixing(store_path: Path) -> None:
    with LocalKMS(store=store_path) as east:
        west = east.aws_account.region("us-west-2")
        east_id = east.call("CreateKey")["KeyMetadata"]["KeyId"]
        west_id = west.call("CreateKey")["KeyMetadata"]["KeyId"]
        assert east.store is not None
        with pytest.raises(StoreError, match="already open for account"):
            LocalKMS(store=east.store)
    with LocalKMS(store=store_path) as kms:  # every Region comes back with the account
        assert [k["KeyId"] for k in kms.call("ListKeys")["Keys"]] == [east_id]
        west = kms.aws_account.regions["us-west-2"]
        assert [k["KeyId"] for k in west.call("ListKeys")["Keys"]] == [west_id]
    with LocalKMS(account="444455556666", store=store_path) as other:  # another account
        assert other.call("ListKeys")["Keys"] == []


def test_multi_region_keys_stay_related_after_a_restart(store_path: Path) -> None:
    with LocalKMS(store=store_path) as east:
        mrk = east.call("CreateKey", MultiRegion=True)["KeyMetadata"]["KeyId"]
        east.call("ReplicateKey", KeyId=mrk, ReplicaRegion="eu-west-1")
        blob = east.call("Encrypt", KeyId=mrk, Plaintext=b"before")["CiphertextBlob"]
    with LocalKMS(store=store_path) as east:
        eu = east.aws_account.regions["eu-west-1"]
        assert eu.call("Decrypt", CiphertextBlob=blob)["Plaintext"] == b"before"
        # Rotation at the primary reaches the replica: they share material again.
        east.call("RotateKeyOnDemand", KeyId=mrk)
        newer = east.call("Encrypt", KeyId=mrk, Plaintext=b"after")["CiphertextBlob"]
        assert eu.call("Decrypt", CiphertextBlob=newer)["Plaintext"] == b"after"
        assert east.keys[mrk].multi_region is eu.keys[mrk].multi_region
        config = east.call("DescribeKey", KeyId=mrk)["KeyMetadata"]["MultiRegionConfiguration"]
        assert [r["Region"] for r in config["ReplicaKeys"]] == ["eu-west-1"]
    with LocalKMS(store=store_path) as east:  # and the rotation was saved in both Regions
        eu = east.aws_account.regions["eu-west-1"]
        assert eu.call("Decrypt", CiphertextBlob=newer)["Plaintext"] == b"after"


def test_client_store_argument(store_path: Path) -> None:
    client = kmslab.client(store=store_path)
    key_id = client.create_key(Description="from a notebook")["KeyMetadata"]["KeyId"]
    client.local_kms.close()
    client = kmslab.client(store=store_path)
    try:
        assert client.describe_key(KeyId=key_id)["KeyMetadata"]["Description"] == "from a notebook"
    finally:
        client.local_kms.close()
    with pytest.raises(kmslab.exceptions.TargetError):
        kmslab.client("aws", store=store_path)


def test_what_is_not_a_store_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="is a directory"):
        LocalKMS(store=tmp_path)
    with pytest.raises(StoreError, match="does not exist"):
        LocalKMS(store=tmp_path / "missing" / "kms.sqlite3")
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(os.urandom(4096))
    (tmp_path / "garbage.sqlite3.root-key").write_bytes(os.urandom(32))
    (tmp_path / "garbage.sqlite3.root-key").chmod(0o600)
    with pytest.raises(StoreError, match="not a kmslab store"):
        LocalKMS(store=garbage)
    # The lock was released after the failure.
    with pytest.raises(StoreError, match="not a kmslab store"):
        LocalKMS(store=garbage)


def test_a_document_naming_a_foreign_class_is_refused(store_path: Path) -> None:
    with LocalKMS(store=store_path) as kms:
        key_id = kms.call("CreateKey")["KeyMetadata"]["KeyId"]
    db = sqlite3.connect(store_path)
    db.execute(
        "UPDATE keys SET doc = ? WHERE id = ?", ('{"$obj": "subprocess:Popen", "f": {}}', key_id)
    )
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="outside kmslab"):
        LocalKMS(store=store_path)


def test_an_import_token_outlives_a_restart(store_path: Path, known_material: bytes) -> None:
    """GetParametersForImport's wrapping private key is kept (sealed) with its token."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    with LocalKMS(store=store_path) as kms:
        key_id = kms.call("CreateKey", Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
        params = kms.call(
            "GetParametersForImport",
            KeyId=key_id,
            WrappingKeySpec="RSA_2048",
            WrappingAlgorithm="RSAES_OAEP_SHA_256",
        )
    oaep = padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), None)
    public = serialization.load_der_public_key(params["PublicKey"])
    wrapped = public.encrypt(known_material, oaep)  # type: ignore[union-attr]
    with LocalKMS(store=store_path) as kms:
        kms.call(
            "ImportKeyMaterial",
            KeyId=key_id,
            ImportToken=params["ImportToken"],
            EncryptedKeyMaterial=wrapped,
            ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE",
        )
        blob = kms.call("Encrypt", KeyId=key_id, Plaintext=b"x")["CiphertextBlob"]
    with LocalKMS(store=store_path) as kms:
        assert kms.call("DescribeKey", KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
        assert kms.call("Decrypt", CiphertextBlob=blob)["Plaintext"] == b"x"


def test_a_store_naming_classes_by_their_old_modules_opens(
    store_path: Path, known_material: bytes
) -> None:
    """Stores written before stable class names name each class by "module:qualname", and
    WrappingParams has moved since (kms.ops.lifecycle -> kms.ops.imports)."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    with LocalKMS(store=store_path) as kms:
        key_id = kms.call("CreateKey", Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
        params = kms.call(
            "GetParametersForImport",
            KeyId=key_id,
            WrappingKeySpec="RSA_2048",
            WrappingAlgorithm="RSAES_OAEP_SHA_256",
        )
        other = kms.call("CreateKey")["KeyMetadata"]["KeyId"]
    db = sqlite3.connect(store_path)
    legacy = {
        '"$obj":"WrappingParams"': '"$obj":"kmslab.kms.ops.lifecycle:WrappingParams"',
        '"$obj":"Key"': '"$obj":"kmslab.kms.keys:Key"',
        '"$obj":"Material"': '"$obj":"kmslab.kms.keys:Material"',
    }
    for row_id, doc in db.execute("SELECT id, doc FROM keys").fetchall():
        for new, old in legacy.items():
            doc = doc.replace(new, old)
        db.execute("UPDATE keys SET doc = ? WHERE id = ?", (doc, row_id))
    db.commit()
    docs = db.execute("SELECT group_concat(doc) FROM keys").fetchone()[0]
    assert "ops.lifecycle:WrappingParams" in docs
    db.close()
    oaep = padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), None)
    public = serialization.load_der_public_key(params["PublicKey"])
    wrapped = public.encrypt(known_material, oaep)  # type: ignore[union-attr]
    with LocalKMS(store=store_path) as kms:
        blob = kms.call("Encrypt", KeyId=other, Plaintext=b"x")["CiphertextBlob"]
        kms.call(  # the token of before: its WrappingParams was read by its old name
            "ImportKeyMaterial",
            KeyId=key_id,
            ImportToken=params["ImportToken"],
            EncryptedKeyMaterial=wrapped,
            ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE",
        )
    with LocalKMS(store=store_path) as kms:  # written back with the stable names
        assert kms.call("Decrypt", CiphertextBlob=blob)["Plaintext"] == b"x"
        assert kms.call("DescribeKey", KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"


def test_grant_tokens_and_retirable_grants_outlive_a_restart(store_path: Path) -> None:
    role = "arn:aws:iam::111122223333:role/retiring"
    with LocalKMS(store=store_path) as kms:
        key_id = kms.call("CreateKey")["KeyMetadata"]["KeyId"]
        first = kms.call(
            "CreateGrant",
            KeyId=key_id,
            GranteePrincipal=role,
            RetiringPrincipal=role,
            Operations=["Decrypt"],
            Name="first",
        )
        kms.call("CreateGrant", KeyId=key_id, GranteePrincipal=role, Operations=["Encrypt"])
        listed = kms.call("ListRetirableGrants", RetiringPrincipal=role)["Grants"]
    with LocalKMS(store=store_path) as kms:
        assert kms.call("ListRetirableGrants", RetiringPrincipal=role)["Grants"] == listed
        # The same named request is recognised as a retry after the restart.
        again = kms.call(
            "CreateGrant",
            KeyId=key_id,
            GranteePrincipal=role,
            RetiringPrincipal=role,
            Operations=["Decrypt"],
            Name="first",
        )
        assert again["GrantId"] == first["GrantId"]
        # A token handed out before the restart still retires its grant.
        kms.call("RetireGrant", GrantToken=first["GrantToken"])
        assert len(kms.call("ListGrants", KeyId=key_id)["Grants"]) == 1
    with LocalKMS(store=store_path) as kms:
        assert kms.call("ListRetirableGrants", RetiringPrincipal=role)["Grants"] == []
