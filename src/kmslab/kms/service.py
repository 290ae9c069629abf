"""The local KMS: AWS KMS's operations, limits and errors, with real cryptography.

>>> from kmslab import LocalKMS
>>> kms = LocalKMS()
>>> key = kms.call("CreateKey", KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")
>>> mac = kms.call("GenerateMac", KeyId=key["KeyMetadata"]["KeyId"], Message=b"hi",
...                MacAlgorithm="HMAC_SHA_256")
>>> len(mac["Mac"])
32

``kms.client()`` returns a real boto3 client answered by this object (see
:mod:`kmslab.target`); ``kms.call`` runs the same operations from Python with bytes in and
out. Both go through the same validation, key-state rules and error mapping.

A LocalKMS is one Region of one AWS account. Its :class:`~kmslab.kms.account.Account` holds
the account's other Regions, each made on first use and all sharing one clock, so
multi-Region keys can be replicated between them:

>>> eu = kms.aws_account.region("eu-west-1")
>>> eu.region, eu.clock is kms.clock
('eu-west-1', True)

Every request gets a request id (a UUID4, AWS's ``x-amzn-RequestId``). The errors carry
AWS's text only; what kmslab knows about each failure (the operation, the non-secret request
members, the keys it named) is kept in :attr:`LocalKMS.failures` under that request id, for
:func:`kmslab.explain` to explain.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import os
from collections import OrderedDict
from datetime import datetime
from typing import TYPE_CHECKING, Any

from kmslab import specs
from kmslab.clock import Clock
from kmslab.exceptions import (
    DryRunOperationException,
    KMSError,
    KMSInternalException,
    UnsupportedOperationException,
)
from kmslab.kms import checks, restoring, schedule, wire
from kmslab.kms.access import Access
from kmslab.kms.account import DEFAULT_ACCOUNT, Account
from kmslab.kms.failures import KEY_MEMBERS, LIVE, MAX_FAILURES, Failure, new_request_id, summary
from kmslab.kms.iam import IAM
from kmslab.kms.index import AliasTable, Numbering, SequencedTable
from kmslab.kms.keys import Key
from kmslab.kms.keystores import CustomKeyStore
from kmslab.kms.keystores.cloudhsm import Clusters
from kmslab.kms.quotas import default_quotas
from kmslab.kms.registry import (
    DELETE_HOOKS,
    HANDLERS,
    PREPARED,
    PREPARERS,
    TICK_HOOKS,
    TIMERS,
    Handler,
    Params,
    changes_state,
)

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from kmslab.kms.iam import IAM, Principal
    from kmslab.kms.ops.grants import Grant
    from kmslab.kms.store import Store

__all__ = ["DEFAULT_REGION", "LocalKMS"]

log = logging.getLogger(__name__)

DEFAULT_REGION = "us-east-1"


class LocalKMS:
    """An in-memory AWS KMS for one account in one Region.

    ``region`` and ``account`` shape every ARN; ``clock`` drives deletion, rotation and
    expiry (move it with ``kms.clock.advance(days=365)``). ``aws_account`` is the
    :class:`~kmslab.kms.account.Account` this Region belongs to; a LocalKMS made on its own
    starts a new one.

    ``store``: a file path (or an open :class:`~kmslab.kms.store.Store`) where the new
    account's keys, aliases, tags, grants, policies, rotations, imported material and clock
    survive restarts, with its custom key stores, CloudHSM clusters, proxy routes and IAM
    principals (SQLite, see :mod:`kmslab.kms.store`); a saved clock replaces
    ``clock``'s time, and the account's other Regions in the store come back too. Raises
    :class:`~kmslab.exceptions.StoreLockedError` if another process has the store open.
    ``close()`` (or ``with LocalKMS(store=...) as kms:``) releases it. Each call that
    changes state is committed before it returns: the keys it resolved or added (with
    their aliases) and what it reported with :meth:`changed`. If the commit fails (a full
    disk), the call is undone (:meth:`revert`) and raises KMSInternalException.
    """

    def __init__(
        self,
        region: str = DEFAULT_REGION,
        account: str | None = None,
        *,
        clock: Clock | None = None,
        aws_account: Account | None = None,
        store: str | os.PathLike[str] | Store | None = None,
    ) -> None:
        region_partition = specs.partition(region)  # first: ValueError for no Region name
        if aws_account is None:
            aws_account = Account(account or DEFAULT_ACCOUNT, clock=clock, store=store)
        elif account not in (None, aws_account.id) or clock not in (None, aws_account.clock):
            raise ValueError("with aws_account, the account id and clock are the account's")
        elif store is not None:
            raise ValueError("with aws_account, the store is the account's")
        if region in aws_account.regions:
            raise ValueError(f"{aws_account!r} already has Region {region!r}")
        self.region = region
        #: The partition row of the Region: ARNs, and which key specs exist here.
        self.partition = region_partition
        #: Custom key stores by CustomKeyStoreId (kmslab.kms.ops.keystores).
        self.key_stores: dict[str, CustomKeyStore] = {}
        #: The account's AWS CloudHSM clusters here (managed with CloudHSM's tools, not KMS's).
        self.cloudhsm = Clusters()
        #: XksProxyUriEndpoint -> the http://127.0.0.1:<port> that serves it on this machine
        #: (see kmslab.kms.keystores.xks_client); an endpoint with no route is unreachable.
        self.xks_routes: dict[str, str] = {}
        self.account = aws_account.id
        self.aws_account = aws_account
        self.clock = aws_account.clock
        #: The creation numbers of this Region's keys and grants (each saved with its key or
        #: grant): the order ListKeys, ListGrants and ListRetirableGrants page in.
        self.numbers = Numbering()
        #: Key id -> key, in creation order; ListKeys pages from it (:meth:`keys_after`).
        self.keys: SequencedTable[Key] = SequencedTable(numbers=self.numbers)
        #: Alias name -> alias, indexed by name and by target key (:class:`AliasTable`).
        self.aliases = AliasTable()
        #: Key id -> grant id -> grant (kmslab.kms.ops.grants); a key's grants go with the key.
        self.grants: dict[str, SequencedTable[Grant]] = {}
        #: Retiring principal -> grant id -> grant, for ListRetirableGrants.
        self.retirable: dict[str, SequencedTable[Grant]] = {}
        #: (key id, grant Name) -> ids of the key's grants with that name (CreateGrant's
        #: retry check looks only at these).
        self.grant_names: dict[tuple[str, str], set[str]] = {}
        #: Quota name -> value (kmslab.kms.quotas.QUOTAS); change it as Service Quotas would.
        self.quotas: dict[str, int] = default_quotas()
        # Timers: a heap of (when, n, kind, key id), and the one live date of each
        # (kind, key id). A heap entry whose date is not the live one is stale and skipped,
        # so rescheduling never searches the heap; the heap is rebuilt if stale entries pile up.
        self._timers: list[tuple[datetime, int, str, str]] = []
        self._timer_at: dict[tuple[str, str], datetime] = {}
        self._timer_numbers = itertools.count()
        # One lock per account: a notebook may share a LocalKMS between threads (widgets,
        # benchmarks), and multi-Region operations change several Regions at once.
        self._lock = aws_account.lock
        # What calls changed since the last save, for the store: key ids, alias names, key
        # ids whose grants changed, and keys resolved (saved if the operation changes state).
        self._changed_keys: set[str] = set()
        self._changed_aliases: set[str] = set()
        self._changed_grants: set[str] = set()
        self._resolved: set[str] = set()
        #: The store keeping this Region (the account's), or None: in memory only.
        self.store: Store | None = None
        self._saved_seq: int | None = None  # the newest key (by number) the store has seen
        #: Authorization and the record of every call in this Region (kmslab.kms.access);
        #: the account's IAM principals are shared by its Regions.
        self.access = Access(self)
        #: Request id -> the most recent failures (at most MAX_FAILURES), for kmslab.explain.
        self.failures: OrderedDict[str, Failure] = OrderedDict()
        LIVE.add(self)
        aws_account.regions[region] = self
        try:
            aws_account._attach(self)
        except BaseException:
            if store is not None:
                aws_account.close()
            raise

    def close(self) -> None:
        """Close the store of this LocalKMS's account (saving its clock); idempotent."""
        self.aws_account.close()

    def __enter__(self) -> LocalKMS:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LocalKMS(region={self.region!r}, account={self.account!r}, keys={len(self.keys)})"

    # -- entry points -----------------------------------------------------------------

    def call(self, operation: str, **params: Any) -> Params:
        """Run one operation with Python values (bytes for blobs); returns the response.

        Raises the :mod:`kmslab.exceptions` class of the AWS error on failure, with its
        ``request_id`` set (the key of the failure in :attr:`failures`).
        """
        rid = new_request_id()
        self.access.begin(rid)  # the record of this call (kms.events()) carries the same id
        try:
            return self.dispatch(operation, wire.validate(operation, params))
        except KMSError as err:
            self.record(err, operation, params, rid)
            raise

    def handle(
        self, operation: str, body: bytes, *, request_id: str | None = None
    ) -> tuple[int, bytes]:
        """Serve one AWS JSON 1.1 request body; returns (HTTP status, JSON body).

        ``request_id`` is the id the caller sends back as ``x-amzn-RequestId`` (a new one by
        default); a failure is recorded under it.
        """
        rid = request_id or new_request_id()
        self.access.begin(rid)  # the record of this call (kms.events()) carries the same id

        def on_error(err: KMSError, raw: Params) -> None:
            self.record(err, operation, raw, rid)

        return wire.handle(self.dispatch, operation, body, on_error)

    def record(self, err: KMSError, operation: str, params: Params, request_id: str) -> Failure:
        """Remember a failure under its request id (and set ``err.request_id``)."""
        err.request_id = request_id
        with self._lock:
            keys: dict[str, dict[str, str]] = {}
            for member in KEY_MEMBERS:
                ref = params.get(member)
                key = self.peek(ref) if isinstance(ref, str) else None
                if key is not None:
                    keys[member] = {
                        "Arn": key.arn,
                        "KeySpec": key.info.name,
                        "KeyUsage": key.usage,
                        "KeyState": key.state,
                        "Origin": key.origin,
                    }
            failure = Failure(
                request_id,
                operation,
                err.code,
                err.message,
                summary(operation, params),
                keys,
                dict(err.detail),
            )
            self.failures[request_id] = failure
            while len(self.failures) > MAX_FAILURES:
                self.failures.popitem(last=False)
        return failure

    def peek(self, key_id: str) -> Key | None:
        """The key ``key_id`` names (id, ARN, alias), or None: never raises, and never makes
        an AWS managed key (looking at a failed call's request changes nothing)."""
        try:
            return self.resolve(key_id, make=False)
        except KMSError:
            return None

    def client(self, principal: str | None = None, **config: Any) -> Any:
        """A real boto3 KMS client whose requests this LocalKMS answers in-process.

        ``principal``: the IAM ARN the client acts as (see :attr:`iam`); by default the
        account's administrator role.
        """
        from kmslab.target import local_client

        return local_client(self, principal=principal, **config)

    # -- who calls, and the record of calls --------------------------------------------

    @property
    def iam(self) -> IAM:
        """The account's IAM principals: ``kms.iam.create_role("Analyst", policy=...)``."""
        return self.access.iam

    def acting_as(self, principal: Principal | str | None) -> AbstractContextManager[Principal]:
        """``with kms.acting_as(arn): kms.call(...)`` makes the calls as that principal."""
        return self.access.acting_as(principal)

    def events(
        self,
        *,
        key: str | None = None,
        principal: str | None = None,
        event_name: str | None = None,
        outcome: str | None = None,
    ) -> list[dict[str, Any]]:
        """The CloudTrail-style record of calls, oldest first (see :mod:`kmslab.kms.trail`)."""
        return self.access.trail.query(
            key=key, principal=principal, event_name=event_name, outcome=outcome
        )

    def dispatch(self, operation: str, params: Params) -> Params:
        """Run an operation on already-validated params. Never raises anything but KMSError.

        The error raised carries no context: not the exception it translates (a crypto
        failure whose frames hold key objects) and no traceback into the operation.
        """
        handler = HANDLERS.get(operation)
        if handler is None:
            # kmslab's own refusal (AWS serves every operation in its model).
            raise UnsupportedOperationException(f"kmslab does not implement {operation}.")
        failure = self._run(operation, handler, params)
        if isinstance(failure, KMSError):
            # Raised outside every except block, stripped, so nothing secret stays reachable
            # from the error (its __context__ frames) or from sys.last_value in a notebook.
            failure.__context__ = failure.__cause__ = None
            failure.__suppress_context__ = False
            raise failure.with_traceback(None)
        if params.get("DryRun") and wire.has_dry_run(operation):
            raise DryRunOperationException(
                "The request would have succeeded, but the DryRun option is set."
            )
        return failure

    def _run(self, operation: str, handler: Handler, params: Params) -> Params | KMSError:
        """The handler's result, or the KMSError it failed with (returned, not raised)."""
        prepare = PREPARERS.get(operation)
        if prepare is not None:  # a dry run too: its handler runs in full before it fails
            # Key generation (up to seconds for RSA_4096) happens here, outside the lock.
            with contextlib.suppress(Exception):  # the handler reports what is wrong
                params = {**params, PREPARED: prepare(params)}
        with self._lock:
            try:
                self.aws_account.tick()
                if self.store is not None:
                    # What time changed (a deletion, a rotation) is saved apart from the
                    # call: if the store cannot keep it, it is put back and comes due again
                    # at the next call, and this call is still answered.
                    with contextlib.suppress(KMSError):
                        self.aws_account.save()
                # Authorized, run and recorded (kmslab.kms.access).
                result = self.access.run(operation, params, handler)
            except KMSError as err:
                if self.store is not None:
                    try:
                        self.aws_account.save()  # what the clock changed is kept
                    except KMSError as unsaved:
                        return unsaved
                return err
            except Exception as exc:  # a bug in kmslab: never a traceback on the wire
                self._resolved.clear()
                # Only the exception type is logged: messages could echo input or material.
                log.error("internal error in %s: %s", operation, type(exc).__name__)
                name = type(exc).__name__
            else:
                if self.store is not None:
                    # Answered only once what the call changed is committed.
                    try:
                        self.aws_account.save(self if changes_state(operation) else None)
                    except KMSError as unsaved:
                        return unsaved
                return result
        return KMSInternalException(f"kmslab internal error in {operation} ({name}).")

    # -- the store ----------------------------------------------------------------------

    def changed(self, key_id: str | None = None, *, alias: str | None = None) -> None:
        """Tell the store a key (with its grants) or an alias changed in this call.

        Keys an operation resolves, and keys added to ``self.keys`` (with their aliases),
        are saved anyway; call this for other changes (a key deleted, an alias, grants
        found by token). Related multi-Region keys are saved together.
        """
        if self.store is None:
            return
        if key_id is not None:
            self._changed_keys.add(key_id)
            self._changed_grants.add(key_id)
            key = self.keys.get(key_id)
            group = key.multi_region if key is not None else None
            for region in group.keys if group is not None else ():
                other = self.aws_account.regions.get(region)
                if other is not None and other is not self:
                    other._changed_keys.add(key_id)
        if alias is not None:
            self._changed_aliases.add(alias)

    def _nothing_to_save(self) -> bool:
        """True when no change is recorded and no key was added since the last save (then
        what reads resolved is forgotten: a read saves nothing)."""
        if self._changed_keys or self._changed_aliases or self._changed_grants:
            return False
        if next(iter(self.keys.after(self._saved_seq)), None) is not None:
            return False
        self._resolved = set()
        return True

    def _take_changes(self, *, include_resolved: bool) -> tuple[set[str], set[str], set[str]]:
        """(keys, aliases, grants' key ids) changed since the last save; forgets them."""
        keys, aliases, grants = self._changed_keys, self._changed_aliases, self._changed_grants
        self._changed_keys, self._changed_aliases, self._changed_grants = set(), set(), set()
        resolved, self._resolved = self._resolved, set()
        if include_resolved:
            keys |= resolved
            grants |= resolved
        # Keys added by any path (CreateKey, ReplicateKey into this Region, an AWS managed
        # key made on first use), with their aliases: O(new keys), from their numbers.
        for seq, key in self.keys.after(self._saved_seq):
            keys.add(key.id)
            grants.add(key.id)
            aliases |= self.aliases.of_key(key.id)
            self._saved_seq = seq
        return keys, aliases, grants

    def _put_back(self, batch: tuple[set[str], set[str], set[str]]) -> None:
        keys, aliases, grants = batch
        self._changed_keys |= keys
        self._changed_aliases |= aliases
        self._changed_grants |= grants

    revert = restoring.revert

    def grants_of(self, key_id: str) -> list[Grant]:
        """The grants of one key (what the store saves per key)."""
        return list(self.grants.get(key_id, {}).values())

    restore = restoring.restore

    def rebuild_indexes(self) -> None:
        """Derive every index from the keys and grants (after :meth:`restore`).

        A new index derived from stored state gets its line here.
        """
        self.retirable, self.grant_names = {}, {}
        every = [g for table in self.grants.values() for g in table.values()]
        for grant in every:  # the retirable index orders them by number
            self.index_grant(grant)
        self._timers, self._timer_at = [], {}
        for key in self.keys.values():
            schedule.sync(self, key)  # automatic rotation, expiry of imported material
            if key.state == "PendingDeletion":
                self.schedule("delete", key.id, key.deletion_date)

    def index_grant(self, grant: Grant) -> None:
        """Add a grant (already in ``self.grants``) to the indexes beside it."""
        principal = grant.retiring or grant.retiring_service
        if principal is not None:
            self.retirable.setdefault(principal, SequencedTable())[grant.id] = grant
        if grant.name is not None:
            self.grant_names.setdefault((grant.key_id, grant.name), set()).add(grant.id)

    # -- time-driven changes ----------------------------------------------------------

    def tick(self) -> None:
        """Apply what the clock says has happened: the timers that are due, then the hooks.

        O(1) when nothing is due (a look at the top of the heap), O(log n) per due timer.
        """
        timers = self._timers
        if timers and timers[0][0] <= self.clock.now():
            now = self.clock.now()
            while timers and timers[0][0] <= now:
                when, _, kind, key_id = heapq.heappop(timers)
                if self._timer_at.get((kind, key_id)) != when:
                    continue  # rescheduled or cancelled since
                del self._timer_at[kind, key_id]
                if key_id in self.keys:
                    self.changed(key_id)  # what a timer does to a key is saved
                    TIMERS[kind](self, key_id, when)
        for hook in TICK_HOOKS:
            hook(self)

    def schedule(self, kind: str, key_id: str, when: datetime | None) -> None:
        """Set (or, with None, cancel) the one timer of ``kind`` for a key.

        When the clock reaches ``when``, the next call runs ``TIMERS[kind](kms, key_id,
        when)`` (under the lock) if the key still exists.
        """
        if when is None:
            self._timer_at.pop((kind, key_id), None)
            return
        if self._timer_at.get((kind, key_id)) == when:
            return
        self._timer_at[kind, key_id] = when
        heapq.heappush(self._timers, (when, next(self._timer_numbers), kind, key_id))
        if len(self._timers) > 2 * len(self._timer_at) + 64:  # amortised O(1) per call
            self._timers = [
                (w, next(self._timer_numbers), k, i) for (k, i), w in self._timer_at.items()
            ]
            heapq.heapify(self._timers)

    def timer(self, kind: str, key_id: str) -> datetime | None:
        """When the timer of ``kind`` for a key fires (None: no such timer)."""
        return self._timer_at.get((kind, key_id))

    def timers(self) -> dict[tuple[str, str], datetime]:
        """Every live timer: (kind, key id) -> when it fires (a copy)."""
        return dict(self._timer_at)

    def keys_after(self, seq: int | None) -> Any:
        """(number, key) of the keys created after number ``seq``, in creation order, lazily.

        ListKeys pages from this: O(log n + page size). ``self.keys.seq(key_id)`` is a key's
        number.
        """
        return self.keys.after(seq)

    def _delete(self, key: Key) -> None:
        self.changed(key.id)
        for hook in DELETE_HOOKS:
            hook(self, key)
        del self.keys[key.id]
        for kind in TIMERS:
            self.schedule(kind, key.id, None)
        for grant in list(self.grants.pop(key.id, {}).values()):
            self._unindex_retirable(grant)
        for name in self.aliases.of_key(key.id):
            del self.aliases[name]
            self.changed(alias=name)

    def _unindex_retirable(self, grant: Grant) -> None:
        """Drop a removed grant from the indexes beside ``self.grants``."""
        if grant.name is not None:
            named = self.grant_names.get((grant.key_id, grant.name))
            if named is not None:
                named.discard(grant.id)
                if not named:
                    del self.grant_names[grant.key_id, grant.name]
        principal = grant.retiring or grant.retiring_service
        if principal is None:
            return
        table = self.retirable.get(principal)
        if table is not None:
            table.pop(grant.id, None)
            if not table:
                del self.retirable[principal]

    # -- names and rule checks: methods kept in kmslab.kms.checks ----------------------------

    key_arn = checks.key_arn
    alias_arn = checks.alias_arn
    resolve = checks.resolve
    key_for = checks.key_for
    key_state = checks.key_state
    check_state = checks.check_state
    check_type = checks.check_type
    algorithm = checks.algorithm
    require_implemented = checks.require_implemented
    secret = checks.secret


#: What Account.region makes (kmslab.kms.account does not import this module).
Account.region_class = LocalKMS


def _delete_when_due(kms: LocalKMS, key_id: str, when: datetime) -> None:
    """Timer "delete": the end of a key's waiting period (ScheduleKeyDeletion)."""
    key = kms.keys[key_id]
    if key.state == "PendingDeletion" and key.deletion_date == when:
        kms._delete(key)


TIMERS["delete"] = _delete_when_due
