"""The local KMS service: AWS KMS's operations, rules, wire format and key store.

>>> from kmslab.kms import LocalKMS
>>> kms = LocalKMS()
>>> kms.call("CreateKey")["KeyMetadata"]["KeySpec"]
'SYMMETRIC_DEFAULT'

What lives here: :mod:`~kmslab.kms.service` (:class:`LocalKMS`, one Region of an
:class:`Account`, and the dispatcher, which does not import its operations),
:mod:`~kmslab.kms.account` (:class:`Account`: its Regions, clock and store),
:mod:`~kmslab.kms.registry` (the tables the operations fill: handlers, timers, hooks),
:mod:`~kmslab.kms.checks` (how a LocalKMS finds a request's key and checks the
operation's rules), :mod:`~kmslab.kms.restoring` (how it takes back what its store
holds), :mod:`~kmslab.kms.failures` (failed requests, kept for
``kmslab.explain``),
:mod:`~kmslab.kms.wire` (the AWS JSON 1.1 layer and validation against botocore's model),
:mod:`~kmslab.kms.rules` (one row per operation: which key types
and key states it accepts), :mod:`~kmslab.kms.keys` (keys and their material),
:mod:`~kmslab.kms.ciphertext` (kmslab's symmetric ciphertext format),
:mod:`~kmslab.kms.byok` (key-material wrapping for import), :mod:`~kmslab.kms.managed`
(the predefined alias/aws/* aliases and their AWS managed keys), :mod:`~kmslab.kms.quotas`
(AWS's resource quotas and limits, one table), :mod:`~kmslab.kms.index` and
:mod:`~kmslab.kms.paging` (ordered tables and opaque-marker paging for the List
operations), :mod:`~kmslab.kms.schedule` (a key's rotation and expiry timers) and
:mod:`~kmslab.kms.ops` (the operations, registered by importing that package, as this
module does).

May import: :mod:`kmslab.crypto`, :mod:`kmslab.specs`, :mod:`kmslab.exceptions`,
:mod:`kmslab.clock`. Nothing here imports the adapters (:mod:`kmslab.target`,
:mod:`kmslab.server`) or the learning tools, except the one lazy import that
``LocalKMS.client()`` makes (see ``.importlinter``).
"""

from __future__ import annotations

from kmslab.kms import ops as _ops  # noqa: F401  (registers every operation)
from kmslab.kms.account import DEFAULT_ACCOUNT, Account
from kmslab.kms.registry import HANDLERS
from kmslab.kms.service import DEFAULT_REGION, LocalKMS

__all__ = ["DEFAULT_ACCOUNT", "DEFAULT_REGION", "HANDLERS", "Account", "LocalKMS"]
