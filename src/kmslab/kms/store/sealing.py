"""Key material at rest: sealed with AES-256-GCM under a root key kept in its own file.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "kms.sqlite3.root-key"
>>> root = RootKey.open_or_create(path)
>>> blob = root.seal(b"key-id\\0material-id", b"secret bytes")
>>> root.open(b"key-id\\0material-id", blob)
b'secret bytes'
>>> oct(path.stat().st_mode & 0o777)
'0o600'

The database holds only sealed blobs; the 32-byte root key lives in a separate file next to
it, created atomically (``O_CREAT | O_EXCL``) with owner-only permissions (0600), as ssh does
for private keys, and refused if anyone else may read it. The associated data binds each
blob to where it belongs (the key id and the material's id, its version), so a blob copied
onto another key or another version does not open. AES-256-GCM (NIST SP 800-38D) comes from
``cryptography``, as every other primitive in kmslab does.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kmslab.exceptions import StoreError

__all__ = ["ROOT_KEY_BYTES", "RootKey"]

ROOT_KEY_BYTES = 32
_NONCE_BYTES = 12
#: First byte of every sealed blob: the sealing format, so it can change later.
_FORMAT = b"\x01"
#: Prefixed to every associated data: a blob sealed for something else never opens here.
_DOMAIN = b"kmslab store seal v1\0"


class RootKey:
    """The store's root key: seals and opens key material. Its repr shows only its file."""

    def __init__(self, key: bytes, path: Path) -> None:
        if len(key) != ROOT_KEY_BYTES:
            raise StoreError(
                f"The root key file {path} holds {len(key)} bytes, not {ROOT_KEY_BYTES}: it is "
                "damaged or not a kmslab root key."
            )
        self._aead = AESGCM(key)
        self.path = path

    def __repr__(self) -> str:
        return f"RootKey(path={str(self.path)!r})"

    @classmethod
    def open_or_create(cls, path: Path, *, create: bool = True) -> RootKey:
        """Read the root key at ``path``; create it (0600, O_EXCL) if absent and ``create``.

        Raises :class:`StoreError` if the file is readable or writable by group or others,
        is a symbolic link or not a regular file, or is missing while ``create`` is false;
        OSError if it cannot be read (permissions).
        """
        try:
            # O_NONBLOCK: a FIFO put there opens at once (and is refused below) instead of
            # blocking until something writes to it; a regular file reads as usual.
            flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
            fd = os.open(path, flags)
        except OSError as exc:
            if exc.errno != errno.ELOOP:
                if isinstance(exc, FileNotFoundError):
                    return cls._missing(path, create)
                raise
            # O_NOFOLLOW: a link could make the store seal under a file someone else keeps.
            raise StoreError(
                f"The root key file {path} is a symbolic link; kmslab reads only the file "
                "itself (a link could point the store at a key kept elsewhere). Replace the "
                "link with the file it points to."
            ) from None
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):  # checked before fdopen, which refuses a directory
            os.close(fd)
            what = "a directory" if stat.S_ISDIR(mode) else "not a regular file"
            raise StoreError(
                f"The root key file {path} is {what}; move it away and put the store's "
                "root key file there."
            )
        with os.fdopen(fd, "rb") as file:
            if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise StoreError(
                    f"The root key file {path} may be read or changed by other users "
                    f"(mode {stat.S_IMODE(mode):o}). Run: chmod 600 {path}"
                )
            return cls(file.read(ROOT_KEY_BYTES + 1), path)

    @classmethod
    def _missing(cls, path: Path, create: bool) -> RootKey:
        if not create:
            raise StoreError(
                f"The root key file {path} is missing. The store's key material is sealed "
                "under it and cannot be opened without it; restore the file from where "
                "you keep its backup."
            )
        return cls._create(path)

    @classmethod
    def _create(cls, path: Path) -> RootKey:
        key = os.urandom(ROOT_KEY_BYTES)
        # O_EXCL: never reuse or overwrite a file someone else created in the meantime;
        # mode 0600 from the start, so the key is never readable by others, even briefly.
        fd = os.open(
            path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600
        )
        try:
            if os.write(fd, key) != ROOT_KEY_BYTES:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            path.unlink(missing_ok=True)  # never a short root key left behind
            raise
        os.close(fd)
        return cls(key, path)

    def seal(self, aad: bytes, plaintext: bytes) -> bytes:
        """format byte || 12-byte nonce || AES-256-GCM ciphertext and 16-byte tag."""
        nonce = os.urandom(_NONCE_BYTES)
        return _FORMAT + nonce + self._aead.encrypt(nonce, plaintext, _DOMAIN + aad)

    def open(self, aad: bytes, blob: bytes) -> bytes:
        """The plaintext of :meth:`seal`; :class:`StoreError` if the blob or its place is wrong."""
        if blob[:1] != _FORMAT or len(blob) < 1 + _NONCE_BYTES + 16:
            raise StoreError("A sealed value in the store is not in a format kmslab knows.")
        nonce, sealed = blob[1 : 1 + _NONCE_BYTES], blob[1 + _NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, sealed, _DOMAIN + aad)
        except InvalidTag:
            raise StoreError(
                f"A sealed value in the store does not open under the root key {self.path}: "
                "the root key is not this store's, or the database was altered."
            ) from None
