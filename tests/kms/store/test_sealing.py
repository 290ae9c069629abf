"""Key material at rest: the database alone reveals no key bytes; the root key is guarded."""

from __future__ import annotations

import base64
import os
import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kmslab.exceptions import StoreError
from kmslab.kms import LocalKMS
from kmslab.kms.store.sealing import RootKey


def _forms(secret: bytes) -> dict[str, bytes]:
    """The ways a secret could show in a file: raw, hex (both cases), base64 (and urlsafe)."""
    return {
        "raw": secret,
        "hex": secret.hex().encode(),
        "HEX": secret.hex().upper().encode(),
        "base64": base64.b64encode(secret).rstrip(b"="),
        "base64url": base64.urlsafe_b64encode(secret).rstrip(b"="),
    }


def _secret_forms(family_name: str, secret: Any) -> list[bytes]:
    """The raw secrets of one material: its bytes, or its PKCS #8 and private value."""
    from kmslab.crypto import family

    if isinstance(secret, bytes):
        return [secret]
    found = [family(family_name).private_der(secret)]
    if hasattr(secret, "private_bytes_raw"):
        found.append(secret.private_bytes_raw())
    if hasattr(secret, "seed"):  # ML-KEM-512 held as its seed
        found.append(secret.seed)
    if hasattr(secret, "private_numbers"):
        numbers = secret.private_numbers()
        value = getattr(numbers, "private_value", None) or numbers.d
        found.append(value.to_bytes((value.bit_length() + 7) // 8, "big"))
    return found


def _files(store_path: Path) -> list[Path]:
    names = [store_path, Path(f"{store_path}-wal"), Path(f"{store_path}-shm")]
    return [p for p in names if p.exists()]


def _assert_absent(store_path: Path, secret: bytes) -> None:
    files = _files(store_path)
    assert store_path in files
    for path in files:
        content = path.read_bytes()
        for form, needle in _forms(secret).items():
            assert needle not in content, f"{form} key material found in {path.name}"


def test_the_database_reveals_no_key_bytes(
    store_path: Path, known_material: bytes, importer: Callable[..., Any], scenario: Any
) -> None:
    kms = LocalKMS(store=store_path)
    try:
        key_id = kms.call("CreateKey", Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
        importer(kms, key_id, known_material, ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
        hmac = kms.call("CreateKey", KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")
        hmac_id = hmac["KeyMetadata"]["KeyId"]
        scenario(kms)  # every kind of record, so nothing else leaks the material either
        # While the store is open, with the write-ahead log in place:
        assert Path(f"{store_path}-wal").exists()
        _assert_absent(store_path, known_material)
        generated = kms.keys[hmac_id].current
        assert generated is not None
        _assert_absent(store_path, generated.secret)
        # Every family's material, in each form it has: bytes, PKCS #8, raw private value.
        checked = set()
        for key in kms.keys.values():
            for material in key.materials:
                if material.secret is not None:
                    for raw in _secret_forms(key.info.family, material.secret):
                        _assert_absent(store_path, raw[:16])
                        _assert_absent(store_path, raw[-16:])
                    checked.add(key.info.family)
        assert checked >= {"aes", "hmac", "rsa", "ec", "edwards", "ml-dsa", "ml-kem"}
    finally:
        kms.close()
    _assert_absent(store_path, known_material)  # and once checkpointed into the database
    # The same material is all there is under the root key: the key still works.
    with LocalKMS(store=store_path) as again:
        assert again.keys[key_id].current.secret == known_material  # type: ignore[union-attr]


def test_the_database_reveals_no_key_store_secrets(
    store_path: Path,
    xks_proxy: Any,
    keystore_scenario: Any,
    kmsuser_password: str,
) -> None:
    """Key store passwords, the proxy credential and the cluster's key material are sealed."""
    kms = LocalKMS(store=store_path)
    try:
        made = keystore_scenario(kms, xks_proxy)
        kms.iam.create_role("Reader")  # a record beside them, written in the same way
        kms.call("CreateKey")
        assert Path(f"{store_path}-wal").exists()
        secrets: list[bytes] = [
            kmsuser_password.encode(),
            b"not-the-password",  # the store's first password, replaced since
            xks_proxy.secret_access_key.encode(),
            xks_proxy.access_key_id.encode(),
        ]
        cluster = kms.cloudhsm.get(made["cluster"])
        assert cluster is not None and cluster.keys
        secrets += [bytes(material) for material in cluster.keys.values()]
        for secret in secrets:
            _assert_absent(store_path, secret)
    finally:
        kms.close()
    for secret in secrets:  # and once checkpointed into the database
        _assert_absent(store_path, secret)
    db = sqlite3.connect(store_path)
    docs = "".join(
        doc
        for (doc,) in db.execute("SELECT doc FROM key_stores UNION ALL SELECT doc FROM clusters")
    )
    db.close()
    assert docs.count('"$sealed"') >= 4  # the fields are there, sealed, not absent


def test_the_root_key_file_is_owner_only_and_never_replaced(store_path: Path) -> None:
    LocalKMS(store=store_path).close()
    root = Path(f"{store_path}.root-key")
    assert stat.S_IMODE(root.stat().st_mode) == 0o600
    assert len(root.read_bytes()) == 32
    assert stat.S_IMODE(store_path.stat().st_mode) == 0o600  # the database too
    with pytest.raises(FileExistsError):  # O_EXCL: creation never overwrites
        RootKey._create(root)


def test_a_root_key_others_may_read_is_refused(store_path: Path) -> None:
    LocalKMS(store=store_path).close()
    root = Path(f"{store_path}.root-key")
    root.chmod(0o644)
    with pytest.raises(StoreError, match="chmod 600"):
        LocalKMS(store=store_path)


def test_a_missing_or_foreign_root_key_is_refused(store_path: Path, tmp_path: Path) -> None:
    with LocalKMS(store=store_path) as kms:
        kms.call("CreateKey")
    root = Path(f"{store_path}.root-key")
    saved = root.read_bytes()
    root.unlink()
    with pytest.raises(StoreError, match="is missing"):
        LocalKMS(store=store_path)
    assert not root.exists()  # no new key was made for a store that has one
    fd = os.open(root, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, os.urandom(32))
    os.close(fd)
    with pytest.raises(StoreError, match="does not open under the root key"):
        LocalKMS(store=store_path)
    root.write_bytes(saved)
    LocalKMS(store=store_path).close()


def test_sealed_material_is_bound_to_its_key(store_path: Path) -> None:
    """Copying one key's sealed material onto another key does not open (AAD = key id)."""
    with LocalKMS(store=store_path) as kms:
        first = kms.call("CreateKey")["KeyMetadata"]["KeyId"]
        second = kms.call("CreateKey")["KeyMetadata"]["KeyId"]
    db = sqlite3.connect(store_path)
    doc = db.execute("SELECT doc FROM keys WHERE id = ?", (first,)).fetchone()[0]
    db.execute("UPDATE keys SET doc = ? WHERE id = ?", (doc.replace(first, second), second))
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="does not open"):
        LocalKMS(store=store_path)


def test_root_key_seal_and_open(tmp_path: Path) -> None:
    root = RootKey.open_or_create(tmp_path / "root")
    blob = root.seal(b"key\0version", b"material")
    assert root.open(b"key\0version", blob) == b"material"
    assert b"material" not in blob
    with pytest.raises(StoreError):
        root.open(b"key\0other-version", blob)
    with pytest.raises(StoreError):
        root.open(b"key\0version", blob[:-1] + bytes([blob[-1] ^ 1]))
    assert "root" in repr(root) and blob.hex() not in repr(root)
