"""An external key store proxy: AWS's XKS Proxy API in front of keys kmslab's KMS never sees.

A layer beside :mod:`kmslab.server` (the KMS's own HTTP adapter), above :mod:`kmslab.kms`:
it holds its own AES-256 keys (:class:`~kmslab.xks.proxy.ExternalKeyManager`), checks each
request's SigV4 signature against its authentication credential, and answers the four
operations of the specification (GetKeyMetadata, Encrypt, Decrypt, GetHealthStatus).
``kmslab xks-proxy`` runs one from the command line.
"""

from __future__ import annotations

from kmslab.xks.proxy import ExternalKey, ExternalKeyManager, XksProxy, new_credential

__all__ = ["ExternalKey", "ExternalKeyManager", "XksProxy", "new_credential"]
