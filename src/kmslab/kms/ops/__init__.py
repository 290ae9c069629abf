"""The operations of the local KMS, one module per group, each registered with
:func:`kmslab.kms.registry.operation` when this package is imported.

- :mod:`~kmslab.kms.ops.crypto`: the data plane (Encrypt ... Decapsulate, GenerateRandom);
- :mod:`~kmslab.kms.ops.manage`: keys, aliases, tags, policies, descriptions;
- :mod:`~kmslab.kms.ops.lifecycle`: rotation of key material;
- :mod:`~kmslab.kms.ops.imports`: imported key material (BYOK) and its expiry;
- :mod:`~kmslab.kms.ops.grants`: grants;
- :mod:`~kmslab.kms.ops.regions`: multi-Region keys (ReplicateKey, UpdatePrimaryRegion);
- :mod:`~kmslab.kms.ops.usage`: GetKeyLastUsage, answered from the record of calls;
- :mod:`~kmslab.kms.ops.keystores`: custom key stores (AWS CloudHSM and external).

May import the rest of :mod:`kmslab.kms` and what it may import.
"""

from __future__ import annotations

from kmslab.kms.ops import crypto, grants, imports, keystores, lifecycle, manage, regions, usage

__all__ = [
    "crypto",
    "grants",
    "imports",
    "keystores",
    "lifecycle",
    "manage",
    "regions",
    "usage",
]
