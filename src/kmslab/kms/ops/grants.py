"""Grants: CreateGrant, ListGrants, ListRetirableGrants, RetireGrant, RevokeGrant.

A grant lets a principal use one KMS key for a list of grant operations, optionally only
with a given encryption context. Grants are enforced by :mod:`kmslab.kms.access`: the
grantee principal may call a grant operation that no policy allows it (unless a policy
denies it explicitly), and ``Grant.allows`` applies the encryption-context constraint.
A new grant is usable at once, or after ``kms.access.grant_delay`` if that is set (AWS's
eventual consistency); a grant token in ``GrantTokens`` makes it usable immediately.

>>> from kmslab import LocalKMS
>>> kms = LocalKMS()
>>> key_id = kms.call("CreateKey")["KeyMetadata"]["KeyId"]
>>> made = kms.call("CreateGrant", KeyId=key_id, Name="backup",
...                 GranteePrincipal="arn:aws:iam::111122223333:role/backup",
...                 Operations=["Encrypt", "Decrypt"],
...                 Constraints={"EncryptionContextSubset": {"app": "backup"}})
>>> len(made["GrantId"])
64
>>> [g["Operations"] for g in kms.call("ListGrants", KeyId=key_id)["Grants"]]
[['Encrypt', 'Decrypt']]
>>> kms.call("RetireGrant", GrantToken=made["GrantToken"])
{}
>>> kms.call("ListGrants", KeyId=key_id)["Grants"]
[]

What kmslab checks, as AWS does: the key exists and is not pending deletion (CreateGrant);
every grant operation is one the key can do (a symmetric key cannot grant Sign, an HMAC key
cannot grant Encrypt: ValidationException); encryption-context constraints only with
operations that take an encryption context on a symmetric encryption key (DescribeKey,
RetireGrant and CreateGrant may join them: the constraint does not apply to those). A grant
with a Name is created once: the same request again returns the same GrantId (with a new
grant token; every token of a grant retires it). Deleting a key deletes its grants.

Choices where AWS documents no exact behaviour:

- A GrantId that is not 64 lowercase hex characters is InvalidGrantIdException; a
  well-formed one the key does not have is NotFoundException (RetireGrant, RevokeGrant) or
  an empty list (ListGrants's GrantId filter).
- An unknown grant token is InvalidGrantTokenException. RetireGrant's KeyId may be the key
  ARN (as AWS documents) or the key id; with a GrantToken, KeyId and GrantId are not needed.
- Principals are stored as given and not looked up; a grant made for a
  GranteeServicePrincipal lists it both as GranteeServicePrincipal and GranteePrincipal.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from kmslab import specs
from kmslab.exceptions import (
    InvalidGrantIdException,
    InvalidGrantTokenException,
    LimitExceededException,
    NotFoundException,
    ValidationException,
)
from kmslab.kms.access import GRANT_TOKENS
from kmslab.kms.index import SequencedTable
from kmslab.kms.paging import decode_marker, page_iter
from kmslab.kms.quotas import QUOTAS
from kmslab.kms.registry import operation
from kmslab.kms.rules import allowed

if TYPE_CHECKING:
    from kmslab.kms.keys import Key
    from kmslab.kms.registry import Params
    from kmslab.kms.service import LocalKMS

__all__ = ["GRANT_OPERATIONS", "Grant", "GrantOperation"]

#: How an encryption-context constraint treats a grant operation: "applies" (the operation
#: takes an encryption context), "ignored" (may be in a constrained grant, unconstrained),
#: "refused" (no encryption context: a constrained grant cannot include it).
ConstraintUse = Literal["applies", "ignored", "refused"]


@dataclass(frozen=True, slots=True)
class GrantOperation:
    """One value of botocore's GrantOperation enum.

    ``rule``: the row of :data:`kmslab.kms.rules.OPERATIONS` that says which keys can do it.
    """

    rule: str
    constraints: ConstraintUse


#: Grant operation -> its rule row and how constraints treat it (AWS's "grant operations").
GRANT_OPERATIONS: dict[str, GrantOperation] = {
    "Decrypt": GrantOperation("Decrypt", "applies"),
    "Encrypt": GrantOperation("Encrypt", "applies"),
    "GenerateDataKey": GrantOperation("GenerateDataKey", "applies"),
    "GenerateDataKeyWithoutPlaintext": GrantOperation("GenerateDataKeyWithoutPlaintext", "applies"),
    "ReEncryptFrom": GrantOperation("ReEncrypt", "applies"),
    "ReEncryptTo": GrantOperation("ReEncrypt", "applies"),
    "GenerateDataKeyPair": GrantOperation("GenerateDataKeyPair", "applies"),
    "GenerateDataKeyPairWithoutPlaintext": GrantOperation(
        "GenerateDataKeyPairWithoutPlaintext", "applies"
    ),
    "Sign": GrantOperation("Sign", "refused"),
    "Verify": GrantOperation("Verify", "refused"),
    "GetPublicKey": GrantOperation("GetPublicKey", "refused"),
    "GenerateMac": GrantOperation("GenerateMac", "refused"),
    "VerifyMac": GrantOperation("VerifyMac", "refused"),
    "DeriveSharedSecret": GrantOperation("DeriveSharedSecret", "refused"),
    "Encapsulate": GrantOperation("Encapsulate", "refused"),
    "Decapsulate": GrantOperation("Decapsulate", "refused"),
    "DescribeKey": GrantOperation("DescribeKey", "ignored"),
    "CreateGrant": GrantOperation("CreateGrant", "ignored"),
    "RetireGrant": GrantOperation("RetireGrant", "ignored"),
}

_CONTEXT_CONSTRAINTS = ("EncryptionContextSubset", "EncryptionContextEquals")
#: AWS: each constraint holds at most 8 encryption context pairs.
MAX_CONSTRAINT_PAIRS = QUOTAS["grant_constraint_pairs"].value
_GRANT_ID = re.compile("[0-9a-f]{64}")


@dataclass(eq=False)
class Grant:
    """One grant on one key. Its tokens (bearer credentials on AWS) stay out of the repr."""

    id: str
    key_id: str
    key_arn: str
    created: datetime
    operations: tuple[str, ...]
    name: str | None = None
    grantee: str | None = None
    grantee_service: str | None = None
    retiring: str | None = None
    retiring_service: str | None = None
    constraints: dict[str, Any] | None = None
    #: How many grant tokens CreateGrant has returned for this grant. The tokens are not
    #: stored: each one names its grant and is authenticated (:func:`_token`), so a named
    #: grant requested 10,000 times still costs one Grant.
    issued: int = 0
    #: Creation number in its Region (kmslab.kms.index.Numbering; 0 until the key's grant
    #: table gives it one): the order ListGrants and ListRetirableGrants page in, saved
    #: with the grant so markers survive restarts.
    number: int = 0

    def allows(self, operation: str, encryption_context: dict[str, str] | None) -> bool:
        """Whether this grant allows ``operation`` (a grant operation such as "Decrypt" or
        "ReEncryptFrom") for a request with this encryption context.

        EncryptionContextSubset: the request's context contains every pair of the
        constraint; EncryptionContextEquals: it is exactly the constraint (pairs compare
        case-sensitively). Operations that take no encryption context (DescribeKey,
        CreateGrant, RetireGrant) are not constrained. Source: Developer Guide
        create-grant-overview.html ("Grant constraints").
        """
        if operation not in self.operations:
            return False
        row = GRANT_OPERATIONS.get(operation)
        if not self.constraints or row is None or row.constraints != "applies":
            return True
        given = encryption_context or {}
        equals = self.constraints.get("EncryptionContextEquals")
        if equals is not None:
            return bool(given == equals)
        subset = self.constraints.get("EncryptionContextSubset") or {}
        return all(given.get(str(k)) == v for k, v in subset.items())

    def same_request(self, other: Grant) -> bool:
        """Whether ``other`` asks for exactly this grant (what makes a named request repeat)."""
        return (
            self.name,
            self.grantee,
            self.grantee_service,
            self.retiring,
            self.retiring_service,
            frozenset(self.operations),
            self.constraints,
        ) == (
            other.name,
            other.grantee,
            other.grantee_service,
            other.retiring,
            other.retiring_service,
            frozenset(other.operations),
            other.constraints,
        )

    def entry(self, account: str, partition: str = "aws") -> dict[str, Any]:
        """The GrantListEntry of ListGrants and ListRetirableGrants."""
        out: dict[str, Any] = {
            "KeyId": self.key_arn,
            "GrantId": self.id,
            "CreationDate": self.created,
            "GranteePrincipal": self.grantee or self.grantee_service,
            "IssuingAccount": f"arn:{partition}:iam::{account}:root",
            "Operations": list(self.operations),
        }
        optional = {
            "Name": self.name,
            "RetiringPrincipal": self.retiring or self.retiring_service,
            "GranteeServicePrincipal": self.grantee_service,
            "RetiringServicePrincipal": self.retiring_service,
            "Constraints": self.constraints,
        }
        out.update({k: v for k, v in optional.items() if v is not None})
        return out


def _one_of(p: Params, first: str, second: str, *, required: bool) -> None:
    # AWS's texts for these are unknown: inferred.
    if p.get(first) is not None and p.get(second) is not None:
        raise ValidationException(f"Specify either {first} or {second}, but not both.")
    if required and p.get(first) is None and p.get(second) is None:
        raise ValidationException(f"Specify either {first} or {second}.")


def _check_operations(key: Key, operations: list[str]) -> tuple[str, ...]:
    if not operations:
        # Inferred: AWS's validation wording for a short list (ledger grant-no-operations).
        raise ValidationException(
            "1 validation error detected: Value '[]' at 'operations' failed to satisfy "
            "constraint: Member must have length greater than or equal to 1"
        )
    for name in operations:
        if not allowed(GRANT_OPERATIONS[name].rule, key.info.name, key.usage):
            # AWS text unknown: inferred.
            raise ValidationException(
                f"Grant operation {name} is not valid for key spec {key.info.name} and key "
                f"usage {key.usage}."
            )
    return tuple(dict.fromkeys(operations))


def _check_constraints(
    key: Key, operations: tuple[str, ...], constraints: dict[str, Any] | None
) -> dict[str, Any] | None:
    if not constraints:
        return None
    given = [c for c in _CONTEXT_CONSTRAINTS if c in constraints]
    # AWS's texts for these are unknown: inferred.
    if len(given) > 1:
        raise ValidationException(
            "Specify either EncryptionContextSubset or EncryptionContextEquals, but not both."
        )
    if given:
        pairs = constraints[given[0]]
        if len(pairs) > MAX_CONSTRAINT_PAIRS:
            raise ValidationException(
                f"A grant constraint can have at most {MAX_CONSTRAINT_PAIRS} encryption "
                "context pairs."
            )
        symmetric = specs.key_type(key.info.name, key.usage) == "SYM"
        for name in operations:
            use = GRANT_OPERATIONS[name].constraints
            if use == "refused" or (use == "applies" and not symmetric):
                raise ValidationException(
                    f"Grant operation {name} does not support encryption context constraints "
                    f"for key spec {key.info.name}.",
                    constraint=given[0],
                )
    return dict(constraints)


def _grant_id(grant_id: str) -> str:
    if _GRANT_ID.fullmatch(grant_id) is None:
        # AWS text unknown (ledger grant-id-invalid): inferred, the exception's description.
        raise InvalidGrantIdException("The specified GrantId is not valid.")
    return grant_id


def _find(kms: LocalKMS, key: Key, grant_id: str) -> Grant:
    table = kms.grants.get(key.id)
    grant = table.get(_grant_id(grant_id)) if table is not None else None
    if grant is None:
        # AWS text unknown (ledger grant-not-found): inferred.
        raise NotFoundException(f"Grant {grant_id} does not exist for {key.arn}")
    return grant


# A grant token: base64url of version || key id (36 ASCII) || grant id (32 bytes) ||
# nonce (16) || HMAC-SHA-256 over the rest under this LocalKMS's token key. Unique per
# CreateGrant call (the nonce), checkable without a table of tokens, unforgeable.
_TOKEN_VERSION = b"\x01"
_TOKEN_BYTES = 1 + 36 + 32 + 16 + 32


def _token_key(kms: LocalKMS) -> bytes:
    key: bytes | None = getattr(kms, "_grant_token_key", None)
    if key is None:
        key = secrets.token_bytes(32)
        kms._grant_token_key = key  # type: ignore[attr-defined]
    return key


def _token(kms: LocalKMS, grant: Grant) -> str:
    body = (
        _TOKEN_VERSION
        + grant.key_id.encode("ascii")
        + bytes.fromhex(grant.id)
        + secrets.token_bytes(16)
    )
    mac = hmac.new(_token_key(kms), body, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(body + mac).decode("ascii")


def _by_token(kms: LocalKMS, token: str) -> Grant:
    grant = None
    try:
        raw = base64.urlsafe_b64decode(token.encode("ascii"))
    except (UnicodeError, binascii.Error, ValueError):
        raw = b""
    if len(raw) == _TOKEN_BYTES and raw[:1] == _TOKEN_VERSION:
        body, mac = raw[:-32], raw[-32:]
        if hmac.compare_digest(mac, hmac.new(_token_key(kms), body, hashlib.sha256).digest()):
            key_id, grant_id = body[1:37].decode("ascii"), body[37:69].hex()
            table = kms.grants.get(key_id)
            grant = table.get(grant_id) if table is not None else None
    if grant is None:
        # The token is a credential: it is not echoed. AWS text unknown: inferred, the
        # exception's description (ledger grant-token-invalid).
        raise InvalidGrantTokenException("The specified grant token is not valid.")
    return grant


GRANT_TOKENS["lookup"] = _by_token  # kmslab.kms.access checks GrantTokens with it


def _add(kms: LocalKMS, grant: Grant) -> None:
    table = kms.grants.get(grant.key_id)
    if table is None:
        table = kms.grants[grant.key_id] = SequencedTable(numbers=kms.numbers)
    table[grant.id] = grant
    kms.index_grant(grant)


def _remove(kms: LocalKMS, grant: Grant) -> None:
    kms.changed(grant.key_id)
    grants = kms.grants[grant.key_id]
    del grants[grant.id]
    if not grants:
        del kms.grants[grant.key_id]
    kms._unindex_retirable(grant)


# -- operations ---------------------------------------------------------------------------


@operation("CreateGrant")
def create_grant(kms: LocalKMS, p: Params) -> Params:
    key = kms.key_for("CreateGrant", p["KeyId"])
    _one_of(p, "GranteePrincipal", "GranteeServicePrincipal", required=True)
    _one_of(p, "RetiringPrincipal", "RetiringServicePrincipal", required=False)
    operations = _check_operations(key, p["Operations"])
    grant = Grant(
        id=secrets.token_hex(32),
        key_id=key.id,
        key_arn=key.arn,
        created=kms.clock.now(),
        operations=operations,
        name=p.get("Name"),
        grantee=p.get("GranteePrincipal"),
        grantee_service=p.get("GranteeServicePrincipal"),
        retiring=p.get("RetiringPrincipal"),
        retiring_service=p.get("RetiringServicePrincipal"),
        constraints=_check_constraints(key, operations, p.get("Constraints")),
    )
    grants: SequencedTable[Grant] = kms.grants.get(key.id) or SequencedTable()
    if grant.name is not None:
        # AWS (API Reference, CreateGrant, Name): a retry with identical parameters returns
        # the original GrantId without creating a grant; every call gets a new grant token,
        # and all tokens of a grant are interchangeable. Only the key's grants with that
        # name are compared.
        named = kms.grant_names.get((key.id, grant.name), ())
        grant = next((g for i in named if (g := grants[i]).same_request(grant)), grant)
    new = grant.id not in grants
    limit = kms.quotas["grants_per_key"]
    if new and len(grants) >= limit:
        # The code is documented (DG resource-limits, the fidelity ledger). AWS text unknown:
        # inferred.
        raise LimitExceededException(f"{key.arn} already has {limit} grants, the most allowed.")
    token = _token(kms, grant)
    if not p.get("DryRun"):
        grant.issued += 1
        if new:
            _add(kms, grant)
    return {"GrantToken": token, "GrantId": grant.id}


@operation("ListGrants")
def list_grants(kms: LocalKMS, p: Params) -> Params:
    key = kms.key_for("ListGrants", p["KeyId"])
    _one_of(p, "GranteePrincipal", "GranteeServicePrincipal", required=False)
    wanted = _grant_id(p["GrantId"]) if p.get("GrantId") is not None else None
    grantee, service = p.get("GranteePrincipal"), p.get("GranteeServicePrincipal")
    after = decode_marker("ListGrants", p.get("Marker"), int)
    table: SequencedTable[Grant] = kms.grants.get(key.id) or SequencedTable()
    matching = (
        (n, g)
        for n, g in table.after(after)
        if (wanted is None or g.id == wanted)
        and (grantee is None or grantee in (g.grantee, g.grantee_service))
        and (service is None or g.grantee_service == service)
    )
    chunk, extra = page_iter("ListGrants", matching, p, lambda e: e[0], default_limit=50)
    return {"Grants": [g.entry(kms.account, kms.partition.name) for _, g in chunk], **extra}


@operation("ListRetirableGrants")
def list_retirable_grants(kms: LocalKMS, p: Params) -> Params:
    _one_of(p, "RetiringPrincipal", "RetiringServicePrincipal", required=True)
    principal = p.get("RetiringPrincipal")
    service = p.get("RetiringServicePrincipal")
    after = decode_marker("ListRetirableGrants", p.get("Marker"), int)
    table = kms.retirable.get(principal or service or "") or SequencedTable()
    # Indexed under the one retiring principal a grant has; RetiringServicePrincipal
    # matches only grants whose retiring principal is that service principal.
    matching = (
        (n, g) for n, g in table.after(after) if service is None or g.retiring_service == service
    )
    chunk, extra = page_iter("ListRetirableGrants", matching, p, lambda e: e[0], default_limit=50)
    return {"Grants": [g.entry(kms.account, kms.partition.name) for _, g in chunk], **extra}


@operation("RetireGrant")
def retire_grant(kms: LocalKMS, p: Params) -> Params:
    if p.get("GrantToken") is not None:
        grant = _by_token(kms, p["GrantToken"])
    elif p.get("KeyId") is not None and p.get("GrantId") is not None:
        grant = _find(kms, kms.key_for("RetireGrant", p["KeyId"]), p["GrantId"])
    else:
        # AWS text unknown: inferred.
        raise ValidationException("Specify either GrantToken, or both KeyId and GrantId.")
    if not p.get("DryRun"):
        _remove(kms, grant)
    return {}


@operation("RevokeGrant")
def revoke_grant(kms: LocalKMS, p: Params) -> Params:
    grant = _find(kms, kms.key_for("RevokeGrant", p["KeyId"]), p["GrantId"])
    if not p.get("DryRun"):
        _remove(kms, grant)
    return {}
