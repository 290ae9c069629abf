"""The embedded store: one SQLite database file, its root key file, and its lock file.

>>> import tempfile, pathlib
>>> from kmslab import LocalKMS
>>> path = pathlib.Path(tempfile.mkdtemp()) / "kms.sqlite3"
>>> kms = LocalKMS(store=path)
>>> key_id = kms.call("CreateKey", Description="kept")["KeyMetadata"]["KeyId"]
>>> kms.close()
>>> with LocalKMS(store=path) as again:
...     again.call("DescribeKey", KeyId=key_id)["KeyMetadata"]["Description"]
'kept'

Why SQLite through the standard library's ``sqlite3``: it ships with every Python (no
dependency, nothing to run beside the notebook), and it is transactional: a commit is
atomic and durable, and a crash (even SIGKILL, or power loss with ``synchronous=FULL``)
leaves the last committed state, never half a write. WAL mode (write-ahead logging) makes
each commit one append and one fsync, instead of rewriting pages in place.

Files, for a store at ``PATH``: ``PATH`` (the database, plus SQLite's ``PATH-wal`` and
``PATH-shm``), ``PATH.root-key`` (32 random bytes, mode 0600: key material is sealed under
it, see :mod:`~kmslab.kms.store.sealing`) and ``PATH.lock`` (who owns the store; the lock
itself is held on ``PATH``, see :mod:`~kmslab.kms.store.lock`). Keep the root key file with
the database (and back both up together): without it the key material cannot be opened.
While a store is open, recent commits may be only in ``PATH-wal``; ``close()`` moves them
into ``PATH`` (a checkpoint). So back up a closed store's ``PATH`` and ``PATH.root-key``, or
an open one's ``PATH``, ``PATH-wal`` and ``PATH.root-key`` together, or use ``sqlite3 PATH
".backup COPY"``.

Opening refuses, in one line saying what to do (:class:`~kmslab.exceptions.StoreError`),
files it cannot use (permissions, a read-only file system, a full disk, a damaged database,
a root key or database that is a link, a directory, a FIFO or a device), a database that
is empty or gone while its root key or a -wal file is still there (making a new store in
its place would lose its keys without a word; nothing is touched), and records it cannot
read (a row edited by hand, an alias whose key is gone, a key without material).
If closing cannot checkpoint (a full disk), :attr:`Store.checkpoint_failed` says why, and
``PATH-wal`` holds the latest commits: keep it with ``PATH``.

Each state-changing call is one transaction: :meth:`Store.save` writes the keys, aliases
and grants the call changed (and the clock, and each Region's next creation number, so a
number a deleted key or grant had is never given again), the records beside them that
differ from what was committed (custom key stores, CloudHSM clusters, proxy routes, IAM:
see :mod:`~kmslab.kms.store.extras`), and commits before the call answers. A read writes
nothing. If the commit fails (a full disk), :meth:`Store.reload` puts back in memory what
the database holds for everything the call changed, and the call fails: as in AWS, a failed
call changes nothing, and no key it made appears later.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kmslab.exceptions import KMSError, StoreError
from kmslab.kms.keys import Key
from kmslab.kms.store.codec import Codec, Shape, stored
from kmslab.kms.store.extras import COLLECTIONS, IamState, iam_doc, iam_state, restore_iam
from kmslab.kms.store.faults import (
    DAMAGE,
    checkpoint,
    file_size,
    lost_store,
    os_error,
    regular_or_absent,
    sqlite_error,
    unmake,
    unreadable,
)
from kmslab.kms.store.lock import OwnerLock
from kmslab.kms.store.rows import (
    Place,
    clock_name,
    committed,
    doc_text,
    numbers_name,
    secret_name,
    write_rows,
)
from kmslab.kms.store.schema import migrate
from kmslab.kms.store.sealing import RootKey

if TYPE_CHECKING:
    from kmslab.kms.account import Account
    from kmslab.kms.service import LocalKMS

__all__ = ["Store"]

#: Secrets a LocalKMS holds outside its keys, kept sealed in meta: the attribute names
#: (the key that signs grant tokens, so tokens handed out before a restart still work).
KMS_SECRETS = ("_grant_token_key",)
#: The name of the meta row that proves the root key belongs to this database.
_ROOT_CHECK = "root-key-check"
_ROOT_CHECK_TEXT = b"kmslab root key check"
#: What a row of keys, aliases and grants must hold (an alias: its ListAliases entry).
_KEY = stored("Key")
_GRANTS = stored("Grant", many=True)
_ALIAS: Shape = (
    "an alias entry",
    lambda v: (
        isinstance(v, dict)
        and all(isinstance(v.get(k), str) for k in ("AliasName", "AliasArn", "TargetKeyId"))
    ),
)


class Store:
    """One open store. ``Store.open(path)``; ``close()`` releases it (or the process ending).

    An :class:`~kmslab.kms.account.Account` (its clock, its secrets, one
    :class:`~kmslab.kms.service.LocalKMS` per Region) claims it with :meth:`claim`; each
    Region loads with :meth:`attach`; several accounts may share one open store.
    """

    def __init__(self, path: Path, db: sqlite3.Connection, root: RootKey, lock: OwnerLock) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = db
        self._root = root
        self._lock = lock
        self._codec = Codec(root, refs=(Key,), name=f"The store {path}")
        self._clocks: dict[str, Any] = {}
        self._secrets: dict[tuple[str, str, str], Any] = {}
        # (account, Region) -> the next creation number committed (kmslab.kms.index.Numbering).
        self._numbers: dict[tuple[str, str], int] = {}
        self._accounts: set[str] = set()
        # (table, account, Region) -> id -> the document text committed (or loaded) for
        # each record beside the keys; a save writes only the ones whose text differs.
        self._extras: dict[tuple[str, str, str], dict[str, str]] = {}
        # Account id -> the IAM state committed (or loaded).
        self._iam: dict[str, IamState] = {}
        # LocalKMS objects sharing this store may run calls in different threads.
        self._mutex = threading.Lock()
        #: (from, to) schema versions of the migration run on open, e.g. (1, 2); (n, n) if none.
        self.migrated: tuple[int, int] = (0, 0)
        #: Set by close(): why the last checkpoint left commits only in PATH-wal, or None.
        self.checkpoint_failed: str | None = None

    def __repr__(self) -> str:
        return f"Store(path={str(self.path)!r}, open={self._db is not None})"

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Store:
        """Open (or create) the store at ``path``: lock it, read its root key, migrate it.

        Raises :class:`~kmslab.exceptions.StoreLockedError` if another process (or another
        open Store) owns it, :class:`~kmslab.exceptions.StoreError` (one line saying what
        to do) if its root key is missing or not its own, its schema is newer than this
        kmslab, the database is empty or gone while its root key (or a -wal file) is there,
        a path is not a regular file, or a file cannot be used (permissions, a read-only
        file system, a full disk, damage).
        """
        path = Path(path).expanduser().absolute()
        root_path = path.with_name(path.name + ".root-key")
        wal_path = path.with_name(path.name + "-wal")
        try:
            if path.is_dir():
                raise StoreError(f"The store path {path} is a directory; give a file name in it.")
            if not path.parent.is_dir():
                raise StoreError(f"The folder of the store {path} does not exist.")
            regular_or_absent(path)  # before anything opens it: a FIFO would block
            if not path.exists() and os.path.lexists(root_path):  # a dangling link too
                raise lost_store(path, root_path, was_there=False)  # before making anything
            was_there = path.exists()
            lock = OwnerLock.acquire(path)  # creates the database file (0600) if absent
        except OSError as exc:  # a name too long, a folder we may not search
            raise os_error(exc, path) from None
        try:
            # SQLite writes its header page when it makes a database, so a store's file is
            # never 0 bytes once made: an empty one beside a root key (or a -wal file) lost
            # its keys, and nothing here may touch what is left (SQLite would replay or
            # delete the -wal file).
            empty = path.stat().st_size == 0
            wal = file_size(wal_path)
            if empty and (wal or os.path.lexists(root_path)):
                raise lost_store(path, root_path, was_there, wal=wal)
            made_root = empty and not os.path.lexists(root_path)
            root = RootKey.open_or_create(root_path, create=empty)
            db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            try:
                store = cls(path, db, root, lock)
                store._prepare()
            except BaseException:
                db.close()
                if made_root:  # a new store that could not be made (a full disk): undo it
                    unmake(path, root_path, was_there)
                raise
        except BaseException as exc:
            lock.release()  # after SQLite closed: see OwnerLock.release
            if isinstance(exc, OSError):
                raise os_error(exc, path) from None
            if isinstance(exc, sqlite3.Error):
                raise sqlite_error(exc, path) from None
            raise
        return store

    def _prepare(self) -> None:
        db = self._connection()
        db.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit is on disk before the call answers (NORMAL would survive a
        # process crash but could lose the last commits on power loss).
        db.execute("PRAGMA synchronous=FULL")
        self.migrated = migrate(db)
        row = db.execute("SELECT value FROM meta WHERE name = ?", (_ROOT_CHECK,)).fetchone()
        if row is None:
            check = self._root.seal(_ROOT_CHECK.encode(), _ROOT_CHECK_TEXT)
            db.execute("INSERT INTO meta VALUES (?, ?)", (_ROOT_CHECK, check.hex()))
        else:
            with self._reading() as place:
                place.record = f"meta row {_ROOT_CHECK}"
                check = self._root.open(_ROOT_CHECK.encode(), bytes.fromhex(row[0]))
            if check != _ROOT_CHECK_TEXT:
                raise StoreError(f"The root key {self._root.path} is not the key of {self.path}.")

    @contextlib.contextmanager
    def _reading(self) -> Iterator[Place]:
        """Loading: an SQLite error (a damaged page met only now) or a record that cannot
        be read (:data:`~kmslab.kms.store.faults.DAMAGE`) is one StoreError line; the
        caller names the record it reads in the yielded place."""
        place = Place()
        try:
            yield place
        except sqlite3.Error as exc:
            raise sqlite_error(exc, self.path) from None
        except StoreError as exc:
            if str(self.path) in str(exc):
                raise
            # A sealed value in a format kmslab does not know: said with the store's name.
            what = str(exc).rstrip(".")
            raise unreadable(
                self.path, f"{place.record}: {what}" if place.record else what
            ) from None
        except DAMAGE as exc:
            what = type(exc).__name__
            raise unreadable(
                self.path, f"{place.record}: {what}" if place.record else what
            ) from None

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            raise StoreError(f"The store {self.path} is closed.")
        return self._db

    def close(self) -> None:
        """Checkpoint and close the database, release the lock (idempotent).

        If the checkpoint could not move every commit into ``PATH`` (a full disk, another
        program reading an older state), :attr:`checkpoint_failed` says why: the latest
        commits are then only in ``PATH-wal``, which must be kept (and backed up) with it.
        """
        with self._mutex:
            if self._db is not None:
                self.checkpoint_failed = checkpoint(self._db)
                self._db.close()
                self._db = None
                self._lock.release()

    # -- loading -------------------------------------------------------------------------

    def claim(self, account: Account) -> None:
        """Make ``account`` this store's owner of its account id; restore its saved clock.

        Raises :class:`StoreError` if another open Account already has that id here.
        """
        with self._mutex, self._reading() as place:
            if account.id in self._accounts:
                raise StoreError(
                    f"The store {self.path} is already open for account {account.id}; use "
                    "that LocalKMS (or its aws_account) instead of opening a second one."
                )
            row = (
                self._connection()
                .execute("SELECT value FROM meta WHERE name = ?", (clock_name(account.id),))
                .fetchone()
            )
            if row is not None:
                place.record = f"meta row {clock_name(account.id)}"
                state = json.loads(row[0])
                frozen = state.get("frozen")
                account.clock.restore(
                    datetime.fromisoformat(frozen) if frozen else None,
                    timedelta(seconds=state["offset"]),
                )
            place.record = ""
            self._clocks[account.id] = account.clock.state()
            row = (
                self._connection()
                .execute("SELECT doc FROM iam WHERE account = ?", (account.id,))
                .fetchone()
            )
            if row is not None:
                try:
                    restore_iam(account.iam, row[0])
                except (ValueError, KeyError, TypeError, KMSError):
                    raise StoreError(
                        f"The store {self.path}: its IAM record of account {account.id} is "
                        "damaged; it "
                        "cannot be loaded."
                    ) from None
                self._iam[account.id] = iam_state(account.iam)
            self._accounts.add(account.id)

    def release(self, account: Account) -> None:
        with self._mutex:
            self._accounts.discard(account.id)

    def regions(self, account_id: str) -> list[str]:
        """The Regions of an account that hold something in the store."""
        with self._mutex, self._reading():
            tables = ["keys", "aliases", *(c.table for c in COLLECTIONS)]
            # Table names come from this module and COLLECTIONS, never from input.
            query = " UNION ".join(f"SELECT region FROM {t} WHERE account = ?" for t in tables)
            rows = self._connection().execute(
                query + " ORDER BY region", (account_id,) * len(tables)
            )
            return [region for (region,) in rows]

    def attach(self, kms: LocalKMS) -> None:
        """Load one Region's keys, aliases, grants, secrets, custom key stores, CloudHSM
        clusters and proxy routes from the store into ``kms``."""
        scope = (kms.account, kms.region)
        with self._mutex, self._reading() as place:
            db = self._connection()
            loads = self._codec.loads
            for collection in COLLECTIONS:
                saved: dict[str, str] = {}
                for item_id, doc in db.execute(
                    f"SELECT id, doc FROM {collection.table} "  # a table of COLLECTIONS
                    "WHERE account = ? AND region = ? ORDER BY rowid",
                    scope,
                ):
                    collection.held(kms)[item_id] = loads(
                        doc, item_id, collection.shape, table=collection.table
                    )
                    saved[item_id] = doc
                self._extras[(collection.table, *scope)] = saved
            keys = [
                loads(doc, key_id, _KEY, table="keys")
                for key_id, doc in db.execute(
                    "SELECT id, doc FROM keys WHERE account = ? AND region = ? ORDER BY rowid",
                    scope,
                )
            ]
            aliases = [
                loads(doc, name, _ALIAS, table="aliases")
                for name, doc in db.execute(
                    "SELECT name, doc FROM aliases WHERE account = ? AND region = ? ORDER BY rowid",
                    scope,
                )
            ]
            grants = {
                key_id: loads(doc, key_id, _GRANTS, table="grants")
                for key_id, doc in db.execute(
                    "SELECT key_id, doc FROM grants WHERE account = ? AND region = ? "
                    "ORDER BY rowid",
                    scope,
                )
            }
            for name in KMS_SECRETS:
                row = db.execute(
                    "SELECT value FROM meta WHERE name = ?", (secret_name(scope, name),)
                ).fetchone()
                if row is not None:
                    place.record = f"meta row {secret_name(scope, name)}"
                    value = self._root.open(
                        secret_name(scope, name).encode(), bytes.fromhex(row[0])
                    )
                    setattr(kms, name, value)
                    self._secrets[(*scope, name)] = value
            row = db.execute(
                "SELECT value FROM meta WHERE name = ?", (numbers_name(scope),)
            ).fetchone()
            if row is not None:
                place.record = f"meta row {numbers_name(scope)}"
                # Past every number given before, even to keys and grants since deleted: a
                # marker that names one never meets a new item with the same number.
                kms.numbers.saw(int(row[0]) - 1)
                self._numbers[scope] = int(row[0])
            place.record = ""
            self._check_references(keys, aliases)
        with self._reading():
            kms.restore(keys, aliases, grants)

    def _check_references(self, keys: list[Key], aliases: list[dict[str, Any]]) -> None:
        """Refuse, naming the row, what would be served now and fail later: an alias whose
        key is gone, a key of Origin AWS_KMS without key material (any other origin may
        have none: awaiting import, or kept in a custom key store). O(keys + aliases)."""
        held = {key.id for key in keys}
        for alias in aliases:
            if alias["TargetKeyId"] not in held:
                raise unreadable(
                    self.path,
                    f"alias {alias['AliasName']} (table aliases) names the key "
                    f"{alias['TargetKeyId']}, which the store does not hold",
                )
        for key in keys:
            if key.origin == "AWS_KMS" and not key.materials:
                raise unreadable(self.path, f"key {key.id} (table keys) has no key material")

    # -- saving --------------------------------------------------------------------------

    def save(
        self,
        account: Account,
        batches: dict[str, tuple[set[str], set[str], set[str]]],
        *,
        extras: bool = False,
    ) -> None:
        """Write what changed in ``account``'s Regions in one transaction.

        ``batches``: Region -> (key ids, alias names, key ids whose grants changed). A key,
        alias or key's grants that the Region no longer holds is deleted. The Regions'
        secrets and the clock are written too if they changed, when anything else is written
        (or with ``extras``): a read that changed nothing writes nothing. ``extras``: also
        compare the records beside the keys (:mod:`~kmslab.kms.store.extras`) with what was
        committed, and write those that differ. Returns once it has committed.
        """
        dumps = self._codec.dumps
        clock = account.clock.state()
        with self._mutex:  # the codec's seal cache is shared by every user of this store
            # An account whose claim failed (a damaged record) never overwrites what it
            # could not load.
            extras = extras and account.id in self._accounts
            # Encode first (sealing may fail on something unsaveable): nothing is half-written.
            beside = self._diff_extras(account) if extras else []
            iam = iam_state(account.iam) if extras else None
            if iam == self._iam.get(account.id):
                iam = None
            iam_text = iam_doc(iam) if iam is not None else None
            writes = []
            for region, (keys, aliases, grants) in batches.items():
                kms = account.regions[region]
                scope = (account.id, region)
                writes.append(
                    (
                        scope,
                        [(k, doc_text(dumps, k, kms.keys.get(k))) for k in keys],
                        [(a, doc_text(dumps, a, kms.aliases.get(a))) for a in aliases],
                        [(k, doc_text(dumps, k, kms.grants_of(k))) for k in grants],
                        [
                            (name, value)
                            for name in KMS_SECRETS
                            if (value := getattr(kms, name, None)) is not None
                            and self._secrets.get((*scope, name)) is not value
                        ],
                        kms.numbers.next if kms.numbers.next != self._numbers.get(scope, 1) else 0,
                    )
                )
            clock_moved = self._clocks.get(account.id) != clock
            new_secrets = any(w[4] for w in writes)
            besides = bool(beside) or iam is not None or clock_moved or new_secrets
            if not any(any(w[1:4]) for w in writes) and not (extras and besides):
                # A read that changed nothing never touches the disk: a clock moved in
                # Python, or a secret made by a read (a grant token key no token was
                # signed with yet), is written with the next change, or by close().
                return
            db = self._connection()
            db.execute("BEGIN IMMEDIATE")
            try:
                for scope, key_rows, alias_rows, grant_rows, secrets, numbers in writes:
                    if numbers:
                        db.execute(
                            "INSERT OR REPLACE INTO meta VALUES (?, ?)",
                            (numbers_name(scope), str(numbers)),
                        )
                    write_rows(db, "keys", "id", scope, key_rows)
                    write_rows(db, "aliases", "name", scope, alias_rows)
                    write_rows(db, "grants", "key_id", scope, grant_rows)
                    for name, value in secrets:
                        sealed = self._root.seal(secret_name(scope, name).encode(), value)
                        db.execute(
                            "INSERT OR REPLACE INTO meta VALUES (?, ?)",
                            (secret_name(scope, name), sealed.hex()),
                        )
                for (table, account_id, region), rows in beside:
                    write_rows(db, table, "id", (account_id, region), rows)
                if iam_text is not None:
                    db.execute(
                        "INSERT INTO iam (account, doc) VALUES (?, ?) "
                        "ON CONFLICT (account) DO UPDATE SET doc = excluded.doc",
                        (account.id, iam_text),
                    )
                if clock_moved:
                    frozen, offset = clock
                    state = {
                        "frozen": frozen.isoformat() if frozen else None,
                        "offset": offset.total_seconds(),
                    }
                    db.execute(
                        "INSERT OR REPLACE INTO meta VALUES (?, ?)",
                        (clock_name(account.id), json.dumps(state)),
                    )
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:  # SQLite rolls back by itself on some errors (a full disk)
                    db.execute("ROLLBACK")
                raise
            self._clocks[account.id] = clock
            for scope, _, _, _, secrets, numbers in writes:
                for name, value in secrets:
                    self._secrets[(*scope, name)] = value
                if numbers:
                    self._numbers[scope] = numbers
            for where, rows in beside:
                saved = self._extras.setdefault(where, {})
                for item_id, doc in rows:
                    if doc is None:
                        saved.pop(item_id, None)
                    else:
                        saved[item_id] = doc
            if iam is not None:
                self._iam[account.id] = iam

    def reload(
        self,
        account: Account,
        batches: dict[str, tuple[set[str], set[str], set[str]]],
        *,
        extras: bool = False,
    ) -> None:
        """Put back in ``account``'s Regions what the store committed for what a failed
        :meth:`save` named: the keys, aliases and key's grants of ``batches`` (the same
        shape), the Regions' secrets (KMS_SECRETS), and with ``extras`` the records beside
        them that calls change (``Collection.by_calls``) whose text differs from the
        committed text.

        The database holds exactly what calls were acknowledged for, so after this the
        failed call has changed nothing. The Regions' indexes are rebuilt; the caller runs
        the restore hooks (multi-Region keys relink). O(records named), plus O(keys of a
        Region) for a Region where a deleted key comes back (its place in ListKeys).
        """
        loads = self._codec.loads
        with self._mutex:
            db = self._connection()
            if extras and account.id in self._accounts:
                for (table, _, region), rows in self._diff_extras(account):
                    collection = next(c for c in COLLECTIONS if c.table == table)
                    if not collection.by_calls:
                        continue
                    held = collection.held(account.regions[region])
                    saved = self._extras.get((table, account.id, region), {})
                    for item_id, _ in rows:
                        doc = saved.get(item_id)
                        if doc is None:
                            held.pop(item_id, None)
                        else:
                            held[item_id] = loads(doc, item_id)
            for region, (keys, aliases, grants) in batches.items():
                kms = account.regions[region]
                scope = (account.id, region)
                for name in KMS_SECRETS:  # one made by the failed call signed nothing kept
                    secret = self._secrets.get((*scope, name))
                    if getattr(kms, name, None) is not secret:
                        if secret is None:
                            delattr(kms, name)
                        else:
                            setattr(kms, name, secret)
                key_docs = {k: committed(db, loads, "keys", "id", scope, k) for k in keys}
                order = None
                if any(key is not None and k not in kms.keys for k, key in key_docs.items()):
                    order = [
                        key_id
                        for (key_id,) in db.execute(
                            "SELECT id FROM keys WHERE account = ? AND region = ? ORDER BY rowid",
                            scope,
                        )
                    ]
                kms.revert(
                    key_docs,
                    {a: committed(db, loads, "aliases", "name", scope, a) for a in aliases},
                    {k: committed(db, loads, "grants", "key_id", scope, k) or [] for k in grants},
                    order,
                )

    def _diff_extras(
        self, account: Account
    ) -> list[tuple[tuple[str, str, str], list[tuple[str, str | None]]]]:
        """The records beside the keys whose text differs from what the store committed:
        ((table, account, Region), [(id, new text, or None to delete)]). O(records)."""
        out = []
        for region, kms in account.regions.items():
            for collection in COLLECTIONS:
                where = (collection.table, account.id, region)
                held = collection.held(kms)
                saved = self._extras.get(where, {})
                if not held and not saved:
                    continue
                rows: list[tuple[str, str | None]] = [
                    (item_id, doc)
                    for item_id, item in held.items()
                    if (doc := self._codec.dumps(item_id, item)) != saved.get(item_id)
                ]
                rows += [(item_id, None) for item_id in saved if item_id not in held]
                if rows:
                    out.append((where, rows))
        return out
