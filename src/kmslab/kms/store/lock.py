"""One owner per store: an OS-level lock on the database file itself.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "kms.sqlite3"
>>> first = OwnerLock.acquire(path)
>>> OwnerLock.acquire(path)                          # doctest: +ELLIPSIS
Traceback (most recent call last):
...
kmslab.exceptions.StoreLockedError: The store ... is already open in this process ...
>>> first.release()

``fcntl.flock`` (POSIX) is held by the open file, so the operating system releases it when
the process exits or is killed: a crashed owner never leaves a stale lock behind, unlike a
lock file whose mere existence is the lock. It is taken on the database file, not on a file
beside it: a file beside it stays after a clean stop and looks stale, and deleting it would
let a second process own the same store (each writing over the other's commits). Nobody
deletes the database to start a server.

Why flock and not SQLite's ``PRAGMA locking_mode=EXCLUSIVE``: that one also shuts out a
``sqlite3`` shell reading the store (or making a ``.backup``) while kmslab runs. flock and
the POSIX ``fcntl`` locks SQLite takes on the same file are independent on Linux and the
BSDs (not on NFS, where Linux emulates flock with fcntl: keep stores on a local disk). A
``fcntl`` lock is dropped when the process closes *any* descriptor of the file, so the
descriptor is opened once, kept open while SQLite runs, closed only after SQLite has closed
(:meth:`OwnerLock.release`), and a second open in this process is refused before it opens
the file (:data:`_HELD`).

``PATH.lock`` beside the database records who holds the lock (pid, host, start time), so a
second process can name the owner; it is also flocked, so an older kmslab (which locks only
that file) and this one exclude each other. On Windows (``msvcrt.locking`` locks bytes,
which SQLite must read) only ``PATH.lock`` is locked; Windows does not delete an open file.
"""

from __future__ import annotations

import datetime
import json
import os
import socket
import threading
import weakref
from pathlib import Path
from typing import IO, Any

from kmslab.exceptions import StoreLockedError

__all__ = ["OwnerLock"]

#: (device, inode) of each database this process holds -> its lock: a second open here is
#: refused without opening the file (closing that descriptor would drop SQLite's locks).
#: Weak: a lock whose store was dropped without close() goes with it, as a file would.
_HELD: weakref.WeakValueDictionary[tuple[int, int], OwnerLock] = weakref.WeakValueDictionary()
_HELD_MUTEX = threading.Lock()


def _try_lock(fd: int) -> bool:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
        except OSError:
            return False
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _close(db_fd: int | None, file: IO[str]) -> None:
    file.close()
    if db_fd is not None:
        os.close(db_fd)


def _owner_of(lock_path: Path) -> dict[str, Any]:
    """What ``PATH.lock`` says about the owner ({} if it is missing or unreadable)."""
    try:
        owner = json.loads(lock_path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}
    return owner if isinstance(owner, dict) else {}


class OwnerLock:
    """The held lock of one store; ``release()`` (or the process ending) frees it."""

    def __init__(self, db_fd: int | None, file: IO[str], path: Path, owner: dict[str, Any]) -> None:
        # Both files are closed by release(), or when this lock is collected (a store
        # dropped without close()). Not at exit: the store closes first there
        # (kmslab.kms.account), and the process ending releases what is left.
        self._close = weakref.finalize(self, _close, db_fd, file)
        self._close.atexit = False
        self._file: IO[str] | None = file
        self._held: tuple[int, int] | None = None
        #: The store's database file (its lock file is ``path.lock``).
        self.path = path
        self.owner = owner

    def __repr__(self) -> str:
        return f"OwnerLock(path={str(self.path)!r}, held={self._file is not None})"

    @classmethod
    def acquire(cls, path: Path) -> OwnerLock:
        """Lock the database ``path`` (created, mode 0600, if absent) and record the owner
        in ``path.lock``; raise :class:`StoreLockedError` naming the owner if it is held.
        OSError if the files cannot be opened (a folder not writable, say)."""
        lock_path = path.with_name(path.name + ".lock")
        with _HELD_MUTEX:
            try:
                st = os.stat(path)
            except FileNotFoundError:
                pass
            else:
                held = _HELD.get((st.st_dev, st.st_ino))
                if held is not None:
                    raise _locked(path, held.owner, here=True)
            db_fd: int | None = None
            if os.name == "posix":
                # Owner-only from the start (SQLite gives its -wal and -shm files the same
                # mode): the database holds no key bytes, but tags and policies are the
                # learner's own.
                db_fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
                if not _try_lock(db_fd):
                    os.close(db_fd)  # another process holds it: no lock of ours to drop
                    raise _locked(path, _owner_of(lock_path), here=False, lock_path=lock_path)
            try:
                fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
                file = os.fdopen(fd, "r+", encoding="utf-8")
            except BaseException:
                if db_fd is not None:
                    os.close(db_fd)
                raise
            if not _try_lock(file.fileno()):  # an older kmslab, which locks only this file
                owner = _owner_of(lock_path)
                file.close()
                if db_fd is not None:
                    os.close(db_fd)
                raise _locked(path, owner, here=False, lock_path=lock_path)
            owner = {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "started": datetime.datetime.now(datetime.timezone.utc).isoformat(
                    timespec="seconds"
                ),
            }
            file.seek(0)
            file.truncate()
            file.write(json.dumps(owner))
            file.flush()
            lock = cls(db_fd, file, path, owner)
            if db_fd is not None:
                st = os.fstat(db_fd)
                lock._held = (st.st_dev, st.st_ino)
                _HELD[lock._held] = lock
            return lock

    def release(self) -> None:
        """Free the lock (idempotent). Call it only once SQLite has closed the database:
        closing this descriptor drops every POSIX lock the process holds on the file."""
        with _HELD_MUTEX:
            self._close()  # at most once: closing the files releases their locks
            self._file = None
            if self._held is not None and _HELD.get(self._held) is self:
                del _HELD[self._held]
            self._held = None


def _locked(
    path: Path, owner: dict[str, Any], *, here: bool, lock_path: Path | None = None
) -> StoreLockedError:
    if here or (owner.get("pid") == os.getpid() and owner.get("host") == socket.gethostname()):
        return StoreLockedError(
            f"The store {path} is already open in this process (since "
            f"{owner.get('started', '?')}), by an earlier LocalKMS or "
            "kmslab.client(store=...): use that one, or close it first with "
            "kms.close() (client.local_kms.close() for a client).",
            owner,
        )
    if "pid" in owner:
        who = (
            f"process {owner['pid']} on {owner.get('host', '?')} since {owner.get('started', '?')}"
        )
    elif lock_path is not None and not os.path.lexists(lock_path):
        who = f"another process (its lock file {lock_path} was removed, so it cannot be named)"
    else:
        who = f"another process (its lock file {lock_path} does not name it)"
    return StoreLockedError(
        f"The store {path} is in use by {who}. One process opens a store at a time: stop "
        "that one, or use another --store path.",
        owner,
    )
