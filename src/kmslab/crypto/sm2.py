"""SM2: kmslab creates and describes SM2 keys but does not implement SM2 cryptography.

No well-kept Python library offers SM2/SM3 today (``cryptography`` does not; the pure-Python
packages on PyPI are unmaintained), and a home-made SM2 would teach the wrong lesson. The
local KMS therefore refuses SM2 cryptographic operations with an AWS-shaped error that says
so plainly, rather than substituting another algorithm.
"""

from __future__ import annotations

from kmslab.specs import KeySpecInfo

IMPLEMENTED = False


def generate(info: KeySpecInfo) -> None:
    return None
