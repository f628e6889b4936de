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
from collections.abc import Iterable
from dataclasses import dataclass, field

from floorkiosk.domain import events as ev
from floorkiosk.domain import guardrails as g
from floorkiosk.domain import qc as dq
from floorkiosk.domain import spc
from floorkiosk.domain.records import Site
from floorkiosk.domain.state import JobState
from floorkiosk.errors import NotFound, Refused
from floorkiosk.store.projection import ChunkedRebuild
from floorkiosk.workshop.shop import Area, Shop

SPC_BASELINE_FIXED, SPC_ALERT_ACKNOWLEDGED = spc.SPC_BASELINE_FIXED, spc.SPC_ALERT_ACKNOWLEDGED

DIMENSIONS = ("stage", "bench", "person", "alloy", "design")


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
    source: str  # the event (inspection) or the job stage the point comes from
    seq: int = 0  # its place in the characteristic's whole series (baselines and acknowledgements count by it)


@dataclass
class Series:
    name: str  # stage.check or loss.stage
    title: str
    unit: str
    lsl: float | None
    usl: float | None
    stage: str
    points: list[Point] = field(default_factory=list)

    def where(self, **dims: str) -> Series:
        """The same characteristic, only the points of this person, bench, alloy, design…"""
        bad = [k for k in dims if k not in DIMENSIONS]
        if bad:
            raise Refused(f"cannot split a chart by {bad[0]!r}; by one of {', '.join(DIMENSIONS)}")
        keep = [p for p in self.points if all(getattr(p, k) == v for k, v in dims.items())]
        return Series(self.name, self.title, self.unit, self.lsl, self.usl, self.stage, keep)


def _f(v: object) -> float | None:
    try:
        return float(v) if v is not None and v != "" else None  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def read_series(conn: sqlite3.Connection, site: Site, only: str | None = None) -> dict[str, Series]:
    """Every characteristic with points, by name (or only the one named)."""
    out: dict[str, Series] = {}
    want_qc = only is None or not only.startswith("loss.")
    want_loss = only is None or only.startswith("loss.")
    if want_qc:
        where, args = ("WHERE i.stage = ?", (only.split(".", 1)[0],)) if only else ("", ())
        for iid, ts, job, stage, person, bench, checks, alloy, design in conn.execute(
                "SELECT i.id, i.ts, i.job, i.stage, i.person, i.bench, i.checks, j.alloy, j.design"
                " FROM qc_inspections i LEFT JOIN jobs j ON j.id = i.job " + where + " ORDER BY i.ts, i.id", args):
            try:
                items = json.loads(checks)
            except (TypeError, ValueError):
                continue
            for c in items if isinstance(items, list) else ():
                if not isinstance(c, dict) or c.get("result") not in (dq.PASS, dq.FAIL):
                    continue
                kind = c.get("kind")
                if kind == "weight":
                    value, tol = _f(c.get("deviation_pct")), _f(c.get("tolerance_pct"))
                    lsl, usl, unit = (-tol if tol is not None else None), tol, "%"
                elif kind == "measure":
                    value, lsl, usl, unit = _f(c.get("value")), _f(c.get("min")), _f(c.get("max")), c.get("unit", "")
                else:
                    continue  # pass/fail, and ring sizes (each against its own client's spec)
                if value is None:
                    continue
                name = f"{stage}.{c.get('id')}"
                if only is not None and name != only:
                    continue
                s = out.get(name)
                if s is None:
                    sname = site.stages[stage].name if stage in site.stages else stage
                    what = f"{c.get('name') or c.get('id')}" + (" deviation" if kind == "weight" else "")
                    s = out[name] = Series(name, f"{what} at {sname}", unit, lsl, usl, stage)
                s.points.append(Point(ts, value, job, stage, bench, person, alloy, design, iid, len(s.points)))
    if want_loss:
        stage_of = only.split(".", 1)[1] if only else None
        where, args = ("AND s.stage = ?", (stage_of,)) if stage_of else ("", ())
        for job, stage, person, finished_at, w_in, w_out, bench, alloy, design in conn.execute(
                "SELECT s.job, s.stage, s.finished_by, s.finished_at, s.weight_in, s.weight_out, r.bench,"
                " j.alloy, j.design FROM job_stages s LEFT JOIN jobs j ON j.id = s.job"
                " LEFT JOIN qc_runs r ON r.job = s.job AND r.stage = s.stage"
                " WHERE s.finished_at IS NOT NULL AND s.weight_in > 0 AND s.weight_out IS NOT NULL " + where +
                " ORDER BY s.finished_at, s.job", args):
            name = f"loss.{stage}"
            s = out.get(name)
            if s is None:
                st = site.stages.get(stage)
                usl = float(st.max_loss_pct) if st is not None and st.max_loss_pct is not None else None
                s = out[name] = Series(name, f"metal loss at {st.name if st else stage}", "%", None, usl, stage)
            s.points.append(Point(finished_at, (w_in - w_out) / w_in * 100, job, stage, bench, person, alloy, design,
                                  f"{job}:{stage}", len(s.points)))
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
    baseline: str  # in words: "fixed by Eva Novak 02 Dec 14:10 (25 points)" or "the first 20 points"
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


def _baseline(conn: sqlite3.Connection, name: str) -> Baseline | None:
    row = conn.execute("SELECT ts, person, first, last, points, upto, limits FROM spc_baselines WHERE name = ?",
                       (name,)).fetchone()
    if row is None:
        return None
    lim = json.loads(row[6])
    return Baseline(name, row[0], row[1], row[2], row[3], row[4], row[5], spc.Limits(**lim))


def _acked_upto(conn: sqlite3.Connection, name: str) -> int:
    """Alerts at points before this place in the series have been acknowledged."""
    row = conn.execute("SELECT upto FROM spc_acks WHERE name = ?", (name,)).fetchone()
    return row[0] if row else 0


def chart(conn: sqlite3.Connection, site: Site, series: Series, name_of=lambda p: p or "-") -> Chart:
    """The chart of a series: limits from its baseline, the rules broken, the open alerts, Cp/Cpk."""
    rules = rules_of(site)
    values = [p.value for p in series.points]
    fixed = _baseline(conn, series.name)
    note = ""
    if fixed is not None:
        limits = fixed.limits
        end = next((i for i, p in enumerate(series.points) if p.seq >= fixed.upto), len(series.points))
        words = f"fixed by {name_of(fixed.person)} {fixed.ts[:16].replace('T', ' ')} ({fixed.points} points)"
    else:
        end = min(rules.baseline, len(values))
        words = f"the first {end} points"
        limits = None
        if end < rules.baseline:
            note = f"{len(values)} point{'s' if len(values) != 1 else ''}; limits need {rules.baseline} (qc.toml [spc] baseline)"
        else:
            try:
                limits = spc.individuals(values[:end])
            except spc.TooFewPoints as exc:
                note = str(exc)
    if limits is None:
        return Chart(series, None, words, end, [], [], None, note)
    found = spc.violations(values, limits, rules.rules)
    acked = _acked_upto(conn, series.name)
    alerts = [v for v in found if v.index >= end and series.points[v.index].seq >= acked]
    cap = None
    try:
        cap = spc.capability(limits.center, limits.within, series.lsl, series.usl)
    except spc.NoTolerance as exc:
        note = str(exc)
    return Chart(series, limits, words, end, found, alerts, cap, note)


def charts(shop: Shop) -> list[Chart]:
    conn = shop.journal.conn
    return [chart(conn, shop.site, s, shop.name) for _n, s in sorted(read_series(conn, shop.site).items())]


def one(shop: Shop, name: str, **dims: str) -> Chart:
    conn = shop.journal.conn
    found = read_series(conn, shop.site, only=name)
    if name not in found:
        known = sorted(read_series(conn, shop.site))
        raise NotFound(f"no characteristic {name!r}" + (f"; there are: {', '.join(known[:12])}" + (" …" if len(known) > 12 else "")
                                                        if known else "; nothing has been measured yet"))
    s = found[name].where(**dims) if dims else found[name]
    return chart(conn, shop.site, s, shop.name)


def open_alerts(conn: sqlite3.Connection, site: Site, stage: str | None = None) -> list[tuple[Chart, spc.Violation]]:
    out = []
    for s in read_series(conn, site).values():
        if stage is not None and s.stage != stage:
            continue
        c = chart(conn, site, s)
        out.extend((c, v) for v in c.alerts)
    return out


# --- recording -------------------------------------------------------------------------------------

def _supervisor(shop: Shop, person_id: str | None) -> None:
    if person_id is None:
        raise Refused("say who does it (--person): a supervisor")
    p = shop.person(person_id)
    if "supervisor" not in p.roles and "admin" not in p.roles:
        raise Refused(f"{p.name} is not a supervisor: only a supervisor fixes a baseline or acknowledges an alert")


def fix_baseline(shop: Shop, name: str, person_id: str | None, last: int | None = None,
                 bench_id: str | None = None) -> Baseline:
    """Fix the limits of `name` on its points so far (or the last `last` of them): "this is the process right"."""
    _supervisor(shop, person_id)
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
    _supervisor(shop, person_id)
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


# --- the derived tables and the guard ---------------------------------------------------------------

def _m001(db) -> None:  # sqlite_utils.Database
    db.execute("""CREATE TABLE spc_baselines (
        name TEXT PRIMARY KEY, ts TEXT NOT NULL, person TEXT, first TEXT, last TEXT, points INTEGER, upto INTEGER,
        limits TEXT)""")
    db.execute("""CREATE TABLE spc_acks (
        name TEXT PRIMARY KEY, until TEXT NOT NULL, upto INTEGER NOT NULL, ts TEXT, person TEXT, note TEXT)""")


class SpcProjector(ChunkedRebuild):
    """The baselines fixed and the alerts acknowledged, latest per characteristic."""

    tables = ("spc_baselines", "spc_acks")
    rebuild_apart = True
    rebuild_types = frozenset({SPC_BASELINE_FIXED, SPC_ALERT_ACKNOWLEDGED})
    rebuild_weight = 0

    def __init__(self, site: Site) -> None:
        self.site = site

    def apply(self, conn: sqlite3.Connection, events: list[ev.Event]) -> None:
        for e in events:
            p = e.payload
            if e.type == SPC_BASELINE_FIXED:
                conn.execute("INSERT OR REPLACE INTO spc_baselines (name, ts, person, first, last, points, upto, limits)"
                             " VALUES (?,?,?,?,?,?,?,?)", (p.get("name"), e.ts, e.person, p.get("first"), p.get("last"),
                                                          p.get("points"), p.get("upto"),
                                                          json.dumps(p.get("limits"), sort_keys=True)))
                conn.execute("DELETE FROM spc_acks WHERE name = ?", (p.get("name"),))  # new limits: judged anew
            elif e.type == SPC_ALERT_ACKNOWLEDGED:
                conn.execute("INSERT OR REPLACE INTO spc_acks (name, until, upto, ts, person, note) VALUES (?,?,?,?,?,?)",
                             (p.get("name"), p.get("until"), p.get("upto", 0), e.ts, e.person, p.get("note")))

    def rebuild_feed(self, conn: sqlite3.Connection, events: Iterable[ev.Event]) -> None:
        self.apply(conn, [e for e in events if e.type in self.rebuild_types])

    def rebuild_end(self, conn: sqlite3.Connection) -> None:
        pass


def guard(shop: Shop, conn: sqlite3.Connection, state: JobState, action: g.Action, person=None,
          bench=None) -> list[g.Reason]:
    """Where qc.toml says drift holds a stage: an open alert on its characteristics stops the next start."""
    if action.kind != g.START or not action.stage or action.stage not in rules_of(shop.site).hold_on_drift:
        return []
    alerts = open_alerts(conn, shop.site, action.stage)
    if not alerts:
        return []
    c, v = alerts[0]
    more = f" (and {len(alerts) - 1} more)" if len(alerts) > 1 else ""
    return [g.Reason("drift", f"{c.series.title} is drifting: {v.text}{more}",
                     f"a supervisor looks at the chart and acknowledges it (floorkiosk spc ack {c.series.name})",
                     overridable=False)]


def describe(shop: Shop, e: ev.Event) -> str:
    p = e.payload
    if e.type == SPC_BASELINE_FIXED:
        return f"control limits of {p.get('name')} fixed on {p.get('points')} points"
    return f"{p.get('alerts')} alert(s) on {p.get('name')} acknowledged: {p.get('note')}"


AREA = Area("spc", projectors=lambda site: [SpcProjector(site)], migrations=(("spc_001_baselines", _m001),),
            guard=guard, describers=dict.fromkeys((SPC_BASELINE_FIXED, SPC_ALERT_ACKNOWLEDGED), describe))
