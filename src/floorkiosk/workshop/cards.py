"""The read side of the bench: the job card, the worklist, the job list, and the fields a label prints."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timezone, tzinfo
from decimal import Decimal
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from floorkiosk.domain import events as ev
from floorkiosk.domain import kpi as k
from floorkiosk.domain import payloads
from floorkiosk.domain import qc as dq
from floorkiosk.domain import stones as ds
from floorkiosk.domain.batching import next_stage
from floorkiosk.domain.config import Route
from floorkiosk.domain.guardrails import Loss, weight_loss
from floorkiosk.domain.state import DONE, IN_PROGRESS, REWORK, TODO, VERIFIED, JobState, prerequisites_met
from floorkiosk.errors import NotFound
from floorkiosk.store.rows import CANON
from floorkiosk.store.where import Where
from floorkiosk.workshop import standards
from floorkiosk.workshop.shop import Shop


@dataclass
class StageView:
    id: str
    name: str
    status: str  # done, verified, in progress, blocked, to do, rework
    who: str = ""
    overridden: bool = False
    reopened: str = ""  # why a done stage is to be done again: "Polishing was sent back"
    runs: int = 0  # how many times it was started (more than one after a rework)


@dataclass
class HistoryLine:
    ts: str
    text: str
    override: str | None = None


@dataclass
class JobCard:
    job: JobState
    route: Route
    alloy_name: str
    stages: list[StageView]
    history: list[HistoryLine]
    photos: list[tuple[str, str | None, str]]  # (sha256, stage, ts), newest first
    days_left: int | None
    late: bool
    overrides: list[HistoryLine] = field(default_factory=list)
    due: k.DueState | None = None  # the promise, lateness and delays (due_in)
    weight_step: Decimal | None = None  # readability of the scale that took the last weight (it is shown to it)

    @property
    def id(self) -> str:
        return self.job.id


@dataclass
class WorkItem:
    job: str
    stage: str
    stage_name: str
    design: str
    due: str
    priority: str
    status: str
    days_left: int | None
    late: bool


def job_card(shop: Shop, job_id: str, history: int = 15) -> JobCard:
    job = shop.job(job_id)
    site = standards.site_for(shop, job)  # the route and stages of the job's version of the standards
    route = site.routes.get(job.route) or Route(job.route, job.route, ())
    needs_verify = {s.id: s.verify for s in site.stages.values()}
    views = []
    for step in route.steps:
        st = job.stage(step.stage)
        stage = site.stages.get(step.stage)
        name = stage.name if stage else step.stage
        status = st.status
        who = ""
        if status in (TODO, REWORK) and (job.hold or (
                not prerequisites_met(job, route, step.stage, needs_verify)
                and all(job.stage(a).complete for a in step.after))):
            # every prerequisite is finished but a gate (verification, a hold) keeps it shut
            status = "blocked"
        elif status == IN_PROGRESS and job.hold:
            status = "blocked"
        if status == "todo":
            status = "to do"
        if st.status == IN_PROGRESS:
            who = shop.name(st.started_by)
        elif st.status == DONE:
            who = shop.name(st.finished_by)
        elif st.status == VERIFIED:
            who = f"{shop.name(st.finished_by)}; verified by {shop.name(st.verified_by)}"
        why = ""
        if st.reopened and st.status == REWORK:
            up = site.stages.get(st.reopened)
            why = f"{up.name if up else st.reopened} was sent back"
        views.append(StageView(step.stage, name, status, who, bool(st.overridden), why, st.runs))
    recent = shop.journal.recent(job.id, history)
    lines = [HistoryLine(e.ts, shop.describe(e), override_text(shop, e)) for e in recent]
    overrides = [h for h in lines if h.override]
    with shop.journal.lock:
        photos = shop.journal.conn.execute(
            "SELECT sha256, stage, ts FROM photos WHERE job = ? ORDER BY ts DESC LIMIT 6", (job.id,)).fetchall()
    due = due_in(shop, job)
    job.due = due.due or job.due  # the card shows the promise as it stands: moved by client delays
    alloy = shop.site.alloys.get(job.alloy)
    return JobCard(job, route, alloy.name if alloy else job.alloy, views, lines, [tuple(p) for p in photos],
                   due.days_left, due.late, overrides, due, _last_weight_step(shop, job))


def _last_weight_step(shop: Shop, job: JobState) -> Decimal | None:
    if not job.last_weight:
        return None
    rows = shop.journal.query(f"SELECT bench FROM events WHERE job = ? AND type = ? ORDER BY {CANON} DESC LIMIT 1",
                              (job.id, ev.WEIGHT_RECORDED))
    return bench_step(shop, rows[0][0]) if rows else None


def bench_step(shop: Shop, bench_id: str | None) -> Decimal | None:
    """The readability of a bench's scale (its weights are shown to it); None when unknown."""
    b = shop.site.benches.get(bench_id or "")
    r = b.scale.get("readability") if b is not None and b.scale else None
    return Decimal(str(r)) if r else None


def carats_set(shop: Shop, job: JobState) -> Decimal:
    """Carats of the stones set in the piece: its parcels' set stones, else its job card's stone lines."""
    if not job.stones:
        return Decimal(0)
    rows = shop.journal.query("SELECT issued_ct, returned_ct, broken_ct, lost_ct FROM stone_parcels WHERE job = ?",
                              (job.id,))  # workshop.qc's table
    return ds.carats_set(job.stones, [Decimal(i) - Decimal(r) - Decimal(b) - Decimal(lo) for i, r, b, lo in rows])


def stones_in(shop: Shop, job: JobState, stage: str | None, phase: str | None) -> Decimal:
    """Carats of stones in the piece at this weighing (domain.stones.in_the_piece), 0 when none."""
    if not job.stones:
        return Decimal(0)
    setting = dq.qc_config(shop.site).stones.setting_stage
    if not ds.in_the_piece(job.stages, setting, stage, phase):
        return Decimal(0)
    return carats_set(shop, job)


@lru_cache(maxsize=32)
def _zone(name: str) -> tzinfo:
    return timezone.utc if name in ("UTC", "Z", "") else ZoneInfo(name)  # validated with the site's config


def site_today(shop: Shop) -> date:
    """The site's today in its time zone ([site] timezone): the day every due state is judged on."""
    return k.site_today(shop.clock(), _zone(shop.site.settings.timezone))


def due_in(shop: Shop, job: JobState) -> k.DueState:
    """The job's promise (moved by client delays), days left or late against the site's today, and its delays.

    The one reading of a due date (domain.kpi.due_state) the card, the worklist, the board, the KPIs and
    the report share; the KPI tables keep the same promise, folded by the same rule (domain.kpi.moved).
    """
    tz = _zone(shop.site.settings.timezone)
    delays = []
    for ts, payload in shop.journal.query(f"SELECT ts, payload FROM events WHERE job = ? AND type = ? ORDER BY {CANON}",
                                          (job.id, k.JOB_DELAYED)):
        p = ev.loads(payload)
        delays.append((p.get("by", ""), p.get("new_due"), k.site_today(k.parse_ts(ts), tz)))
    return k.due_state(job.due, delays, site_today(shop), done=job.complete)


def override_text(shop: Shop, e: ev.Event) -> str | None:
    o = e.payload.get("override")
    if not o:
        return None
    reason = shop.site.override_reasons.get(o.get("code", ""))
    return (f"override by {shop.name(o.get('by'))}: {o.get('code')}"
            + (f" ({reason.text})" if reason else "") + f" — lifted: {'; '.join(o.get('reasons', []))}")


def batch_ids(shop: Shop, limit: int) -> list[str]:
    """The first batches of the site, by number (the demo lists them to try)."""
    return [r[0] for r in shop.journal.query("SELECT id FROM batches ORDER BY id LIMIT ?", (limit,))]


def batch_jobs(shop: Shop, batch_id: str) -> list[str]:
    rows = shop.journal.query("SELECT jobs FROM batches WHERE id = ?", (batch_id,))
    if not rows:
        raise NotFound(f"no batch {batch_id} in this workshop")
    return json.loads(rows[0][0])


def list_jobs(shop: Shop, *, status: str | None = "open", stage: str | None = None, limit: int = 50) -> list[tuple]:
    """(id, design, route, alloy, due, priority, current, on hold, status, days left, late) of each job, by due date.

    The due date shown is the promise (moved by client delays only), judged as due_in judges it; the
    order is by the date first promised, so the promise is read for the jobs listed only (ordering a
    large site by the promise read every job's: five times slower on 50,000 jobs).
    """
    w = Where().given(status, "j.status = ?").given(
        stage, "EXISTS (SELECT 1 FROM job_stages s WHERE s.job = j.id AND s.stage = ? AND s.status != 'todo')")
    sql = ("SELECT j.id, j.design, j.route, j.alloy, COALESCE(k.due, j.due), j.priority, j.current, j.on_hold,"
           " j.status FROM (SELECT * FROM jobs j" + w.sql() + " ORDER BY j.due, j.id LIMIT ?) j"
           " LEFT JOIN kpi_jobs k ON k.job = j.id ORDER BY j.due, j.id")
    today = site_today(shop)
    return [(*r, *k.lateness(k.as_date(r[4]), today, done=r[8] == "complete"))
            for r in shop.journal.query(sql, [*w.params, limit])]


def worklist(shop: Shop, bench_id: str, person_id: str, limit: int = 30) -> list[WorkItem]:
    """Jobs waiting for this bench's stages that this person can do: rush first, then by due date."""
    bench = shop.bench(bench_id)
    person = shop.person(person_id)
    stages = [s for s in bench.stages if shop.site.stages[s].skill in person.skills or bench.qc]
    if bench.qc:
        verify_stages = [s.id for s in shop.site.stages.values() if s.verify]
        # and the stages a job's own version of the standards has verified where the config no longer
        # does (its stage row awaits verification: finished, still active); the waiting rows' index only
        verify_stages += [r[0] for r in shop.journal.query(
            "SELECT DISTINCT stage FROM kpi_stages INDEXED BY kpi_stages_to_verify"
            " WHERE active = 1 AND status = 'done' AND on_hold = 0") if r[0] not in verify_stages]
    else:
        verify_stages = []
    if not stages and not verify_stages:
        return []
    # Each stage's first `limit` waiting rows, read in the worklist's order from an index of just the
    # waiting rows (workshop.kpi, kpi_005_worklist), then one sort of those few: the work does not grow
    # with the pieces waiting or the history (a join and sort of every waiting row took 0.1-0.4 s on
    # the 100,000-job site). kpi_stages holds the promise (moved by client delays, as due_in reads it),
    # the priority and the hold of every stage row of an open job.
    order = "(priority = 'rush') DESC, due, job"
    cols = "job, stage, status, design, due, priority"
    parts, params = [], []
    for sid in stages:
        parts.append(f"SELECT * FROM (SELECT {cols} FROM kpi_stages WHERE stage = ? AND active = 1 AND ready = 1"
                     f" AND on_hold = 0 ORDER BY {order} LIMIT ?)")
        parts.append(f"SELECT {cols} FROM kpi_stages WHERE stage = ? AND active = 1 AND status = 'in progress'"
                     " AND started_by = ? AND on_hold = 0")
        params += [sid, limit, sid, person_id]
    for sid in verify_stages:
        parts.append(f"SELECT * FROM (SELECT {cols} FROM kpi_stages WHERE stage = ? AND active = 1"
                     f" AND status = 'done' AND on_hold = 0 ORDER BY {order} LIMIT ?)")
        params += [sid, limit]
    rows = shop.journal.query(f"SELECT * FROM ({' UNION ALL '.join(parts)}) ORDER BY {order}, stage LIMIT ?",
                              [*params, limit])
    out = []
    today = site_today(shop)
    for job, stage, status, design, due, priority in rows:
        left, late = k.lateness(k.as_date(due), today)  # waiting work is open
        name = shop.site.stages[stage].name if stage in shop.site.stages else stage  # a stage of an older version
        out.append(WorkItem(job, stage, name, design, due, priority,
                            "to verify" if status == DONE else status, left, late))
    return out


def card_fields(shop: Shop, job_ids: list[str]) -> dict[str, tuple[str, list[dict[str, Any]]]]:
    """Each job's client and stone lines, read from its stored state without folding it (for a board of cards)."""
    if not job_ids:
        return {}
    q = ",".join("?" * len(job_ids))
    rows = shop.journal.query(f"SELECT id, json_extract(state, '$.client'), json_extract(state, '$.stones') FROM jobs"
                              f" WHERE id IN ({q})", job_ids)
    return {j: (client or "", json.loads(stones) if stones else []) for j, client, stones in rows}


def label_fields(shop: Shop, job_id: str) -> dict[str, Any]:
    job = shop.job(job_id)
    alloy = shop.site.alloys.get(job.alloy)
    return {"job": job.id, "design": job.design, "alloy": alloy.name if alloy else job.alloy,
            "alloy_code": job.alloy, "due": job.due, "rush": job.priority == "rush",
            "client_initials": job.client_initials, "route": job.route,
            "payload": payloads.encode(payloads.Kind.JOB, job.id)}


def batch_fields(shop: Shop, batch_id: str) -> dict[str, Any]:
    rows = shop.journal.query("SELECT design, jobs FROM batches WHERE id = ?", (batch_id,))
    if not rows:
        raise NotFound(f"no batch {batch_id} in this workshop")
    jobs = json.loads(rows[0][1])
    return {"batch": batch_id, "count": len(jobs), "design": rows[0][0], "jobs": jobs,
            "payload": payloads.encode(payloads.Kind.BATCH, batch_id)}


@dataclass
class BatchView:
    """A batch as the bench and the CLI show it: its pieces and what they have in common."""

    id: str
    design: str
    jobs: list[str]
    created_at: str
    created_by: str | None
    closed_at: str | None
    closed_by: str | None
    alloy: str = ""  # of its first piece (the batching rules keep the others alike)
    route: str = ""
    next_stage: str | None = None

    @property
    def open(self) -> bool:
        return self.closed_at is None


def batch_view(shop: Shop, batch_id: str) -> BatchView:
    rows = shop.journal.query("SELECT id, design, jobs, created_at, created_by, closed_at, closed_by FROM batches"
                              " WHERE id = ?", (batch_id,))
    if not rows:
        raise NotFound(f"no batch {batch_id} in this workshop")
    r = rows[0]
    v = BatchView(r[0], r[1] or "", json.loads(r[2]), r[3], r[4], r[5], r[6])
    if v.jobs:
        first = shop.job(v.jobs[0])
        v.alloy, v.route, v.next_stage = first.alloy, first.route, next_stage(shop.site, first)
    return v


def list_batches(shop: Shop, *, include_closed: bool = False, limit: int = 100) -> list[BatchView]:
    sql = "SELECT id FROM batches" + ("" if include_closed else " WHERE closed_at IS NULL") + " ORDER BY id LIMIT ?"
    return [batch_view(shop, r[0]) for r in shop.journal.query(sql, (limit,))]


# -- what waits for a supervisor --------------------------------------------------------------------

@dataclass
class SupervisorItem:
    """One thing waiting for a supervisor: a stage to verify, a job on hold, or a hub conflict."""

    kind: str  # "verify", "hold", "conflict" or "drift" (a characteristic's open SPC alerts; ref: its name)
    job: str
    since: str  # when it began to wait (finished, put on hold, refused in the hub's order), ISO UTC
    stage: str | None = None
    stage_name: str = ""
    design: str = ""
    detail: str = ""  # who finished it, why it is held, what the conflict is
    here: bool = True  # whether it can be done at this bench
    where: str = ""  # where it is done, when not here
    ref: str | None = None  # a conflict's event id


def supervisor_work(shop: Shop, bench_id: str, person_id: str, limit: int = 30) -> list[SupervisorItem]:
    """What waits for a supervisor, oldest first: stages to verify (finished by someone else), jobs on
    hold, and open hub conflicts.

    Three narrow reads, each answered by a partial index of just the waiting rows (done stages,
    held jobs, open conflicts), then one sort of the few found: the history's size does not matter.
    """
    site = shop.site
    bench = shop.bench(bench_id)
    person = shop.person(person_id)
    if not person.is_supervisor:
        return []
    out: list[SupervisorItem] = []
    verify_stages = [s.id for s in site.stages.values() if s.verify]
    if verify_stages:
        q = ",".join("?" * len(verify_stages))
        # the four-eyes rule: a stage this person started or finished is another supervisor's to verify
        rows = shop.journal.query(
            f"""SELECT s.job, s.stage, s.finished_at, s.finished_by, j.design FROM job_stages s
                JOIN jobs j ON j.id = s.job
                WHERE s.stage IN ({q}) AND s.status = 'done' AND j.on_hold = 0
                  AND COALESCE(s.finished_by, '') != ? AND COALESCE(s.started_by, '') != ?
                ORDER BY s.finished_at LIMIT ?""", [*verify_stages, person_id, person_id, limit])
        qc = [b.name for b in site.benches.values() if b.qc]
        for job, stage, at, by, design in rows:
            here = bench.qc or bench.serves(stage)
            where = "" if here else ", ".join(qc + [b.name for b in site.benches.values() if b.serves(stage) and not b.qc])
            out.append(SupervisorItem("verify", job, at or "", stage, site.stages[stage].name, design or "",
                                      f"finished by {shop.name(by)}", here, where))
    rows = shop.journal.query(
        """SELECT id, design, json_extract(state, '$.hold.at'), json_extract(state, '$.hold.reason'),
                  json_extract(state, '$.hold.by'), json_extract(state, '$.hold.stage') FROM jobs
           WHERE on_hold = 1 ORDER BY 3 LIMIT ?""", (limit,))
    for job, design, at, reason, by, stage in rows:
        who = shop.name(by) if by else "a rule"
        out.append(SupervisorItem("hold", job, at or "", stage, site.stages[stage].name if stage in site.stages else "",
                                  design or "", f"{reason} (by {who})"))
    if site.settings.hub is not None:  # conflicts are derived only where the hub sets an order
        rows = shop.journal.query("SELECT event_id, job, type, stage, ts, reasons FROM conflicts WHERE status = 'open'"
                                  " ORDER BY ts LIMIT ?", (limit,))
        for event_id, job, type_, stage, ts, reasons in rows:
            why = "; ".join(ev.loads(reasons)) if reasons else ""
            out.append(SupervisorItem("conflict", job, ts, stage, site.stages[stage].name if stage in site.stages else "",
                                      "", f"{type_}: {why}", ref=event_id))
    out += drift_items(shop)
    out.sort(key=lambda i: (i.since, i.job))
    return out[:limit]


def drift_items(shop: Shop) -> list[SupervisorItem]:
    """One item per characteristic with open SPC alerts (not yet acknowledged): since its oldest, with
    the latest rule broken and the job of that point. Read from the spc area's tables (few rows)."""
    site = shop.site
    rows = shop.journal.query(
        "SELECT a.name, c.title, c.stage, a.rule, a.text, a.ts, a.job FROM spc_alerts a JOIN spc_chars c"
        " ON c.name = a.name WHERE a.seq >= c.acked AND a.seq >= c.upto ORDER BY a.ts, a.seq")
    by: dict[str, list[tuple]] = {}
    for r in rows:
        by.setdefault(r[0], []).append(r)
    out = []
    for name, alerts in by.items():
        _, title, stage, rule, text, _ts, job = alerts[-1]
        n = len(alerts)
        out.append(SupervisorItem("drift", job or "", alerts[0][5], stage or None,
                                  site.stages[stage].name if stage in site.stages else (stage or ""), "",
                                  f"{title}: {n} alert{'s' if n != 1 else ''}, latest {text} (rule {rule})",
                                  ref=name))
    return out


@dataclass
class StageEvidence:
    """What a verifier looks at before verifying a stage: who did it, its weights and its photos."""

    job: str
    design: str
    stage: str
    stage_name: str
    status: str
    finished_by: str  # a name
    finished_at: str | None
    weight_in: Decimal | None
    weight_out: Decimal | None
    loss: Loss | None
    weighs: tuple[str, ...]  # the weighings the rules need: "in", "out"
    photos: list[tuple[str, str, str]]  # (sha256, ts, who) of this run's photos, oldest first
    photos_needed: int
    step: Decimal | None = None  # readability of the scale it was weighed on (its weights are shown to it)

    @property
    def missing(self) -> list[str]:
        """What the rules need that the stage lacks, in words (empty when it is all there)."""
        out = []
        if "in" in self.weighs and self.weight_in is None:
            out.append("no weigh-in")
        if "out" in self.weighs and self.weight_out is None:
            out.append("no weigh-out")
        if len(self.photos) < self.photos_needed:
            need = self.photos_needed
            out.append(f"no photo: the rules need {need} photo{'s' if need > 1 else ''} of {self.stage_name}"
                       if not self.photos else f"{len(self.photos)} of the {need} photos the rules need")
        return out


def stage_evidence(shop: Shop, job: JobState | str, stage_id: str) -> StageEvidence:
    state = shop.job(job) if isinstance(job, str) else job
    stage = shop.site.stages[stage_id]
    st = state.stage(stage_id)
    w_in = Decimal(st.weight_in) if st.weight_in is not None else None
    w_out = Decimal(st.weight_out) if st.weight_out is not None else None
    step = bench_step(shop, st.started_bench)
    # the stones set at this stage are in its weigh-out and not in its weigh-in
    ct = stones_in(shop, state, stage_id, "out") - stones_in(shop, state, stage_id, "in")
    loss = (weight_loss(stage, w_in, w_out, step or Decimal(0), ct * ds.GRAMS_PER_CT)
            if w_in is not None and w_out is not None else None)
    weighs = tuple(p for p in ("in", "out") if stage.needs(f"weigh-{p}"))
    photos = []
    if st.photos:
        q = ",".join("?" * len(st.photos))
        found = {r[0]: (r[1] or "", shop.name(r[2])) for r in shop.journal.query(
            f"SELECT sha256, ts, person FROM photos WHERE job = ? AND sha256 IN ({q})", [state.id, *st.photos])}
        photos = [(sha, *found.get(sha, ("", ""))) for sha in st.photos]
    return StageEvidence(state.id, state.design, stage_id, stage.name, st.status, shop.name(st.finished_by),
                         st.finished_at, w_in, w_out, loss, weighs, photos, stage.photos_needed, step)
