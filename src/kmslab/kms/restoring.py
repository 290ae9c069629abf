"""How a LocalKMS takes back what its store holds: at start-up, and after a failed save.

Each function here is a method of :class:`~kmslab.kms.service.LocalKMS`, assigned in its
class body (``restore = restoring.restore``), so its first argument is that LocalKMS, as in
:mod:`kmslab.kms.checks`; the store (:mod:`kmslab.kms.store`) calls them.

- :func:`restore`: keys, aliases and grants read from the store at start-up, with their
  saved creation numbers (so list markers keep their place across a restart);
- :func:`revert`: what the store committed, after a save that failed (a failed call
  changes nothing).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from kmslab.kms.index import SequencedTable

if TYPE_CHECKING:
    from kmslab.kms.keys import Key
    from kmslab.kms.ops.grants import Grant
    from kmslab.kms.service import LocalKMS

__all__ = ["restore", "revert"]


def revert(
    self: LocalKMS,
    keys: dict[str, Key | None],
    aliases: dict[str, dict[str, Any] | None],
    grants: dict[str, list[Grant]],
    order: list[str] | None = None,
) -> None:
    """Make keys, aliases and key's grants what the store committed (a failed save).

    Each mapping: id (alias name) -> the committed value, None (or no grants) if none
    is committed: it goes. ``order``: every committed key id in creation order, given
    when a key deleted in memory comes back, so it takes its place in ListKeys again.
    Then :meth:`LocalKMS.rebuild_indexes`. What calls changed and was not saved is forgotten.
    """
    for key_id, key in keys.items():
        if key is None:
            self.keys.pop(key_id, None)
        else:
            self.keys[key_id] = key  # a key still held keeps its place
    if order is not None:
        held, committed = dict(self.keys), set(order)
        self.keys.clear()
        for key_id in [*order, *(k for k in held if k not in committed)]:
            if key_id in held:
                self.keys[key_id] = held[key_id]
    for name, alias in aliases.items():
        if alias is None:
            self.aliases.pop(name, None)
        else:
            self.aliases[name] = alias
    for key_id, key_grants in grants.items():
        if key_grants:
            self.grants[key_id] = SequencedTable((grant.id, grant) for grant in key_grants)
        else:
            self.grants.pop(key_id, None)
    for seq, _ in self.keys.after(self._saved_seq):  # what is held now is committed
        self._saved_seq = seq
    self._changed_keys, self._changed_aliases, self._changed_grants = set(), set(), set()
    self._resolved = set()
    self.rebuild_indexes()


def restore(
    self: LocalKMS,
    keys: Iterable[Key],
    aliases: Iterable[dict[str, Any]],
    grants: dict[str, list[Grant]],
) -> None:
    """Put keys, aliases and grants read from a store back, then :meth:`LocalKMS.rebuild_indexes`.

    Keys and each key's grants come in the order they were saved in (creation order).
    Each keeps its saved creation number, and new ones continue after the largest, so a
    marker means the same position after a restart. Keys and grants saved before
    numbers were (number 0) are numbered now, after the others, in their saved order
    (grants by creation date, as ListRetirableGrants was ordered), and saved with their
    numbers at the next save (the store is unchanged until then, so a restart before it
    numbers them the same way again). Aliases index their target key.
    """
    keys = list(keys)
    every = [g for key_grants in grants.values() for g in key_grants]
    for number in [key.number for key in keys] + [g.number for g in every]:
        self.numbers.saw(number)
    unnumbered = [key.id for key in keys if not key.number]
    for key in keys:
        self.keys[key.id] = key
    for alias in aliases:
        self.aliases[alias["AliasName"]] = alias
    late = [g for g in every if not g.number]
    for grant in sorted(late, key=lambda g: g.created):  # stable: saved order kept
        grant.number = self.numbers.take()
    for key_id, key_grants in grants.items():
        self.grants[key_id] = SequencedTable(
            ((grant.id, grant) for grant in key_grants), numbers=self.numbers
        )
    for seq, _ in self.keys.after(self._saved_seq):  # what was loaded is saved already
        self._saved_seq = seq
    if self.store is not None:  # numbered now: saved with their numbers
        self._changed_keys.update(unnumbered)
        self._changed_grants.update(g.key_id for g in late)
    self.rebuild_indexes()
