"""One AWS account of the local KMS: its Regions, clock, lock, IAM principals and store.

An :class:`Account` makes a :class:`~kmslab.kms.service.LocalKMS` per Region on first use;
all share the account's clock and lock, so multi-Region keys can be replicated between
them, and one store (SQLite, :mod:`kmslab.kms.store`) keeps every Region's keys.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import threading
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from kmslab.clock import Clock
from kmslab.exceptions import KMSInternalException
from kmslab.kms.iam import IAM
from kmslab.kms.registry import RESTORE_HOOKS

if TYPE_CHECKING:
    from kmslab.kms.service import LocalKMS
    from kmslab.kms.store import Store

__all__ = ["DEFAULT_ACCOUNT", "Account"]

log = logging.getLogger(__name__)

#: The account id of the local KMS: AWS's documentation example account.
DEFAULT_ACCOUNT = "111122223333"

#: Accounts with a store open, closed when the interpreter exits (a notebook kernel that is
#: restarted or shut down, a script that ends) so their clock is saved and the database
#: checkpointed even without ``close()``. Weak: it keeps no account alive.
_WITH_STORE: weakref.WeakSet[Account] = weakref.WeakSet()


@atexit.register
def _close_at_exit() -> None:
    accounts = list(_WITH_STORE)
    stores = {id(a.store): a.store for a in accounts if a.store is not None}
    for account in accounts:
        try:
            account.close()
        except Exception as exc:  # the others still close; the last commit is kept anyway
            log.warning("store: could not close at exit (%s)", type(exc).__name__)
    for store in stores.values():  # shared stores (Store.open by the caller) too
        try:
            store.close()
        except Exception as exc:
            log.warning("store: could not close at exit (%s)", type(exc).__name__)


def _clock_saver(account: Account) -> Callable[[Clock], None]:
    """A clock listener that commits the account's clock once it is advanced; it holds the
    account weakly (the clock must not keep it alive)."""
    ref = weakref.ref(account)

    def save(clock: Clock) -> None:
        owner = ref()
        if owner is None or owner.store is None:
            return
        # full: a save with nothing else changed writes the clock only when asked to (reads
        # never write). A failure is logged by save(); the next call or close() saves it.
        with owner.lock, contextlib.suppress(KMSInternalException):
            owner.save(full=True)

    return save


class Account:
    """One AWS account: a :class:`~kmslab.kms.service.LocalKMS` per Region, made on first use.

    Every Region of the account shares one clock and one lock (an operation on a
    multi-Region key may change keys in several Regions at once). ``store``: a file path
    (or an open :class:`~kmslab.kms.store.Store`) where every Region's keys are kept (see
    :class:`~kmslab.kms.service.LocalKMS`); the Regions it holds are loaded when the first one
    is made.

    >>> account = Account()
    >>> account.region("us-west-2").call("CreateKey", MultiRegion=True)["KeyMetadata"]["Arn"][:30]
    'arn:aws:kms:us-west-2:11112222'
    """

    #: The class of a Region's local KMS: :class:`~kmslab.kms.service.LocalKMS`, which sets
    #: it (that module imports this one, so this one does not import it back).
    region_class: ClassVar[type[LocalKMS]]

    def __init__(
        self,
        account_id: str = DEFAULT_ACCOUNT,
        *,
        clock: Clock | None = None,
        store: str | os.PathLike[str] | Store | None = None,
    ) -> None:
        if not (len(account_id) == 12 and account_id.isdigit()):
            raise ValueError(f"account must be 12 digits, got {account_id!r}")
        self.id = account_id
        self.clock = clock or Clock()
        #: Region name -> that Region's local KMS, in the order they were first used.
        self.regions: dict[str, LocalKMS] = {}
        self.lock = threading.RLock()
        #: The account's IAM principals (kmslab.kms.iam), shared by every Region.
        self.iam = IAM(account_id)
        self.store: Store | None = None
        self._owns_store = False
        self._loaded = False
        if store is not None:
            from kmslab.kms.store import Store

            self._owns_store = not isinstance(store, Store)
            self.store = Store.open(store) if not isinstance(store, Store) else store
            try:
                self.store.claim(self)  # a saved clock replaces this one's time
            except BaseException:
                self.close()
                raise
            self._clock_listener = _clock_saver(self)
            self.clock.listeners.append(self._clock_listener)
            _WITH_STORE.add(self)

    def _attach(self, kms: LocalKMS) -> None:
        """Load a new Region's keys from the store; the first Region loads all the others."""
        if self.store is None:
            return
        kms.store = self.store
        self.store.attach(kms)
        if not self._loaded:
            self._loaded = True
            for name in self.store.regions(self.id):
                if name not in self.regions:
                    self.region(name)
            for hook in RESTORE_HOOKS:
                hook(self)

    def save(self, kms: LocalKMS | None = None, *, full: bool = False) -> None:
        """Commit what every Region changed (``kms``'s resolved keys too) in one transaction.

        With ``kms`` (a state-changing call) or ``full``, the custom key stores, CloudHSM
        clusters, proxy routes and IAM principals that differ from the store's are written
        too (kmslab.kms.store.extras). Raises KMSInternalException if the store cannot keep
        it: then what it would have written is put back as the store committed it
        (:meth:`~kmslab.kms.store.Store.reload`), so the call that made the change has
        changed nothing, as a failed AWS call (no key the client never got an id for
        appears later). Proxy routes and IAM principals, changed only outside calls, stay
        for the next save.
        """
        if self.store is None:
            return
        if kms is None and not full and all(r._nothing_to_save() for r in self.regions.values()):
            return  # a read (or a failed call) that changed nothing: not even a look at the disk
        batches = {
            r.region: r._take_changes(include_resolved=r is kms) for r in self.regions.values()
        }
        # Related multi-Region keys share material and rotation: save them together.
        for region, (keys, _, _) in list(batches.items()):
            for key_id in list(keys):
                key = self.regions[region].keys.get(key_id)
                group = key.multi_region if key is not None else None
                for other in group.keys if group is not None else ():
                    if other in batches:
                        batches[other][0].add(key_id)
        extras = full or kms is not None
        try:
            self.store.save(self, batches, extras=extras)
        except Exception as exc:
            # Only the exception type is logged: messages could echo input or material.
            log.error("store: could not save (%s)", type(exc).__name__)
            try:
                self.store.reload(self, batches, extras=extras)
                for hook in RESTORE_HOOKS:  # reloaded multi-Region keys relink
                    hook(self)
            except Exception as again:
                for region, batch in batches.items():  # kept for the next save
                    self.regions[region]._put_back(batch)
                log.error("store: could not reload (%s)", type(again).__name__)
                # AWS text unknown (a kmslab condition): AWS documents no text for this error.
                raise KMSInternalException(
                    f"kmslab could not save this change to its store ({type(exc).__name__}); "
                    "it is in memory only."
                ) from None
            # AWS text unknown (a kmslab condition): AWS documents no text for this error.
            raise KMSInternalException(
                f"kmslab could not save this change to its store ({type(exc).__name__}); "
                "nothing was changed."
            ) from None

    def close(self) -> None:
        """Save the clock, close the store (if this account opened it); idempotent."""
        with self.lock:
            store = self.store
            if store is None:
                return
            try:
                self.save(full=True)  # the clock, and what changed outside calls
            finally:
                _WITH_STORE.discard(self)
                listener = getattr(self, "_clock_listener", None)
                if listener in self.clock.listeners:
                    self.clock.listeners.remove(listener)
                for kms in self.regions.values():
                    kms.store = None
                store.release(self)
                if self._owns_store:
                    store.close()
                self.store = None

    def __repr__(self) -> str:
        return f"Account({self.id!r}, regions={list(self.regions)})"

    def region(self, name: str) -> LocalKMS:
        """The local KMS of Region ``name`` in this account (made now if it is new)."""
        with self.lock:
            kms = self.regions.get(name)
            if kms is None:
                kms = self.region_class(name, aws_account=self)
            return kms

    def tick(self) -> None:
        """Apply what the clock says has happened, in every Region of the account."""
        for kms in self.regions.values():  # ticks never add Regions
            kms.tick()
