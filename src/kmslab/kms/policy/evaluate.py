"""Decide one authorization: key policy first, then IAM policies and grants; Deny wins.

>>> from kmslab import LocalKMS
>>> kms = LocalKMS()
>>> reader = kms.iam.create_role("Reader")            # no identity policy at all
>>> key_id = kms.call("CreateKey")["KeyMetadata"]["KeyId"]
>>> from kmslab.exceptions import AccessDeniedException
>>> try:
...     with kms.acting_as(reader.arn):
...         kms.call("DescribeKey", KeyId=key_id)
... except AccessDeniedException as err:
...     message = err.message
>>> message.split(" is not")[0]
'User: arn:aws:sts::111122223333:assumed-role/Reader/kmslab'
>>> message.split(" on resource")[0].split("authorized ")[1]
'to perform: kms:DescribeKey'
>>> message.split(key_id)[1]
' because no identity-based policy allows the kms:DescribeKey action'

The order, from the Developer Guide's policy-evaluation.html flowchart and
determining-access-key-policy.html, and the IAM User Guide's "Policy evaluation logic":

1. an explicit Deny that applies, in the key policy or in the caller's identity policies,
   refuses the request;
2. a key policy statement that names the caller (or ``*``) and allows the action allows it;
3. a grant for the caller that includes the operation (and whose encryption-context
   constraint the request meets) allows it;
4. a key policy statement that allows the caller's *account* delegates to IAM: the request
   is allowed if an identity policy of the caller allows the action on the key (the
   account's root user needs none);
5. otherwise it is refused.

Operations that involve no KMS key (CreateKey, ListKeys, ...) and the alias resource of the
alias operations are decided by identity policies alone. The refusal's message is AWS's
(the fidelity ledger's AccessDeniedException rows).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn, Protocol

from kmslab import specs
from kmslab.exceptions import AccessDeniedException
from kmslab.kms.policy.conditions import like
from kmslab.kms.policy.document import Policy, Statement

if TYPE_CHECKING:
    from kmslab.kms.iam import Principal
    from kmslab.kms.policy.context import Check

__all__ = ["Decision", "GrantLike", "decide", "denial_message", "deny"]


class GrantLike(Protocol):
    """What evaluation needs of a grant (kmslab.kms.ops.grants.Grant)."""

    id: str
    grantee: str | None

    def allows(self, operation: str, encryption_context: dict[str, str] | None) -> bool: ...


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of one authorization and why.

    ``reason``: "key policy", "grant", "IAM policy", "root" (allowed) or "explicit deny
    in a resource-based policy", "explicit deny in an identity-based policy",
    "no resource-based policy", "no identity-based policy" (refused).
    ``statement``: the Sid (or position, "#1") of the statement that decided, if one did.
    """

    allowed: bool
    reason: str
    statement: str | None = None
    grant_id: str | None = None


def _matches_any(value: str, patterns: Sequence[str], *, fold: bool) -> bool:
    v = value.lower() if fold else value
    return any(like(v, p.lower() if fold else p) for p in patterns)


def _resource_matches(resource: str, pattern: str, scope: str) -> bool:
    if pattern == "*":
        return True
    if resource == "*":
        # Operations on no resource match "*" or an account-wide "arn:aws:kms:<region>:<acct>:*".
        return pattern.endswith(":*") and like(scope + "*", pattern)
    return like(resource, pattern)


def applies(statement: Statement, check: Check) -> bool:
    """Whether a statement's Action, Resource and Condition cover the request (not Principal)."""
    if _matches_any(check.action, statement.actions, fold=True) == statement.negated_action:
        return False
    scope = str(check.extra.get("scope", ""))
    hit = any(_resource_matches(check.resource, r, scope) for r in statement.resources)
    if hit == statement.negated_resource:
        return False
    return all(c.holds(check.context) for c in statement.conditions)


def _is_root_of(name: str, account: str) -> bool:
    """Whether ``name`` is the ARN of ``account``'s root in any partition (arn:aws-cn:... in
    the China Regions)."""
    return name.endswith(f":iam::{account}:root") and name.split(":")[1] in _PARTITIONS


_PARTITIONS = frozenset(p.name for p in specs.PARTITIONS)


def principal_match(statement: Statement, principal: Principal) -> str | None:
    """ "direct" if the statement names this caller (or ``*``), "account" if it names the
    caller's account (which delegates to IAM policies), None otherwise."""
    found: str | None = None
    for kind, name in statement.principals:
        if kind != "AWS":
            continue
        if name == "*" or name in (principal.arn, principal.caller_arn):
            found = "direct"
            break
        if name == principal.account or _is_root_of(name, principal.account):
            found = "direct" if principal.is_root else "account"
    if statement.negated_principal:
        return None if found else "direct"
    return found


def _label(statement: Statement, index: int) -> str:
    return statement.sid or f"#{index + 1}"


def _identity(
    check: Check, principal: Principal, identity: Iterable[Policy]
) -> tuple[str | None, str | None]:
    """(Sid of an identity-policy Deny, Sid of an identity-policy Allow) that apply."""
    allow = deny = None
    for policy in identity:
        for i, statement in enumerate(policy.statements):
            if applies(statement, check):
                if statement.effect == "Deny":
                    deny = _label(statement, i)
                elif allow is None:
                    allow = _label(statement, i)
    if principal.is_root and allow is None:
        allow = "root"
    return deny, allow


def decide(
    check: Check,
    principal: Principal,
    key_policy: Policy | None,
    identity: Iterable[Policy],
    grants: Iterable[GrantLike] = (),
) -> Decision:
    """Decide ``check`` for ``principal`` (see the module docstring for the order).

    ``key_policy`` None: the resource is not a KMS key, identity policies alone decide.
    ``grants``: the key's grants that are in effect for this request (consistent, or
    named by a grant token in it).
    """
    identity_deny, identity_allow = _identity(check, principal, identity)
    if key_policy is None:
        if identity_deny is not None:
            return Decision(False, "explicit deny in an identity-based policy", identity_deny)
        if identity_allow is not None:
            return Decision(True, "root" if principal.is_root else "IAM policy", identity_allow)
        return Decision(False, "no identity-based policy")
    direct = delegated = None
    for i, statement in enumerate(key_policy.statements):
        match = principal_match(statement, principal)
        if match is None or not applies(statement, check):
            continue
        if statement.effect == "Deny":
            return Decision(False, "explicit deny in a resource-based policy", _label(statement, i))
        if match == "direct" and direct is None:
            direct = _label(statement, i)
        elif match == "account" and delegated is None:
            delegated = _label(statement, i)
    if identity_deny is not None:
        return Decision(False, "explicit deny in an identity-based policy", identity_deny)
    if direct is not None:
        return Decision(True, "key policy", direct)
    for grant in grants:
        if grant.grantee in (principal.arn, principal.caller_arn) and grant.allows(
            check.grant_operation or "", check.encryption_context
        ):
            return Decision(True, "grant", grant_id=grant.id)
    if delegated is not None:
        if identity_allow is not None:
            return Decision(True, "IAM policy", identity_allow)
        return Decision(False, "no identity-based policy", delegated)
    return Decision(False, "no resource-based policy")


def deny(decision: Decision, caller_arn: str, action: str, resource: str) -> NoReturn:
    """Raise AWS's AccessDeniedException for a refusal (the fidelity ledger's access-denied
    rows: three observed on AWS, the identity-policy Deny in IAM's general format)."""
    name = action.removeprefix("kms:")
    if decision.reason == "explicit deny in a resource-based policy":
        raise AccessDeniedException(
            f"User: {caller_arn} is not authorized to perform: kms:{name} on resource: "
            f"{resource} with an explicit deny in a resource-based policy"
        )
    if decision.reason == "explicit deny in an identity-based policy":
        raise AccessDeniedException(
            f"User: {caller_arn} is not authorized to perform: kms:{name} on resource: "
            f"{resource} with an explicit deny in an identity-based policy"
        )
    if decision.reason == "no identity-based policy":
        raise AccessDeniedException(
            f"User: {caller_arn} is not authorized to perform: kms:{name} on resource: "
            f"{resource} because no identity-based policy allows the kms:{name} action"
        )
    raise AccessDeniedException(
        f"User: {caller_arn} is not authorized to perform: kms:{name} on resource: "
        f"{resource} because no resource-based policy allows the kms:{name} action"
    )


def denial_message(decision: Decision, caller_arn: str, action: str, resource: str) -> str:
    """The message :func:`deny` would raise."""
    try:
        deny(decision, caller_arn, action, resource)
    except AccessDeniedException as err:
        return err.message or ""
