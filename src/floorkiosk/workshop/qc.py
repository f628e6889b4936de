"""QC station and stone parcels: inspection verbs, batch sampling, defect Pareto, and their tables.

The shop loads this module as an extension (services._extensions): `projectors(site)` keeps the QC
and stone tables in step with the journal, `migrations()` creates them, `describe(shop, event)`
words QC and stone events for the job card's history.

An inspection is recorded as one `qc.inspected` event (every measurement, pass/fail per check,
whether the piece was drawn in a batch sample). Its consequence goes through the foundation's
verbs, so guardrails and rework counting stay in one place: a pass verifies the inspected stage
(or starts, weighs out and finishes the route's QC stage); a fail rejects with the defect code,
the reason and the stage to redo.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlite_utils  # the migrations' type; the library is loaded only to migrate

from floorkiosk.workshop import cards, judge, standards, verbs
from floorkiosk.domain import events as ev
from floorkiosk.domain import guardrails as g
from floorkiosk.domain import payloads
from floorkiosk.domain import qc as dq
from floorkiosk.domain.qc import QC_BATCH_ESCALATED, QC_INSPECTED, QC_SAMPLE_DRAWN
from floorkiosk.domain.stones import EVENT_MOVES, MOVE_EVENTS, STONES_DISCREPANCY, STONES_ISSUED
from floorkiosk.domain import stones as ds
from floorkiosk.domain.config import Site
from floorkiosk.domain.state import DONE, IN_PROGRESS, REWORK, TODO, VERIFIED, JobState, prerequisites_met
from floorkiosk.domain.units import fmt_many
from floorkiosk.errors import FloorkioskError, NotFound, Refused
from floorkiosk.store.projection import ChunkedRebuild
from floorkiosk.store.where import Where
from floorkiosk.workshop.judge import Blocked
from floorkiosk.workshop.shop import Area, Shop


# How the piece came to be inspected (recorded with each inspection).
EVERY_PIECE, DRAWN, NOT_DRAWN, AFTER_FAILURE = "every piece", "drawn", "not drawn", "every piece after a failure"

PARETO_BY = ("stage", "bench", "person", "design", "alloy", "defect")


# --- tables ----------------------------------------------------------------------------------------

def _m_qc_001(db: sqlite_utils.Database) -> None:
    db.execute("""CREATE TABLE qc_inspections (
        id TEXT PRIMARY KEY, ts TEXT NOT NULL, job TEXT NOT NULL, stage TEXT NOT NULL, plan TEXT, result TEXT NOT NULL,
        selection TEXT, sampled INTEGER NOT NULL, batch TEXT, person TEXT, bench TEXT, defect TEXT, redo TEXT,
        reason TEXT, checks TEXT NOT NULL)""")
    db.execute("CREATE INDEX qc_inspections_job ON qc_inspections (job, stage, ts)")
    db.execute("CREATE INDEX qc_inspections_batch ON qc_inspections (batch, stage)")
    db.execute("""CREATE TABLE qc_samples (
        batch TEXT NOT NULL, stage TEXT NOT NULL, plan TEXT, pieces INTEGER NOT NULL, n INTEGER NOT NULL,
        drawn TEXT NOT NULL, drawn_at TEXT, escalated_at TEXT, escalated_job TEXT, escalated_defect TEXT,
        PRIMARY KEY (batch, stage)) WITHOUT ROWID""")
    db.execute("""CREATE TABLE qc_holds (
        job TEXT PRIMARY KEY, batch TEXT, stage TEXT, active INTEGER NOT NULL, held_at TEXT) WITHOUT ROWID""")
    # the bench and person of the last run of each stage of each job: whom a defect is charged to
    db.execute("""CREATE TABLE qc_runs (
        job TEXT NOT NULL, stage TEXT NOT NULL, bench TEXT, person TEXT, PRIMARY KEY (job, stage)) WITHOUT ROWID""")
    db.execute("""CREATE TABLE qc_defects (
        id TEXT PRIMARY KEY, ts TEXT NOT NULL, job TEXT NOT NULL, defect TEXT NOT NULL, stage TEXT, origin TEXT,
        origin_bench TEXT, origin_person TEXT, inspector TEXT, bench TEXT, design TEXT, alloy TEXT)""")
    db.execute("CREATE INDEX qc_defects_ts ON qc_defects (ts)")
    db.execute("""CREATE TABLE stone_parcels (
        id TEXT PRIMARY KEY, job TEXT NOT NULL, line INTEGER NOT NULL, kind TEXT, shape TEXT, cert TEXT,
        setter TEXT, issued_n INTEGER NOT NULL, issued_ct TEXT NOT NULL,
        set_n INTEGER NOT NULL DEFAULT 0, set_ct TEXT NOT NULL DEFAULT '0',
        returned_n INTEGER NOT NULL DEFAULT 0, returned_ct TEXT NOT NULL DEFAULT '0',
        broken_n INTEGER NOT NULL DEFAULT 0, broken_ct TEXT NOT NULL DEFAULT '0',
        lost_n INTEGER NOT NULL DEFAULT 0, lost_ct TEXT NOT NULL DEFAULT '0',
        issued_at TEXT, setting_done INTEGER NOT NULL DEFAULT 0, flagged INTEGER NOT NULL DEFAULT 0)""")
    db.execute("CREATE INDEX stone_parcels_job ON stone_parcels (job)")


class QcProjector(ChunkedRebuild):
    """Keeps the inspection, sample, defect and stone parcel tables in step with the journal."""

    tables = ("qc_inspections", "qc_samples", "qc_holds", "qc_runs", "qc_defects", "stone_parcels")
    _TYPES = frozenset({QC_INSPECTED, QC_SAMPLE_DRAWN, QC_BATCH_ESCALATED, STONES_ISSUED, STONES_DISCREPANCY,
                        *MOVE_EVENTS.values(), ev.STAGE_STARTED, ev.STAGE_FINISHED, ev.STAGE_REJECTED,
                        ev.JOB_HELD, ev.JOB_RELEASED, ev.JOB_CREATED})

    # in a rebuild it reads only its own tables (design and alloy from job.created, see below), so a
    # rebuild may fold it in a second process
    rebuild_apart = True
    rebuild_types = _TYPES
    rebuild_weight = 2  # its share of a rebuild's work, measured (see Journal.rebuild)

    def __init__(self, site: Site) -> None:
        self.site = site
        self.setting_stage = dq.qc_config(site).stones.setting_stage
        # During a rebuild the jobs table is not there to read (one pass feeds every projector, maybe in
        # another process): a defect's design and alloy come from the job.created events seen so far
        # instead, those of the chunk being folded here and the earlier ones in a scratch table
        # (_CREATED), so that memory does not grow with every job in the journal.
        self._created: dict[str, tuple[str, str]] | None = None
        # Who ran each stage last: gathered in memory while a batch (or a chunk of a rebuild) is folded
        # and written at its end. (job, stage) -> [bench, person, whole]; whole: started in this batch,
        # so the row is written whole; else only its person (a finish) is.
        self._runs: dict[tuple[str, str], list] = {}

    def apply(self, conn: sqlite3.Connection, events: list[ev.Event]) -> None:
        self._runs, self._created = {}, None  # nothing left over from a batch or a rebuild that failed
        try:
            for e in events:
                if e.type in self._TYPES:
                    self._one(conn, e)
            self._write_runs(conn)
        finally:
            self._runs = {}

    # the journal feeds a rebuild in chunks from one shared read of the events
    _CREATED = "qc_rebuild_created"  # a temporary table: the rebuild's job -> (design, alloy)

    def rebuild_begin(self, conn: sqlite3.Connection) -> None:
        super().rebuild_begin(conn)
        conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS {self._CREATED}"
                     " (job TEXT PRIMARY KEY, design TEXT, alloy TEXT) WITHOUT ROWID")
        conn.execute(f"DELETE FROM temp.{self._CREATED}")
        self._created = {}
        self._runs = {}

    def rebuild_feed(self, conn: sqlite3.Connection, events: Iterable[ev.Event]) -> None:
        for e in events:
            if e.type in self._TYPES:
                self._one(conn, e)
        # what the chunk gathered is written now, so memory holds one chunk's worth
        self._write_runs(conn)
        if self._created:
            conn.executemany(f"INSERT OR REPLACE INTO temp.{self._CREATED} (job, design, alloy) VALUES (?, ?, ?)",
                             [(j, *da) for j, da in self._created.items()])
            self._created = {}

    def rebuild_end(self, conn: sqlite3.Connection) -> None:
        self._write_runs(conn)
        self._created = None
        conn.execute(f"DROP TABLE IF EXISTS temp.{self._CREATED}")

    def footprint(self, e: ev.Event) -> set[tuple]:
        """What of these tables the event reads or sets (see store.journal._reordered): its job's rows
        (runs, holds, defects charged to a run), a batch stage's sample (the first drawn stands), a
        stone parcel's counts."""
        if e.type not in self._TYPES:
            return set()
        p = e.payload
        out: set[tuple] = {("job", e.job)} if e.job else set()
        if e.type in (QC_SAMPLE_DRAWN, QC_BATCH_ESCALATED):
            out.add(("sample", p.get("batch"), p.get("stage")))
        elif p.get("parcel") is not None:
            out.add(("parcel", p.get("parcel")))
        return out

    def _created_of(self, conn: sqlite3.Connection, job: str) -> tuple | None:
        """A job's (design, alloy) while rebuilding: from this chunk's job.created, else the earlier ones'."""
        assert self._created is not None
        got = self._created.get(job)
        if got is None:
            got = conn.execute(f"SELECT design, alloy FROM temp.{self._CREATED} WHERE job = ?", (job,)).fetchone()
        return got

    def _write_runs(self, conn: sqlite3.Connection) -> None:
        runs, self._runs = self._runs, {}
        whole = [(job, stage, b, p) for (job, stage), (b, p, w) in runs.items() if w]
        finished = [(job, stage, b, p) for (job, stage), (b, p, w) in runs.items() if not w]
        if whole:
            conn.executemany("INSERT INTO qc_runs (job, stage, bench, person) VALUES (?, ?, ?, ?) ON CONFLICT"
                             " (job, stage) DO UPDATE SET bench = excluded.bench, person = excluded.person", whole)
        if finished:
            conn.executemany("INSERT INTO qc_runs (job, stage, bench, person) VALUES (?, ?, ?, ?) ON CONFLICT"
                             " (job, stage) DO UPDATE SET person = excluded.person", finished)

    def _run_of(self, conn: sqlite3.Connection, job: str, stage: str | None) -> tuple | None:
        """(bench, person) of the stage's last run, as it stands at this point of the batch."""
        r = self._runs.get((job, stage))
        if r is not None and r[2]:
            return r[0], r[1]
        row = conn.execute("SELECT bench, person FROM qc_runs WHERE job = ? AND stage = ?", (job, stage)).fetchone()
        if r is not None:  # finished in this batch, started before it: the bench it was started at stands
            return (row[0] if row else r[0]), r[1]
        return row

    def _one(self, conn: sqlite3.Connection, e: ev.Event) -> None:
        p, t = e.payload, e.type
        match t:
            case ev.JOB_CREATED:
                if self._created is not None:
                    self._created[e.job] = (p.get("design", ""), p.get("alloy", ""))
            case ev.STAGE_STARTED if p.get("stage"):
                self._runs[(e.job, p["stage"])] = [e.bench, e.person, True]
                if p["stage"] == self.setting_stage:
                    # setting is open again (rework): its parcels may still be accounted for
                    conn.execute("UPDATE stone_parcels SET setting_done = 0 WHERE job = ?", (e.job,))
            case ev.STAGE_FINISHED if p.get("stage"):
                run = self._runs.get((e.job, p["stage"]))
                if run is None:
                    self._runs[(e.job, p["stage"])] = [e.bench, e.person, False]
                else:
                    run[1] = e.person
                if p["stage"] == self.setting_stage:
                    conn.execute("UPDATE stone_parcels SET setting_done = 1 WHERE job = ?", (e.job,))
            case ev.STAGE_REJECTED:
                origin = p.get("redo") or p.get("stage")
                run = self._run_of(conn, e.job, origin)
                if self._created is not None:
                    job = self._created_of(conn, e.job)
                else:
                    job = conn.execute("SELECT design, alloy FROM jobs WHERE id = ?", (e.job,)).fetchone()
                conn.execute("INSERT OR REPLACE INTO qc_defects (id, ts, job, defect, stage, origin, origin_bench, origin_person,"
                             " inspector, bench, design, alloy) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                             (e.id, e.ts, e.job, (p.get("defect") or "").strip().upper(), p.get("stage"), origin,
                              run[0] if run else None, run[1] if run else None, e.person, e.bench,
                              job[0] if job else None, job[1] if job else None))
            case dq.QC_INSPECTED:
                conn.execute("INSERT OR REPLACE INTO qc_inspections (id, ts, job, stage, plan, result, selection, sampled, batch,"
                             " person, bench, defect, redo, reason, checks) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                             (e.id, e.ts, e.job, p.get("stage"), p.get("plan"), p.get("result"), p.get("selection"),
                              1 if p.get("sampled") else 0, p.get("batch"), e.person, e.bench, p.get("defect"),
                              p.get("redo"), p.get("reason"), json.dumps(p.get("checks", []), sort_keys=True)))
            case dq.QC_SAMPLE_DRAWN:
                conn.execute("INSERT OR IGNORE INTO qc_samples (batch, stage, plan, pieces, n, drawn, drawn_at)"
                             " VALUES (?,?,?,?,?,?,?)",
                             (p["batch"], p["stage"], p.get("plan"), int(p["pieces"]), int(p["n"]),
                              json.dumps(sorted(p["drawn"])), e.ts))
            case dq.QC_BATCH_ESCALATED:
                conn.execute("UPDATE qc_samples SET escalated_at = ?, escalated_job = ?, escalated_defect = ?"
                             " WHERE batch = ? AND stage = ? AND escalated_at IS NULL",
                             (e.ts, p.get("job"), p.get("defect"), p["batch"], p["stage"]))
            case ev.JOB_HELD if p.get("qc_batch"):
                conn.execute("INSERT OR REPLACE INTO qc_holds (job, batch, stage, active, held_at) VALUES (?, ?, ?, 1, ?)",
                             (e.job, p["qc_batch"], p.get("stage"), e.ts))
            case ev.JOB_RELEASED:
                conn.execute("UPDATE qc_holds SET active = 0 WHERE job = ?", (e.job,))
            case ds.STONES_ISSUED:
                conn.execute("INSERT OR IGNORE INTO stone_parcels (id, job, line, kind, shape, cert, setter, issued_n, issued_ct,"
                             " issued_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                             (p["parcel"], e.job, int(p.get("line", 1)), p.get("kind", ""), p.get("shape", ""),
                              p.get("cert", ""), p.get("setter"), int(p["count"]), str(Decimal(p["ct"])), e.ts))
            case _ if t in EVENT_MOVES:
                m = EVENT_MOVES[t]
                row = conn.execute(f"SELECT {m}_n, {m}_ct FROM stone_parcels WHERE id = ?", (p["parcel"],)).fetchone()
                if row is not None:
                    conn.execute(f"UPDATE stone_parcels SET {m}_n = ?, {m}_ct = ? WHERE id = ?",
                                 (row[0] + int(p["count"]), str(Decimal(row[1]) + Decimal(p["ct"])), p["parcel"]))
            case ds.STONES_DISCREPANCY:
                conn.execute("UPDATE stone_parcels SET flagged = 1 WHERE id = ?", (p["parcel"],))


# --- history wording --------------------------------------------------------------------------------

def describe(shop: Shop, e: ev.Event) -> str:
    """QC and stone events in plain words for the job card's history."""
    t, p = e.type, e.payload
    who = shop.name(e.person) or "someone"
    if t == dq.QC_INSPECTED:
        stage = shop.site.stages.get(p.get("stage", ""))
        sname = stage.name if stage else p.get("stage", "")
        sel = p.get("selection") or ""
        batch = f" (batch {p['batch']}: {sel})" if p.get("batch") else ""
        if p.get("result") == dq.PASS:
            return f"{who} inspected {sname}: PASS{batch}"
        redo = shop.site.stages.get(p.get("redo") or "")
        return (f"{who} inspected {sname}: FAIL {p.get('defect', '')} — {p.get('reason', '')}".rstrip(" —")
                + (f"; back to {redo.name}" if redo else "") + batch)
    if t == dq.QC_SAMPLE_DRAWN:
        return f"sample of batch {p.get('batch')} drawn: {', '.join(p.get('drawn', []))}"
    if t == dq.QC_BATCH_ESCALATED:
        return f"batch {p.get('batch')} failed QC ({p.get('job')}: {p.get('defect')}): every piece is inspected"
    if t == ds.STONES_ISSUED:
        line = ds.line_text({"count": p.get("count"), "shape": p.get("shape"), "kind": p.get("kind"),
                             "ct": p.get("ct"), "cert": p.get("cert")})
        return f"{who} issued stone parcel {p.get('parcel')} to {shop.name(p.get('setter'))}: {line}"
    if t in EVENT_MOVES:
        m = EVENT_MOVES[t]
        est = " ≈" if p.get("ct_estimated") else " "
        note = f" — {p['note']}" if p.get("note") else ""
        return f"{who} recorded {ds.stones_word(int(p.get('count', 0)))}{est}{ds.ct_text(p.get('ct'))} {m} from parcel {p.get('parcel')}{note}"
    if t == ds.STONES_DISCREPANCY:
        return f"STONE DISCREPANCY in parcel {p.get('parcel')}: {p.get('problem', '')}"
    return f"{who}: {t}"


# --- what the QC station inspects ------------------------------------------------------------------

@dataclass
class Target:
    stage: str
    mode: str  # "verify": a finished stage awaiting verification; "stage": a stage done at the QC bench
    plan: dq.Plan | None  # None: no plan in qc.toml; the stage's checklist is inspected
    checks: tuple[dq.Check, ...]

    @property
    def plan_name(self) -> str:
        return self.plan.name if self.plan else "checklist (no inspection plan in qc.toml)"


@dataclass
class SampleStatus:
    """The sample of one batch at one inspected stage."""

    batch: str
    stage: str
    pieces: list[str]
    n: int
    drawn: list[str]
    escalated: bool = False
    escalated_job: str | None = None
    escalated_defect: str | None = None
    passed: set[str] = field(default_factory=set)  # pieces with a passing inspection at this stage
    closed: set[str] = field(default_factory=set)  # pieces that need no inspection any more (complete)

    def selection(self, job: str) -> str:
        if self.escalated:
            return AFTER_FAILURE
        return DRAWN if job in self.drawn else NOT_DRAWN

    def must_inspect(self) -> list[str]:
        want = self.pieces if self.escalated else self.drawn
        return [j for j in want if j not in self.passed and j not in self.closed]

    def text(self, job: str) -> str:
        left = self.must_inspect()
        left_text = f"{len(left)} left to inspect: {', '.join(left)}" if left else "none left to inspect"
        if self.escalated:
            return (f"Batch {self.batch} FAILED QC ({self.escalated_job}: {self.escalated_defect}): every one of its "
                    f"{len(self.pieces)} pieces is inspected; {left_text}")
        head = f"Batch {self.batch}: sample {self.n} of {len(self.pieces)}, drawn {', '.join(self.drawn)}"
        if job in self.drawn:
            return f"{head}. This piece is DRAWN: inspect it. {left_text[:1].upper()}{left_text[1:]}."
        return f"{head}. This piece is not drawn; inspecting it anyway is recorded as not sampled."


@dataclass
class Inspection:
    """Everything the QC station needs to inspect one job now."""

    job: JobState
    person: Any
    bench: Any
    target: Target
    facts: dq.Facts
    sample: SampleStatus | None
    selection: str
    redo_choices: tuple[str, ...]  # stages a failure may send the piece back to
    default_redo: str | None
    our_hold: bool  # the job is on a hold the QC station placed (batch failure); a pass lifts it
    stone_problems: list[str]

    @property
    def checks(self) -> tuple[dq.Check, ...]:
        return self.target.checks

    @property
    def stage(self) -> str:
        return self.target.stage

    def evaluate(self, answers: dict[str, str], sources: dict[str, str] | None = None) -> dq.Evaluation:
        return dq.evaluate(self.checks, answers, self.facts, sources)


def _cfg(shop: Shop, job: JobState | None = None) -> dq.QcConfig:
    """The QC config in effect; for a job, that of the standards it runs under (its plans and tolerances)."""
    return dq.qc_config(standards.site_for(shop, job) if job is not None else shop.site)


def find_target(shop: Shop, state: JobState, bench: Any) -> Target | None:
    """The stage of this job the QC station inspects now, with its plan; None if nothing is due."""
    site, cfg = shop.site, _cfg(shop, state)
    route = site.routes.get(state.route)
    if route is None:
        return None
    needs_verify = {s.id: s.verify for s in site.stages.values()}
    sid = g.actionable_stage(site, state, bench, g.VERIFY)
    mode = "verify"
    if sid is None:
        mode = "stage"
        for step in route.steps:
            st = state.stage(step.stage)
            if not bench.serves(step.stage) or cfg.plan_for(step.stage, state.route, state.design) is None:
                continue
            if st.status == IN_PROGRESS or (st.status in (TODO, REWORK)
                                            and prerequisites_met(state, route, step.stage, needs_verify)):
                sid = step.stage
                break
    if sid is None:
        return None
    return _target(shop, state, sid, mode)


def _target(shop: Shop, state: JobState, sid: str, mode: str) -> Target:
    own = standards.site_for(shop, state)  # the plan and checklist of the job's version of the standards
    stage = own.stages.get(sid) or shop.site.stages[sid]
    plan = dq.qc_config(own).plan_for(sid, state.route, state.design)
    checks = plan.checks if plan else ()
    if mode == "stage" or plan is None:
        # the QC stage is finished with its checklist: each item must have been judged
        checks = dq.checklist_checks(checks, stage.checklist)
    return Target(sid, mode, plan, checks)


def _hold_row(conn: sqlite3.Connection, job: str) -> tuple | None:
    return conn.execute("SELECT batch, stage FROM qc_holds WHERE job = ? AND active = 1", (job,)).fetchone()


def sample_status(shop: Shop, batch: str, stage: str) -> SampleStatus | None:
    rows = shop.journal.query("SELECT n, drawn, escalated_at, escalated_job, escalated_defect FROM qc_samples"
                              " WHERE batch = ? AND stage = ?", (batch, stage))
    if not rows:
        return None
    n, drawn, esc_at, esc_job, esc_defect = rows[0]
    pieces = cards.batch_jobs(shop, batch)
    passed = {r[0] for r in shop.journal.query(
        "SELECT DISTINCT job FROM qc_inspections WHERE batch = ? AND stage = ? AND result = 'pass'", (batch, stage))}
    q = ",".join("?" * len(pieces)) or "''"
    closed = {r[0] for r in shop.journal.query(f"SELECT id FROM jobs WHERE id IN ({q}) AND status = 'complete'", pieces)}
    return SampleStatus(batch, stage, pieces, n, json.loads(drawn), esc_at is not None, esc_job, esc_defect,
                        passed, closed)


def _ensure_sample(shop: Shop, state: JobState, target: Target, person_id: str, bench_id: str) -> SampleStatus | None:
    """Draw (once, recorded) the sample of the job's batch for this stage, if its plan samples batches."""
    if not state.batch or target.plan is None or target.plan.sampling is None:
        return None
    batch, sid, plan = state.batch, target.stage, target.plan

    def build(conn: sqlite3.Connection) -> list[ev.Event]:
        if conn.execute("SELECT 1 FROM qc_samples WHERE batch = ? AND stage = ?", (batch, sid)).fetchone():
            return []
        row = conn.execute("SELECT jobs FROM batches WHERE id = ?", (batch,)).fetchone()
        pieces = json.loads(row[0]) if row else [state.id]
        n = dq.sample_size(plan.sampling, len(pieces))
        drawn = dq.draw(batch, sid, pieces, n)
        return [shop.event(QC_SAMPLE_DRAWN, None, person_id, bench_id,
                           {"batch": batch, "stage": sid, "plan": plan.id, "pieces": len(pieces), "n": n,
                            "drawn": drawn, "rule": plan.sampling.text()})]

    shop.journal.append_many(build=build)
    return sample_status(shop, batch, sid)


def _redo_choices(shop: Shop, state: JobState, target: Target) -> tuple[tuple[str, ...], str | None]:
    route = shop.site.routes[state.route]
    ids = route.stage_ids
    upto = ids[: ids.index(target.stage) + 1]
    own = state.stage(target.stage).status in (DONE, VERIFIED)
    choices = tuple(s for s in upto if state.stage(s).status in (DONE, VERIFIED) and (s != target.stage or own))
    if own:
        default = target.stage
    else:
        done_before = [s for s in upto[:-1] if state.stage(s).status in (DONE, VERIFIED)]
        default = done_before[-1] if done_before else None
    return choices, default


def begin_facts(shop: Shop, state: JobState) -> dq.Facts:
    """What the checks need to know about a piece: last weight, spec size, stones, route, design."""
    route = shop.site.routes.get(state.route)
    return dq.Facts(reference_grams=Decimal(state.last_weight) if state.last_weight else None,
                    spec_size=dq.spec_size(state.spec), has_stones=bool(state.stones),
                    route_stages=route.stage_ids if route else (), design=state.design)


def begin(shop: Shop, job_id: str, person_id: str, bench_id: str) -> Inspection:
    """Open the inspection of a job at a QC station: its plan, the facts it needs, its batch sample.

    Refused (with what to do) when this person or bench cannot inspect, or nothing is due. The
    first piece of a sampled batch to reach the station draws the batch's sample (recorded).
    """
    person = shop.person(person_id)
    bench = shop.bench(bench_id)
    if not person.is_qc:
        raise Refused(f"{person.name} does not have the supervisor role; a supervisor inspects at the QC station")
    if not bench.qc:
        qc_benches = ", ".join(b.name for b in shop.site.benches.values() if b.qc) or "none is configured"
        raise Refused(f"{bench.name} is not a QC station; inspect at {qc_benches}")
    state = shop.job(job_id)
    target = find_target(shop, state, bench)
    with shop.journal.lock:
        hold = _hold_row(shop.journal.conn, state.id)
    if target is None and hold is not None and hold[1] in shop.site.stages:
        # a piece held because its batch failed: inspected again even if its QC stage was done
        target = _target(shop, state, hold[1], "stage")
    if target is None:
        route = shop.site.routes.get(state.route)
        where = ", ".join(f"{shop.site.stages[s].name}: {state.stage(s).status}" for s in (route.stage_ids if route else ())
                          if state.stage(s).status in (IN_PROGRESS, DONE, REWORK))
        raise Refused(f"nothing to inspect on {state.id} at {bench.name} now"
                      + (f" ({where})" if where else "") + "; scan it again when a stage awaits verification or QC")
    sample = _ensure_sample(shop, state, target, person.id, bench.id)
    selection = sample.selection(state.id) if sample else EVERY_PIECE
    if sample is None and state.batch:
        # a batch whose plan does not sample, or an escalation recorded earlier
        sample = sample_status(shop, state.batch, target.stage)
        selection = sample.selection(state.id) if sample else EVERY_PIECE
    facts = begin_facts(shop, state)
    choices, default = _redo_choices(shop, state, target)
    problems = [f"{p.id}: {p.problem(_cfg(shop).stones.carat_tolerance)}" for p in parcels(shop, state.id)
                if p.status(_cfg(shop).stones.carat_tolerance) != ds.BALANCED]
    return Inspection(state, person, bench, target, facts, sample, selection, choices, default, hold is not None,
                      problems)


# --- recording an inspection -----------------------------------------------------------------------

@dataclass
class Outcome:
    result: str  # pass or fail
    event: ev.Event  # the qc.inspected event
    done: list[str] = field(default_factory=list)  # what followed, in words
    pending: list[str] = field(default_factory=list)  # what is still needed, in words
    held: list[str] = field(default_factory=list)  # other pieces of the batch put on hold

    def text(self) -> str:
        return "; ".join(self.done + self.pending)


def _blocked(shop: Shop, state: JobState, kind: str, person_id: str, bench_id: str, stage: str, our_hold: bool,
             checklist: tuple[str, ...] = ()) -> None:
    """Refuse now, recording nothing, if the verb that follows the inspection would be blocked."""

    d = judge.decide(shop, kind, state, person_id, bench_id, stage, checklist=checklist)
    reasons = tuple(r for r in d.reasons if not (our_hold and r.code == "on-hold"))
    if reasons:
        raise Blocked(g.Decision(d.action, d.stage, reasons), state.id)


def record_inspection(shop: Shop, job_id: str, person_id: str, bench_id: str, answers: dict[str, str], *,
                      sources: dict[str, str] | None = None, raws: dict[str, str] | None = None,
                      defect: str | None = None, redo: str | None = None, reason: str | None = None,
                      photo: str | None = None, pin: str | None = None) -> Outcome:
    """Record an inspection and act on it; bad input or a blocked consequence records nothing.

    An inspection verifies or rejects: it asks for the inspector's PIN where the site does (`pin`),
    checked before anything is recorded.

    answers   check id -> what was typed or read ("5.214", "1.85", "6 1/2", "pass", "f")
    sources   check id -> "scale" for a weight read from the bench scale (default "typed")
    raws      check id -> the balance's line, kept as evidence
    defect, redo, reason   for a failure; proposed from the failed checks when not given
    photo     sha256 of a stored photo, attached to the QC stage on a pass
    """

    insp = begin(shop, job_id, person_id, bench_id)
    state, target, cfg = insp.job, insp.target, _cfg(shop, insp.job)
    evaluation = insp.evaluate(answers, sources)
    if not evaluation.complete:
        raise Refused(f"not answered yet: {', '.join(evaluation.missing)}")
    judge.check_pin(shop, shop.person(person_id), pin, bench_id)  # before anything is recorded
    sid = target.stage
    stage = shop.site.stages[sid]
    st = state.stage(sid)
    payload: dict[str, Any] = {"stage": sid, "plan": target.plan.id if target.plan else None,
                               "result": evaluation.result, "selection": insp.selection,
                               "sampled": insp.selection == DRAWN, "batch": state.batch,
                               "checks": [r.to_dict() | ({"raw": raws[r.check.id]} if raws and raws.get(r.check.id) else {})
                                          for r in evaluation.results],
                               "reference_grams": str(insp.facts.reference_grams) if insp.facts.reference_grams else None}
    confirmed = tuple(item for item in stage.checklist
                      if any(r.check.name.casefold() == item.casefold() and r.result in (dq.PASS, dq.NA)
                             for r in evaluation.results))
    reject_stage = None
    if evaluation.passed:
        if target.mode == "verify":
            _blocked(shop, state, g.VERIFY, person_id, bench_id, sid, insp.our_hold)
        elif st.status in (TODO, REWORK):
            _blocked(shop, state, g.START, person_id, bench_id, sid, insp.our_hold)
    else:
        p_code, p_redo, p_reason = dq.proposal(evaluation, cfg, insp.redo_choices, insp.default_redo)
        code = (defect or p_code or "").strip().upper()
        if not code:
            raise Refused("give a defect code for the failure")
        cfg.defect(code)  # Refused for an unknown code
        redo = (redo or p_redo or "").strip() or None
        if redo is not None and redo not in shop.site.stages:
            byname = [s.id for s in shop.site.stages.values() if s.name.casefold() == redo.casefold()]
            redo = byname[0] if byname else redo
        if redo not in insp.redo_choices:
            names = ", ".join(shop.site.stages[s].name for s in insp.redo_choices) or "none"
            raise Refused(f"the piece cannot go back to {redo!r}: choose a stage it has been through ({names})")
        reason = (reason if reason is not None else p_reason).strip() or cfg.defects[code].text
        reject_stage = sid if st.status in (DONE, VERIFIED) else redo
        _blocked(shop, state, g.REJECT, person_id, bench_id, reject_stage, insp.our_hold)
        payload |= {"defect": code, "redo": redo, "reason": reason,
                    "defects": sorted({code} | {d for r in evaluation.failed for d in r.check.defects[:1]})}

    outcome_held: list[str] = []

    def build(conn: sqlite3.Connection) -> list[ev.Event]:
        now = shop.jobs.replay(conn, state.id)  # its events, not its derived row (see judge.act)
        if now is None or now.events != state.events:
            raise Refused(f"{state.id} changed while it was being inspected; scan it again")
        events = [shop.event(QC_INSPECTED, state.id, person_id, bench_id, payload)]
        if evaluation.result == dq.FAIL and state.batch:
            events += _escalate(shop, conn, state, target, person_id, bench_id, payload["defect"], outcome_held)
        if _hold_row(conn, state.id) is not None and now.hold is not None:
            # The batch rule put this hold on and an inspection by a supervisor is what it waits for, so the
            # inspection lifts it here, in the same transaction (the release verb's PIN is for holds a
            # person put on).
            events.append(shop.event(ev.JOB_RELEASED, state.id, person_id, bench_id,
                                     {"note": f"inspected at the QC station ({evaluation.result})", "auto": True,
                                      "qc_batch": state.batch}))
        if sid == cfg.stones.setting_stage:
            events += _discrepancy_events(shop, conn, state.id, person_id, bench_id)
        return events

    written = shop.journal.append_many(build=build)
    out = Outcome(evaluation.result, written[0], held=outcome_held)
    if outcome_held:
        out.done.append(f"batch {state.batch} failed: {len(outcome_held)} other pieces put on hold until inspected")
    try:
        if evaluation.result == dq.FAIL:
            verbs.reject(shop, state.id, person_id, bench_id, reject_stage, defect=payload["defect"], reason=payload["reason"],
                        redo=payload["redo"])
            out.done.append(f"rejected: {payload['defect']}, back to {shop.site.stages[payload['redo']].name}")
        elif target.mode == "verify":
            verbs.verify(shop, state.id, person_id, bench_id, sid, pin=pin)
            out.done.append(f"{stage.name} verified")
        elif st.status in (DONE, VERIFIED):
            out.done.append(f"{stage.name} was already {st.status}; the piece is released")
        else:
            _finish_stage(shop, state, stage, person_id, bench_id, evaluation, sources, raws, photo, confirmed, out)
    except Blocked as exc:
        out.pending.append("; ".join(f"{r.text} -> {r.unblock}" for r in exc.decision.reasons))
    except FloorkioskError as exc:
        out.pending.append(str(exc))
    return out


def _finish_stage(shop: Shop, state: JobState, stage: Any, person_id: str, bench_id: str, evaluation: dq.Evaluation,
                  sources: dict[str, str] | None, raws: dict[str, str] | None, photo: str | None,
                  confirmed: tuple[str, ...], out: Outcome) -> None:

    sid = stage.id
    if state.stage(sid).status in (TODO, REWORK):
        verbs.start(shop, state.id, person_id, bench_id, sid)
        out.done.append(f"{stage.name} started")
    weight = next((r for r in evaluation.results if r.check.kind == "weight" and r.value is not None), None)
    if weight is not None:
        how = (sources or {}).get(weight.check.id, "typed")
        raw = (raws or {}).get(weight.check.id) or f"{how} at QC"
        bench = shop.bench(bench_id)
        profile = str(bench.scale.get("profile") or "") if bench.scale else ""
        # the bench scale's stable reading, or typed by the inspector, a supervisor: marked as typed by hand
        source = (verbs.FromScale(profile or "scale", raw) if how == "scale" else
                  verbs.Typed(person_id, "typed at the QC inspection"))
        now = shop.job(state.id).stage(sid)
        typed = "" if how == "scale" else ", typed by hand"
        if stage.needs("weigh-in") and now.weight_in is None:
            verbs.record_weight(shop, state.id, person_id, bench_id, weight.value, phase="in", stage=sid, raw=raw,
                                source=source)
        if stage.needs("weigh-out"):
            verbs.record_weight(shop, state.id, person_id, bench_id, weight.value, phase="out", stage=sid, raw=raw,
                                source=source)
            out.done.append(f"weighed out {fmt_many(weight.value, shop.site.settings.units)}{typed}")
    if photo:
        verbs.attach_photo(shop, state.id, person_id, bench_id, photo, stage=sid)
        out.done.append("photo attached")
    try:
        verbs.finish(shop, state.id, person_id, bench_id, sid, checklist=confirmed)
        out.done.append(f"{stage.name} finished")
    except Blocked as exc:
        out.pending.append(f"{stage.name} stays in progress: "
                           + "; ".join(f"{r.text} -> {r.unblock}" for r in exc.decision.reasons))


def _escalate(shop: Shop, conn: sqlite3.Connection, state: JobState, target: Target, person_id: str, bench_id: str,
              defect: str, held: list[str]) -> list[ev.Event]:
    """After a failure in a sampled batch: every piece is inspected; those that reached QC are held."""
    batch, sid = state.batch, target.stage
    row = conn.execute("SELECT escalated_at FROM qc_samples WHERE batch = ? AND stage = ?", (batch, sid)).fetchone()
    if row is None or row[0] is not None:
        return []  # not sampled (every piece is inspected anyway), or already escalated
    jobs_row = conn.execute("SELECT jobs FROM batches WHERE id = ?", (batch,)).fetchone()
    pieces = json.loads(jobs_row[0]) if jobs_row else []
    passed = {r[0] for r in conn.execute(
        "SELECT DISTINCT job FROM qc_inspections WHERE batch = ? AND stage = ? AND result = 'pass'", (batch, sid))}
    site = shop.site
    needs_verify = {s.id: s.verify for s in site.stages.values()}
    stage_name = site.stages[sid].name
    events = [shop.event(QC_BATCH_ESCALATED, None, person_id, bench_id,
                         {"batch": batch, "stage": sid, "job": state.id, "defect": defect})]
    for jid in pieces:
        if jid == state.id or jid in passed:
            continue
        other = shop.jobs.load(conn, jid)
        route = site.routes.get(other.route) if other else None
        if other is None or route is None or other.complete or other.hold is not None or route.step(sid) is None:
            continue
        st = other.stage(sid)
        if st.status == TODO and not prerequisites_met(other, route, sid, needs_verify):
            continue  # still upstream: inspected when it arrives (the QC station says so)
        events.append(shop.event(ev.JOB_HELD, jid, person_id, bench_id, {
            "reason": (f"batch {batch} failed QC at {stage_name} ({state.id}: {defect}); every piece is inspected "
                       f"at the QC station, which lifts this hold"),
            "auto": True, "qc_batch": batch, "stage": sid}))
        held.append(jid)
    return events


# --- the sampling guardrail ------------------------------------------------------------------------

def guard(shop: Shop, conn: sqlite3.Connection, state: JobState, action: g.Action, person: Any = None,
          bench: Any = None) -> list[g.Reason]:
    """Why the batch sampling rule blocks finishing or verifying an inspected stage; [] when it does not.

    A piece drawn in its batch's sample, and every piece of a batch that failed, must pass an
    inspection (after its last rejection) before the inspected stage is finished or verified. Meant
    to run inside the services' write transaction beside domain.guardrails.check; the QC station
    records its inspection before it finishes or verifies, so it always satisfies it.
    """
    if action.kind not in (g.FINISH, g.VERIFY) or not action.stage or not state.batch:
        return []
    sid = action.stage
    plan = _cfg(shop).plan_for(sid, state.route, state.design)
    if plan is None or plan.sampling is None:
        return []
    row = conn.execute("SELECT drawn, escalated_at, escalated_job, escalated_defect FROM qc_samples"
                       " WHERE batch = ? AND stage = ?", (state.batch, sid)).fetchone()
    if row is None:
        # not drawn yet: the draw is reproducible, so who will be drawn is already known
        jobs_row = conn.execute("SELECT jobs FROM batches WHERE id = ?", (state.batch,)).fetchone()
        pieces = json.loads(jobs_row[0]) if jobs_row else [state.id]
        drawn, escalated = dq.draw(state.batch, sid, pieces, dq.sample_size(plan.sampling, len(pieces))), None
    else:
        drawn, escalated = json.loads(row[0]), row[1]
    if not escalated and state.id not in drawn:
        return []
    last = conn.execute("SELECT result, ts FROM qc_inspections WHERE job = ? AND stage = ? ORDER BY ts DESC, rowid DESC"
                        " LIMIT 1", (state.id, sid)).fetchone()
    rejected = conn.execute("SELECT max(ts) FROM qc_defects WHERE job = ?", (state.id,)).fetchone()[0]
    if last is not None and last[0] == dq.PASS and (rejected is None or last[1] >= rejected):
        return []
    stage = shop.site.stages[sid].name
    if escalated:
        why = (f"batch {state.batch} failed QC ({row[2]}: {row[3]}): every piece is inspected, "
               f"and {state.id} has not passed yet")
    else:
        why = f"{state.id} is drawn for inspection in batch {state.batch} and has not passed it"
    return [g.Reason("inspection", why, f"inspect it at the QC station (Inspect) before {stage} is "
                     f"{'verified' if action.kind == g.VERIFY else 'finished'}")]


# --- stone parcels ---------------------------------------------------------------------------------

_PARCEL_COLS = ("id, job, line, kind, shape, cert, setter, issued_n, issued_ct, set_n, set_ct, returned_n, returned_ct,"
                " broken_n, broken_ct, lost_n, lost_ct, setting_done, flagged")


def _parcel(row: tuple) -> ds.Parcel:
    p = ds.Parcel(row[0], row[1], row[2], row[3] or "", row[4] or "", row[5] or "", row[6] or "", row[7], Decimal(row[8]))
    for k, m in enumerate(ds.MOVES):
        p.n[m] = row[9 + 2 * k]
        p.ct[m] = Decimal(row[10 + 2 * k])
    p.setting_done = bool(row[17])
    return p


def parcels(shop: Shop, job_id: str | None = None) -> list[ds.Parcel]:
    if job_id is None:
        rows = shop.journal.query(f"SELECT {_PARCEL_COLS} FROM stone_parcels ORDER BY id")
    else:
        rows = shop.journal.query(f"SELECT {_PARCEL_COLS} FROM stone_parcels WHERE job = ? ORDER BY id", (shop.job(job_id).id,))
    return [_parcel(r) for r in rows]


def parcel(shop: Shop, parcel_id: str) -> ds.Parcel:
    rows = shop.journal.query(f"SELECT {_PARCEL_COLS} FROM stone_parcels WHERE id = ?", (parcel_id.strip().upper(),))
    if not rows:
        raise NotFound(f"no stone parcel {parcel_id.strip().upper()} in this workshop")
    return _parcel(rows[0])


def _setting_skill(shop: Shop) -> str | None:
    sid = _cfg(shop).stones.setting_stage
    return shop.site.stages[sid].skill if sid else None


def issue_stones(shop: Shop, job_id: str, person_id: str, setter_id: str, *, line: int = 1, count: Any = None,
                 ct: Any = None, cert: str | None = None, bench_id: str | None = None) -> ev.Event:
    """Issue a stone parcel (one stone line of the job) to a setter; returns the stones.issued event."""
    issuer = shop.person(person_id)
    setter = shop.person(setter_id)
    if not issuer.is_supervisor:
        raise Refused(f"{issuer.name} is not a supervisor; stones are issued by a supervisor from the stone safe")
    skill = _setting_skill(shop)
    if skill and skill not in setter.skills:
        raise Refused(f"{setter.name} does not have the {skill} skill; issue the stones to a setter")
    state = shop.job(job_id)
    if state.complete:
        raise Refused(f"{state.id} has finished its route; no stones are issued to it")
    if not state.stones:
        raise Refused(f"{state.id} has no stones on its job card")
    if not isinstance(line, int) or not 1 <= line <= len(state.stones):
        raise Refused(f"{state.id} has stone line{'s' if len(state.stones) > 1 else ''} 1"
                      + (f" to {len(state.stones)}" if len(state.stones) > 1 else "") + f", not {line!r}")
    stone = state.stones[line - 1]
    n = ds.parse_count(count if count is not None else stone.get("count", 0))
    carats = ds.parse_ct(ct) if ct is not None else (
        ds.parse_ct(stone["ct"]) * n / int(stone.get("count") or n) if stone.get("ct") not in (None, "") else None)
    if carats is None:
        raise Refused(f"line {line} of {state.id} has no carat weight: give it (--ct)")
    carats = carats.quantize(ds.CT)
    payload = {"line": line, "kind": stone.get("kind", ""), "shape": stone.get("shape", ""), "count": n,
               "ct": str(carats), "cert": cert if cert is not None else stone.get("cert", ""), "setter": setter.id}

    shop.numbers.reserve("parcel", 1)  # on a hub site parcel numbers come from the hub's blocks, as job numbers do

    def build(conn: sqlite3.Connection) -> list[ev.Event]:
        k = shop.numbers.take(conn, "parcel", 1)[0]
        return [shop.event(STONES_ISSUED, state.id, issuer.id, bench_id, payload | {"parcel": f"SP{k:04d}"})]

    return shop.journal.append_many(build=build)[0]


def _resolve_parcel(shop: Shop, ref: str) -> ds.Parcel:
    ref = ref.strip()
    if ref.upper().startswith("SP"):
        return parcel(shop, ref)
    state = shop.job(ref)
    mine = parcels(shop, state.id)
    open_ = [p for p in mine if p.missing_n > 0]
    if len(open_) == 1:
        return open_[0]
    if not mine:
        raise NotFound(f"{state.id} has no stone parcel issued")
    if not open_:
        raise Refused(f"every parcel of {state.id} is fully accounted for ({', '.join(p.id for p in mine)})")
    raise Refused(f"{state.id} has open parcels {', '.join(p.id for p in open_)}: name the parcel")


def move_stones(shop: Shop, ref: str, move: str, count: Any, person_id: str, *, ct: Any = None, note: str = "",
                bench_id: str | None = None) -> list[ev.Event]:
    """Record stones of a parcel as set, returned, broken or lost (ref: a parcel id or a job with one open parcel).

    Refused, recording nothing, when it would account for more stones than were issued. A move after
    setting has finished that leaves the parcel unbalanced flags a discrepancy on the job's history.
    """
    if move not in ds.MOVES:
        raise Refused(f"unknown stone move {move!r}; moves are {', '.join(ds.MOVES)}")
    person = shop.person(person_id)
    n = ds.parse_count(count)
    p0 = _resolve_parcel(shop, ref)
    if person.id != p0.setter and not person.is_supervisor:
        raise Refused(f"parcel {p0.id} was issued to {shop.name(p0.setter)}; they or a supervisor record its stones")
    estimated = ct is None
    carats = ds.estimate_ct(p0.issued_n, p0.issued_ct, n) if estimated else ds.parse_ct(ct).quantize(ds.CT)
    tol = _cfg(shop).stones.carat_tolerance

    def build(conn: sqlite3.Connection) -> list[ev.Event]:
        row = conn.execute(f"SELECT {_PARCEL_COLS} FROM stone_parcels WHERE id = ?", (p0.id,)).fetchone()
        p = _parcel(row)
        ds.check_move(p, move, n)
        payload = {"parcel": p.id, "count": n, "ct": str(carats), "setter": p.setter}
        if estimated:
            payload["ct_estimated"] = True
        if note:
            payload["note"] = note
        out = [shop.event(MOVE_EVENTS[move], p.job, person.id, bench_id, payload)]
        p.n[move] += n
        p.ct[move] += carats
        if p.setting_done and p.status(tol) == ds.DISCREPANCY and not row[18]:
            out.append(shop.event(STONES_DISCREPANCY, p.job, person.id, bench_id,
                                  {"parcel": p.id, "problem": p.problem(tol), "missing": p.missing_n}))
        return out

    return shop.journal.append_many(build=build)


def _discrepancy_events(shop: Shop, conn: sqlite3.Connection, job: str, person_id: str | None,
                        bench_id: str | None) -> list[ev.Event]:
    tol = _cfg(shop).stones.carat_tolerance
    out = []
    for row in conn.execute(f"SELECT {_PARCEL_COLS} FROM stone_parcels WHERE job = ? ORDER BY id", (job,)).fetchall():
        p = _parcel(row)
        p.setting_done = True  # called at the end of setting
        if not row[18] and p.status(tol) == ds.DISCREPANCY:
            out.append(shop.event(STONES_DISCREPANCY, job, person_id, bench_id,
                                  {"parcel": p.id, "problem": p.problem(tol), "missing": p.missing_n}))
    return out


@dataclass
class StoneProblem:
    parcel: ds.Parcel
    status: str
    problem: str
    flagged: bool


def stone_check(shop: Shop) -> list[StoneProblem]:
    """Parcels that do not balance although setting has finished (discrepancies), by parcel id."""
    tol = _cfg(shop).stones.carat_tolerance
    rows = shop.journal.query(f"SELECT {_PARCEL_COLS} FROM stone_parcels WHERE setting_done = 1 ORDER BY id")
    out = []
    for r in rows:
        p = _parcel(r)
        if p.status(tol) == ds.DISCREPANCY:
            out.append(StoneProblem(p, ds.DISCREPANCY, p.problem(tol), bool(r[18])))
    return out


def flag_discrepancies(shop: Shop, person_id: str, bench_id: str | None = None) -> list[ev.Event]:
    """Record each discrepancy not flagged yet on its job's history; returns the events written."""
    person = shop.person(person_id)
    if not person.is_supervisor:
        raise Refused(f"{person.name} is not a supervisor; a supervisor flags stone discrepancies")
    tol = _cfg(shop).stones.carat_tolerance

    def build(conn: sqlite3.Connection) -> list[ev.Event]:
        out = []
        for row in conn.execute(f"SELECT {_PARCEL_COLS} FROM stone_parcels WHERE setting_done = 1 AND flagged = 0"
                                " ORDER BY id").fetchall():
            p = _parcel(row)
            if p.status(tol) == ds.DISCREPANCY:
                out.append(shop.event(STONES_DISCREPANCY, p.job, person.id, bench_id,
                                      {"parcel": p.id, "problem": p.problem(tol), "missing": p.missing_n}))
        return out

    return shop.journal.append_many(build=build)


def parcel_fields(shop: Shop, parcel_id: str) -> dict[str, Any]:
    """The fields of a stone parcel label (labels/stone_parcel.toml)."""
    p = parcel(shop, parcel_id)
    return {"parcel": p.id, "job": p.job, "stones": f"{p.stones_text()} {p.cert}".strip(),
            "weight": ds.ct_text(p.issued_ct), "setter": shop.name(p.setter),
            "payload": payloads.encode(payloads.Kind.STONE_PARCEL, p.id)}


# --- the Pareto of defects --------------------------------------------------------------------------

def _day(text: str | None, what: str) -> str | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise Refused(f"{what} {text!r} is not a date like 2026-11-01") from None


def pareto(shop: Shop, by: str = "stage", date_from: str | None = None, date_to: str | None = None) -> list[dq.ParetoRow]:
    """Defects that sent pieces back, ranked by (stage | bench | person | design | alloy, defect code).

    A defect is charged upstream: to the stage that redoes it, and to the bench and person of that
    stage's last run before the rejection. date_from and date_to are inclusive days (UTC).
    """
    if by not in PARETO_BY:
        raise Refused(f"--by must be one of {', '.join(PARETO_BY)}, not {by!r}")
    lo, hi = _day(date_from, "--from"), _day(date_to, "--to")
    w = Where().given(lo, "ts >= ?").given(hi and (date.fromisoformat(hi) + timedelta(days=1)).isoformat(), "ts < ?")
    rows = shop.journal.query("SELECT defect, origin, origin_bench, origin_person, design, alloy FROM qc_defects"
                              + w.sql(), w.params)
    site = shop.site
    pairs = []
    for defect, origin, bench, person, design, alloy in rows:
        if by == "stage":
            key = site.stages[origin].name if origin in site.stages else (origin or "?")
        elif by == "bench":
            key = site.benches[bench].name if bench in site.benches else (bench or "?")
        elif by == "person":
            key = shop.name(person) or "?"
        elif by == "design":
            key = design or "?"
        elif by == "alloy":
            key = alloy or "?"
        else:
            key = ""
        pairs.append((key, defect or "(no code)"))
    return dq.pareto(pairs)


# --- the demo site -----------------------------------------------------------------------------------

def demo_stones(shop: Shop, job: str, stage_id: str, bench_id: str, when: str) -> None:
    """Demo: stone parcels at the setting bench — issued when setting starts, accounted for when it ends.

    It draws nothing from the demo's random stream, so the rest of the demo stays as it was.
    """
    if stage_id != _cfg(shop).stones.setting_stage:
        return
    state = shop.job(job)
    if not state.stones:
        return
    setter = state.stage(stage_id).started_by or "ben"
    if when == "start":
        for line, s in enumerate(state.stones, 1):
            n = int(s.get("count") or 1)
            spare = 1 if n > 2 else 0  # melee comes with a spare
            ct = ds.parse_ct(s.get("ct") or 0) * (n + spare) / n
            issue_stones(shop, job, "farid", setter, line=line, count=n + spare, ct=ct, bench_id=bench_id)
        return
    for p in parcels(shop, job):
        if p.missing_n <= 0:
            continue
        need = int(state.stones[p.line - 1].get("count") or 1)
        move_stones(shop, p.id, "set", need, setter, bench_id=bench_id)
        left = p.missing_n - need
        k = int(p.id[2:])  # the parcel number picks what happens to the spare, so the demo repeats
        if left > 0:
            if k % 7 == 5:
                pass  # the spare is not accounted for: a discrepancy for the QC station to find
            elif k % 5 == 2:
                move_stones(shop, p.id, "broken", left, setter, bench_id=bench_id, note="chipped while setting")
            else:
                move_stones(shop, p.id, "returned", left, setter, bench_id=bench_id)


def _passing_answers(insp: Inspection) -> dict[str, str]:
    out = {}
    for c in insp.checks:
        if not dq.applies(c, insp.facts)[0]:
            continue
        if c.kind == "weight":
            out[c.id] = str(insp.facts.reference_grams or "1")
        elif c.kind == "size":
            out[c.id] = str(insp.facts.spec_size)
        elif c.kind == "measure":
            lo = c.min if c.min is not None else Decimal(0)
            hi = c.max if c.max is not None else lo + 1
            out[c.id] = str(((lo + hi) / 2).quantize(Decimal("0.01")))
        else:
            out[c.id] = "pass"
    return out


def demo_after(shop: Shop, clock: dict, now: Any) -> None:
    """Demo: the QC station's morning — verifications and final inspections, two of them failing."""
    photos = sorted(p.stem for p in shop.photos_dir.glob("*.jpg") if len(p.stem) == 64)
    waiting = [r[0] for r in shop.journal.query(
        "SELECT s.job FROM job_stages s JOIN jobs j ON j.id = s.job WHERE s.stage = ? AND s.status = 'done'"
        " AND j.on_hold = 0 ORDER BY s.job LIMIT 4", (_cfg(shop).stones.setting_stage or "",))]
    final = [r[0] for r in shop.journal.query(
        "SELECT s.job FROM job_stages s JOIN jobs j ON j.id = s.job WHERE s.stage = 'qc' AND s.ready = 1"
        " AND j.on_hold = 0 ORDER BY s.job LIMIT 4")]
    bench = next((b.id for b in shop.site.benches.values() if b.qc), None)
    if bench is None:
        return
    for k, job in enumerate(waiting + final):
        clock["t"] = min(clock["t"] + timedelta(minutes=12), now - timedelta(minutes=5))
        try:
            insp = begin(shop, job, "eva", bench)
            answers = _passing_answers(insp)
            if k in (1, len(waiting) + 1):  # one verification and one final inspection fail
                bad = next((c for c in insp.checks if c.kind == "visual" and c.id in answers), None)
                if bad is not None:
                    answers[bad.id] = "fail"
            record_inspection(shop, job, "eva", bench, answers, photo=photos[k % len(photos)] if photos else None,
                              pin=shop.person("eva").pin)
        except FloorkioskError:
            continue  # a piece the demo's guardrails keep from QC: skip it


AREA = Area("qc", projectors=lambda site: [QcProjector(site)],
            migrations=(("qc_001_inspections_samples_defects_stones", _m_qc_001),), guard=guard,
            describers=dict.fromkeys((QC_INSPECTED, QC_SAMPLE_DRAWN, QC_BATCH_ESCALATED, STONES_ISSUED,
                                      STONES_DISCREPANCY, *EVENT_MOVES), describe))
