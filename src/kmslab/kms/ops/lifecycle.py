"""Key lifecycle operations: rotation of key material, and imported key material (BYOK).

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

Imported key material (Origin EXTERNAL): GetParametersForImport hands out an RSA wrapping
public key and an import token; you wrap your material with the public key (RSA-OAEP, or
RSA-OAEP of an AES key followed by AES key wrap with padding, RFC 5649) and send it with the
token to ImportKeyMaterial:

>>> import os
>>> from cryptography.hazmat.primitives import hashes, serialization
>>> from cryptography.hazmat.primitives.asymmetric import padding
>>> key_id = kms.call("CreateKey", Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
>>> params = kms.call("GetParametersForImport", KeyId=key_id, WrappingKeySpec="RSA_2048",
...                   WrappingAlgorithm="RSAES_OAEP_SHA_256")
>>> oaep = padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), None)
>>> wrapped = serialization.load_der_public_key(params["PublicKey"]).encrypt(os.urandom(32), oaep)
>>> _ = kms.call("ImportKeyMaterial", KeyId=key_id, ImportToken=params["ImportToken"],
...              EncryptedKeyMaterial=wrapped, ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
>>> kms.call("DescribeKey", KeyId=key_id)["KeyMetadata"]["KeyState"]
'Enabled'

What each key remembers for import lives in ``key.import_state``: ``"tokens"`` maps each
import token to its :class:`WrappingParams`, and ``"record"`` is the :class:`ImportRecord` of
the material imported (kept after the material is deleted or expires, so that only the same
material can be imported again). kmslab keeps one key material per EXTERNAL key: importing
new material for on-demand rotation (AWS's ImportType NEW_KEY_MATERIAL on a key that already
had material) is refused plainly.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from kmslab import specs
from kmslab.crypto import CryptoFailure, family
from kmslab.exceptions import (
    ExpiredImportTokenException,
    IncorrectKeyMaterialException,
    InvalidCiphertextException,
    InvalidImportTokenException,
    LimitExceededException,
    NotFoundException,
    UnsupportedOperationException,
    ValidationException,
)
from kmslab.kms import schedule
from kmslab.kms.byok import WRAPPING_ALGORITHMS, unwrap_key_material
from kmslab.kms.keys import Key, Material, new_material_id, refuse_pickle
from kmslab.kms.paging import page_sorted
from kmslab.kms.quotas import QUOTAS
from kmslab.kms.service import PREPARED, TIMERS, operation

if TYPE_CHECKING:
    from kmslab.kms.service import LocalKMS, Params

__all__ = [
    "DEFAULT_ROTATION_DAYS",
    "IMPORT_PARAMETERS_VALID",
    "MAX_ON_DEMAND_ROTATIONS",
    "MAX_VALID_TO",
    "WRAPPING_ALGORITHMS",
    "ImportRecord",
    "WrappingParams",
]

DEFAULT_ROTATION_DAYS = 365
#: RotateKeyOnDemand: the most on-demand rotations AWS KMS allows per key.
MAX_ON_DEMAND_ROTATIONS = QUOTAS["on_demand_rotations"].value
#: How long a GetParametersForImport public key and import token stay usable.
IMPORT_PARAMETERS_VALID = timedelta(hours=24)
#: ImportKeyMaterial: ValidTo may be at most this far ahead.
MAX_VALID_TO = timedelta(days=365)
_TOKEN_BYTES = 64

#: Material.source of a rotation -> RotationType in ListKeyRotations.
_ROTATION_TYPES = {"ROTATION_AUTOMATIC": "AUTOMATIC", "ROTATION_ON_DEMAND": "ON_DEMAND"}


@dataclass(eq=False)
class WrappingParams:
    """One GetParametersForImport answer: the wrapping key pair and what it may unwrap."""

    wrapping_spec: specs.KeySpecInfo
    algorithm: str
    valid_to: datetime
    #: The RSA wrapping private key; dropped (None) once the token has expired.
    private: Any = field(default=None, repr=False)

    def __repr__(self) -> str:
        return (
            f"WrappingParams({self.wrapping_spec.name}, {self.algorithm}, "
            f"valid_to={self.valid_to.isoformat()})"
        )

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise TypeError(refuse_pickle(self))


@dataclass(eq=False)
class ImportRecord:
    """What an EXTERNAL key remembers of its imported material, even once it is gone."""

    material_id: str
    #: SHA-256 of the material (raw bytes, or the canonical PKCS #8 DER), never the material.
    fingerprint: bytes = field(repr=False)
    description: str | None = None


# -- helpers ---------------------------------------------------------------------------------


def _tokens(key: Key) -> dict[bytes, WrappingParams]:
    tokens: dict[bytes, WrappingParams] = key.import_state.get("tokens", {})
    return tokens


def _record(key: Key) -> ImportRecord | None:
    record: ImportRecord | None = key.import_state.get("record")
    return record


def _rotate(key: Key, when: datetime, source: str) -> Material:
    material = Material(new_material_id(), family(key.info.family).generate(key.info), when, source)
    key.materials.append(material)
    return material


def _drop_material(key: Key) -> None:
    """Delete imported material (DeleteImportedKeyMaterial, or expiry); the record stays."""
    key.materials.clear()
    key.valid_to = None
    key.expiration_model = None
    key._public_der = None
    if key.state != "PendingDeletion":  # AWS leaves a key pending deletion in that state
        key.state = "PendingImport"


def _utc(when: datetime) -> datetime:
    # botocore sends naive datetimes as UTC; do the same for Python callers.
    return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)


# -- the clock ---------------------------------------------------------------------------


def _rotate_when_due(kms: LocalKMS, key_id: str, when: datetime) -> None:
    """Timer "rotate": automatic rotation. A clock that jumped several periods gives one
    rotation per period, each dated at its scheduled time. A key that is not enabled is
    left alone until EnableKey re-arms the timer (:func:`kmslab.kms.schedule.enabled`)."""
    key = kms.keys[key_id]
    if not key.rotation_enabled or key.next_rotation != when or key.state != "Enabled":
        return
    _catch_up(key, kms.clock.now())
    schedule.sync(kms, key)


def _expire_when_due(kms: LocalKMS, key_id: str, when: datetime) -> None:
    """Timer "expire": imported key material whose ValidTo has come is deleted."""
    key = kms.keys[key_id]
    if key.valid_to == when:
        _drop_material(key)
        schedule.sync(kms, key)


TIMERS["rotate"] = _rotate_when_due
TIMERS["expire"] = _expire_when_due


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
    schedule.sync(kms, key)
    return {}


@operation("DisableKeyRotation")
def disable_key_rotation(kms: LocalKMS, p: Params) -> Params:
    key = kms.key_for("DisableKeyRotation", p["KeyId"])
    key.rotation_enabled = False
    key.rotation_period_days = None
    key.next_rotation = None
    schedule.sync(kms, key)
    return {}


@operation("GetKeyRotationStatus")
def get_key_rotation_status(kms: LocalKMS, p: Params) -> Params:
    key = kms.key_for("GetKeyRotationStatus", p["KeyId"])
    # AWS reports false while a key is pending deletion, and true again if it is cancelled.
    enabled = key.rotation_enabled and key.state != "PendingDeletion"
    out: Params = {"KeyRotationEnabled": enabled, "KeyId": key.arn}
    if enabled:
        out["RotationPeriodInDays"] = key.rotation_period_days
        out["NextRotationDate"] = key.next_rotation
    # kmslab rotates on demand at once; it reports when the latest on-demand rotation started.
    started = [m.created for m in key.materials if m.source == "ROTATION_ON_DEMAND"]
    if started:
        out["OnDemandRotationStartDate"] = started[-1]
    return out


@operation("RotateKeyOnDemand")
def rotate_key_on_demand(kms: LocalKMS, p: Params) -> Params:
    key = kms.key_for("RotateKeyOnDemand", p["KeyId"])
    if key.on_demand_rotations >= MAX_ON_DEMAND_ROTATIONS:
        raise LimitExceededException(
            f"{key.arn} has been rotated on demand {key.on_demand_rotations} times, the most "
            f"AWS KMS allows per key ({MAX_ON_DEMAND_ROTATIONS}). Automatic rotation still works."
        )
    _rotate(key, kms.clock.now(), "ROTATION_ON_DEMAND")
    key.on_demand_rotations += 1
    return {"KeyId": key.id}


@operation("ListKeyRotations")
def list_key_rotations(kms: LocalKMS, p: Params) -> Params:
    key = kms.key_for("ListKeyRotations", p["KeyId"])
    everything = p.get("IncludeKeyMaterial") == "ALL_KEY_MATERIAL"
    current = key.current
    # Sort key: the material's place in the key's history (materials are only appended),
    # so a page resumes after the last one returned whatever rotates meanwhile.
    entries = [
        (f"{i:010d}", _rotation_entry(key, m, m is current))
        for i, m in enumerate(key.materials)
        if everything or m.source in _ROTATION_TYPES
    ]
    record = _record(key)
    if everything and current is None and record is not None:
        # Imported material that was deleted or expired: listed as waiting for re-import.
        entries.append(
            (
                f"{len(key.materials):010d}",
                _described(
                    {
                        "KeyId": key.id,
                        "KeyMaterialId": record.material_id,
                        "KeyMaterialState": "CURRENT",
                        "ImportState": "PENDING_IMPORT",
                    },
                    record,
                ),
            )
        )
    chunk, extra = page_sorted("ListKeyRotations", entries, p, lambda n: n[0])
    return {"Rotations": [entry for _, entry in chunk], **extra}


def _rotation_entry(key: Key, m: Material, is_current: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "KeyId": key.id,
        "KeyMaterialId": m.id,
        "KeyMaterialState": "CURRENT" if is_current else "NON_CURRENT",
    }
    if m.source in _ROTATION_TYPES:
        entry["RotationDate"] = m.created
        entry["RotationType"] = _ROTATION_TYPES[m.source]
    record = _record(key)
    if m.source == "IMPORT" and record is not None:
        entry["ImportState"] = "IMPORTED"
        if key.expiration_model is not None:
            entry["ExpirationModel"] = key.expiration_model
        if key.valid_to is not None:
            entry["ValidTo"] = key.valid_to
        _described(entry, record)
    return entry


def _described(entry: dict[str, Any], record: ImportRecord) -> dict[str, Any]:
    if record.description is not None:
        entry["KeyMaterialDescription"] = record.description
    return entry


# -- imported key material -------------------------------------------------------------------


def _prepare_wrapping_key(p: Params) -> Any:
    """GetParametersForImport's RSA wrapping key, generated before the lock."""
    if p.get("WrappingKeySpec") not in WRAPPING_KEY_SPECS:
        return None
    return family("rsa").generate(specs.get(p["WrappingKeySpec"]))


#: The RSA wrapping key specs kmslab generates (SM2 is refused).
WRAPPING_KEY_SPECS = frozenset({"RSA_2048", "RSA_3072", "RSA_4096"})


@operation("GetParametersForImport", prepare=_prepare_wrapping_key)
def get_parameters_for_import(kms: LocalKMS, p: Params) -> Params:
    key = kms.key_for("GetParametersForImport", p["KeyId"])
    spec_name, algorithm = p["WrappingKeySpec"], p["WrappingAlgorithm"]
    if spec_name == "SM2" or algorithm == "SM2PKE":
        raise UnsupportedOperationException(
            "SM2 wrapping (WrappingKeySpec SM2, WrappingAlgorithm SM2PKE) exists only in the "
            "AWS China Regions, and kmslab does not implement SM2 cryptography. Use an RSA "
            "wrapping key spec with RSAES_OAEP_SHA_256 or RSA_AES_KEY_WRAP_SHA_256."
        )
    if algorithm == "RSAES_PKCS1_V1_5":
        raise ValidationException(
            "The RSAES_PKCS1_V1_5 wrapping algorithm is deprecated: AWS KMS no longer supports "
            "it (since October 10, 2023). Use RSAES_OAEP_SHA_256, or RSA_AES_KEY_WRAP_SHA_256 "
            "for RSA private keys and other large key material."
        )
    kms.require_implemented(key.info, key.arn)
    if algorithm not in WRAPPING_ALGORITHMS:  # the enum check already ran; belt and braces
        raise ValidationException(f"WrappingAlgorithm {algorithm} is not valid.")
    wrapping_spec = specs.get(spec_name)
    private = p.get(PREPARED) or family("rsa").generate(wrapping_spec)
    now = kms.clock.now()
    token = os.urandom(_TOKEN_BYTES)
    tokens = key.import_state.setdefault("tokens", {})
    for old in tokens.values():  # an expired token is only remembered as expired
        if old.valid_to <= now:
            old.private = None
    # Keep the newest few tokens only (kmslab's bound, kmslab.kms.quotas): repeated calls
    # must not grow memory without end. A forgotten token is InvalidImportTokenException.
    while len(tokens) >= kms.quotas["import_tokens_per_key"]:
        del tokens[next(iter(tokens))]
    tokens[token] = WrappingParams(wrapping_spec, algorithm, now + IMPORT_PARAMETERS_VALID, private)
    return {
        "KeyId": key.arn,
        "ImportToken": token,
        "PublicKey": family("rsa").public_der(private),
        "ParametersValidTo": now + IMPORT_PARAMETERS_VALID,
    }


@operation("ImportKeyMaterial")
def import_key_material(kms: LocalKMS, p: Params) -> Params:
    # Every check comes before any change: a failed import leaves the key as it was.
    key = kms.key_for("ImportKeyMaterial", p["KeyId"])
    now = kms.clock.now()
    model, valid_to = _expiration(p, now)
    record = _record(key)
    _check_import_options(key, p, record)
    wrapping = _wrapping(key, p["ImportToken"], now)
    raw = _unwrap(wrapping, p["EncryptedKeyMaterial"])
    secret, fingerprint = _load(key, raw)
    material_id = _material_id(key, fingerprint)
    if record is not None and record.fingerprint != fingerprint:
        raise IncorrectKeyMaterialException(
            f"The key material is not the key material imported into {key.arn} before. A KMS "
            "key takes back only the same key material; create a new EXTERNAL key for new "
            "material."
        )
    wanted = p.get("KeyMaterialId")
    if wanted is not None and wanted != material_id:
        raise IncorrectKeyMaterialException(
            f"KeyMaterialId {wanted} does not identify the key material sent for {key.arn}."
        )
    # Commit.
    material = key.current
    if material is None or material.id != material_id:
        material = Material(material_id, secret, now, "IMPORT", fingerprint=fingerprint)
    key.materials = [material]
    description = p.get("KeyMaterialDescription")
    if record is None:
        key.import_state["record"] = ImportRecord(material_id, fingerprint, description)
    elif description is not None:
        record.description = description
    key.expiration_model = model
    key.valid_to = valid_to
    key._public_der = None
    if key.state == "PendingImport":
        key.state = "Enabled"
    schedule.sync(kms, key)
    return {"KeyId": key.arn, "KeyMaterialId": material_id}


@operation("DeleteImportedKeyMaterial")
def delete_imported_key_material(kms: LocalKMS, p: Params) -> Params:
    key = kms.key_for("DeleteImportedKeyMaterial", p["KeyId"])
    record = _record(key)
    known = record.material_id if record is not None else None
    wanted = p.get("KeyMaterialId")
    if wanted is not None and wanted != known:
        raise NotFoundException(f"Key material {wanted} is not associated with {key.arn}.")
    if key.current is not None:
        _drop_material(key)
        schedule.sync(kms, key)
    out: Params = {"KeyId": key.arn}
    if known is not None:
        out["KeyMaterialId"] = known
    return out


def _expiration(p: Params, now: datetime) -> tuple[str, datetime | None]:
    """ExpirationModel and ValidTo, checked as AWS does (the model defaults to EXPIRES)."""
    model = p.get("ExpirationModel") or "KEY_MATERIAL_EXPIRES"
    valid_to: datetime | None = p.get("ValidTo")
    if model == "KEY_MATERIAL_DOES_NOT_EXPIRE":
        if valid_to is not None:
            raise ValidationException(
                "ValidTo is not valid with ExpirationModel KEY_MATERIAL_DOES_NOT_EXPIRE: omit "
                "ValidTo, or use KEY_MATERIAL_EXPIRES."
            )
        return model, None
    if valid_to is None:
        raise ValidationException(
            "ValidTo is required when ExpirationModel is KEY_MATERIAL_EXPIRES (the default). "
            "Give a date up to 365 days ahead, or use KEY_MATERIAL_DOES_NOT_EXPIRE."
        )
    valid_to = _utc(valid_to)
    if not now < valid_to <= now + MAX_VALID_TO:
        raise ValidationException(
            f"ValidTo {valid_to.isoformat()} must be in the future and at most 365 days from "
            f"now ({now.isoformat()})."
        )
    return model, valid_to


def _check_import_options(key: Key, p: Params, record: ImportRecord | None) -> None:
    """ImportType, KeyMaterialId and KeyMaterialDescription (symmetric encryption keys only)."""
    options = ("ImportType", "KeyMaterialId", "KeyMaterialDescription")
    given = [n for n in options if p.get(n) is not None]
    if given and key.info.name != "SYMMETRIC_DEFAULT":
        raise ValidationException(
            f"{', '.join(given)} can be used only with symmetric encryption keys; {key.arn} key "
            f"spec is {key.info.name}."
        )
    default = "EXISTING_KEY_MATERIAL" if record is not None else "NEW_KEY_MATERIAL"
    import_type = p.get("ImportType") or default
    if import_type == "NEW_KEY_MATERIAL":
        if p.get("KeyMaterialId") is not None:
            raise ValidationException(
                "You cannot specify a KeyMaterialId with ImportType NEW_KEY_MATERIAL: AWS KMS "
                "assigns the id of new key material."
            )
        if record is not None:
            raise UnsupportedOperationException(
                f"{key.arn} already has imported key material. kmslab keeps one key material "
                "per key with imported material, so importing new material for on-demand "
                "rotation is not modelled. Re-import the same material (ImportType "
                "EXISTING_KEY_MATERIAL), or create a new EXTERNAL key."
            )
    elif record is None:
        raise IncorrectKeyMaterialException(
            f"ImportType EXISTING_KEY_MATERIAL, but no key material was ever imported into "
            f"{key.arn}. Use NEW_KEY_MATERIAL (the default) for the first import."
        )


def _wrapping(key: Key, token: bytes, now: datetime) -> WrappingParams:
    params = _tokens(key).get(bytes(token))
    if params is None:
        raise InvalidImportTokenException(
            f"The import token is not valid for {key.arn}. Use the ImportToken from the same "
            "GetParametersForImport response as the public key that wrapped the material."
        )
    if now >= params.valid_to or params.private is None:
        raise ExpiredImportTokenException(
            f"The import token expired at {params.valid_to.isoformat()}. Call "
            "GetParametersForImport again for a new public key and import token."
        )
    return params


def _unwrap(params: WrappingParams, wrapped: bytes) -> bytes:
    """Undo the client's wrapping; any failure is InvalidCiphertextException."""
    try:
        return unwrap_key_material(params.private, params.algorithm, wrapped)
    except CryptoFailure:
        raise InvalidCiphertextException(
            f"The encrypted key material could not be unwrapped with {params.algorithm} under "
            "the wrapping key of this import token. Wrap it with the PublicKey from the same "
            "GetParametersForImport response, using that WrappingAlgorithm."
        ) from None


def _load(key: Key, raw: bytes) -> tuple[Any, bytes]:
    """The key object for this key spec, and the SHA-256 fingerprint of the material."""
    info = key.info
    module = family(info.family)
    try:
        if info.symmetric:
            secret = module.load(info, raw)
            canonical = bytes(secret)
        else:
            if not _looks_like_pkcs8(raw):
                raise CryptoFailure("not PKCS #8")
            secret = module.load(info, raw)
            canonical = module.private_der(secret)
    except CryptoFailure:
        raise IncorrectKeyMaterialException(
            f"The key material does not fit {key.arn}: {info.name} takes {_expected(info)}."
        ) from None
    return secret, hashlib.sha256(canonical).digest()


def _expected(info: specs.KeySpecInfo) -> str:
    if info.family == "aes":
        return f"{info.key_bits // 8} bytes of AES key"
    if info.family == "hmac":
        return f"an HMAC key of exactly {info.key_bytes} bytes"
    return f"a DER-encoded PKCS #8 {info.name} private key"


def _looks_like_pkcs8(der: bytes) -> bool:
    """PKCS #8 is SEQUENCE { INTEGER 0 or 1, SEQUENCE AlgorithmIdentifier, ... }.

    cryptography also loads PKCS #1 and SEC 1 private keys, which AWS KMS refuses; those
    put an INTEGER or OCTET STRING where PKCS #8 has the AlgorithmIdentifier.
    """
    if len(der) < 2 or der[0] != 0x30:
        return False
    i = 2 + (der[1] & 0x7F if der[1] & 0x80 else 0)
    return der[i : i + 3] in (b"\x02\x01\x00", b"\x02\x01\x01") and der[i + 3 : i + 4] == b"\x30"


def _material_id(key: Key, fingerprint: bytes) -> str:
    """Derived from the key and the material, as AWS does: re-importing the same material
    gives back the same KeyMaterialId, so ciphertexts made before still decrypt."""
    seed = b"kmslab imported key material\0" + key.id.encode() + fingerprint
    return hashlib.sha256(seed).hexdigest()
