"""The master schedule: every open job's remaining stages placed on people with the skill, in working time.

Pure: jobs, tasks and lanes in, placements out; the workshop (workshop/schedule.py) gathers them
from the journal and the config. Time is the working axis of ``domain.calendar.Axis``, in minutes.

**Lanes.** A person gives each skill the hours a week they declared for it (people.toml's
``capacity``, or a ``capacity.declared`` event for the week); each (person, skill) pair is a lane,
one stage at a time. A lane that holds ``c`` of the week's ``W`` working hours works at ``c / W``
of full pace: a 3-hour setting on a setter who gives setting 30 of 40 hours occupies 4 working
hours of their setting lane. So no skill of anyone gets more hours in a week than declared, and a
person's lanes together never exceed their week (the config refuses a capacity above it). A
person who declared nothing has one lane for all their skills, at full pace.

**Two planners, one model.** ``list_schedule`` places jobs one after another in a priority order
(earliest due date first), each stage on the lane where it ends soonest, in the first gap that
holds it. ``solve`` hands the best of a few such list plans to OR-Tools CP-SAT as a complete hint
and lets it improve the plan within a time limit: interval variables for every stage, one
NoOverlap per lane, the route's graph as precedences (parallel branches run side by side), a
job's end against its due date; the objective counts late jobs first (a rush job weighs more),
then their lateness. A stage may move to another eligible lane (optional intervals, one of which
is present). The solver only ever returns a plan at least as good as its hint; if it finds
nothing within its limit, the list plan stands and the schedule says so.

A job that no lane can do (no one has the skill, or no one declared hours for it) is not dropped:
it is listed by name with the stage and skill that stop it.
"""

from __future__ import annotations

import bisect
import heapq
import math
import os
import time
from collections import defaultdict
from dataclasses import dataclass, field

# The objective, in this order: fewer late jobs; of those, fewer late rush jobs; then less lateness
# (a rush job's minutes count RUSH_WEIGHT times). Each weight outweighs everything after it.
LATE_WEIGHT = 10**10  # one late job
RUSH_LATE_WEIGHT = 10**7  # one of them a rush job
RUSH_WEIGHT = 10  # a rush job's minute of lateness
RUSH_LEAD = 5 * 8 * 60  # the list plan takes a rush job as if it were due this much working time sooner
_LOG = bool(os.environ.get("FLOORKIOSK_SCHEDULE_LOG"))  # the solver's log on stdout, for tuning


@dataclass(frozen=True)
class Task:
    """One remaining stage of a job: its work in minutes at full pace, and what it waits for."""

    stage: str
    skill: str
    minutes: int
    after: tuple[str, ...] = ()  # stages of the same job that must end first (the remaining ones only)
    pinned: str | None = None  # a lane id: the stage is under way there, it goes on there from now


@dataclass(frozen=True)
class Job:
    id: str
    due: int  # axis minute at the close of the due date (may be negative: already past)
    tasks: tuple[Task, ...]
    rush: bool = False
    earliest: int = 0  # nothing starts before (a job on hold)


@dataclass(frozen=True)
class Lane:
    """One person's hours for one skill (or for all their skills, where they declared none)."""

    id: str
    person: str
    skills: frozenset[str]
    pace: float = 1.0  # the share of working time this lane holds: c / W


@dataclass(frozen=True)
class Placement:
    job: str
    stage: str
    skill: str
    lane: str
    person: str
    start: int
    end: int
    ready: int  # when its prerequisites allowed it to start


@dataclass(frozen=True)
class Unplaceable:
    job: str
    stage: str
    skill: str
    why: str


@dataclass
class Plan:
    placements: list[Placement] = field(default_factory=list)
    unplaceable: list[Unplaceable] = field(default_factory=list)
    ends: dict[str, int] = field(default_factory=dict)  # job -> the end of its last stage
    late: list[str] = field(default_factory=list)  # jobs that end after their due date
    method: str = ""  # "cp-sat (optimal)", "cp-sat (feasible)", "list (edd)" …
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def by_job(self) -> dict[str, list[Placement]]:
        out: dict[str, list[Placement]] = defaultdict(list)
        for p in self.placements:
            out[p.job].append(p)
        return out


def occupied(minutes: int, pace: float) -> int:
    """Working-axis minutes a stage of `minutes` of work takes on a lane of this pace (at least one)."""
    return max(1, math.ceil(minutes / pace - 1e-9))


def topo_order(job: Job) -> list[Task]:
    """A job's tasks, each after its prerequisites (worked out once a job)."""
    got = job.__dict__.get("_topo")
    if got is None:
        got = _topo(job.tasks)
        object.__setattr__(job, "_topo", got)
    return got


def _topo(tasks: tuple[Task, ...]) -> list[Task]:
    by = {t.stage: t for t in tasks}
    out: list[Task] = []
    seen: set[str] = set()
    for t in tasks:  # route order is nearly topological already; a stack makes sure
        stack = [t]
        while stack:
            cur = stack[-1]
            if cur.stage in seen:
                stack.pop()
                continue
            pending = [by[a] for a in cur.after if a in by and a not in seen]
            if pending:
                stack.extend(pending)
            else:
                seen.add(cur.stage)
                out.append(cur)
                stack.pop()
    return out


class _Timeline:
    """A lane's booked intervals, sorted, for first-fit insertion."""

    __slots__ = ("starts", "ends")

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []

    def first_fit(self, ready: int, length: int) -> int:
        """The earliest start at or after `ready` where `length` fits between what is booked."""
        starts, ends = self.starts, self.ends
        i = bisect.bisect_right(ends, ready)  # the first interval that ends after ready
        t = ready
        for k in range(i, len(starts)):
            if starts[k] >= t + length:
                return t
            if ends[k] > t:
                t = ends[k]
        return t

    def book(self, start: int, end: int) -> None:
        i = bisect.bisect_left(self.starts, start)
        self.starts.insert(i, start)
        self.ends.insert(i, end)


def eligible(lanes: list[Lane], skill: str) -> list[Lane]:
    return [ln for ln in lanes if skill in ln.skills]


def unplaceable(jobs: list[Job], lanes: list[Lane]) -> tuple[list[Job], list[Unplaceable]]:
    """The jobs every stage of which some lane can do, and the stages of the others, named."""
    skills = {s for ln in lanes for s in ln.skills}
    lane_ids = {ln.id for ln in lanes}
    ok, bad = [], []
    for j in jobs:
        stuck = [Unplaceable(j.id, t.stage, t.skill, f"no one has hours for {t.skill!r}")
                 for t in j.tasks if t.skill not in skills and (t.pinned is None or t.pinned not in lane_ids)]
        if stuck:
            bad.extend(stuck)
        else:
            ok.append(j)
    return ok, bad


def list_schedule(jobs: list[Job], lanes: list[Lane], order: str = "edd") -> Plan:
    """A list schedule: whenever a lane is free, it takes the most urgent stage it can do whose
    prerequisites are done (`order`: "edd", the earliest due date first; "rush",
    by due date as if a rush job were due RUSH_LEAD sooner; "slack", by what is left of that once the job's
    own work is done). Stages under way go on first, on their own lane."""
    t0 = time.perf_counter()
    jobs, bad = unplaceable(jobs, lanes)
    prio = {"edd": lambda j: (j.due, j.id), "rush": lambda j: (j.due - RUSH_LEAD * j.rush, j.id),
            "slack": lambda j: (j.due - RUSH_LEAD * j.rush - sum(t.minutes for t in j.tasks), j.id)}[order]
    plan = Plan(unplaceable=bad, method=f"list ({order})")
    lane_by_id = {ln.id: ln for ln in lanes}
    lanes_of_skill: dict[str, list[Lane]] = defaultdict(list)
    for ln in lanes:
        for sk in ln.skills:
            lanes_of_skill[sk].append(ln)
    rank = {j.id: i for i, j in enumerate(sorted(jobs, key=prio))}
    by_id = {j.id: j for j in jobs}
    waiting: dict[tuple[str, str], int] = {}  # (job, stage) -> prerequisites not yet ended
    succ: dict[tuple[str, str], list[str]] = {}
    task_of: dict[tuple[str, str], Task] = {}
    ready_at: dict[tuple[str, str], int] = {}
    # stages become ready at a time; a lane free at a time takes the best ready one of its skills
    ready_heap: dict[str, list[tuple[int, str, str]]] = defaultdict(list)  # skill -> (rank, job, stage)
    pinned: dict[str, list[tuple[int, str, str]]] = defaultdict(list)  # lane -> its stages under way
    timeline: list[tuple[int, int, str, str]] = []  # (time, kind 0 = ready, job, stage)
    for j in jobs:
        names = {t.stage for t in j.tasks}
        for t in j.tasks:
            key = (j.id, t.stage)
            task_of[key] = t
            pre = [a for a in t.after if a in names]
            waiting[key] = len(pre)
            for a in pre:
                succ.setdefault((j.id, a), []).append(t.stage)
            if not pre:
                heapq.heappush(timeline, (j.earliest, 0, j.id, t.stage))
                ready_at[key] = j.earliest
    idle_of: dict[str, set[str]] = defaultdict(set)  # skill -> the idle lanes that have it
    for ln in lanes:
        for sk in ln.skills:
            idle_of[sk].add(ln.id)
    end_of: dict[tuple[str, str], int] = {}
    busy: list[tuple[int, str, str, str]] = []  # (end, lane, job, stage)
    now = 0
    n_tasks = len(task_of)
    done = 0
    length_of: dict[tuple[int, float], int] = {}
    pace = {ln.id: ln.pace for ln in lanes}

    def take(lane: Lane, at: int) -> bool:
        best = None
        if pinned.get(lane.id):
            best = (heapq.heappop(pinned[lane.id]), None)
        else:
            for sk in lane.skills:
                h = ready_heap.get(sk)
                if h and (best is None or h[0] < best[0]):
                    best = (h[0], sk)
            if best is not None:
                heapq.heappop(ready_heap[best[1]])
        if best is None:
            return False
        _, jid, stage = best[0]
        t = task_of[(jid, stage)]
        k = (t.minutes, lane.pace)
        length = length_of.get(k)
        if length is None:
            length = length_of[k] = occupied(t.minutes, lane.pace)
        heapq.heappush(busy, (at + length, lane.id, jid, stage))
        plan.placements.append(Placement(jid, stage, t.skill, lane.id, lane.person, at, at + length,
                                         ready_at[(jid, stage)]))
        for sk in lane.skills:
            idle_of[sk].discard(lane.id)
        return True

    while done < n_tasks:
        # the next moment something happens: a stage becomes ready or a lane comes free
        nxt = min(timeline[0][0] if timeline else 1 << 62, busy[0][0] if busy else 1 << 62)
        if nxt == 1 << 62:
            raise RuntimeError("the list schedule stalled")  # every task is placeable: cannot happen
        now = max(now, nxt)
        freed: list[str] = []
        while busy and busy[0][0] <= now:
            end, lid, jid, stage = heapq.heappop(busy)
            end_of[(jid, stage)] = end
            done += 1
            freed.append(lid)
            for sk in lane_by_id[lid].skills:
                idle_of[sk].add(lid)
            for nx in succ.get((jid, stage), ()):
                key = (jid, nx)
                waiting[key] -= 1
                if waiting[key] == 0:
                    at = by_id[jid].earliest
                    for a in task_of[key].after:
                        e = end_of.get((jid, a))
                        if e is not None and e > at:
                            at = e
                    heapq.heappush(timeline, (at, 0, jid, nx))
                    ready_at[key] = at
        touched: set[str] = set()
        while timeline and timeline[0][0] <= now:
            _, _, jid, stage = heapq.heappop(timeline)
            t = task_of[(jid, stage)]
            if t.pinned in lane_by_id:
                heapq.heappush(pinned[t.pinned], (-1, jid, stage))
                freed.append(t.pinned)
            else:
                heapq.heappush(ready_heap[t.skill], (rank[jid], jid, stage))
                touched.add(t.skill)
        # who may take work now: the lanes that came free, and the idle ones of a skill with new work
        candidates = set(freed)
        for sk in touched:
            candidates |= idle_of[sk]
        for lid in sorted(candidates, key=lambda i: (-pace[i], i)):  # the fastest lane takes first (ties by id)
            ln = lane_by_id[lid]
            if any(lid in idle_of[sk] for sk in ln.skills):
                take(ln, now)
    for j in jobs:
        last = max([j.earliest] + [end_of[(j.id, t.stage)] for t in j.tasks])
        plan.ends[j.id] = last
        if last > j.due:
            plan.late.append(j.id)
    plan.seconds = time.perf_counter() - t0
    return plan


def _first_fit_schedule(jobs: list[Job], lanes: list[Lane], booked: dict[str, _Timeline]) -> Plan:
    """Jobs placed one after another among what is booked already, each stage in the first gap of
    the lane where it ends soonest: how a new job joins a plan without moving anything in it."""
    jobs, bad = unplaceable(jobs, lanes)
    by_skill: dict[str, list[Lane]] = defaultdict(list)
    lane_by_id = {ln.id: ln for ln in lanes}
    for ln in lanes:
        for sk in ln.skills:
            by_skill[sk].append(ln)
        booked.setdefault(ln.id, _Timeline())
    plan = Plan(unplaceable=bad, method="first fit")
    for j in jobs:
        end_of: dict[str, int] = {}
        last = j.earliest
        for t in topo_order(j):
            ready = max([j.earliest] + [end_of[a] for a in t.after if a in end_of])
            choices = [lane_by_id[t.pinned]] if t.pinned in lane_by_id else by_skill[t.skill]
            best = None
            for ln in choices:
                length = occupied(t.minutes, ln.pace)
                st = booked[ln.id].first_fit(ready, length)
                if best is None or st + length < best[0] + best[1]:
                    best = (st, length, ln)
            assert best is not None
            st, length, ln = best
            booked[ln.id].book(st, st + length)
            end_of[t.stage] = st + length
            last = max(last, st + length)
            plan.placements.append(Placement(j.id, t.stage, t.skill, ln.id, ln.person, st, st + length, ready))
        plan.ends[j.id] = last
        if last > j.due:
            plan.late.append(j.id)
    return plan


def score(plan: Plan, jobs: list[Job]) -> tuple[int, int, int]:
    """(late jobs, late rush jobs, lateness in minutes with a rush job's weighted): what the solver
    minimises, in that order."""
    due = {j.id: j for j in jobs}
    late = rush = tard = 0
    for jid, end in plan.ends.items():
        j = due[jid]
        if end > j.due:
            late += 1
            rush += j.rush
            tard += (RUSH_WEIGHT if j.rush else 1) * (end - max(j.due, 0))
    return late, rush, tard


def solve(jobs: list[Job], lanes: list[Lane], time_limit_s: float = 3.0, alternatives: int = 3,
          workers: int = 2, free_tasks: int = 2500, movable_tasks: int = 800) -> Plan:
    """The master schedule: the best list plan, improved by CP-SAT within `time_limit_s`."""
    t0 = time.perf_counter()
    placeable, bad = unplaceable(jobs, lanes)
    hint = min((list_schedule(placeable, lanes, order) for order in ("rush", "edd")),
               key=lambda p: score(p, placeable))
    hint.unplaceable = bad
    if _LOG:
        print(f"list plans after {time.perf_counter() - t0:.2f} s")
    if not placeable:
        hint.seconds = time.perf_counter() - t0
        return hint
    if score(hint, placeable) == (0, 0, 0):
        hint.notes.append("every job ends by its due date in the list plan: nothing for the solver to improve")
        hint.seconds = time.perf_counter() - t0
        return hint
    remaining = time_limit_s - (time.perf_counter() - t0)
    if remaining < 0.2:
        hint.notes.append("no time left for the solver: the list plan stands")
        hint.seconds = time.perf_counter() - t0
        return hint
    # OR-Tools is loaded only to solve: every other command of the site starts without it
    from ortools.sat.python import cp_model

    model = cp_model.CpModel()
    lane_by_id = {ln.id: ln for ln in lanes}
    by_skill: dict[str, list[Lane]] = defaultdict(list)
    for ln in lanes:
        for s in ln.skills:
            by_skill[s].append(ln)
    hinted = {(p.job, p.stage): p for p in hint.placements}
    late_in_hint = set(hint.late)
    horizon = max(max(hint.ends.values(), default=0), max((j.due for j in placeable), default=0)) + 1
    horizon = int(horizon * 1.2) + 60
    per_lane: dict[str, list] = defaultdict(list)
    starts: dict[tuple[str, str], object] = {}
    ends: dict[tuple[str, str], object] = {}  # an end variable, or (start variable, length) on one lane
    choice: dict[tuple[str, str], list[tuple[object, Lane]]] = {}
    hint_vars: list[int] = []
    hint_vals: list[int] = []
    objective = []
    new_int, new_bool = model.new_int_var, model.new_bool_var
    # The solver works on the jobs where a better plan can be had: the late ones (the least late
    # first, the likeliest to be saved) and those on time by the narrowest margin (they may give
    # way), up to `free_tasks` stages. Everything else keeps its place in the list plan and stays
    # in the model as fixed blocks on its lanes, so that a full shop fits the time limit.
    slack = sorted(placeable, key=lambda j: (hint.ends[j.id] <= j.due, abs(j.due - hint.ends[j.id])))
    free: list[Job] = []
    n = 0
    for j in slack:
        if n + len(j.tasks) > free_tasks and free:
            break
        free.append(j)
        n += len(j.tasks)
    free_ids = {j.id for j in free}
    movable_left = movable_tasks
    fixed: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for p in hint.placements:
        if p.job not in free_ids:
            fixed[p.lane].append((p.start, p.end))
    for lid, blocks in fixed.items():
        blocks.sort()
        merged = [list(blocks[0])]
        for a, b in blocks[1:]:
            if a <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        per_lane[lid].extend(model.new_fixed_size_interval_var(a, b - a, "") for a, b in merged)
    for j in free:
        sinks = sorted(set(t.stage for t in j.tasks) - {a for t in j.tasks for a in t.after})  # in one order
        movable = j.id in late_in_hint and alternatives > 1 and movable_left >= len(j.tasks)
        if movable:
            movable_left -= len(j.tasks)
        for t in j.tasks:
            h = hinted[(j.id, t.stage)]
            key = (j.id, t.stage)
            # a stage under way goes on where the list plan put it (first on its lane): it is not moved
            s = new_int(h.start, h.start, "") if t.pinned in lane_by_id else new_int(j.earliest, horizon, "")
            starts[key] = s
            hint_vars.append(s.index)
            hint_vals.append(h.start)
            if t.pinned in lane_by_id or not movable:
                # the lane the list plan chose: the solver orders each lane's stages (moving a stage
                # between lanes is left to the late jobs, below, which keeps a full shop's model small)
                ln = lane_by_id[h.lane]
                length = occupied(t.minutes, ln.pace)
                per_lane[ln.id].append(model.new_fixed_size_interval_var(s, length, ""))
                ends[key] = s + length
                choice[key] = [(None, ln)]
                continue
            others = sorted((ln for ln in by_skill[t.skill] if ln.id != h.lane), key=lambda ln: -ln.pace)
            options = [lane_by_id[h.lane]] + others[:alternatives - 1]
            e = new_int(j.earliest, horizon, "")
            hint_vars.append(e.index)
            hint_vals.append(h.end)
            ends[key] = e
            lits = []
            opts = []
            for ln in options:
                lit = new_bool("")
                length = occupied(t.minutes, ln.pace)
                per_lane[ln.id].append(model.new_optional_fixed_size_interval_var(s, length, lit, ""))
                model.add(e == s + length).only_enforce_if(lit)
                hint_vars.append(lit.index)
                hint_vals.append(int(ln.id == h.lane))
                lits.append(lit)
                opts.append((lit, ln))
            model.add_exactly_one(lits)
            choice[key] = opts
        for t in j.tasks:
            for a in t.after:
                if (j.id, a) in ends:
                    model.add(starts[(j.id, t.stage)] >= ends[(j.id, a)])
        w = RUSH_WEIGHT if j.rush else 1
        sink_ends = [ends[(j.id, s)] for s in sinks]
        hint_end = hint.ends[j.id]
        tard = new_int(0, horizon, "")
        due = max(j.due, 0)
        for se in sink_ends:
            model.add(tard >= se - due)
        hint_vars.append(tard.index)
        hint_vals.append(max(0, hint_end - due))
        if j.due < 0 or j.due < j.earliest:
            objective.append(w * tard)  # already late whatever the plan: only its lateness can be cut
            continue
        late = new_bool("")
        for se in sink_ends:
            model.add(se <= j.due).only_enforce_if(~late)
        hint_vars.append(late.index)
        hint_vals.append(int(hint_end > j.due))
        objective.append((LATE_WEIGHT + RUSH_LATE_WEIGHT * j.rush) * late + w * tard)
    for ivs in per_lane.values():
        if len(ivs) > 1:
            model.add_no_overlap(ivs)
    model.minimize(sum(objective))
    # the list plan as a complete hint, in one go (one add_hint a variable costs as much as the model)
    model.proto.solution_hint.vars.extend(hint_vars)
    model.proto.solution_hint.values.extend(hint_vals)
    solver = cp_model.CpSolver()
    remaining = time_limit_s - (time.perf_counter() - t0)
    # keep back the time to read the plan out of the solver (about a second for 25,000 stages)
    solver.parameters.max_time_in_seconds = max(0.1, remaining - 0.05 - len(starts) * 8e-6)
    solver.parameters.num_workers = workers
    # a full shop's presolve and symmetry search take longer than the whole time limit; the hint
    # is a complete feasible plan, so the search starts from it and improves it instead
    solver.parameters.cp_model_presolve = len(starts) < 1000
    solver.parameters.symmetry_level = 0
    if _LOG:
        solver.parameters.log_search_progress = True
        print(f"built after {time.perf_counter() - t0:.2f} s; solver gets {solver.parameters.max_time_in_seconds:.2f} s")
    status = solver.solve(model)
    if _LOG:
        print(f"solved after {time.perf_counter() - t0:.2f} s")
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        hint.notes.append(f"the solver found no plan within {time_limit_s:g} s: the list plan stands")
        hint.seconds = time.perf_counter() - t0
        return hint
    plan = Plan(unplaceable=bad, method="cp-sat (optimal)" if status == cp_model.OPTIMAL else "cp-sat (best found)")
    solution = solver.response_proto.solution  # read at once: a value() call a variable costs a second
    for p in hint.placements:
        if p.job not in free_ids:
            plan.placements.append(p)
    for j in placeable:
        if j.id not in free_ids:
            plan.ends[j.id] = hint.ends[j.id]
            if j.id in late_in_hint:
                plan.late.append(j.id)
    for j in free:
        end_of: dict[str, int] = {}
        start_of: dict[str, int] = {}
        lane_of: dict[str, Lane] = {}
        last = j.earliest
        for t in j.tasks:
            key = (j.id, t.stage)
            st = solution[starts[key].index]
            opts = choice[key]
            ln = opts[0][1] if opts[0][0] is None else next(l for lit, l in opts if solution[lit.index])
            e = st + occupied(t.minutes, ln.pace)
            start_of[t.stage], end_of[t.stage], lane_of[t.stage] = st, e, ln
            if e > last:
                last = e
        for t in j.tasks:
            ready = max([j.earliest] + [end_of[a] for a in t.after if a in end_of])
            ln = lane_of[t.stage]
            plan.placements.append(Placement(j.id, t.stage, t.skill, ln.id, ln.person, start_of[t.stage],
                                             end_of[t.stage], ready))
        plan.ends[j.id] = last
        if last > j.due:
            plan.late.append(j.id)
    if score(plan, placeable) > score(hint, placeable):  # cannot happen with a complete hint; never worse
        hint.notes.append("the solver's plan was no better than the list plan: the list plan stands")
        hint.seconds = time.perf_counter() - t0
        return hint
    plan.seconds = time.perf_counter() - t0
    return plan


def critical_stage(placements: list[Placement]) -> Placement | None:
    """The stage that makes a job late: the one that waited longest for its person once it could
    start (a queue), or, where nothing waited, the longest (the work itself)."""
    if not placements:
        return None
    waited = max(placements, key=lambda p: (p.start - p.ready, p.end - p.start))
    if waited.start - waited.ready > 0:
        return waited
    return max(placements, key=lambda p: p.end - p.start)


def insert_jobs(plan: Plan, lanes: list[Lane], jobs: list[Job]) -> tuple[int, list[Placement]]:
    """Where new jobs would go with everything already planned kept in place (a promise): the end
    of the last of them on the axis, and their placements. Raises ValueError naming a stage no one can do."""
    _, bad = unplaceable(jobs, lanes)
    if bad:
        raise ValueError("; ".join(sorted({f"stage {b.stage!r} needs {b.skill!r}: {b.why}" for b in bad})))
    booked: dict[str, _Timeline] = {ln.id: _Timeline() for ln in lanes}
    per: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for p in plan.placements:
        per[p.lane].append((p.start, p.end))
    for lid, pairs in per.items():
        tl = booked.get(lid)
        if tl is not None:
            pairs.sort()  # a lane's intervals do not overlap: sorted by start, their ends are sorted too
            tl.starts = [a for a, _ in pairs]
            tl.ends = [b for _, b in pairs]
    sub = _first_fit_schedule(jobs, lanes, booked)
    return max(sub.ends.values()), sub.placements
