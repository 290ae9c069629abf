"""kmslab: learn AWS KMS key types on a laptop, with a real boto3 client and real cryptography.

>>> import kmslab
>>> kms = kmslab.client()                                  # a boto3 KMS client, served locally
>>> key = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
>>> sig = kms.sign(KeyId=key["KeyId"], Message=b"hello", SigningAlgorithm="ECDSA_SHA_256")
>>> kms.verify(KeyId=key["KeyId"], Message=b"hello", Signature=sig["Signature"],
...            SigningAlgorithm="ECDSA_SHA_256")["SignatureValid"]
True

The client receives AWS's exact error; ``kmslab.explain(err)`` gives kmslab's explanation of
that very failure (why, what to do instead, the AWS page to read).

Heavy modules (boto3, matplotlib, ipywidgets) load on first use, not on ``import kmslab``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kmslab import exceptions, specs
from kmslab._version import __version__

if TYPE_CHECKING:
    from kmslab.kms import LocalKMS
    from kmslab.learn import exercises, widgets
    from kmslab.learn.explain import explain
    from kmslab.target import client

__all__ = [
    "LocalKMS",
    "__version__",
    "client",
    "exceptions",
    "exercises",
    "explain",
    "specs",
    "widgets",
]

#: Public name -> (module, attribute or None for the module itself), loaded on first use.
_LAZY: dict[str, tuple[str, str | None]] = {
    "LocalKMS": ("kmslab.kms", "LocalKMS"),
    "client": ("kmslab.target", "client"),
    "explain": ("kmslab.learn.explain", "explain"),
    "widgets": ("kmslab.learn.widgets", None),
    "exercises": ("kmslab.learn.exercises", None),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module_name, attribute = _LAZY[name]
        module = importlib.import_module(module_name)
        value = module if attribute is None else getattr(module, attribute)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'kmslab' has no attribute {name!r}")
