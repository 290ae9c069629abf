"""The state the local KMS keeps for each key: metadata and versions of key material.

Key material lives only in :class:`Material` objects, whose repr never shows it. Related
multi-Region keys (one :class:`Key` per Region, same key id) point to one
:class:`MultiRegionSet`.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kmslab.crypto import family
from kmslab.specs import KeySpecInfo

#: Field metadata asking the store to seal a field whole (its JSON) under the root key,
#: whatever it holds: ``field(repr=False, metadata={SEALED: True})`` for a password or a
#: table of key material (see kmslab.kms.store.codec). Fields of bytes or key objects with
#: ``repr=False`` are sealed without it.
SEALED = "kmslab.sealed"


def refuse_pickle(obj: object) -> str:
    """The message of the TypeError raised when something holding key material is pickled."""
    return (
        f"{type(obj).__name__} holds key material and cannot be pickled or copied: "
        "key material never leaves the KMS unencrypted"
    )


def new_material_id() -> str:
    """A KeyMaterialId: 64 lowercase hex characters, as AWS uses."""
    return hashlib.sha256(os.urandom(32)).hexdigest()


#: Symmetric encryption material size -> the family that seals with it. SYMMETRIC_DEFAULT
#: is AES-256 everywhere but the China Regions, where it is SM4-128 (specs row).
AEAD_BY_KEY_BYTES: dict[int, str] = {32: "aes", 16: "sm4"}


@dataclass(eq=False)
class Material:
    """One version of a key's material (rotation and imports of new material add versions).

    ``secret`` is None for imported material that was deleted or expired (AWS's ImportState
    PENDING_IMPORT): its id stays associated with the key until the same material comes back.
    """

    id: str
    secret: Any = field(repr=False)  # bytes for AES/HMAC, a key object otherwise
    created: datetime
    #: How the material came to be: "CREATE", "ROTATION_AUTOMATIC", "ROTATION_ON_DEMAND",
    #: or "IMPORT".
    source: str = "CREATE"
    #: For imported material: SHA-256 of the material imported (never the material itself),
    #: to recognise a re-import.
    fingerprint: bytes | None = field(default=None, repr=False)
    #: ListKeyRotations' RotationType and RotationDate: set when a rotation made this
    #: material current ("AUTOMATIC" or "ON_DEMAND"); None for the first material.
    rotation_type: str | None = None
    rotation_date: datetime | None = None
    #: Imported material only: the ExpirationModel and ValidTo of its latest import, and its
    #: KeyMaterialDescription.
    expiration_model: str | None = None
    valid_to: datetime | None = None
    description: str | None = None
    _aead: Any = field(default=None, repr=False)
    _public: Any = field(default=None, repr=False)

    def __repr__(self) -> str:
        return f"Material(id={self.id[:12]}..., source={self.source})"

    def __reduce_ex__(self, protocol: Any) -> Any:
        # A pickle (or deepcopy) would be the raw key at rest, unencrypted.
        raise TypeError(refuse_pickle(self))

    @property
    def imported(self) -> bool:
        """Whether the material is present (always, unless imported and then deleted)."""
        return self.secret is not None

    def forget(self) -> None:
        """Delete imported material (DeleteImportedKeyMaterial or expiry); the id stays."""
        self.secret = None
        self.expiration_model = None
        self.valid_to = None
        self._aead = None
        self._public = None

    def public(self) -> Any:
        """The public key object of asymmetric signing material, derived once."""
        if self._public is None:
            self._public = self.secret.public_key()
        return self._public

    def aead(self) -> Any:
        """The AEAD object of symmetric encryption material, built once: AES-256-GCM, or
        SM4-GCM for the 16-byte SM4 keys of SYMMETRIC_DEFAULT in the China Regions."""
        if self._aead is None:
            self._aead = family(AEAD_BY_KEY_BYTES[len(self.secret)]).cipher(self.secret)
        return self._aead


@dataclass(eq=False)
class MultiRegionSet:
    """Related multi-Region keys: one key id, one key per Region, one of them the primary.

    ``keys`` maps Region -> that Region's :class:`Key`. The shared properties (key material,
    rotation) live on each key and are kept equal by the operations that change them.
    """

    primary: str
    keys: dict[str, Key] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        return f"MultiRegionSet(primary={self.primary!r}, regions={list(self.keys)})"

    @property
    def primary_key(self) -> Key:
        return self.keys[self.primary]

    def replicas(self) -> list[Key]:
        """The replica keys, by Region name: AWS's replicate-key example in the Developer
        Guide lists a new ap-southeast-2 replica before an older eu-west-1 one."""
        return [self.keys[r] for r in sorted(self.keys) if r != self.primary]

    def share_rotation(self) -> None:
        """Copy the primary key's rotation settings to every replica (a shared property)."""
        source = self.primary_key
        for key in self.replicas():
            for name in _SHARED_ROTATION:
                setattr(key, name, getattr(source, name))


#: The rotation fields of :class:`Key` that related multi-Region keys share.
_SHARED_ROTATION = (
    "rotation_enabled",
    "rotation_period_days",
    "next_rotation",
    "on_demand_rotations",
)


@dataclass(eq=False)
class Key:
    """A KMS key in the local KMS. ``repr`` shows metadata only."""

    id: str
    arn: str
    account: str
    info: KeySpecInfo
    usage: str
    origin: str
    created: datetime
    description: str = ""
    state: str = "Enabled"
    materials: list[Material] = field(default_factory=list, repr=False)
    tags: dict[str, str] = field(default_factory=dict, repr=False)
    policy: str = field(default="", repr=False)
    deletion_date: datetime | None = None
    pending_window_days: int | None = None
    #: Rotation (symmetric encryption keys with Origin AWS_KMS).
    rotation_enabled: bool = False
    rotation_period_days: int | None = None
    next_rotation: datetime | None = None
    on_demand_rotations: int = 0
    #: Imported material (Origin EXTERNAL): GetParametersForImport's tokens
    #: (kmslab.kms.ops.imports), and new material imported but not yet rotated to
    #: (AWS's KeyMaterialState PENDING_ROTATION).
    import_state: dict[str, Any] = field(default_factory=dict, repr=False)
    pending: Material | None = field(default=None, repr=False)
    #: "CUSTOMER", or "AWS" for AWS managed keys (kmslab.kms.managed).
    manager: str = "CUSTOMER"
    #: The Region of this key (its ARN's), and its related keys if it is multi-Region.
    region: str = ""
    multi_region: MultiRegionSet | None = field(default=None, repr=False)
    #: The primitive family serving this key (the catalogue's, or its China-Regions one).
    family: str = ""
    #: Keys in a custom key store (Origin AWS_CLOUDHSM or EXTERNAL_KEY_STORE).
    custom_key_store_id: str | None = None
    #: The external key behind a key in an external key store (its XksKeyConfiguration Id).
    xks_key_id: str | None = None
    #: Creation number in its Region (kmslab.kms.index.Numbering; 0 until the Region's key
    #: table gives it one): the order ListKeys pages in, saved so markers survive restarts.
    number: int = 0
    _public_der: bytes | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.family:
            self.family = self.info.family

    def __repr__(self) -> str:
        return (
            f"Key(id={self.id!r}, spec={self.info.name}, usage={self.usage}, "
            f"state={self.state}, origin={self.origin})"
        )

    @property
    def current(self) -> Material | None:
        return self.materials[-1] if self.materials else None

    @property
    def valid_to(self) -> datetime | None:
        """ValidTo of the current imported material (DescribeKey's ValidTo)."""
        return self.current.valid_to if self.current is not None else None

    @property
    def expiration_model(self) -> str | None:
        """ExpirationModel of the current imported material."""
        return self.current.expiration_model if self.current is not None else None

    @property
    def next_expiry(self) -> datetime | None:
        """The earliest ValidTo of the key's imported material that is present (including
        material pending rotation): when the clock next deletes some of it."""
        found = [m.valid_to for m in self.materials if m.imported and m.valid_to is not None]
        if self.pending is not None and self.pending.imported and self.pending.valid_to:
            found.append(self.pending.valid_to)
        return min(found) if found else None

    @property
    def is_replica(self) -> bool:
        return self.multi_region is not None and self.multi_region.primary != self.region

    def material(self, material_id: str) -> Material | None:
        """The associated material with this id (not the pending one)."""
        for m in self.materials:
            if m.id == material_id:
                return m
        return None

    def public_der(self) -> bytes:
        """DER SubjectPublicKeyInfo of the current material (cached)."""
        if self._public_der is None:
            assert self.current is not None
            self._public_der = family(self.family).public_der(self.current.secret)
        return self._public_der
