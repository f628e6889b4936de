"""Work time and standard times: what each run of a stage took, and what a stage is expected to take.

A run's work time is start → finish less its pauses, counted in working hours only (the site
calendar): a PAUSE card pauses the person's stage under way on that job until RESUME (or until the
stage is finished); logging out, or being logged out when the bench is idle, pauses every stage
the person has under way until they badge in again. Pure: events in, runs out.

A stage's standard time is the median of its recent runs, by design where that design has runs
enough, else by route, else over every run of the stage, else the site's default for the stage
(planning.toml [standard_hours]); the spread (the middle half of the runs, 25th to 75th
percentile) and the number of runs it rests on go with it.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from floorkiosk.domain import events as ev
from floorkiosk.domain.calendar import WORK_PAUSED, WORK_RESUMED, Calendar

# the events a run's work time is folded from
WORK_EVENTS = (ev.STAGE_STARTED, ev.STAGE_FINISHED, ev.STAGE_REJECTED, WORK_PAUSED, WORK_RESUMED,
               ev.PERSON_LOGGED_IN, ev.PERSON_LOGGED_OUT)
MIN_RUNS = 3  # a median by design or route needs this many runs; fewer fall back to the wider one


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass(frozen=True)
class Run:
    job: str
    stage: str
    person: str
    started: str
    finished: str
    seconds: float  # working time, pauses left out


@dataclass
class _Open:
    person: str
    started: datetime
    started_ts: str
    paused: datetime | None = None
    by_logout: bool = False
    pauses: float = 0.0  # working seconds spent paused so far


class WorkClock:
    """Folds work events, in journal order, into finished runs and the runs under way."""

    def __init__(self, cal: Calendar) -> None:
        self.cal = cal
        self.open: dict[tuple[str, str], _Open] = {}
        self.runs: list[Run] = []

    def feed(self, events: Iterable[ev.Event]) -> None:
        cal = self.cal
        for e in events:
            t = e.type
            if t == ev.STAGE_STARTED and e.job and e.person:
                self.open[(e.job, e.payload.get("stage", ""))] = _Open(e.person, ts(e.ts), e.ts)
            elif t == ev.STAGE_FINISHED and e.job:
                run = self.open.pop((e.job, e.payload.get("stage", "")), None)
                if run is not None:
                    end = ts(e.ts)
                    if run.paused is not None:
                        run.pauses += cal.working_seconds(run.paused, end)
                    secs = max(0.0, cal.working_seconds(run.started, end) - run.pauses)
                    self.runs.append(Run(e.job, e.payload.get("stage", ""), run.person, run.started_ts, e.ts, secs))
            elif t == ev.STAGE_REJECTED and e.job:
                # a stage sent back is started again from scratch: a run under way on it is not a run
                for key in [k for k in self.open if k[0] == e.job]:
                    if key[1] in (e.payload.get("redo"), e.payload.get("stage")):
                        self.open.pop(key, None)
            elif t == WORK_PAUSED and e.job:
                run = self.open.get((e.job, e.payload.get("stage", "")))
                if run is not None and run.paused is None:
                    run.paused, run.by_logout = ts(e.ts), False
            elif t == WORK_RESUMED and e.job:
                run = self.open.get((e.job, e.payload.get("stage", "")))
                if run is not None and run.paused is not None:
                    run.pauses += cal.working_seconds(run.paused, ts(e.ts))
                    run.paused = None
            elif t == ev.PERSON_LOGGED_OUT and e.person:
                at = ts(e.ts)
                for run in self.open.values():
                    if run.person == e.person and run.paused is None:
                        run.paused, run.by_logout = at, True
            elif t == ev.PERSON_LOGGED_IN and e.person:
                at = ts(e.ts)
                for run in self.open.values():
                    if run.person == e.person and run.paused is not None and run.by_logout:
                        run.pauses += cal.working_seconds(run.paused, at)
                        run.paused = None

    def so_far(self, job: str, stage: str, now: datetime) -> float | None:
        """Working seconds of the run under way on (job, stage) until `now`; None if none is."""
        run = self.open.get((job, stage))
        if run is None:
            return None
        paused = run.pauses + (self.cal.working_seconds(run.paused, now) if run.paused is not None else 0.0)
        return max(0.0, self.cal.working_seconds(run.started, now) - paused)

    def is_paused(self, job: str, stage: str) -> bool:
        run = self.open.get((job, stage))
        return run is not None and run.paused is not None


@dataclass(frozen=True)
class Standard:
    hours: float
    low: float  # 25th percentile of the runs it rests on (= hours where it rests on a default)
    high: float  # 75th percentile
    runs: int  # how many runs; 0: the config's default
    basis: str  # "design", "route", "stage" or "default"

    def said(self) -> str:
        if not self.runs:
            return f"{self.hours:.1f} h (default)"
        return f"{self.hours:.1f} h (median of {self.runs} runs by {self.basis}, {self.low:.1f}-{self.high:.1f})"


def _summary(hours: list[float], basis: str) -> Standard:
    med = statistics.median(hours)
    if len(hours) >= 2:
        q = statistics.quantiles(hours, n=4, method="inclusive")
        low, high = q[0], q[2]
    else:
        low = high = med
    return Standard(med, low, high, len(hours), basis)


class Standards:
    """Standard times learned from finished runs (the most recent `keep` of each kind)."""

    def __init__(self, runs: Iterable[Run], job_info: dict[str, tuple[str, str]], defaults: dict[str, float],
                 default_hours: float, keep: int = 20) -> None:
        by_design: dict[tuple[str, str], list[float]] = defaultdict(list)
        by_route: dict[tuple[str, str], list[float]] = defaultdict(list)
        by_stage: dict[str, list[float]] = defaultdict(list)
        for r in sorted(runs, key=lambda r: r.finished):
            h = r.seconds / 3600
            if h <= 0:
                continue
            route, design = job_info.get(r.job, ("", ""))
            by_design[(r.stage, design)].append(h)
            by_route[(r.stage, route)].append(h)
            by_stage[r.stage].append(h)
        self._design = {k: _summary(v[-keep:], "design") for k, v in by_design.items() if len(v) >= MIN_RUNS}
        self._route = {k: _summary(v[-keep:], "route") for k, v in by_route.items() if len(v) >= MIN_RUNS}
        self._stage = {k: _summary(v[-keep:], "stage") for k, v in by_stage.items() if len(v) >= MIN_RUNS}
        self.defaults = defaults
        self.default_hours = default_hours

    def of(self, stage: str, route: str = "", design: str = "") -> Standard:
        got = self._design.get((stage, design)) or self._route.get((stage, route)) or self._stage.get(stage)
        if got is not None:
            return got
        h = self.defaults.get(stage, self.default_hours)
        return Standard(h, h, h, 0, "default")
