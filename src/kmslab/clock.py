"""A clock the learner (and the tests) can move: a year of rotations in one cell.

>>> from datetime import timedelta
>>> clock = Clock()
>>> start = clock.now()
>>> clock.advance(days=365)
>>> (clock.now() - start) >= timedelta(days=365)
True
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone

__all__ = ["LATEST", "Clock"]


#: The latest time a clock may show. Every date the local KMS derives from "now" (a rotation
#: up to 2,560 days ahead, a deletion 30 days ahead, material valid up to 365 days) must
#: stay a representable datetime (year 9999 at most), so the clock stops well short of it.
LATEST = datetime(9990, 1, 1, tzinfo=timezone.utc)


class Clock:
    """Wall-clock time plus an offset that only moves forward.

    ``Clock(frozen_at=datetime(...))`` stands still (handy for deterministic notebooks);
    otherwise it follows real time. ``advance`` moves it forward in either case.
    """

    def __init__(self, frozen_at: datetime | None = None) -> None:
        if frozen_at is not None and frozen_at.tzinfo is not None and frozen_at > LATEST:
            raise ValueError(f"a clock cannot start after {LATEST.date().isoformat()}")
        self._frozen = frozen_at
        self._offset = timedelta(0)
        #: Called with this clock after each :meth:`advance` (a store saves the clock then,
        #: so a notebook killed before ``close()`` keeps the time it was moved to).
        self.listeners: list[Callable[[Clock], None]] = []

    def now(self) -> datetime:
        base = self._frozen if self._frozen is not None else datetime.now(timezone.utc)
        return base + self._offset

    def advance(self, *, days: float = 0, hours: float = 0, seconds: float = 0) -> None:
        """Move the clock forward; automatic rotation, deletion and expiry catch up.

        Raises ValueError for a negative step, or one that would take the clock past
        :data:`LATEST` (the clock is left where it was).
        """
        try:
            step = timedelta(days=days, hours=hours, seconds=seconds)
            later = self.now() + step
        except (OverflowError, ValueError, TypeError):
            later = None
        if later is not None and step < timedelta(0):
            raise ValueError("a clock only moves forward; pass a positive duration")
        if later is None or later > LATEST:
            raise ValueError(
                f"the clock cannot go past {LATEST.date().isoformat()}: dates the KMS computes "
                "from it (rotation, deletion, expiry) must stay within the year 9999"
            )
        self._offset += step
        for listener in list(self.listeners):
            listener(self)

    def state(self) -> tuple[datetime | None, timedelta]:
        """(the frozen time or None, the offset): what a store keeps to restore this clock."""
        return self._frozen, self._offset

    def restore(self, frozen_at: datetime | None, offset: timedelta) -> None:
        """Set the clock to a :meth:`state` saved before (a store reopened)."""
        if offset < timedelta(0):
            raise ValueError("a clock only moves forward; the offset must not be negative")
        self._frozen = frozen_at
        self._offset = offset

    def __repr__(self) -> str:
        return f"Clock(now={self.now().isoformat()})"
