"""The master schedule of a site, promises against it, and the load on each skill week by week.

Gathers what the planner (domain/schedule.py) needs from the site: every open job's remaining
stages with their standard times (the stage under way: what is left of it, on the person doing
it), the route's graph among them, holds, rush and due dates; and each person's lanes from their
declared hours. The schedule is derived, never edited: it is kept in ``schedule.json`` beside the
journal with the journal position and the config it was made from, and made again as soon as
either has moved (any event: work, capacity, a new job) or it is older than ``FRESH_FOR``.
"""

from __future__ import annotations

import bisect
import json
import os
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from floorkiosk.domain import schedule as ds
from floorkiosk.domain.calendar import PROMISE_ACCEPTED_LATE, Axis, monday_of, week_label
from floorkiosk.domain.state import DONE, IN_PROGRESS, VERIFIED, JobState
from floorkiosk.domain.worktime import Standards, WorkClock
from floorkiosk.errors import Refused
from floorkiosk.workshop import capacity
from floorkiosk.workshop.shop import Shop

CACHE = "schedule.json"
FRESH_FOR = timedelta(minutes=15)  # a schedule older than this is made again even if nothing happened
_MIN_LEFT = 5  # minutes: a stage under way past its standard time still has this much left


@dataclass
class Inputs:
    axis: Axis
    jobs: list[ds.Job]
    lanes: list[ds.Lane]
    info: dict[str, JobState]
    capacity_minutes: dict[tuple[str, str], float]  # (skill, week label) -> declared minutes of work
    standards: Standards
    weeks: list[date]


@dataclass
class Master:
    """The master schedule as the commands read it."""

    plan: ds.Plan
    axis: Axis
    lanes: list[ds.Lane]
    info: dict[str, JobState]
    capacity_minutes: dict[tuple[str, str], float]
    work_minutes: dict[tuple[str, str], int]  # (job, stage) -> minutes of work at full pace
    made_at: datetime
    position: int
    from_cache: bool = False
    weeks: list[date] = field(default_factory=list)
    _load: dict[tuple[str, str], float] | None = None

    def when(self, minute: int) -> datetime:
        return self.axis.moment(minute)

    def day(self, minute: int) -> date:
        return self.axis.day(minute)

    def end_date(self, job_id: str) -> date | None:
        end = self.plan.ends.get(job_id)
        return None if end is None else self.day(end)

    def late_jobs(self) -> list[tuple[JobState, date, ds.Placement | None]]:
        """Each job the schedule finishes after its due date: (job, planned end, the stage that makes it late)."""
        by_job = self.plan.by_job()
        out = []
        for jid in self.plan.late:
            job = self.info[jid]
            out.append((job, self.day(self.plan.ends[jid]), ds.critical_stage(by_job.get(jid, []))))
        out.sort(key=lambda r: (r[0].due, r[0].id))
        return out

    def load(self) -> dict[tuple[str, str], float]:
        """(skill, week label) -> planned minutes of work that start that week."""
        if self._load is not None:
            return self._load
        # the axis minute each week starts at, looked up by bisection (a moment a stage is slow for 25,000)
        first = monday_of(self.axis.origin.date())
        bounds, labels = [], []
        last = max((p.start for p in self.plan.placements), default=0)
        k = 0
        while True:
            monday = first + timedelta(days=7 * k)
            at = self.axis.at(datetime.combine(monday, datetime.min.time(), self.axis.cal.tz)) if k else 0
            if at > last:
                break
            bounds.append(at)
            labels.append(week_label(monday))
            k += 1
        out: dict[tuple[str, str], float] = defaultdict(float)
        work = self.work_minutes
        for p in self.plan.placements:
            wk = labels[bisect.bisect_right(bounds, p.start) - 1]
            out[(p.skill, wk)] += work.get((p.job, p.stage), p.end - p.start)
        self._load = dict(out)
        return self._load


def _config_signature(shop: Shop) -> str:
    folder = shop.site.folder
    parts = []
    for name in sorted(os.listdir(folder)):
        if name.endswith(".toml"):
            st = os.stat(folder / name)
            parts.append(f"{name}:{st.st_mtime_ns}:{st.st_size}")
    return "|".join(parts)


def _weeks(axis: Axis, n: int) -> list[date]:
    first = monday_of(axis.origin.date())
    return [first + timedelta(days=7 * i) for i in range(n)]


def lanes_of(shop: Shop, weeks: list[date]) -> tuple[list[ds.Lane], dict[tuple[str, str], float]]:
    """Each person's lanes over these weeks, and the minutes each skill has each week."""
    cal = shop.site.planning.calendar
    decl = capacity.declared(shop)
    lanes: list[ds.Lane] = []
    cap: dict[tuple[str, str], float] = defaultdict(float)
    week_min = {w: cal.week_minutes(w) for w in weeks}
    total_min = sum(week_min.values()) or 1
    for person in shop.site.people.values():
        if not person.skills:
            continue
        per_week = [capacity.capacity_of(shop, person.id, w, decl) for w in weeks]
        if all(c is None for c in per_week):
            lanes.append(ds.Lane(f"{person.id}:*", person.id, frozenset(person.skills), 1.0))
            for w in weeks:
                for sk in person.skills:  # shared: each skill could have all of it, the heatmap says so
                    cap[(sk, week_label(w))] += week_min[w]
            continue
        got: dict[str, float] = defaultdict(float)
        for w, c in zip(weeks, per_week):
            if c is None:  # a week without a word: the week shared evenly among their skills
                c = {sk: week_min[w] / 60 / len(person.skills) for sk in person.skills}
            for sk, h in c.items():
                minutes = min(h * 60, week_min[w])
                got[sk] += minutes
                cap[(sk, week_label(w))] += minutes
        for sk, minutes in got.items():
            if minutes > 0:
                lanes.append(ds.Lane(f"{person.id}:{sk}", person.id, frozenset([sk]), min(1.0, minutes / total_min)))
    return lanes, dict(cap)


def gather(shop: Shop, now: datetime | None = None, clock: WorkClock | None = None) -> Inputs:
    plan_cfg = shop.site.planning
    now = now or shop.clock()
    axis = Axis(plan_cfg.calendar, now)
    weeks = _weeks(axis, plan_cfg.horizon_weeks)
    lanes, cap = lanes_of(shop, weeks)
    lane_ids = {ln.id for ln in lanes}
    clock = clock or capacity.work_clock(shop)
    std = capacity.standards(shop, clock)
    hold_from = plan_cfg.hold_days * plan_cfg.calendar.day_minutes
    jobs: list[ds.Job] = []
    info: dict[str, JobState] = {}
    rows = shop.journal.query("SELECT state FROM jobs WHERE status = 'open'")
    for (raw,) in rows:
        job = JobState.from_dict(json.loads(raw))
        route = shop.site.routes.get(job.route)
        if route is None:
            continue
        remaining = [s for s in route.steps if job.stages.get(s.stage) is None
                     or job.stages[s.stage].status not in (DONE, VERIFIED)]
        if not remaining:
            continue
        names = {s.stage for s in remaining}
        tasks = []
        for step in remaining:
            stage = shop.site.stages[step.stage]
            minutes = max(1, round(std.of(step.stage, job.route, job.design).hours * 60))
            pinned = None
            st = job.stages.get(step.stage)
            if st is not None and st.status == IN_PROGRESS:
                spent = clock.so_far(job.id, step.stage, now) or 0.0
                minutes = max(_MIN_LEFT, minutes - round(spent / 60))
                for lid in (f"{st.started_by}:{stage.skill}", f"{st.started_by}:*"):
                    if lid in lane_ids:
                        pinned = lid
                        break
            tasks.append(ds.Task(step.stage, stage.skill, minutes, tuple(a for a in step.after if a in names), pinned))
        try:
            due = axis.close_of(date.fromisoformat(job.due[:10]))
        except ValueError:
            due = 0
        jobs.append(ds.Job(job.id, due, tuple(tasks), job.priority == "rush", hold_from if job.hold else 0))
        info[job.id] = job
    return Inputs(axis, jobs, lanes, info, cap, std, weeks)


def _work_minutes(jobs: list[ds.Job]) -> dict[tuple[str, str], int]:
    return {(j.id, t.stage): t.minutes for j in jobs for t in j.tasks}


def master_schedule(shop: Shop, *, fresh: bool = False, solver: bool = True, jobs: bool = True,
                    clock: WorkClock | None = None) -> Master:
    """The site's master schedule: from schedule.json while nothing has moved, else made again
    (by CP-SAT within planning.toml's time_limit_s; `solver=False`: the list plan alone). `jobs=False`:
    the jobs' states are not read back with a kept schedule (a promise needs only the lanes). `clock`: the
    history's work runs when the caller has folded them already (a report costing the same jobs)."""
    now = shop.clock()
    position = shop.journal.position()
    sig = _config_signature(shop)
    path = shop.dir / CACHE
    if not fresh:
        cached = _load(shop, path, position, sig, now, jobs)
        if cached is not None:
            return cached
    inp = gather(shop, now, clock)
    if solver:
        plan = ds.solve(inp.jobs, inp.lanes, shop.site.planning.time_limit_s)
    else:
        plan = min((ds.list_schedule(inp.jobs, inp.lanes, o) for o in ("rush", "edd")),
                   key=lambda p: ds.score(p, inp.jobs))
        plan.unplaceable = ds.unplaceable(inp.jobs, inp.lanes)[1]
    m = Master(plan, inp.axis, inp.lanes, inp.info, inp.capacity_minutes, _work_minutes(inp.jobs), now, position,
               weeks=inp.weeks)
    if solver:
        _save(path, m, sig)
    return m


def _save(path, m: Master, sig: str) -> None:
    data = {
        "position": m.position, "config": sig, "made_at": m.made_at.isoformat(), "method": m.plan.method,
        "notes": m.plan.notes, "seconds": m.plan.seconds,
        "placements": [[p.job, p.stage, p.skill, p.lane, p.person, p.start, p.end, p.ready] for p in m.plan.placements],
        "ends": m.plan.ends, "late": m.plan.late,
        "unplaceable": [[u.job, u.stage, u.skill, u.why] for u in m.plan.unplaceable],
        "lanes": [[ln.id, ln.person, sorted(ln.skills), ln.pace] for ln in m.lanes],
        "capacity": [[k[0], k[1], v] for k, v in m.capacity_minutes.items()],
        "work": [[k[0], k[1], v] for k, v in m.work_minutes.items()],
        "weeks": [w.isoformat() for w in m.weeks],
    }
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)  # a reader sees the old schedule or the new one, never half of one


def _load(shop: Shop, path, position: int, sig: str, now: datetime, with_jobs: bool) -> Master | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    try:
        made = datetime.fromisoformat(data["made_at"])
        if data["position"] != position or data["config"] != sig or not (made <= now < made + FRESH_FOR):
            return None
        plan = ds.Plan([ds.Placement(*p) for p in data["placements"]], [ds.Unplaceable(*u) for u in data["unplaceable"]],
                       {k: int(v) for k, v in data["ends"].items()}, list(data["late"]), data["method"],
                       float(data["seconds"]), list(data["notes"]))
        lanes = [ds.Lane(i, p, frozenset(s), float(pace)) for i, p, s, pace in data["lanes"]]
        cap = {(a, b): float(v) for a, b, v in data["capacity"]}
        work = {(a, b): int(v) for a, b, v in data["work"]}
        weeks = [date.fromisoformat(w) for w in data["weeks"]]
    except (KeyError, TypeError, ValueError):
        return None  # a file from another version: made again
    info = {}
    ids = list(plan.ends) + [u.job for u in plan.unplaceable] if with_jobs else []
    for (raw,) in shop.journal.query(f"SELECT state FROM jobs WHERE id IN ({','.join('?' * len(ids))})", ids) if ids else []:
        job = JobState.from_dict(json.loads(raw))
        info[job.id] = job
    axis = Axis(shop.site.planning.calendar, made)
    return Master(plan, axis, lanes, info, cap, work, made, position, from_cache=True, weeks=weeks)


# --- promises ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Promise:
    earliest: date
    bottleneck: str  # the skill that holds it back most
    week: str  # the week that skill holds it back in
    load_pct: float | None  # that skill's planned load against its declared hours that week
    waited_hours: float  # working hours the stage waited for that skill
    plan_method: str
    seconds: float

    def why(self) -> str:
        if self.waited_hours <= 0:
            return f"no queue: the work itself takes until then (longest stage: {self.bottleneck})"
        load = f", {self.load_pct:.0f} % loaded" if self.load_pct is not None else ""
        return (f"bottleneck: {self.bottleneck} in week {self.week}{load}; the piece waits "
                f"{self.waited_hours:.1f} working hours for it")


def promise(shop: Shop, route: str, design: str, alloy: str | None = None, count: int = 1, rush: bool = False,
            master: Master | None = None) -> Promise:
    """The earliest date the shop can keep for new work, everything already planned kept in place."""
    t0 = time.perf_counter()
    r = shop.site.routes.get(route)
    if r is None:
        raise Refused(f"unknown route {route!r}; routes: {', '.join(shop.site.routes)}")
    if alloy is not None and alloy not in shop.site.alloys:
        raise Refused(f"unknown alloy {alloy!r}; alloys: {', '.join(shop.site.alloys)}")
    if count < 1:
        raise Refused("--count must be at least 1")
    # the master schedule kept in schedule.json while nothing has moved; otherwise the list plan of
    # the moment, which is quick and keeps every promise already made as well
    m = master if master is not None else master_schedule(shop, solver=False, jobs=False)
    std = capacity.standards(shop)
    tasks = tuple(ds.Task(s.stage, shop.site.stages[s.stage].skill,
                          max(1, round(std.of(s.stage, route, design).hours * 60)), s.after) for s in r.steps)
    new = [ds.Job(f"NEW{i + 1}", 1 << 40, tasks, rush) for i in range(count)]
    try:
        end, placements = ds.insert_jobs(m.plan, m.lanes, new)
    except ValueError as exc:
        raise Refused(f"route {route!r} cannot be planned: {exc}") from None
    waited = max(placements, key=lambda p: (p.start - p.ready, p.end - p.start))
    if waited.start - waited.ready <= 0:
        waited = max(placements, key=lambda p: p.end - p.start)
    # the week the piece starts waiting: the load that week is what keeps it waiting
    wk = week_label(m.day(waited.ready if waited.start > waited.ready else waited.start))
    load = m.load().get((waited.skill, wk))
    capm = m.capacity_minutes.get((waited.skill, wk))
    pct = 100 * load / capm if load is not None and capm else None
    return Promise(m.day(end), waited.skill, wk, pct, max(0, waited.start - waited.ready) / 60, m.plan.method,
                   time.perf_counter() - t0)


def record_accepted_late(shop: Shop, job_ids: list[str], due: str, p: Promise) -> None:
    """`job add --accept-late`: each job's promise was made knowing the schedule could not keep it."""
    evs = [shop.event(PROMISE_ACCEPTED_LATE, j, None, None,
                      {"due": due, "earliest": p.earliest.isoformat(), "bottleneck": p.bottleneck}) for j in job_ids]
    shop.journal.append_many(evs)
