"""``kmslab serve --store``: keys survive a restart, a clean stop and a SIGKILL mid-writes."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

pytestmark = pytest.mark.skipif(os.name != "posix", reason="signals and flock: POSIX")

_DEADLINE = 60.0  # seconds any one wait may take before the test fails


def _env() -> dict[str, str]:
    src = str(Path(__file__).resolve().parents[1] / "src")
    return {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}


@contextmanager
def _serve(store: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``python -m kmslab serve --store STORE --port 0``; yields (process, endpoint URL)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "kmslab", "serve", "--store", str(store), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    lines: queue.Queue[str] = queue.Queue()
    # A thread reads stdout: select() would not see lines already in the pipe's buffer.
    reader = threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout or ()], daemon=True)
    reader.start()
    try:
        url = None
        while url is None:
            try:
                line = lines.get(timeout=_DEADLINE)
            except queue.Empty:
                raise AssertionError("kmslab serve did not start in time") from None
            if " on http://" in line:
                url = line.split(" on ", 1)[1].split()[0]
        yield proc, url
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=_DEADLINE)
        reader.join(timeout=_DEADLINE)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def _serve_once(store: Path) -> subprocess.CompletedProcess[str]:
    """``kmslab serve --store STORE`` expected to stop at once (refused): its outcome."""
    return subprocess.run(
        [sys.executable, "-m", "kmslab", "serve", "--store", str(store), "--port", "0"],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=_DEADLINE,
    )


def _client(url: str) -> Any:
    return boto3.client(
        "kms",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=30),
    )


def test_keys_survive_a_clean_stop_and_a_sigkill(tmp_path: Path) -> None:
    store = tmp_path / "kms.sqlite3"
    with _serve(store) as (proc, url):
        kms = _client(url)
        first = kms.create_key(Description="before restart")["KeyMetadata"]["KeyId"]
        early = kms.encrypt(KeyId=first, Plaintext=b"earlier")["CiphertextBlob"]
        # A second server on the same store is refused, naming the owner; the store is intact.
        second = _serve_once(store)
        assert second.returncode == 2
        assert f"in use by process {proc.pid}" in second.stderr
        proc.send_signal(signal.SIGINT)  # Ctrl-C: a clean stop
        proc.wait(timeout=_DEADLINE)

    acked: list[tuple[str, bytes, bytes]] = []
    with _serve(store) as (proc, url):
        kms = _client(url)
        assert kms.decrypt(CiphertextBlob=early)["Plaintext"] == b"earlier"
        stop = threading.Event()

        def writes() -> None:
            n = 0
            while not stop.is_set() and n < 10_000:
                n += 1
                try:
                    key_id = kms.create_key(Description=f"write {n}")["KeyMetadata"]["KeyId"]
                    kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": "n", "TagValue": str(n)}])
                    plaintext = f"acknowledged {n}".encode()
                    blob = kms.encrypt(KeyId=key_id, Plaintext=plaintext)["CiphertextBlob"]
                except Exception:  # the server died under us: this write is not acknowledged
                    return
                acked.append((key_id, plaintext, blob))

        writer = threading.Thread(target=writes)
        writer.start()
        end = time.monotonic() + _DEADLINE
        while len(acked) < 15 and time.monotonic() < end and writer.is_alive():
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)  # in the middle of the stream of writes
        proc.wait(timeout=_DEADLINE)
        stop.set()
        writer.join(timeout=_DEADLINE)
        assert len(acked) >= 15

    with _serve(store) as (proc, url):
        kms = _client(url)
        assert kms.decrypt(CiphertextBlob=early)["Plaintext"] == b"earlier"
        for key_id, plaintext, blob in acked:
            meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
            assert meta["Enabled"] and meta["Description"].startswith("write ")
            n = meta["Description"].split()[1]
            assert kms.list_resource_tags(KeyId=key_id)["Tags"] == [{"TagKey": "n", "TagValue": n}]
            assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == plaintext
        # And the restarted server keeps working on the same store.
        again = kms.encrypt(KeyId=first, Plaintext=b"after")["CiphertextBlob"]
        assert kms.decrypt(CiphertextBlob=again)["Plaintext"] == b"after"


def test_served_key_stores_survive_a_restart_and_a_sigkill(tmp_path: Path) -> None:
    """Key stores made in Python are served from the store; the proxy route is kept, so the
    served KMS reaches the same proxy; a disconnect answered before a SIGKILL is kept."""
    from kmslab import LocalKMS
    from kmslab.xks import XksProxy
    from tests.kms.keystore_setup import cloudhsm_store, external_store

    store = tmp_path / "kms.sqlite3"
    proxy = XksProxy()
    proxy.keys.create("ext-1")
    proxy.start()
    try:
        with LocalKMS(store=store) as local:
            hsm, _ = cloudhsm_store(local, connect=True)
            xks = external_store(local, proxy, connect=True)
            blobs = {}
            for store_id, params in (
                (hsm, {"Origin": "AWS_CLOUDHSM"}),
                (xks, {"Origin": "EXTERNAL_KEY_STORE", "XksKeyId": "ext-1"}),
            ):
                key_id = local.call("CreateKey", CustomKeyStoreId=store_id, **params)[
                    "KeyMetadata"
                ]["KeyId"]
                blobs[store_id] = local.call("Encrypt", KeyId=key_id, Plaintext=b"kept")[
                    "CiphertextBlob"
                ]
        with _serve(store) as (proc, url):
            kms = _client(url)
            listed = kms.describe_custom_key_stores()["CustomKeyStores"]
            assert [(s["CustomKeyStoreName"], s["ConnectionState"]) for s in listed] == [
                ("hsm", "CONNECTED"),
                ("xks", "CONNECTED"),
            ]
            for blob in blobs.values():  # through the served KMS, and for xks its proxy
                assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"kept"
            kms.disconnect_custom_key_store(CustomKeyStoreId=hsm)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=_DEADLINE)
        with _serve(store) as (proc, url):
            kms = _client(url)
            entry = kms.describe_custom_key_stores(CustomKeyStoreId=hsm)["CustomKeyStores"][0]
            assert entry["ConnectionState"] == "DISCONNECTED"
            kms.connect_custom_key_store(CustomKeyStoreId=hsm)  # the kept password logs in
            assert kms.decrypt(CiphertextBlob=blobs[hsm])["Plaintext"] == b"kept"
    finally:
        proxy.stop()


def test_sigterm_stops_cleanly_and_the_database_file_alone_has_the_keys(tmp_path: Path) -> None:
    """``kill`` closes the store as Ctrl-C does: the WAL is checkpointed, so a copy of the
    database file and its root key (the backup the README describes) holds every key."""
    store = tmp_path / "kms.sqlite3"
    with _serve(store) as (proc, url):
        kms = _client(url)
        ids = [kms.create_key(Description=f"k{n}")["KeyMetadata"]["KeyId"] for n in range(5)]
        blob = kms.encrypt(KeyId=ids[0], Plaintext=b"kept")["CiphertextBlob"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=_DEADLINE) == 0
    assert not (tmp_path / "kms.sqlite3-wal").exists()
    backup = tmp_path / "backup"
    backup.mkdir()
    for name in ("kms.sqlite3", "kms.sqlite3.root-key"):
        (backup / name).write_bytes((tmp_path / name).read_bytes())
    (backup / "kms.sqlite3.root-key").chmod(0o600)
    from kmslab import LocalKMS

    with LocalKMS(store=backup / "kms.sqlite3") as local:
        assert sorted(k["KeyId"] for k in local.call("ListKeys")["Keys"]) == sorted(ids)
        assert local.call("Decrypt", CiphertextBlob=blob)["Plaintext"] == b"kept"


def test_a_deleted_lock_file_does_not_let_a_second_server_in(tmp_path: Path) -> None:
    store = tmp_path / "kms.sqlite3"
    with _serve(store) as (proc, url):
        _client(url).create_key()
        (tmp_path / "kms.sqlite3.lock").unlink()
        second = _serve_once(store)
        assert second.returncode == 2, second.stdout + second.stderr
        assert second.stderr == (
            f"kmslab serve: The store {store} is in use by another process (its lock file "
            f"{store}.lock was removed, so it cannot be named). One process opens a store at "
            "a time: stop that one, or use another --store path.\n"
        )
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=_DEADLINE)


def _break(store: Path, how: str) -> None:
    import sqlite3

    from kmslab import LocalKMS

    with LocalKMS(store=store) as local:
        for _ in range(40):
            local.call("CreateKey")
    root = store.with_name(store.name + ".root-key")
    if how == "empty":
        store.write_bytes(b"")
    elif how == "damaged":
        data = bytearray(store.read_bytes())
        for page in range(4096, len(data), 4096):
            data[page : page + 100] = b"\xa5" * 100
        store.write_bytes(bytes(data))
    elif how == "symlink":
        root.rename(store.with_name("elsewhere"))
        root.symlink_to(store.with_name("elsewhere"))
    elif how == "directory":
        root.unlink()
        root.mkdir()
    elif how == "row":
        db = sqlite3.connect(store)
        db.execute("UPDATE keys SET doc = '[1,2]'")
        db.commit()
        db.close()
    elif how in ("clock", "deep"):
        db = sqlite3.connect(store)
        if how == "clock":  # not JSON: json.loads's own message named no store
            db.execute("INSERT OR REPLACE INTO meta VALUES ('clock:111122223333', 'junk')")
        else:  # nested past Python's recursion limit inside json.loads
            db.execute("UPDATE keys SET doc = ?", ("[" * 200_000 + "]" * 200_000,))
        db.commit()
        db.close()


@pytest.mark.parametrize(
    "how", ["empty", "damaged", "symlink", "directory", "row", "clock", "deep", "long name"]
)
def test_a_store_that_cannot_open_is_one_line_and_status_2(tmp_path: Path, how: str) -> None:
    store = tmp_path / "kms.sqlite3"
    if how == "long name":  # ENAMETOOLONG from the first look at the path
        store = tmp_path / ("k" * 300 + ".db")
    else:
        _break(store, how)
    out = _serve_once(store)
    assert out.returncode == 2, out.stderr
    assert out.stderr.startswith("kmslab serve: ") and out.stderr.count("\n") == 1, out.stderr
    assert "Traceback" not in out.stderr and out.stdout == ""
    assert f"The store {store}" in out.stderr or how in ("symlink", "directory"), out.stderr


def _stop(proc: subprocess.Popen[str]) -> str:
    """SIGTERM ``proc``; its exit status must be 0; returns what it wrote to stderr."""
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=_DEADLINE) == 0
    assert proc.stderr is not None
    return proc.stderr.read()


def test_a_checkpoint_that_cannot_finish_says_to_keep_the_wal(tmp_path: Path) -> None:
    """A reader holding an older state (a sqlite3 shell) keeps the checkpoint at close from
    copying every commit into the database file: the server says to keep PATH-wal."""
    import sqlite3

    store = tmp_path / "kms.sqlite3"
    wal = tmp_path / "kms.sqlite3-wal"
    with _serve(store) as (proc, url):
        kms = _client(url)
        first = kms.create_key()["KeyMetadata"]["KeyId"]
        reader = sqlite3.connect(store, isolation_level=None)
        reader.execute("BEGIN")
        assert reader.execute("SELECT count(*) FROM keys").fetchone() == (1,)
        later = kms.create_key()["KeyMetadata"]["KeyId"]  # after the reader's state
        stderr = _stop(proc)
    assert stderr == (
        f"kmslab serve: the store's latest changes are still in {wal} (the checkpoint "
        "failed: another program is reading an older state of the store (a sqlite3 "
        f"shell?)); keep that file with {store}.\n"
    )
    assert wal.stat().st_size > 0
    reader.execute("COMMIT")
    reader.close()
    from kmslab import LocalKMS

    with LocalKMS(store=store) as local:
        assert {k["KeyId"] for k in local.call("ListKeys")["Keys"]} == {first, later}


def test_a_clean_stop_with_a_checkpoint_done_says_nothing_more(tmp_path: Path) -> None:
    store = tmp_path / "kms.sqlite3"
    with _serve(store) as (proc, url):
        _client(url).create_key()
        assert _stop(proc) == ""
    assert not (tmp_path / "kms.sqlite3-wal").exists()


def test_sigterm_on_a_full_disk_says_to_keep_the_wal(small_disk: Path) -> None:
    """The disk fills while serving: the checkpoint at close fails, the commits stay in
    PATH-wal, and the server says so (a copy of PATH alone would be malformed)."""
    store = small_disk / "kms.sqlite3"
    wal = small_disk / "kms.sqlite3-wal"
    with _serve(store) as (proc, url):
        kms = _client(url)
        ids = {kms.create_key()["KeyMetadata"]["KeyId"] for _ in range(8)}
        with open(small_disk / "filler", "wb", buffering=0) as filler:
            try:
                for _ in range(10_000):  # 40 MB at most: the disk is 300 KiB
                    filler.write(b"\0" * 4096)
            except OSError:
                pass
        stderr = _stop(proc)
    assert stderr == (
        f"kmslab serve: the store's latest changes are still in {wal} (the checkpoint "
        f"failed: database or disk is full); keep that file with {store}.\n"
    )
    (small_disk / "filler").unlink()
    from kmslab import LocalKMS

    with LocalKMS(store=store) as local:  # with its WAL, the store has every key
        assert {k["KeyId"] for k in local.call("ListKeys")["Keys"]} == ids


def test_the_start_line_counts_the_keys_of_every_region(tmp_path: Path) -> None:
    from kmslab import LocalKMS

    store = tmp_path / "kms.sqlite3"
    with LocalKMS(store=store) as local:
        local.call("CreateKey")
        other = local.aws_account.region("eu-west-1")
        other.call("CreateKey")
        other.call("CreateKey")
    proc = subprocess.Popen(
        [sys.executable, "-m", "kmslab", "serve", "--store", str(store), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=_env(),
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()  # the server prints it before it serves
    finally:
        proc.kill()
        proc.wait(timeout=_DEADLINE)
        if proc.stdout is not None:
            proc.stdout.close()
    assert first == f"kmslab: keys kept in {store} (3 keys in 2 Regions)\n"
