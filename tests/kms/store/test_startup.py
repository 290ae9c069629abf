"""A store that cannot be opened says why in one line (a StoreError), never a traceback;
a database that lost its keys is refused, not silently replaced; one owner at a time."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kmslab.exceptions import StoreError, StoreLockedError
from kmslab.kms import LocalKMS
from kmslab.kms.store import Store

_ROLE = "arn:aws:iam::111122223333:role/r"

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX permissions and flock")


def _make(path: Path, keys: int = 1) -> list[str]:
    with LocalKMS(store=path) as kms:
        return [kms.call("CreateKey")["KeyMetadata"]["KeyId"] for _ in range(keys)]


def _refused(path: Path) -> str:
    """The one-line message opening ``path`` gives (it must be a StoreError)."""
    with pytest.raises(StoreError) as info:
        LocalKMS(store=path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    return message


# -- as a user the files refuse ------------------------------------------------------------


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder another user can reach (pytest's tmp_path is private to its owner)."""
    folder = Path(tempfile.mkdtemp(prefix="kmslab-store-"))
    folder.chmod(0o755)
    yield folder
    subprocess.run(["rm", "-rf", str(folder)], check=False)


def _as_another_user(action: Callable[[], str]) -> str:
    """``action()`` run as a user the files do not belong to: as root (which permissions
    do not stop), in a forked child that becomes ``nobody`` (the interpreter may live where
    nobody cannot read it, so the child does not exec; what it needs is imported already);
    otherwise in this process. Returns its result or ``ExceptionName: message``."""
    _make(Path(tempfile.mkdtemp()) / "warm.sqlite3")  # every lazy import done before the fork
    if os.geteuid() != 0:
        try:
            return action()
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"
    import pwd

    nobody = pwd.getpwnam("nobody")
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.setgroups([])
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
            out = action()
        except BaseException as exc:
            out = f"{type(exc).__name__}: {exc}"
        os.write(write, out.encode())
        os._exit(0)
    os.close(write)
    chunks = []
    while chunk := os.read(read, 65536):
        chunks.append(chunk)
    os.close(read)
    os.waitpid(pid, 0)
    return b"".join(chunks).decode()


def _open_as_other(path: Path) -> str:
    def action() -> str:
        LocalKMS(store=path).close()
        return "opened"

    return _as_another_user(action)


def test_a_folder_that_is_not_writable(shared_dir: Path) -> None:
    out = _open_as_other(shared_dir / "new.sqlite3")
    assert out.startswith("StoreError: ") and "\n" not in out, out
    assert "permission denied" in out and "new.sqlite3" in out


def test_a_store_of_another_user(shared_dir: Path) -> None:
    _make(shared_dir / "k.sqlite3")
    out = _open_as_other(shared_dir / "k.sqlite3")
    assert out.startswith("StoreError: ") and "permission denied" in out, out


def test_a_root_key_that_cannot_be_read(shared_dir: Path) -> None:
    path = shared_dir / "k.sqlite3"
    _make(path)
    if os.geteuid() == 0:  # the folder, database and lock are nobody's; the root key not
        import pwd

        nobody = pwd.getpwnam("nobody")
        for name in ("", "-wal", "-shm", ".lock"):
            if os.path.exists(f"{path}{name}"):
                os.chown(f"{path}{name}", nobody.pw_uid, nobody.pw_gid)
        os.chown(shared_dir, nobody.pw_uid, nobody.pw_gid)
    else:
        path.with_name("k.sqlite3.root-key").chmod(0o000)
    out = _open_as_other(path)
    assert out.startswith("StoreError: ") and "\n" not in out, out
    assert "k.sqlite3.root-key: permission denied" in out


def test_a_read_only_file_system(store_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """EROFS (a read-only mount): os.open fails as the kernel would."""
    real_open = os.open

    def read_only(path: str | os.PathLike[str], flags: int, *args: int) -> int:
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", read_only)
    assert "the file system is read-only" in _refused(store_path)


# -- the root key file -------------------------------------------------------------------


def test_a_root_key_that_is_a_symbolic_link_is_refused(store_path: Path) -> None:
    _make(store_path)
    root = store_path.with_name(store_path.name + ".root-key")
    elsewhere = store_path.with_name("elsewhere")
    root.rename(elsewhere)
    root.symlink_to(elsewhere)
    message = _refused(store_path)
    assert "is a symbolic link" in message and "Replace the link" in message


def test_a_root_key_that_is_a_directory_is_refused(store_path: Path) -> None:
    _make(store_path)
    root = store_path.with_name(store_path.name + ".root-key")
    root.unlink()
    root.mkdir(mode=0o700)
    assert "is a directory" in _refused(store_path)


# -- the database ------------------------------------------------------------------------


def test_a_damaged_database_is_refused(store_path: Path) -> None:
    _make(store_path, keys=40)
    data = bytearray(store_path.read_bytes())
    assert len(data) > 3 * 4096
    for page in range(4096, len(data), 4096):  # every page but the header
        data[page : page + 100] = b"\xa5" * 100
    store_path.write_bytes(bytes(data))
    message = _refused(store_path)
    assert "malformed" in message and "restore it from a backup" in message
    assert _refused(store_path) == message  # the lock was released


@pytest.mark.parametrize("doc", ["{}", "[1,2]", '"text"', "null", '{"$obj": "Grant", "f": {}}'])
def test_a_key_row_of_the_wrong_shape_is_refused_by_name(store_path: Path, doc: str) -> None:
    (key_id,) = _make(store_path)
    db = sqlite3.connect(store_path)
    db.execute("UPDATE keys SET doc = ? WHERE id = ?", (doc, key_id))
    db.commit()
    db.close()
    message = _refused(store_path)
    assert f"record {key_id} (table keys) is damaged" in message or (
        f"holds a Grant in {key_id}" in message
    )


@pytest.mark.parametrize(
    ("table", "doc"), [("aliases", "{}"), ("aliases", '{"AliasName": 1}'), ("grants", "[1]")]
)
def test_alias_and_grant_rows_of_the_wrong_shape_are_refused(
    store_path: Path, table: str, doc: str
) -> None:
    with LocalKMS(store=store_path) as kms:
        key_id = kms.call("CreateKey")["KeyMetadata"]["KeyId"]
        kms.call("CreateAlias", AliasName="alias/a", TargetKeyId=key_id)
        kms.call(
            "CreateGrant",
            KeyId=key_id,
            GranteePrincipal="arn:aws:iam::111122223333:role/r",
            Operations=["Decrypt"],
        )
    db = sqlite3.connect(store_path)
    db.execute(f"UPDATE {table} SET doc = ?", (doc,))
    db.commit()
    db.close()
    assert f"(table {table}) is damaged" in _refused(store_path)


def _without_material(doc: str) -> str:
    """A key document whose materials list is emptied (wherever the codec put it)."""
    import json

    def empty(value: object) -> None:
        if isinstance(value, dict):
            if "materials" in value:
                value["materials"] = []
            for item in value.values():
                empty(item)

    data = json.loads(doc)
    empty(data)
    return json.dumps(data)


#: A damaged record -> (table, row selector, new value, or a function of the old value).
_DAMAGED: dict[str, tuple[str, str, object]] = {
    "clock {}": ("meta", "name LIKE 'clock:%'", "{}"),
    "clock offset 1e300": ("meta", "name LIKE 'clock:%'", '{"frozen": null, "offset": 1e300}'),
    "clock junk": ("meta", "name LIKE 'clock:%'", "junk"),
    "clock a list": ("meta", "name LIKE 'clock:%'", "[1]"),
    "numbers abc": ("meta", "name LIKE 'numbers:%'", "abc"),
    "secret zz": ("meta", "name LIKE 'secret:%'", "zz"),
    "root-key-check zz": ("meta", "name = 'root-key-check'", "zz"),
    "key 600 lists deep": ("keys", "1", "[" * 600 + "]" * 600),
    "key 200000 lists deep": ("keys", "1", "[" * 200_000 + "]" * 200_000),
    "key without material": ("keys", "1", _without_material),
    "alias to a missing key": ("keys", "1", None),
}


@pytest.mark.parametrize("case", list(_DAMAGED))
def test_a_damaged_record_is_one_line_naming_the_store(store_path: Path, case: str) -> None:
    """Records edited by hand: refused at start in one line that names the store and says
    what to do, never an exception from deep inside (or served, to fail on first use)."""
    with LocalKMS(store=store_path) as kms:
        key_id = kms.call("CreateKey")["KeyMetadata"]["KeyId"]
        kms.call("CreateAlias", AliasName="alias/a", TargetKeyId=key_id)
        kms.call("CreateGrant", KeyId=key_id, GranteePrincipal=_ROLE, Operations=["Decrypt"])
        kms.clock.advance(days=1)  # a clock row
    table, where, value = _DAMAGED[case]
    column = "value" if table == "meta" else "doc"
    db = sqlite3.connect(store_path)
    names = {name for (name,) in db.execute("SELECT name FROM meta")}
    assert {"root-key-check"} < names and any(n.startswith("clock:") for n in names)
    if value is None:  # the key goes, its alias stays
        db.execute("DELETE FROM keys")
        db.execute("DELETE FROM grants")
    else:
        for rowid, old in db.execute(f"SELECT rowid, {column} FROM {table} WHERE {where}"):
            new = value(old) if callable(value) else value
            db.execute(f"UPDATE {table} SET {column} = ? WHERE rowid = ?", (new, rowid))
    assert db.total_changes > 0
    db.commit()
    db.close()
    message = _refused(store_path)
    assert "restore it from a backup, or move it away to start a new store" in message or (
        "(table keys) is damaged" in message
    ), message
    if case == "alias to a missing key":
        assert f"alias alias/a (table aliases) names the key {key_id}" in message
    if case == "key without material":
        assert f"key {key_id} (table keys) has no key material" in message
    if case.startswith("clock"):
        assert "meta row clock:" in message


@pytest.mark.parametrize("how", ["truncated", "deleted", "dangling link"])
def test_a_database_gone_while_its_root_key_stays_is_refused(store_path: Path, how: str) -> None:
    _make(store_path)
    if how == "truncated":
        store_path.write_bytes(b"")
    for name in (store_path.name, f"{store_path.name}-wal", f"{store_path.name}-shm"):
        if how != "truncated" and (store_path.parent / name).exists():
            (store_path.parent / name).unlink()
    if how == "dangling link":  # nothing is made where it points
        store_path.symlink_to(store_path.with_name("gone.sqlite3"))
    message = _refused(store_path)
    assert not store_path.with_name("gone.sqlite3").exists()
    state = "is empty" if how == "truncated" else "does not exist"
    assert f"{store_path} {state} but its root key {store_path}.root-key exists" in message
    assert (
        "Restore kms.sqlite3 from a backup" in message and "delete kms.sqlite3.root-key" in message
    )
    assert _refused(store_path) == message  # nothing was made in its place
    assert store_path.exists() == (how == "truncated")
    assert os.path.lexists(store_path) == (how != "deleted")


@pytest.mark.parametrize("root_key", [True, False])
def test_an_empty_database_beside_a_real_wal_is_refused_and_left_untouched(
    store_path: Path, root_key: bool
) -> None:
    """A 0-byte database with a -wal file: SQLite would replay (or delete) the WAL and
    start empty; the store is refused and neither file changes."""
    wal_path = store_path.with_name(store_path.name + "-wal")
    root = store_path.with_name(store_path.name + ".root-key")
    with LocalKMS(store=store_path) as kms:
        kms.call("CreateKey")
        wal = wal_path.read_bytes()  # the commit, still only in the WAL
    assert len(wal) > 4096  # a real WAL, with frames
    store_path.write_bytes(b"")
    wal_path.write_bytes(wal)
    if not root_key:
        root.unlink()
    message = _refused(store_path)
    assert "kms.sqlite3-wal file" in message and f"{len(wal)} bytes" in message
    if root_key:
        assert f"{store_path} is empty" in message and "root key" in message
    assert _refused(store_path) == message
    assert store_path.read_bytes() == b"" and wal_path.read_bytes() == wal
    assert root.exists() == root_key
    assert not store_path.with_name(store_path.name + "-shm").exists()


def test_a_root_key_that_is_a_fifo_is_refused_at_once(store_path: Path) -> None:
    import threading

    _make(store_path)
    root = store_path.with_name(store_path.name + ".root-key")
    root.unlink()
    os.mkfifo(root, 0o600)
    out: list[str] = []
    opener = threading.Thread(target=lambda: out.append(_refused(store_path)), daemon=True)
    opener.start()
    opener.join(timeout=60)
    if opener.is_alive():  # unblock the open so the thread ends, then fail
        with open(root, "wb"):
            pass
        pytest.fail("opening a store whose root key is a FIFO blocked")
    assert out and "is not a regular file" in out[0]


@pytest.mark.parametrize("what", ["fifo", "device"])
def test_a_database_that_is_not_a_regular_file_is_refused(store_path: Path, what: str) -> None:
    _make(store_path)
    store_path.unlink()
    if what == "fifo":
        os.mkfifo(store_path, 0o600)
    else:
        store_path.symlink_to("/dev/zero")
    message = _refused(store_path)
    assert "is not a regular file" in message and "is empty" not in message


def test_a_store_name_too_long_is_one_line(tmp_path: Path) -> None:
    message = _refused(tmp_path / ("k" * 300 + ".db"))
    assert "cannot be opened" in message and "too long" in message


def test_a_new_store_and_an_empty_file_without_root_key_open(store_path: Path) -> None:
    _make(store_path)  # neither file: a new store
    other = store_path.with_name("touched.sqlite3")
    other.touch()  # an empty file (touch PATH) and no root key: a new store too
    (key_id,) = _make(other)
    with LocalKMS(store=other) as kms:
        assert kms.call("DescribeKey", KeyId=key_id)["KeyMetadata"]["Enabled"]


# -- one owner -----------------------------------------------------------------------------


def test_deleting_the_lock_file_does_not_make_a_second_owner(store_path: Path) -> None:
    with LocalKMS(store=store_path) as kms:
        kms.call("CreateKey")
        lock_file = store_path.with_name(store_path.name + ".lock")
        lock_file.unlink()  # it looks stale: it stays after every clean stop
        code = (
            "from kmslab import LocalKMS\n"
            "from kmslab.exceptions import StoreLockedError\n"
            "try:\n"
            f"    LocalKMS(store={str(store_path)!r})\n"
            "except StoreLockedError as exc:\n"
            "    print('locked', exc)\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
        )
        assert out.stdout.startswith("locked The store"), out.stdout + out.stderr
        assert f"in use by another process (its lock file {lock_file} was removed" in out.stdout
        assert "process ?" not in out.stdout
        with pytest.raises(StoreLockedError, match="already open in this process"):
            LocalKMS(store=store_path)  # in this process too
        # The refused attempts dropped none of SQLite's locks: the owner still writes.
        kms.call("CreateKey")
    with LocalKMS(store=store_path) as again:
        assert len(again.call("ListKeys")["Keys"]) == 2


def test_an_older_kmslab_holding_only_the_lock_file_is_respected(store_path: Path) -> None:
    import fcntl

    _make(store_path)
    lock_file = store_path.with_name(store_path.name + ".lock")
    with open(lock_file, "r+") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(StoreLockedError):
            Store.open(store_path)
    Store.open(store_path).close()


def test_a_new_store_that_cannot_be_made_leaves_nothing_behind(
    store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A disk that fills up while a new store is made: the root key made for it goes too,
    so the next open makes a new store (not "empty but its root key exists")."""
    from kmslab.kms.store import sqlite as store_sqlite

    def full(db: sqlite3.Connection) -> tuple[int, int]:
        raise sqlite3.OperationalError("database or disk is full")

    with monkeypatch.context() as patch:
        patch.setattr(store_sqlite, "migrate", full)
        _refused(store_path)
    assert sorted(p.name for p in store_path.parent.iterdir()) == ["kms.sqlite3.lock"]
    _make(store_path)


# -- a full disk ---------------------------------------------------------------------------


def _fill(folder: Path) -> None:
    """Write to ``folder`` until its file system has no block left (a bounded loop)."""
    with open(folder / "filler", "wb", buffering=0) as file, contextlib.suppress(OSError):
        for _ in range(10_000):  # 40 MB at most: the disk is 300 KiB
            file.write(b"\0" * 4096)
    assert os.statvfs(folder).f_bavail == 0


def test_a_cleanly_closed_store_on_a_full_disk_says_the_disk_is_full(small_disk: Path) -> None:
    store = small_disk / "kms.sqlite3"
    (key_id,) = _make(store)
    _fill(small_disk)
    message = _refused(store)
    assert "the disk is full: free some space" in message and "I/O" in message
    (small_disk / "filler").unlink()
    with LocalKMS(store=store) as kms:  # nothing was lost
        assert kms.call("DescribeKey", KeyId=key_id)["KeyMetadata"]["Enabled"]


def test_an_io_error_on_a_full_disk_is_said_to_be_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kmslab.kms.store import faults

    io = sqlite3.OperationalError("disk I/O error")
    io.sqlite_errorname = "SQLITE_IOERR_WRITE"
    eio = OSError(errno.EIO, "Input/output error", str(tmp_path / "k.db-shm"))
    locked = PermissionError(errno.EACCES, "Permission denied", str(tmp_path / "k.db"))
    path = tmp_path / "k.db"
    assert "the disk reported an error" in str(faults.sqlite_error(io, path))
    assert "Input/output error" in str(faults.os_error(eio, path))

    class Full:
        f_bavail = 0

    monkeypatch.setattr(faults.os, "statvfs", lambda _: Full())
    assert str(faults.sqlite_error(io, path)).endswith(
        "(disk I/O error): the disk is full: free some space."
    )
    assert str(faults.os_error(eio, path)).endswith("-shm: the disk is full: free some space.")
    assert "permission denied" in str(faults.os_error(locked, path))  # its own advice first


#: Values a hand-edited meta row may hold: JSON of any shape, numbers, text.
_ROW_VALUES = st.one_of(
    st.text(max_size=40),
    st.recursive(
        st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=8),
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(st.sampled_from(["frozen", "offset", "x"]), inner, max_size=3)
        ),
        max_leaves=8,
    ).map(json.dumps),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    row=st.sampled_from(["clock:%", "numbers:%", "secret:%", "root-key-check"]), value=_ROW_VALUES
)
def test_any_meta_row_opens_or_is_one_line(tmp_path: Path, row: str, value: str) -> None:
    """Whatever a meta row is changed to, opening the store either works or gives one
    StoreError line naming the store: never another exception."""
    store = tmp_path / "any.sqlite3"
    if not store.exists():
        with LocalKMS(store=store) as kms:
            key_id = kms.call("CreateKey")["KeyMetadata"]["KeyId"]
            kms.call("CreateGrant", KeyId=key_id, GranteePrincipal=_ROLE, Operations=["Decrypt"])
            kms.clock.advance(days=1)
        (tmp_path / "pristine").write_bytes(store.read_bytes())
    store.write_bytes((tmp_path / "pristine").read_bytes())
    db = sqlite3.connect(store)
    db.execute("UPDATE meta SET value = ? WHERE name LIKE ?", (value, row))
    assert db.total_changes == 1
    db.commit()
    db.close()
    try:
        LocalKMS(store=store).close()
    except StoreError as exc:
        assert "\n" not in str(exc) and str(store) in str(exc)
