"""One owner per store: an OS-level lock on a file next to the database.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "kms.sqlite3.lock"
>>> first = OwnerLock.acquire(path)
>>> OwnerLock.acquire(path)                          # doctest: +ELLIPSIS
Traceback (most recent call last):
...
kmslab.exceptions.StoreLockedError: The store ... is already open in this process ...
>>> first.release()

``fcntl.flock`` (POSIX; ``msvcrt.locking`` on Windows) is held by the open file, so the
operating system releases it when the process exits or is killed: a crashed owner never
leaves a stale lock behind, unlike a lock file whose mere existence is the lock. The file
also records who holds it (pid, host, start time), so a second process can name the owner.
"""

from __future__ import annotations

import datetime
import json
import os
import socket
from pathlib import Path
from typing import IO, Any

from kmslab.exceptions import StoreLockedError

__all__ = ["OwnerLock"]


def _try_lock(file: IO[str]) -> bool:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        import msvcrt

        try:
            msvcrt.locking(file.fileno(), msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
        except OSError:
            return False
        return True
    try:
        fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


class OwnerLock:
    """The held lock of one store; ``release()`` (or the process ending) frees it."""

    def __init__(self, file: IO[str], path: Path, owner: dict[str, Any]) -> None:
        self._file: IO[str] | None = file
        self.path = path
        self.owner = owner

    def __repr__(self) -> str:
        return f"OwnerLock(path={str(self.path)!r}, held={self._file is not None})"

    @classmethod
    def acquire(cls, path: Path, store: Path | None = None) -> OwnerLock:
        """Take the lock at ``path`` or raise :class:`StoreLockedError` naming its owner."""
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        file = os.fdopen(fd, "r+", encoding="utf-8")
        if not _try_lock(file):
            try:
                owner = json.loads(file.read() or "{}")
            except ValueError:
                owner = {}
            file.close()
            if owner.get("pid") == os.getpid() and owner.get("host") == socket.gethostname():
                raise StoreLockedError(
                    f"The store {store or path} is already open in this process (since "
                    f"{owner.get('started', '?')}), by an earlier LocalKMS or "
                    "kmslab.client(store=...): use that one, or close it first with "
                    "kms.close() (client.local_kms.close() for a client).",
                    owner,
                )
            raise StoreLockedError(
                f"The store {store or path} is in use by process {owner.get('pid', '?')} on "
                f"{owner.get('host', '?')} since {owner.get('started', '?')}. One process "
                "opens a store at a time: stop that one, or use another --store path.",
                owner,
            )
        owner = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        }
        file.seek(0)
        file.truncate()
        file.write(json.dumps(owner))
        file.flush()
        return cls(file, path, owner)

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing the file releases the lock
            self._file = None
