"""Markers (src/kmslab/kms/paging.py): opaque, bound to one operation, resuming after the
last item returned, and InvalidMarkerException for anything else -- for every List
operation."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kmslab.clock import Clock
from kmslab.exceptions import InvalidMarkerException
from kmslab.kms.managed import PREDEFINED
from kmslab.kms.paging import decode_marker, encode_marker
from kmslab.kms.service import LocalKMS

INVALID = "The request was rejected because the marker is invalid."
START = datetime(2030, 1, 1, tzinfo=timezone.utc)
PRINCIPAL = "arn:aws:iam::111122223333:role/app"


def _listing(kms: LocalKMS, operation: str, member: str, ident: str, **params: Any) -> list[Any]:
    """Every item of a listing, one item per page; the ids in the order returned."""
    out: list[Any] = []
    marker = None
    for _ in range(10_000):  # bounded
        page = kms.call(operation, Limit=1, **params, **({"Marker": marker} if marker else {}))
        out += [item[ident] for item in page[member]]
        if not page["Truncated"]:
            assert "NextMarker" not in page
            return out
        marker = page["NextMarker"]
    raise AssertionError("listing did not end")


@pytest.fixture
def kms() -> LocalKMS:
    return LocalKMS(clock=Clock(frozen_at=START))


def _world(kms: LocalKMS) -> dict[str, Any]:
    """Three keys; the first with 3 aliases, 3 grants (retirable by PRINCIPAL), 3 tags, and
    3 rotations. Returns the keyword arguments each List operation takes."""
    ids = [kms.call("CreateKey")["KeyMetadata"]["KeyId"] for _ in range(3)]
    first = ids[0]
    for i in range(3):
        kms.call("CreateAlias", AliasName=f"alias/a{i}", TargetKeyId=first)
        kms.call(
            "CreateGrant",
            KeyId=first,
            GranteePrincipal=PRINCIPAL,
            RetiringPrincipal=PRINCIPAL,
            Operations=["Encrypt"],
        )
        kms.call("RotateKeyOnDemand", KeyId=first)
    kms.call("TagResource", KeyId=first, Tags=[{"TagKey": f"t{i}", "TagValue": "v"} for i in "abc"])
    return {"ids": ids, "first": first}


#: List operation -> (response member, item id member, extra params given the world).
LISTS: dict[str, tuple[str, str, Any]] = {
    "ListKeys": ("Keys", "KeyId", lambda w: {}),
    "ListAliases": ("Aliases", "AliasName", lambda w: {}),
    "ListGrants": ("Grants", "GrantId", lambda w: {"KeyId": w["first"]}),
    "ListRetirableGrants": ("Grants", "GrantId", lambda w: {"RetiringPrincipal": PRINCIPAL}),
    "ListKeyRotations": ("Rotations", "KeyMaterialId", lambda w: {"KeyId": w["first"]}),
    "ListResourceTags": ("Tags", "TagKey", lambda w: {"KeyId": w["first"]}),
}


@pytest.mark.parametrize("operation", sorted(LISTS))
def test_every_list_pages_each_item_once(kms: LocalKMS, operation: str) -> None:
    world = _world(kms)
    member, ident, extra = LISTS[operation]
    params = extra(world)
    everything = [item[ident] for item in kms.call(operation, **params)[member]]
    assert len(everything) >= 3
    assert _listing(kms, operation, member, ident, **params) == everything


@pytest.mark.parametrize("operation", sorted(LISTS))
def test_markers_of_another_operation_or_malformed_are_refused(
    kms: LocalKMS, operation: str
) -> None:
    world = _world(kms)
    params = LISTS[operation][2](world)
    others = [encode_marker(op, 1) for op in LISTS if op != operation]
    others += [encode_marker(op, "x") for op in LISTS if op != operation]
    for marker in [*others, "1", "\u00b2", "=", "e30", "not base64!", "eyJ2IjoxfQ"]:
        with pytest.raises(InvalidMarkerException) as err:
            kms.call(operation, Marker=marker, **params)
        assert err.value.message == INVALID
        assert err.value.__context__ is None


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=64))
def test_decode_marker_refuses_any_other_text(text: str) -> None:
    try:
        decode_marker("ListKeys", text, int)
    except InvalidMarkerException:
        return
    # Anything accepted is a marker this module made for ListKeys.
    assert encode_marker("ListKeys", decode_marker("ListKeys", text, int) or 0)


def test_issue_example_a_deleted_first_key_does_not_skip_the_second(kms: LocalKMS) -> None:
    """The regression: offsets skipped key 1 once key 0 was deleted between pages."""
    ids = [kms.call("CreateKey")["KeyMetadata"]["KeyId"] for _ in range(3)]
    first = kms.call("ListKeys", Limit=1)
    assert [k["KeyId"] for k in first["Keys"]] == ids[:1]
    kms.call("ScheduleKeyDeletion", KeyId=ids[0], PendingWindowInDays=7)
    kms.clock.advance(days=8)  # key 0 is gone
    second = kms.call("ListKeys", Limit=1, Marker=first["NextMarker"])
    assert [k["KeyId"] for k in second["Keys"]] == ids[1:2]
    assert second["Truncated"] is True
    third = kms.call("ListKeys", Limit=1, Marker=second["NextMarker"])
    assert [k["KeyId"] for k in third["Keys"]] == ids[2:]
    assert third["Truncated"] is False


def test_alias_listing_neither_repeats_nor_skips_while_aliases_change(kms: LocalKMS) -> None:
    key = kms.call("CreateKey")["KeyMetadata"]["KeyId"]
    for name in ("b", "d", "f"):
        kms.call("CreateAlias", AliasName=f"alias/{name}", TargetKeyId=key)
    # AWS's predefined alias/aws/* aliases are listed too (without TargetKeyId): "alias/b"
    # and the rest sort after them, so page past them first.
    page = kms.call("ListAliases", Limit=len(PREDEFINED) + 2)
    assert [a["AliasName"] for a in page["Aliases"]][-2:] == ["alias/b", "alias/d"]
    # Before the marker: a new alias and a deleted one; after it: a new one.
    kms.call("CreateAlias", AliasName="alias/a", TargetKeyId=key)
    kms.call("DeleteAlias", AliasName="alias/d")
    kms.call("CreateAlias", AliasName="alias/e", TargetKeyId=key)
    rest = kms.call("ListAliases", Marker=page["NextMarker"])
    assert [a["AliasName"] for a in rest["Aliases"]] == ["alias/e", "alias/f"]


def test_list_aliases_by_key_pages_too(kms: LocalKMS) -> None:
    key, other = (kms.call("CreateKey")["KeyMetadata"]["KeyId"] for _ in range(2))
    for i in range(5):
        kms.call("CreateAlias", AliasName=f"alias/k{i}", TargetKeyId=key)
        kms.call("CreateAlias", AliasName=f"alias/o{i}", TargetKeyId=other)
    names = _listing(kms, "ListAliases", "Aliases", "AliasName", KeyId=key)
    assert names == [f"alias/k{i}" for i in range(5)]


def test_limit_defaults_and_truncation(kms: LocalKMS) -> None:
    for _ in range(3):
        kms.call("CreateKey")
    page = kms.call("ListKeys")
    assert len(page["Keys"]) == 3 and page["Truncated"] is False and "NextMarker" not in page
    exact = kms.call("ListKeys", Limit=3)  # a full last page is not truncated
    assert exact["Truncated"] is False and "NextMarker" not in exact
