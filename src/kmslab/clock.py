"""A clock the learner (and the tests) can move: a year of rotations in one cell.

>>> from datetime import timedelta
>>> clock = Clock()
>>> start = clock.now()
>>> clock.advance(days=365)
>>> (clock.now() - start) >= timedelta(days=365)
True
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone


class Clock:
    """Wall-clock time plus an offset that only moves forward.

    ``Clock(frozen_at=datetime(...))`` stands still (handy for deterministic notebooks);
    otherwise it follows real time. ``advance`` moves it forward in either case.
    """

    def __init__(self, frozen_at: datetime | None = None) -> None:
        self._frozen = frozen_at
        self._offset = timedelta(0)

    def now(self) -> datetime:
        base = self._frozen if self._frozen is not None else datetime.now(timezone.utc)
        return base + self._offset

    def advance(self, *, days: float = 0, hours: float = 0, seconds: float = 0) -> None:
        """Move the clock forward; automatic rotation, deletion and expiry catch up."""
        step = timedelta(days=days, hours=hours, seconds=seconds)
        if step < timedelta(0):
            raise ValueError("a clock only moves forward; pass a positive duration")
        self._offset += step

    def __repr__(self) -> str:
        return f"Clock(now={self.now().isoformat()})"
