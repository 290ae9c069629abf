"""The hazmat layer: one small module per key family, each a thin wrapper on a well-kept library.

The local KMS never touches a primitive directly; it asks :func:`family` for the module
that serves a key spec's ``family`` (from :mod:`kmslab.specs`) and calls the same small set
of functions on every module:

- ``generate(info) -> key`` and ``load(info, material) -> key`` (imported or stored material);
- ``public_der(key) -> bytes`` and ``private_der(key) -> bytes`` for asymmetric families;
- the operations of the usages the family allows: ``encrypt``/``decrypt``, ``sign``/``verify``,
  ``mac``, ``derive``, ``encapsulate``/``decapsulate``.

Failures of the primitive (a bad tag, a bad signature, a bad ciphertext) raise
:class:`CryptoFailure`; the KMS layer turns it into the AWS error that fits the operation.

May import only :mod:`kmslab.specs` and the libraries it wraps; never :mod:`kmslab.kms`.
"""

from __future__ import annotations

import importlib
from types import ModuleType


class CryptoFailure(Exception):
    """A primitive rejected its input (bad tag, signature, ciphertext or peer key)."""


_MODULES = {
    "aes": "aes",
    "hmac": "hmac",
    "rsa": "rsa",
    "ec": "ec",
    "edwards": "edwards",
    "ml-dsa": "mldsa",
    "ml-kem": "mlkem",
    "sm2": "sm2",
    "sm4": "sm4",
}


def family(name: str) -> ModuleType:
    """The primitive module for a catalogue family name ("rsa", "ml-kem", ...)."""
    return importlib.import_module(f"kmslab.crypto.{_MODULES[name]}")
