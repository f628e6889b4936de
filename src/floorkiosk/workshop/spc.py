"""Process control on the shop floor: every measured characteristic as a series, its chart and alerts.

A characteristic is one numeric QC check of one stage ("polishing.thickness": the thickness the
inspector measured after polishing; a weight check's deviation in % from the reference weight) or
one stage's metal loss ("loss.casting": weigh-in minus weigh-out, in % of the weigh-in). Its points
are read from the derived tables (qc_inspections, job_stages), in the order they were recorded,
each with the stage, bench, person, alloy and design behind it, so a chart can be drawn for one
person or one alloy alone.

Control limits rest on a baseline: the points a supervisor fixed (``spc baseline NAME``, recorded as
an event, with the limits it gave) or, until then, the first N points (qc.toml [spc] baseline). A
rule broken by a later point is an alert until a supervisor acknowledges it (``spc ack``); where
qc.toml says so ([spc] hold_on_drift), an open alert on a stage's characteristic stops the next piece
from starting that stage until then.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from floorkiosk.domain import events as ev
from floorkiosk.domain import guardrails as g
from floorkiosk.domain import qc as dq
from floorkiosk.domain import spc
from floorkiosk.domain import tooling as dtool
from floorkiosk.domain.records import Site
from floorkiosk.domain.state import JobState
from floorkiosk.errors import NotFound, Refused
from floorkiosk.store.projection import ChunkedRebuild
from floorkiosk.workshop.shop import Area, Shop

SPC_BASELINE_FIXED, SPC_ALERT_ACKNOWLEDGED = spc.SPC_BASELINE_FIXED, spc.SPC_ALERT_ACKNOWLEDGED

DIMENSIONS = ("stage", "bench", "person", "alloy", "design", "tool")


# --- the series ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Point:
    ts: str
    value: float
    job: str
    stage: str
    bench: str | None
    person: str | None
    alloy: str | None
    design: str | None
    source: str  # the event (inspection) or the job stage run the point comes from
    seq: int = 0  # its place in the characteristic's whole series (baselines and acknowledgements count by it)
    batch: str | None = None
    tool: str | None = None  # the tool scanned for the stage's run (for an inspection: the last the job used)


@dataclass
class Series:
    name: str  # stage.check or loss.stage
    title: str
    unit: str
    lsl: float | None
    usl: float | None
    stage: str
    points: list[Point] = field(default_factory=list)  # read in full only for one chart (see read_series)
    values: list[float] = field(default_factory=list)
    seqs: list[int] = field(default_factory=list)  # each value's place in the whole series

    @classmethod
    def of(cls, name: str, title: str, unit: str, lsl: float | None, usl: float | None, stage: str,
           points: list[Point]) -> Series:
        return cls(name, title, unit, lsl, usl, stage, points, [p.value for p in points], [p.seq for p in points])

    def where(self, **dims: str) -> Series:
        """The same characteristic, only the points of this person, bench, alloy, design…"""
        bad = [k for k in dims if k not in DIMENSIONS]
        if bad:
            raise Refused(f"cannot split a chart by {bad[0]!r}; by one of {', '.join(DIMENSIONS)}")
        keep = [p for p in self.points if all(getattr(p, k) == v for k, v in dims.items())]
        return Series.of(self.name, self.title, self.unit, self.lsl, self.usl, self.stage, keep)


def _f(v: object) -> float | None:
    try:
        return float(v) if v is not None and v != "" else None  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


_POINT_COLS = "ts, value, job, stage, bench, person, alloy, design, source, seq, batch, tool"


def read_series(conn: sqlite3.Connection, site: Site, only: str | None = None, since: str | None = None,
                full: bool = True) -> dict[str, Series]:
    """Every characteristic with points, by name (or only the one named; only points from `since` on).

    `full`: each point with its job, stage, bench, person…; without, only the values and their places
    (what limits, rules and Cpk need: a year of every characteristic is read five times faster).
    """
    chars = conn.execute("SELECT name, title, unit, lsl, usl, stage FROM spc_chars"
                         + (" WHERE name = ?" if only else "") + " ORDER BY name", (only,) if only else ()).fetchall()
    out: dict[str, Series] = {}
    cond = " WHERE name = ?" + (" AND ts >= ?" if since else "") + " ORDER BY seq"
    for name, title, unit, lsl, usl, stage in chars:
        args = (name, since) if since else (name,)
        if full:
            pts = [Point(*r) for r in conn.execute(f"SELECT {_POINT_COLS} FROM spc_points" + cond, args)]
            out[name] = Series.of(name, title, unit, lsl, usl, stage, pts)
        else:
            rows = conn.execute("SELECT value, seq FROM spc_points" + cond, args).fetchall()
            out[name] = Series(name, title, unit, lsl, usl, stage, [], [r[0] for r in rows], [r[1] for r in rows])
    return out


def _qc_points(site: Site, p: dict) -> list[tuple[str, str, str, float | None, float | None, float]]:
    """(name, title, unit, lsl, usl, value) of each numeric check of an inspection's payload."""
    out = []
    stage = p.get("stage") or ""
    checks = p.get("checks")
    for c in checks if isinstance(checks, list) else ():
        if not isinstance(c, dict) or c.get("result") not in (dq.PASS, dq.FAIL):
            continue
        kind = c.get("kind")
        if kind == "weight":
            value, tol = _f(c.get("deviation_pct")), _f(c.get("tolerance_pct"))
            lsl, usl, unit = (-tol if tol is not None else None), tol, "%"
        elif kind == "measure":
            value, lsl, usl, unit = _f(c.get("value")), _f(c.get("min")), _f(c.get("max")), str(c.get("unit", ""))
        else:
            continue  # pass/fail, and ring sizes (each against its own client's spec)
        if value is None:
            continue
        sname = site.stages[stage].name if stage in site.stages else stage
        what = f"{c.get('name') or c.get('id')}" + (" deviation" if kind == "weight" else "")
        out.append((f"{stage}.{c.get('id')}", f"{what} at {sname}", unit, lsl, usl, value))
    return out


# --- charts ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Baseline:
    name: str
    ts: str
    person: str | None
    first: str
    last: str
    points: int
    upto: int  # the characteristic's points when it was fixed: the limits rest on the last `points` of them
    limits: spc.Limits


@dataclass
class Chart:
    series: Series
    limits: spc.Limits | None
    baseline: str  # in words: "fixed by Eva Novak 2026-12-02 14:10 (25 points)" or "the first 20 points"
    baseline_end: int  # points before this index made the limits
    violations: list[spc.Violation]
    alerts: list[spc.Violation]  # those after the baseline not yet acknowledged
    capability: spc.Capability | None
    note: str = ""  # why there are no limits, or no capability

    @property
    def state(self) -> str:
        if self.limits is None:
            return "no variation" if "do not vary" in self.note else "too few points"
        if self.alerts:
            return f"{len(self.alerts)} alert{'s' if len(self.alerts) != 1 else ''}"
        return "in control"


def rules_of(site: Site) -> dq.SpcRules:
    return dq.qc_config(site).spc


@dataclass
class _State:
    """One characteristic's standing, as spc_chars keeps it."""
    name: str
    n: int = 0  # its points
    limits: spc.Limits | None = None
    upto: int = 0  # points before this place made the limits
    fixed: Baseline | None = None
    acked: int = 0  # alerts at points before this place are acknowledged
    note: str = ""


def _state(conn: sqlite3.Connection, name: str) -> _State | None:
    r = conn.execute("SELECT n, limits, upto, fixed, acked, note FROM spc_chars WHERE name = ?", (name,)).fetchone()
    if r is None:
        return None
    fixed = json.loads(r[3]) if r[3] else None
    limits = spc.Limits(**json.loads(r[1])) if r[1] else None
    return _State(name, r[0], limits, r[2], Baseline(name, **fixed, limits=limits) if fixed and limits else None,
                  r[4], r[5] or "")


def chart(conn: sqlite3.Connection, site: Site, series: Series, name_of=lambda p: p or "-") -> Chart:
    """The chart of a series: its limits, the rules broken, the open alerts, Cp/Cpk."""
    rules = rules_of(site)
    st = _state(conn, series.name) or _State(series.name)
    values = series.values
    end = next((i for i, q in enumerate(series.seqs) if q >= st.upto), len(series.seqs))
    if st.fixed is not None:
        b = st.fixed
        words = f"fixed by {name_of(b.person)} {b.ts[:16].replace('T', ' ')} ({b.points} points)"
    else:
        words = f"the first {st.upto or rules.baseline} points"
    limits = st.limits
    if limits is None:
        note = st.note or (f"{st.n} point{'s' if st.n != 1 else ''}; limits need {rules.baseline} "
                           "(qc.toml [spc] baseline)")
        return Chart(series, None, words, end, [], [], None, note)
    found = spc.violations(values, limits, rules.rules)
    alerts = [v for v in found if v.index >= end and series.seqs[v.index] >= st.acked]
    cap, note = None, ""
    try:
        cap = spc.capability(limits.center, limits.within, series.lsl, series.usl)
    except spc.NoTolerance as exc:
        note = str(exc)
    return Chart(series, limits, words, end, found, alerts, cap, note)


def charts(shop: Shop, since: str | None = None) -> list[Chart]:
    """Every characteristic's chart (values only: `one` reads a chart's points in full)."""
    conn = shop.journal.conn
    return [chart(conn, shop.site, s, shop.name) for s in read_series(conn, shop.site, since=since, full=False).values()]


def one(shop: Shop, name: str, **dims: str) -> Chart:
    conn = shop.journal.conn
    found = read_series(conn, shop.site, only=name)
    if name not in found:
        known = [r[0] for r in conn.execute("SELECT name FROM spc_chars ORDER BY name")]
        listed = ", ".join(known[:12]) + (" …" if len(known) > 12 else "")
        raise NotFound(f"no characteristic {name!r}" + (f"; there are: {listed}" if known
                                                        else "; nothing has been measured yet"))
    s = found[name].where(**dims) if dims else found[name]
    return chart(conn, shop.site, s, shop.name)


# --- X-bar-R for characteristics measured on several pieces of one batch ----------------------------

@dataclass
class XbarChart:
    """The X-bar-R chart of a characteristic measured on several pieces of each batch (the batch's sample
    at a QC check, or its pieces' loss at a stage): one subgroup per batch, in the order batches came."""

    series: Series
    size: int  # pieces per subgroup: the size most batches have
    batches: list[str]
    means: list[float]
    ranges: list[float]
    limits: spc.Limits | None
    baseline: str  # in words
    baseline_end: int  # subgroups before this index made the limits
    violations: list[spc.Violation]  # run rules broken on the X-bar chart
    range_out: list[int]  # subgroups whose range is beyond the R chart's limits
    capability: spc.Capability | None
    left_out: int  # batches with fewer pieces measured than the subgroup size
    note: str = ""

    @property
    def state(self) -> str:
        if self.limits is None:
            return "no variation" if "do not vary" in self.note else "too few batches"
        broken = len(self.violations) + len(self.range_out)
        return f"{broken} rule{'s' if broken != 1 else ''} broken" if broken else "in control"


def batch_subgroups(rows: Iterable[tuple[str, float, int]]) -> tuple[int, list[tuple[str, list[float], int]], int]:
    """(size, [(batch, values, last seq)], batches left out) from (batch, value, seq) rows in order.

    The subgroup size is the commonest number of pieces measured per batch (2 to 10; the smaller on a
    tie); a batch with more (every piece inspected after a failure) gives its first that many, the
    drawn sample; a batch with fewer is left out (counted)."""
    groups: dict[str, list[tuple[float, int]]] = {}
    for batch, value, seq in rows:
        if batch:
            groups.setdefault(batch, []).append((value, seq))
    sizes = Counter(min(len(v), 10) for v in groups.values() if len(v) >= 2)
    if not sizes:
        return 0, [], 0
    n = max(sizes, key=lambda k: (sizes[k], -k))
    kept = [(b, [x for x, _ in v[:n]], v[n - 1][1]) for b, v in groups.items() if len(v) >= n]
    return n, kept, len(groups) - len(kept)


def xbar_chart(conn: sqlite3.Connection, site: Site, series: Series, rows: list[tuple[str, float, int]],
               name_of=lambda p: p or "-") -> XbarChart | None:
    """The X-bar-R chart of a series from its batched points; None when no batch has two pieces measured."""
    n, groups, left = batch_subgroups(rows)
    if not groups:
        return None
    rules = rules_of(site)
    st = _state(conn, series.name) or _State(series.name)
    means = [sum(v) / n for _, v, _ in groups]
    ranges = [max(v) - min(v) for _, v, _ in groups]
    if st.fixed is not None:
        # the supervisor's baseline: the batches measured before it was fixed
        end = sum(1 for _, _, last in groups if last < st.upto)
        words = f"the batches before the baseline {name_of(st.fixed.person)} fixed {st.fixed.ts[:10]}"
    else:
        end = max(spc.MIN_BASELINE, -(-rules.baseline // n))  # as many pieces as an individuals baseline
        words = f"the first {end} batches"
    base = [v for _, v, _ in groups[:end]]
    limits, note = None, ""
    if len(base) < end or len(base) < spc.MIN_BASELINE:
        note = (f"{len(groups)} batch{'es' if len(groups) != 1 else ''} of {n}; limits need "
                f"{max(end, spc.MIN_BASELINE)}")
    else:
        try:
            limits = spc.xbar_r(base)
        except spc.TooFewPoints as exc:
            note = str(exc)
    if limits is None:
        return XbarChart(series, n, [b for b, _, _ in groups], means, ranges, None, words, end, [], [], None, left,
                         note)
    found = spc.violations(means, limits, rules.rules)
    out = [i for i, r in enumerate(ranges) if r > limits.r_ucl or r < limits.r_lcl]
    cap = None
    try:
        cap = spc.capability(limits.center, limits.within, series.lsl, series.usl)
    except spc.NoTolerance as exc:
        note = str(exc)
    return XbarChart(series, n, [b for b, _, _ in groups], means, ranges, limits, words, end, found, out, cap, left,
                     note)


def xbar_charts(shop: Shop, since: str | None = None) -> dict[str, XbarChart]:
    """The X-bar-R chart of every characteristic measured on several pieces of one batch, by name."""
    conn = shop.journal.conn
    rows: dict[str, list[tuple[str, float, int]]] = {}
    q = "SELECT name, batch, value, seq FROM spc_points WHERE batch IS NOT NULL" + (" AND ts >= ?" if since else "")
    for name, batch, value, seq in conn.execute(q + " ORDER BY name, seq", (since,) if since else ()):
        rows.setdefault(name, []).append((batch, value, seq))
    series = read_series(conn, shop.site, since=since, full=False)
    out = {}
    for name, r in rows.items():
        c = xbar_chart(conn, shop.site, series[name], r, shop.name) if name in series else None
        if c is not None:
            out[name] = c
    return out


def xbar_of(shop: Shop, c: Chart) -> XbarChart | None:
    """The X-bar-R chart of one chart's points (as `one` read them, split by person, alloy … or not)."""
    rows = [(p.batch or "", p.value, p.seq) for p in c.series.points]
    return xbar_chart(shop.journal.conn, shop.site, c.series, rows, shop.name)


@dataclass(frozen=True)
class Alert:
    name: str
    title: str
    stage: str
    seq: int
    rule: int
    text: str
    ts: str
    job: str


def open_alerts(conn: sqlite3.Connection, stage: str | None = None) -> list[Alert]:
    """The alerts not yet acknowledged, oldest first (what a supervisor's worklist shows)."""
    q = ("SELECT a.name, c.title, c.stage, a.seq, a.rule, a.text, a.ts, a.job FROM spc_alerts a"
         " JOIN spc_chars c ON c.name = a.name WHERE a.seq >= c.acked AND a.seq >= c.upto")
    rows = conn.execute(q + (" AND c.stage = ?" if stage else "") + " ORDER BY a.ts, a.name, a.seq",
                        (stage,) if stage else ())
    return [Alert(*r) for r in rows]


def drifting(conn: sqlite3.Connection) -> dict[str, list[str]]:
    """Each stage's characteristics with an open alert, by title: what a board marks (one probe per characteristic,
    however many alerts are open)."""
    out: dict[str, list[str]] = {}
    for stage, title in conn.execute(
            "SELECT c.stage, c.title FROM spc_chars c WHERE EXISTS (SELECT 1 FROM spc_alerts a WHERE a.name = c.name"
            " AND a.seq >= c.acked AND a.seq >= c.upto) ORDER BY c.stage, c.name"):
        out.setdefault(stage, []).append(title)
    return out


# --- recording -------------------------------------------------------------------------------------

def fix_baseline(shop: Shop, name: str, person_id: str | None, last: int | None = None,
                 bench_id: str | None = None) -> Baseline:
    """Fix the limits of `name` on its points so far (or the last `last` of them): "this is the process right"."""
    shop.supervisor(person_id, "fixes a baseline")
    conn = shop.journal.conn
    found = read_series(conn, shop.site, only=name)
    if name not in found:
        raise NotFound(f"no characteristic {name!r} has been measured")
    pts = found[name].points[-last:] if last else found[name].points
    try:
        limits = spc.individuals([p.value for p in pts])
    except spc.TooFewPoints as exc:
        raise Refused(f"{name}: {exc}; measure more pieces first") from None
    upto = len(found[name].points)
    payload = {"name": name, "first": pts[0].ts, "last": pts[-1].ts, "points": len(pts), "upto": upto,
               "limits": {k: getattr(limits, k) for k in spc.Limits.__dataclass_fields__}}
    e = shop.journal.append(shop.event(SPC_BASELINE_FIXED, None, person_id, bench_id, payload))
    return Baseline(name, e.ts, person_id, pts[0].ts, pts[-1].ts, len(pts), upto, limits)


def acknowledge(shop: Shop, name: str, person_id: str | None, note: str, bench_id: str | None = None) -> int:
    """A supervisor has looked at the alerts of `name` (and says what was done): they close. How many closed."""
    shop.supervisor(person_id, "acknowledges an alert")
    if not note.strip():
        raise Refused("say what was found or done (--note): the journal keeps it beside the alert")
    c = one(shop, name)
    if not c.alerts:
        raise Refused(f"{name} has no open alert")
    p = c.series.points[-1]
    shop.journal.append(shop.event(SPC_ALERT_ACKNOWLEDGED, None, person_id, bench_id,
                                   {"name": name, "until": p.ts, "upto": p.seq + 1, "alerts": len(c.alerts),
                                    "note": note.strip()}))
    return len(c.alerts)


# --- the derived tables, folded inside the append, and the guard ---------------------------------------

def _m001(db) -> None:  # sqlite_utils.Database
    # what each job is (its points carry alloy and design) and the weights of each stage's run under way
    db.execute("""CREATE TABLE spc_jobs (
        job TEXT PRIMARY KEY, alloy TEXT, design TEXT, batch TEXT, tool TEXT) WITHOUT ROWID""")
    db.execute("""CREATE TABLE spc_runs (
        job TEXT NOT NULL, stage TEXT NOT NULL, w_in REAL, w_out REAL, tool TEXT,
        PRIMARY KEY (job, stage)) WITHOUT ROWID""")
    db.execute("""CREATE TABLE spc_chars (
        name TEXT PRIMARY KEY, title TEXT NOT NULL, unit TEXT, lsl REAL, usl REAL, stage TEXT NOT NULL,
        n INTEGER NOT NULL DEFAULT 0, limits TEXT, upto INTEGER NOT NULL DEFAULT 0, fixed TEXT,
        acked INTEGER NOT NULL DEFAULT 0, note TEXT) WITHOUT ROWID""")
    db.execute("""CREATE TABLE spc_points (
        name TEXT NOT NULL, seq INTEGER NOT NULL, ts TEXT NOT NULL, value REAL NOT NULL, job TEXT, stage TEXT,
        bench TEXT, person TEXT, alloy TEXT, design TEXT, source TEXT, batch TEXT, tool TEXT,
        PRIMARY KEY (name, seq)) WITHOUT ROWID""")
    db.execute("""CREATE TABLE spc_alerts (
        name TEXT NOT NULL, seq INTEGER NOT NULL, rule INTEGER NOT NULL, text TEXT NOT NULL, ts TEXT, job TEXT,
        PRIMARY KEY (name, seq, rule)) WITHOUT ROWID""")


_TYPES = frozenset({ev.JOB_CREATED, ev.BATCH_CREATED, ev.BATCH_JOINED, ev.STAGE_STARTED, ev.WEIGHT_RECORDED,
                    ev.STAGE_FINISHED, dq.QC_INSPECTED, SPC_BASELINE_FIXED, SPC_ALERT_ACKNOWLEDGED, dtool.TOOL_USED})


class SpcProjector(ChunkedRebuild):
    """Each new measurement becomes a point of its characteristic, judged by the run rules at once.

    Inside the appending transaction: an inspection's numeric checks, or a stage's loss when it
    finishes (from the run's own weigh-in and weigh-out), are added to spc_points; the first N
    points give the limits; the rules the new point breaks (it and the fourteen before it) are
    written to spc_alerts. A baseline fixed, or alerts acknowledged, update spc_chars.
    """

    tables = ("spc_jobs", "spc_runs", "spc_chars", "spc_points", "spc_alerts")
    rebuild_apart = True  # reads only its own tables
    rebuild_types = _TYPES
    rebuild_weight = 1
    audit_weight = 9  # its share of the derived tables' check (Journal.check_derived), measured

    def __init__(self, site: Site) -> None:
        self.site = site
        self.rules = rules_of(site)

    def apply(self, conn: sqlite3.Connection, events: list[ev.Event]) -> None:
        for e in events:
            if e.type in _TYPES:
                self._one(conn, e)

    def rebuild_feed(self, conn: sqlite3.Connection, events: Iterable[ev.Event]) -> None:
        self.apply(conn, list(events))

    def footprint(self, e: ev.Event) -> set[tuple[str, str | None]]:
        """What of these tables the event reads or sets (see store.journal._reordered): its job's rows,
        and the series of each characteristic it adds a point to, fixes or acknowledges (a point's
        place in its series, its limits and alerts follow the points before it)."""
        if e.type not in _TYPES:
            return set()
        p = e.payload
        out: set[tuple[str, str | None]] = {("job", e.job)} if e.job else set()
        if e.type == ev.STAGE_FINISHED:
            out.add(("char", f"loss.{p.get('stage')}"))
        elif e.type == dq.QC_INSPECTED:
            out |= {("char", name) for name, *_ in _qc_points(self.site, p)}
        elif e.type in (SPC_BASELINE_FIXED, SPC_ALERT_ACKNOWLEDGED):
            out.add(("char", p.get("name")))
        return out

    def rebuild_end(self, conn: sqlite3.Connection) -> None:
        pass

    def _one(self, conn: sqlite3.Connection, e: ev.Event) -> None:
        p = e.payload
        t = e.type
        if t == ev.JOB_CREATED:
            conn.execute("INSERT OR REPLACE INTO spc_jobs (job, alloy, design) VALUES (?,?,?)",
                         (e.job, p.get("alloy"), p.get("design")))
        elif t in (ev.BATCH_CREATED, ev.BATCH_JOINED):
            if e.job:
                conn.execute("UPDATE spc_jobs SET batch = ? WHERE job = ?", (p.get("batch"), e.job))
        elif t == ev.STAGE_STARTED:
            conn.execute("INSERT OR REPLACE INTO spc_runs (job, stage, w_in, w_out) VALUES (?, ?, NULL, NULL)",
                         (e.job, p.get("stage")))
        elif t == dtool.TOOL_USED:
            conn.execute("UPDATE spc_runs SET tool = ? WHERE job = ? AND stage = ?", (p.get("tool"), e.job, p.get("stage")))
            conn.execute("UPDATE spc_jobs SET tool = ? WHERE job = ?", (p.get("tool"), e.job))
        elif t == ev.WEIGHT_RECORDED:
            g_ = _f(p.get("grams"))
            col = "w_in" if p.get("phase") == "in" else "w_out"
            conn.execute(f"UPDATE spc_runs SET {col} = ? WHERE job = ? AND stage = ?", (g_, e.job, p.get("stage")))
        elif t == ev.STAGE_FINISHED:
            sid = p.get("stage")
            row = conn.execute("SELECT w_in, w_out, tool FROM spc_runs WHERE job = ? AND stage = ?",
                               (e.job, sid)).fetchone()
            conn.execute("DELETE FROM spc_runs WHERE job = ? AND stage = ?", (e.job, sid))
            if row and row[0] and row[0] > 0 and row[1] is not None:
                st = self.site.stages.get(sid)
                usl = float(st.max_loss_pct) if st is not None and st.max_loss_pct is not None else None
                self._point(conn, e, f"loss.{sid}", f"metal loss at {st.name if st else sid}", "%", None, usl,
                            sid, (row[0] - row[1]) / row[0] * 100, f"{e.job}:{sid}", row[2])
        elif t == dq.QC_INSPECTED:
            for name, title, unit, lsl, usl, value in _qc_points(self.site, p):
                self._point(conn, e, name, title, unit, lsl, usl, p.get("stage") or "", value, e.id)
        elif t == SPC_BASELINE_FIXED:
            fixed = {k: p.get(k) for k in ("ts", "person", "first", "last", "points", "upto")}
            fixed["ts"], fixed["person"] = e.ts, e.person
            conn.execute("UPDATE spc_chars SET limits = ?, upto = ?, fixed = ?, note = NULL WHERE name = ?",
                         (json.dumps(p.get("limits"), sort_keys=True), p.get("upto", 0),
                          json.dumps(fixed, sort_keys=True), p.get("name")))
        elif t == SPC_ALERT_ACKNOWLEDGED:
            conn.execute("UPDATE spc_chars SET acked = max(acked, ?) WHERE name = ?", (p.get("upto", 0), p.get("name")))

    def _point(self, conn: sqlite3.Connection, e: ev.Event, name: str, title: str, unit: str,
               lsl: float | None, usl: float | None, stage: str, value: float, source: str,
               tool: str | None = None) -> None:
        row = conn.execute("SELECT n, limits, upto, fixed FROM spc_chars WHERE name = ?", (name,)).fetchone()
        if row is None:
            conn.execute("INSERT INTO spc_chars (name, title, unit, lsl, usl, stage) VALUES (?,?,?,?,?,?)",
                         (name, title, unit, lsl, usl, stage))
            n, limits_json, upto, fixed = 0, None, 0, None
        else:
            n, limits_json, upto, fixed = row
        job = conn.execute("SELECT alloy, design, batch, tool FROM spc_jobs WHERE job = ?",
                           (e.job,)).fetchone() or (None,) * 4
        conn.execute("INSERT INTO spc_points (name, seq, ts, value, job, stage, bench, person, alloy, design, source,"
                     " batch, tool) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                     (name, n, e.ts, value, e.job, stage, e.bench, e.person, job[0], job[1], source, job[2],
                      tool if tool is not None else job[3]))
        n += 1
        limits = spc.Limits(**json.loads(limits_json)) if limits_json else None
        note = None
        if limits is None and n >= self.rules.baseline:
            # the first N points make the limits; if they do not vary, every later point is tried with them
            values = [v for (v,) in conn.execute("SELECT value FROM spc_points WHERE name = ? ORDER BY seq", (name,))]
            try:
                limits = spc.individuals(values)
                upto = n
                conn.execute("UPDATE spc_chars SET limits = ?, upto = ?, note = NULL WHERE name = ?",
                             (json.dumps({k: getattr(limits, k) for k in spc.Limits.__dataclass_fields__},
                                         sort_keys=True), upto, name))
            except spc.TooFewPoints as exc:
                note = str(exc)
        conn.execute("UPDATE spc_chars SET n = ?" + (", note = ?" if note else "") + " WHERE name = ?",
                     (n, note, name) if note else (n, name))
        if limits is None or n - 1 < upto:
            return
        tail = [v for (v,) in conn.execute("SELECT value FROM spc_points WHERE name = ? AND seq >= ? ORDER BY seq",
                                           (name, max(0, n - 15)))]
        for v in spc.violations_at_last(tail, limits, self.rules.rules):
            conn.execute("INSERT OR IGNORE INTO spc_alerts (name, seq, rule, text, ts, job) VALUES (?,?,?,?,?,?)",
                         (name, n - 1, v.rule, v.text, e.ts, e.job))


def guard(shop: Shop, conn: sqlite3.Connection, state: JobState, action: g.Action, person=None,
          bench=None) -> list[g.Reason]:
    """Where qc.toml says drift holds a stage: an open alert on its characteristics stops the next start."""
    if action.kind != g.START or not action.stage or action.stage not in rules_of(shop.site).hold_on_drift:
        return []
    alerts = open_alerts(conn, action.stage)
    if not alerts:
        return []
    a = alerts[0]
    more = f" (and {len(alerts) - 1} more)" if len(alerts) > 1 else ""
    return [g.Reason("drift", f"{a.title} is drifting: {a.text}{more}",
                     f"a supervisor looks at the chart and acknowledges it (floorkiosk spc ack {a.name})",
                     overridable=False)]


def describe(shop: Shop, e: ev.Event) -> str:
    p = e.payload
    if e.type == SPC_BASELINE_FIXED:
        return f"control limits of {p.get('name')} fixed on {p.get('points')} points"
    return f"{p.get('alerts')} alert(s) on {p.get('name')} acknowledged: {p.get('note')}"


AREA = Area("spc", projectors=lambda site: [SpcProjector(site)], migrations=(("spc_001_points", _m001),),
            guard=guard, describers=dict.fromkeys((SPC_BASELINE_FIXED, SPC_ALERT_ACKNOWLEDGED), describe))
