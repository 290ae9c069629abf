"""Grants: CreateGrant, ListGrants, ListRetirableGrants, RetireGrant, RevokeGrant.

A grant lets a principal use one KMS key for a list of grant operations, optionally only
with a given encryption context. kmslab models no principals and no IAM: grants are created,
validated, listed, retired and revoked as AWS KMS does it, but never *enforced* -- every
caller may already do everything, with or without a grant, and the GrantTokens member of
other operations is accepted and ignored.

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

import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from kmslab import specs
from kmslab.exceptions import (
    InvalidGrantIdException,
    InvalidGrantTokenException,
    NotFoundException,
    ValidationException,
)
from kmslab.kms.ops.manage import page
from kmslab.kms.rules import allowed
from kmslab.kms.service import operation

if TYPE_CHECKING:
    from kmslab.kms.keys import Key
    from kmslab.kms.service import LocalKMS, Params

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
MAX_CONSTRAINT_PAIRS = 8
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
    tokens: list[str] = field(default_factory=list, repr=False)

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

    def entry(self, account: str) -> dict[str, Any]:
        """The GrantListEntry of ListGrants and ListRetirableGrants."""
        out: dict[str, Any] = {
            "KeyId": self.key_arn,
            "GrantId": self.id,
            "CreationDate": self.created,
            "GranteePrincipal": self.grantee or self.grantee_service,
            "IssuingAccount": f"arn:aws:iam::{account}:root",
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
    if p.get(first) is not None and p.get(second) is not None:
        raise ValidationException(f"Specify either {first} or {second}, but not both.")
    if required and p.get(first) is None and p.get(second) is None:
        raise ValidationException(f"Specify a {first} (or a {second}).")


def _check_operations(key: Key, operations: list[str]) -> tuple[str, ...]:
    if not operations:
        raise ValidationException(
            "1 validation error detected: Value '[]' at 'operations' failed to satisfy "
            "constraint: Member must have length greater than or equal to 1"
        )
    for name in operations:
        if not allowed(GRANT_OPERATIONS[name].rule, key.info.name, key.usage):
            raise ValidationException(
                f"{name} is not a valid grant operation for {key.arn}: a key with KeySpec "
                f"{key.info.name} and KeyUsage {key.usage} cannot do it."
            )
    return tuple(dict.fromkeys(operations))


def _check_constraints(
    key: Key, operations: tuple[str, ...], constraints: dict[str, Any] | None
) -> dict[str, Any] | None:
    if not constraints:
        return None
    given = [c for c in _CONTEXT_CONSTRAINTS if c in constraints]
    if len(given) > 1:
        raise ValidationException(
            "Specify either EncryptionContextSubset or EncryptionContextEquals in a grant's "
            "Constraints, but not both."
        )
    if given:
        pairs = constraints[given[0]]
        if len(pairs) > MAX_CONSTRAINT_PAIRS:
            raise ValidationException(
                f"{given[0]} has {len(pairs)} encryption context pairs; a grant constraint "
                f"takes at most {MAX_CONSTRAINT_PAIRS}."
            )
        symmetric = specs.key_type(key.info.name, key.usage) == "SYM"
        for name in operations:
            use = GRANT_OPERATIONS[name].constraints
            if use == "refused" or (use == "applies" and not symmetric):
                raise ValidationException(
                    f"Grant operation {name} on {key.arn} (KeySpec {key.info.name}, KeyUsage "
                    f"{key.usage}) does not take an encryption context, so the grant cannot "
                    f"have an {given[0]} constraint. Encryption context constraints apply only "
                    "to cryptographic operations with a symmetric encryption key."
                )
    return dict(constraints)


def _grant_id(grant_id: str) -> str:
    if _GRANT_ID.fullmatch(grant_id) is None:
        raise InvalidGrantIdException(
            f"Invalid grant ID {grant_id}: a grant ID is the 64 lowercase hexadecimal "
            "characters CreateGrant, ListGrants and ListRetirableGrants return."
        )
    return grant_id


def _find(kms: LocalKMS, key: Key, grant_id: str) -> Grant:
    grant = kms.grants.get(key.id, {}).get(_grant_id(grant_id))
    if grant is None:
        raise NotFoundException(f"Grant ID {grant_id} not found for {key.arn}.")
    return grant


def _by_token(kms: LocalKMS, token: str) -> Grant:
    for grants in kms.grants.values():
        for grant in grants.values():
            if token in grant.tokens:
                return grant
    # The token is a credential: it is not echoed.
    raise InvalidGrantTokenException(
        "The grant token is not valid: CreateGrant did not return it, or its grant has been "
        "retired or revoked."
    )


def _remove(kms: LocalKMS, grant: Grant) -> None:
    grants = kms.grants[grant.key_id]
    del grants[grant.id]
    if not grants:
        del kms.grants[grant.key_id]


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
    grants = kms.grants.get(key.id, {})
    if grant.name is not None:
        grant = next((g for g in grants.values() if g.same_request(grant)), grant)
    token = secrets.token_urlsafe(192)
    if not p.get("DryRun"):
        grant.tokens.append(token)
        kms.grants.setdefault(key.id, {})[grant.id] = grant
    return {"GrantToken": token, "GrantId": grant.id}


@operation("ListGrants")
def list_grants(kms: LocalKMS, p: Params) -> Params:
    key = kms.key_for("ListGrants", p["KeyId"])
    _one_of(p, "GranteePrincipal", "GranteeServicePrincipal", required=False)
    grants = list(kms.grants.get(key.id, {}).values())
    if p.get("GrantId") is not None:
        wanted = _grant_id(p["GrantId"])
        grants = [g for g in grants if g.id == wanted]
    if p.get("GranteePrincipal") is not None:
        grants = [g for g in grants if p["GranteePrincipal"] in (g.grantee, g.grantee_service)]
    if p.get("GranteeServicePrincipal") is not None:
        grants = [g for g in grants if g.grantee_service == p["GranteeServicePrincipal"]]
    chunk, extra = page(grants, p, default_limit=50)
    return {"Grants": [g.entry(kms.account) for g in chunk], **extra}


@operation("ListRetirableGrants")
def list_retirable_grants(kms: LocalKMS, p: Params) -> Params:
    _one_of(p, "RetiringPrincipal", "RetiringServicePrincipal", required=True)
    principal = p.get("RetiringPrincipal")
    service = p.get("RetiringServicePrincipal")
    grants = [
        g
        for by_key in kms.grants.values()
        for g in by_key.values()
        if (principal is not None and principal in (g.retiring, g.retiring_service))
        or (service is not None and g.retiring_service == service)
    ]
    chunk, extra = page(grants, p, default_limit=50)
    return {"Grants": [g.entry(kms.account) for g in chunk], **extra}


@operation("RetireGrant")
def retire_grant(kms: LocalKMS, p: Params) -> Params:
    if p.get("GrantToken") is not None:
        grant = _by_token(kms, p["GrantToken"])
    elif p.get("KeyId") is not None and p.get("GrantId") is not None:
        grant = _find(kms, kms.key_for("RetireGrant", p["KeyId"]), p["GrantId"])
    else:
        raise ValidationException(
            "RetireGrant needs the GrantToken of the grant, or both its KeyId (the key ARN) "
            "and its GrantId."
        )
    if not p.get("DryRun"):
        _remove(kms, grant)
    return {}


@operation("RevokeGrant")
def revoke_grant(kms: LocalKMS, p: Params) -> Params:
    grant = _find(kms, kms.key_for("RevokeGrant", p["KeyId"]), p["GrantId"])
    if not p.get("DryRun"):
        _remove(kms, grant)
    return {}
