"""Production KPIs of seed 001 and the flow figures of the board: pure formulas and folds. No I/O.

Definitions (BRIEF.md, used exactly):

* **YVR** Yield Variance Rate = actual metal used / theoretical metal required x 100, by alloy and by
  casting method. Per casting batch (tree), the theoretical metal required is the metal put in; the
  actual metal used is what that metal became and was accounted for: the pieces after cut-off plus
  the sprue and buttons back. Seed 001: "a YVR of 96.5% means 3.5% metal loss".
* **FTRR** First-Time-Right Rate = pieces with zero rework / pieces completed x 100. A piece is a job
  (overall and by route: jobs completed, right first time if never sent back), or a job's pass through
  one stage (by stage and by person). A pass is right first time when it is completed and never sent
  back; a pass sent back by a ``stage.rejected`` is not, and is counted on the day of the rejection
  against the stage that redoes it and the person whose run was rejected: exactly the defects the QC
  Pareto charges. Its later rework completion is not counted again. So by stage and by person,
  FTRR = passes right first time / (passes right first time + passes sent back) x 100, and every
  stage or person the Pareto charges a defect to in a period is below 100 % for that period.
* **CDPA** Client Delivery Promise Adherence = delivered on or before the promised date / promised
  deliveries x 100, excluding jobs with a client-initiated delay (counted separately). Delivered = the
  job's ``delivery`` stage completed (the route's last stage where a route has no delivery); the
  promised date is the job's ``due``. A promised delivery of a period is a job promised within it that
  was delivered, or whose promised date has passed; one still open and not yet due is pending.
  A client delay recorded after the promise it moves had passed is late work relabelled: the job is
  not excluded but judged against its first promise like any other, and counted apart as "late, then
  relabelled".

A job's due state (``due_state``) is the one reading of its dates every view shares: the promise is
the date first promised, moved by client-initiated delays only (a shop-initiated delay names the
shop's own new date and leaves the promise standing); lateness is the promise against the site's
today in its time zone: days left (negative: days late), late when open and past the promise (the
promised day itself is still on time).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import lru_cache
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone, tzinfo
from decimal import Decimal

from floorkiosk.domain import events as ev
from floorkiosk.domain import standards as dstd
from floorkiosk.domain.config import Route
from floorkiosk.domain.state import downstream

DELIVERY = "delivery"
JOB_DELAYED = "job.delayed"  # {by: client|shop, new_due, old_due, reason, supervisor, late_days}
DELAY_BY = ("client", "shop")

TODO, IN_PROGRESS, DONE, VERIFIED, REWORK = "todo", "in progress", "done", "verified", "rework"
HUNDRED = Decimal(100)
PCT = Decimal("0.1")


def delivery_stage(route: Route) -> str | None:
    """The stage whose completion delivers a job of this route."""
    if not route.steps:
        return None
    return DELIVERY if DELIVERY in route.stage_ids else route.steps[-1].stage


def ratio_pct(num: Decimal | int, den: Decimal | int) -> Decimal | None:
    """num / den x 100 to one decimal; None when there is nothing to divide by."""
    if not den:
        return None
    return (Decimal(num) * HUNDRED / Decimal(den)).quantize(PCT)


def yvr(actual: Decimal | int, theoretical: Decimal | int) -> Decimal | None:
    """Yield Variance Rate: actual metal used / theoretical metal required x 100."""
    return ratio_pct(actual, theoretical)


def ftrr(first_time_right: int, completed: int) -> Decimal | None:
    """First-Time-Right Rate: pieces with zero rework / pieces completed x 100."""
    return ratio_pct(first_time_right, completed)


def cdpa(on_time: int, promised: int) -> Decimal | None:
    """Client Delivery Promise Adherence: delivered on or before the promise / promised deliveries x 100."""
    return ratio_pct(on_time, promised)


# --- a job's promise, lateness and delays: the one reading every view shares --------------------
def as_date(value: str | date | None) -> date | None:
    """An ISO date (the first ten characters of a date or a timestamp); None for nothing or garbage."""
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def site_today(now: datetime, tz: tzinfo) -> date:
    """The site's calendar day at the instant `now`, in the site's time zone."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    return now.astimezone(tz).date()


def moved(promise: date | None, by: str, new_due: date | None, day: date | None) -> tuple[date | None, bool]:
    """(the promise after one delay, whether that delay relabels late work as the client's).

    Only a client-initiated delay moves the promise; a shop-initiated one names the shop's own new
    date and leaves the promise standing. A client delay recorded on a day after the promise it
    moves (the work was late already) is relabelled late work: it moves the date worked to, and CDPA
    still judges the job against its first promise.
    """
    if by != "client" or new_due is None:
        return promise, False
    return new_due, promise is not None and day is not None and day > promise


def lateness(promise: date | None, today: date, done: bool = False) -> tuple[int | None, bool]:
    """(days left until the promise, negative when late; late): late is open work past its promise.

    The promised day itself is still on time: a piece finished during it keeps the promise.
    """
    if promise is None:
        return None, False
    left = (promise - today).days
    return left, left < 0 and not done


@dataclass(frozen=True)
class Delay:
    by: str  # client or shop
    new_due: date | None
    day: date | None  # the site's day it was recorded
    relabelled: bool = False  # a client delay recorded after the promise it moved had passed


@dataclass(frozen=True)
class DueState:
    """A job's promise, its lateness against the site's today, and its delays."""

    first: date | None  # the date first promised
    promise: date | None  # moved by client-initiated delays only
    days_left: int | None  # until the promise; negative: days late
    late: bool  # open and past the promise
    delays: tuple[Delay, ...] = ()
    done: bool = False

    @property
    def due(self) -> str:
        return self.promise.isoformat() if self.promise else ""

    @property
    def client_delays(self) -> int:
        return sum(1 for d in self.delays if d.by == "client")

    @property
    def shop_delays(self) -> int:
        return sum(1 for d in self.delays if d.by != "client")

    @property
    def relabelled(self) -> int:
        """Client delays recorded after the promise they moved had passed."""
        return sum(1 for d in self.delays if d.relabelled)

    @property
    def shop_date(self) -> date | None:
        """The shop's own later date, where its last delay named one past the promise."""
        dates = [d.new_due for d in self.delays if d.by != "client" and d.new_due]
        return dates[-1] if dates and self.promise and dates[-1] > self.promise else None


def due_state(first_due: str | date | None, delays: Iterable[tuple[str, str | date | None, str | date | None]],
              today: date, done: bool = False) -> DueState:
    """A job's due state from its first promise and its delays in journal order: (by, new due, day recorded)."""
    first = promise = as_date(first_due)
    seen = []
    for by, new_due, day in delays:
        nd, d = as_date(new_due), as_date(day)
        promise, relabel = moved(promise, by, nd, d)
        seen.append(Delay(by, nd, d, relabel))
    left, late = lateness(promise, today, done)
    return DueState(first, promise, left, late, tuple(seen), done)


# --- YVR --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CastBatch:
    """A casting batch (tree) once cut off: weights in grams."""

    tree: str
    alloy: str
    method: str
    metal_in: Decimal
    pieces: Decimal
    sprue: Decimal
    buttons: Decimal

    @property
    def accounted(self) -> Decimal:
        return self.pieces + self.sprue + self.buttons


@dataclass(frozen=True)
class YieldLine:
    key: str
    trees: int
    theoretical: Decimal  # metal in, g
    actual: Decimal  # pieces + sprue + buttons, g
    pieces: Decimal

    @property
    def yvr(self) -> Decimal | None:
        return yvr(self.actual, self.theoretical)

    @property
    def loss(self) -> Decimal:
        return self.theoretical - self.actual


def yield_by(batches: Iterable[CastBatch], key: str) -> list[YieldLine]:
    """YVR per alloy (key='alloy') or per casting method (key='method'), largest metal in first."""
    acc: dict[str, list] = {}
    for b in batches:
        k = getattr(b, key)
        a = acc.setdefault(k, [0, Decimal(0), Decimal(0), Decimal(0)])
        a[0] += 1
        a[1] += b.metal_in
        a[2] += b.accounted
        a[3] += b.pieces
    lines = [YieldLine(k, n, th, ac, pc) for k, (n, th, ac, pc) in acc.items()]
    return sorted(lines, key=lambda ln: (-ln.theoretical, ln.key))


def yield_total(batches: Iterable[CastBatch]) -> YieldLine:
    bs = list(batches)
    return YieldLine("all", len(bs), sum((b.metal_in for b in bs), Decimal(0)),
                     sum((b.accounted for b in bs), Decimal(0)), sum((b.pieces for b in bs), Decimal(0)))


# --- FTRR -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RateLine:
    key: str
    good: int
    total: int
    sent_back: int = 0  # passes through a stage sent back by a rejection (by stage and by person)

    @property
    def pct(self) -> Decimal | None:
        return ratio_pct(self.good, self.total)


def rate_lines(counts: Iterable[tuple[str, int, int]]) -> list[RateLine]:
    """(key, first time right, completed) rows -> lines, sorted by key; empty keys dropped."""
    acc: dict[str, list[int]] = {}
    for key, good, total in counts:
        if not key or not total:
            continue
        a = acc.setdefault(key, [0, 0])
        a[0] += good
        a[1] += total
    return [RateLine(k, g, t) for k, (g, t) in sorted(acc.items()) if t]


def pass_lines(right: Iterable[tuple[str, int]], sent_back: Iterable[tuple[str, int]]) -> list[RateLine]:
    """FTRR of passes through a stage, by stage or by person, sorted by key; empty keys dropped.

    right: (key, passes completed right first time); sent_back: (key, passes sent back by a rejection,
    as the defect Pareto charges them). A pass sent back is a piece that was not right first time.
    """
    acc: dict[str, list[int]] = {}
    for col, rows in ((0, right), (1, sent_back)):
        for key, n in rows:
            if key and n:
                acc.setdefault(key, [0, 0])[col] += n
    return [RateLine(k, g, g + b, b) for k, (g, b) in sorted(acc.items())]


# --- CDPA -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Promise:
    job: str
    promised: date  # the job's due as first promised
    delivered: date | None  # day the delivery stage completed
    client_delayed: bool  # a client-initiated delay: excluded from CDPA, counted separately
    client_delay_days: int = 0
    due_now: date | None = None  # the promise now (moved by client delays)
    route: str = ""
    relabelled: bool = False  # a client delay recorded when it was late already: judged, not excluded


@dataclass(frozen=True)
class DeliveryAdherence:
    promised: int  # promised deliveries counted (delivered, or promised date passed)
    on_time: int
    late_delivered: int
    missed_open: int  # promised date passed, not delivered yet
    pending: int  # promised within the period, not yet due and not yet delivered
    client_delayed: int  # excluded from CDPA
    client_delay_days: int
    client_delayed_kept: int  # client-delayed jobs delivered by their new date
    late_jobs: tuple[str, ...] = ()
    relabelled: int = 0  # late, then relabelled a client delay: counted in CDPA as broken promises, and apart

    @property
    def cdpa(self) -> Decimal | None:
        return cdpa(self.on_time, self.promised)


def promise_class(p: Promise, today: date) -> tuple[bool, bool, bool, bool, bool, bool]:
    """(excluded, delivered, on or before the promise, promise passed, by the new date, relabelled) of one promise.

    Excluded: a client-initiated delay recorded in time. A job whose client delay relabelled late
    work is judged against its first promise like any other.
    """
    delivered = p.delivered is not None
    return (p.client_delayed and not p.relabelled, delivered, delivered and p.delivered <= p.promised,
            p.promised < today, delivered and p.due_now is not None and p.delivered <= p.due_now, p.relabelled)


def adherence_from_classes(groups: Iterable[tuple], late_jobs: Iterable[str] = ()) -> DeliveryAdherence:
    """CDPA from promises counted by class: (excluded, delivered, on time, passed, kept, relabelled, count, delay days).

    The database counts the classes in one grouped query; `promise_class` says what they mean.
    """
    promised = on_time = late = missed = pending = cd = cd_days = cd_kept = relabelled = 0
    for excluded, delivered, in_time, passed, kept, relabel, n, days in groups:
        if excluded:
            cd += n
            cd_days += days or 0
            cd_kept += n if kept else 0
            continue
        relabelled += n if relabel else 0
        if delivered:
            promised += n
            if in_time:
                on_time += n
            else:
                late += n
        elif passed:
            promised += n
            missed += n
        else:
            pending += n
    return DeliveryAdherence(promised, on_time, late, missed, pending, cd, cd_days, cd_kept, tuple(late_jobs),
                             relabelled)


def delivery_adherence(promises: Iterable[Promise], today: date) -> DeliveryAdherence:
    groups, late_jobs = [], []
    for p in promises:
        c = promise_class(p, today)
        groups.append((*c, 1, p.client_delay_days))
        if not c[0] and ((c[1] and not c[2]) or (not c[1] and c[3])):
            late_jobs.append(p.job)
    return adherence_from_classes(groups, late_jobs)


def promise_word(p: Promise, today: date) -> str:
    """How one promise is counted, in words (the report's promises and broken promises)."""
    excluded, delivered, in_time, passed, _, relabelled = promise_class(p, today)
    if excluded:
        return "excluded: client-initiated delay"
    if relabelled:
        return "late, then relabelled"
    if delivered:
        return "on time" if in_time else "late"
    return "missed (not delivered)" if passed else "pending"


# --- flow: WIP, lead time, throughput, bottleneck, risk ----------------------------------------
@lru_cache(maxsize=65536)
def parse_ts(ts: str) -> datetime:
    t = datetime.fromisoformat(ts)
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def hours_between(a: str | None, b: str | None) -> float:
    if not a or not b:
        return 0.0
    return max(0.0, (parse_ts(b) - parse_ts(a)).total_seconds() / 3600)


@dataclass(frozen=True)
class WipLine:
    stage: str
    waiting: int
    in_progress: int
    to_verify: int
    on_hold: int
    mean_age_h: float  # hours since the pieces entered the stage
    max_age_h: float

    @property
    def total(self) -> int:
        return self.waiting + self.in_progress + self.to_verify


def wip_summary(groups: Iterable[tuple], stage_order: list[str]) -> list[WipLine]:
    """Pieces at each stage now, from groups (stage, status, ready, count, on hold, sum of ages h, max age h)."""
    acc: dict[str, list] = {}
    for stage, status, ready, n, hold, age_sum, age_max in groups:
        a = acc.setdefault(stage, [0, 0, 0, 0, 0.0, 0.0])
        i = 0 if ready else 1 if status == IN_PROGRESS else 2 if status == DONE else 0
        a[i] += n
        a[3] += hold or 0
        a[4] += age_sum or 0.0
        a[5] = max(a[5], age_max or 0.0)
    order = {s: i for i, s in enumerate(stage_order)}
    out = []
    for stage, (w, p, v, h, age_sum, age_max) in acc.items():
        n = w + p + v
        out.append(WipLine(stage, w, p, v, h, round(age_sum / n, 1) if n else 0.0, round(age_max, 1)))
    return sorted(out, key=lambda x: order.get(x.stage, 999))


@dataclass(frozen=True)
class StageFlow:
    """A stage over a period: arrivals, starts, completions, first-time-right, lead times (hours)."""

    stage: str
    arrived: int
    started: int
    withdrawn: int
    done: int
    ftr: int
    lead_h: float  # mean, entering the stage -> completing it
    wait_h: float  # mean, entering -> first start
    work_h: float  # mean, first start -> completing

    @property
    def queue_growth(self) -> int:
        return self.arrived - self.started - self.withdrawn


def stage_flows(rows: Iterable[tuple], stage_order: list[str]) -> list[StageFlow]:
    """rows: (stage, arrived, started, withdrawn, done, ftr, lead_s, wait_s, work_s) summed over a period."""
    order = {s: i for i, s in enumerate(stage_order)}
    out = []
    for stage, arr, st, wd, done, ftr_, lead, wait, work in rows:
        n = done or 0
        out.append(StageFlow(stage, arr or 0, st or 0, wd or 0, n, ftr_ or 0,
                             round((lead or 0) / n / 3600, 1) if n else 0.0,
                             round((wait or 0) / n / 3600, 1) if n else 0.0,
                             round((work or 0) / n / 3600, 1) if n else 0.0))
    return sorted(out, key=lambda f: order.get(f.stage, 999))


@dataclass(frozen=True)
class Bottleneck:
    stage: str | None
    why: str
    growth: int = 0
    mean_age_h: float = 0.0


def bottleneck(flows: list[StageFlow], wip: list[WipLine]) -> Bottleneck:
    """The stage whose queue grew most over the period; if none grew, the one whose queue is oldest."""
    grown = [f for f in flows if f.queue_growth > 0]
    age = {w.stage: w.mean_age_h for w in wip}
    if grown:
        f = max(grown, key=lambda f: (f.queue_growth, age.get(f.stage, 0.0)))
        return Bottleneck(f.stage, f"its queue grew by {f.queue_growth} over the period", f.queue_growth,
                          age.get(f.stage, 0.0))
    waiting = [w for w in wip if w.waiting or w.to_verify]
    if waiting:
        w = max(waiting, key=lambda w: (w.mean_age_h, w.total))
        return Bottleneck(w.stage, f"its queue is the oldest (mean {w.mean_age_h:.1f} h)", 0, w.mean_age_h)
    return Bottleneck(None, "no queue grew and none is waiting")


@dataclass(frozen=True)
class Throughput:
    days: tuple[tuple[str, int], ...]  # (day, jobs delivered)
    delivered: int
    completed_stages: int

    @property
    def per_day(self) -> float:
        return round(self.delivered / len(self.days), 2) if self.days else 0.0


def throughput(delivered_by_day: dict[str, int], start: date, end: date, completed_stages: int) -> Throughput:
    days = []
    d = start
    while d <= end:
        days.append((d.isoformat(), delivered_by_day.get(d.isoformat(), 0)))
        d += timedelta(days=1)
    return Throughput(tuple(days), sum(n for _, n in days), completed_stages)


@dataclass(frozen=True)
class AtRisk:
    job: str
    due: date
    days_left: int
    remaining_h: float  # the mean lead times of the stages still to do
    remaining_stages: tuple[str, ...]
    late: bool  # already past its due date
    design: str = ""
    route: str = ""
    planned_end: date | None = None  # the master schedule's end of its work (basis "schedule")
    why: str = ""  # the stage that makes it late, in words (basis "schedule")
    basis: str = "lead time"  # "schedule": the master schedule says it; "lead time": the mean lead times


def at_risk(open_jobs: Iterable[tuple[str, date, list[str], str, str]], lead_h: dict[str, float], today: date,
            hours_per_day: float = 24.0) -> list[AtRisk]:
    """Open jobs that are late, or whose remaining stages (at their mean lead time) end after the due date.

    open_jobs: (job, due, stages still to do, design, route).
    """
    out = []
    for job, due, remaining, design, route in open_jobs:
        need = sum(lead_h.get(s, 0.0) for s in remaining)
        left, late = lateness(due, today)
        left = 0 if left is None else left  # never: a date is always given here
        # the due day itself still counts: a piece finished during it is on time
        if late or need > (left + 1) * hours_per_day:
            out.append(AtRisk(job, due, left, round(need, 1), tuple(remaining), late, design, route))
    return sorted(out, key=lambda r: (r.days_left, -r.remaining_h, r.job))


# --- the per-job stage fold behind the board and the flow tables ------------------------------
@dataclass(slots=True)
class StageRow:
    """One job's position at one stage, as the KPI tables keep it."""

    job: str
    stage: str
    status: str = TODO
    ready: int = 0
    entered_at: str | None = None  # first time it could start (its prerequisites were met)
    ready_at: str | None = None  # when its current visit began
    started_at: str | None = None
    started_by: str | None = None
    started_bench: str | None = None
    first_started_at: str | None = None
    first_by: str | None = None  # who first finished it: a rework counts against that pass
    finished_by: str | None = None
    done_at: str | None = None  # completed (finished, or verified where it must be); None while not
    runs: int = 0
    reworks: int = 0
    counted_ftr: int = 0  # whether its counted completion was first time right


@dataclass(slots=True)
class JobRow:
    job: str
    route: str
    alloy: str = ""
    design: str = ""
    client: str = ""
    priority: str = "normal"
    created_at: str = ""
    promised: str = ""  # due date as first promised
    due: str = ""  # the promise now: moved by client-initiated delays only (see `moved`)
    client_delays: int = 0
    client_delay_days: int = 0
    shop_delays: int = 0
    delivered_at: str | None = None
    completed_at: str | None = None
    reworks: int = 0
    on_hold: int = 0
    relabelled: int = 0  # client delays recorded after the promise they moved had passed
    standards: int = dstd.FIRST  # the version of the standards it runs under: its route is that version's


@dataclass
class Tally:
    """Per-day counters the fold adds to (and takes back from, when rework undoes a completion)."""

    rows: dict[tuple, list[float]] = field(default_factory=dict)
    # where a counter not in `rows` starts from (a rebuild reads back what it wrote); zeros without it
    load: Callable[[tuple], list[float]] | None = None

    # columns: arrived, started, withdrawn, done, ftr, lead_s, wait_s, work_s
    # The times are whole milliseconds (events are stamped to the millisecond), and each sum is
    # rounded to them: a sum then comes out the same whatever order its terms are added in, so
    # benches that folded the same events in different orders hold the same counters to the bit.
    def add(self, key: tuple, col: int, v: float = 1) -> None:
        r = self.rows.get(key)
        if r is None:
            r = self.rows[key] = self.load(key) if self.load is not None else [0, 0, 0, 0, 0, 0.0, 0.0, 0.0]
        r[col] = round(r[col] + v, 3) if col >= LEAD_S else r[col] + v


ARRIVED, STARTED, WITHDRAWN, DONE_N, FTR_N, LEAD_S, WAIT_S, WORK_S = range(8)


@lru_cache(maxsize=65536)
def _epoch(ts: str) -> float:
    return parse_ts(ts).timestamp()


def _seconds(a: str | None, b: str | None) -> float:
    """Seconds from a to b, to the millisecond the events are stamped with."""
    if not a or not b:
        return 0.0
    return max(0.0, round(_epoch(b) - _epoch(a), 3))


@dataclass(frozen=True)
class RouteBook:
    """One version of the standards as the flow reads it: its routes, the stages that must be verified,
    each stage's prerequisites and each route's delivery stage."""

    routes: dict[str, Route]
    needs_verify: frozenset[str]
    after: dict[str, dict[str, tuple[str, ...]]]
    delivery: dict[str, str | None]

    @classmethod
    def of(cls, routes: dict[str, Route], needs_verify: frozenset[str] | set[str]) -> RouteBook:
        return cls(routes, frozenset(needs_verify), {rid: {st.stage: st.after for st in r.steps} for rid, r in routes.items()},
                   {rid: delivery_stage(r) for rid, r in routes.items()})


class Flow:
    """Folds job events into each job's stage rows and per-day flow counters (arrivals, starts, completions).

    It mirrors the job state's rules for readiness (prerequisites complete, verified where they must
    be) and adds what the board and the KPIs need and the job state does not keep: when each stage
    became ready, who first finished it, whether it was first time right. A rework takes back the
    completion it undoes, so counters always describe the pieces as they are.
    ``load`` fetches a job not yet in memory (None if unknown). Each job is folded on the route of the
    version of the standards it runs under (``JobRow.standards``): ``book_of(version)`` gives that
    version's ``RouteBook``; without it, or for the book given, the routes given.
    """

    def __init__(self, routes: dict[str, Route] | RouteBook, needs_verify: frozenset[str] | set[str] = frozenset(),
                 day_of=None, load=None, book_of: Callable[[int], RouteBook] | None = None) -> None:
        self.book = routes if isinstance(routes, RouteBook) else RouteBook.of(routes, needs_verify)
        self.routes = self.book.routes
        self.needs_verify = self.book.needs_verify
        self._book_of = book_of
        self.day_of = day_of  # ts -> the workshop's calendar day
        self._load = load or (lambda job: None)
        self.jobs: dict[str, JobRow | None] = {}
        self.stages: dict[str, dict[str, StageRow]] = {}
        self.tally = Tally()
        self.touched: set[str] = set()
        self.dropped: dict[str, set[str]] = {}  # job -> the stages a move to another version dropped

    def book_for(self, job: JobRow) -> RouteBook:
        """The routes of the job's version of the standards."""
        return self._book_of(job.standards) if self._book_of is not None else self.book

    def job(self, job_id: str) -> JobRow | None:
        if job_id not in self.jobs:
            got = self._load(job_id)
            if got is None:
                self.jobs[job_id] = None
            else:
                self.jobs[job_id], self.stages[job_id] = got
        return self.jobs[job_id]

    # -- events --
    def handle(self, e) -> None:
        t = e.type
        p = e.payload
        if t == ev.JOB_CREATED:
            due = str(p.get("due", ""))[:10]
            job = JobRow(e.job, p.get("route", ""), p.get("alloy", ""), p.get("design", ""), p.get("client", ""),
                         p.get("priority", "normal"), e.ts, due, due, standards=p.get("standards", dstd.FIRST))
            route = self.book_for(job).routes.get(job.route)
            self.jobs[e.job] = job
            self.dropped.pop(e.job, None)
            self.stages[e.job] = {s: StageRow(e.job, s) for s in (route.stage_ids if route else ())}
            self._refresh(job, e.ts)
            self.touched.add(e.job)
            return
        if not e.job:
            return
        job = self.job(e.job)
        if job is None:
            return
        stages = self.stages[e.job]
        sid = p.get("stage")
        st = stages.get(sid) if sid else None
        match t:
            case ev.STAGE_STARTED if st is not None:
                if not st.ready:
                    # started without having queued (an override, or a restart): it arrives now
                    self.tally.add((self.day_of(e.ts), sid, job.route, ""), ARRIVED)
                    st.ready_at = e.ts
                    st.entered_at = st.entered_at or e.ts
                st.ready = 0
                st.status = IN_PROGRESS
                st.started_at, st.started_by, st.started_bench = e.ts, e.person, e.bench
                st.first_started_at = st.first_started_at or e.ts
                st.runs += 1
                self.tally.add((self.day_of(e.ts), sid, job.route, e.person or ""), STARTED)
            case ev.STAGE_FINISHED if st is not None:
                st.status = DONE
                st.finished_by = e.person
                st.first_by = st.first_by or e.person
                if sid not in self.book_for(job).needs_verify:
                    self._complete(job, st, e.ts)
            case ev.STAGE_VERIFIED if st is not None:
                st.status = VERIFIED
                self._complete(job, st, e.ts)
            case ev.STAGE_REJECTED:
                redo = p.get("redo") or sid
                r = stages.get(redo) if redo else None
                if r is not None:
                    self._uncount(job, r)
                    r.reworks += 1
                    r.status = REWORK
                # what was built on it is done again after the rework, through no fault of its own: the
                # stages downstream of it that were done (as the job's own fold reopens them), and the
                # inspected stage
                route = self.book_for(job).routes.get(job.route)
                for d in (stages.get(s) for s in (downstream(route, redo) if route is not None and redo else ())):
                    if d is not None and d is not st and d.status in (DONE, VERIFIED, IN_PROGRESS):
                        self._uncount(job, d)
                        d.status = REWORK
                if st is not None and redo != sid:
                    self._uncount(job, st)
                    st.status = REWORK
                job.reworks += 1
                job.completed_at = None
                self._refresh(job, e.ts)
            case ev.JOB_HELD:
                job.on_hold = 1
            case ev.JOB_RELEASED:
                job.on_hold = 0
            case _ if t == dstd.STANDARDS_MOVED:
                self._move(job, p.get("to", job.standards), e.ts)
            case _ if t == JOB_DELAYED:
                by = p.get("by")
                before = as_date(job.due)
                promise, relabel = moved(before, by, as_date(p.get("new_due")), as_date(self.day_of(e.ts)))
                if by == "client":
                    job.client_delays += 1
                    job.relabelled += 1 if relabel else 0
                    if promise is not None:
                        if before is not None:
                            job.client_delay_days += (promise - before).days
                        job.due = promise.isoformat()
                else:
                    job.shop_delays += 1
            case _:
                return
        self.touched.add(e.job)

    def _move(self, job: JobRow, version: int, ts: str) -> None:
        """Moved on purpose onto another version (as the job's own fold does): the stages its route adds
        are to do, a stage it no longer has is dropped if nothing was ever done at it, and what is ready
        is judged again on the new route."""
        job.standards = version
        route = self.book_for(job).routes.get(job.route)
        if route is None:
            return
        stages = self.stages[job.job]
        keep = set(route.stage_ids)
        for sid in [s for s, st in stages.items() if s not in keep and st.status == TODO and st.runs == 0
                    and st.done_at is None]:
            if stages.pop(sid).ready:
                self.tally.add((self.day_of(ts), sid, job.route, ""), WITHDRAWN)
            self.dropped.setdefault(job.job, set()).add(sid)
        for sid in route.stage_ids:
            if sid not in stages:
                stages[sid] = StageRow(job.job, sid)
                self.dropped.get(job.job, set()).discard(sid)
        self._refresh(job, ts)

    def _complete(self, job: JobRow, st: StageRow, ts: str) -> None:
        if st.done_at is not None:
            self._uncount(job, st)
        st.done_at = ts
        st.ready = 0
        st.counted_ftr = 1 if st.reworks == 0 else 0
        self._count(job, st, +1)
        self._refresh(job, ts)
        if job.delivered_at is None and st.stage == self.book_for(job).delivery.get(job.route):
            job.delivered_at = ts
        stages = self.stages[job.job]
        if stages and all(s.done_at is not None for s in stages.values()):
            job.completed_at = ts

    def _count(self, job: JobRow, st: StageRow, sign: int) -> None:
        entered = st.entered_at or st.first_started_at or st.done_at
        started = st.first_started_at or st.done_at
        key = (self.day_of(st.done_at), st.stage, job.route, st.first_by or "")
        self.tally.add(key, DONE_N, sign)
        self.tally.add(key, FTR_N, sign * st.counted_ftr)
        self.tally.add(key, LEAD_S, sign * _seconds(entered, st.done_at))
        self.tally.add(key, WAIT_S, sign * _seconds(entered, started))
        self.tally.add(key, WORK_S, sign * _seconds(started, st.done_at))

    def _uncount(self, job: JobRow, st: StageRow) -> None:
        if st.done_at is None:
            return
        self._count(job, st, -1)
        st.done_at = None
        st.counted_ftr = 0

    def _refresh(self, job: JobRow, ts: str) -> None:
        book = self.book_for(job)
        after = book.after.get(job.route)
        if after is None:
            return
        stages = self.stages[job.job]
        nv = book.needs_verify
        for sid, st in stages.items():
            now = False
            if st.status == TODO or st.status == REWORK:
                now = True
                for pre in after.get(sid, ()):
                    ps = stages.get(pre)
                    if ps is None or (ps.status != VERIFIED if pre in nv else ps.status not in (DONE, VERIFIED)):
                        now = False
                        break
            if now and not st.ready:
                st.ready = 1
                st.ready_at = ts
                st.entered_at = st.entered_at or ts
                self.tally.add((self.day_of(ts), sid, job.route, ""), ARRIVED)
            elif not now and st.ready:
                st.ready = 0
                self.tally.add((self.day_of(ts), sid, job.route, ""), WITHDRAWN)

    def active(self, job: JobRow, st: StageRow) -> int:
        """1 while the piece is at this stage: waiting, in progress, or finished and waiting for verification."""
        if job.completed_at is not None:
            return 0
        if st.ready or st.status == IN_PROGRESS:
            return 1
        return 1 if st.status == DONE and st.stage in self.book_for(job).needs_verify else 0
