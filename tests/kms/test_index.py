"""The ordered tables behind the List operations (src/kmslab/kms/index.py): every way of
changing them keeps the index in step, and resuming after a removed entry works."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kmslab.kms.index import AliasTable, Numbering, SequencedTable, SortedNames


@dataclass
class Item:
    """A numbered entry, as keys and grants are."""

    value: Any
    number: int = 0


ops = st.lists(
    st.tuples(st.sampled_from(["set", "del", "pop", "setdefault"]), st.sampled_from("abcdefgh")),
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(ops)
def test_sequenced_table_keeps_insertion_order_through_any_changes(changes: list[Any]) -> None:
    table: SequencedTable[Item] = SequencedTable()
    model: dict[str, int] = {}
    for i, (op, key) in enumerate(changes):
        if op == "set":
            table[key] = Item(i)
            model[key] = i
        elif op == "setdefault":
            assert table.setdefault(key, Item(i)).value == model.setdefault(key, i)
        elif key in model:
            if op == "del":
                del table[key]
            else:
                assert table.pop(key).value == model[key]
            del model[key]
    assert {k: v.value for k, v in table.items()} == model
    assert [v.value for _, v in table.after(None)] == list(model.values())
    assert all(v.number == n for n, v in table.after(None))
    # Resuming after any number, present or not, gives exactly the later entries.
    numbers = [n for n, _ in table.after(None)]
    for cut in [0, *numbers]:
        assert [n for n, _ in table.after(cut)] == [n for n in numbers if n > cut]


def test_resume_after_a_removed_entry() -> None:
    table: SequencedTable[Item] = SequencedTable([(k, Item(k)) for k in "abc"])
    after_b = table.seq("b")
    del table["b"]
    table["d"] = Item("d")
    assert [v.value for _, v in table.after(after_b)] == ["c", "d"]
    table["a"] = Item("replaced")  # replacing keeps the place
    assert [v.value for _, v in table.after(None)] == ["replaced", "c", "d"]
    table.clear()
    assert list(table.after(None)) == []


def test_numbered_entries_keep_their_numbers_and_the_numbering_moves_past_them() -> None:
    """What a store reload does: entries arrive with numbers, in any order; new ones
    continue after the largest; a second table indexes the same entries by them."""
    numbers = Numbering()
    table: SequencedTable[Item] = SequencedTable(
        [("c", Item("c", 7)), ("a", Item("a", 2)), ("b", Item("b", 5))], numbers=numbers
    )
    assert [v.value for _, v in table.after(None)] == ["a", "b", "c"]
    assert [v.value for _, v in table.after(3)] == ["b", "c"]
    table["d"] = fresh = Item("d")
    assert fresh.number == 8 and numbers.take() == 9
    index: SequencedTable[Item] = SequencedTable([("d", fresh), ("a", table["a"])])
    assert [n for n, _ in index.after(None)] == [2, 8]
    with pytest.raises(ValueError):
        table["e"] = Item("e", 5)  # "b"'s number
    assert "e" not in table and [n for n, _ in table.after(None)] == [2, 5, 7, 8]


def test_sorted_names() -> None:
    names = SortedNames(["c", "a"])
    names.add("b")
    names.add("b")
    names.discard("zz")
    assert list(names.after(None)) == ["a", "b", "c"] and len(names) == 3
    assert list(names.after("a")) == ["b", "c"] and list(names.after("bb")) == ["c"]
    assert "b" in names and "d" not in names and 1 not in names


def test_alias_table_indexes_by_target() -> None:
    table = AliasTable()
    table["alias/x"] = {"TargetKeyId": "k1"}
    table.setdefault("alias/y", {"TargetKeyId": "k1"})
    table.update({"alias/z": {"TargetKeyId": "k2"}})
    assert table.of_key("k1") == {"alias/x", "alias/y"}
    table.retarget("alias/y", "k2")
    assert table.of_key("k1") == {"alias/x"} and table.of_key("k2") == {"alias/y", "alias/z"}
    assert table["alias/y"]["TargetKeyId"] == "k2"
    del table["alias/x"]
    assert table.pop("alias/z")["TargetKeyId"] == "k2"
    assert table.of_key("k1") == frozenset() and list(table.names.after(None)) == ["alias/y"]
    table["alias/y"] = {"TargetKeyId": "k3"}  # replacing re-indexes
    assert table.of_key("k2") == frozenset() and table.of_key("k3") == {"alias/y"}
    table.clear()
    assert table.of_key("k3") == frozenset() and len(table.names) == 0
