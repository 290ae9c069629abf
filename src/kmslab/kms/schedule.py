"""What the clock does to a key by itself, as timers on the LocalKMS (no scans per call).

Two timers per key at most: "rotate" at ``key.next_rotation`` (automatic rotation) and
"expire" at ``key.valid_to`` (imported material that expires); "delete" (the end of a
deletion's waiting period) is the service's own. :mod:`kmslab.kms.ops.lifecycle` ("rotate")
and :mod:`kmslab.kms.ops.imports` ("expire") say what happens when they fire; this module
only keeps them in step with a key's dates, so that manage operations (EnableKey) can wake a
key without importing the lifecycle operations.

AWS does not rotate a disabled key or one pending deletion. A rotation timer that fires
while the key is not enabled does nothing and is not re-armed (so a disabled key costs
nothing per call); :func:`enabled` re-arms it, at once if the date has passed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kmslab.kms.keys import Key
    from kmslab.kms.service import LocalKMS

__all__ = ["enabled", "sync"]


def sync(kms: LocalKMS, key: Key) -> None:
    """Set the key's rotate and expire timers from its dates (cancelling what is unset).

    A multi-Region replica has no rotate timer: its primary rotates the shared material.
    "expire" is the earliest ValidTo of the key's imported material (each has its own).
    """
    rotates = key.rotation_enabled and not key.is_replica
    kms.schedule("rotate", key.id, key.next_rotation if rotates else None)
    kms.schedule("expire", key.id, key.next_expiry)


def enabled(kms: LocalKMS, key: Key) -> None:
    """The key was just enabled: an overdue rotation happens now, then every period."""
    if key.rotation_enabled and key.next_rotation is not None and not key.is_replica:
        now = kms.clock.now()
        if key.next_rotation <= now:
            key.next_rotation = now
        kms.schedule("rotate", key.id, key.next_rotation)
