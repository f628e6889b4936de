"""A job's current state, folded from its events. Pure: the same events always give the same state."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from floorkiosk.domain import events as ev
from floorkiosk.domain import standards as dstd
from floorkiosk.domain.standards import FIRST
from floorkiosk.domain.config import Route

TODO, IN_PROGRESS, DONE, VERIFIED, REWORK = "todo", "in progress", "done", "verified", "rework"


@dataclass
class StageState:
    stage: str
    status: str = TODO
    started_by: str | None = None
    started_at: str | None = None
    started_bench: str | None = None
    finished_by: str | None = None
    finished_at: str | None = None
    verified_by: str | None = None
    verified_at: str | None = None
    weight_in: str | None = None  # grams, Decimal as text
    weight_out: str | None = None
    photos: list[str] = field(default_factory=list)  # sha256 of photos of the current run
    checklist: list[str] = field(default_factory=list)
    runs: int = 0  # how many times it was started
    reworks: int = 0  # how many times it was sent back
    overridden: list[str] = field(default_factory=list)  # override codes used on this stage
    reopened: str | None = None  # done, then reopened because this stage (upstream) was sent back

    @property
    def complete(self) -> bool:
        return self.status in (DONE, VERIFIED)


@dataclass
class Hold:
    reason: str
    by: str | None
    at: str
    auto: bool = False  # put on hold by a rule (weight loss), not by a person
    stage: str | None = None  # the stage whose work the hold is about (a loss beyond tolerance), if any
    quality: bool = True  # about the piece's quality: only a supervisor releases it (False: waiting, a question)


@dataclass
class JobState:
    id: str
    route: str = ""
    design: str = ""
    client: str = ""
    client_initials: str = ""
    spec: str = ""
    alloy: str = ""
    stones: list[dict[str, Any]] = field(default_factory=list)
    due: str = ""  # ISO date promised to the client
    priority: str = "normal"  # normal or rush
    batch: str | None = None
    created_at: str = ""
    stages: dict[str, StageState] = field(default_factory=dict)
    hold: Hold | None = None
    holder: str | None = None  # who has the piece now (the person working on it)
    bench: str | None = None  # where it was last seen
    last_weight: str | None = None  # the latest recorded weight, grams
    updated_at: str = ""
    completed_at: str | None = None
    events: int = 0
    reprints: int = 0
    printed: int = 0  # job-bag labels printed as the first (label.printed events)
    standards: int = 1  # the version of the standards it runs under (its route comes from it)

    # --- reading ---
    def stage(self, stage_id: str) -> StageState:
        st = self.stages.get(stage_id)
        if st is None:
            st = self.stages[stage_id] = StageState(stage_id)
        return st

    @property
    def complete(self) -> bool:
        return self.completed_at is not None

    def in_progress(self) -> list[str]:
        return [s for s, st in self.stages.items() if st.status == IN_PROGRESS]

    def to_dict(self) -> dict[str, Any]:
        # By hand rather than dataclasses.asdict: this runs at every append and asdict deep-copies.
        d = dict(self.__dict__)
        d["stones"] = [dict(s) for s in self.stones]
        d["stages"] = {k: {**st.__dict__, "photos": list(st.photos), "checklist": list(st.checklist),
                           "overridden": list(st.overridden)} for k, st in self.stages.items()}
        d["hold"] = dict(self.hold.__dict__) if self.hold else None
        return d

    def to_json(self) -> str:
        """The state as stored in the jobs table: what to_dict gives, serialised, without copying it first."""
        d = dict(self.__dict__)
        d["stages"] = {k: st.__dict__ for k, st in self.stages.items()}
        d["hold"] = self.hold.__dict__ if self.hold else None
        return ev.dumps(d)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "JobState":
        d = dict(d)
        d["stages"] = {k: StageState(**v) for k, v in d.get("stages", {}).items()}
        if d.get("hold"):
            d["hold"] = Hold(**d["hold"])
        return cls(**d)


def prerequisites_met(job: JobState, route: Route, stage_id: str, stage_needs_verify: dict[str, bool]) -> bool:
    step = route.step(stage_id)
    if step is None:
        return False
    for pre in step.after:
        st = job.stages.get(pre)
        if st is None:
            return False
        if stage_needs_verify.get(pre, False):
            if st.status != VERIFIED:
                return False
        elif not st.complete:
            return False
    return True


def apply(job: JobState | None, e: ev.Event, routes: dict[str, Route] | None = None,
          needs_verify: dict[str, bool] | None = None) -> JobState:
    """Fold one event into a job's state (a new state for job.created)."""
    if e.type == ev.JOB_CREATED or job is None:
        p = e.payload
        job = JobState(id=e.job or "", route=p.get("route", ""), design=p.get("design", ""),
                       client=p.get("client", ""), client_initials=p.get("client_initials", ""),
                       spec=p.get("spec", ""), alloy=p.get("alloy", ""), stones=list(p.get("stones", [])),
                       due=p.get("due", ""), priority=p.get("priority", "normal"), batch=p.get("batch"),
                       created_at=e.ts, standards=p.get("standards", FIRST))
        if routes and job.route in routes:
            for step in routes[job.route].steps:
                job.stage(step.stage)
        if e.type == ev.JOB_CREATED:
            job.events = 1
            job.updated_at = e.ts
            return job
    p = e.payload
    job.events += 1
    job.updated_at = e.ts
    if e.bench:
        job.bench = e.bench
    stage_id = p.get("stage")
    override = p.get("override")
    if override and stage_id:
        job.stage(stage_id).overridden.append(override.get("code", ""))
    t = e.type
    match t:
        case ev.STAGE_STARTED:
            st = job.stage(stage_id)
            st.status = IN_PROGRESS
            st.started_by, st.started_at, st.started_bench = e.person, e.ts, e.bench
            st.finished_by = st.finished_at = st.verified_by = st.verified_at = None
            st.weight_in = st.weight_out = None
            st.photos, st.checklist = [], []
            st.runs += 1
            st.reopened = None
            job.holder = e.person
        case ev.WEIGHT_RECORDED:
            st = job.stage(stage_id)
            if p.get("phase") == "in":
                st.weight_in = p["grams"]
            else:
                st.weight_out = p["grams"]
            job.last_weight = p["grams"]
        case ev.PHOTO_ATTACHED:
            if stage_id:
                job.stage(stage_id).photos.append(p["sha256"])
        case ev.STAGE_FINISHED:
            st = job.stage(stage_id)
            st.status = DONE
            st.finished_by, st.finished_at = e.person, e.ts
            st.checklist = list(p.get("checklist", []))
            if job.holder == st.started_by and not job.in_progress():
                job.holder = None
        case ev.STAGE_VERIFIED:
            st = job.stage(stage_id)
            st.status = VERIFIED
            st.verified_by, st.verified_at = e.person, e.ts
        case ev.STAGE_REJECTED:
            redo = p.get("redo") or stage_id
            st = job.stage(redo)
            st.status = REWORK
            st.reworks += 1
            st.verified_by = st.verified_at = None
            st.reopened = None
            # what was built on the stage sent back is done again (and verified again) after it: every
            # stage downstream of it in the route's graph that was done or under way, and the inspected
            # stage (a stage under way on a piece that goes back cannot be finished as it stands)
            route = routes.get(job.route) if routes else None
            again = set(downstream(route, redo)) if route is not None else set()
            if stage_id and stage_id != redo:
                again.add(stage_id)
            for sid in again:
                d = job.stage(sid)
                if d.status in (DONE, VERIFIED, IN_PROGRESS) or sid == stage_id:
                    d.status = REWORK
                    d.verified_by = d.verified_at = None
                    d.reopened = redo
            job.completed_at = None
        case ev.JOB_HELD:
            job.hold = ev_hold(e)
        case ev.JOB_RELEASED:
            job.hold = None
        case ev.JOB_STONES_ADDED:
            job.stones = job.stones + [dict(s) for s in p.get("stones", [])]
        case ev.LABEL_REPRINTED:
            job.reprints += 1
        case ev.LABEL_PRINTED:
            job.printed += 1
        case ev.BATCH_CREATED | ev.BATCH_JOINED:
            job.batch = p.get("batch")
        case dstd.STANDARDS_MOVED:
            # moved on purpose onto another version: `routes` are that version's. The stages its route
            # adds are to do; a stage it no longer has is dropped if nothing was ever done at it
            job.standards = p.get("to", job.standards)
            route = routes.get(job.route) if routes else None
            if route is not None:
                keep = set(route.stage_ids)
                for sid in [k for k, st in job.stages.items() if k not in keep and _untouched(st)]:
                    del job.stages[sid]
                for step in route.steps:
                    job.stage(step.stage)
    if (t == ev.STAGE_FINISHED or t == ev.STAGE_VERIFIED) and routes and needs_verify is not None:
        route = routes.get(job.route)
        if route is not None:
            stages = job.stages
            for s in route.last_first:
                st = stages.get(s)
                if st is None or (st.status != VERIFIED if needs_verify.get(s, False) else st.status not in _COMPLETE):
                    break
            else:
                job.completed_at = e.ts
    return job


_COMPLETE = (DONE, VERIFIED)


def _untouched(st: StageState) -> bool:
    return st.status == TODO and st.runs == 0 and not st.overridden and not st.photos and st.weight_in is None


@functools.lru_cache(maxsize=512)
def downstream(route: Route, stage_id: str) -> tuple[str, ...]:
    """Every stage of the route that comes after `stage_id` in its graph (built on it), in route order."""
    after: dict[str, list[str]] = {}
    for s in route.steps:
        for a in s.after:
            after.setdefault(a, []).append(s.stage)
    seen: set[str] = set()
    todo = [stage_id]
    while todo:
        for nxt in after.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return tuple(s for s in route.stage_ids if s in seen)


def ev_hold(e: ev.Event) -> Hold:
    return Hold(reason=e.payload.get("reason", ""), by=e.person, at=e.ts, auto=bool(e.payload.get("auto")),
                stage=e.payload.get("stage"), quality=bool(e.payload.get("quality", True)))


def to_decimal(grams: str | None) -> Decimal | None:
    return None if grams is None else Decimal(grams)
