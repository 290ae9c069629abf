"""What can go wrong opening a store, each said in one line with what to do.

:class:`~kmslab.kms.store.Store` turns the operating system's and SQLite's errors met while
opening or loading a store into one :class:`~kmslab.exceptions.StoreError` line naming the
file (tables of advice by errno and by SQLite error name; an I/O error on a full disk says
the disk is full), refuses a database that is gone or empty while its root key or a -wal
file is there (:func:`lost_store`), says which record cannot be read (:func:`unreadable`,
for what :data:`DAMAGE` lists), and removes what a failed creation made (:func:`unmake`).

>>> import errno, pathlib
>>> error = os_error(PermissionError(errno.EACCES, "Permission denied", "/x/k.db.lock"),
...                  pathlib.Path("/x/k.db"))
>>> str(error).split(": ")[:3]
['The store /x/k.db cannot be opened', '/x/k.db.lock', 'permission denied']
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import stat
from pathlib import Path

from kmslab.exceptions import StoreError

__all__ = [
    "DAMAGE",
    "file_size",
    "lost_store",
    "os_error",
    "sqlite_error",
    "unmake",
    "unreadable",
]

#: What reading a damaged record may raise (a row edited by hand, a wrong type, a number
#: out of range, JSON nested too deep): each becomes one :func:`unreadable` line.
DAMAGE = (KeyError, TypeError, ValueError, OverflowError, RecursionError, AttributeError)


def file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def unmake(path: Path, root_path: Path, was_there: bool) -> None:
    """Remove what a failed creation of a store made, so the next open starts afresh
    instead of finding a root key beside an empty database (see :func:`lost_store`)."""
    with contextlib.suppress(OSError):
        for name in ("-wal", "-shm"):
            path.with_name(path.name + name).unlink(missing_ok=True)
        if was_there:
            os.truncate(path, 0)  # the learner's (empty) file: left empty
        else:
            path.unlink(missing_ok=True)
        root_path.unlink(missing_ok=True)


def unreadable(path: Path, what: str) -> StoreError:
    """A record of the store that cannot be read (``what``: which, and why)."""
    return StoreError(
        f"The store {path} has a record this kmslab cannot read ({what}): restore it from a "
        "backup, or move it away to start a new store."
    )


def lost_store(path: Path, root_path: Path, was_there: bool, *, wal: int = 0) -> StoreError:
    """The database is gone or empty while its root key (or, with ``wal`` > 0, a -wal file
    of that many bytes) is there: its keys would be lost without a word if a new store
    were made in its place. Nothing is touched: the message says what to do."""
    wal_name = f"{path.name}-wal"
    if wal and not os.path.lexists(root_path):
        return StoreError(
            f"The store {path} is empty but its {wal_name} file ({wal} bytes) is not: the "
            f"keys it held may be there, and {wal_name} was left untouched. Restore "
            f"{path.name} (and its root key) from a backup, or move {wal_name} away to "
            "start afresh with an empty store."
        )
    state = "is empty" if was_there else "does not exist"
    if wal:
        state += f" (its {wal_name} file, {wal} bytes, was left untouched)"
    return StoreError(
        f"The store {path} {state} but its root key {root_path} exists: the keys it held are "
        f"not there. Restore {path.name} from a backup (with its -wal file, if you have "
        f"one), or delete {root_path.name} to start afresh with an empty store."
    )


#: Why the operating system refused one of the store's files (errno) -> what it means and
#: what to do; others say the system's own words.
_OS_ADVICE: dict[int, str] = {
    errno.EACCES: "permission denied: run kmslab as the user who owns the store's files "
    "and folder, or choose a store path you may write",
    errno.EPERM: "operation not permitted: run kmslab as the user who owns the store's "
    "files and folder, or choose a store path you may write",
    errno.EROFS: "the file system is read-only: choose a store path on a writable one",
    errno.ENOSPC: "the disk is full: free some space",
    errno.EDQUOT: "the disk quota is exceeded: free some space",
    errno.EISDIR: "it is a directory, not a file: move it away",
    errno.ELOOP: "it is a symbolic link, which kmslab does not follow there: replace the "
    "link with the file it points to",
}

#: SQLite's error (the name's prefix: SQLITE_IOERR_WRITE is SQLITE_IOERR) -> what to do.
_SQLITE_ADVICE: dict[str, str] = {
    "SQLITE_CORRUPT": "it is damaged or not a kmslab store: restore it from a backup, or "
    "move it away to start a new store",
    "SQLITE_NOTADB": "it is not a kmslab store (not an SQLite database): give another "
    "path, or move it away",
    "SQLITE_READONLY": "it cannot be written (its file, its folder or the file system is "
    "read-only): run kmslab as the owner of the files, or choose a writable store path",
    "SQLITE_CANTOPEN": "it cannot be opened: check that its folder is writable by you",
    "SQLITE_PERM": "permission denied: run kmslab as the user who owns the store's files",
    "SQLITE_FULL": "the disk is full: free some space",
    "SQLITE_IOERR": "the disk reported an error: check the disk, or restore the store "
    "from a backup",
    "SQLITE_BUSY": "another program holds a lock on it (a sqlite3 shell?): close that "
    "program first",
}


#: The advice when the store's file system has no free block left.
_FULL = _OS_ADVICE[errno.ENOSPC]


def _disk_full(path: Path) -> bool:
    """Whether the file system of ``path``'s folder has no block left for this user: SQLite
    says only "disk I/O error" when it cannot make its -shm file there, say."""
    try:
        return os.statvfs(path.parent).f_bavail == 0
    except (OSError, AttributeError):  # gone, or no statvfs (Windows)
        return False


def os_error(exc: OSError, path: Path) -> StoreError:
    """One line for an OSError met opening the store: the file and what to do (a
    StoreError, an OSError too, is already that line). An error without advice of its
    own on a full disk says the disk is full."""
    if isinstance(exc, StoreError):
        return exc
    advice = _OS_ADVICE.get(exc.errno or 0)
    if advice is None:
        advice = _FULL if _disk_full(path) else (exc.strerror or type(exc).__name__)
    where = exc.filename if exc.filename is not None else path
    return StoreError(f"The store {path} cannot be opened: {where}: {advice}.")


def sqlite_error(exc: sqlite3.Error, path: Path) -> StoreError:
    """One line for an SQLite error met opening or loading the store; an I/O error on a
    full disk says the disk is full."""
    name = getattr(exc, "sqlite_errorname", "") or ""  # Python 3.11+
    advice = next(
        (text for prefix, text in _SQLITE_ADVICE.items() if name.startswith(prefix)),
        "it is damaged or not a kmslab store",
    )
    if name.startswith("SQLITE_IOERR") and _disk_full(path):
        advice = _FULL
    return StoreError(f"The store {path} cannot be opened ({exc}): {advice}.")


def checkpoint(db: sqlite3.Connection) -> str | None:
    """Move the WAL's commits into the database file and empty the WAL (what closing does,
    but saying why it could not): None if done, else why not. Never waits for a reader
    (busy_timeout 0): closing must not hang. https://sqlite.org/pragma.html#pragma_wal_checkpoint
    """
    try:
        db.execute("PRAGMA busy_timeout = 0")
        _, frames, copied = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    except sqlite3.Error as exc:  # a full disk: "database or disk is full"
        return str(exc)
    if copied < frames:
        return "another program is reading an older state of the store (a sqlite3 shell?)"
    return None


def regular_or_absent(path: Path) -> None:
    """Refuse a database path that is not a regular file (a FIFO, a device, a link to
    one): a FIFO would block the open, and a device is no store. Absent is fine."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISREG(mode):
        raise StoreError(
            f"The store {path} is not a regular file (a FIFO, a device or a link to one): "
            "give the path of a kmslab store file, or move it away."
        )
