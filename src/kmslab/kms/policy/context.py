"""What each request asks to be authorized: actions, resources and the request context.

One row per operation says which members name KMS keys (and which permission each needs),
which names an alias, or that only IAM policies decide (no KMS key is involved).
:func:`checks` turns a request into the list of :class:`Check` it needs, each with the
condition keys AWS KMS puts in the request context.

Sources: Developer Guide kms-api-permissions-reference.html (permission, policy type and
resource of each operation), conditions-kms.html (the KMS condition keys and the operations
that set them; a key parameter's default counts as given), conditions-aws.html (global keys).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kmslab.exceptions import KMSError

if TYPE_CHECKING:
    from kmslab.kms.iam import Principal
    from kmslab.kms.keys import Key
    from kmslab.kms.registry import Params
    from kmslab.kms.service import LocalKMS

__all__ = ["IAM_ONLY", "KEY_TARGETS", "Check", "RequestContext", "checks"]


@dataclass(frozen=True, slots=True)
class KeyTarget:
    """A KMS key a request uses: the member naming it and the permission it needs.

    ``member`` None: Decrypt's key comes from the ciphertext when KeyId is absent.
    ``context`` / ``algorithm``: the members holding this use's encryption context and
    encryption algorithm (ReEncrypt has one pair per key).
    """

    permission: str
    member: str | None = "KeyId"
    context: str = "EncryptionContext"
    algorithm: str = "EncryptionAlgorithm"
    from_ciphertext: bool = False


_SOURCE = KeyTarget(
    "ReEncryptFrom",
    "SourceKeyId",
    "SourceEncryptionContext",
    "SourceEncryptionAlgorithm",
    from_ciphertext=True,
)
_DESTINATION = KeyTarget(
    "ReEncryptTo",
    "DestinationKeyId",
    "DestinationEncryptionContext",
    "DestinationEncryptionAlgorithm",
)

#: Operations whose keys are not simply ``KeyId`` -> ``kms:<Operation>``.
KEY_TARGETS: dict[str, tuple[KeyTarget, ...]] = {
    "Decrypt": (KeyTarget("Decrypt", from_ciphertext=True),),
    "ReEncrypt": (_SOURCE, _DESTINATION),
    # Aliases: the alias (IAM policy) and each key it points to before and after (key policy).
    "CreateAlias": (KeyTarget("CreateAlias", "TargetKeyId"),),
    "UpdateAlias": (KeyTarget("UpdateAlias", None), KeyTarget("UpdateAlias", "TargetKeyId")),
    "DeleteAlias": (KeyTarget("DeleteAlias", None),),
}
#: Operations with an alias resource (authorized by IAM policies only).
ALIAS_OPERATIONS = frozenset({"CreateAlias", "UpdateAlias", "DeleteAlias"})
#: Operations no KMS key authorizes: IAM policies alone decide, on resource "*".
IAM_ONLY = frozenset(
    {
        "CreateKey",
        "ListKeys",
        "ListAliases",
        "GenerateRandom",
        "ListRetirableGrants",
        "CreateCustomKeyStore",
        "ConnectCustomKeyStore",
        "DeleteCustomKeyStore",
        "DescribeCustomKeyStores",
        "DisconnectCustomKeyStore",
        "UpdateCustomKeyStore",
    }
)
_SYMMETRIC_DEFAULT_ALWAYS = frozenset(
    {
        "GenerateDataKey",
        "GenerateDataKeyWithoutPlaintext",
        "GenerateDataKeyPair",
        "GenerateDataKeyPairWithoutPlaintext",
    }
)
#: Operations whose kms:EncryptionAlgorithm is SYMMETRIC_DEFAULT when the request names none.
_ALGORITHM_DEFAULT = frozenset({"Encrypt", "Decrypt", "ReEncrypt"})
#: Request member -> (condition key, default when absent, operations that set it).
#: A default applies only to the operations listed (conditions-kms.html).
REQUEST_KEYS: tuple[tuple[str, str, str | None, frozenset[str]], ...] = (
    ("SigningAlgorithm", "kms:SigningAlgorithm", None, frozenset({"Sign", "Verify"})),
    ("MessageType", "kms:MessageType", "RAW", frozenset({"Sign", "Verify"})),
    ("MacAlgorithm", "kms:MacAlgorithm", None, frozenset({"GenerateMac", "VerifyMac"})),
    (
        "KeyPairSpec",
        "kms:DataKeyPairSpec",
        None,
        frozenset({"GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext"}),
    ),
    ("GranteePrincipal", "kms:GranteePrincipal", None, frozenset({"CreateGrant"})),
    ("RetiringPrincipal", "kms:RetiringPrincipal", None, frozenset({"CreateGrant"})),
    ("ExpirationModel", "kms:ExpirationModel", None, frozenset({"ImportKeyMaterial"})),
    ("WrappingAlgorithm", "kms:WrappingAlgorithm", None, frozenset({"GetParametersForImport"})),
    ("WrappingKeySpec", "kms:WrappingKeySpec", None, frozenset({"GetParametersForImport"})),
    (
        "BypassPolicyLockoutSafetyCheck",
        "kms:BypassPolicyLockoutSafetyCheck",
        "false",
        frozenset({"CreateKey", "PutKeyPolicy"}),
    ),
    ("KeySpec", "kms:KeySpec", "SYMMETRIC_DEFAULT", frozenset({"CreateKey"})),
    ("KeyUsage", "kms:KeyUsage", "ENCRYPT_DECRYPT", frozenset({"CreateKey"})),
    ("Origin", "kms:KeyOrigin", "AWS_KMS", frozenset({"CreateKey"})),
    ("MultiRegion", "kms:MultiRegion", "false", frozenset({"CreateKey"})),
)
_GRANT_FOR_AWS = frozenset({"CreateGrant", "ListGrants", "RevokeGrant"})


def _text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


class RequestContext(Mapping[str, Sequence[str]]):
    """Condition key (lowercase) -> values; built only when a policy condition reads it.

    ``values``: keys known at once; ``lazy``: key -> function computing it (costly keys);
    ``build``: a function returning (values, lazy), called on first use instead (most
    requests meet no condition, so most contexts are never built).
    """

    def __init__(
        self,
        values: dict[str, list[str]] | None = None,
        lazy: dict[str, Callable[[], list[str]]] | None = None,
        build: Callable[[], tuple[dict[str, list[str]], dict[str, Callable[[], list[str]]]]]
        | None = None,
    ) -> None:
        self._values = values if values is not None else {}
        self._lazy = lazy if lazy is not None else {}
        self._build = build

    def _ready(self) -> None:
        if self._build is not None:
            self._values, self._lazy = self._build()
            self._build = None

    def __getitem__(self, key: str) -> Sequence[str]:
        self._ready()
        if key in self._values:
            return self._values[key]
        if key in self._lazy:
            self._values[key] = self._lazy.pop(key)()
            if self._values[key]:
                return self._values[key]
        raise KeyError(key)

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def __iter__(self) -> Iterator[str]:
        self._ready()
        for key in list(self._lazy):
            self.get(key)
        return iter(k for k, v in self._values.items() if v)

    def __len__(self) -> int:
        return sum(1 for _ in self)


@dataclass
class Check:
    """One authorization a request needs: ``action`` on ``resource`` (an ARN or "*").

    ``key``: the KMS key when the resource is one (its key policy and grants then apply).
    ``grant_operation``: the grant operation that would allow it; ``encryption_context``:
    the request's context for grant constraints.
    """

    action: str
    resource: str
    key: Key | None
    context: RequestContext
    grant_operation: str | None = None
    encryption_context: dict[str, str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _alias_name(ref: str | None) -> str | None:
    if not ref:
        return None
    if ref.startswith("alias/"):
        return ref
    if ref.startswith("arn:") and ":alias/" in ref:
        return ref[ref.index(":alias/") + 1 :]
    return None


#: A principal's kind (CloudTrail's userIdentity type) -> its aws:PrincipalType value (IAM
#: User Guide, "AWS global condition context keys": Account, User, AssumedRole, ...).
_PRINCIPAL_TYPES = {"Root": "Account", "IAMUser": "User", "AssumedRole": "AssumedRole"}


def principal_context(kms: LocalKMS, principal: Principal) -> dict[str, list[str]]:
    """The global keys of the caller and the request (IAM User Guide, "AWS global condition
    context keys"): aws:RequestedRegion is the Region the request reached."""
    out = {
        "aws:principalarn": [principal.arn],
        "aws:principalaccount": [principal.account],
        "aws:principaltype": [_PRINCIPAL_TYPES[principal.kind]],
        "aws:requestedregion": [kms.region],
        "kms:calleraccount": [principal.account],
    }
    if principal.kind == "IAMUser":
        out["aws:username"] = [principal.name]
    return out


def _time_context(kms: LocalKMS) -> dict[str, Callable[[], list[str]]]:
    """aws:CurrentTime and aws:EpochTime, computed only if a condition reads them."""
    return {
        "aws:currenttime": lambda: [kms.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")],
        "aws:epochtime": lambda: [str(int(kms.clock.now().timestamp()))],
    }


def _key_context(
    kms: LocalKMS, key: Key, values: dict[str, list[str]]
) -> dict[str, Callable[[], list[str]]]:
    values["kms:keyspec"] = [key.info.name]
    values["kms:keyusage"] = [key.usage]
    values["kms:keyorigin"] = [key.origin]
    values["kms:multiregion"] = ["false"]
    if key.info.in_customer_master_key_spec:
        values["kms:customermasterkeyspec"] = [key.info.name]
        values["kms:customermasterkeyusage"] = [key.usage]
    for tag, value in key.tags.items():
        values[f"aws:resourcetag/{tag.lower()}"] = [value]
    return {
        "kms:resourcealiases": lambda: sorted(
            name for name, a in kms.aliases.items() if a["TargetKeyId"] == key.id
        )
    }


def _encryption_context(values: dict[str, list[str]], context: Mapping[str, str] | None) -> None:
    if not context:
        return
    values["kms:encryptioncontextkeys"] = list(context)
    for k, v in context.items():
        # The context key inside the condition key is not case-sensitive (conditions-kms.html).
        values[f"kms:encryptioncontext:{k.lower()}"] = [v]


def _request_context(operation: str, p: Params, values: dict[str, list[str]]) -> None:
    for member, key, default, operations in REQUEST_KEYS:
        if operation in operations:
            value = p.get(member)
            if member == "KeySpec" and value is None:
                value = p.get("CustomerMasterKeySpec")
            if value is None:
                value = default
            if value is not None:
                values[key.lower()] = [_text(value)]
    tags = p.get("Tags") if operation in ("CreateKey", "TagResource") else None
    if tags:
        values["aws:tagkeys"] = [t.get("TagKey", "") for t in tags]
        for t in tags:
            values[f"aws:requesttag/{str(t.get('TagKey', '')).lower()}"] = [str(t.get("TagValue"))]
    if operation == "UntagResource" and p.get("TagKeys"):
        values["aws:tagkeys"] = list(p["TagKeys"])
    if operation in _GRANT_FOR_AWS:
        # Locally no AWS service creates grants on anyone's behalf.
        values["kms:grantisforawsresource"] = ["false"]
    if operation == "CreateGrant":
        values["kms:grantoperations"] = list(p.get("Operations") or [])
        constraints = p.get("Constraints") or {}
        for kind in ("EncryptionContextEquals", "EncryptionContextSubset"):
            if constraints.get(kind):
                values["kms:grantconstrainttype"] = [kind]
                _encryption_context(values, constraints[kind])


def _resolve(kms: LocalKMS, ref: str | None) -> Key | None:
    if not ref:
        return None
    try:
        return kms.resolve(ref, aliases=True)
    except KMSError:
        return None  # the operation itself reports the unknown key


def _from_ciphertext(kms: LocalKMS, blob: Any) -> Key | None:
    from kmslab.kms import ciphertext

    if not isinstance(blob, bytes):
        return None
    try:
        return kms.keys.get(ciphertext.parse(blob).key_id)
    except ciphertext.MalformedBlob:
        return None


def _alias_target(kms: LocalKMS, name: Any) -> Key | None:
    alias = kms.aliases.get(name) if isinstance(name, str) else None
    return kms.keys.get(alias["TargetKeyId"]) if alias else None


def checks(kms: LocalKMS, principal: Principal, operation: str, p: Params) -> list[Check]:
    """The authorizations ``operation`` with params ``p`` needs, in the order AWS checks them.

    A key the request names but that does not exist yields no check: the operation then
    reports NotFoundException itself, as AWS does for a key in the caller's account.
    """
    if operation in IAM_ONLY:

        def build_iam() -> tuple[dict[str, list[str]], dict[str, Callable[[], list[str]]]]:
            values = principal_context(kms, principal)
            _request_context(operation, p, values)
            return values, _time_context(kms)

        return [Check(f"kms:{operation}", "*", None, RequestContext(build=build_iam))]
    out: list[Check] = []
    if operation in ALIAS_OPERATIONS and str(p.get("AliasName", "")).startswith("alias/aws/"):
        # The operation refuses the reserved prefix itself (InvalidAliasNameException);
        # whether AWS checks the name or the permissions first is not documented.
        return out
    if operation in ALIAS_OPERATIONS and isinstance(p.get("AliasName"), str):
        alias_context = RequestContext(principal_context(kms, principal), _time_context(kms))
        out.append(Check(f"kms:{operation}", kms.alias_arn(p["AliasName"]), None, alias_context))
    for target in KEY_TARGETS.get(operation, (KeyTarget(operation),)):
        if target.member is None and operation in ALIAS_OPERATIONS:
            key = _alias_target(kms, p.get("AliasName"))
            ref = None
        else:
            ref = p.get(target.member) if target.member else None
            key = _resolve(kms, ref)
            if key is None and ref is None and target.from_ciphertext:
                key = _from_ciphertext(kms, p.get("CiphertextBlob"))
        if key is None:
            continue
        context = p.get(target.context)
        out.append(
            Check(
                f"kms:{target.permission}",
                key.arn,
                key,
                RequestContext(
                    build=_key_request_builder(kms, principal, operation, p, target, key, ref)
                ),
                grant_operation=target.permission,
                encryption_context=dict(context) if context else None,
            )
        )
    return out


def _key_request_builder(
    kms: LocalKMS,
    principal: Principal,
    operation: str,
    p: Params,
    target: KeyTarget,
    key: Key,
    ref: str | None,
) -> Callable[[], tuple[dict[str, list[str]], dict[str, Callable[[], list[str]]]]]:
    """The function that builds a key check's request context when a condition needs it."""

    def build() -> tuple[dict[str, list[str]], dict[str, Callable[[], list[str]]]]:
        values = principal_context(kms, principal)
        lazy = _key_context(kms, key, values) | _time_context(kms)
        _request_context(operation, p, values)
        _encryption_context(values, p.get(target.context))
        algorithm = p.get(target.algorithm)
        defaulted = algorithm is None and operation in _ALGORITHM_DEFAULT
        if operation in _SYMMETRIC_DEFAULT_ALWAYS or defaulted:
            algorithm = "SYMMETRIC_DEFAULT"
        if algorithm is not None and operation not in ALIAS_OPERATIONS:
            values["kms:encryptionalgorithm"] = [algorithm]
        alias = _alias_name(ref)
        if alias is not None:
            values["kms:requestalias"] = [alias]
        if operation == "ReEncrypt":
            src = _resolve(kms, p.get("SourceKeyId")) or _from_ciphertext(
                kms, p.get("CiphertextBlob")
            )
            dst = _resolve(kms, p.get("DestinationKeyId"))
            values["kms:reencryptonsamekey"] = [_text(src is not None and src is dst)]
        return values, lazy

    return build


def key_check(kms: LocalKMS, principal: Principal, action: str, key: Key) -> Check:
    """A check of ``action`` on ``key`` with only the caller's and the key's condition keys
    (what the lockout safety check of CreateKey and PutKeyPolicy evaluates)."""
    values = principal_context(kms, principal)
    lazy = _key_context(kms, key, values)
    return Check(action, key.arn, key, RequestContext(values, lazy))
