"""GetKeyLastUsage: the last successful cryptographic use of a key, from the record.

>>> from kmslab import LocalKMS
>>> kms = LocalKMS()
>>> key_id = kms.call("CreateKey")["KeyMetadata"]["KeyId"]
>>> kms.call("GetKeyLastUsage", KeyId=key_id)["KeyLastUsage"]
{}
>>> _ = kms.call("Encrypt", KeyId=key_id, Plaintext=b"x")
>>> kms.call("GetKeyLastUsage", KeyId=key_id)["KeyLastUsage"]["Operation"]
'Encrypt'

AWS's semantics (botocore's KMS model, GetKeyLastUsage): only successful cryptographic
operations count (the KeyLastUsageTrackingOperation enum); KeyLastUsage is an empty object
when the key has not been used since tracking began; TrackingStartDate is when tracking
began or the key's creation date, whichever is later (here tracking begins when the
LocalKMS is made); ReEncrypt counts for both of its keys. The CloudTrailEventId and
KmsRequestId are those of the event in ``kms.events()``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kmslab.kms.registry import operation

if TYPE_CHECKING:
    from kmslab.kms.registry import Params
    from kmslab.kms.service import LocalKMS


@operation("GetKeyLastUsage")
def get_key_last_usage(kms: LocalKMS, p: Params) -> Params:
    # Key id or key ARN; "Alias names are not supported" (API reference, KeyId). Whether the
    # response's KeyId is the ARN or the bare id is not documented: the ARN, as most KMS
    # responses give. Any key state is answered (not documented otherwise).
    key = kms.resolve(p["KeyId"], aliases=False)
    return {
        "KeyId": key.arn,
        "KeyLastUsage": dict(kms.access.trail.last_usage.get(key.id, {})),
        "TrackingStartDate": max(key.created, kms.access.started),
        "KeyCreationDate": key.created,
    }
