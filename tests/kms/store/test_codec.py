"""Documents round-trip through JSON; damaged documents are refused, never half-loaded."""

from __future__ import annotations

import contextlib
import dataclasses
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kmslab import specs
from kmslab.exceptions import StoreError
from kmslab.kms.keys import Material
from kmslab.kms.keystores import CustomKeyStore
from kmslab.kms.keystores.cloudhsm import Cluster
from kmslab.kms.store.codec import STORED_CLASSES, Codec, _class, _class_name
from kmslab.kms.store.sealing import RootKey

_leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text()
    | st.binary()
    | st.datetimes(timezones=st.just(timezone.utc))
    | st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=10_000))
    | st.sampled_from(sorted(specs.KEY_SPECS)).map(specs.get)
)
_values = st.recursive(
    _leaves,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=4).map(tuple)
        | st.dictionaries(st.text(), inner, max_size=4)
        | st.dictionaries(st.binary(), inner, max_size=3)
    ),
    max_leaves=20,
)


@given(_values)
def test_any_value_round_trips(value: Any) -> None:
    codec = Codec(sealer=None)
    assert codec.loads(codec.dumps("doc", value), "doc") == value


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "$obj",
                    "f",
                    "$b",
                    "$t",
                    "$td",
                    "$spec",
                    "$tuple",
                    "$set",
                    "$map",
                    "$enum",
                    "v",
                    "$sealed",
                    "as",
                    "spec",
                    "id",
                    "x",
                ]
            ),
            inner,
            max_size=3,
        )
    ),
    max_leaves=12,
)


@given(st.text() | _json.map(json.dumps))
def test_damaged_documents_are_refused_plainly(text: str) -> None:
    # Refused whole, with the record named: never a traceback, never half a key.
    with contextlib.suppress(StoreError):
        Codec(sealer=None).loads(text, "doc")


def test_secret_fields_are_sealed_and_cached(tmp_path: Any) -> None:
    root = RootKey.open_or_create(tmp_path / "root")
    codec = Codec(root)
    material = Material("m" * 64, b"\x42" * 32, datetime(2030, 1, 1, tzinfo=timezone.utc))
    text = codec.dumps("key-1", [material])
    assert "QkJCQkJC" not in text and "4242" not in text  # base64 / hex of the secret
    assert codec.dumps("key-1", [material]) == text  # sealed once, reused
    (back,) = codec.loads(text, "key-1")
    assert back.secret == material.secret and back.created == material.created
    with pytest.raises(StoreError):
        codec.loads(text, "key-2")  # the seal names key-1
    with pytest.raises(StoreError, match="no root key"):
        Codec(sealer=None).dumps("key-1", [material])


def test_unknown_fields_are_dropped_and_missing_ones_defaulted(tmp_path: Any) -> None:
    root = RootKey.open_or_create(tmp_path / "root")
    codec = Codec(root)
    material = Material("m" * 64, b"\x00" * 32, datetime(2030, 1, 1, tzinfo=timezone.utc))
    doc = json.loads(codec.dumps("k", material))
    doc["f"]["no_longer_here"] = 1
    del doc["f"]["source"]
    back = codec.loads(json.dumps(doc), "k")
    assert back.source == "CREATE"


def test_unsaveable_values_are_named() -> None:
    with pytest.raises(StoreError, match="cannot save a object"):
        Codec(sealer=None).dumps("k", {"x": object()})


def test_fields_marked_sealed_are_sealed_whole(tmp_path: Any) -> None:
    """A SEALED field (a password, a table of key material) is sealed as its JSON text; the
    seal is reused while the value is equal, and made again once it changes."""
    root = RootKey.open_or_create(tmp_path / "root")
    codec = Codec(root)
    cluster = Cluster("cluster-a", "anchor", kmsuser_password="kmsuser-Pswd-9d1e")
    cluster.keys["key-1"] = b"\x42" * 32
    text = codec.dumps("cluster-a", cluster)
    for needle in ("kmsuser-Pswd", "a21zdXNlci1Qc3dk", "QkJCQkJC", "4242"):
        assert needle not in text
    assert codec.dumps("cluster-a", cluster) == text  # equal value: the same seal
    back = codec.loads(text, "cluster-a")
    assert back.kmsuser_password == "kmsuser-Pswd-9d1e" and back.keys == cluster.keys
    assert codec.dumps("cluster-a", back) == text  # a loaded record encodes as it was read
    back.keys["key-2"] = b"\x01" * 32  # changed in place (same dict): sealed again
    changed = codec.dumps("cluster-a", back)
    assert changed != text and codec.loads(changed, "cluster-a").keys == back.keys
    with pytest.raises(StoreError):
        codec.loads(text, "cluster-b")  # the seal names its record
    with pytest.raises(StoreError, match="no root key"):
        Codec(sealer=None).dumps("cluster-a", cluster)
    # A store's proxy credential too; None stays None (nothing to seal).
    store = CustomKeyStore(
        "cks-1",
        "x",
        "EXTERNAL_KEY_STORE",
        datetime(2030, 1, 1, tzinfo=timezone.utc),
        access_key_id="AKIAEXAMPLEKEYID0001",
        secret_access_key="secret-Example-Access-Key",
    )
    text = codec.dumps("cks-1", store)
    assert "AKIAEXAMPLE" not in text and "secret-Example" not in text
    assert json.loads(text)["f"]["password"] is None
    back_store = codec.loads(text, "cks-1")
    assert back_store.secret_access_key == "secret-Example-Access-Key"
    assert back_store.entry() == store.entry()


def test_a_sealed_field_changed_in_place_is_sealed_again(tmp_path: Any) -> None:
    """Reusing a seal by comparing snapshots never misses a change: a value replaced in the
    same dict, or a mutable value changed inside it (not snapshotted: encoded each time)."""
    codec = Codec(RootKey.open_or_create(tmp_path / "root"))
    cluster = Cluster("cluster-a", "anchor")
    cluster.keys["k"] = b"\x01" * 32
    first = codec.dumps("cluster-a", cluster)
    cluster.keys["k"] = b"\x02" * 32
    second = codec.dumps("cluster-a", cluster)
    assert second != first and codec.loads(second, "cluster-a").keys == {"k": b"\x02" * 32}
    cluster.keys["list"] = [b"a"]
    third = codec.dumps("cluster-a", cluster)
    cluster.keys["list"].append(b"b")
    fourth = codec.dumps("cluster-a", cluster)
    assert fourth != third and codec.loads(fourth, "cluster-a").keys["list"] == [b"a", b"b"]
    assert codec.dumps("cluster-a", cluster) == fourth  # unchanged: the same seal


def test_every_stored_class_is_where_its_entry_says() -> None:
    """Each stable name resolves to its class, and the class's name maps back to it: a
    class that moved needs its new location in STORED_CLASSES (stores still open)."""
    for name, location in STORED_CLASSES.items():
        cls = _class(name)
        assert f"{cls.__module__}:{cls.__qualname__}" == location
        assert _class_name(cls) == name
        assert _class(location) is cls  # the legacy spelling of a class that has not moved


def test_legacy_module_names_of_known_classes_load(tmp_path: Any) -> None:
    """Documents written before stable names name a class by "module:qualname", wherever
    it lived then (WrappingParams was in kms.ops.lifecycle)."""
    from kmslab.kms.ops.imports import WrappingParams

    assert _class("kmslab.kms.ops.lifecycle:WrappingParams") is WrappingParams
    codec = Codec(RootKey.open_or_create(tmp_path / "root"))
    material = Material("m" * 64, b"\x01", datetime(2030, 1, 1, tzinfo=timezone.utc), source="X")
    doc = json.loads(codec.dumps("k", {"m": material}))
    assert doc["m"]["$obj"] == "Material"
    doc["m"]["$obj"] = "kmslab.kms.some_old_module:Material"
    assert codec.loads(json.dumps(doc), "k")["m"].source == "X"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("subprocess:Popen", "outside kmslab"),
        ("os:system", "outside kmslab"),
        ("Popen", "does not have"),
        ("kmslab.kms.keys:NotAClass", "does not have"),
        ("kmslab.kms.keys:SEALED", "does not have"),
        ("kmslab.cli:main", "does not have"),
    ],
)
def test_unknown_class_names_are_refused(name: str, message: str) -> None:
    with pytest.raises(StoreError, match=message):
        Codec(sealer=None).loads(json.dumps({"$obj": name, "f": {}}), "k")


def test_a_class_without_a_stable_name_is_not_written() -> None:
    @dataclasses.dataclass
    class Unregistered:
        x: int = 1

    with pytest.raises(StoreError, match="no stable name"):
        Codec(sealer=None).dumps("k", Unregistered())


def test_every_class_the_scenarios_write_has_a_stable_name(
    store_path: Any, scenario: Any, keystore_scenario: Any, xks_proxy: Any
) -> None:
    """Every state-changing operation and every custom key store record: the documents
    name classes only by stable names, each of STORED_CLASSES."""
    import re
    import sqlite3

    from kmslab.kms import LocalKMS

    with LocalKMS(store=store_path) as kms:
        scenario(kms)
        keystore_scenario(kms, xks_proxy)
    db = sqlite3.connect(store_path)
    names: set[str] = set()
    for table in ("keys", "aliases", "grants", "clusters", "key_stores", "xks_routes"):
        for (doc,) in db.execute(f"SELECT doc FROM {table}"):
            names |= set(re.findall(r'"\$(?:obj|enum|ref)":"([^"]*)"', doc))
    db.close()
    assert names and names <= set(STORED_CLASSES)
    assert {"Key", "Material", "Grant", "WrappingParams", "Cluster", "CustomKeyStore"} <= names
