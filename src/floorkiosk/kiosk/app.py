"""The kiosk app: scans from anywhere, the person at the bench, devices in threads, and its screens.

    app = make_app(site_dir, "setting")      # the CLI and the tests build it the same way
    run_kiosk(site_dir, "setting")           # full screen; returns the exit code
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from textual import events, work
from textual.app import App
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Input

from floorkiosk.domain import payloads
from floorkiosk.domain.config import Person
from floorkiosk.errors import FloorkioskError
from floorkiosk.kiosk.base import KioskScreen, settle_heap
from floorkiosk.kiosk.batch_screen import NewBatchScreen
from floorkiosk.kiosk.capacity_screen import CapacityDialog
from floorkiosk.kiosk.devices import BenchDevices
from floorkiosk.kiosk.dialogs import PinDialog
from floorkiosk.kiosk.messages import (
    DeviceChanged,
    EditStones,
    HeldKeysDue,
    LogIn,
    Logout,
    NewBatch,
    OpenJob,
    PrintLabel,
    Say,
    ScaleEvent,
    ScaleUpdate,
    ScanRead,
)
from floorkiosk.kiosk.screens import BatchScreen, BenchScreen, IdleScreen, JobCardScreen, WorklistScreen
from floorkiosk.kiosk.station import Station
from floorkiosk.kiosk.stones_screen import StonesScreen
from floorkiosk.kiosk.wedge import WedgeDetector, layout_hint
from floorkiosk.workshop import cards, sessions
from floorkiosk.workshop.shop import Shop
from floorkiosk.workshop.site import open_shop

ENTER_KEYS = ("enter", "ctrl+j")
LEAVE_SECONDS = 3.0  # after SIGHUP or SIGTERM, how long the app may take to exit before the process leaves anyway
FOLLOW_SECONDS = 0.5  # how often the card and the worklist look for events from elsewhere


class KioskApp(App[int]):
    """One bench's kiosk."""

    CSS_PATH = "kiosk.tcss"
    TITLE = "floorkiosk"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]
    BINDINGS = [Binding("ctrl+q", "quit_kiosk", "Quit", show=False, priority=True),  # a supervisor's, with the PIN
                Binding("c", "conflicts", "Conflicts", show=False)]  # supervisors, on a site with a hub
    ENABLE_COMMAND_PALETTE = False
    AUTO_FOCUS = None  # nothing takes the keys unless asked: the action keys work on every screen

    def __init__(self, shop: Shop, bench_id: str, *, demo: bool = False, clock: Callable[[], datetime] | None = None,
                 devices: BenchDevices | None = None, own_shop: bool = False) -> None:
        super().__init__()
        self.shop = shop
        self.site = shop.site
        self.bench = shop.bench(bench_id)
        self.devices = devices if devices is not None else BenchDevices(shop, bench_id, demo=demo)
        self.station = Station(shop, self.bench, self.devices, demo=demo, clock=clock)
        self.own_shop = own_shop
        settings = self.site.settings
        sc = self.bench.scanner
        gap = int(sc.get("max_key_gap_ms", settings.scan_max_key_gap_ms)) if sc else settings.scan_max_key_gap_ms
        self.wedge = WedgeDetector(gap, prefix=str(sc.get("prefix", "")) if sc else "",
                                   suffix=str(sc.get("suffix", "")) if sc else "")
        self.idle_seconds = settings.idle_logout_seconds
        self.last_activity = time.monotonic()
        self.scans: list[tuple[str, str]] = []  # (source, text) of the recent scans, newest last
        self._flush_timer: Any = None
        self.idle_screen = IdleScreen(self.station)
        self.worklist_screen = WorklistScreen(self.station)
        self.card_screen = JobCardScreen(self.station)

    # -- what the station shows (read by the tests and the CLI as the app's) -----------------------
    @property
    def person(self) -> Person | None:
        return self.station.person

    @property
    def last_message(self) -> tuple[str, str]:
        return self.station.last_message

    @property
    def scale_event(self) -> ScaleEvent | None:
        return self.station.scale_event

    def touch(self) -> None:
        self.last_activity = time.monotonic()

    # -- life --------------------------------------------------------------------------------------
    def on_mount(self) -> None:
        self.install_screen(self.idle_screen, "idle")
        self.install_screen(self.worklist_screen, "worklist")
        self.install_screen(self.card_screen, "card")
        self.push_screen("idle")
        d = self.devices
        d.on_scale = lambda e: self.post_message(ScaleUpdate(e))
        d.on_cell = lambda c: self.post_message(DeviceChanged(c))
        d.on_scan = lambda text, source: self.post_message(ScanRead(text, source))
        d.start()
        self.set_interval(1.0, self._tick)
        self._journal_seen = self.shop.journal.position()
        self.set_interval(FOLLOW_SECONDS, self._follow_journal)
        self.call_after_refresh(settle_heap)
        self.call_after_refresh(self._warm_reader)
        if self.site.settings.hub is not None:
            self.set_interval(5.0, self._poll_hub)
            self._poll_hub()

    @work(thread=True, exclusive=True, group="warm", exit_on_error=False)
    def _warm_reader(self) -> None:
        """While the idle screen waits: open the worklist's reader and read this bench's waiting work once.

        The first badge then finds the second Shop open and the pages its query reads in SQLite's
        cache (on a site of 100,000 jobs, opening and a cold read were most of the wait).
        """
        try:
            reader = self.station.reader()
            self.station.standards()  # the card's standard times, learned from the whole history (in a thread)
            for p in self.site.people.values():
                if any(self.site.stages[s].skill in p.skills for s in self.bench.stages) or self.bench.qc:
                    cards.worklist(reader, self.bench.id, p.id)
                    break
        except FloorkioskError:
            pass  # the badge's own read says what is wrong

    def on_unmount(self) -> None:
        self.devices.stop()
        self.station.close_reader()
        if self.own_shop:
            self.shop.close()

    def _tick(self) -> None:
        if not self.screen_stack or self._exit:
            return  # shutting down: the timer fired once more
        for screen in reversed(self.screen_stack):
            # the header clock of the screen behind a dialog is in sight too: it ticks with the dialog
            if isinstance(screen, KioskScreen):
                screen.tick()
            if not isinstance(screen, ModalScreen):
                break
        person = self.station.person
        if (person is not None and self.idle_seconds > 0
                and time.monotonic() - self.last_activity >= self.idle_seconds):
            self.logout(f"{person.name} was logged out after {_duration(self.idle_seconds)} without a scan or key",
                        why="idle")

    def _follow_journal(self) -> None:
        """Show the card and the worklist anew when the journal moved: this kiosk's events, another
        bench's on the same site, or the hub's, ingested by the sync. Asked of the journal's position
        (cheap) because its listeners hear only this process's own commits."""
        if not self.screen_stack or self._exit:
            return
        screen = self.screen
        if screen is not self.card_screen and screen is not self.worklist_screen:
            return  # looked at again when one of them is in front
        try:
            pos = self.shop.journal.position()
            if pos == self._journal_seen:
                return
            new = list(self.shop.journal.events(after_seq=self._journal_seen))
        except Exception as exc:  # a busy or closed store must not take the screen down
            self.say(f"not refreshed: {exc}", "warn")
            return
        self._journal_seen = pos
        if screen is self.card_screen:
            job = self.card_screen.job_id
            if any(e.job == job for e in new):
                self.card_screen.reload()
        elif any(e.job for e in new):
            self.worklist_screen.load()

    def action_conflicts(self) -> None:
        """C: a supervisor opens the hub's conflicts (events refused in the hub's order) to decide them."""
        if self.site.settings.hub is None or isinstance(self.screen, ModalScreen):
            return
        person = self.station.person
        if person is None or not person.is_supervisor:
            self.say("conflicts between benches are for supervisors", "warn")
            return
        from floorkiosk.kiosk.conflicts_screen import ConflictsScreen  # loads psycopg (~150 ms): hub sites only, when asked

        if not isinstance(self.screen, ConflictsScreen):
            self.push_screen(ConflictsScreen(self.shop, person=person, bench=self.bench.id))

    def action_quit_kiosk(self) -> None:
        """Ctrl+Q: the kiosk is left running for the bench; only a supervisor (badge, then PIN) quits it."""
        person = self.station.person
        if person is None or not person.is_supervisor:
            self.say("Ctrl+Q quits the kiosk for a supervisor only: a supervisor scans their badge, presses "
                     "Ctrl+Q and types their PIN", "warn")
            return
        if isinstance(self.screen, PinDialog):
            return  # already asked
        if not (self.site.settings.supervisor_pin and person.pin):
            self._quit_by(person.id)
            return
        self.push_screen(PinDialog(self.shop, person, bench=self.bench.id),
                         lambda pin: pin is not None and self._quit_by(person.id))

    def _quit_by(self, person_id: str) -> None:
        try:
            sessions.logout(self.shop, person_id, self.bench.id, why="quit")
        except FloorkioskError:
            pass  # quitting must not fail on a busy store
        self.exit(0)

    @work(thread=True, exclusive=True, group="hub", exit_on_error=False)
    def _poll_hub(self) -> None:
        self.devices.poll_hub()

    # -- device messages ---------------------------------------------------------------------------
    def on_scale_update(self, message: ScaleUpdate) -> None:
        self.station.scale_event = message.event
        for screen in self.screen_stack[-2:]:
            # a dialog pushed but not yet composed shows the station's reading as it mounts
            if isinstance(screen, KioskScreen) and screen.is_mounted:
                screen.on_scale(message.event)

    def on_device_changed(self, message: DeviceChanged) -> None:
        for screen in self.screen_stack[-2:]:
            if isinstance(screen, KioskScreen):
                screen.refresh_strip()

    def on_scan_read(self, message: ScanRead) -> None:
        if self.screen_stack:
            self.handle_scan(message.text, message.source)

    # -- what the screens ask for ------------------------------------------------------------------
    def on_say(self, message: Say) -> None:
        self.say(message.text, message.kind)

    def on_open_job(self, message: OpenJob) -> None:
        try:
            self.open_job(message.job)
        except FloorkioskError as exc:
            self.say(str(exc), "error")

    def on_log_in(self, message: LogIn) -> None:
        try:
            self.badge(message.badge)
        except FloorkioskError as exc:
            self.say(str(exc), "error")

    def on_logout(self, message: Logout) -> None:
        self.action_logout()

    def on_new_batch(self, message: NewBatch) -> None:
        self.new_batch()

    def on_edit_stones(self, message: EditStones) -> None:
        if self.station.person is not None and not isinstance(self.screen, StonesScreen):
            self.push_screen(StonesScreen(self.station, message.job))

    def on_print_label(self, message: PrintLabel) -> None:
        self.print_label(message.job, message.reason)

    # -- keys: the keyboard wedge ------------------------------------------------------------------
    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and not event.is_forwarded:
            self.touch()
            if event.key in ENTER_KEYS:
                if self.wedge.holding:
                    verdict = self.wedge.enter(event.time)
                    if verdict.scan is not None:
                        self._stop_flush_timer()
                        self.handle_scan(verdict.scan, "scanner")
                        return
                    await self._release(verdict.release)
            elif self.wedge.holds(event.character):
                await self._release(self.wedge.char(event.character, event.time, event))
                self._arm_flush_timer()
                return
            else:
                await self._release(self.wedge.release())
        elif isinstance(event, events.Paste) and not event.is_forwarded:
            self.touch()
            if not isinstance(self.focused, Input):
                # A pasted code (the demo shows codes to paste) reads like a scan.
                for line in event.text.splitlines():
                    if line.strip():
                        self.handle_scan(line, "paste")
                return
        await super().on_event(event)

    async def _release(self, held: list[Any]) -> None:
        """Hand keys held as a possible scan to the screen, as typed: on a bench screen, into its entry line."""
        for key in held:
            screen = self.screen
            if isinstance(screen, BenchScreen):
                key = screen.typed(key)
                if key is None:
                    continue
            await super().on_event(key)

    def _arm_flush_timer(self, delay: float | None = None) -> None:
        # One timer per burst, not one per key: a scan is a dozen keys within a few ms.
        if self._flush_timer is None:
            self._flush_timer = self.set_timer(delay if delay is not None else self.wedge.gap + 0.01,
                                               lambda: self.post_message(HeldKeysDue()))

    def _stop_flush_timer(self) -> None:
        if self._flush_timer is not None:
            self._flush_timer.stop()
            self._flush_timer = None

    async def on_held_keys_due(self, message: HeldKeysDue) -> None:
        self._flush_timer = None
        await self._release(self.wedge.expire(time.monotonic()))
        last = self.wedge.last_time
        if last is not None:  # keys came after the timer was set: wait out their gap
            self._arm_flush_timer(max(0.005, last + self.wedge.gap + 0.01 - time.monotonic()))

    # -- scans -------------------------------------------------------------------------------------
    def say(self, text: str, kind: str = "info") -> None:
        """Tell the person what happened (or what is wrong) on the current screen's message line."""
        self.station.last_message = (text, kind)
        for screen in reversed(self.screen_stack):
            if isinstance(screen, KioskScreen):
                screen.say(text, kind)
                break

    def handle_scan(self, raw: str, source: str = "scanner") -> None:
        """Every scan comes here: the keyboard wedge, the code entry, serial and camera scanners."""
        self.touch()
        text = raw.strip()
        screen = self.screen
        if not isinstance(screen, KioskScreen) or screen.LOG_SCANS:  # a PIN typed fast reads like a scan: never kept
            self.scans = (self.scans + [(source, text)])[-50:]
        try:
            p = payloads.decode(text)
        except payloads.NotOurCode as exc:
            if self._typed_into_field(text) or (isinstance(screen, KioskScreen) and screen.on_text(text)):
                return
            hint = layout_hint(text)
            self.say(hint.message() if hint else f"{exc}; nothing was changed", "error")
            return
        if isinstance(screen, KioskScreen) and screen.on_scan(p, text):
            return
        try:
            self.route_scan(p, text)
        except FloorkioskError as exc:
            self.say(str(exc), "error")

    def _typed_into_field(self, text: str) -> bool:
        """A keyboard-wedge instrument (a caliper, a micrometer) typing a reading into a screen's
        answer field reads like a scan that is none of our codes: it goes to that field, as typed."""
        field = self.focused
        if not isinstance(field, Input) or field.password or field.id == "entry":
            return False
        field.insert_text_at_cursor(text)
        self.call_later(field.action_submit)
        return True

    def route_scan(self, p: payloads.Payload, text: str) -> None:
        K = payloads.Kind
        if p.kind is K.BADGE:
            self.badge(text)
        elif p.kind is K.JOB:
            self.open_job(p.value)
        elif p.kind is K.BATCH:
            self.open_batch(p.value)
        elif p.kind is K.COMMAND and p.value == "BATCH":
            self.new_batch()
        elif p.kind is K.COMMAND and p.value == "CAPACITY":
            self.declare_capacity()
        elif p.kind is K.COMMAND and p.value == "LOGOUT":
            person = self.station.person
            if person is None:
                self.say("LOGOUT: nobody is logged in at this bench", "info")
            else:
                self.logout(f"{person.name} logged out (LOGOUT card)", why="logout")
        elif p.kind is K.COMMAND:
            if self.station.person is None:
                self.say(f"{p.value}: scan your badge first, then the job bag", "warn")
            else:
                self.say(f"{p.value}: scan a job bag first", "warn")
        elif p.kind is K.TOOL:
            if self.station.person is None:
                self.say(f"tool {p.value}: scan your badge first, then the job bag, then the tool's tag", "warn")
            else:
                self.say(f"tool {p.value}: open the job's card first (scan its bag), then scan the tool's tag", "warn")
        else:
            self.say(f"{text}: stone parcels are booked at the stone safe, not at a bench; nothing was changed", "warn")

    # -- people ------------------------------------------------------------------------------------
    def badge(self, text: str) -> None:
        s = sessions.scan(self.shop, text)  # Refused for an unknown badge
        person = s.person
        before = self.station.person
        if before is not None and before.id == person.id:
            # one's own badge again: the way to leave the bench with dirty hands
            self.logout(f"{person.name} logged out (badge scanned again)", why="logout")
            return
        if before is not None:
            sessions.logout(self.shop, before.id, self.bench.id, why="switched")
        self.station.person = sessions.login(self.shop, text, self.bench.id)
        self.show_worklist()
        if before is not None:
            self.say(f"switched from {before.name} to {person.name}", "ok")
        else:
            self.say(f"welcome, {person.name}", "ok")

    def logout(self, message: str = "", why: str = "") -> None:
        person = self.station.person
        if person is not None:
            try:
                under_way = self.shop.journal.query(
                    "SELECT job, stage FROM job_stages WHERE status = 'in progress' AND started_by = ? ORDER BY job",
                    (person.id,))
                sessions.logout(self.shop, person.id, self.bench.id, why=why)
            except FloorkioskError:
                under_way = []
            if under_way and message:
                # the logout pauses their work under way (work time, domain/worktime.py); the badge resumes it
                names = ", ".join(f"{self.site.stages[s].name if s in self.site.stages else s} on {j}"
                                  for j, s in under_way[:3]) + (" …" if len(under_way) > 3 else "")
                message += f"; paused until {person.name.split()[0]} badges in again: {names}"
        self.station.person = None
        self._to_base()
        self.switch_screen("idle")
        if message:
            self.say(message, "warn" if why == "idle" else "info")

    def action_logout(self) -> None:
        if self.station.person is not None:
            self.logout(f"{self.station.person.name} logged out", why="logout")

    # -- printing ----------------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="printer", exit_on_error=False)
    def print_label(self, job: str, reason: str) -> None:
        """Reprint a job bag's label in a worker; the reprint is recorded once the printer took it."""
        person = self.station.person
        if person is None:
            return
        try:
            where = self.devices.reprint_label(job, person.id, reason)
        except FloorkioskError as exc:
            self.call_from_thread(self.say, f"the label was not printed: {exc}", "error")
            return
        self.call_from_thread(self._printed, job, where)

    def _printed(self, job: str, where: str) -> None:
        self.say(f"label of {job} reprinted: {where}", "ok")
        if self.screen is self.card_screen and self.card_screen.job_id == job:
            self.card_screen.reload()

    # -- navigation --------------------------------------------------------------------------------
    def _to_base(self) -> None:
        while len(self.screen_stack) > 2:
            self.pop_screen()

    def show_worklist(self) -> None:
        self._to_base()
        if self.screen is not self.worklist_screen:
            self.switch_screen("worklist")  # its resume reads the worklist
        else:
            self.worklist_screen.load()

    def open_job(self, job_id: str) -> None:
        if self.station.person is None:
            self.say(f"scan your badge first, then the job bag {job_id}", "warn")
            return
        card = cards.job_card(self.shop, job_id)  # NotFound: says so
        if self.screen is not self.card_screen:
            self.card_screen.returned = []  # told on the card while it was open: the card opens anew
        self.card_screen.show(card)
        self.station.last_message = (f"{card.id}: {card.job.design}", "info")
        self.card_screen.say(*self.station.last_message)
        if self.screen is not self.card_screen:
            self._to_base()
            if self.screen is not self.worklist_screen:
                self.switch_screen("worklist")
            self.push_screen("card")

    def new_batch(self) -> None:
        """A new batch, its job bags scanned one after another, over the worklist."""
        if self.station.person is None:
            self.say("BATCH: scan your badge first, then BATCH and the job bags", "warn")
            return
        if isinstance(self.screen, NewBatchScreen):
            return
        self._to_base()
        if self.screen is not self.worklist_screen:
            self.switch_screen("worklist")
        self.push_screen(NewBatchScreen(self.station))

    def declare_capacity(self) -> None:
        """CAPACITY: the person at the bench declares this week's and next week's hours by skill."""
        if self.station.person is None:
            self.say("CAPACITY: scan your badge first, then CAPACITY to declare your hours", "warn")
            return
        if isinstance(self.screen, CapacityDialog):
            return
        self.push_screen(CapacityDialog(self.station))

    def open_batch(self, batch_id: str) -> None:
        if self.station.person is None:
            self.say(f"scan your badge first, then the batch bag {batch_id}", "warn")
            return
        try:
            jobs = cards.batch_jobs(self.shop, batch_id)
        except FloorkioskError:
            if batch_id.upper() == batch_id:
                raise
            batch_id = batch_id.upper()  # typed by hand in lower case: batch numbers are B0042
            jobs = cards.batch_jobs(self.shop, batch_id)
        self._to_base()
        if self.screen is not self.worklist_screen:
            self.switch_screen("worklist")
        self.push_screen(BatchScreen(self.station, batch_id, jobs))


def _duration(seconds: int) -> str:
    if seconds % 60 == 0 and seconds >= 60:
        m = seconds // 60
        return f"{m} minute{'s' if m != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


def make_app(site_dir: str | Path, bench: str, *, demo: bool = False, clock: Callable[[], datetime] | None = None,
             devices: BenchDevices | str | None = None) -> KioskApp:
    """The kiosk for one bench of a site. devices: None (from the bench config), "none", or a BenchDevices."""
    shop = open_shop(site_dir, clock=clock)
    try:
        shop.bench(bench)
        if devices == "none":
            devices = BenchDevices.none(shop, bench)
        elif isinstance(devices, str):
            raise FloorkioskError(f"devices must be None, 'none' or a BenchDevices, not {devices!r}")
        return KioskApp(shop, bench, demo=demo, clock=clock, devices=devices, own_shop=True)
    except BaseException:
        shop.close()
        raise


def run_kiosk(site_dir: str | Path, bench: str, demo: bool = False) -> int:
    """Run the kiosk full screen until it is quit; the exit code."""
    app = make_app(site_dir, bench, demo=demo)
    with _ends_on_hangup(app):
        result = app.run()
    return int(result or 0)


@contextmanager
def _ends_on_hangup(app: KioskApp) -> Iterator[None]:
    """While the kiosk runs: a closed terminal (SIGHUP) or a stop (SIGTERM, systemd) ends it cleanly.

    Without this either signal kills the process where it stands, and the simulated balance's
    folder (/tmp/floorkiosk-sim-*) and its pty stay behind. The devices are stopped at once, in the
    handler, because after a hang-up the terminal is gone and the app's own way out may not finish
    drawing; the app is then asked to exit, and if it has not within a few seconds the process
    leaves without it (the journal is SQLite: a transaction cut short is rolled back, and what was
    acknowledged is on disk).
    """
    def handler(signum: int, frame: object) -> None:
        try:
            app.devices.stop()
        finally:
            code = 128 + signum  # the shell's convention for "ended by signal N"
            threading.Thread(target=_leave_after, args=(LEAVE_SECONDS, code), daemon=True).start()
            app.exit(code)

    before = {s: signal.signal(s, handler) for s in (signal.SIGHUP, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in before.items():
            signal.signal(s, h)


def _leave_after(seconds: float, code: int) -> None:
    time.sleep(seconds)  # a deadline, not a wait on a condition: the app had its chance to exit
    os._exit(code)
