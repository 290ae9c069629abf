"""Ordered tables the local KMS lists from: resume after any item in O(log n), not O(n).

AWS's List operations page with a marker that resumes *after the last item returned*, so an
item that exists for the whole listing comes back exactly once, whatever is created or
deleted meanwhile. That needs each listing to be ordered by a key that never changes, and a
way to find "the first item after this key" without rebuilding the list:

- :class:`SequencedTable` is a ``dict`` (fast ``get`` on the hot path) of entries that
  carry a creation number (their ``number`` attribute, :class:`Numbered`), kept in a
  sorted list, so :meth:`~SequencedTable.after` starts at any number (even one whose entry
  is gone) by bisection. An entry inserted with number 0 is given the next number of the
  table's :class:`Numbering`; an entry that has one keeps it. ``LocalKMS.keys`` and each
  key's grants are SequencedTables sharing their Region's Numbering: every insert through
  any code path is numbered.
- :class:`SortedNames` keeps names (alias names, tag keys) sorted for the same bisection.

The number is saved with the key or grant (it is a field of the dataclass, so the store
keeps it), and a Region reopened from a store continues its Numbering after the largest
number it loaded: a marker names the same position after a restart, never a number from a
process-wide counter.

>>> from dataclasses import dataclass
>>> @dataclass
... class Item:
...     name: str
...     number: int = 0
>>> table: SequencedTable[Item] = SequencedTable()
>>> for name in "abc":
...     table[name] = Item(name)
>>> after_a = table.seq("a")
>>> del table["a"], table["b"]
>>> [value.name for _, value in table.after(after_a)]
['c']

Inserting a new entry is O(1) amortised (new numbers are the largest, so they append);
removing is a bisection plus a list deletion (a memmove: microseconds even at 100,000
entries).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from typing import Any, Protocol, TypeVar

__all__ = ["AliasTable", "Numbered", "Numbering", "SequencedTable", "SortedNames"]


class Numbered(Protocol):
    """What a SequencedTable holds: something with a creation number (0: not yet given)."""

    number: int


V = TypeVar("V", bound=Numbered)


class Numbering:
    """The creation numbers of one Region's keys and grants: 1, 2, 3, ... never reused
    while it is open; :meth:`saw` moves past numbers loaded from a store.

    >>> numbers = Numbering()
    >>> numbers.take(), numbers.take()
    (1, 2)
    >>> numbers.saw(10); numbers.take()
    11
    """

    __slots__ = ("_next",)

    def __init__(self) -> None:
        self._next = 1

    def take(self) -> int:
        """The next number."""
        n = self._next
        self._next += 1
        return n

    @property
    def next(self) -> int:
        """The number :meth:`take` gives next (what a store keeps, so none is reused)."""
        return self._next

    def saw(self, n: int) -> None:
        """Number ``n`` exists: later numbers are larger."""
        if n >= self._next:
            self._next = n + 1

    def __repr__(self) -> str:
        return f"Numbering(next={self._next})"


class SequencedTable(dict[str, V]):
    """A dict ordered by its entries' creation numbers (``value.number``).

    An entry inserted with number 0 is given ``numbers.take()`` (written into it); one
    that has a number keeps it (loaded from a store, or indexed in a second table), and
    ``numbers`` moves past it. Replacing the value of an existing key keeps its number
    (and its place). Two entries with the same number are refused (ValueError).
    ``numbers``: the Numbering shared by the tables of one Region (a new one if omitted).
    """

    __slots__ = ("_key_at", "_numbers", "_order", "_seq")

    def __init__(
        self, items: Iterable[tuple[str, V]] = (), numbers: Numbering | None = None
    ) -> None:
        super().__init__()
        self._numbers = numbers if numbers is not None else Numbering()
        self._seq: dict[str, int] = {}
        self._key_at: dict[int, str] = {}
        self._order: list[int] = []
        for k, v in items:
            self[k] = v

    def __setitem__(self, key: str, value: V) -> None:
        n = self._seq.get(key)
        if n is None:
            n = value.number
            if n and n in self._key_at:
                raise ValueError(f"{key!r} has number {n}, already {self._key_at[n]!r}'s")
            if n:
                self._numbers.saw(n)
            else:
                n = self._numbers.take()
            self._seq[key] = n
            self._key_at[n] = key
            bisect.insort(self._order, n)  # a new number is the largest: an append
        value.number = n
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        n = self._seq.pop(key)
        del self._key_at[n]
        del self._order[bisect.bisect_left(self._order, n)]

    def pop(self, key: str, *default: Any) -> Any:
        if key in self:
            value = self[key]
            del self[key]
            return value
        if default:
            return default[0]
        raise KeyError(key)

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def update(self, *args: Any, **kwargs: Any) -> None:
        for k, v in dict(*args, **kwargs).items():
            self[k] = v

    def clear(self) -> None:
        super().clear()
        self._seq.clear()
        self._key_at.clear()
        self._order.clear()

    def popitem(self) -> tuple[str, V]:
        key = next(reversed(self))
        value: V = self.pop(key)
        return key, value

    def __reduce__(self) -> Any:
        return (type(self), (list(self.items()), self._numbers))

    def seq(self, key: str) -> int:
        """The creation number of ``key`` (the sort key its listing uses)."""
        return self._seq[key]

    def after(self, seq: int | None) -> Iterator[tuple[int, V]]:
        """(number, value) of the entries numbered after ``seq`` (all if None), in order.

        Read it under the owner's lock and stop when the page is full: it is lazy, so a
        page costs O(log n + page size).
        """
        order = self._order
        start = 0 if seq is None else bisect.bisect_right(order, seq)
        for i in range(start, len(order)):
            n = order[i]
            yield n, dict.__getitem__(self, self._key_at[n])


class SortedNames:
    """A sorted list of distinct names, for listings ordered by name (aliases, tag keys)."""

    __slots__ = ("_names",)

    def __init__(self, names: Iterable[str] = ()) -> None:
        self._names = sorted(set(names))

    def add(self, name: str) -> None:
        i = bisect.bisect_left(self._names, name)
        if i == len(self._names) or self._names[i] != name:
            self._names.insert(i, name)

    def discard(self, name: str) -> None:
        i = bisect.bisect_left(self._names, name)
        if i < len(self._names) and self._names[i] == name:
            del self._names[i]

    def after(self, name: str | None) -> Iterator[str]:
        """The names sorting after ``name`` (all if None), lazily."""
        names = self._names
        start = 0 if name is None else bisect.bisect_right(names, name)
        for i in range(start, len(names)):
            yield names[i]

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        i = bisect.bisect_left(self._names, name)
        return i < len(self._names) and self._names[i] == name


class AliasTable(dict[str, dict[str, Any]]):
    """Alias name -> alias entry (AliasName, AliasArn, TargetKeyId, dates), indexed two ways.

    ``names`` keeps every name sorted (ListAliases pages by name); ``of_key(key_id)`` gives
    the names pointing at one key (the per-key quota, ListAliases with KeyId, key deletion)
    without a scan. Point an alias at another key with :meth:`retarget`, not by editing
    its TargetKeyId, so the index follows.
    """

    __slots__ = ("_by_key", "names")

    def __init__(self) -> None:
        super().__init__()
        self.names = SortedNames()
        self._by_key: dict[str, set[str]] = {}

    def __setitem__(self, name: str, alias: dict[str, Any]) -> None:
        if name in self:
            self._unindex(name)
        super().__setitem__(name, alias)
        self.names.add(name)
        self._by_key.setdefault(alias["TargetKeyId"], set()).add(name)

    def __delitem__(self, name: str) -> None:
        self._unindex(name)
        super().__delitem__(name)
        self.names.discard(name)

    def pop(self, name: str, *default: Any) -> Any:
        if name in self:
            alias = self[name]
            del self[name]
            return alias
        if default:
            return default[0]
        raise KeyError(name)

    def setdefault(self, name: str, default: Any = None) -> Any:
        if name not in self:
            self[name] = default
        return self[name]

    def update(self, *args: Any, **kwargs: Any) -> None:
        for name, alias in dict(*args, **kwargs).items():
            self[name] = alias

    def clear(self) -> None:
        super().clear()
        self.names = SortedNames()
        self._by_key.clear()

    def popitem(self) -> tuple[str, dict[str, Any]]:
        name = next(reversed(self))
        alias: dict[str, Any] = self.pop(name)
        return name, alias

    def _unindex(self, name: str) -> None:
        target = self[name]["TargetKeyId"]
        names = self._by_key.get(target)
        if names is not None:
            names.discard(name)
            if not names:
                del self._by_key[target]

    def retarget(self, name: str, key_id: str) -> None:
        """Point alias ``name`` at key ``key_id``."""
        alias = self[name]
        self._unindex(name)
        alias["TargetKeyId"] = key_id
        self._by_key.setdefault(key_id, set()).add(name)

    def of_key(self, key_id: str) -> frozenset[str]:
        """The alias names that point at ``key_id``."""
        return frozenset(self._by_key.get(key_id, ()))

    def __reduce__(self) -> Any:
        return (_alias_table, (list(self.items()),))


def _alias_table(items: list[tuple[str, dict[str, Any]]]) -> AliasTable:
    table = AliasTable()
    for name, alias in items:
        table[name] = alias
    return table
