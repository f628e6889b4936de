"""The tests' one clock: moved by hand, so event stamps, due dates and histories repeat run after run."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

START = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)


class HandClock:
    """Called like `datetime.now`, it answers the time it was set to; it moves only when told."""

    def __init__(self, when: datetime = START) -> None:
        self.now = when

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        """Move on by a timedelta's worth: advance(minutes=5), advance(days=1)."""
        self.now += timedelta(**kw)

    def at(self, day: int, hour: int, minute: int = 0) -> None:
        """Set to a day of the clock's month, at an hour."""
        self.now = self.now.replace(day=day, hour=hour, minute=minute, second=0, microsecond=0)
