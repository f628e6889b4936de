"""The verbs of the workshop: what the kiosk screens and the CLI call. Nothing else touches the store.

Each verb checks the guardrails inside the same write transaction that records the event, so a
decision and its record can never disagree; a refused verb raises an error whose message a person
can act on and records nothing.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from floorkiosk.domain import events as ev
from floorkiosk.domain import guardrails as g
from floorkiosk.domain import payloads
from floorkiosk.domain.config import Bench, Person, Route, Site, load_site
from floorkiosk.domain.state import DONE, IN_PROGRESS, REWORK, TODO, VERIFIED, JobState
from floorkiosk.domain.units import fmt_many
from floorkiosk.errors import FloorkioskError, NotFound, Refused
from floorkiosk.store.journal import Journal
from floorkiosk.store.projection import JobProjector


class Blocked(FloorkioskError):
    """A guardrail refused the action; `decision` holds every reason and what would unblock it."""

    def __init__(self, decision: g.Decision, job: str) -> None:
        self.decision = decision
        self.job = job
        lines = [f"{decision.action} {decision.stage or ''} on {job} is blocked:".replace("  ", " ")]
        lines += [f"  - {r.text} -> {r.unblock}" for r in decision.reasons]
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class Override:
    """A supervisor's override of a blocked action: their id, a reason code, and the PIN if asked."""

    by: str
    code: str
    pin: str | None = None
    note: str = ""


@dataclass(frozen=True)
class Scanned:
    kind: payloads.Kind
    value: str
    raw: str
    person: Person | None = None


@dataclass
class StageView:
    id: str
    name: str
    status: str  # done, verified, in progress, blocked, to do, rework
    who: str = ""
    overridden: bool = False


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

    @property
    def id(self) -> str:
        return self.job.id


@dataclass
class WeighResult:
    event: ev.Event
    phase: str
    grams: Decimal
    loss: g.Loss | None = None
    held: bool = False


@dataclass
class BatchResult:
    batch: str
    action: str
    done: list[str]
    failed: list[tuple[str, str]]  # (job, why)


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


NODE_FILE = "node.toml"


def init_site(site_dir: str | Path, config_src: str | Path | None = None, *, origin: str | None = None) -> Path:
    """Create a site's data folder from a config folder (validated first); return the folder."""
    from floorkiosk.paths import example_config_dir

    site_dir = Path(site_dir)
    src = Path(config_src) if config_src else example_config_dir()
    load_site(src)  # refuse to create a site from a bad config
    cfg = site_dir / "config"
    if cfg.exists() and any(cfg.iterdir()):
        raise Refused(f"{site_dir} already holds a site (its config folder is not empty)")
    cfg.mkdir(parents=True, exist_ok=True)
    for f in src.iterdir():
        if f.is_file() and f.suffix == ".toml":
            shutil.copy2(f, cfg / f.name)
    (site_dir / "photos").mkdir(exist_ok=True)
    origin = origin or f"{socket.gethostname().split('.')[0]}-{uuid.uuid4().hex[:6]}"
    (site_dir / NODE_FILE).write_text(f'# this machine\'s name in the journal (chains are per origin)\norigin = "{origin}"\n')
    return site_dir


def open_shop(site_dir: str | Path | None = None, *, clock: Callable[[], datetime] | None = None,
              origin: str | None = None) -> "Shop":
    from floorkiosk.paths import default_site_dir

    site_dir = Path(site_dir) if site_dir else default_site_dir()
    if not (site_dir / "config").is_dir():
        raise NotFound(f"no site at {site_dir}: create one with `floorkiosk init --site {site_dir}` or try `floorkiosk demo`")
    site = load_site(site_dir / "config")
    if origin is None:
        import tomllib
        node = site_dir / NODE_FILE
        origin = tomllib.loads(node.read_text()).get("origin") if node.exists() else None
        origin = origin or socket.gethostname()
    return Shop(site, site_dir, origin=origin, clock=clock)


class Shop:
    """One workshop's site: its config, its journal and the verbs that act on them."""

    def __init__(self, site: Site, site_dir: str | Path, *, origin: str, clock: Callable[[], datetime] | None = None,
                 extra_projectors: list | None = None) -> None:
        self.site = site
        self.dir = Path(site_dir)
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.jobs = JobProjector(site)
        projectors: list = [self.jobs]
        migrations: list = []
        for mod in _extensions():
            projectors.extend(mod.projectors(site))
            migrations.extend(mod.migrations())
        projectors.extend(extra_projectors or [])
        self.journal = Journal(self.dir / "journal.db", origin, projectors, migrations, hub=bool(site.settings.hub))
        self.photos_dir = self.dir / "photos"

    def close(self) -> None:
        self.journal.close()

    # -- helpers --------------------------------------------------------------------------------
    def now(self) -> str:
        return self.clock().astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def today(self) -> date:
        return self.clock().date()

    def person(self, person_id: str) -> Person:
        p = self.site.people.get(person_id)
        if p is None:
            raise NotFound(f"no person {person_id!r} in people.toml")
        return p

    def bench(self, bench_id: str) -> Bench:
        b = self.site.benches.get(bench_id)
        if b is None:
            raise NotFound(f"no bench {bench_id!r}; benches: {', '.join(self.site.benches)}")
        return b

    def job(self, job_id: str) -> JobState:
        norm = payloads.normalize_job(job_id) or job_id
        with self.journal.lock:
            state = self.jobs.load(self.journal.conn, norm)
        if state is None:
            raise NotFound(f"no job {norm} in this workshop")
        return state

    def event(self, type_: str, job: str | None, person: str | None, bench: str | None, payload: dict) -> ev.Event:
        return ev.Event(type_, job, person, bench, payload, ts=self.now())

    # -- people and scans -----------------------------------------------------------------------
    def scan(self, raw: str) -> Scanned:
        """Read a scan; raise NotOurCode (foreign or damaged) or NotFound (ours, but unknown here)."""
        p = payloads.decode(raw)
        if p.kind is payloads.Kind.BADGE:
            person = self.site.person_by_badge(p.value)
            if person is None:
                raise Refused(f"badge {p.value} is not known here; ask a supervisor to add it to people.toml")
            return Scanned(p.kind, p.value, raw, person)
        if p.kind is payloads.Kind.JOB:
            self.job(p.value)
        if p.kind is payloads.Kind.BATCH:
            self.batch_jobs(p.value)
        return Scanned(p.kind, p.value, raw)

    def login(self, badge_raw: str, bench_id: str) -> Person:
        s = self.scan(badge_raw)
        if s.kind is not payloads.Kind.BADGE or s.person is None:
            raise Refused(f"that is a {s.kind.name.lower().replace('_', ' ')} code, not a badge")
        self.bench(bench_id)
        self.journal.append(self.event(ev.PERSON_LOGGED_IN, None, s.person.id, bench_id, {}))
        return s.person

    def logout(self, person_id: str, bench_id: str, why: str = "") -> None:
        self.journal.append(self.event(ev.PERSON_LOGGED_OUT, None, person_id, bench_id, {"why": why} if why else {}))

    def check_pin(self, person: Person, pin: str | None) -> None:
        if self.site.settings.supervisor_pin and person.pin and pin != person.pin:
            raise Refused(f"wrong or missing PIN for {person.name}")

    # -- reading a job --------------------------------------------------------------------------
    def job_card(self, job_id: str, history: int = 15) -> JobCard:
        job = self.job(job_id)
        route = self.site.routes.get(job.route) or Route(job.route, job.route, ())
        needs_verify = {s.id: s.verify for s in self.site.stages.values()}
        from floorkiosk.domain.state import prerequisites_met
        views = []
        for step in route.steps:
            st = job.stage(step.stage)
            stage = self.site.stages.get(step.stage)
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
                who = self._name(st.started_by)
            elif st.status == DONE:
                who = self._name(st.finished_by)
            elif st.status == VERIFIED:
                who = f"{self._name(st.finished_by)}; verified by {self._name(st.verified_by)}"
            views.append(StageView(step.stage, name, status, who, bool(st.overridden)))
        recent = self.journal.recent(job.id, history)
        lines = [HistoryLine(e.ts, self.describe(e), _override_text(self, e)) for e in recent]
        overrides = [h for h in lines if h.override]
        with self.journal.lock:
            photos = self.journal.conn.execute(
                "SELECT sha256, stage, ts FROM photos WHERE job = ? ORDER BY ts DESC LIMIT 6", (job.id,)).fetchall()
        days_left, late = self._due(job.due, job.complete)
        alloy = self.site.alloys.get(job.alloy)
        return JobCard(job, route, alloy.name if alloy else job.alloy, views, lines, [tuple(p) for p in photos],
                       days_left, late, overrides)

    def _due(self, due: str, complete: bool) -> tuple[int | None, bool]:
        if not due:
            return None, False
        try:
            d = date.fromisoformat(due[:10])
        except ValueError:
            return None, False
        left = (d - self.today()).days
        return left, (left < 0 and not complete)

    def _name(self, pid: str | None) -> str:
        if not pid:
            return ""
        p = self.site.people.get(pid)
        return p.name if p else pid

    def describe(self, e: ev.Event) -> str:
        """An event in plain words for the job card's history."""
        who = self._name(e.person) or "someone"
        p = e.payload
        stage = self.site.stages.get(p.get("stage", "")) if p.get("stage") else None
        sname = stage.name if stage else p.get("stage", "")
        bench = self.site.benches.get(e.bench or "")
        at = f" at {bench.name}" if bench else ""
        units = self.site.settings.units
        t = e.type
        if t == ev.JOB_CREATED:
            return f"{who} created the job ({p.get('design', '')}, due {p.get('due', '?')})"
        if t == ev.STAGE_STARTED:
            return f"{who} started {sname}{at}"
        if t == ev.WEIGHT_RECORDED:
            return f"{who} weighed {'in' if p.get('phase') == 'in' else 'out'} {sname}: {fmt_many(Decimal(p['grams']), units)}"
        if t == ev.PHOTO_ATTACHED:
            return f"{who} photographed {sname} ({p['sha256'][:10]})"
        if t == ev.STAGE_FINISHED:
            return f"{who} finished {sname}{at}"
        if t == ev.STAGE_VERIFIED:
            return f"{who} verified {sname}{at}"
        if t == ev.STAGE_REJECTED:
            redo = self.site.stages.get(p.get("redo") or "")
            return (f"{who} rejected {sname}: {p.get('defect', '')} {p.get('reason', '')}".rstrip()
                    + (f"; redo {redo.name}" if redo else ""))
        if t == ev.JOB_HELD:
            return f"{'rule' if p.get('auto') else who} put the job on hold: {p.get('reason', '')}"
        if t == ev.JOB_RELEASED:
            return f"{who} released the hold" + (f": {p['note']}" if p.get("note") else "")
        if t == ev.LABEL_REPRINTED:
            return f"{who} reprinted the label{at}: {p.get('reason', '')}"
        if t == ev.BATCH_CREATED:
            return f"{who} put the job in batch {p.get('batch', '')}"
        for mod in _extensions():
            text = mod.describe(self, e) if hasattr(mod, "describe") else None
            if text:
                return text
        return f"{who}: {t}"

    # -- guardrails -----------------------------------------------------------------------------
    def decide(self, kind: str, job: JobState | str, person_id: str, bench_id: str, stage: str | None = None,
               **kw: Any) -> g.Decision:
        state = self.job(job) if isinstance(job, str) else job
        bench = self.bench(bench_id)
        stage = stage or g.actionable_stage(self.site, state, bench, kind)
        action = g.Action(kind, stage, tuple(kw.get("checklist", ())), kw.get("grams"))
        person = self.person(person_id)
        decision = g.check(self.site, state, action, person, bench)
        guards = [mod for mod in _extensions() if hasattr(mod, "guard")]
        if guards:
            with self.journal.lock:
                extra = [r for mod in guards for r in mod.guard(self, self.journal.conn, state, action, person, bench)]
            if extra:
                decision = g.Decision(decision.action, decision.stage, decision.reasons + tuple(extra))
        return decision

    def allowed_actions(self, job: JobState | str, person_id: str, bench_id: str) -> dict[str, g.Decision]:
        """What this person may do to this job at this bench now, each with its decision."""
        state = self.job(job) if isinstance(job, str) else job
        out = {}
        for kind in (g.START, g.WEIGH_IN, g.WEIGH_OUT, g.PHOTO, g.FINISH, g.VERIFY, g.REJECT, g.HOLD, g.RELEASE):
            d = self.decide(kind, state, person_id, bench_id,
                            checklist=self._stage_checklist(state, bench_id, kind))
            out[kind] = d
        return out

    def _stage_checklist(self, state: JobState, bench_id: str, kind: str) -> tuple[str, ...]:
        # The kiosk asks for the checklist at finish; when judging "may I finish", assume it will be confirmed.
        if kind != g.FINISH:
            return ()
        sid = g.actionable_stage(self.site, state, self.bench(bench_id), kind)
        stage = self.site.stages.get(sid or "")
        return stage.checklist if stage else ()

    def _validate_override(self, o: Override) -> Person:
        sup = self.person(o.by)
        if not sup.is_supervisor:
            raise Refused(f"{sup.name} is not a supervisor and cannot override")
        if o.code not in self.site.override_reasons:
            raise Refused(f"unknown override reason {o.code!r}; reasons: {', '.join(self.site.override_reasons)}")
        self.check_pin(sup, o.pin)
        return sup

    def _act(self, kind: str, type_: str, job_id: str, person_id: str, bench_id: str, stage: str | None,
             payload: dict, *, grams: Decimal | None = None, checklist: tuple[str, ...] = (),
             override: Override | None = None, after: Callable[[JobState, ev.Event], list[ev.Event]] | None = None) -> list[ev.Event]:
        """Check the guardrail and append inside one transaction; return the events written."""
        person = self.person(person_id)
        bench = self.bench(bench_id)
        if override is not None:
            self._validate_override(override)
        job_norm = payloads.normalize_job(job_id) or job_id
        box: dict[str, Any] = {}

        def check(conn) -> None:
            state = self.jobs.load(conn, job_norm)
            if state is None:
                raise NotFound(f"no job {job_norm} in this workshop")
            sid = stage or g.actionable_stage(self.site, state, bench, kind)
            action = g.Action(kind, sid, checklist, grams)
            decision = g.check(self.site, state, action, person, bench)
            extra = [r for mod in _extensions() if hasattr(mod, "guard")
                     for r in mod.guard(self, conn, state, action, person, bench)]
            if extra:  # rules of the extensions (QC batch sampling, …), judged in the same transaction
                decision = g.Decision(decision.action, decision.stage, decision.reasons + tuple(extra))
            pl = dict(payload)
            if sid:
                pl["stage"] = sid
            if not decision.allowed:
                if override is None or not decision.overridable:
                    raise Blocked(decision, job_norm)
                pl["override"] = {"by": override.by, "code": override.code, "note": override.note,
                                  "reasons": [r.text for r in decision.reasons]}
            e = self.event(type_, job_norm, person_id, bench_id, pl)
            box["events"] = [e]
            if after is not None:
                folded = self.jobs.fold(JobState.from_dict(state.to_dict()), e)
                box["events"] += after(folded, e)

        return self._append_checked(check, box)

    def _append_checked(self, check: Callable, box: dict) -> list[ev.Event]:
        """Run `check` inside the write transaction; it leaves the events to append in box["events"]."""

        def build(conn) -> list[ev.Event]:
            check(conn)
            return box["events"]

        return self.journal.append_many(build=build)

    # -- verbs ----------------------------------------------------------------------------------
    def start(self, job_id: str, person_id: str, bench_id: str, stage: str | None = None,
              override: Override | None = None) -> ev.Event:
        return self._act(g.START, ev.STAGE_STARTED, job_id, person_id, bench_id, stage, {}, override=override)[0]

    def finish(self, job_id: str, person_id: str, bench_id: str, stage: str | None = None,
               checklist: tuple[str, ...] | list[str] = (), override: Override | None = None) -> ev.Event:
        cl = tuple(checklist)
        return self._act(g.FINISH, ev.STAGE_FINISHED, job_id, person_id, bench_id, stage, {"checklist": list(cl)},
                         checklist=cl, override=override)[0]

    def weigh_phase(self, job_id: str, bench_id: str, stage: str | None = None) -> tuple[str | None, str]:
        """(stage, "in" or "out"): what the next weighing of this job at this bench records."""
        state = self.job(job_id)
        sid = stage or g.actionable_stage(self.site, state, self.bench(bench_id), g.WEIGH_IN)
        if not sid:
            return None, "in"
        st = state.stage(sid)
        s = self.site.stages.get(sid)
        if s and s.needs("weigh-in") and st.weight_in is None:
            return sid, "in"
        if s and not s.needs("weigh-in") and not s.needs("weigh-out"):
            return sid, "in" if st.weight_in is None else "out"
        return sid, "out"

    def expected_weight(self, job_id: str) -> Decimal | None:
        state = self.job(job_id)
        return Decimal(state.last_weight) if state.last_weight else None

    def readability(self, bench_id: str) -> Decimal:
        b = self.bench(bench_id)
        r = b.scale.get("readability") if b.scale else None
        return Decimal(str(r)) if r else Decimal(0)

    def record_weight(self, job_id: str, person_id: str, bench_id: str, grams: Decimal | str | float,
                      phase: str | None = None, stage: str | None = None, raw: str = "", unit: str = "g",
                      override: Override | None = None) -> WeighResult:
        """Record a stable weighing; a loss beyond the stage's tolerance puts the job on hold."""
        grams = Decimal(str(grams))
        sid, auto_phase = self.weigh_phase(job_id, bench_id, stage)
        phase = phase or auto_phase
        if phase not in ("in", "out"):
            raise Refused(f"phase must be 'in' or 'out', not {phase!r}")
        kind = g.WEIGH_IN if phase == "in" else g.WEIGH_OUT
        readability = self.readability(bench_id)
        result: dict[str, Any] = {}

        def after(state: JobState, e: ev.Event) -> list[ev.Event]:
            if phase != "out":
                return []
            s = self.site.stages[e.payload["stage"]]
            st = state.stage(s.id)
            if st.weight_in is None:
                return []
            loss = g.weight_loss(s, Decimal(st.weight_in), grams, readability)
            result["loss"] = loss
            if loss.beyond and state.hold is None:
                reason = (f"weight loss at {s.name} {loss.pct}% ({fmt_many(loss.grams, self.site.settings.units)})"
                          f" is beyond the {s.max_loss_pct}% tolerance")
                result["held"] = True
                return [self.event(ev.JOB_HELD, state.id, person_id, bench_id,
                                   {"reason": reason, "auto": True, "stage": s.id, "loss_pct": str(loss.pct)})]
            return []

        payload = {"phase": phase, "grams": str(grams), "raw": raw, "unit": unit}
        events = self._act(kind, ev.WEIGHT_RECORDED, job_id, person_id, bench_id, sid or stage, payload,
                           grams=grams, override=override, after=after)
        return WeighResult(events[0], phase, grams, result.get("loss"), bool(result.get("held")))

    def attach_photo(self, job_id: str, person_id: str, bench_id: str, sha256: str, stage: str | None = None,
                     override: Override | None = None) -> ev.Event:
        if not (len(sha256) == 64 and all(c in "0123456789abcdef" for c in sha256)):
            raise Refused(f"not a photo hash: {sha256!r}")
        return self._act(g.PHOTO, ev.PHOTO_ATTACHED, job_id, person_id, bench_id, stage, {"sha256": sha256},
                         override=override)[0]

    def verify(self, job_id: str, person_id: str, bench_id: str, stage: str | None = None,
               override: Override | None = None, pin: str | None = None) -> ev.Event:
        self.check_pin(self.person(person_id), pin) if pin is not None else None
        return self._act(g.VERIFY, ev.STAGE_VERIFIED, job_id, person_id, bench_id, stage, {}, override=override)[0]

    def reject(self, job_id: str, person_id: str, bench_id: str, stage: str | None = None, *, defect: str = "",
               reason: str = "", redo: str | None = None, override: Override | None = None) -> ev.Event:
        if redo is not None and redo not in self.site.stages:
            raise Refused(f"no stage {redo!r} to redo")
        return self._act(g.REJECT, ev.STAGE_REJECTED, job_id, person_id, bench_id, stage,
                         {"defect": defect, "reason": reason, "redo": redo}, override=override)[0]

    def hold(self, job_id: str, person_id: str, bench_id: str, reason: str) -> ev.Event:
        if not reason.strip():
            raise Refused("say why the job goes on hold")
        return self._act(g.HOLD, ev.JOB_HELD, job_id, person_id, bench_id, None, {"reason": reason.strip()})[0]

    def release(self, job_id: str, person_id: str, bench_id: str, note: str = "", pin: str | None = None) -> ev.Event:
        self.check_pin(self.person(person_id), pin)
        return self._act(g.RELEASE, ev.JOB_RELEASED, job_id, person_id, bench_id, None, {"note": note})[0]

    # -- jobs and batches -----------------------------------------------------------------------
    def create_job(self, *, route: str, design: str, alloy: str, due: str, client: str = "", client_initials: str = "",
                   spec: str = "", stones: list[dict] | None = None, priority: str = "normal",
                   person_id: str | None = None, bench_id: str | None = None) -> str:
        return self.create_jobs([dict(route=route, design=design, alloy=alloy, due=due, client=client,
                                      client_initials=client_initials, spec=spec, stones=stones or [],
                                      priority=priority)], person_id=person_id, bench_id=bench_id)[0]

    def create_jobs(self, specs: list[dict], person_id: str | None = None, bench_id: str | None = None) -> list[str]:
        for s in specs:
            if s.get("route") not in self.site.routes:
                raise Refused(f"unknown route {s.get('route')!r}; routes: {', '.join(self.site.routes)}")
            if s.get("alloy") not in self.site.alloys:
                raise Refused(f"unknown alloy {s.get('alloy')!r}; alloys: {', '.join(self.site.alloys)}")
            try:
                date.fromisoformat(str(s.get("due", ""))[:10])
            except ValueError:
                raise Refused(f"due date {s.get('due')!r} is not a date like 2026-12-24") from None
            if s.get("priority", "normal") not in ("normal", "rush"):
                raise Refused("priority must be normal or rush")
            if not s.get("client_initials") and s.get("client"):
                s["client_initials"] = "".join(w[0] for w in str(s["client"]).split() if w)[:3].upper()
        box: dict[str, Any] = {}
        hub = bool(self.site.settings.hub)
        if hub:
            # Many kiosks: numbers come from blocks the hub reserved for this one (see hubsync).
            from floorkiosk import hubsync
            hubsync.ensure_numbers(self, "job", len(specs))

        def check(conn) -> None:
            if hub:
                numbers = hubsync.take_numbers(conn, "job", len(specs))
            else:
                row = conn.execute("SELECT max(id) FROM jobs").fetchone()
                n = int(row[0][1:]) if row and row[0] else 0
                numbers = [n + 1 + i for i in range(len(specs))]
            evs = []
            for i, s in enumerate(specs):
                jid = payloads.job_number(numbers[i])
                evs.append(self.event(ev.JOB_CREATED, jid, person_id, bench_id, {k: v for k, v in s.items() if v not in (None, "")} | {"route": s["route"]}))
            box["events"] = evs

        written = self._append_checked(check, box)
        return [e.job for e in written]

    def create_batch(self, job_ids: list[str], design: str = "", person_id: str | None = None,
                     bench_id: str | None = None) -> str:
        jobs = [self.job(j).id for j in job_ids]
        if not jobs:
            raise Refused("a batch needs at least one job")
        box: dict[str, Any] = {}
        hub = bool(self.site.settings.hub)
        if hub:
            from floorkiosk import hubsync
            hubsync.ensure_numbers(self, "batch", 1)

        def check(conn) -> None:
            if hub:
                n = hubsync.take_numbers(conn, "batch", 1)[0] - 1
            else:
                row = conn.execute("SELECT max(id) FROM batches").fetchone()
                n = int(row[0][1:]) if row and row[0] else 0
            bid = f"B{n + 1:04d}"
            evs = [self.event(ev.BATCH_CREATED, None, person_id, bench_id, {"batch": bid, "design": design, "jobs": jobs})]
            evs += [self.event(ev.BATCH_CREATED, j, person_id, bench_id, {"batch": bid}) for j in jobs]
            box["events"] = evs

        return self._append_checked(check, box)[0].payload["batch"]

    def batch_jobs(self, batch_id: str) -> list[str]:
        rows = self.journal.query("SELECT jobs FROM batches WHERE id = ?", (batch_id,))
        if not rows:
            raise NotFound(f"no batch {batch_id} in this workshop")
        return json.loads(rows[0][0])

    def batch_apply(self, batch_id: str, verb: Callable[[str], Any], action: str = "") -> BatchResult:
        """Apply verb(job_id) to each piece of a batch; the pieces that fail are listed with why."""
        done, failed = [], []
        for job in self.batch_jobs(batch_id):
            try:
                verb(job)
                done.append(job)
            except FloorkioskError as exc:
                if isinstance(exc, Blocked):
                    why = "; ".join(r.text for r in exc.decision.reasons)
                else:
                    why = str(exc)
                failed.append((job, why))
        return BatchResult(batch_id, action, done, failed)

    def list_jobs(self, *, status: str | None = "open", stage: str | None = None, limit: int = 50) -> list[tuple]:
        where, params = [], []
        if status:
            where.append("j.status = ?")
            params.append(status)
        if stage:
            where.append("EXISTS (SELECT 1 FROM job_stages s WHERE s.job = j.id AND s.stage = ? AND s.status != 'todo')")
            params.append(stage)
        sql = ("SELECT j.id, j.design, j.route, j.alloy, j.due, j.priority, j.current, j.on_hold, j.status FROM jobs j"
               + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY j.due, j.id LIMIT ?")
        return self.journal.query(sql, [*params, limit])

    def worklist(self, bench_id: str, person_id: str, limit: int = 30) -> list[WorkItem]:
        """Jobs waiting for this bench's stages that this person can do: rush first, then by due date."""
        bench = self.bench(bench_id)
        person = self.person(person_id)
        stages = [s for s in bench.stages if self.site.stages[s].skill in person.skills or bench.qc]
        if bench.qc:
            verify_stages = [s.id for s in self.site.stages.values() if s.verify]
        else:
            verify_stages = []
        if not stages and not verify_stages:
            return []
        q = ",".join("?" * len(stages)) or "''"
        vq = ",".join("?" * len(verify_stages)) or "''"
        # Three narrow reads the (stage, ready) and (stage, status) indexes answer, then one sort of
        # the few candidates: a single OR over every stage row took most of a second on 100k jobs.
        rows = self.journal.query(
            f"""SELECT s.job, s.stage, s.status, j.design, j.due, j.priority FROM (
                  SELECT job, stage, status FROM job_stages WHERE stage IN ({q}) AND ready = 1
                  UNION ALL
                  SELECT job, stage, status FROM job_stages
                   WHERE stage IN ({q}) AND status = 'in progress' AND started_by = ?
                  UNION ALL
                  SELECT job, stage, status FROM job_stages WHERE stage IN ({vq}) AND status = 'done'
                ) s JOIN jobs j ON j.id = s.job
                WHERE j.on_hold = 0
                ORDER BY (j.priority = 'rush') DESC, j.due, j.id LIMIT ?""",
            [*stages, *stages, person_id, *verify_stages, limit])
        out = []
        for job, stage, status, design, due, priority in rows:
            left, late = self._due(due, False)
            out.append(WorkItem(job, stage, self.site.stages[stage].name, design, due, priority,
                                "to verify" if status == DONE else status, left, late))
        return out

    # -- labels -----------------------------------------------------------------------------------
    def label_fields(self, job_id: str) -> dict[str, Any]:
        job = self.job(job_id)
        alloy = self.site.alloys.get(job.alloy)
        return {"job": job.id, "design": job.design, "alloy": alloy.name if alloy else job.alloy,
                "alloy_code": job.alloy, "due": job.due, "rush": job.priority == "rush",
                "client_initials": job.client_initials, "route": job.route,
                "payload": payloads.encode(payloads.Kind.JOB, job.id)}

    def batch_fields(self, batch_id: str) -> dict[str, Any]:
        rows = self.journal.query("SELECT design, jobs FROM batches WHERE id = ?", (batch_id,))
        if not rows:
            raise NotFound(f"no batch {batch_id} in this workshop")
        jobs = json.loads(rows[0][1])
        return {"batch": batch_id, "count": len(jobs), "design": rows[0][0], "jobs": jobs,
                "payload": payloads.encode(payloads.Kind.BATCH, batch_id)}

    def record_reprint(self, job_id: str, person_id: str | None, bench_id: str | None, reason: str) -> ev.Event:
        job = self.job(job_id)
        return self.journal.append(self.event(ev.LABEL_REPRINTED, job.id, person_id, bench_id, {"reason": reason}))


def _override_text(shop: Shop, e: ev.Event) -> str | None:
    o = e.payload.get("override")
    if not o:
        return None
    reason = shop.site.override_reasons.get(o.get("code", ""))
    return (f"override by {shop._name(o.get('by'))}: {o.get('code')}"
            + (f" ({reason.text})" if reason else "") + f" — lifted: {'; '.join(o.get('reasons', []))}")


@functools.cache
def _extensions() -> tuple:
    """Modules that add projectors, migrations, guard rules and history wording (QC, metal, …), if present."""
    import importlib
    import importlib.util

    out = []
    for name in ("floorkiosk.qc", "floorkiosk.metal", "floorkiosk.kpi", "floorkiosk.hubsync"):
        if importlib.util.find_spec(name) is not None:
            mod = importlib.import_module(name)
            if hasattr(mod, "projectors"):
                out.append(mod)
    return tuple(out)
