"""AWS KMS's resource quotas and document limits, in one table, each with its AWS page.

>>> QUOTAS["aliases_per_key"].value, QUOTAS["aliases_per_key"].error
(50, 'LimitExceededException')

A LocalKMS starts with these defaults in ``kms.quotas`` (name -> value). AWS lets an account
raise every resource quota except on-demand rotations through Service Quotas; here you
change ``kms.quotas`` directly (a lesson can show the limit without creating 100,000 keys):

>>> from kmslab import LocalKMS
>>> kms = LocalKMS()
>>> kms.quotas["keys"] = 1
>>> _ = kms.call("CreateKey")
>>> try:
...     kms.call("CreateKey")
... except Exception as err:
...     print(err)
Key quota for this account in this region is 1 but the current usage is 1.

Which quota applies where: ``keys`` in CreateKey; ``aliases_per_key`` in CreateAlias and
UpdateAlias; ``grants_per_key`` in CreateGrant; ``on_demand_rotations`` in RotateKeyOnDemand;
``tags_per_key`` in CreateKey and TagResource; ``key_policy_bytes`` in CreateKey and
PutKeyPolicy; ``grant_constraint_pairs`` in CreateGrant; ``import_tokens_per_key`` in
GetParametersForImport (kmslab's own bound, not AWS's).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["QUOTAS", "Quota", "default_quotas"]

_DG = "https://docs.aws.amazon.com/kms/latest/developerguide/"
_RESOURCE_LIMITS = _DG + "resource-limits.html"


@dataclass(frozen=True, slots=True)
class Quota:
    """One limit: its AWS name, default value, the error AWS gives past it, and the source."""

    name: str
    value: int
    #: The AWS error code a request that would exceed it gets.
    error: str
    #: The AWS page that documents the value (and, where known, the error).
    source: str
    #: Whether AWS lets an account change it (Service Quotas).
    adjustable: bool = True


#: kmslab name -> quota. Values: AWS KMS Developer Guide, "Resource quotas" (resource-limits)
#: and the other pages named per row.
QUOTAS: dict[str, Quota] = {
    "keys": Quota(
        "AWS KMS keys (customer managed keys per account and Region)",
        100_000,
        "LimitExceededException",
        _RESOURCE_LIMITS + "#kms-keys-limit",
    ),
    "aliases_per_key": Quota(
        "Aliases per KMS key",
        50,
        "LimitExceededException",
        _RESOURCE_LIMITS + "#aliases-per-key",
    ),
    "grants_per_key": Quota(
        "Grants per KMS key",
        50_000,
        "LimitExceededException",
        _RESOURCE_LIMITS + "#grants-per-key",
    ),
    "on_demand_rotations": Quota(
        "On-demand rotations per KMS key",
        25,
        "LimitExceededException",
        _RESOURCE_LIMITS + "#on-demand-rotation-resource-quota",
        adjustable=False,
    ),
    "tags_per_key": Quota(
        "Tags per KMS key",
        50,
        "TagException",
        _DG + "tagging-keys.html",
        adjustable=False,
    ),
    "key_policy_bytes": Quota(
        "Key policy document size (bytes)",
        32_768,
        # The page gives the size, not the error; the API Reference lists
        # LimitExceededException for PutKeyPolicy ("a length constraint or quota was
        # exceeded"). The model's own PolicyType maximum (131,072) is checked first.
        "LimitExceededException",
        _DG + "key-policy-overview.html#key-policy-format",
        adjustable=False,
    ),
    "grant_constraint_pairs": Quota(
        "Encryption context pairs in a grant constraint",
        8,
        "ValidationException",
        _DG + "grants.html",
        adjustable=False,
    ),
    "import_tokens_per_key": Quota(
        # Not an AWS quota: kmslab keeps the newest few so repeated calls cannot grow
        # memory without end; an older token becomes InvalidImportTokenException.
        "Live import tokens per KMS key (kmslab's bound)",
        10,
        "InvalidImportTokenException",
        _DG + "importing-keys-get-public-key-and-token.html",
        adjustable=False,
    ),
}


def default_quotas() -> dict[str, int]:
    """A fresh name -> value map of the defaults (what ``LocalKMS().quotas`` starts with)."""
    return {name: q.value for name, q in QUOTAS.items()}
