"""The supervisor's capacity screen (P on the worklist): the heatmap of load against declared hours, per
skill per week, and each person's week (declared hours, planned work, day by day).

Both read the master schedule (workshop.schedule.master_schedule: kept in schedule.json while nothing
has moved, else made again within planning.toml's time limit) in a worker, on the kiosk's second
reader: the screen answers keys while it is made. ← and → move the person's week; R reads it anew.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Static

from floorkiosk.domain.calendar import week_label
from floorkiosk.errors import FloorkioskError
from floorkiosk.kiosk.base import SupervisorScreen
from floorkiosk.kiosk.station import Station
from floorkiosk.workshop import capacity
from floorkiosk.workshop.schedule import Master, master_schedule

WEEKS_SHOWN = 6
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def load_cell(load_min: float, cap_min: float) -> Text:
    """'12/30 h 40%', coloured as a heatmap: over 100 % red, from 80 % yellow, else green; '-' for nothing."""
    if not cap_min and not load_min:
        return Text("-", "dim")
    if not cap_min:
        return Text(f"{load_min / 60:.0f}/0 h !", "bold white on red")
    pct = 100 * load_min / cap_min
    style = "bold white on red" if pct > 100 else "bold black on yellow" if pct >= 80 else "black on green" \
        if pct >= 1 else ""
    return Text(f"{load_min / 60:.0f}/{cap_min / 60:.0f} h {pct:.0f}%", style)


def person_days(m: Master, person: str, monday: date) -> dict[date, float]:
    """Planned work minutes of a person on each day of the week of `monday` (a stage's work spread over its span)."""
    axis = m.axis
    tz = axis.cal.tz
    bounds = []
    for i in range(8):
        d = monday + timedelta(days=i)
        bounds.append((d, axis.at(datetime.combine(d, time.min, tz)) if d > axis.origin.date() else 0))
    out: dict[date, float] = defaultdict(float)
    for p in m.plan.placements:
        if p.person != person or p.end <= p.start:
            continue
        work = m.work_minutes.get((p.job, p.stage), p.end - p.start)
        pace = work / (p.end - p.start)
        for (d, a), (_, b) in zip(bounds, bounds[1:]):
            overlap = min(p.end, b) - max(p.start, a)
            if overlap > 0:
                out[d] += overlap * pace
    return out


class PlanScreen(SupervisorScreen):
    """The capacity heatmap and each person's week, from the master schedule."""

    MESSAGE_ID = "plan-message"
    DEFAULT_CSS = """
    PlanScreen { layout: vertical; }
    PlanScreen #plan-title { height: 1; padding: 0 1; background: #ffd700; color: black; text-style: bold; }
    PlanScreen #plan-body { height: 1fr; }
    PlanScreen .plan-head { height: 1; padding: 0 1; margin-top: 1; text-style: bold; }
    PlanScreen DataTable { height: auto; max-height: 20; background: black; }
    PlanScreen #plan-message { height: 1; padding: 0 1; }
    PlanScreen #plan-keys { height: 1; padding: 0 1; background: #303030; }
    """
    BINDINGS = [Binding("escape", "close", "back"), Binding("left", "week(-1)", "week before"),
                Binding("right", "week(1)", "week after"), Binding("r", "reload", "refresh")]

    def __init__(self, station: Station) -> None:
        super().__init__()
        self.station = station
        self.master: Master | None = None
        self.week = 0  # the person's week shown: this week (0), the next (1) …

    def compose(self) -> ComposeResult:
        yield Static("CAPACITY — making the schedule…", id="plan-title")
        with VerticalScroll(id="plan-body"):
            yield Static("load against declared hours, by skill and week (planned work / hours declared)",
                         classes="plan-head")
            yield DataTable(id="heatmap", cursor_type="row", zebra_stripes=False)
            yield Static(id="week-head", classes="plan-head")
            yield DataTable(id="people", cursor_type="row", zebra_stripes=True)
        yield Static(id="plan-message")
        yield Static("←→ the person's week   R refresh   Esc or CANCEL: back", id="plan-keys")

    def on_mount(self) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        self.say("reading the master schedule…")
        self._make()

    @work(thread=True, exclusive=True, group="plan", exit_on_error=False)
    def _make(self) -> None:
        try:
            m = master_schedule(self.station.reader())
        except FloorkioskError as exc:
            self.app.call_from_thread(self.say, str(exc), "error")
            return
        self.app.call_from_thread(self._show, m)

    def _show(self, m: Master) -> None:
        if not self.is_attached:
            return
        self.master = m
        plan = m.plan
        self.query_one("#plan-title", Static).update(
            f"CAPACITY — {len(plan.ends)} open jobs, {len(plan.placements)} stages planned, {len(plan.late)} late "
            f"({plan.method})")
        weeks = [week_label(w) for w in m.weeks[:WEEKS_SHOWN]]
        t = self.query_one("#heatmap", DataTable)
        t.clear(columns=True)
        t.add_columns("skill", *weeks)
        load = m.load()
        skills = sorted({k[0] for k in m.capacity_minutes} | {k[0] for k in load})
        for sk in skills:
            t.add_row(sk, *(load_cell(load.get((sk, w), 0.0), m.capacity_minutes.get((sk, w), 0.0)) for w in weeks),
                      key=sk)
        self._show_week()
        unplaced = len(plan.unplaceable)
        self.say(f"{unplaced} stage{'s' if unplaced != 1 else ''} no one can do: see `floorkiosk schedule`"
                 if unplaced else "", "warn" if unplaced else "info")

    def _show_week(self) -> None:
        m = self.master
        if m is None or not m.weeks:
            return
        shop = self.station.shop
        monday = m.weeks[min(self.week, len(m.weeks) - 1)]
        cal = shop.site.planning.calendar
        days = [monday + timedelta(days=i) for i in range(7) if cal.works(monday + timedelta(days=i))]
        self.query_one("#week-head", Static).update(
            f"each person's week {week_label(monday)} ({cal.week_hours(monday):g} working hours): declared, planned, "
            "by day")
        t = self.query_one("#people", DataTable)
        t.clear(columns=True)
        t.add_columns("person", "declared", "planned", *(DAY_NAMES[d.weekday()] + d.strftime(" %d") for d in days))
        decl = capacity.declared(shop)
        for p in shop.site.people.values():
            if not p.skills:
                continue
            c = capacity.capacity_of(shop, p.id, monday, decl)
            declared = sum(c.values()) if c is not None else cal.week_hours(monday)
            said = f"{declared:g} h" + ("" if c is not None else " (any)")
            per_day = person_days(m, p.id, monday)
            planned = sum(per_day.values()) / 60
            over = declared and planned > declared + 1e-6
            t.add_row(p.name, said, Text(f"{planned:.1f} h", "bold white on red" if over else "bold"),
                      *(f"{per_day.get(d, 0.0) / 60:.1f}" if per_day.get(d) else "-" for d in days), key=p.id)

    def action_week(self, step: int) -> None:
        m = self.master
        if m is None:
            return
        self.week = max(0, min(len(m.weeks) - 1, self.week + step))
        self._show_week()
