"""Policy documents: parse and validate key policies and IAM identity policies.

>>> from kmslab.kms.policy.document import parse_key_policy
>>> policy = parse_key_policy('''{"Version": "2012-10-17", "Statement": [{
...     "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
...     "Action": "kms:*", "Resource": "*"}]}''')
>>> policy.statements[0].principals
(('AWS', 'arn:aws:iam::111122223333:root'),)

The grammar is the IAM JSON policy language (IAM User Guide, "IAM JSON policy elements
reference"): Version, Id, Statement (one object or a list) of Sid, Effect, Principal or
NotPrincipal (key policies only), Action or NotAction, Resource or NotResource, Condition.
A key policy must name principals; an identity policy must not (its principal is the
identity it is attached to). Every problem is a MalformedPolicyDocumentException.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from kmslab.exceptions import KMSError, MalformedPolicyDocumentException
from kmslab.kms.policy.conditions import Condition, parse_condition_block

__all__ = [
    "Policy",
    "Statement",
    "parse_identity_policy",
    "parse_key_policy",
    "validate_principals",
]

_VERSIONS = frozenset({"2012-10-17", "2008-10-17"})
_STATEMENT_MEMBERS = frozenset(
    {
        "Sid",
        "Effect",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
    }
)
#: Principal types kmslab understands; the IAM grammar has these four.
_PRINCIPAL_TYPES = frozenset({"AWS", "Service", "Federated", "CanonicalUser"})
_ACCOUNT = re.compile(r"\d{12}")
_IAM_ARN = re.compile(
    r"arn:aws(?:-cn|-us-gov)?:(?:iam::\d{12}:(?:root|user/[\w+=,.@/-]+|role/[\w+=,.@/-]+)"
    r"|sts::\d{12}:(?:assumed-role/[\w+=,.@-]+/[\w+=,.@-]+|federated-user/[\w+=,.@-]+))"
)
_SERVICE = re.compile(r"[a-z0-9.-]+\.amazonaws\.com(?:\.cn)?")


# The texts of MalformedPolicyDocumentException: "Policy contains a statement with one or more
# invalid principals." and "Policy contains a statement with no principal." are observed on
# AWS (the fidelity ledger, policy-invalid-principals and policy-no-principal). For the other
# faults AWS's text is unknown: inferred (see _malformed).


def _malformed(fault: str) -> KMSError:
    # AWS text unknown: inferred. AWS names a malformed policy in few words; kmslab names
    # the fault.
    return MalformedPolicyDocumentException(f"The policy document is malformed: {fault}")


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement. Patterns are kept as written; matching lives in :mod:`.evaluate`.

    ``principals``: (type, value) pairs, ``("AWS", "*")`` for ``"Principal": "*"``.
    ``negated_*``: the statement used NotPrincipal / NotAction / NotResource.
    """

    sid: str | None
    effect: str
    principals: tuple[tuple[str, str], ...]
    negated_principal: bool
    actions: tuple[str, ...]
    negated_action: bool
    resources: tuple[str, ...]
    negated_resource: bool
    conditions: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Policy:
    """A parsed policy: its statements (and the text it came from)."""

    text: str
    statements: tuple[Statement, ...]


def _strings(value: Any, element: str) -> tuple[str, ...]:
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, str) and v for v in values):
        raise _malformed(f"{element} must be a string or a non-empty list of strings.")
    return tuple(values)


def _no_principal(value: Any) -> bool:
    """An empty Principal: ``{}``, ``""``, or only empty lists and strings under each type.

    AWS answers "no principal" for ``{"AWS": []}`` (a list a template left empty) and for an
    empty ARN (ledger policy-no-principal).
    """
    if value == "" or value == {}:
        return True
    if not isinstance(value, dict):
        return False
    names = [v for names in value.values() for v in (names if isinstance(names, list) else [names])]
    return all(name == "" for name in names)


def _principals(value: Any) -> tuple[tuple[str, str], ...]:
    if value == "*":
        return (("AWS", "*"),)
    if _no_principal(value):
        raise MalformedPolicyDocumentException("Policy contains a statement with no principal.")
    if not isinstance(value, dict) or not value:
        raise MalformedPolicyDocumentException(
            "Policy contains a statement with one or more invalid principals."
        )
    out: list[tuple[str, str]] = []
    for kind, names in value.items():
        if kind not in _PRINCIPAL_TYPES:
            raise MalformedPolicyDocumentException(
                "Policy contains a statement with one or more invalid principals."
            )
        try:
            out.extend((kind, name) for name in _strings(names, "Principal"))
        except MalformedPolicyDocumentException:
            raise MalformedPolicyDocumentException(
                "Policy contains a statement with one or more invalid principals."
            ) from None
    return tuple(out)


def _statement(raw: Any, *, resource_policy: bool) -> Statement:
    if not isinstance(raw, dict):
        raise _malformed("each statement must be a JSON object.")
    unknown = set(raw) - _STATEMENT_MEMBERS
    if unknown:
        raise _malformed(f"unknown statement element {sorted(unknown)[0]}.")
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise _malformed("Effect must be Allow or Deny.")
    for a, b in (
        ("Principal", "NotPrincipal"),
        ("Action", "NotAction"),
        ("Resource", "NotResource"),
    ):
        if a in raw and b in raw:
            raise _malformed(f"a statement has either {a} or {b}, not both.")
    has_principal = "Principal" in raw or "NotPrincipal" in raw
    if resource_policy and not has_principal:
        raise MalformedPolicyDocumentException("Policy contains a statement with no principal.")
    if not resource_policy and has_principal:
        raise _malformed("an identity-based policy cannot have a Principal element.")
    if "Action" not in raw and "NotAction" not in raw:
        raise _malformed("each statement needs an Action or NotAction element.")
    if "Resource" not in raw and "NotResource" not in raw:
        raise _malformed("each statement needs a Resource or NotResource element.")
    sid = raw.get("Sid")
    if sid is not None and not isinstance(sid, str):
        raise _malformed("Sid must be a string.")
    principal = raw.get("Principal", raw.get("NotPrincipal"))
    return Statement(
        sid=sid,
        effect=effect,
        principals=_principals(principal) if has_principal else (),
        negated_principal="NotPrincipal" in raw,
        actions=_strings(raw.get("Action", raw.get("NotAction")), "Action"),
        negated_action="NotAction" in raw,
        resources=_strings(raw.get("Resource", raw.get("NotResource")), "Resource"),
        negated_resource="NotResource" in raw,
        conditions=parse_condition_block(raw.get("Condition")),
    )


def _parse(text: str, *, resource_policy: bool) -> Policy:
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        # No message member: AWS sends none for a policy that is not JSON (ledger
        # policy-not-json).
        raise MalformedPolicyDocumentException() from None
    if not isinstance(doc, dict):
        raise _malformed("the policy must be a JSON object.")
    unknown = set(doc) - {"Version", "Id", "Statement"}
    if unknown:
        raise _malformed(f"unknown policy element {sorted(unknown)[0]}.")
    if "Version" in doc and doc["Version"] not in _VERSIONS:
        raise _malformed("Version must be 2012-10-17 (or the older 2008-10-17).")
    raw = doc.get("Statement")
    if raw is None:
        raise _malformed("the policy has no Statement element.")
    raws = raw if isinstance(raw, list) else [raw]
    if not raws:
        raise _malformed("the Statement element is empty.")
    return Policy(text, tuple(_statement(s, resource_policy=resource_policy) for s in raws))


@lru_cache(maxsize=1024)
def parse_key_policy(text: str) -> Policy:
    """Parse a key policy (statements must name principals). Cached by text."""
    return _parse(text, resource_policy=True)


@lru_cache(maxsize=1024)
def parse_identity_policy(text: str) -> Policy:
    """Parse an IAM identity policy (statements must not name principals). Cached by text."""
    return _parse(text, resource_policy=False)


def validate_principals(policy: Policy, account: str, exists: Callable[[str], bool]) -> None:
    """AWS refuses a key policy naming a principal that does not exist.

    Accepted: ``*``, an account id, an account's root ARN, users, roles and role sessions
    of other accounts (kmslab cannot see them), those of this account that ``exists``, and
    AWS service principals. Source: the fidelity ledger (the error), Developer Guide
    key-policy-overview.html ("Principal" element).
    """
    for statement in policy.statements:
        for kind, name in statement.principals:
            if kind == "Service":
                ok = _SERVICE.fullmatch(name) is not None
            elif kind != "AWS" or name == "*" or _ACCOUNT.fullmatch(name):
                ok = True
            elif _IAM_ARN.fullmatch(name) is None:
                ok = False
            elif name.split(":")[4] != account or name.endswith(":root"):
                ok = True
            else:
                ok = exists(name)
            if not ok:
                raise MalformedPolicyDocumentException(
                    "Policy contains a statement with one or more invalid principals."
                )
