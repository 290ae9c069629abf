"""Markers survive a restart (issue 14): for every List operation that pages, a marker
taken before the store is closed resumes, after it is reopened, exactly after the last item
returned -- each remaining item once, none skipped, none repeated -- also when items were
created and deleted before the restart and after it.

The markers used to hold numbers of a process-wide counter that keys and grants shared:
after a reopen, ListKeys skipped keys and ListGrants started over.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kmslab.clock import Clock
from kmslab.kms.service import LocalKMS
from tests.kms.keystore_setup import cloudhsm_store

START = datetime(2030, 1, 1, tzinfo=timezone.utc)
PRINCIPAL = "arn:aws:iam::111122223333:role/app"


def _open(path: Path) -> LocalKMS:
    return LocalKMS(clock=Clock(frozen_at=START), store=path)


def _page(kms: LocalKMS, operation: str, params: dict[str, Any], **extra: Any) -> Any:
    return kms.call(operation, **params, **extra)


def _rest(
    kms: LocalKMS, case: Case, params: dict[str, Any], marker: str | None, limit: int = 2
) -> list[str]:
    """The ids of every item from ``marker`` on, ``limit`` per page."""
    out: list[str] = []
    for _ in range(1_000):  # bounded
        page = _page(
            kms, case.operation, params, Limit=limit, **({"Marker": marker} if marker else {})
        )
        out += [item[case.ident] for item in page[case.member]]
        if not page["Truncated"]:
            return out
        marker = page["NextMarker"]
    raise AssertionError("listing did not end")


def _delete_key(kms: LocalKMS, key_id: str) -> None:
    kms.call("ScheduleKeyDeletion", KeyId=key_id, PendingWindowInDays=7)
    kms.clock.advance(days=8)
    kms.call("ListKeys")  # the timer runs on the next call


def _grant(kms: LocalKMS, key_id: str) -> str:
    return str(
        kms.call(
            "CreateGrant",
            KeyId=key_id,
            GranteePrincipal=PRINCIPAL,
            RetiringPrincipal=PRINCIPAL,
            Operations=["Encrypt"],
        )["GrantId"]
    )


def _key_store(kms: LocalKMS, name: str) -> str:
    return cloudhsm_store(kms, name)[0]


@dataclass
class Case:
    """One List operation: its response member and item id, the parameters it takes in
    the world, how to add an item (returning its id) and how to remove one (None: its
    items cannot be removed)."""

    operation: str
    member: str
    ident: str
    params: Callable[[dict[str, Any]], dict[str, Any]]
    add: Callable[[LocalKMS, dict[str, Any], int], str]
    remove: Callable[[LocalKMS, dict[str, Any], str], None] | None


def _new_key(kms: LocalKMS, w: dict[str, Any], i: int) -> str:
    key_id = str(kms.call("CreateKey", Description=f"k{i}")["KeyMetadata"]["KeyId"])
    _grant(kms, key_id)  # grants are numbered from the same Region counter, in between
    return key_id


def _new_grant(kms: LocalKMS, w: dict[str, Any], i: int) -> str:
    kms.call("CreateKey")  # a key numbered in between
    grant_id = _grant(kms, w["first"])
    w["grant_key"][grant_id] = w["first"]
    return grant_id


def _new_retirable(kms: LocalKMS, w: dict[str, Any], i: int) -> str:
    key_id = w["first"] if i % 2 else w["second"]  # retirable grants of two keys, interleaved
    grant_id = _grant(kms, key_id)
    w["grant_key"][grant_id] = key_id
    return grant_id


def _revoke(kms: LocalKMS, w: dict[str, Any], grant_id: str) -> None:
    kms.call("RevokeGrant", KeyId=w["grant_key"][grant_id], GrantId=grant_id)


def _new_alias(kms: LocalKMS, w: dict[str, Any], i: int) -> str:
    name = f"alias/p{i:02d}"
    kms.call("CreateAlias", AliasName=name, TargetKeyId=w["first"])
    return name


def _new_rotation(kms: LocalKMS, w: dict[str, Any], i: int) -> str:
    kms.call("RotateKeyOnDemand", KeyId=w["first"])
    rotations = kms.call("ListKeyRotations", KeyId=w["first"], Limit=1000)["Rotations"]
    return str(rotations[-1]["KeyMaterialId"])


def _new_tag(kms: LocalKMS, w: dict[str, Any], i: int) -> str:
    name = f"t{i:02d}"
    kms.call("TagResource", KeyId=w["first"], Tags=[{"TagKey": name, "TagValue": "v"}])
    return name


CASES = [
    Case(
        "ListKeys", "Keys", "KeyId", lambda w: {}, _new_key, lambda kms, w, k: _delete_key(kms, k)
    ),
    Case("ListGrants", "Grants", "GrantId", lambda w: {"KeyId": w["first"]}, _new_grant, _revoke),
    Case(
        "ListRetirableGrants",
        "Grants",
        "GrantId",
        lambda w: {"RetiringPrincipal": PRINCIPAL},
        _new_retirable,
        _revoke,
    ),
    Case(
        "ListAliases",
        "Aliases",
        "AliasName",
        lambda w: {},
        _new_alias,
        lambda kms, w, name: kms.call("DeleteAlias", AliasName=name),
    ),
    Case(
        "ListAliases",
        "Aliases",
        "AliasName",
        lambda w: {"KeyId": w["first"]},
        _new_alias,
        lambda kms, w, name: kms.call("DeleteAlias", AliasName=name),
    ),
    Case(
        "ListKeyRotations",
        "Rotations",
        "KeyMaterialId",
        lambda w: {"KeyId": w["first"]},
        _new_rotation,
        None,
    ),
    Case(
        "ListResourceTags",
        "Tags",
        "TagKey",
        lambda w: {"KeyId": w["first"]},
        _new_tag,
        lambda kms, w, name: kms.call("UntagResource", KeyId=w["first"], TagKeys=[name]),
    ),
    Case(
        "DescribeCustomKeyStores",
        "CustomKeyStores",
        "CustomKeyStoreId",
        lambda w: {},
        lambda kms, w, i: _key_store(kms, f"store-{i}"),
        lambda kms, w, store_id: kms.call("DeleteCustomKeyStore", CustomKeyStoreId=store_id),
    ),
]
IDS = [
    f"{c.operation}{'-by-key' if c.operation == 'ListAliases' and i == 4 else ''}"
    for i, c in enumerate(CASES)
]


def _world(kms: LocalKMS, case: Case, count: int = 7) -> tuple[dict[str, Any], list[str]]:
    """Two keys, then ``count`` items of the case (one removed again, where items can be);
    returns the world and the ids of the items added."""
    w: dict[str, Any] = {"grant_key": {}}
    w["first"] = kms.call("CreateKey")["KeyMetadata"]["KeyId"]
    w["second"] = kms.call("CreateKey")["KeyMetadata"]["KeyId"]
    added = [case.add(kms, w, i) for i in range(count)]
    if case.remove is not None:
        case.remove(kms, w, added.pop(3))  # deleted before the restart
    return w, added


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_marker_resumes_after_a_restart_exactly_where_it_was(tmp_path: Path, case: Case) -> None:
    path = tmp_path / "kms.sqlite3"
    kms = _open(path)
    w, added = _world(kms, case)
    params = case.params(w)
    everything = _rest(kms, case, params, None, limit=100)
    assert set(added) <= set(everything) and len(set(everything)) == len(everything)
    first = _page(kms, case.operation, params, Limit=3)
    shown = [item[case.ident] for item in first[case.member]]
    assert shown == everything[:3] and first["Truncated"] is True
    kms.close()
    with _open(path) as again:
        assert _rest(again, case, params, first["NextMarker"]) == everything[3:]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_after_a_restart_items_created_and_deleted_meanwhile_move_nothing(
    tmp_path: Path, case: Case
) -> None:
    """After the reopen, an item already returned and an item not yet returned are
    removed, and a new one is added: the rest is what remains, each once, then the new
    item (every listing's sort key puts the new one last here)."""
    path = tmp_path / "kms.sqlite3"
    kms = _open(path)
    w, added = _world(kms, case)
    params = case.params(w)
    everything = _rest(kms, case, params, None, limit=100)
    # A page that ends inside the case's own items (past the predefined aliases).
    cut = everything.index(added[1]) + 1
    first = _page(kms, case.operation, params, Limit=cut)
    assert [item[case.ident] for item in first[case.member]] == everything[:cut]
    kms.close()
    with _open(path) as again:
        expected = everything[cut:]
        if case.remove is not None:
            case.remove(again, w, added[0])  # already returned
            case.remove(again, w, added[-2])  # not yet returned
            expected.remove(added[-2])
        new = case.add(again, w, 50)
        assert _rest(again, case, params, first["NextMarker"]) == [*expected, new]
        again.close()
    with _open(path) as third:  # and the numbers given after the restart were saved too
        assert _rest(third, case, params, first["NextMarker"]) == [*expected, new]


def test_the_testers_list_keys_example(tmp_path: Path) -> None:
    """10 keys with one grant each; 5 listed; restart; the marker gives keys #5-#9."""
    path = tmp_path / "kms.sqlite3"
    kms = _open(path)
    ids = []
    for _ in range(10):
        ids.append(kms.call("CreateKey")["KeyMetadata"]["KeyId"])
        _grant(kms, ids[-1])
    page = kms.call("ListKeys", Limit=5)
    kms.close()
    with _open(path) as again:
        rest = again.call("ListKeys", Marker=page["NextMarker"])
        assert [k["KeyId"] for k in rest["Keys"]] == ids[5:] and rest["Truncated"] is False


def test_the_testers_list_grants_example(tmp_path: Path) -> None:
    """6 grants on a key, CreateKey in between; 3 listed; restart; the marker gives 3-5."""
    path = tmp_path / "kms.sqlite3"
    kms = _open(path)
    key = kms.call("CreateKey")["KeyMetadata"]["KeyId"]
    grants = []
    for _ in range(6):
        grants.append(_grant(kms, key))
        kms.call("CreateKey")
    page = kms.call("ListGrants", KeyId=key, Limit=3)
    assert [g["GrantId"] for g in page["Grants"]] == grants[:3]
    kms.close()
    with _open(path) as again:
        rest = again.call("ListGrants", KeyId=key, Marker=page["NextMarker"])
        assert [g["GrantId"] for g in rest["Grants"]] == grants[3:] and rest["Truncated"] is False


@pytest.mark.parametrize(
    "case",
    [pytest.param(c, id=i) for c, i in zip(CASES, IDS, strict=True) if c.remove is not None],
)
def test_numbers_of_deleted_items_are_not_given_again_after_a_restart(
    tmp_path: Path, case: Case
) -> None:
    """The marker names the second item; it and every later one are deleted; after the
    restart a new item must not take their numbers (it would sort before the marker and be
    skipped)."""
    path = tmp_path / "kms.sqlite3"
    kms = _open(path)
    w, added = _world(kms, case, count=4)
    params = case.params(w)
    everything = _rest(kms, case, params, None, limit=100)
    cut = everything.index(added[1]) + 1
    page = _page(kms, case.operation, params, Limit=cut)
    for item in added[1:]:
        case.remove(kms, w, item)  # type: ignore[misc]
    kms.close()
    with _open(path) as again:
        new = case.add(again, w, 50)
        assert _rest(again, case, params, page["NextMarker"]) == [new]


def test_a_second_local_kms_in_the_same_process_reads_the_same_markers(tmp_path: Path) -> None:
    """Numbers are the Region's, not the process's: creating keys in another LocalKMS in
    between moves nothing."""
    path = tmp_path / "kms.sqlite3"
    kms = _open(path)
    ids = [kms.call("CreateKey")["KeyMetadata"]["KeyId"] for _ in range(4)]
    page = kms.call("ListKeys", Limit=2)
    kms.close()
    other = LocalKMS()
    for _ in range(5):
        _grant(other, other.call("CreateKey")["KeyMetadata"]["KeyId"])
    with _open(path) as again:
        rest = again.call("ListKeys", Marker=page["NextMarker"])
        assert [k["KeyId"] for k in rest["Keys"]] == ids[2:]


# -- a store written before keys and grants had numbers -------------------------------------


def _strip_numbers(path: Path) -> int:
    """Make the store what the previous kmslab wrote: schema v3, keys and grants saved
    without ``number``. Returns how many numbers it removed."""
    db = sqlite3.connect(path)
    removed = 0
    with db:
        for table, column in (("keys", "id"), ("grants", "key_id")):
            for ident, text in db.execute(f"SELECT {column}, doc FROM {table}").fetchall():
                doc = json.loads(text)
                for obj in doc if isinstance(doc, list) else [doc]:
                    if obj["f"].pop("number", None) is not None:
                        removed += 1
                db.execute(
                    f"UPDATE {table} SET doc = ? WHERE {column} = ?", (json.dumps(doc), ident)
                )
    assert db.execute("PRAGMA user_version").fetchone()[0] == 3
    db.close()
    return removed


def _saved_numbers(path: Path) -> list[int]:
    db = sqlite3.connect(path)
    found = []
    for table in ("keys", "grants"):
        for (text,) in db.execute(f"SELECT doc FROM {table} ORDER BY rowid"):
            doc = json.loads(text)
            found += [
                obj["f"].get("number", 0) for obj in (doc if isinstance(doc, list) else [doc])
            ]
    db.close()
    return found


def test_a_store_saved_without_numbers_opens_in_its_saved_order_and_keeps_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "kms.sqlite3"
    kms = _open(path)
    ids, grants = [], []
    for _ in range(6):
        ids.append(kms.call("CreateKey")["KeyMetadata"]["KeyId"])
        grants.append(_grant(kms, ids[0]))
    _grant(kms, ids[1])
    kms.close()
    assert _strip_numbers(path) == 6 + 7
    with _open(path) as old:
        assert [k["KeyId"] for k in old.call("ListKeys")["Keys"]] == ids
        assert [g["GrantId"] for g in old.call("ListGrants", KeyId=ids[0])["Grants"]] == grants
        keys_page = old.call("ListKeys", Limit=2)
        grants_page = old.call("ListGrants", KeyId=ids[0], Limit=2)
        retirable = old.call("ListRetirableGrants", RetiringPrincipal=PRINCIPAL, Limit=2)
        everything = _rest(old, CASES[2], {"RetiringPrincipal": PRINCIPAL}, None, limit=100)
        old.close()  # saves the numbers given on load
    numbers = _saved_numbers(path)
    assert 0 not in numbers and len(set(numbers)) == len(numbers) == 13
    with _open(path) as again:
        later = again.call("CreateKey")["KeyMetadata"]["KeyId"]
        rest = again.call("ListKeys", Marker=keys_page["NextMarker"])
        assert [k["KeyId"] for k in rest["Keys"]] == [*ids[2:], later]
        rest = again.call("ListGrants", KeyId=ids[0], Marker=grants_page["NextMarker"])
        assert [g["GrantId"] for g in rest["Grants"]] == grants[2:]
        assert (
            _rest(again, CASES[2], {"RetiringPrincipal": PRINCIPAL}, retirable["NextMarker"])
            == everything[2:]
        )


def test_a_store_saved_without_numbers_numbers_the_same_way_until_it_saves(
    tmp_path: Path,
) -> None:
    """Opened and read (nothing saved but the clock), it numbers its items the same way the
    next time: a marker from the first opening still fits."""
    path = tmp_path / "kms.sqlite3"
    kms = _open(path)
    ids = [kms.call("CreateKey")["KeyMetadata"]["KeyId"] for _ in range(5)]
    kms.close()
    _strip_numbers(path)
    old = _open(path)
    page = old.call("ListKeys", Limit=2)
    old.store = None  # as if the process died before any save
    old.aws_account.store.close()  # type: ignore[union-attr]
    old.aws_account.store = None
    with _open(path) as again:
        rest = again.call("ListKeys", Marker=page["NextMarker"])
        assert [k["KeyId"] for k in rest["Keys"]] == ids[2:]


# -- in memory: whatever is created or deleted between pages ---------------------------------


steps = st.lists(
    st.sampled_from(["key", "grant", "delete-key", "revoke", "page"]), min_size=1, max_size=30
)


@settings(max_examples=60, deadline=None)
@given(steps, st.integers(1, 3))
def test_items_present_throughout_are_listed_once_whatever_changes_between_pages(
    changes: list[str], limit: int
) -> None:
    kms = LocalKMS(clock=Clock(frozen_at=START))
    anchor = kms.call("CreateKey")["KeyMetadata"]["KeyId"]  # never deleted: holds grants
    keys = [anchor]
    grants: list[str] = []
    deleted: set[str] = set()
    # Keys listed by ListKeys, grants of the anchor by ListGrants: pages taken one at a
    # time, interleaved with the changes.
    listings = {
        "ListKeys": ({}, "Keys", "KeyId"),
        "ListGrants": ({"KeyId": anchor}, "Grants", "GrantId"),
        "ListRetirableGrants": ({"RetiringPrincipal": PRINCIPAL}, "Grants", "GrantId"),
    }
    state: dict[str, Any] = {
        op: {"marker": None, "seen": [], "done": False, "start": None} for op in listings
    }
    for op in listings:
        state[op]["start"] = set(keys if op == "ListKeys" else grants)

    def page_all() -> None:
        for op, (params, member, ident) in listings.items():
            s = state[op]
            if s["done"]:
                continue
            marker = {"Marker": s["marker"]} if s["marker"] else {}
            page = kms.call(op, Limit=limit, **params, **marker)
            s["seen"] += [item[ident] for item in page[member]]
            s["done"] = not page["Truncated"]
            s["marker"] = page.get("NextMarker")

    created = [anchor]  # every key and grant, in creation order
    for step in changes:
        if step == "key":
            keys.append(kms.call("CreateKey")["KeyMetadata"]["KeyId"])
            created.append(keys[-1])
        elif step == "grant":
            grants.append(_grant(kms, anchor))
            created.append(grants[-1])
        elif step == "delete-key" and len(keys) > 1:
            victim = keys.pop()
            _delete_key(kms, victim)
            deleted.add(victim)
        elif step == "revoke" and grants:
            victim = grants.pop(0)
            kms.call("RevokeGrant", KeyId=anchor, GrantId=victim)
            deleted.add(victim)
        elif step == "page":
            page_all()
    for _ in range(100):  # bounded: finish every listing
        page_all()
    for op, s in state.items():
        assert s["done"]
        seen = s["seen"]
        assert len(seen) == len(set(seen)), f"{op} repeated an item"
        assert seen == sorted(seen, key=created.index), f"{op} left creation order"
        now = set(keys if op == "ListKeys" else grants)
        throughout = (s["start"] & now) - deleted
        assert throughout <= set(seen), f"{op} skipped an item"
