"""kmslab: learn AWS KMS key types on a laptop, with a real boto3 client and real cryptography.

>>> import kmslab
>>> kms = kmslab.client()                                  # a boto3 KMS client, served locally
>>> key = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
>>> sig = kms.sign(KeyId=key["KeyId"], Message=b"hello", SigningAlgorithm="ECDSA_SHA_256")
>>> kms.verify(KeyId=key["KeyId"], Message=b"hello", Signature=sig["Signature"],
...            SigningAlgorithm="ECDSA_SHA_256")["SignatureValid"]
True

Heavy modules (boto3, matplotlib, ipywidgets) load on first use, not on ``import kmslab``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kmslab import exceptions, specs
from kmslab._version import __version__

if TYPE_CHECKING:
    from kmslab.local import LocalKMS
    from kmslab.target import client

__all__ = ["LocalKMS", "__version__", "client", "exceptions", "specs"]

_LAZY = {"LocalKMS": "kmslab.local", "client": "kmslab.target"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'kmslab' has no attribute {name!r}")
