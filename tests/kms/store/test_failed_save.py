"""A call whose commit fails changes nothing: not the store, not what later calls see.

The failure is SQLite's own (``database or disk is full``, raised at COMMIT), injected by
wrapping the store's connection; the database rolls the transaction back as it would.
"""

from __future__ import annotations

import contextlib
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kmslab.exceptions import KMSError, KMSInternalException
from kmslab.kms import LocalKMS
from kmslab.kms.store import Store
from tests.kms.keystore_setup import cloudhsm_store

from .conftest import snapshot
from .test_properties import _STEPS as STEPS
from .test_properties import _step

#: What the caller gets (kmslab's text: AWS documents none for a store it cannot write).
UNSAVED = "kmslab could not save this change to its store (OperationalError); nothing was changed."


class FullDisk:
    """A store connection whose COMMIT fails while ``full``; it records every statement."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.full = True
        self.statements: list[str] = []

    def execute(self, sql: str, *args: Any) -> Any:
        self.statements.append(sql)
        if self.full and sql == "COMMIT":
            raise sqlite3.OperationalError("database or disk is full")
        return self.db.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.db, name)


@pytest.fixture
def full_disk(monkeypatch: pytest.MonkeyPatch) -> Callable[[LocalKMS], FullDisk]:
    def fill(kms: LocalKMS) -> FullDisk:
        store = kms.store
        assert store is not None and store._db is not None
        disk = FullDisk(store._db)
        monkeypatch.setattr(store, "_db", disk)
        return disk

    return fill


def dump(kms: LocalKMS) -> dict[str, Any]:
    """Everything the read operations say about keys, aliases, grants and tags, every Region."""
    out = snapshot(kms)
    del out["now"]  # the clock runs
    return out


def rows(path: Path) -> dict[str, list[Any]]:
    """Every row of the store's tables (read with a second connection)."""
    db = sqlite3.connect(path)
    try:
        tables = [t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {t: sorted(db.execute(f"SELECT * FROM {t}"), key=repr) for t in tables}
    finally:
        db.close()


def _setup(kms: LocalKMS) -> dict[str, str]:
    key = kms.call("CreateKey", Description="kept")["KeyMetadata"]["KeyId"]
    kms.call("TagResource", KeyId=key, Tags=[{"TagKey": "t", "TagValue": "1"}])
    kms.call("CreateAlias", AliasName="alias/kept", TargetKeyId=key)
    kms.call("CreateGrant", KeyId=key, GranteePrincipal=ROLE, Operations=["Decrypt"])
    mrk = kms.call("CreateKey", MultiRegion=True)["KeyMetadata"]["KeyId"]
    kms.call("ReplicateKey", KeyId=mrk, ReplicaRegion="eu-west-1")
    kms.aws_account.region("us-west-2")  # a Region ReplicateKey may add a key to
    return {"key": key, "mrk": mrk}


ROLE = "arn:aws:iam::111122223333:role/failed-save"

#: Name -> the call that fails to save: (kms, ids) -> the response.
CALLS: dict[str, Callable[[LocalKMS, dict[str, str]], Any]] = {
    "CreateKey": lambda kms, ids: kms.call("CreateKey", Description="ghost"),
    "CreateKey RSA": lambda kms, ids: kms.call(
        "CreateKey", KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY"
    ),
    "TagResource": lambda kms, ids: kms.call(
        "TagResource", KeyId=ids["key"], Tags=[{"TagKey": "t", "TagValue": "2"}]
    ),
    "CreateAlias": lambda kms, ids: kms.call(
        "CreateAlias", AliasName="alias/ghost", TargetKeyId=ids["key"]
    ),
    "DeleteAlias": lambda kms, ids: kms.call("DeleteAlias", AliasName="alias/kept"),
    "ScheduleKeyDeletion": lambda kms, ids: kms.call(
        "ScheduleKeyDeletion", KeyId=ids["key"], PendingWindowInDays=7
    ),
    "CreateGrant": lambda kms, ids: kms.call(
        "CreateGrant", KeyId=ids["key"], GranteePrincipal=ROLE, Operations=["Encrypt"]
    ),
    "ReplicateKey": lambda kms, ids: kms.call(
        "ReplicateKey", KeyId=ids["mrk"], ReplicaRegion="us-west-2"
    ),
    "UpdatePrimaryRegion": lambda kms, ids: kms.call(
        "UpdatePrimaryRegion", KeyId=ids["mrk"], PrimaryRegion="eu-west-1"
    ),
    # An AWS managed key is made on first use, by a read: a failed save must not leave it.
    "managed key": lambda kms, ids: kms.call("DescribeKey", KeyId="alias/aws/s3"),
}


@pytest.fixture
def kms(store_path: Path) -> Iterator[LocalKMS]:
    with LocalKMS(store=store_path) as kms:
        yield kms


@pytest.mark.parametrize("name", list(CALLS))
def test_a_call_whose_commit_fails_changes_nothing(
    name: str,
    kms: LocalKMS,
    store_path: Path,
    full_disk: Callable[[LocalKMS], FullDisk],
) -> None:
    ids = _setup(kms)
    call = CALLS[name]
    before, stored = dump(kms), rows(store_path)
    disk = full_disk(kms)
    for _ in range(5):  # the AWS CLI tries a call that answers 500 five times
        with pytest.raises(KMSInternalException) as info:
            call(kms, ids)
        assert str(info.value) == UNSAVED
        assert info.value.__cause__ is None and info.value.__context__ is None
    assert "COMMIT" in disk.statements  # it did try
    # Reads still work while the disk is full, and write nothing.
    disk.statements.clear()
    assert dump(kms) == before
    assert kms.call("DescribeKey", KeyId=ids["key"])["KeyMetadata"]["Description"] == "kept"
    assert disk.statements == []
    assert rows(store_path) == stored
    # Once there is room again, the call works once, and a reopen shows exactly that.
    disk.full = False
    response = call(kms, ids)
    after = dump(kms)
    assert after != before
    kms.close()
    with LocalKMS(store=store_path) as again:
        again.aws_account.region("us-west-2")  # empty Regions are not kept
        assert dump(again) == after
        if name.startswith("CreateKey"):
            assert len(again.call("ListKeys")["Keys"]) == len(before["us-east-1"]["keys"]) + 1
            assert again.call("DescribeKey", KeyId=response["KeyMetadata"]["KeyId"])


def test_reads_answer_while_the_disk_is_full(
    kms: LocalKMS, store_path: Path, full_disk: Callable[[LocalKMS], FullDisk]
) -> None:
    ids = _setup(kms)
    kms.call("DescribeKey", KeyId="alias/aws/s3")  # the managed key exists
    disk = full_disk(kms)
    with pytest.raises(KMSInternalException):
        kms.call("CreateKey")
    disk.statements.clear()
    assert kms.call("DescribeKey", KeyId="alias/aws/s3")["KeyMetadata"]["KeyManager"] == "AWS"
    assert len(kms.call("ListKeys")["Keys"]) == 3
    blob = kms.call("Encrypt", KeyId="alias/kept", Plaintext=b"p")["CiphertextBlob"]
    assert kms.call("Decrypt", CiphertextBlob=blob)["Plaintext"] == b"p"
    assert disk.statements == []
    kms.clock.advance(days=1)  # tries to commit the clock, fails quietly: the disk is full
    disk.statements.clear()
    assert kms.call("ListAliases", KeyId=ids["key"])["Aliases"][0]["AliasName"] == "alias/kept"
    assert disk.statements == []


def test_a_key_deleted_by_the_clock_comes_back_in_its_place_in_list_keys(
    kms: LocalKMS, store_path: Path, full_disk: Callable[[LocalKMS], FullDisk]
) -> None:
    """A key whose waiting period ends when the deletion cannot be saved comes back, and
    the call is still answered: the deletion comes due again at the next call."""
    ids = _setup(kms)
    later = kms.call("CreateKey")["KeyMetadata"]["KeyId"]
    kms.call("ScheduleKeyDeletion", KeyId=ids["key"], PendingWindowInDays=7)
    disk = full_disk(kms)
    kms.clock.advance(days=8)
    listed = [k["KeyId"] for k in kms.call("ListKeys")["Keys"]]  # a read: answered
    assert ids["key"] in listed and later in listed  # the deletion could not be kept
    # Put back: PendingDeletion again, before the keys created after it, its timer set.
    key = kms.keys[ids["key"]]
    assert key.state == "PendingDeletion"
    assert list(kms.keys).index(ids["key"]) < list(kms.keys).index(later)
    assert kms.timer("delete", ids["key"]) == key.deletion_date
    disk.full = False
    keys = [k["KeyId"] for k in kms.call("ListKeys")["Keys"]]  # now the deletion is saved
    assert ids["key"] not in keys and later in keys
    kms.close()
    with LocalKMS(store=store_path) as again:
        assert ids["key"] not in [k["KeyId"] for k in again.call("ListKeys")["Keys"]]


def test_a_cloudhsm_key_that_fails_to_save_leaves_no_material_in_the_cluster(
    kms: LocalKMS, store_path: Path, full_disk: Callable[[LocalKMS], FullDisk]
) -> None:
    store, _ = cloudhsm_store(kms, connect=True)
    before = (rows(store_path), kms.call("DescribeCustomKeyStores"))
    disk = full_disk(kms)
    with pytest.raises(KMSInternalException):
        kms.call("CreateKey", CustomKeyStoreId=store, Origin="AWS_CLOUDHSM")
    with pytest.raises(KMSInternalException):
        kms.call("DisconnectCustomKeyStore", CustomKeyStoreId=store)
    assert kms.call("DescribeCustomKeyStores") == before[1]
    disk.full = False
    kms.call("CreateKey")  # a state-changing call writes every cluster that differs
    assert rows(store_path)["clusters"] == before[0]["clusters"]
    assert rows(store_path)["key_stores"] == before[0]["key_stores"]
    # The cluster put back still serves the key store.
    key = kms.call("CreateKey", CustomKeyStoreId=store, Origin="AWS_CLOUDHSM")["KeyMetadata"]
    blob = kms.call("Encrypt", KeyId=key["KeyId"], Plaintext=b"hsm")["CiphertextBlob"]
    kms.close()
    with LocalKMS(store=store_path) as again:
        assert again.call("Decrypt", CiphertextBlob=blob)["Plaintext"] == b"hsm"


def test_the_first_grant_that_fails_to_save_leaves_no_token_key_to_write(
    kms: LocalKMS, store_path: Path, full_disk: Callable[[LocalKMS], FullDisk]
) -> None:
    """The key that signs grant tokens is made by the first CreateGrant: undone with it."""
    key = kms.call("CreateKey")["KeyMetadata"]["KeyId"]
    disk = full_disk(kms)
    with pytest.raises(KMSInternalException):
        kms.call("CreateGrant", KeyId=key, GranteePrincipal=ROLE, Operations=["Decrypt"])
    assert getattr(kms, "_grant_token_key", None) is None
    disk.statements.clear()
    assert kms.call("ListGrants", KeyId=key)["Grants"] == []
    kms.call("Encrypt", KeyId=key, Plaintext=b"p")
    assert disk.statements == []  # nothing left to write
    disk.full = False
    grant = kms.call("CreateGrant", KeyId=key, GranteePrincipal=ROLE, Operations=["Decrypt"])
    kms.close()
    with LocalKMS(store=store_path) as again:  # the token is signed by the kept key
        again.call("RetireGrant", GrantToken=grant["GrantToken"])
        assert again.call("ListGrants", KeyId=key)["Grants"] == []


def test_a_failed_save_then_close_keeps_the_committed_state(
    store_path: Path, full_disk: Callable[[LocalKMS], FullDisk]
) -> None:
    kms = LocalKMS(store=store_path)
    ids = _setup(kms)
    before = dump(kms)
    full_disk(kms)
    with pytest.raises(KMSInternalException):
        kms.call("CreateKey")
    kms.close()  # nothing pending: close has nothing of the failed call to write
    with LocalKMS(store=store_path) as again:
        again.aws_account.region("us-west-2")  # empty Regions are not kept
        assert dump(again) == before
        assert again.call("DescribeKey", KeyId=ids["key"])


def test_a_store_that_cannot_be_read_back_says_the_change_is_in_memory(
    kms: LocalKMS,
    store_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    full_disk: Callable[[LocalKMS], FullDisk],
) -> None:
    ids = _setup(kms)
    disk = full_disk(kms)

    def unreadable(*args: Any, **kwargs: Any) -> None:
        raise sqlite3.DatabaseError("database disk image is malformed")

    monkeypatch.setattr(Store, "reload", unreadable)
    with pytest.raises(KMSInternalException) as info:
        kms.call("TagResource", KeyId=ids["key"], Tags=[{"TagKey": "t", "TagValue": "3"}])
    assert str(info.value) == (
        "kmslab could not save this change to its store (OperationalError); it is in memory only."
    )
    disk.full = False
    monkeypatch.undo()
    kms.call("DescribeKey", KeyId=ids["key"])  # the change, kept, is saved now
    kms.close()
    with LocalKMS(store=store_path) as again:
        tags = again.call("ListResourceTags", KeyId=ids["key"])["Tags"]
        assert tags == [{"TagKey": "t", "TagValue": "3"}]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(st.tuples(_step, st.booleans()), min_size=1, max_size=20))
def test_any_calls_with_failing_commits_read_back_what_was_acknowledged(
    steps: list[tuple[tuple[str, int, int], bool]],
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "kms.sqlite3"
        with LocalKMS(store=path) as kms:
            kms.call("CreateKey")
            assert kms.store is not None and kms.store._db is not None
            disk = FullDisk(kms.store._db)
            disk.full = False
            kms.store._db = disk  # type: ignore[assignment]
            for (name, index, n), full in steps:
                if name == "advance":
                    kms.clock.advance(days=n * 3)
                    kms.call("ListKeys")  # what the clock does is saved, with room
                    continue
                ids = list(kms.keys)
                key = ids[index % len(ids)] if ids else "00000000-0000-4000-8000-000000000000"
                operation, params = STEPS[name](key, n)
                before = dump(kms) if full else None
                disk.full = full
                # A refused call and a call that could not be saved change nothing.
                with contextlib.suppress(KMSError):
                    kms.call(operation, **params)
                if full:
                    assert dump(kms) == before  # read while the disk is still full
                disk.full = False
            final = dump(kms)
        with LocalKMS(store=path) as again:
            for region in final:
                again.aws_account.region(region)  # empty Regions are not kept
            assert dump(again) == final
