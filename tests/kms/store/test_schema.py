"""The schema is versioned and migrated on open: a v1 store opens, migrated, with its keys."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from kmslab.exceptions import StoreError
from kmslab.kms import LocalKMS
from kmslab.kms.store import Store
from kmslab.kms.store.schema import SCHEMA_VERSION, migrate
from tests.kms.keystore_setup import cloudhsm_store

# The v1 layout exactly as kmslab wrote it: one account and Region per store, named in meta.
V1_TABLES = """
CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE keys (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE aliases (name TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE grants (key_id TEXT PRIMARY KEY, doc TEXT NOT NULL);
PRAGMA user_version = 1;
"""


@pytest.fixture
def v1_store(tmp_path: Path) -> tuple[Path, str, bytes]:
    """A v1 database (Region eu-west-1) holding one key with an alias, a grant and a
    ciphertext made before; its documents come from a current store (they did not change)."""
    source = tmp_path / "source.sqlite3"
    with LocalKMS(region="eu-west-1", store=source) as kms:
        key_id = kms.call("CreateKey", Description="from v1")["KeyMetadata"]["KeyId"]
        kms.call("CreateAlias", AliasName="alias/v1", TargetKeyId=key_id)
        kms.call(
            "CreateGrant",
            KeyId=key_id,
            GranteePrincipal="arn:aws:iam::111122223333:role/v1",
            Operations=["Decrypt"],
        )
        blob = kms.call("Encrypt", KeyId=key_id, Plaintext=b"old")["CiphertextBlob"]
        kms.clock.advance(days=10)
        kms.call("ListKeys")
    old = sqlite3.connect(source)
    path = tmp_path / "v1.sqlite3"
    v1 = sqlite3.connect(path)
    v1.executescript(V1_TABLES)
    v1.execute("INSERT INTO meta VALUES ('account', '111122223333'), ('region', 'eu-west-1')")
    for name, value in old.execute("SELECT name, value FROM meta"):
        v1.execute("INSERT INTO meta VALUES (?, ?)", (name.split(":")[0], value))
    v1.executemany("INSERT INTO keys VALUES (?, ?)", old.execute("SELECT id, doc FROM keys"))
    v1.executemany(
        "INSERT INTO aliases VALUES (?, ?)", old.execute("SELECT name, doc FROM aliases")
    )
    v1.executemany(
        "INSERT INTO grants VALUES (?, ?)", old.execute("SELECT key_id, doc FROM grants")
    )
    v1.commit()
    v1.close()
    old.close()
    shutil.copy(f"{source}.root-key", f"{path}.root-key")
    return path, key_id, blob


def test_a_v1_store_is_migrated_on_open(v1_store: tuple[Path, str, bytes]) -> None:
    path, key_id, blob = v1_store
    store = Store.open(path)
    try:
        assert store.migrated == (1, SCHEMA_VERSION)
        kms = LocalKMS(region="eu-west-1", store=store)
        assert kms.call("Decrypt", CiphertextBlob=blob)["Plaintext"] == b"old"
        assert kms.call("DescribeKey", KeyId="alias/v1")["KeyMetadata"]["Description"] == "from v1"
        assert len(kms.call("ListGrants", KeyId=key_id)["Grants"]) == 1
        assert kms.clock.state()[1].days == 10  # the clock row moved to its scope
        # The keys belong to the Region the v1 store named, not to another one.
        assert kms.aws_account.region("us-east-1").call("ListKeys")["Keys"] == []
    finally:
        store.close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()
    reopened = Store.open(path)
    assert reopened.migrated == (SCHEMA_VERSION, SCHEMA_VERSION)
    reopened.close()


def test_a_newer_schema_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite3"
    LocalKMS(store=path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="newer than this kmslab"):
        LocalKMS(store=path)
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
    db.close()


def test_a_failed_migration_leaves_the_database_as_it_was() -> None:
    db = sqlite3.connect(":memory:", isolation_level=None)
    db.executescript(V1_TABLES)
    db.execute("CREATE TABLE keys_v2 (x)")  # in the way of migration 2
    with pytest.raises(sqlite3.OperationalError):
        migrate(db)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 1
    assert {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")} == {
        "meta",
        "keys",
        "aliases",
        "grants",
        "keys_v2",
    }


def test_a_v2_store_is_migrated_and_then_keeps_key_stores(tmp_path: Path) -> None:
    """v3 only adds tables: a v2 database is today's without them, at user_version 2."""
    path = tmp_path / "v2.sqlite3"
    with LocalKMS(store=path) as kms:
        key_id = kms.call("CreateKey", Description="from v2")["KeyMetadata"]["KeyId"]
        blob = kms.call("Encrypt", KeyId=key_id, Plaintext=b"old")["CiphertextBlob"]
    db = sqlite3.connect(path)
    for table in ("key_stores", "clusters", "xks_routes", "iam"):
        db.execute(f"DROP TABLE {table}")
    db.execute("PRAGMA user_version = 2")
    db.commit()
    db.close()
    store = Store.open(path)
    try:
        assert store.migrated == (2, SCHEMA_VERSION) == (2, 3)
        kms = LocalKMS(store=store)
        assert kms.call("Decrypt", CiphertextBlob=blob)["Plaintext"] == b"old"
        assert kms.call("DescribeCustomKeyStores")["CustomKeyStores"] == []
        store_id, _ = cloudhsm_store(kms, "after v2")
        kms.close()
    finally:
        store.close()
    with LocalKMS(store=path) as again:
        assert again.call("DescribeKey", KeyId=key_id)["KeyMetadata"]["Description"] == "from v2"
        assert list(again.key_stores) == [store_id]


def test_a_failed_v3_migration_leaves_a_v2_database_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "v2.sqlite3"
    LocalKMS(store=path).close()
    db = sqlite3.connect(path, isolation_level=None)
    for table in ("key_stores", "clusters", "xks_routes", "iam"):
        db.execute(f"DROP TABLE {table}")
    db.execute("PRAGMA user_version = 2")
    db.execute("CREATE TABLE xks_routes (x)")  # in the way of migration 3
    with pytest.raises(sqlite3.OperationalError):
        migrate(db)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 2
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"meta", "keys", "aliases", "grants", "xks_routes"}
    db.close()
