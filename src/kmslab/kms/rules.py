"""The operation rules: one row per AWS KMS operation kmslab serves.

Each row says which key types may use the operation (and which error refuses the others),
which key-state rule applies, and whether KeyId may name an alias. The local KMS enforces
these rows; :mod:`kmslab.learn.compare` derives AWS's "operations by key type" table from them.

>>> from kmslab.kms.rules import OPERATIONS, allowed
>>> OPERATIONS["Sign"].key_types
frozenset({'A-SV'})
>>> allowed("GetPublicKey", "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT")
False
"""

from __future__ import annotations

from dataclasses import dataclass

from kmslab import specs

__all__ = ["ALL_KEY_TYPES", "OPERATIONS", "STATE_RULES", "OperationRule", "allowed"]

ALL_KEY_TYPES = frozenset(specs.KEY_TYPES)

# Key-state rules (reference section 7): state -> (error code, message template).
# "{arn}" is the key ARN. A state not listed is allowed.
_DISABLED = ("DisabledException", "{arn} is disabled.")
_PENDING_DELETION = ("KMSInvalidStateException", "{arn} is pending deletion.")
# DG key-state.md documents "<key ARN> is pending deletion (or pending replica deletion)."
# for both states; the rendered text for a PendingReplicaDeletion key is inferred from it.
_PENDING_REPLICA_DELETION = ("KMSInvalidStateException", "{arn} is pending replica deletion.")
_PENDING_IMPORT = ("KMSInvalidStateException", "{arn} is pending import.")
_NOT_PENDING = ("KMSInvalidStateException", "{arn} is not pending deletion.")
# A key in a custom key store that is not connected (ledger key-unavailable).
_UNAVAILABLE = ("KMSInvalidStateException", "{arn} is unavailable.")
_EXTERNAL = (
    "UnsupportedOperationException",
    "{arn} origin is EXTERNAL which is not valid for this operation.",
)

_DELETING = {
    "PendingDeletion": _PENDING_DELETION,
    "PendingReplicaDeletion": _PENDING_REPLICA_DELETION,
}

STATE_RULES: dict[str, dict[str, tuple[str, str]]] = {
    # Every cryptographic operation.
    "crypto": {
        "Disabled": _DISABLED,
        **_DELETING,
        "PendingImport": _PENDING_IMPORT,
        "Unavailable": _UNAVAILABLE,
    },
    # DescribeKey, List*, key policies, DeleteAlias, GetKeyRotationStatus, Retire/RevokeGrant...
    "any": {},
    "enable_disable": {**_DELETING, "PendingImport": _PENDING_IMPORT},
    "schedule_deletion": dict(_DELETING),
    "cancel_deletion": {
        "Enabled": _NOT_PENDING,
        "Disabled": _NOT_PENDING,
        "PendingImport": _NOT_PENDING,
    },
    # TagResource, UntagResource, UpdateKeyDescription, CreateAlias, UpdateAlias, CreateGrant.
    "not_pending_deletion": dict(_DELETING),
    # Enable/DisableKeyRotation.
    "rotation": {"Disabled": _DISABLED, **_DELETING, "PendingImport": _EXTERNAL},
    # RotateKeyOnDemand: an EXTERNAL key without its material is pending import (observed:
    # see the fidelity ledger), checked before the key type.
    "rotate_on_demand": {"Disabled": _DISABLED, **_DELETING, "PendingImport": _PENDING_IMPORT},
    # GetParametersForImport, ImportKeyMaterial, DeleteImportedKeyMaterial.
    "import": dict(_DELETING),
    # ReplicateKey, UpdatePrimaryRegion: DisabledException is in both operations' errors in
    # botocore's model; a key waiting for deletion cannot be replicated or promoted.
    "multi_region": {"Disabled": _DISABLED, **_DELETING},
}


@dataclass(frozen=True, slots=True)
class OperationRule:
    """How one operation treats keys.

    ``key_types`` are labels of :data:`kmslab.specs.KEY_TYPES`; a key of another type is
    refused with ``refusal``. ``aliases``: whether KeyId may be an alias name or alias ARN.
    ``plane`` is "data" for cryptographic operations, "management" otherwise.
    ``needs_key``: whether the operation names a key at all.
    """

    name: str
    key_types: frozenset[str]
    states: str
    plane: str
    aliases: bool = True
    refusal: str = "InvalidKeyUsageException"
    needs_key: bool = True
    #: Origin EXTERNAL only (the import operations).
    external_only: bool = False
    #: Origin AWS_KMS only (automatic rotation).
    aws_kms_only: bool = False
    #: Multi-Region keys only (ReplicateKey, UpdatePrimaryRegion). These depend on the key's
    #: MultiRegion property, not its type, so the operations matrix leaves them out.
    multi_region: bool = False
    #: The algorithm the operation encrypts with under the key, which the request cannot
    #: name (data keys and data key pairs: SYMMETRIC_DEFAULT). A key of the right usage but
    #: another spec is refused in Encrypt's words for that algorithm (ledger
    #: algorithm-incompatible).
    implied_algorithm: str | None = None


def _rule(name: str, types: str, states: str, plane: str, **kw: object) -> OperationRule:
    key_types = ALL_KEY_TYPES if types == "*" else frozenset(types.split())
    return OperationRule(name, key_types, states, plane, **kw)  # type: ignore[arg-type]


_UNSUPPORTED = "UnsupportedOperationException"
_INCORRECT = "IncorrectKeyException"
_ASYMMETRIC = "A-ED A-SV A-KA A-KEM"
# Automatic rotation: symmetric encryption keys with Origin AWS_KMS; import: Origin EXTERNAL
# keys. On-demand rotation: symmetric encryption keys of either origin (since 2025, EXTERNAL
# keys rotate to new imported material; RotateKeyOnDemand in the API Reference).
_ROTATION: dict[str, object] = {"aliases": False, "refusal": _UNSUPPORTED, "aws_kms_only": True}
_IMPORT: dict[str, object] = {"aliases": False, "refusal": _UNSUPPORTED, "external_only": True}
_MULTI_REGION: dict[str, object] = {"aliases": False, "refusal": _UNSUPPORTED, "multi_region": True}
_DATA_KEYS: dict[str, object] = {"implied_algorithm": "SYMMETRIC_DEFAULT"}

#: Operation name -> rule. Reference sections 6 and 7.
OPERATIONS: dict[str, OperationRule] = {
    r.name: r
    for r in (
        # Data plane.
        _rule("Encrypt", "SYM A-ED", "crypto", "data"),
        # A key that cannot decrypt the ciphertext: IncorrectKeyException (recorded AWS).
        _rule("Decrypt", "SYM A-ED", "crypto", "data", refusal=_INCORRECT),
        _rule("ReEncrypt", "SYM A-ED", "crypto", "data", refusal=_INCORRECT),
        _rule("GenerateDataKey", "SYM", "crypto", "data", **_DATA_KEYS),
        _rule("GenerateDataKeyWithoutPlaintext", "SYM", "crypto", "data", **_DATA_KEYS),
        _rule("GenerateDataKeyPair", "SYM", "crypto", "data", **_DATA_KEYS),
        _rule("GenerateDataKeyPairWithoutPlaintext", "SYM", "crypto", "data", **_DATA_KEYS),
        _rule("GenerateMac", "HMAC", "crypto", "data"),
        _rule("VerifyMac", "HMAC", "crypto", "data"),
        _rule("Sign", "A-SV", "crypto", "data"),
        _rule("Verify", "A-SV", "crypto", "data"),
        _rule("DeriveSharedSecret", "A-KA", "crypto", "data"),
        _rule("Encapsulate", "A-KEM", "crypto", "data"),
        _rule("Decapsulate", "A-KEM", "crypto", "data"),
        _rule("GetPublicKey", _ASYMMETRIC, "crypto", "data", refusal=_UNSUPPORTED),
        _rule("GenerateRandom", "*", "any", "data", needs_key=False),
        # Key management.
        _rule("CreateKey", "*", "any", "management", needs_key=False),
        _rule("DescribeKey", "*", "any", "management"),
        _rule("ListKeys", "*", "any", "management", needs_key=False),
        _rule("EnableKey", "*", "enable_disable", "management", aliases=False),
        _rule("DisableKey", "*", "enable_disable", "management", aliases=False),
        _rule("ScheduleKeyDeletion", "*", "schedule_deletion", "management", aliases=False),
        _rule("CancelKeyDeletion", "*", "cancel_deletion", "management", aliases=False),
        _rule("UpdateKeyDescription", "*", "not_pending_deletion", "management", aliases=False),
        _rule("TagResource", "*", "not_pending_deletion", "management", aliases=False),
        _rule("UntagResource", "*", "not_pending_deletion", "management", aliases=False),
        _rule("ListResourceTags", "*", "any", "management", aliases=False),
        _rule("CreateAlias", "*", "not_pending_deletion", "management", aliases=False),
        _rule("UpdateAlias", "*", "not_pending_deletion", "management", aliases=False),
        _rule("DeleteAlias", "*", "any", "management", needs_key=False),
        _rule("ListAliases", "*", "any", "management", aliases=False),
        _rule("GetKeyPolicy", "*", "any", "management", aliases=False),
        _rule("PutKeyPolicy", "*", "any", "management", aliases=False),
        _rule("ListKeyPolicies", "*", "any", "management", aliases=False),
        # Grants: every key type; which grant operations a key can take is CreateGrant's check.
        _rule("CreateGrant", "*", "not_pending_deletion", "management", aliases=False),
        _rule("ListGrants", "*", "any", "management", aliases=False),
        _rule("ListRetirableGrants", "*", "any", "management", aliases=False, needs_key=False),
        _rule("RetireGrant", "*", "any", "management", aliases=False),
        _rule("RevokeGrant", "*", "any", "management", aliases=False),
        _rule("GetKeyRotationStatus", "*", "any", "management", aliases=False),
        _rule("EnableKeyRotation", "SYM", "rotation", "management", **_ROTATION),
        _rule("DisableKeyRotation", "SYM", "rotation", "management", **_ROTATION),
        _rule(
            "RotateKeyOnDemand",
            "SYM",
            "rotate_on_demand",
            "management",
            aliases=False,
            refusal=_UNSUPPORTED,
        ),
        _rule("ListKeyRotations", "SYM", "any", "management", aliases=False, refusal=_UNSUPPORTED),
        _rule("GetParametersForImport", "*", "import", "management", **_IMPORT),
        _rule("ImportKeyMaterial", "*", "import", "management", **_IMPORT),
        _rule("DeleteImportedKeyMaterial", "*", "import", "management", **_IMPORT),
        # Multi-Region keys: every key type may be multi-Region (CreateKey's MultiRegion).
        _rule("ReplicateKey", "*", "multi_region", "management", **_MULTI_REGION),
        _rule("UpdatePrimaryRegion", "*", "multi_region", "management", **_MULTI_REGION),
        # Custom key stores: they name a store, not a key.
        _rule("CreateCustomKeyStore", "*", "any", "management", needs_key=False),
        _rule("DescribeCustomKeyStores", "*", "any", "management", needs_key=False),
        _rule("ConnectCustomKeyStore", "*", "any", "management", needs_key=False),
        _rule("DisconnectCustomKeyStore", "*", "any", "management", needs_key=False),
        _rule("UpdateCustomKeyStore", "*", "any", "management", needs_key=False),
        _rule("DeleteCustomKeyStore", "*", "any", "management", needs_key=False),
    )
}


def allowed(operation: str, spec: str, usage: str) -> bool:
    """Whether AWS KMS lets a key of this (KeySpec, KeyUsage) use the operation at all.

    Key state and origin are not considered; see :data:`STATE_RULES` for those.
    """
    return specs.key_type(spec, usage) in OPERATIONS[operation].key_types
