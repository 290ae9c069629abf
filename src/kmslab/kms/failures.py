"""What the local KMS keeps about failed requests, for :func:`kmslab.explain`.

Every request gets a request id (:func:`new_request_id`, AWS's ``x-amzn-RequestId``); a
failure is kept as a :class:`Failure` under it in its LocalKMS's ``failures`` (the newest
:data:`MAX_FAILURES`), with the non-secret request members (:func:`summary`) and a snapshot of
the keys it named. :func:`find_failure` looks a request id up in every live LocalKMS.
"""

from __future__ import annotations

import uuid
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kmslab.exceptions import KMSError
from kmslab.kms import wire

if TYPE_CHECKING:
    from kmslab.kms.registry import Params
    from kmslab.kms.service import LocalKMS

__all__ = [
    "KEY_MEMBERS",
    "LIVE",
    "MAX_FAILURES",
    "Failure",
    "find_failure",
    "new_request_id",
    "summary",
]

#: How many recent failures each LocalKMS keeps for kmslab.explain (oldest dropped first).
MAX_FAILURES = 256
#: Request members that name a key: a failure keeps a snapshot of the key each one names.
KEY_MEMBERS = ("KeyId", "SourceKeyId", "DestinationKeyId", "TargetKeyId")


def new_request_id() -> str:
    """A request id as AWS KMS gives one in ``x-amzn-RequestId``: a random UUID4."""
    return str(uuid.uuid4())


@dataclass(frozen=True)
class Failure:
    """What the local KMS knows about one failed request, for :func:`kmslab.explain`.

    ``params`` holds only non-secret request members (no blobs, plaintexts or tokens);
    ``keys`` maps each request member that named an existing key to that key's
    KeySpec, KeyUsage, KeyState, Origin and Arn at the time of the failure.
    """

    request_id: str
    operation: str
    code: str
    message: str | None
    params: dict[str, Any] = field(default_factory=dict)
    keys: dict[str, dict[str, str]] = field(default_factory=dict)
    detail: dict[str, str] = field(default_factory=dict)


# Every LocalKMS alive, so an explanation can be found from a request id alone.
LIVE: weakref.WeakSet[LocalKMS] = weakref.WeakSet()


def find_failure(request_id: str) -> Failure | None:
    """The failure of this request id in any live LocalKMS, or None."""
    for kms in list(LIVE):
        found = kms.failures.get(request_id)
        if found is not None:
            return found
    return None


def summary(operation: str, params: Params) -> dict[str, Any]:
    """The request members a failure may keep: names, numbers, flags, lists and maps of
    strings. Blobs (plaintexts, ciphertexts, key material), sensitive members and tokens are
    left out."""
    try:
        shape = wire.input_shape(operation)
    except KMSError:
        return {}
    if shape is None:
        return {}
    out: dict[str, Any] = {}
    for name, value in params.items():
        member = shape.members.get(name)
        if member is None or member.type_name == "blob" or "Token" in name:
            continue
        if member.metadata.get("sensitive"):
            continue
        values = value.values() if isinstance(value, dict) else value
        if isinstance(value, str | int | bool) or (
            isinstance(value, list | dict) and all(isinstance(v, str) for v in values)
        ):
            out[name] = value
    return out
