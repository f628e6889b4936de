"""Working time at the bench: declared capacity, PAUSE and RESUME, work time per run, standard times.

The verbs record events (``capacity.declared``, ``work.paused``, ``work.resumed``) after refusing
bad input in words; the readers fold them (domain/worktime.py) with the stage events and the badge
events, so a logout or an idle logout pauses whatever the person had under way until they badge in
again, without a pause event of its own.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple
from datetime import date, datetime, timedelta

from floorkiosk.domain import events as ev
from floorkiosk.domain.calendar import (
    CAPACITY_DECLARED,
    PROMISE_ACCEPTED_LATE,
    WORK_PAUSED,
    WORK_RESUMED,
    declared_problems,
    monday_of,
    parse_week,
    week_label,
)
from floorkiosk.domain.state import DONE, IN_PROGRESS, VERIFIED
from floorkiosk.domain.worktime import WORK_EVENTS, Standards, WorkClock
from floorkiosk.errors import Refused
from floorkiosk.store.projection import ChunkedRebuild
from floorkiosk.workshop.shop import Area, Shop


def _local_today(shop: Shop) -> date:
    return shop.clock().astimezone(shop.site.planning.calendar.tz).date()


# --- capacity ---------------------------------------------------------------------------------
def declare_capacity(shop: Shop, person_id: str, week: str, hours: dict[str, float], bench_id: str | None = None) -> str:
    """Record a person's hours by skill for this week or the next (the kiosk's CAPACITY card)."""
    person = shop.person(person_id)
    try:
        monday = parse_week(week)
    except ValueError as exc:
        raise Refused(str(exc)) from None
    this = monday_of(_local_today(shop))
    if monday not in (this, this + timedelta(days=7)):
        raise Refused(f"capacity is declared for this week ({week_label(this)}) or the next "
                      f"({week_label(this + timedelta(days=7))}), not {week_label(monday)}")
    cal = shop.site.planning.calendar
    skills = {s.skill for s in shop.site.stages.values()}
    wh = cal.week_hours(monday)
    problems = declared_problems(hours, person.skills, skills, wh, f"week {week_label(monday)}")
    if problems:
        raise Refused(f"{person.name}: " + "; ".join(problems))
    if bench_id is not None:
        shop.bench(bench_id)
    label = week_label(monday)
    shop.journal.append(shop.event(CAPACITY_DECLARED, None, person.id, bench_id,
                                   {"week": label, "hours": {k: float(v) for k, v in hours.items()}}))
    return label


def declared(shop: Shop) -> dict[tuple[str, str], dict[str, float]]:
    """(person, week label) -> hours by skill, the latest declaration of each."""
    out: dict[tuple[str, str], dict[str, float]] = {}
    for e in shop.journal.events(types=[CAPACITY_DECLARED]):
        out[(e.person or "", e.payload["week"])] = dict(e.payload["hours"])
    return out


def capacity_of(shop: Shop, person_id: str, monday: date,
                decl: dict[tuple[str, str], dict[str, float]] | None = None) -> dict[str, float] | None:
    """A person's hours by skill in the week of `monday`: declared at the kiosk, else people.toml;
    None where neither says (their working week goes to whichever of their skills is needed)."""
    decl = declared(shop) if decl is None else decl
    got = decl.get((person_id, week_label(monday)))
    if got is not None:
        return got
    return shop.site.planning.capacity.get(person_id)


# --- PAUSE and RESUME -------------------------------------------------------------------------
def _clock_of_job(shop: Shop, job_id: str) -> WorkClock:
    """The job's runs, with the badge events (a logout pauses, the next badge-in resumes) of whoever has
    one under way, from when the earliest of those runs began."""
    clock = WorkClock(shop.site.planning.calendar)
    own = [e for e in shop.journal.events(job=job_id) if e.type in WORK_EVENTS]
    clock.feed(own)
    if clock.open:
        starts = {(e.job, e.payload.get("stage", "")): e.seq or 0 for e in own if e.type == ev.STAGE_STARTED}
        first = min(starts.get(k, 0) for k in clock.open)
        people = sorted({r.person for r in clock.open.values()})
        q = ",".join("?" * len(people))
        badges = [ev.Event(t, None, p, None, {}, ts=at, seq=seq) for seq, p, t, at in shop.journal.query(
            f"SELECT seq, person, type, ts FROM work_badges WHERE person IN ({q}) AND seq > ? ORDER BY seq",
            [*people, first])]
        if badges:
            clock = WorkClock(shop.site.planning.calendar)
            clock.feed(sorted(own + badges, key=lambda e: e.seq or 0))
    return clock


def _own_stage(shop: Shop, job_id: str, person_id: str, stage: str | None) -> tuple[str, str]:
    job = shop.job(job_id)
    person = shop.person(person_id)
    mine = [s for s, st in job.stages.items() if st.status == IN_PROGRESS and st.started_by == person.id]
    if stage is not None:
        if stage not in mine:
            raise Refused(f"{person.name} has no {stage} under way on {job.id}")
        return job.id, stage
    if not mine:
        raise Refused(f"{person.name} has nothing under way on {job.id} to pause or resume")
    return job.id, mine[0]


def pause_work(shop: Shop, job_id: str, person_id: str, bench_id: str | None = None, stage: str | None = None) -> str:
    """The PAUSE card: the person's stage under way on this job stops counting as work time."""
    jid, sid = _own_stage(shop, job_id, person_id, stage)
    if _clock_of_job(shop, jid).is_paused(jid, sid):
        raise Refused(f"{shop.site.stages[sid].name} on {jid} is paused already: RESUME goes on with it")
    shop.journal.append(shop.event(WORK_PAUSED, jid, person_id, bench_id, {"stage": sid}))
    return sid


def resume_work(shop: Shop, job_id: str, person_id: str, bench_id: str | None = None, stage: str | None = None) -> str:
    """The RESUME card: work time counts again."""
    jid, sid = _own_stage(shop, job_id, person_id, stage)
    if not _clock_of_job(shop, jid).is_paused(jid, sid):
        raise Refused(f"{shop.site.stages[sid].name} on {jid} is not paused: PAUSE stops its clock")
    shop.journal.append(shop.event(WORK_RESUMED, jid, person_id, bench_id, {"stage": sid}))
    return sid


# --- work time and standard times -------------------------------------------------------------
class _WorkEvent(NamedTuple):
    """What the work clock reads of an event: read straight off the journal's columns (the stage, and a
    rejection's redo, out of the payload by SQLite), at half the cost of whole events."""

    type: str
    job: str | None
    person: str | None
    ts: str
    payload: dict


_WORK_SQL = ("SELECT seq, type, job, person, ts, json_extract(payload, '$.stage'), json_extract(payload, '$.redo')"
             f" FROM events WHERE seq > ? AND type IN ({','.join('?' * len(WORK_EVENTS))}) ORDER BY seq LIMIT 20000")


def _work_events(shop: Shop):
    last = 0
    while True:
        rows = shop.journal.query(_WORK_SQL, (last, *WORK_EVENTS))
        if not rows:
            return
        for _, type_, job, person, at, stage, redo in rows:
            p = {} if stage is None else {"stage": stage} if redo is None else {"stage": stage, "redo": redo}
            yield _WorkEvent(type_, job, person, at, p)
        last = rows[-1][0]


def work_clock(shop: Shop) -> WorkClock:
    """Every run of the site's history folded: the finished runs, and the runs under way."""
    clock = WorkClock(shop.site.planning.calendar)
    clock.feed(_work_events(shop))
    return clock


def standards(shop: Shop, clock: WorkClock | None = None) -> Standards:
    clock = clock or work_clock(shop)
    jobs = {r[0]: (r[1], r[2]) for r in shop.journal.query("SELECT id, route, design FROM jobs")}
    plan = shop.site.planning
    return Standards(clock.runs, jobs, plan.standard_hours, plan.default_hours, plan.history_runs)


def recent_standards(shop: Shop, stages: list[str], per_stage: int = 200) -> Standards:
    """Standard times of these stages from their most recent finished runs only (`per_stage` jobs each):
    what a bench's card shows, read without folding the site's whole history (on a site of millions of
    events that fold takes seconds and a hundred megabytes). Each sampled job's clock is its own events
    and its people's badge events between its first and last."""
    plan = shop.site.planning
    if not stages:
        return Standards([], {}, plan.standard_hours, plan.default_hours, plan.history_runs)
    jobs: set[str] = set()
    for sid in stages:
        rows = shop.journal.query(
            "SELECT job FROM job_stages WHERE stage = ? AND status IN (?, ?) AND finished_at IS NOT NULL"
            " ORDER BY finished_at DESC LIMIT ?", (sid, DONE, VERIFIED, per_stage))
        jobs.update(r[0] for r in rows)
    runs = []
    for jid in sorted(jobs):
        own = [e for e in shop.journal.events(job=jid) if e.type in WORK_EVENTS]
        if not own:
            continue
        people = sorted({e.person for e in own if e.person})
        q = ",".join("?" * len(people))
        badges = [ev.Event(t, None, p, None, {}, ts=at, seq=seq) for seq, p, t, at in shop.journal.query(
            f"SELECT seq, person, type, ts FROM work_badges WHERE person IN ({q}) AND seq > ? AND seq < ? ORDER BY seq",
            [*people, own[0].seq or 0, own[-1].seq or 0])] if people else []
        clock = WorkClock(plan.calendar)
        clock.feed(sorted(own + badges, key=lambda e: e.seq or 0))
        runs += [r for r in clock.runs if r.stage in stages]
    info = {}
    if jobs:
        q = ",".join("?" * len(jobs))
        info = {r[0]: (r[1], r[2]) for r in shop.journal.query(f"SELECT id, route, design FROM jobs WHERE id IN ({q})",
                                                                sorted(jobs))}
    return Standards(runs, info, plan.standard_hours, plan.default_hours, plan.history_runs)


@dataclass(frozen=True)
class StageTime:
    """A stage's time on the job card: the standard beside the time spent so far."""

    stage: str
    standard: str
    spent_hours: float | None
    paused: bool


def stage_times(shop: Shop, job_id: str, std: Standards | None = None) -> list[StageTime]:
    """Each stage of the job's route: its standard time (std: as read before, else learned now from the
    site's history) beside the time spent on it so far (the run under way, else the last run)."""
    job = shop.job(job_id)
    clock = _clock_of_job(shop, job.id)
    std = std or standards(shop)
    now = shop.clock()
    out = []
    route = shop.site.routes.get(job.route)
    for sid in (route.stage_ids if route else job.stages):
        spent = clock.so_far(job.id, sid, now)
        if spent is None:
            done = [r for r in clock.runs if r.stage == sid]
            spent = done[-1].seconds if done else None
        out.append(StageTime(sid, std.of(sid, job.route, job.design).said(),
                             None if spent is None else spent / 3600, clock.is_paused(job.id, sid)))
    return out


# --- the derived table: badge events by person, for a job's clock ------------------------------
def _m001(db) -> None:  # sqlite_utils.Database
    # a run's clock needs its person's logouts and logins since it began: read by person, not by a pass
    # over every event since then
    db.execute("CREATE TABLE work_badges (seq INTEGER PRIMARY KEY, person TEXT NOT NULL, type TEXT NOT NULL,"
               " ts TEXT NOT NULL)")
    db.execute("CREATE INDEX work_badges_person ON work_badges (person, seq)")
    # a site older than the table: its badge events so far (one pass, once)
    db.execute("INSERT INTO work_badges (seq, person, type, ts) SELECT seq, person, type, ts FROM events"
               " WHERE type IN (?, ?) AND person IS NOT NULL", [ev.PERSON_LOGGED_IN, ev.PERSON_LOGGED_OUT])


_BADGES = frozenset({ev.PERSON_LOGGED_IN, ev.PERSON_LOGGED_OUT})


class BadgeProjector(ChunkedRebuild):
    tables = ("work_badges",)
    rebuild_apart = True  # reads only its own events
    rebuild_types = _BADGES
    rebuild_weight = 0

    def apply(self, conn: sqlite3.Connection, events: list[ev.Event]) -> None:
        rows = [(e.seq, e.person, e.type, e.ts) for e in events if e.type in _BADGES and e.person and e.seq]
        if rows:
            conn.executemany("INSERT OR REPLACE INTO work_badges (seq, person, type, ts) VALUES (?,?,?,?)", rows)

    def rebuild_feed(self, conn: sqlite3.Connection, events: Iterable[ev.Event]) -> None:
        self.apply(conn, list(events))

    def rebuild_end(self, conn: sqlite3.Connection) -> None:
        pass


# --- the area: its events in a job's history -------------------------------------------------
def _said_capacity(shop: Shop, e: ev.Event) -> str:
    hours = ", ".join(f"{h:g} h {sk}" for sk, h in e.payload.get("hours", {}).items()) or "no hours"
    return f"{shop.name(e.person)} declared {hours} for {e.payload.get('week')}"


AREA = Area(
    name="capacity",
    projectors=lambda site: [BadgeProjector()],
    migrations=(("capacity_001_badges", _m001),),
    describers={
        CAPACITY_DECLARED: _said_capacity,
        WORK_PAUSED: lambda shop, e: f"{shop.name(e.person)} paused {e.payload.get('stage')}",
        WORK_RESUMED: lambda shop, e: f"{shop.name(e.person)} resumed {e.payload.get('stage')}",
        PROMISE_ACCEPTED_LATE: lambda shop, e: (f"due {e.payload.get('due')} accepted knowing the schedule's "
                                                f"earliest was {e.payload.get('earliest')}"),
    },
)


def now_local(shop: Shop) -> datetime:
    return shop.clock().astimezone(shop.site.planning.calendar.tz)
