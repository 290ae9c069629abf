"""The tables the local KMS's operations fill as they are imported, and their helpers.

:mod:`kmslab.kms.ops` modules register each operation with :func:`operation` (into
:data:`HANDLERS`, with slow stateless work in :data:`PREPARERS`), what the clock does to a
key later in :data:`TIMERS`, and what links Regions in :data:`DELETE_HOOKS` and
:data:`RESTORE_HOOKS`. :class:`~kmslab.kms.service.LocalKMS` reads these tables; neither
this module nor the service imports the operations, so nothing here makes a cycle.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from kmslab.exceptions import ValidationException
from kmslab.kms.rules import OPERATIONS

if TYPE_CHECKING:
    from kmslab.kms.account import Account
    from kmslab.kms.keys import Key
    from kmslab.kms.service import LocalKMS

__all__ = [
    "DELETE_HOOKS",
    "HANDLERS",
    "PREPARED",
    "PREPARERS",
    "RESTORE_HOOKS",
    "TICK_HOOKS",
    "TIMERS",
    "Handler",
    "Params",
    "changes_state",
    "operation",
    "require",
]

Params = dict[str, Any]
Handler = Callable[["LocalKMS", Params], Params]

#: Operation name -> implementation; filled by the :mod:`kmslab.kms.ops` modules.
HANDLERS: dict[str, Handler] = {}
#: Run before every operation to apply what the clock says has happened. Keep hooks O(1)
#: when nothing is due: they run on every call. Prefer a timer (:meth:`LocalKMS.schedule`).
TICK_HOOKS: list[Callable[[LocalKMS], None]] = []
#: Timer kind -> what to do when a timer of that kind is due: ``fn(kms, key_id, when)``.
#: Filled by the modules that schedule them ("delete" by kmslab.kms.service; "rotate" by
#: ops.lifecycle, "expire" by ops.imports).
TIMERS: dict[str, Callable[[LocalKMS, str, datetime], None]] = {}
#: Operation name -> work done *before* the lock is taken: ``fn(params)`` returns what the
#: handler finds under :data:`PREPARED` (a generated key pair, say), or None. It must not
#: read or change the KMS's state, and it must not raise: the handler checks everything.
PREPARERS: dict[str, Callable[[Params], Any]] = {}
#: The params member under which a handler finds what its preparer made (not a model name).
PREPARED = "kmslab:prepared"
#: Run when a key is finally deleted (after its waiting period), before it is forgotten:
#: kmslab.kms.ops.regions lets a multi-Region primary key know its replica is gone.
DELETE_HOOKS: list[Callable[[LocalKMS, Key], None]] = []
#: Run once every Region of an account has been loaded from a store: what links keys
#: across Regions (kmslab.kms.ops.regions relinks multi-Region keys) is rebuilt here.
RESTORE_HOOKS: list[Callable[[Account], None]] = []


def operation(
    name: str, *, prepare: Callable[[Params], Any] | None = None
) -> Callable[[Handler], Handler]:
    """Register the implementation of one AWS KMS operation.

    ``prepare``: slow work that needs no state (key generation), run outside the lock so
    other threads' calls do not wait behind it; see :data:`PREPARERS`.
    """

    def register(fn: Handler) -> Handler:
        HANDLERS[name] = fn
        if prepare is not None:
            PREPARERS[name] = prepare
        return fn

    return register


#: Operations that never change state (other than what the clock makes due, which is saved
#: whatever the operation): the data plane and the Describe/Get/List calls.
_READ_PREFIXES = ("Describe", "Get", "List")
_CHANGES_STATE = frozenset({"GetParametersForImport"})


def changes_state(operation: str) -> bool:
    """Whether a successful ``operation`` may change what a store must keep.

    Unknown names count as changing: saving a key that did not change costs a write, not
    missing one that did loses it.
    """
    if operation in _CHANGES_STATE:
        return True
    rule = OPERATIONS.get(operation)
    if rule is not None and rule.plane == "data":
        return False
    return not operation.startswith(_READ_PREFIXES)


def require(params: Params, name: str) -> Any:
    """A member the operation needs although the model leaves it optional."""
    value = params.get(name)
    if value is None:
        raise ValidationException(
            f"1 validation error detected: Value null at '{name[:1].lower() + name[1:]}' "
            "failed to satisfy constraint: Member must not be null"
        )
    return value
