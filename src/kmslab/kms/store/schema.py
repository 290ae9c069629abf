"""The store's tables, versioned: each version is one migration, run in order on open.

>>> import sqlite3
>>> db = sqlite3.connect(":memory:", isolation_level=None)
>>> migrate(db)
(0, 3)
>>> db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
True

The version lives in SQLite's ``PRAGMA user_version``. A new database runs every migration
from 1; an older one runs the ones it lacks, all in one transaction (SQLite's DDL is
transactional), so a failed migration leaves the database as it was. A database newer than
this kmslab is refused rather than guessed at.

Each row holds one JSON document written by :mod:`kmslab.kms.store.codec`: a key (with its
material sealed), an alias, or the grants of one key.

- v1: ``meta``, ``keys``, ``aliases`` and ``grants`` for one account in one Region (the
  account and Region kept in ``meta``).
- v2: rows scoped by ``(account, region)``, so one store can hold the keys of several
  Regions; the clock of each account (its Regions share one) is kept in ``meta`` as
  ``clock:<account>``, and each Region's sealed secrets (the grant-token key) as
  ``secret:<name>:<account>:<region>``.
- v3: what lives beside the keys, each row one document scoped like a key: ``key_stores``
  (custom key stores, their password and proxy credential sealed), ``clusters`` (the local
  model of AWS CloudHSM clusters, with the key material they hold sealed), ``xks_routes``
  (the loopback address that serves an external key store proxy's endpoint on this
  machine), and ``iam`` (one document per account: its IAM users and roles with their
  inline identity policies).
"""

from __future__ import annotations

import sqlite3

from kmslab.exceptions import StoreError

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "migrate"]

_V1 = """
CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE keys (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE aliases (name TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE grants (key_id TEXT PRIMARY KEY, doc TEXT NOT NULL);
"""

# v1 rows belong to the account and Region named in meta (kmslab's defaults if absent).
_V2 = """
CREATE TABLE keys_v2 (
    account TEXT NOT NULL, region TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL,
    PRIMARY KEY (account, region, id));
CREATE TABLE aliases_v2 (
    account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL, doc TEXT NOT NULL,
    PRIMARY KEY (account, region, name));
CREATE TABLE grants_v2 (
    account TEXT NOT NULL, region TEXT NOT NULL, key_id TEXT NOT NULL, doc TEXT NOT NULL,
    PRIMARY KEY (account, region, key_id));
INSERT INTO keys_v2 SELECT
    coalesce((SELECT value FROM meta WHERE name = 'account'), '111122223333'),
    coalesce((SELECT value FROM meta WHERE name = 'region'), 'us-east-1'),
    id, doc FROM keys ORDER BY rowid;
INSERT INTO aliases_v2 SELECT
    coalesce((SELECT value FROM meta WHERE name = 'account'), '111122223333'),
    coalesce((SELECT value FROM meta WHERE name = 'region'), 'us-east-1'),
    name, doc FROM aliases ORDER BY rowid;
INSERT INTO grants_v2 SELECT
    coalesce((SELECT value FROM meta WHERE name = 'account'), '111122223333'),
    coalesce((SELECT value FROM meta WHERE name = 'region'), 'us-east-1'),
    key_id, doc FROM grants ORDER BY rowid;
UPDATE meta SET name = 'clock:' ||
    coalesce((SELECT value FROM meta WHERE name = 'account'), '111122223333')
    WHERE name = 'clock';
DELETE FROM meta WHERE name IN ('account', 'region');
DROP TABLE keys;
DROP TABLE aliases;
DROP TABLE grants;
ALTER TABLE keys_v2 RENAME TO keys;
ALTER TABLE aliases_v2 RENAME TO aliases;
ALTER TABLE grants_v2 RENAME TO grants;
"""

# Nothing to move: before v3 these lived only in memory.
_V3 = """
CREATE TABLE key_stores (
    account TEXT NOT NULL, region TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL,
    PRIMARY KEY (account, region, id));
CREATE TABLE clusters (
    account TEXT NOT NULL, region TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL,
    PRIMARY KEY (account, region, id));
CREATE TABLE xks_routes (
    account TEXT NOT NULL, region TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL,
    PRIMARY KEY (account, region, id));
CREATE TABLE iam (account TEXT NOT NULL PRIMARY KEY, doc TEXT NOT NULL);
"""

#: Version -> the SQL that brings a database from the version before to it.
MIGRATIONS: dict[int, str] = {1: _V1, 2: _V2, 3: _V3}
SCHEMA_VERSION = max(MIGRATIONS)


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


def migrate(db: sqlite3.Connection, target: int = SCHEMA_VERSION) -> tuple[int, int]:
    """Bring ``db`` (opened with ``isolation_level=None``) to ``target``; returns (from, to).

    Raises :class:`StoreError` for a database made by a newer kmslab.
    """
    db.execute("BEGIN IMMEDIATE")
    try:
        found = int(db.execute("PRAGMA user_version").fetchone()[0])
        if found > SCHEMA_VERSION:
            raise StoreError(
                f"The store's schema is version {found}, newer than this kmslab knows "
                f"({SCHEMA_VERSION}). Upgrade kmslab to open it."
            )
        for version in range(found + 1, target + 1):
            for statement in _statements(MIGRATIONS[version]):
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {version}")
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:  # SQLite rolls back by itself on some errors (a full disk)
            db.execute("ROLLBACK")
        raise
    return found, max(found, target)
