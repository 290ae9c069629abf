"""Limit/Marker paging for every List operation: opaque markers that resume after an item.

A marker names the operation that made it and the sort key of the last item returned:
base64url of ``{"v": 2, "op": "ListKeys", "after": <sort key>}``. The next page starts
strictly after that sort key, so an item that exists for the whole listing is returned
exactly once, whatever else is created or deleted between pages. Every sort key is saved
with its item (a creation number of the Region, a name, a tag key, a material's place in
its key's history), so a marker means the same position after the store is reopened.
Version 1 markers held numbers of one process's counter: they are refused, not misread.
(AWS documents markers as opaque: "Use this value for the Marker parameter in a subsequent
request", API Reference, ListKeys; its format is not documented, so this one is kmslab's
own.)

>>> chunk, extra = page_sorted("ListResourceTags", ["a", "b", "c"], {"Limit": 2}, str)
>>> chunk, extra["Truncated"]
(['a', 'b'], True)
>>> page_sorted("ListResourceTags", ["a", "b", "c"], {"Marker": extra["NextMarker"]}, str)[0]
['c']

A marker that does not decode, or that another operation made, is InvalidMarkerException.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from kmslab.exceptions import InvalidMarkerException

__all__ = ["decode_marker", "encode_marker", "page_iter", "page_sorted"]

T = TypeVar("T")
Params = dict[str, Any]

_VERSION = 2  # 1: sort keys from a process-wide counter (meaningless after a restart)


def encode_marker(operation: str, after: int | str) -> str:
    """An opaque marker: resume ``operation`` after the item whose sort key is ``after``."""
    raw = json.dumps({"v": _VERSION, "op": operation, "after": after}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode("ascii").rstrip("=")


def decode_marker(operation: str, marker: str | None, kind: type[T]) -> T | None:
    """The sort key a marker resumes after (None for no marker).

    Raises InvalidMarkerException for a marker that is malformed, of another version, made
    by another operation, or whose sort key is not a ``kind``.
    """
    if marker is None:
        return None
    try:
        raw = marker.encode("ascii")
        decoded = json.loads(base64.urlsafe_b64decode(raw + b"=" * (-len(raw) % 4)))
    except (UnicodeError, binascii.Error, ValueError, RecursionError):
        decoded = None
    if (
        isinstance(decoded, dict)
        and decoded.get("v") == _VERSION
        and decoded.get("op") == operation
        and type(decoded.get("after")) is kind
    ):
        after: T = decoded["after"]
        return after
    # The code is AWS's (API Reference, "InvalidMarkerException"). AWS text unknown: the
    # sentence is the exception's description in the API Reference.
    raise InvalidMarkerException("The request was rejected because the marker is invalid.")


def limit_of(params: Params, default_limit: int) -> int:
    """The page size: ``Limit`` (1..1000, checked by the model) or the operation's default."""
    limit = params.get("Limit")
    return int(limit) if limit else default_limit


def page_iter(
    operation: str,
    items: Iterable[T],
    params: Params,
    sort_key: Callable[[T], int | str],
    default_limit: int = 100,
) -> tuple[list[T], Params]:
    """One page from ``items``, which must already start after the marker's sort key.

    Takes at most Limit + 1 items from the (lazy) iterable: the extra one only says whether
    the listing is truncated. Returns the page and the Truncated/NextMarker members.
    """
    limit = limit_of(params, default_limit)
    chunk: list[T] = []
    more = False
    for item in items:
        if len(chunk) == limit:
            more = True
            break
        chunk.append(item)
    extra: Params = {"Truncated": more}
    if more:
        extra["NextMarker"] = encode_marker(operation, sort_key(chunk[-1]))
    return chunk, extra


def page_sorted(
    operation: str,
    items: Sequence[T],
    params: Params,
    sort_key: Callable[[T], str],
    default_limit: int = 100,
) -> tuple[list[T], Params]:
    """One page of a small list already sorted by ``sort_key`` (a string): bisect, then slice.

    For short per-key lists (tags, rotations); long listings use :func:`page_iter` over an
    index.
    """
    after = decode_marker(operation, params.get("Marker"), str)
    start = 0
    if after is not None:
        start = bisect.bisect_right([sort_key(item) for item in items], after)
    return page_iter(operation, items[start:], params, sort_key, default_limit)
