"""A CloudTrail-style record of every request the local KMS answers, allowed or refused.

>>> from kmslab import LocalKMS
>>> kms = LocalKMS()
>>> key_id = kms.call("CreateKey")["KeyMetadata"]["KeyId"]
>>> blob = kms.call("Encrypt", KeyId=key_id, Plaintext=b"secret")["CiphertextBlob"]
>>> [e["eventName"] for e in kms.events(key=key_id)]
['CreateKey', 'Encrypt']
>>> sorted(kms.events(event_name="Encrypt")[0]["responseElements"])   # no ciphertext
['encryptionAlgorithm', 'keyId']

Each event has CloudTrail's fields for a KMS call (Developer Guide logging-using-cloudtrail.html
and the ct-*.html examples): eventVersion, userIdentity, eventTime, eventSource, eventName,
awsRegion, sourceIPAddress, userAgent, requestParameters, responseElements, errorCode and
errorMessage (when it failed), requestID (the response's x-amzn-RequestId), eventID,
readOnly, resources (the KMS keys involved), eventType, managementEvent, eventCategory and
recipientAccountId. Member names are lowerCamelCase as CloudTrail writes them.

What is never recorded, as CloudTrail omits it: every blob member of a request or a
response (plaintexts, ciphertexts, data keys, private keys, messages, signatures, MACs,
shared secrets, key material, import tokens) and grant tokens. The record is bounded
(``Trail.max_events``, oldest dropped first); the last cryptographic use of each key, which
GetKeyLastUsage reports, is kept apart and is not bounded by it.
"""

from __future__ import annotations

import copy
import threading
from collections import deque
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from kmslab.kms import wire

__all__ = ["TRACKED_OPERATIONS", "Trail", "scrub"]

#: Operations whose success GetKeyLastUsage reports (botocore's KeyLastUsageTrackingOperation).
TRACKED_OPERATIONS = frozenset(
    {
        "Decrypt",
        "DeriveSharedSecret",
        "Encrypt",
        "GenerateDataKey",
        "GenerateDataKeyPair",
        "GenerateDataKeyPairWithoutPlaintext",
        "GenerateDataKeyWithoutPlaintext",
        "GenerateMac",
        "ReEncrypt",
        "Sign",
        "Verify",
        "VerifyMac",
        "Encapsulate",
        "Decapsulate",
    }
)
#: Members that are not blobs but are credentials: never recorded.
_SECRET_MEMBERS = frozenset({"GrantToken", "GrantTokens"})
_DROP = object()


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _time(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def scrub(shape: Any, value: Any) -> Any:
    """``value`` as CloudTrail records it: blobs and grant tokens removed, names camelCased.

    ``shape`` is a :func:`kmslab.kms.wire.input_shape`-style shape; values not in the
    shape are dropped too (nothing unexpected reaches the record).
    """
    kind = shape.type_name
    if kind == "blob":
        return _DROP
    if kind == "structure":
        if not isinstance(value, dict):
            return _DROP
        out = {}
        for name, member in shape.members.items():
            if name in value and value[name] is not None and name not in _SECRET_MEMBERS:
                cleaned = scrub(member, value[name])
                if cleaned is not _DROP:
                    out[_camel(name)] = cleaned
        return out
    if kind == "list":
        items = [scrub(shape.member, v) for v in value] if isinstance(value, list) else []
        return [v for v in items if v is not _DROP]
    if kind == "map":
        if not isinstance(value, dict):
            return _DROP
        return {str(k): scrub(shape.value, v) for k, v in value.items()}
    if kind == "timestamp":
        return _time(value) if isinstance(value, datetime) else value
    return value


def read_only(operation: str) -> bool:
    """CloudTrail's readOnly: reads and cryptographic operations (which change no resource)."""
    return (
        operation.startswith(("Describe", "List", "Get"))
        or operation in TRACKED_OPERATIONS
        or (operation in ("GenerateRandom", "GetPublicKey"))
    )


class Trail:
    """The bounded list of events, with the last cryptographic use of each key."""

    def __init__(self, max_events: int = 10_000) -> None:
        self.max_events = max_events
        self._events: deque[dict[str, Any]] = deque(maxlen=max_events)
        #: Key id -> GetKeyLastUsage's KeyLastUsage (Operation, Timestamp, ids).
        self.last_usage: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._events)

    def __repr__(self) -> str:
        return f"Trail(events={len(self._events)}, max_events={self.max_events})"

    def record(self, event: dict[str, Any], used_keys: Iterable[str] = ()) -> None:
        """Add one event; ``used_keys`` are key ids a tracked operation used successfully."""
        with self._lock:
            self._events.append(event)
            for key_id in used_keys:
                self.last_usage[key_id] = {
                    "Operation": event["eventName"],
                    "Timestamp": event["_when"],
                    "CloudTrailEventId": event["eventID"],
                    "KmsRequestId": event["requestID"],
                }

    def forget(self, key_id: str) -> None:
        self.last_usage.pop(key_id, None)

    def query(
        self,
        *,
        key: str | None = None,
        principal: str | None = None,
        event_name: str | None = None,
        outcome: str | None = None,
    ) -> list[dict[str, Any]]:
        """Events oldest first, filtered.

        ``key``: a key id or key ARN among the event's resources. ``principal``: the
        caller's ARN (``userIdentity.arn``) or, for a role session, the role's ARN.
        ``event_name``: the operation. ``outcome``: "success", "denied"
        (AccessDeniedException) or "error" (any other failure).
        """
        if outcome not in (None, "success", "denied", "error"):
            raise ValueError("outcome must be 'success', 'denied' or 'error'")
        with self._lock:
            events = list(self._events)
        out = []
        for e in events:
            if event_name is not None and e["eventName"] != event_name:
                continue
            if key is not None and not any(
                r["ARN"] == key or r["ARN"].endswith("/" + key) for r in e["resources"]
            ):
                continue
            if principal is not None and principal not in _principal_arns(e):
                continue
            if outcome is not None and _outcome(e) != outcome:
                continue
            event = copy.deepcopy({k: v for k, v in e.items() if not k.startswith("_")})
            event["eventTime"] = _time(e["_when"])
            out.append(event)
        return out


def _principal_arns(event: dict[str, Any]) -> tuple[str, ...]:
    identity = event["userIdentity"]
    issuer = identity.get("sessionContext", {}).get("sessionIssuer", {}).get("arn")
    return (identity["arn"], issuer) if issuer else (identity["arn"],)


def _outcome(event: dict[str, Any]) -> str:
    code = event.get("errorCode")
    if code is None:
        return "success"
    return "denied" if code == "AccessDeniedException" else "error"


def request_parameters(operation: str, params: dict[str, Any]) -> dict[str, Any] | None:
    shape = wire.input_shape(operation)
    if shape is None or not params:
        return None
    cleaned = scrub(shape, params)
    return cleaned if cleaned is not _DROP else None


def response_elements(operation: str, result: dict[str, Any] | None) -> dict[str, Any] | None:
    if result is None:
        return None
    shape = wire.output_shape(operation)
    if shape is None:
        return None
    cleaned = scrub(shape, result)
    return cleaned or None if cleaned is not _DROP else None
