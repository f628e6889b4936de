"""One bench's kiosk as its screens read it: the shop, the bench, its devices, who is logged in, what was said.

The app owns the Station and is the only one that changes it (on a badge, a logout, a scale reading,
a message); screens and dialogs are handed it when they are built and only read it. What they want
changed they ask for with a message (kiosk.messages).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from floorkiosk.devices.scaleparse import ScaleStatus
from floorkiosk.domain.worktime import Standards
from floorkiosk.domain.config import Bench, Person, Site
from floorkiosk.domain.units import fmt
from floorkiosk.kiosk.base import has_module
from floorkiosk.kiosk.devices import BenchDevices
from floorkiosk.kiosk.messages import ScaleEvent
from floorkiosk.workshop import capacity
from floorkiosk.workshop.shop import Shop
from floorkiosk.workshop.site import open_shop


STANDARDS_FOR = 600.0  # seconds a reading of the standard times is kept


@dataclass(eq=False)
class Station:
    """The kiosk of one bench: what every screen of it shows, read from one place."""

    shop: Shop
    bench: Bench
    devices: BenchDevices
    demo: bool = False
    clock: Callable[[], datetime] | None = None
    person: Person | None = None  # who is logged in here, if anyone
    scale_event: ScaleEvent | None = None  # the balance's latest reading or state
    last_message: tuple[str, str] = ("", "info")  # (text, kind): a screen shown later shows it too
    demo_jobs: list[tuple[str, str]] | None = None  # the demo's job bags to try, found once
    _standards: tuple[float, Standards] | None = field(default=None, repr=False)
    _standards_reading: bool = field(default=False, repr=False)
    _reader: Shop | None = field(default=None, repr=False)
    _reader_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def site(self) -> Site:
        return self.shop.site

    # -- time --------------------------------------------------------------------------------------
    def now(self) -> datetime:
        t = self.clock() if self.clock else datetime.now(timezone.utc)
        return self.local(t)

    def local(self, t: datetime) -> datetime:
        """A time in the site's time zone (as it is, for a zone this machine does not know)."""
        try:
            return t.astimezone(ZoneInfo(self.site.settings.timezone))
        except (ZoneInfoNotFoundError, ValueError):
            return t

    # -- the balance -------------------------------------------------------------------------------
    def scale_text(self) -> str:
        """The live weight for the device strip: '4.512 g stable' or '4.51 g ~'."""
        e = self.scale_event
        if e is None or isinstance(e, ScaleStatus):
            return ""
        return f"{fmt(e.grams, 'g', self.devices.readability or None)} {'stable' if e.stable else '~ moving'}"

    # -- who may do what ---------------------------------------------------------------------------
    @property
    def supervisor(self) -> bool:
        return self.person is not None and self.person.is_supervisor

    def can_inspect(self) -> bool:
        """Inspections are done at a QC station, by a supervisor (and with the inspection screen in the build)."""
        return self.bench.qc and self.supervisor and has_module("floorkiosk.kiosk.qc_screen")

    # -- standard times ----------------------------------------------------------------------------
    def standards(self) -> Standards:
        """Each stage's standard time, learned from the site's history, as last read: read again in a
        thread of its own when older than STANDARDS_FOR seconds (a median of twenty runs moves slowly,
        and on a big site the read folds millions of events: a scan never waits for it). Until the
        first read is done: the config's standard hours."""
        got = self._standards
        if got is None or time.monotonic() - got[0] > STANDARDS_FOR:
            self._standards_soon()
        if got is None:
            plan = self.site.planning
            return Standards([], {}, plan.standard_hours, plan.default_hours, plan.history_runs)
        return got[1]

    def read_standards(self, shop: Shop | None = None) -> Standards:
        """Read the standard times now (the reader's, by default) and keep them. Safe from any thread."""
        std = capacity.recent_standards(shop or self.reader(), list(self.bench.stages))
        self._standards = (time.monotonic(), std)
        return std

    def _standards_soon(self) -> None:
        with self._reader_lock:
            if self._standards_reading:
                return
            self._standards_reading = True

        def read() -> None:
            try:
                self.read_standards()
            except Exception:  # a busy or closed store: the last reading (or the config's) stays
                pass
            finally:
                self._standards_reading = False

        threading.Thread(target=read, name="standards", daemon=True).start()

    # -- a second reader ---------------------------------------------------------------------------
    def reader(self) -> Shop:
        """A second Shop on the same site, for slow lists read in workers (the worklist on a big site).

        SQLite in WAL mode lets it read while the screen's own Shop answers scans: a long query
        here never holds the lock a job scan needs. Safe to call from any thread.
        """
        with self._reader_lock:
            if self._reader is None:
                self._reader = open_shop(self.shop.dir, clock=self.clock, origin=self.shop.journal.origin)
            return self._reader

    def open_reader(self) -> Shop | None:
        """The reader if it is open already (None: reader() would open it, which takes a while on a big site)."""
        with self._reader_lock:
            return self._reader

    def close_reader(self) -> None:
        with self._reader_lock:
            if self._reader is not None:
                self._reader.close()
                self._reader = None
