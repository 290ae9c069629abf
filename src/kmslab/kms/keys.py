"""The state the local KMS keeps for each key: metadata and versions of key material.

Key material lives only in :class:`Material` objects, whose repr never shows it.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kmslab.crypto import family
from kmslab.specs import KeySpecInfo


def refuse_pickle(obj: object) -> str:
    """The message of the TypeError raised when something holding key material is pickled."""
    return (
        f"{type(obj).__name__} holds key material and cannot be pickled or copied: "
        "key material never leaves the KMS unencrypted"
    )


def new_material_id() -> str:
    """A KeyMaterialId: 64 lowercase hex characters, as AWS uses."""
    return hashlib.sha256(os.urandom(32)).hexdigest()


@dataclass(eq=False)
class Material:
    """One version of a key's material (rotation adds versions; import replaces them)."""

    id: str
    secret: Any = field(repr=False)  # bytes for AES/HMAC, a key object otherwise
    created: datetime
    #: How the material came to be: "CREATE", "ROTATION_AUTOMATIC", "ROTATION_ON_DEMAND",
    #: or "IMPORT".
    source: str = "CREATE"
    #: For imported material: SHA-256 of the material imported (never the material itself),
    #: to recognise a re-import.
    fingerprint: bytes | None = field(default=None, repr=False)
    _aead: Any = field(default=None, repr=False)
    _public: Any = field(default=None, repr=False)

    def __repr__(self) -> str:
        return f"Material(id={self.id[:12]}..., source={self.source})"

    def __reduce_ex__(self, protocol: Any) -> Any:
        # A pickle (or deepcopy) would be the raw key at rest, unencrypted.
        raise TypeError(refuse_pickle(self))

    def public(self) -> Any:
        """The public key object of asymmetric signing material, derived once."""
        if self._public is None:
            self._public = self.secret.public_key()
        return self._public

    def aead(self) -> Any:
        """The AES-GCM object of symmetric encryption material, built once."""
        if self._aead is None:
            from kmslab.crypto import aes

            self._aead = aes.cipher(self.secret)
        return self._aead


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
    #: Imported material (Origin EXTERNAL).
    valid_to: datetime | None = None
    expiration_model: str | None = None
    import_state: dict[str, Any] = field(default_factory=dict, repr=False)
    _public_der: bytes | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return (
            f"Key(id={self.id!r}, spec={self.info.name}, usage={self.usage}, "
            f"state={self.state}, origin={self.origin})"
        )

    @property
    def current(self) -> Material | None:
        return self.materials[-1] if self.materials else None

    def material(self, material_id: str) -> Material | None:
        for m in self.materials:
            if m.id == material_id:
                return m
        return None

    def public_der(self) -> bytes:
        """DER SubjectPublicKeyInfo of the current material (cached)."""
        if self._public_der is None:
            assert self.current is not None
            self._public_der = family(self.info.family).public_der(self.current.secret)
        return self._public_der
