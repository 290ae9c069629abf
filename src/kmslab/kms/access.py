"""Who may call what: the caller of each request, its authorization, and the record of it.

``LocalKMS.dispatch`` runs every operation through :meth:`Access.run`: it names the caller
(the default administrator role, or the principal of ``kms.acting_as(...)`` /
``kms.client(principal=...)``), authorizes the request as AWS KMS does (key policy, IAM
policies, grants: :mod:`kmslab.kms.policy`), runs it, and records the call, allowed or
refused (:mod:`kmslab.kms.trail`).

>>> from kmslab import LocalKMS
>>> kms = LocalKMS()
>>> kms.access.principal().caller_arn
'arn:aws:sts::111122223333:assumed-role/Admin/kmslab'
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from kmslab.exceptions import (
    InvalidGrantTokenException,
    KMSError,
    MalformedPolicyDocumentException,
)
from kmslab.kms import trail, wire
from kmslab.kms.iam import IAM, Principal
from kmslab.kms.policy import context as request_context
from kmslab.kms.policy.document import Policy, parse_key_policy
from kmslab.kms.policy.evaluate import Decision, decide, deny

if TYPE_CHECKING:
    from kmslab.kms.ops.grants import Grant
    from kmslab.kms.policy.context import Check
    from kmslab.kms.registry import Params
    from kmslab.kms.service import LocalKMS

__all__ = ["GRANT_TOKENS", "Access"]

#: "lookup": (kms, token) -> the grant it names, or InvalidGrantTokenException; registered
#: by kmslab.kms.ops.grants.
GRANT_TOKENS: dict[str, Callable[[LocalKMS, str], Grant]] = {}

_EMPTY = Policy("", ())


def _key_policy(text: str) -> Policy:
    try:
        return parse_key_policy(text)
    except MalformedPolicyDocumentException:
        return _EMPTY  # a policy that cannot be read allows nothing


class Access:
    """Identities, authorization and the record of one LocalKMS.

    ``grant_delay``: how long a new grant takes to be usable without its grant token
    (AWS: "usually less than five minutes", grants.html); zero by default.
    """

    def __init__(self, kms: LocalKMS) -> None:
        self.kms = kms
        #: The account's principals, shared by its Regions (so is the caller of a thread).
        self.iam: IAM = kms.aws_account.iam
        self.trail = trail.Trail()
        self.grant_delay = timedelta(0)
        #: When the record began (GetKeyLastUsage's TrackingStartDate for older keys).
        self.started = kms.clock.now()
        self._local = threading.local()

    # -- the caller ----------------------------------------------------------------------

    def principal(self) -> Principal:
        """The principal making the current request on this thread."""
        found: Principal | None = getattr(self.iam.local, "principal", None)
        return found or self.iam.default

    @contextmanager
    def acting_as(self, principal: Principal | str | None) -> Iterator[Principal]:
        """Requests made inside the block (on this thread) come from ``principal``."""
        chosen = (
            self.iam.default
            if principal is None
            else self.iam.get(principal)
            if isinstance(principal, str)
            else principal
        )
        before = getattr(self.iam.local, "principal", None)
        self.iam.local.principal = chosen
        try:
            yield chosen
        finally:
            self.iam.local.principal = before

    def begin(self, request_id: str) -> None:
        """The request id the next request on this thread is recorded under (the id its
        response carries in x-amzn-RequestId)."""
        self._local.request_id = request_id

    # -- authorization ---------------------------------------------------------------------

    def grants_in_effect(self, check: Check, tokens: list[Grant]) -> list[Grant]:
        """The key's grants AWS would consult: consistent ones, and those named by a token."""
        if check.key is None:
            return []
        table = self.kms.grants.get(check.key.id)
        if table is None and not tokens:
            return []
        now = self.kms.clock.now()
        grants = (
            [g for g in table.values() if g.created + self.grant_delay <= now]
            if table is not None
            else []
        )
        return grants + [g for g in tokens if g.key_id == check.key.id and g not in grants]

    def decide(
        self,
        check: Check,
        principal: Principal,
        tokens: Sequence[Grant] = (),
        key_policy_text: str | None = None,
    ) -> Decision:
        """The decision for one check (no exception): see :mod:`kmslab.kms.policy.evaluate`.

        ``key_policy_text``: evaluate this key policy instead of the key's own (the lockout
        safety check evaluates the policy a request would set).
        """
        check.extra.setdefault("scope", f"arn:aws:kms:{self.kms.region}:{self.kms.account}:")
        key_policy = None
        if check.key is not None:
            key_policy = _key_policy(key_policy_text or check.key.policy)
        return decide(
            check,
            principal,
            key_policy,
            principal.policies.values(),
            self.grants_in_effect(check, list(tokens)),
        )

    def _tokens(self, params: Params) -> list[Grant]:
        """The grants the request's GrantTokens name; InvalidGrantTokenException otherwise."""
        return [self._by_token(token) for token in params.get("GrantTokens") or []]

    def _by_token(self, token: str) -> Grant:
        # kmslab.kms.ops.grants registers how a token names its grant (it imports the
        # service, which imports this module, so it cannot be imported from here).
        return GRANT_TOKENS["lookup"](self.kms, token)

    def _grant(self, key_id: str, grant_id: str) -> Grant | None:
        table = self.kms.grants.get(key_id)
        return table.get(grant_id) if table is not None else None

    def authorize(
        self, principal: Principal, operation: str, params: Params, checks: list[Check]
    ) -> None:
        """Raise AccessDeniedException unless every check of the request is allowed.

        ``checks`` receives the request's checks (the record names their keys even when
        the request is refused).
        """
        if operation == "RetireGrant":
            self._authorize_retire(principal, params, checks)
            return
        tokens = self._tokens(params)
        checks.extend(request_context.checks(self.kms, principal, operation, params))
        for check in checks:
            decision = self.decide(check, principal, tokens)
            if not decision.allowed:
                deny(decision, principal.caller_arn, check.action, check.resource)
            if operation == "CreateGrant" and decision.reason == "grant":
                self._check_derived_grant(principal, check, decision, params)

    def _check_derived_grant(
        self, principal: Principal, check: Check, decision: Decision, params: Params
    ) -> None:
        # A grantee may create grants with at most the operations of its own grant
        # (grants.html, "CreateGrant" grant operation).
        assert check.key is not None
        parent = self._grant(check.key.id, decision.grant_id or "")
        wanted = set(params.get("Operations") or [])
        if parent is not None and not wanted <= set(parent.operations):
            # AWS text unknown: inferred from the general format (see the fidelity ledger).
            deny(
                Decision(False, "no resource-based policy"),
                principal.caller_arn,
                check.action,
                check.resource,
            )

    def _authorize_retire(self, principal: Principal, params: Params, checks: list[Check]) -> None:
        """RetireGrant: the grant decides (grant-delete.html): its retiring principal, its
        grantee if the grant includes RetireGrant, or the account (its root, or a principal
        an identity policy allows kms:RetireGrant)."""
        grant = None
        if params.get("GrantToken"):
            try:
                grant = self._by_token(params["GrantToken"])
            except InvalidGrantTokenException:
                return  # the operation reports the token
        elif params.get("KeyId") and params.get("GrantId"):
            found = request_context.checks(self.kms, principal, "RetireGrant", params)
            if found and found[0].key is not None:
                grant = self._grant(found[0].key.id, params["GrantId"])
        if grant is None:
            return  # the operation reports the unknown grant or token
        key = self.kms.keys[grant.key_id]
        checks.append(request_context.key_check(self.kms, principal, "kms:RetireGrant", key))
        names = (principal.arn, principal.caller_arn)
        if (
            grant.retiring in names
            or (grant.grantee in names and "RetireGrant" in grant.operations)
            or principal.is_root
        ):
            return
        # Otherwise an identity policy of the grant's account may allow kms:RetireGrant.
        values = request_context.principal_context(self.kms, principal)
        check = request_context.Check(
            "kms:RetireGrant", key.arn, None, request_context.RequestContext(values, {})
        )
        decision = self.decide(check, principal)
        if not decision.allowed:
            deny(decision, principal.caller_arn, check.action, check.resource)

    # -- running and recording ---------------------------------------------------------------

    def run(
        self, operation: str, params: Params, handler: Callable[[LocalKMS, Params], Params]
    ) -> Params:
        """Authorize, run and record one request (called by ``LocalKMS.dispatch``)."""
        principal = self.principal()
        now = self.kms.clock.now()
        request_id = getattr(self._local, "request_id", None) or str(uuid.uuid4())
        self._local.request_id = None
        event: dict[str, Any] = {
            "eventVersion": "1.08",
            "userIdentity": principal.identity(),
            "eventTime": None,  # written from _when when the record is read
            "eventSource": "kms.amazonaws.com",
            "eventName": operation,
            "awsRegion": self.kms.region,
            "sourceIPAddress": "127.0.0.1",
            "userAgent": "kmslab",
            "requestParameters": trail.request_parameters(operation, params),
            "responseElements": None,
            "requestID": request_id,
            "eventID": str(uuid.uuid4()),
            "readOnly": trail.read_only(operation),
            "resources": [],
            "eventType": "AwsApiCall",
            "managementEvent": True,
            "eventCategory": "Management",
            "recipientAccountId": self.kms.account,
            "_when": now,
        }
        checks: list[Check] = []
        try:
            self.authorize(principal, operation, params, checks)
            result = handler(self.kms, params)
        except KMSError as err:
            self._finish(event, checks, None, err.code, err.message)
            raise
        except Exception:
            self._finish(event, checks, None, "KMSInternalException", "internal error")
            raise
        if params.get("DryRun") and wire.has_dry_run(operation):
            self._finish(
                event,
                checks,
                None,
                "DryRunOperationException",
                "The request would have succeeded, but the DryRun option is set.",
            )
            return result
        used = (
            (c.key.id for c in checks if c.key is not None)
            if operation in trail.TRACKED_OPERATIONS
            else ()
        )
        self._finish(event, checks, result, None, None, used)
        return result

    def _finish(
        self,
        event: dict[str, Any],
        checks: list[Check],
        result: Params | None,
        code: str | None,
        message: str | None,
        used: Any = (),
    ) -> None:
        arns = list(dict.fromkeys(c.key.arn for c in checks if c.key is not None))
        if not arns and result is not None:
            made = (result.get("KeyMetadata") or {}).get("Arn")
            if made:
                arns.append(made)
        event["resources"] = [
            {"accountId": self.kms.account, "type": "AWS::KMS::Key", "ARN": arn} for arn in arns
        ]
        if event["eventName"] == "Decrypt" and event["requestParameters"] is not None:
            # CloudTrail's Decrypt entries always name the algorithm and the key, even when
            # the request did not (Developer Guide ct-decrypt.html).
            recorded = event["requestParameters"]
            recorded.setdefault("encryptionAlgorithm", "SYMMETRIC_DEFAULT")
            if arns:
                recorded.setdefault("keyId", arns[0])
        if code is not None:
            event["errorCode"] = code
            event["errorMessage"] = message
        elif not event["readOnly"] or event["eventName"] in trail.TRACKED_OPERATIONS:
            event["responseElements"] = trail.response_elements(event["eventName"], result)
        self.trail.record(event, list(used))
