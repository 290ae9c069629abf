"""Key lifecycle operations: rotation and imported key material."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kmslab.local import operation

if TYPE_CHECKING:
    from kmslab.local import LocalKMS, Params


@operation("GetKeyRotationStatus")
def get_key_rotation_status(kms: LocalKMS, p: Params) -> Params:
    key = kms.key_for("GetKeyRotationStatus", p["KeyId"])
    out: Params = {"KeyRotationEnabled": key.rotation_enabled, "KeyId": key.arn}
    if key.rotation_enabled:
        out["RotationPeriodInDays"] = key.rotation_period_days
        out["NextRotationDate"] = key.next_rotation
    return out
