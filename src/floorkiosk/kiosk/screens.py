"""The kiosk's full screens: idle ("scan your badge"), the worklist, the job card and a batch.

Each screen shows what the Shop's verbs return and calls them on a scan or a key; the dialogs
(weighing, photo, checklist, blocked, override) are in dialogs.py.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import DataTable, Digits, Static
from textual.worker import get_current_worker

from floorkiosk.domain import guardrails as g
from floorkiosk.domain import payloads
from floorkiosk.domain import tooling as dtool
from floorkiosk.domain.state import DONE, JobState
from floorkiosk.domain.stones import line_text
from floorkiosk.domain.units import fmt_many
from floorkiosk.errors import FloorkioskError
from floorkiosk.kiosk.base import KioskScreen, has_module, settle_heap
from floorkiosk.kiosk.dialogs import ChecklistDialog, CodesScreen, PinDialog
from floorkiosk.kiosk.flows import JobFlows
from floorkiosk.kiosk.images import halfblock
from floorkiosk.kiosk.messages import EditStones, Logout, NewBatch, OpenJob, ScaleEvent, Say, ScanRead
from floorkiosk.kiosk.station import Station
from floorkiosk.kiosk.supervisor import SupervisorWork, age_words
from floorkiosk.kiosk.widgets import (
    BlockedPanel,
    CodeEntry,
    DeviceStrip,
    KeysBar,
    MessageLine,
    TopBar,
    route_text,
)
from floorkiosk.workshop import capacity, cards, judge, returns, verbs
from floorkiosk.workshop.capacity import StageTime
from floorkiosk.workshop.cards import JobCard, SupervisorItem, WorkItem
from floorkiosk.workshop.returns import Returned

K = payloads.Kind


def short_ts(station: Station, ts: str) -> str:
    """An event's time as 'Mar 14 10:42' in the site's time zone."""
    try:
        t = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except ValueError:
        return ts[:16]
    return station.local(t).strftime("%b %d %H:%M")


def due_words(days_left: int | None, late: bool) -> tuple[str, str]:
    """Due date in words and the style to show it with (the words carry it without colour)."""
    if days_left is None:
        return "no due date", ""
    if late:
        return f"LATE by {-days_left} day{'s' if days_left != -1 else ''}", "bold white on red"
    if days_left == 0:
        return "due TODAY", "bold black on yellow"
    if days_left <= 2:
        return f"{days_left} day{'s' if days_left != 1 else ''} left", "bold yellow"
    return f"{days_left} days left", ""


KIOSK_COMMANDS = ("LOGOUT", "BATCH", "CAPACITY")  # command cards the kiosk answers on every screen
LOGOUT_AGAIN_S = 5.0  # on the worklist, Esc or CANCEL a second time within this long logs out


class BenchScreen(KioskScreen, Screen[None]):
    """A full screen of the kiosk: top bar, device strip, body, keys, message line, code entry."""

    BINDINGS = [
        Binding("slash", "focus_entry", "type a code", show=False),
        Binding("question_mark", "codes", "demo codes", show=False),
    ]

    # Letters that begin a code a person types from a label (F of FK:J:J000052): on a screen where such a
    # letter is also a shortcut, it goes into the entry line and its shortcut waits for Enter.
    CODE_START: frozenset[str] = frozenset()

    def __init__(self, station: Station) -> None:
        super().__init__()
        self.station = station
        self._focus_before: Any = None  # what had the keys before typing went into the entry line

    def compose(self) -> ComposeResult:
        yield TopBar()
        yield DeviceStrip(id="strip")
        with Horizontal(id="main"):
            with Vertical(id="body"):
                yield from self.compose_body()
            if self.station.demo:
                yield Static(id="demo-codes")
        yield KeysBar(id="keys")
        yield MessageLine(id="message")
        yield CodeEntry(placeholder="/ to type a code: a job number, or a damaged label's text", id="entry")

    def compose_body(self) -> ComposeResult:
        yield from ()

    def on_mount(self) -> None:
        self.refresh_all()
        self.app.call_after_refresh(settle_heap)  # its widgets live as long as the kiosk

    def on_screen_resume(self) -> None:
        self.refresh_all()

    def refresh_all(self) -> None:
        self.refresh_top()
        self.refresh_strip()
        self.query_one(KeysBar).show(self.keys())
        text, kind = self.station.last_message
        self.say(text, kind)
        if self.station.demo:
            self.query_one("#demo-codes", Static).update(demo_codes_text(self.station))

    def keys(self) -> list[tuple[str, str]]:
        return []

    def refresh_top(self) -> None:
        st = self.station
        p = st.person
        who = f"{p.name} ({', '.join(p.roles)})" if p else "nobody logged in"
        self.query_one(TopBar).show(f"{st.bench.name}", who, st.now().strftime("%a %d %b %H:%M:%S"))

    def tick(self) -> None:
        try:
            self.query_one(TopBar).tick(self.station.now().strftime("%a %d %b %H:%M:%S"))
        except NoMatches:
            pass

    def refresh_strip(self) -> None:
        try:
            self.query_one(DeviceStrip).show(self.station.devices.cells.values(), self.station.scale_text())
        except NoMatches:
            pass

    def on_scale(self, event: ScaleEvent) -> None:
        self.refresh_strip()

    def say(self, text: str, kind: str = "info") -> None:
        try:
            self.query_one(MessageLine).say(text, kind)
        except NoMatches:  # not composed yet: shown from the station's last message when it is
            pass

    def tell(self, text: str, kind: str = "info") -> None:
        """Say it through the kiosk: shown on the screen in front, and kept as the last message."""
        self.app.post_message(Say(text, kind))

    def action_focus_entry(self) -> None:
        self.query_one(CodeEntry).focus()

    def action_codes(self) -> None:
        if self.station.demo:
            self.app.push_screen(CodesScreen(*demo_codes_parts(self.station, 6)))

    def typed(self, key: events.Key) -> events.Key | None:
        """A key a person typed (not a scan): into the entry line, or the shortcut to run (None: taken).

        A letter is a shortcut only while the entry line is empty, whatever its case; anything else
        typed goes into the entry line, and Enter reads what it holds like a scan.
        """
        ch = key.character
        if ch is None or len(ch) != 1 or not ch.isprintable():
            return key
        entry = self.query_one(CodeEntry)
        if self.focused is entry:
            return key
        if not entry.value:
            low = ch.lower()
            name = low if low.isalpha() else key.key
            if name in self.active_bindings and low not in self.CODE_START:
                return events.Key(name, low) if low != ch else key
            if ch == " " or (not low.isalnum() and name in self.active_bindings):
                return key
        self._focus_before = self.focused
        entry.focus()
        entry.insert_text_at_cursor(ch)
        if entry.value.lower() in self.CODE_START:
            self.tell(self._waiting_shortcut(entry.value.lower()), "info")
        return None

    def _waiting_shortcut(self, letter: str) -> str:
        label = dict((k.lower(), what) for k, what in self.keys()).get(letter)
        held = self.active_bindings.get(letter)
        does = label or (held.binding.description if held is not None else "") or "its key"
        return f"{letter.upper()}: Enter for {does}, or type on for a code (FK:…)"

    def _leave_entry(self) -> None:
        before, self._focus_before = self._focus_before, None
        self.set_focus(before if before is not None and before.is_attached else None)

    def on_input_changed(self, event: CodeEntry.Changed) -> None:
        if isinstance(event.input, CodeEntry) and not event.value and self.focused is event.input:
            self._leave_entry()  # emptied: Enter and the shortcuts mean again what they meant

    def on_input_submitted(self, event: CodeEntry.Submitted) -> None:
        value = event.value.strip()
        event.input.value = ""
        self._leave_entry()
        if len(value) == 1 and value.lower() in self.CODE_START:
            held = self.active_bindings.get(value.lower())
            if held is not None:  # F and Enter: the shortcut that waited
                self.call_later(self.app.run_action, held.binding.action, held.node)
                return
        if value:
            self.app.post_message(ScanRead(value, "typed"))

    def key_escape(self) -> None:
        if self.focused is not None and isinstance(self.focused, CodeEntry):
            self.focused.value = ""
            self._leave_entry()
        else:
            self.back()

    def back(self) -> None:
        pass


def demo_codes_text(station: Station, full: bool = False) -> Text:
    """The codes a newcomer types or pastes into the demo: badges, job bags waiting here, commands."""
    left, right = demo_codes_parts(station, 6 if full else 4)
    return left + right


def demo_codes_parts(station: Station, jobs_shown: int = 4) -> tuple[Text, Text]:
    """(badges and job bags, batch bags and commands): two columns where the screen is narrow."""
    shop = station.shop
    t = Text()
    t.append("DEMO: type or paste a code\n", "bold reverse")
    t.append("badges\n", "bold")
    for p in shop.site.people.values():
        t.append(f"{payloads.encode(K.BADGE, p.badge)}", "bold")
        t.append(f" {p.name.split()[0]}{' (sup.)' if p.is_supervisor else ''}\n")
    jobs = _demo_jobs(station, jobs_shown)
    if jobs:
        t.append("job bags here\n", "bold")
        for jid, what in jobs:
            t.append(f"{payloads.encode(K.JOB, jid)}", "bold")
            t.append(f" {what}\n")
    r = Text()
    batches = cards.batch_ids(shop, 2)
    if batches:
        r.append("batch bags\n", "bold")
        for bid in batches:
            r.append(f"{payloads.encode(K.BATCH, bid)}\n", "bold")
    r.append("commands\n", "bold")
    for c in payloads.COMMANDS:
        r.append(f"{payloads.encode(K.COMMAND, c)}\n", "bold")
    return t, r


def _demo_jobs(station: Station, n: int) -> list[tuple[str, str]]:
    cache = station.demo_jobs
    if cache is None:
        shop, bench = station.shop, station.bench
        seen: dict[str, str] = {}
        for p in shop.site.people.values():
            if not any(shop.site.stages[s].skill in p.skills for s in bench.stages) and not bench.qc:
                continue
            for w in cards.worklist(shop, bench.id, p.id, limit=8):
                seen.setdefault(w.job, f"{w.stage_name} {'to do' if w.status == 'todo' else w.status}")
        cache = station.demo_jobs = list(seen.items())
    return cache[:n]


# -- idle ----------------------------------------------------------------------------------------

class IdleScreen(BenchScreen):
    """Nobody is logged in: the bench, its stages, the time, and "Scan your badge"."""

    def compose_body(self) -> ComposeResult:
        with Vertical(id="idle"):
            yield Static(id="idle-bench")
            yield Static(id="idle-stages")
            yield Digits(id="idle-clock")
            yield Static("▶  SCAN YOUR BADGE  ◀", id="idle-prompt")

    def refresh_all(self) -> None:
        st = self.station
        self.query_one("#idle-bench", Static).update(st.bench.name.upper())
        names = [st.site.stages[s].name for s in st.bench.stages]
        qc = " · verifies stages of every bench" if st.bench.qc else ""
        self.query_one("#idle-stages", Static).update(f"{st.site.settings.name} — {' · '.join(names)}{qc}")
        self.query_one("#idle-clock", Digits).update(st.now().strftime("%H:%M"))
        super().refresh_all()

    def tick(self) -> None:
        super().tick()
        self.query_one("#idle-clock", Digits).update(self.station.now().strftime("%H:%M"))

    def keys(self) -> list[tuple[str, str]]:
        return [("scan", "your badge"), ("/", "type a code")] + ([("?", "demo codes")] if self.station.demo else [])


# -- worklist ------------------------------------------------------------------------------------

class WorklistScreen(BenchScreen):
    """After the badge: jobs waiting for this bench's stages that this person can do, rush and due first."""

    AUTO_FOCUS = "#worklist"
    BINDINGS = [
        Binding("b", "board", "Board", show=False),
        Binding("k", "kpis", "KPIs", show=False),
        Binding("l", "logout", "log out", show=False),
        Binding("n", "new_batch", "new batch", show=False),
        Binding("p", "plan", "Capacity", show=False),
    ]

    def __init__(self, station: Station) -> None:
        super().__init__(station)
        self.items: list[WorkItem] = []
        self._loaded_for: str | None = None
        self._asked_out = -LOGOUT_AGAIN_S  # when Esc or CANCEL last asked to log out

    def compose_body(self) -> ComposeResult:
        yield SupervisorWork(self.station, id="sup-work")  # a supervisor's: what waits for them
        yield Static(id="wl-returned")  # defects QC charged to this person's work, not yet seen
        yield Static(id="wl-title")
        yield DataTable(id="worklist", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        t = self.query_one("#worklist", DataTable)
        t.add_columns("Job", "Stage", "Status", "Due", "Design")
        super().on_mount()

    def load(self) -> None:
        """Read the worklist and show it; in a worker while the site's reader is not open yet (opening it is slow)."""
        person = self.station.person
        if person is None or not self.is_mounted:
            return
        reader = self.station.open_reader()
        if reader is not None:
            # The reads take a few milliseconds whatever the site's size (indexes in their order, see
            # cards.worklist): here they need no worker, whose start a loaded machine delays by 0.1-0.2 s.
            try:
                self._fill(person.id, *self._read(reader, person.id))
            except FloorkioskError as exc:
                self.tell(str(exc), "error")
            return
        if self._loaded_for != person.id:
            self.query_one("#worklist", DataTable).clear()
            self.query_one("#wl-title", Static).update(Text(f"looking up the jobs for {person.name}…", "bold"))
        self._fetch(person.id)

    def _read(self, reader, person_id: str) -> tuple[list[WorkItem], list[SupervisorItem] | None, list[Returned]]:
        bench = self.station.bench.id
        items = cards.worklist(reader, bench, person_id)
        waiting = cards.supervisor_work(reader, bench, person_id) if reader.person(person_id).is_supervisor else None
        return items, waiting, returns.unseen(reader, person_id)

    @work(thread=True, exclusive=True, group="worklist", exit_on_error=False)
    def _fetch(self, person_id: str) -> None:
        try:
            items, waiting, back = self._read(self.station.reader(), person_id)
        except FloorkioskError as exc:
            self.tell(str(exc), "error")
            return
        if not get_current_worker().is_cancelled:  # a newer read is on its way
            self.app.call_from_thread(self._fill, person_id, items, waiting, back)

    def _fill(self, person_id: str, items: list[WorkItem], waiting: list[SupervisorItem] | None = None,
              back: list[Returned] | None = None) -> None:
        st = self.station
        person = st.person
        if person is None or person.id != person_id:
            return  # someone else scanned their badge meanwhile
        first = self._loaded_for != person_id
        self._loaded_for = person_id
        self.items = items
        sup = self.query_one(SupervisorWork)
        sup.show(waiting)
        self._show_returned(back or [])
        if first and waiting and self.focused is self.query_one("#worklist", DataTable):
            sup.table.focus()  # a supervisor's first work is what waits for them
        t = self.query_one("#worklist", DataTable)
        keep = t.cursor_row if t.row_count else 0  # shown anew as the journal moves: the cursor stays put
        t.clear()
        for w in items:
            words, style = due_words(w.days_left, w.late)
            status = Text(w.status, "bold" if w.status != "todo" else "")
            if w.status == "todo":
                status = Text("to do")
            job = Text(w.job, "bold") + (Text(" RUSH", "bold magenta") if w.priority == "rush" else Text(""))
            t.add_row(job, w.stage_name, status, Text(f"{w.due} {words}", style), w.design, key=f"{w.job}:{w.stage}")
        if 0 < keep < t.row_count:
            t.move_cursor(row=keep, animate=False)
        # The table measures its columns on its next idle, which it asks for only while its message pump
        # runs: rows that arrive as the screen first opens could stay cut to the headers' widths.
        self.call_after_refresh(self._ensure_measured, t, 50)
        late = sum(1 for w in items if w.late)
        stages = " · ".join(st.site.stages[s].name for s in st.bench.stages)
        title = Text(f"{len(items)} job{'s' if len(items) != 1 else ''} waiting", "bold")
        title.append(f" for {person.name} at {stages}" + (" and verifications" if st.bench.qc else ""))
        if late:
            title.append(f"   {late} LATE", "bold white on red")
        if not items:
            title.append(" — nothing waiting; scan a job bag to see its card")
        self.query_one("#wl-title", Static).update(title)
        self.query_one(KeysBar).show(self.keys())

    def _show_returned(self, back: list[Returned]) -> None:
        """'↩ returned to you: defect … from QC', one line each, until the job's card has shown it."""
        w = self.query_one("#wl-returned", Static)
        w.display = bool(back)
        if not back:
            return
        t = Text()
        for r in back[:4]:
            t.append("↩ ", "bold")
            t.append(r.said(), "bold")
            age = age_words(r.ts, self.station.now())
            t.append(f" ({age if age == 'just now' else age + ' ago'}; scan {r.job} to see it)\n")
        if len(back) > 4:
            t.append(f"… and {len(back) - 4} more\n")
        w.update(t)

    def _ensure_measured(self, t: DataTable, tries: int) -> None:
        """Prompt the table until its columns are as wide as its first row (each refresh, a few times)."""
        if not t.row_count or tries <= 0:
            return
        first = t.get_row_at(0)
        wanted = sum(max(cell_len(str(c.label)), cell_len(str(v))) for c, v in zip(t.ordered_columns, first))
        if t.virtual_size.width < wanted:
            t.check_idle()
            self.call_after_refresh(self._ensure_measured, t, tries - 1)
        else:
            # measured: lines it painted before, at the headers' widths, are kept in its caches; a change
            # of a display setting (set back at once) is the public way to have them painted anew
            t.zebra_stripes = not t.zebra_stripes
            t.zebra_stripes = not t.zebra_stripes
            t.refresh(layout=True)

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        self.load()

    def keys(self) -> list[tuple[str, str]]:
        out = [("scan", "a job bag"), ("Enter", "open"), ("N", "new batch"), ("L", "log out")]
        if self.station.supervisor:
            out.insert(2, ("Tab", "other list"))
            if has_module("floorkiosk.kiosk.board"):
                out.append(("B", "Board"))
            if has_module("floorkiosk.kiosk.kpi_screen"):
                out.append(("K", "KPIs"))
            if has_module("floorkiosk.kiosk.plan_screen"):
                out.append(("P", "Capacity"))
        return out

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value:
            self.app.post_message(OpenJob(event.row_key.value.split(":")[0]))

    def action_board(self) -> None:
        if self._may_open("floorkiosk.kiosk.board"):
            from floorkiosk.kiosk.board import BoardScreen  # a supervisor's screen, and one a build may leave out

            self.app.push_screen(BoardScreen(self.station.shop))

    def action_kpis(self) -> None:
        if self._may_open("floorkiosk.kiosk.kpi_screen"):
            from floorkiosk.kiosk.kpi_screen import KpiScreen  # loads textual-plotext (~40-100 ms): when first opened

            self.app.push_screen(KpiScreen(self.station.shop))

    def action_plan(self) -> None:
        if self._may_open("floorkiosk.kiosk.plan_screen"):
            from floorkiosk.kiosk.plan_screen import PlanScreen  # loads the scheduler (OR-Tools): when first opened

            self.app.push_screen(PlanScreen(self.station))

    def _may_open(self, module: str) -> bool:
        if not self.station.supervisor:
            self.tell("the board, the KPIs and the capacity heatmap are for supervisors", "warn")
            return False
        if not has_module(module):
            self.tell("that screen is not installed in this build", "warn")
            return False
        return True

    def action_logout(self) -> None:
        self.app.post_message(Logout())

    def action_new_batch(self) -> None:
        self.app.post_message(NewBatch())

    def back(self) -> None:
        """Esc or CANCEL: logs out only when asked twice, and says so the first time."""
        now = time.monotonic()
        if now - self._asked_out < LOGOUT_AGAIN_S:
            self.app.post_message(Logout())
            return
        self._asked_out = now
        name = self.station.person.name if self.station.person else "you"
        self.tell(f"Esc or CANCEL again logs {name} out (or L, or scan your badge)", "warn")

    def on_scan(self, p: payloads.Payload, text: str) -> bool:
        if p.kind is K.COMMAND and p.value == "CANCEL":
            self.back()
            return True
        return False


# -- the job card ----------------------------------------------------------------------------------

COMMAND_ACTIONS = {"START": "start", "FINISH": "finish", "WEIGH": "weigh", "PHOTO": "photo", "HOLD": "hold",
                   "VERIFY": "verify", "REJECT": "reject", "PAUSE": "pause", "RESUME": "resume"}


def hours_words(h: float) -> str:
    """Work hours as a person reads them: '25 min' under an hour, else '1.4 h'."""
    return f"{round(h * 60)} min" if h < 1 else f"{h:.1f} h"


class JobCardScreen(BenchScreen):
    """Everything about one job bag and what may be done to it here, now."""

    CODE_START = frozenset("f")  # F finishes, and begins every code printed on a label: it waits for Enter

    BINDINGS = [
        Binding("s", "act('start')", "Start", show=False),
        Binding("f", "act('finish')", "Finish", show=False),
        Binding("w", "act('weigh')", "Weigh", show=False),
        Binding("p", "act('photo')", "Photo", show=False),
        Binding("h", "act('hold')", "Hold", show=False),
        Binding("v", "act('verify')", "Verify", show=False),
        Binding("x", "act('reject')", "Reject", show=False),
        Binding("q", "act('inspect')", "Inspect", show=False),
        Binding("l", "act('label')", "Label", show=False),
        Binding("t", "stones", "Stones", show=False),
    ]

    def __init__(self, station: Station) -> None:
        super().__init__(station)
        self.card: JobCard | None = None
        self.decisions: dict[str, g.Decision] = {}
        self.times: dict[str, StageTime] = {}  # each stage's standard time beside the time spent so far
        self.returned: list[Returned] = []  # defects charged to this person's work on this job, told here
        self._thumbs_for: tuple[str, tuple[str, ...]] | None = None

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="card-head"):
            yield Digits(id="job-no")
            with Vertical(id="job-facts"):
                yield Static(id="design")
                yield Static(id="client")
                yield Static(id="alloy")
        yield Static(id="route")
        with Horizontal(id="card-body"):
            with VerticalScroll(id="card-left"):
                yield Static(id="card-returned")
                yield Static(id="status")
                yield BlockedPanel(id="card-blocked")
                yield Static(id="reopened")
                yield Static(id="overrides")
                yield Static(id="history")
            with Vertical(id="card-right"):
                yield Static(id="photos")
                with Horizontal(id="thumbs"):
                    for i in range(3):
                        yield Static(classes="thumb", id=f"thumb-{i}")

    @property
    def job_id(self) -> str | None:
        return self.card.id if self.card else None

    def show(self, card: JobCard) -> None:
        """Fill the card; called on every job scan (the screen is kept and reused: a scan stays fast)."""
        self.card = card
        st = self.station
        if st.person is not None:
            self.decisions = judge.allowed_actions(st.shop, card.job, st.person.id, st.bench.id)
        try:
            self.times = {t.stage: t for t in capacity.stage_times(st.shop, card.id, st.standards())}
        except FloorkioskError:
            self.times = {}
        self._note_returned(card.id)
        if self.is_mounted:
            self._fill()

    def _note_returned(self, job_id: str) -> None:
        """Defects QC charged to this person's work on this job: shown on the card while it is open, and
        recorded as seen the first time (the worklist then no longer lists them)."""
        st = self.station
        keep = self.returned if self.returned and self.returned[0].job == job_id else []
        if st.person is None:
            self.returned = []
            return
        try:
            new = returns.unseen(st.shop, st.person.id, job=job_id)
            if new:
                returns.seen(st.shop, st.person.id, new, st.bench.id)
        except FloorkioskError as exc:
            self.tell(str(exc), "error")
            new = []
        self.returned = keep + [r for r in new if r.id not in {k.id for k in keep}]

    def on_mount(self) -> None:
        super().on_mount()
        if self.card is not None:
            self._fill()

    def on_resize(self) -> None:
        # the route's words and the thumbnails depend on the width: a resized terminal gets them anew
        if self.card is not None and self.is_mounted:
            self._fill()

    def reload(self) -> None:
        if self.card is None or not self.is_mounted:
            return  # not composed yet, or being taken down as the kiosk closes: shown when it is
        try:
            self.show(cards.job_card(self.station.shop, self.card.id))
        except FloorkioskError as exc:
            self.tell(str(exc), "error")
        except NoMatches:
            return  # its widgets are going away (the kiosk is closing)

    def _fill(self) -> None:
        card = self.card
        assert card is not None
        st = self.station
        j = card.job
        units = st.site.settings.units
        self.query_one("#job-no", Digits).update(j.id)
        design = Text(j.design or "(no design)", "bold")
        design.append(f"   {card.route.name}")
        if j.priority == "rush":
            design.append("   RUSH", "bold white on magenta")
        if j.batch:
            design.append(f"   batch {j.batch}")
        self.query_one("#design", Static).update(design)
        client = Text()
        client.append(f"{j.client or 'stock'}", "bold")
        if j.spec:
            client.append(" · ")
            client.append(j.spec, "bold italic")
        self.query_one("#client", Static).update(client)
        words, style = due_words(card.days_left, card.late)
        alloy = Text("due " + (j.due or "-") + " ")
        alloy.append(words, style or "bold")
        alloy.append(f" · {card.alloy_name}")
        if j.stones:
            alloy.append(" · " + "; ".join(line_text(s) for s in j.stones))
        if j.last_weight:
            alloy.append(f" · last weight {fmt_many(j.last_weight, units, card.weight_step)}")
        self.query_one("#alloy", Static).update(alloy)
        self.query_one("#route", Static).update(route_text(card.stages, wide=self.size.width >= 110))
        back = self.query_one("#card-returned", Static)
        back.display = bool(self.returned)
        if self.returned:
            back.update(Text("\n".join("↩ " + r.said() for r in self.returned), "bold"))
        self._fill_status()
        status = self.query_one("#status", Static)
        status.display = bool(str(status.content).strip())
        self._fill_history()
        self._fill_photos()
        self.query_one(KeysBar).show(self.keys())

    def _main_stage(self) -> tuple[str | None, str]:
        """The stage this bench is about for this job, and what its state means here."""
        card = self.card
        st = self.station
        assert card is not None
        for kind in (g.FINISH,):
            d = self.decisions.get(kind)
            if d and d.stage and card.job.stage(d.stage).status == "in progress" and st.bench.serves(d.stage):
                return d.stage, "in progress"
        d = self.decisions.get(g.VERIFY)
        if d and d.stage and (d.allowed or st.bench.qc):
            return d.stage, "verify"
        d = self.decisions.get(g.START)
        return (d.stage if d else None), "start"

    def _where_next(self, sid: str) -> str:
        """What happened to the stage done here, and where the piece goes now, in the card's words."""
        card = self.card
        assert card is not None
        site, j = self.station.site, card.job
        stage = site.stages[sid]
        if stage.verify and j.stage(sid).status == DONE:
            qc = ", ".join(b.name for b in site.benches.values() if b.qc) or "the QC station"
            return f"{stage.name} finished; waiting for a supervisor to verify it ({qc})"
        ids = card.route.stage_ids
        nxt = next((site.stages[s] for s in ids[ids.index(sid) + 1:] if not j.stage(s).complete), None) \
            if sid in ids else None
        if nxt is None:
            return f"{stage.name} done; the route is complete"
        where = ", ".join(b.name for b in site.benches.values() if b.serves(nxt.id)) or "no bench yet"
        return f"{stage.name} done; next: {nxt.name} at {where}"

    def _fill_status(self) -> None:
        card = self.card
        assert card is not None
        st = self.station
        j = card.job
        status = self.query_one("#status", Static)
        panel = self.query_one("#card-blocked", BlockedPanel)
        panel.display = False
        status.remove_class("-hold", "-ready", "-progress")
        sid, what = self._main_stage()
        stage = st.site.stages.get(sid or "")
        if j.hold:
            t = Text("■ ON HOLD: ", "bold")
            t.append(j.hold.reason, "bold")
            by = "rule" if j.hold.auto else st.shop.name(j.hold.by)
            if j.hold.quality or j.hold.auto:
                then = "A supervisor reviews the piece and releases it, with a note (H or HOLD)."
            else:
                then = f"{by}, who put it on hold, or a supervisor releases it, with a note (H or HOLD)."
            t.append(f"\n   put on hold by {by}, {short_ts(st, j.hold.at)}. {then}")
            status.update(t)
            status.add_class("-hold")
        elif j.complete:
            status.update(Text("✓ ROUTE COMPLETE: every stage is done", "bold"))
            status.add_class("-ready")
        elif what == "in progress" and stage is not None:
            run = j.stage(stage.id)
            t = Text(f"▶ {stage.name} IN PROGRESS", "bold")
            t.append(f" — started by {st.shop.name(run.started_by)}, {short_ts(st, run.started_at or '')}")
            t.append(self._time_words(stage.id))
            t.append(self._tool_words(stage.id))
            todo = self._still_to_do(stage.id)
            t.append("\n   still to do: " + (" · ".join(todo) if todo else "nothing; finish it (F)"))
            status.update(t)
            status.add_class("-progress")
        elif what == "verify" and stage is not None:
            d = self.decisions[g.VERIFY]
            if d.allowed:
                status.update(Text(f"✓ READY: verify {stage.name} (V), or reject it (X)", "bold"))
                status.add_class("-ready")
            else:
                status.update("")
                panel.display = True
                panel.show(f"Verifying {stage.name} on {j.id} is blocked here:", d.reasons, _override_words(d))
        else:
            d = self.decisions.get(g.START)
            if d is None:
                status.update("")
            elif d.allowed:
                t = Text(f"✓ READY: {stage.name if stage else 'the stage'} can start here (S or START)", "bold")
                if stage is not None and stage.id in self.times:
                    t.append(f"\n   standard time {self.times[stage.id].standard}")
                status.update(t)
                status.add_class("-ready")
            elif stage is not None and j.stage(stage.id).complete and all(r.code == "state" for r in d.reasons):
                # nothing was tried: the work here is done, so say where the piece goes now, calmly
                here = [s for s in card.route.stage_ids if st.bench.serves(s) and j.stage(s).complete]
                status.update(Text("✓ " + self._where_next(here[-1] if here else stage.id), "bold"))
                status.add_class("-ready")
            else:
                status.update("")
                panel.display = True
                what_s = f"Starting {stage.name}" if stage else "Work"
                panel.show(f"{what_s} on {j.id} is blocked at {st.bench.name}:", d.reasons, _override_words(d))
        again = [s for s in card.stages if s.reopened]
        rw = self.query_one("#reopened", Static)
        rw.display = bool(again)
        if again:  # done, and to be done again because a stage before them was sent back
            rw.update(Text("↺ reopened: " + "; ".join(f"{s.name} ({s.reopened})" for s in again), "bold"))
        ov = self.query_one("#overrides", Static)
        if card.overrides:
            t = Text()
            for o in card.overrides[-3:]:
                t.append(f"⚑ {short_ts(st, o.ts)} {o.override}\n", "bold yellow")
            ov.update(t)
            ov.display = True
        else:
            ov.display = False

    def _time_words(self, stage_id: str) -> Text:
        """'time so far 25 min · standard 3.0 h (default)', and whether its clock is paused."""
        t = Text()
        tm = self.times.get(stage_id)
        if tm is None:
            return t
        spent = hours_words(tm.spent_hours) if tm.spent_hours is not None else "-"
        t.append(f"\n   time so far {spent} · standard {tm.standard}")
        if tm.paused:
            t.append("   ⏸ PAUSED: RESUME goes on", "bold black on yellow")
        return t

    def _tool_words(self, stage_id: str) -> Text:
        """The tools scanned for this run of the stage, or which kind of tool's tag it wants scanned."""
        t = Text()
        card = self.card
        kinds = dtool.tooling_config(self.station.site).for_stage(stage_id)
        if card is None or not kinds:
            return t
        used = [r[0] for r in self.station.shop.journal.query(
            "SELECT tool FROM tool_uses WHERE job = ? AND stage = ? AND run = ? ORDER BY ts",
            (card.id, stage_id, card.job.stage(stage_id).runs))]
        if used:
            t.append("\n   tools: " + ", ".join(used))
        else:
            names = " or ".join(k.name.lower() for k in kinds)
            need = " (needed to finish)" if any(k.required for k in kinds) else ""
            t.append(f"\n   tools: none scanned yet; scan the {names}'s tag (FK:T:…){need}")
        return t

    def _still_to_do(self, stage_id: str) -> list[str]:
        card = self.card
        assert card is not None
        stage = self.station.site.stages[stage_id]
        st = card.job.stage(stage_id)
        out = []
        if stage.needs("weigh-in") and st.weight_in is None:
            out.append("weigh in (W)")
        if stage.needs("weigh-out") and st.weight_out is None:
            out.append("weigh out (W)")
        if len(st.photos) < stage.photos_needed:
            out.append("photo (P)")
        if stage.checklist:
            n = len(stage.checklist)
            out.append(f"confirm {n} check{'s' if n != 1 else ''} at finish (F)")
        else:
            out.append("finish (F)")
        return out

    def _fill_history(self) -> None:
        card = self.card
        assert card is not None
        t = Text()
        t.append("history\n", "bold underline")
        for h in reversed(card.history[-10:]):
            t.append(f"{short_ts(self.station, h.ts)}  ", "dim")
            t.append(h.text + ("  ⚑" if h.override else "") + "\n")
        self.query_one("#history", Static).update(t)

    def _fill_photos(self) -> None:
        card = self.card
        assert card is not None
        st = self.station
        t = Text()
        t.append("photos\n", "bold underline")
        if not card.photos:
            t.append("none yet\n", "dim")
        for sha, stage, ts in card.photos[:4]:
            name = st.site.stages[stage].name if stage in st.site.stages else (stage or "")
            t.append(f"{sha[:10]} {name}, {short_ts(st, ts)}\n")
        self.query_one("#photos", Static).update(t)
        wanted = (card.id, tuple(p[0] for p in card.photos[:3])) if self.size.width >= 110 else None
        if wanted != self._thumbs_for:
            # drawn in a worker: decoding JPEGs must not slow the next scan
            self._thumbs_for = wanted
            for i in range(3):
                self.query_one(f"#thumb-{i}", Static).update("")
            if wanted and wanted[1]:
                self._load_thumbs(card.id, list(wanted[1]))

    @work(thread=True, exclusive=True, group="thumbs", exit_on_error=False)
    def _load_thumbs(self, job_id: str, shas: list[str]) -> None:
        texts = []
        for sha in shas:
            f = self.station.devices.photo_file(sha)
            if f is None:
                texts.append(Text(f"{sha[:10]}\n(file not here)", "dim"))
                continue
            try:
                texts.append(halfblock(f, 26, 9))
            except OSError:
                texts.append(Text(f"{sha[:10]}\n(unreadable)", "dim"))
        self.app.call_from_thread(self._show_thumbs, job_id, texts)

    def _show_thumbs(self, job_id: str, texts: list[Text]) -> None:
        if self.job_id != job_id:
            return
        for i, t in enumerate(texts[:3]):
            self.query_one(f"#thumb-{i}", Static).update(t)

    def keys(self) -> list[tuple[str, str]]:
        if self.card is None:
            return [("Esc", "back")]
        d = self.decisions
        st = self.station
        out: list[tuple[str, str]] = []

        def ok(kind: str) -> bool:
            return bool(d.get(kind) and d[kind].allowed)

        name = (lambda kind: st.site.stages[d[kind].stage].name if d.get(kind) and d[kind].stage in st.site.stages else "")
        if ok(g.START):
            out.append(("S", f"Start {name(g.START)}"))
        if ok(g.WEIGH_IN) or ok(g.WEIGH_OUT):
            out.append(("W", "Weigh in" if ok(g.WEIGH_IN) and not ok(g.WEIGH_OUT) else "Weigh"))
        if ok(g.PHOTO) and st.devices.camera_source() is not None:
            out.append(("P", "Photo"))
        fin = d.get(g.FINISH)
        if fin and fin.stage and self.card.job.stage(fin.stage).status == "in progress" and st.bench.serves(fin.stage):
            out.append(("F", f"Finish {name(g.FINISH)}"))
        if ok(g.VERIFY):
            out.append(("V", f"Verify {name(g.VERIFY)}"))
        if ok(g.REJECT):
            out.append(("X", "Reject"))
        if self.card.job.hold:
            out.append(("H", "Release hold" if ok(g.RELEASE) else "Release (supervisor)"))
        elif ok(g.HOLD):
            out.append(("H", "Hold"))
        if st.can_inspect():
            out.append(("Q", "Inspect"))
        if st.devices.cells["printer"].state != "none":
            out.append(("L", "Label"))
        if self._stones_here():
            out.append(("T", "Stones"))
        out.append(("Esc", "back"))
        return out

    def _stones_here(self) -> bool:
        """Stone lines are added here: the bench where the job's route begins (the design bench)."""
        card = self.card
        return (card is not None and not card.job.complete and self.station.person is not None
                and verbs.stone_lines_here(self.station.shop, self.station.bench.id, card.job))

    def action_stones(self) -> None:
        if self.card is None:
            return
        if not self._stones_here():
            self.tell("stone lines are added at the bench where the job's route begins (the design bench)", "warn")
            return
        self.app.post_message(EditStones(self.card.id))

    def back(self) -> None:
        self.app.pop_screen()

    # -- scans and keys --------------------------------------------------------------------------
    def on_scan(self, p: payloads.Payload, text: str) -> bool:
        if p.kind is K.BADGE:
            return self._verify_here(p.value)
        if p.kind is K.TOOL:
            if self.card is not None and self.station.person is not None:
                JobFlows(self.station, self.app, self.card.id, self.reload, self._seen).use_tool(p.value)
            return True
        if p.kind is not K.COMMAND or p.value in KIOSK_COMMANDS:  # the kiosk's, on every screen
            return False
        if p.value == "CANCEL":
            self.back()
        elif p.value == "ACCEPT":
            self.tell("ACCEPT: nothing waits for a confirmation here; scan an action (START, FINISH …)", "warn")
        else:
            self.action_act(COMMAND_ACTIONS[p.value])
        return True

    def action_act(self, what: str) -> None:
        if self.card is None or self.station.person is None:
            return
        JobFlows(self.station, self.app, self.card.id, self.reload, self._seen).run(what)

    def _verify_here(self, badge: str) -> bool:
        """A supervisor's badge on an artisan's card where a stage waits for them: verify it here, now (the
        artisan stays logged in). Any other badge (an artisan's, or with nothing to verify) logs in as ever."""
        st = self.station
        at = st.person
        sup = st.site.person_by_badge(badge)
        if self.card is None or at is None or at.is_supervisor or sup is None or not sup.is_supervisor:
            return False
        d = judge.decide(st.shop, g.VERIFY, self.card.id, sup.id, st.bench.id)
        if d.stage is None or not all(r.code == "evidence" for r in d.reasons):
            return False  # nothing this supervisor may verify here: their badge logs them in
        JobFlows(st, self.app, self.card.id, self.reload, person=sup.id).run("verify")
        return True

    def _seen(self) -> tuple[JobState, dict[str, g.Decision]]:
        assert self.card is not None
        return self.card.job, self.decisions


def _override_words(d: g.Decision) -> str:
    if d.overridable:
        return "A supervisor can override: they scan their badge at this bench and pick a reason."
    if any(r.overridable for r in d.reasons):
        return "Some of these cannot be overridden; they must be resolved first."
    return "This cannot be overridden."


# -- a batch ----------------------------------------------------------------------------------------

class BatchScreen(BenchScreen):
    """A batch bag: its pieces; an action scanned here applies to each, and failures are listed."""

    CODE_START = frozenset("f")  # as on the card: F (Finish all) begins every printed code, it waits for Enter

    BINDINGS = [
        Binding("s", "batch('start')", "Start all", show=False),
        Binding("f", "batch('finish')", "Finish all", show=False),
        Binding("v", "batch('verify')", "Verify all", show=False),
    ]

    def __init__(self, station: Station, batch_id: str, jobs: list[str]) -> None:
        super().__init__(station)
        self.batch_id = batch_id
        self.jobs = jobs
        self.result: Any = None

    def compose_body(self) -> ComposeResult:
        yield Static(id="batch-title")
        yield DataTable(id="batch-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="batch-result")

    def on_mount(self) -> None:
        t = self.query_one("#batch-table", DataTable)
        t.add_columns("Job", "Design", "Now", "Due")
        self.load()
        super().on_mount()

    def load(self) -> None:
        st = self.station
        fields = cards.batch_fields(st.shop, self.batch_id)
        self.query_one("#batch-title", Static).update(
            Text(f"BATCH {self.batch_id}", "bold reverse") + Text(f"  {fields['design'] or ''} — {fields['count']} pieces"))
        t = self.query_one("#batch-table", DataTable)
        t.clear()
        for jid in self.jobs:
            j = st.shop.job(jid)
            now = ", ".join(f"{st.site.stages[s].name} in progress" for s in j.in_progress()) or (
                "on hold" if j.hold else "complete" if j.complete else "waiting")
            t.add_row(jid, j.design, now, j.due, key=jid)

    def keys(self) -> list[tuple[str, str]]:
        return [("S", "Start all"), ("F", "Finish all"), ("V", "Verify all"), ("Esc", "back")]

    def back(self) -> None:
        self.app.pop_screen()

    def on_scan(self, p: payloads.Payload, text: str) -> bool:
        if p.kind is not K.COMMAND or p.value in KIOSK_COMMANDS:
            return False
        if p.value == "CANCEL":
            self.back()
        elif p.value in ("START", "FINISH", "VERIFY"):
            self.action_batch(p.value.lower())
        else:
            self.tell(f"{p.value} is done piece by piece: scan each job bag of the batch", "warn")
        return True

    def action_batch(self, what: str) -> None:
        st = self.station
        if st.person is None:
            return
        if what == "finish":
            stages = {self._stage_for(j, g.FINISH) for j in self.jobs} - {None}
            items: list[str] = []
            for sid in sorted(stages):
                items += [c for c in st.site.stages[sid].checklist if c not in items]
            if items:
                self.app.push_screen(ChecklistDialog(f"Finish batch {self.batch_id}: confirm for every piece", items),
                                     lambda confirmed: confirmed is not None and self._apply("finish", confirmed))
                return
        if what == "verify" and st.site.settings.supervisor_pin and st.person.pin:
            # verifying asks for the verifier's PIN, once for the batch
            self.app.push_screen(PinDialog(st.shop, st.person, bench=st.bench.id),
                                 lambda pin: pin is not None and self._apply("verify", (), pin))
            return
        self._apply(what, ())

    def _stage_for(self, job: str, kind: str) -> str | None:
        st = self.station
        return g.actionable_stage(st.site, st.shop.job(job), st.bench, kind)

    def _apply(self, what: str, checklist: tuple[str, ...] | list[str], pin: str | None = None) -> None:
        st = self.station
        shop, pid, bid = st.shop, st.person.id, st.bench.id

        def finish(job: str) -> Any:
            # each piece confirms the checks of its own stage, from those confirmed for the batch
            stage = st.site.stages.get(self._stage_for(job, g.FINISH) or "")
            mine = tuple(c for c in checklist if stage is not None and c in stage.checklist)
            return verbs.finish(shop, job, pid, bid, checklist=mine)

        verb_of = {"start": lambda j: verbs.start(shop, j, pid, bid), "finish": finish, "verify": lambda j: verbs.verify(shop, j, pid, bid, pin=pin)}
        try:
            res = verbs.batch_apply(shop, self.batch_id, verb_of[what], what)
        except FloorkioskError as exc:
            self.tell(str(exc), "error")
            return
        self.result = res
        t = Text()
        t.append(f"{what.upper()} on batch {self.batch_id}: {len(res.done)} done, {len(res.failed)} failed\n", "bold")
        if res.done:
            t.append("✓ " + ", ".join(res.done) + "\n")
        for job, why in res.failed:
            t.append(f"✗ {job}: ", "bold")
            t.append(why + "\n")
        self.query_one("#batch-result", Static).update(t)
        self.load()
        self.tell(f"{what} on batch {self.batch_id}: {len(res.done)} done, {len(res.failed)} failed",
                "ok" if not res.failed else "warn")
