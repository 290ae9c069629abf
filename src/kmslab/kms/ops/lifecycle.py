"""Key lifecycle operations: rotation of key material, automatic and on demand.

Rotation (symmetric encryption keys with Origin AWS_KMS) adds a version of key material;
Encrypt uses the newest, and Decrypt finds the version named in the ciphertext blob, so old
ciphertexts keep decrypting. Automatic rotation follows ``kms.clock``:

>>> from kmslab import LocalKMS
>>> kms = LocalKMS()
>>> key_id = kms.call("CreateKey")["KeyMetadata"]["KeyId"]
>>> old = kms.call("Encrypt", KeyId=key_id, Plaintext=b"written in year 0")["CiphertextBlob"]
>>> kms.call("EnableKeyRotation", KeyId=key_id, RotationPeriodInDays=90)
{}
>>> kms.clock.advance(days=365)
>>> [r["RotationType"] for r in kms.call("ListKeyRotations", KeyId=key_id)["Rotations"]]
['AUTOMATIC', 'AUTOMATIC', 'AUTOMATIC', 'AUTOMATIC']
>>> kms.call("Decrypt", CiphertextBlob=old)["Plaintext"]
b'written in year 0'

A key with imported material (:mod:`kmslab.kms.ops.imports`) rotates on demand only:
RotateKeyOnDemand makes the material imported for rotation (``key.pending``) current.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from kmslab.crypto import family
from kmslab.exceptions import KMSInvalidStateException, LimitExceededException
from kmslab.kms import schedule
from kmslab.kms.keys import Key, Material, new_material_id
from kmslab.kms.ops.regions import primary_key
from kmslab.kms.paging import page_sorted
from kmslab.kms.quotas import QUOTAS
from kmslab.kms.registry import TIMERS, operation

if TYPE_CHECKING:
    from kmslab.kms.registry import Params
    from kmslab.kms.service import LocalKMS

__all__ = ["DEFAULT_ROTATION_DAYS", "MAX_ON_DEMAND_ROTATIONS"]

DEFAULT_ROTATION_DAYS = 365
#: RotateKeyOnDemand: the most on-demand rotations AWS KMS allows per key.
MAX_ON_DEMAND_ROTATIONS = QUOTAS["on_demand_rotations"].value

#: Material.source of a rotation -> RotationType in ListKeyRotations.
_ROTATION_TYPES = {"ROTATION_AUTOMATIC": "AUTOMATIC", "ROTATION_ON_DEMAND": "ON_DEMAND"}


# -- helpers ---------------------------------------------------------------------------------


def _rotate(key: Key, when: datetime, source: str) -> Material:
    material = Material(
        new_material_id(),
        family(key.family).generate(key.info),
        when,
        source,
        rotation_type=_ROTATION_TYPES[source],
        rotation_date=when,
    )
    key.materials.append(material)
    return material


def _primary_only(key: Key) -> None:
    """Multi-Region keys rotate at their primary key: refuse a replica."""
    if key.multi_region is not None:
        primary_key(key)


# -- the clock ---------------------------------------------------------------------------


def _rotate_when_due(kms: LocalKMS, key_id: str, when: datetime) -> None:
    """Timer "rotate": automatic rotation. A clock that jumped several periods gives one
    rotation per period, each dated at its scheduled time. A key that is not enabled is
    left alone until EnableKey re-arms the timer (:func:`kmslab.kms.schedule.enabled`).
    A multi-Region key rotates at its primary; its replicas share the new material."""
    key = kms.keys[key_id]
    if not key.rotation_enabled or key.next_rotation != when or key.state != "Enabled":
        return
    _catch_up(key, kms.clock.now())
    _share_rotation(key)
    schedule.sync(kms, key)


TIMERS["rotate"] = _rotate_when_due


def _catch_up(key: Key, now: datetime) -> None:
    assert key.next_rotation is not None and key.rotation_period_days is not None
    period = timedelta(days=key.rotation_period_days)
    while key.next_rotation <= now:
        _rotate(key, key.next_rotation, "ROTATION_AUTOMATIC")
        key.next_rotation += period


# -- rotation ------------------------------------------------------------------------------


@operation("EnableKeyRotation")
def enable_key_rotation(kms: LocalKMS, p: Params) -> Params:
    key = kms.key_for("EnableKeyRotation", p["KeyId"])
    _primary_only(key)
    period: int | None = p.get("RotationPeriodInDays")
    now = kms.clock.now()
    if key.rotation_enabled:
        assert key.next_rotation is not None and key.rotation_period_days is not None
        if period is not None and period != key.rotation_period_days:
            # A new period counts from the last automatic rotation (or the enable date).
            anchor = key.next_rotation - timedelta(days=key.rotation_period_days)
            key.next_rotation = max(anchor + timedelta(days=period), now)
            key.rotation_period_days = period
    else:
        key.rotation_enabled = True
        key.rotation_period_days = period or DEFAULT_ROTATION_DAYS
        key.next_rotation = now + timedelta(days=key.rotation_period_days)
    _share_rotation(key)
    schedule.sync(kms, key)
    return {}


@operation("DisableKeyRotation")
def disable_key_rotation(kms: LocalKMS, p: Params) -> Params:
    key = kms.key_for("DisableKeyRotation", p["KeyId"])
    _primary_only(key)
    key.rotation_enabled = False
    key.rotation_period_days = None
    key.next_rotation = None
    _share_rotation(key)
    schedule.sync(kms, key)
    return {}


def _share_rotation(key: Key) -> None:
    if key.multi_region is not None:
        key.multi_region.share_rotation()


@operation("GetKeyRotationStatus")
def get_key_rotation_status(kms: LocalKMS, p: Params) -> Params:
    key = kms.key_for("GetKeyRotationStatus", p["KeyId"])
    # AWS reports false while a key is pending deletion, and true again if it is cancelled.
    enabled = key.rotation_enabled and key.state != "PendingDeletion"
    out: Params = {"KeyRotationEnabled": enabled, "KeyId": key.arn}
    if enabled:
        out["RotationPeriodInDays"] = key.rotation_period_days
        out["NextRotationDate"] = key.next_rotation
    # AWS reports OnDemandRotationStartDate only while an on-demand rotation is in progress
    # (API reference, GetKeyRotationStatus). kmslab's on-demand rotation finishes within the
    # RotateKeyOnDemand call, so no rotation is ever in progress when this is asked.
    return out


@operation("RotateKeyOnDemand")
def rotate_key_on_demand(kms: LocalKMS, p: Params) -> Params:
    key = kms.key_for("RotateKeyOnDemand", p["KeyId"])
    _primary_only(key)
    group = key.multi_region
    # Imported key material rotates only to new material imported before (state
    # PENDING_ROTATION; for multi-Region keys, imported into every replica as well).
    if key.origin == "EXTERNAL" and (key.pending is None or _waiting_for_replicas(key)):
        # Observed: the fidelity ledger (LS-snap, Nov 2025).
        raise KMSInvalidStateException(
            f"No available key material pending rotation for the key: {key.arn}."
        )
    if key.on_demand_rotations >= MAX_ON_DEMAND_ROTATIONS:
        # Observed (ledger on-demand-limit): LocalStack's recordings of real AWS,
        # test_key_rotations_limits (no trailing period).
        raise LimitExceededException(
            "The on-demand rotations limit has been reached for the given keyId. No more "
            f"on-demand rotations can be performed for this key: {key.arn}",
            limit=str(MAX_ON_DEMAND_ROTATIONS),
        )
    now = kms.clock.now()
    if key.origin == "EXTERNAL":
        for related in group.keys.values() if group is not None else (key,):
            _promote_pending(related, now)
    else:
        _rotate(key, now, "ROTATION_ON_DEMAND")  # one list shared by related keys
    key.on_demand_rotations += 1
    _share_rotation(key)
    return {"KeyId": key.arn}  # the key ARN, as AWS returns it (API reference)


def _promote_pending(key: Key, now: datetime) -> None:
    """The pending imported material becomes current; the old current, NON_CURRENT."""
    material = key.pending
    if material is None:  # pragma: no cover - checked for every related key first
        return
    material.rotation_type, material.rotation_date = "ON_DEMAND", now
    key.materials.append(material)
    key.pending = None


def _waiting_for_replicas(key: Key) -> bool:
    """Whether the primary's pending material is not yet imported into every replica
    (KeyMaterialState PENDING_MULTI_REGION_IMPORT_AND_ROTATION)."""
    group, pending = key.multi_region, key.pending
    if group is None or pending is None or key.is_replica:
        return False
    return any(
        r.pending is None or r.pending.id != pending.id or not r.pending.imported
        for r in group.replicas()
    )


@operation("ListKeyRotations")
def list_key_rotations(kms: LocalKMS, p: Params) -> Params:
    key = kms.key_for("ListKeyRotations", p["KeyId"])
    everything = p.get("IncludeKeyMaterial") == "ALL_KEY_MATERIAL"
    current = key.current
    # ROTATIONS_ONLY (the default): material that a rotation made current. ALL_KEY_MATERIAL
    # adds the first material and material pending rotation (ListKeyRotations, API Ref).
    # Sort key: the material's place in the key's history (materials are only appended,
    # pending material comes last), so a page resumes after the last one returned.
    entries = [
        (f"{i:010d}", _rotation_entry(key, m, "CURRENT" if m is current else "NON_CURRENT"))
        for i, m in enumerate(key.materials)
        if everything or m.rotation_type is not None
    ]
    if everything and key.pending is not None:
        state = (
            "PENDING_MULTI_REGION_IMPORT_AND_ROTATION"
            if _waiting_for_replicas(key)
            else "PENDING_ROTATION"
        )
        entries.append((f"{len(key.materials):010d}", _rotation_entry(key, key.pending, state)))
    chunk, extra = page_sorted("ListKeyRotations", entries, p, lambda n: n[0])
    return {"Rotations": [entry for _, entry in chunk], **extra}


def _rotation_entry(key: Key, m: Material, state: str) -> dict[str, Any]:
    """One RotationsListEntry; the import fields only for symmetric EXTERNAL keys."""
    entry: dict[str, Any] = {"KeyId": key.id, "KeyMaterialId": m.id, "KeyMaterialState": state}
    if key.origin == "EXTERNAL" and key.info.name == "SYMMETRIC_DEFAULT":
        if m.description is not None:
            entry["KeyMaterialDescription"] = m.description
        entry["ImportState"] = "IMPORTED" if m.imported else "PENDING_IMPORT"
        if m.expiration_model is not None:
            entry["ExpirationModel"] = m.expiration_model
        if m.valid_to is not None:
            entry["ValidTo"] = m.valid_to
    if m.rotation_type is not None:
        entry["RotationDate"] = m.rotation_date
        entry["RotationType"] = m.rotation_type
    return entry
