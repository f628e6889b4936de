"""The supervisor's capacity screen (P on the worklist): the heatmap of load against declared hours, per
skill per week, and each person's week (declared hours, planned work, day by day); T turns to its second
view, the timeline of every open job (a text Gantt: each stage a bar of blocks on a day axis, ▼ and │
today, ◆ the due date, the critical stage red, late jobs marked) and projected CDPA for the next four
weeks (workshop.outlook, the HTML report's figures).

All of it reads the master schedule (workshop.schedule.master_schedule: kept in schedule.json while
nothing has moved, else made again within planning.toml's time limit) in a worker, on the kiosk's second
reader: the screen answers keys while it is made. ← and → move the person's week; R reads it anew.
"""

from __future__ import annotations

from collections import defaultdict
import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import ContentSwitcher, DataTable, Static

from floorkiosk.domain.calendar import week_label
from floorkiosk.domain.outlook import WeekOutlook
from floorkiosk.errors import FloorkioskError
from floorkiosk.kiosk.base import SupervisorScreen
from floorkiosk.kiosk.station import Station
from floorkiosk.workshop import capacity, outlook
from floorkiosk.workshop.kpi import today_of
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
    PlanScreen ContentSwitcher { height: 1fr; }
    PlanScreen #capacity-view { height: 1fr; }
    PlanScreen #timeline-view { height: 1fr; }
    PlanScreen .gantt-head { height: 1; padding: 0 1; text-style: bold; }
    PlanScreen #cdpa { height: auto; max-height: 5; }
    PlanScreen #gantt { height: 1fr; max-height: 100%; }
    PlanScreen .plan-head { height: 1; padding: 0 1; margin-top: 1; text-style: bold; }
    PlanScreen DataTable { height: auto; max-height: 20; background: black; }
    PlanScreen #plan-message { height: 1; padding: 0 1; }
    PlanScreen #plan-keys { height: 1; padding: 0 1; background: #303030; }
    """
    BINDINGS = [Binding("escape", "close", "back"), Binding("left", "week(-1)", "week before"),
                Binding("right", "week(1)", "week after"), Binding("r", "reload", "refresh"),
                Binding("t", "view", "timeline")]
    KEYS = {"capacity-view": "T timeline & projected CDPA   ←→ the person's week   R refresh   Esc or CANCEL: back",
            "timeline-view": "T capacity   ↑↓ PgUp PgDn the jobs   R refresh   Esc or CANCEL: back"}

    def __init__(self, station: Station) -> None:
        super().__init__()
        self.station = station
        self.master: Master | None = None
        self.week = 0  # the person's week shown: this week (0), the next (1) …
        self.timeline: list[outlook.TimelineRow] = []  # the most urgent open jobs, as the Gantt draws them
        self.projected: list[WeekOutlook] = []
        self.scale: Scale | None = None  # the Gantt's day axis as last drawn

    def compose(self) -> ComposeResult:
        yield Static("CAPACITY — making the schedule…", id="plan-title")
        with ContentSwitcher(initial="capacity-view"):
            with VerticalScroll(id="capacity-view"):
                yield Static("load against declared hours, by skill and week (planned work / hours declared)",
                             classes="plan-head")
                yield DataTable(id="heatmap", cursor_type="row", zebra_stripes=False)
                yield Static(id="week-head", classes="plan-head")
                yield DataTable(id="people", cursor_type="row", zebra_stripes=True)
            with Vertical(id="timeline-view"):
                yield Static("projected CDPA, next four weeks (promises due that the schedule keeps)",
                             classes="gantt-head")
                yield DataTable(id="cdpa", cursor_type="none", zebra_stripes=False)
                yield Static(id="gantt-head", classes="gantt-head")
                yield DataTable(id="gantt", cursor_type="row", zebra_stripes=False)
        yield Static(id="plan-message")
        yield Static(self.KEYS["capacity-view"], id="plan-keys")

    def on_mount(self) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        self.say("reading the master schedule…")
        self._make()

    @work(thread=True, exclusive=True, group="plan", exit_on_error=False)
    def _make(self) -> None:
        try:
            shop = self.station.reader()
            m = master_schedule(shop)
            rows = outlook.timeline(m, GANTT_ROWS)
            weeks = outlook.projected(m, today_of(shop))
        except FloorkioskError as exc:
            self.app.call_from_thread(self.say, str(exc), "error")
            return
        self.app.call_from_thread(self._show, m, rows, weeks)

    def _show(self, m: Master, rows: list[outlook.TimelineRow] | None = None,
              weeks: list[WeekOutlook] | None = None) -> None:
        if not self.is_attached:
            return
        self.master = m
        self.timeline = rows if rows is not None else outlook.timeline(m, GANTT_ROWS)
        self.projected = weeks if weeks is not None else outlook.projected(m, today_of(self.station.shop))
        plan = m.plan
        self.query_one("#plan-title", Static).update(
            f"CAPACITY & TIMELINE — {len(plan.ends)} open jobs, {len(plan.placements)} stages planned, {len(plan.late)} late "
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
        self._show_projected()
        self._show_gantt()
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
        if m is None or self.view != "capacity-view":
            return
        self.week = max(0, min(len(m.weeks) - 1, self.week + step))
        self._show_week()

    @property
    def view(self) -> str:
        return self.query_one(ContentSwitcher).current or "capacity-view"

    def action_view(self) -> None:
        """T: from the capacity view to the timeline and back."""
        new = "timeline-view" if self.view == "capacity-view" else "capacity-view"
        self.query_one(ContentSwitcher).current = new
        self.query_one("#plan-keys", Static).update(self.KEYS[new])
        if new == "timeline-view":
            self.query_one("#gantt", DataTable).focus()

    def on_resize(self) -> None:
        if self.master is not None:
            self._show_gantt()

    def _show_projected(self) -> None:
        t = self.query_one("#cdpa", DataTable)
        t.clear(columns=True)
        t.add_columns("week", "from", "promises due", "kept", "CDPA %", "late")
        for w in self.projected:
            late = " ".join(w.late[:6]) + (f" … +{len(w.late) - 6}" if len(w.late) > 6 else "")
            t.add_row(w.label, w.monday.strftime("%m-%d"), str(w.due), str(w.kept),
                      Text("-" if w.cdpa is None else f"{w.cdpa}", "bold red" if w.cdpa is not None and w.cdpa < 100
                           else "bold green" if w.cdpa is not None else "dim"), Text(late, "red"), key=w.label)

    def _gantt_span(self, now: datetime) -> tuple[datetime, datetime]:
        """From midnight of the earliest stage's or due date's day (a week back at most, and today at latest) to the last
        stage's end or due date (a week ahead at least, 91 days at most)."""
        tz = now.tzinfo
        starts = [b.start.astimezone(tz).date() for r in self.timeline for b in r.bars]
        starts += [r.due for r in self.timeline if r.due is not None]  # a late job's due date: on the axis
        first_day = max(min([now.date()] + starts), now.date() - timedelta(days=7))
        first = datetime.combine(first_day, time.min, tz)
        ends = [b.end for r in self.timeline for b in r.bars]
        ends += [datetime.combine(r.due, time.max, tz) for r in self.timeline if r.due is not None]
        last = min(max([now + timedelta(days=7)] + ends), first + timedelta(days=91))
        return first, last

    def _show_gantt(self) -> None:
        m = self.master
        if m is None:
            return
        now = m.when(0)
        wide = self.size.width >= 120
        # the columns before the bars: job, LATE/rush, due, planned end (and what holds it back, when wide),
        # each with a cell's padding either side, and the table's scrollbar
        fixed = [("job", 8), ("", 4), ("due", 5), ("end", 5)] + ([("held back by", 14)] if wide else [])
        width = max(14, self.size.width - sum(w + 2 for _, w in fixed) - 2 - 2 - 1)
        first, last = self._gantt_span(now)
        scale = self.scale = Scale.fit(first, last, width)
        colours = skill_colours(self.timeline)
        n_late = len(m.plan.late) + len({u.job for u in m.plan.unplaceable})
        head = Text(f"{len(m.info)} open jobs", "bold")
        if len(m.info) > len(self.timeline):
            head.append(f" ({len(self.timeline)} most urgent)", "bold")
        head.append(f", {n_late} late · ")
        head.append("▼│", "bold red")
        head.append(" today ")
        head.append(DUE, "bold")
        head.append(" due ")
        head.append(BAR, CRITICAL)
        head.append(" critical · ")
        head.append(scale.words(), "dim")
        self.query_one("#gantt-head", Static).update(head)
        t = self.query_one("#gantt", DataTable)
        row = t.cursor_row
        t.clear(columns=True)
        for label, w in fixed:
            t.add_column(label, width=w, key=label or "flag")
        t.add_column(gantt_axis(scale, now), width=width, key="timeline")
        for r in self.timeline:
            flag = Text("LATE", "bold white on red") if r.late else Text("rush", "bold yellow") if r.rush else ""
            end = Text(r.end.strftime("%m-%d"), "bold red" if r.late else "") if r.end else Text("none", "bold red")
            cells = [Text(r.job, "bold red" if r.late else "bold"), flag,
                     r.due.strftime("%m-%d") if r.due else "-", end]
            if wide:
                cells.append(Text(r.critical[:14], CRITICAL if r.late else ""))
            t.add_row(*cells, gantt_bar(r, scale, now, colours), key=r.job)
        if self.timeline:
            t.move_cursor(row=min(row, len(self.timeline) - 1))


# --- the timeline of open jobs (a text Gantt) and projected CDPA --------------------------------------
GANTT_ROWS = 400  # the most urgent jobs drawn (late first, then by due date); `floorkiosk schedule` has them all
PALETTE = ("cyan", "green", "blue", "magenta", "yellow", "bright_cyan", "bright_green", "bright_blue")
CRITICAL = "bold bright_red"
BAR, TODAY, DUE = "█", "│", "◆"
TODAY_AXIS = "bold white on red"


@dataclass(frozen=True)
class Scale:
    """The Gantt's day axis: `width` columns from midnight of `first`, `per_day` columns a day (below 1: a
    column holds several days)."""

    first: datetime
    per_day: float
    width: int

    @staticmethod
    def fit(first: datetime, last: datetime, width: int) -> Scale:
        """The widest day that fits the days from `first` (a midnight) to `last` in `width` columns: 8, 6, 4,
        3, 2 or 1 columns a day, else 2, 3 … days a column."""
        days = max(7, (last - first).total_seconds() / 86400)
        for per_day in (8, 6, 4, 3, 2, 1):
            if days * per_day <= width:
                return Scale(first, per_day, width)
        return Scale(first, 1 / math.ceil(days / width), width)

    def col(self, t: datetime) -> int:
        """The column holding moment t (may lie outside 0..width-1)."""
        return math.floor(self._days(t) * self.per_day)

    def end_col(self, t: datetime) -> int:
        """One past the last column a span ending at t reaches."""
        return math.ceil(self._days(t) * self.per_day)

    def _days(self, t: datetime) -> float:
        # in the site's wall-clock time: a day of 23 or 25 hours (DST) is still one day of columns
        return (t.astimezone(self.first.tzinfo).replace(tzinfo=None) - self.first.replace(tzinfo=None)
                ).total_seconds() / 86400

    def day_col(self, d: date) -> int:
        """The column of the last moment of day d: where its due marker goes."""
        return self.col(datetime.combine(d, time.max, self.first.tzinfo))

    def words(self) -> str:
        if self.per_day >= 1:
            return f"{self.per_day:g} col/day"
        return f"{round(1 / self.per_day)} days/col"


def skill_colours(rows: list[outlook.TimelineRow]) -> dict[str, str]:
    skills = sorted({b.skill for r in rows for b in r.bars})
    return {sk: PALETTE[i % len(PALETTE)] for i, sk in enumerate(skills)}


def gantt_bar(row: outlook.TimelineRow, scale: Scale, now: datetime, colours: dict[str, str]) -> Text:
    """One job's stages as bars of blocks on the day axis: the critical stage red, ◆ its due date, │ today
    where no stage is; › where its work goes on beyond the axis, » where its due date lies beyond it."""
    w = scale.width
    chars = [" "] * w
    styles = [""] * w
    for b in sorted(row.bars, key=lambda b: b.critical):  # the critical stage last: never hidden by another
        a, z = scale.col(b.start), max(scale.end_col(b.end), scale.col(b.start) + 1)
        for c in range(max(0, a), min(w, z)):
            chars[c], styles[c] = BAR, CRITICAL if b.critical else colours.get(b.skill, "white")
        if z > w:
            chars[w - 1], styles[w - 1] = "›", CRITICAL if b.critical else "bold"
    t = scale.col(now)
    if 0 <= t < w and chars[t] == " ":
        chars[t], styles[t] = TODAY, "red"
    if row.due is not None:
        d = scale.day_col(row.due)
        if 0 <= d < w:
            chars[d], styles[d] = DUE, "bold white on red" if row.late else "bold white"
        elif d >= w:
            chars[w - 1], styles[w - 1] = "»", "bold white"
    out = Text()
    for ch, st in zip(chars, styles):
        out.append(ch, st)
    return out


def gantt_axis(scale: Scale, now: datetime) -> Text:
    """The day axis above the bars: each day's date (each Monday's, or every other, where days are
    narrow); today's column on red (▼ where no digit is)."""
    w = scale.width
    chars = [" "] * w
    tz = scale.first.tzinfo
    day = scale.first.date()
    every = 1 if scale.per_day >= 3 else 7 * max(1, math.ceil(1 / scale.per_day))
    while (c := scale.col(datetime.combine(day, time.min, tz))) < w:
        if every == 1 or (day.weekday() == 0 and ((day - scale.first.date()).days // 7) % (every // 7) == 0):
            label = "|" + (day.strftime("%a")[:2] + day.strftime(" %d") if scale.per_day >= 6 else
                           day.strftime("%d") if scale.per_day >= 3 else day.strftime("%m-%d"))
            for i, ch in enumerate(label):
                if 0 <= c + i < w:
                    chars[c + i] = ch
        day += timedelta(days=1)
    t = scale.col(now)
    if not 0 <= t < w:
        return Text("".join(chars), "dim")
    mark = "▼" if chars[t] in " |" else chars[t]  # a date's digit stays, on red
    return Text("".join(chars[:t]), "dim") + Text(mark, TODAY_AXIS) + Text("".join(chars[t + 1:]), "dim")
