"""Guardrails: may this person do this to this job at this bench now? Every reason, in plain words.

Pure: given a job's state (folded from its history), the site config and an intended action, the
answer is *allowed* or *blocked* with each reason and what would unblock it. The services ask
before appending; the hub asks again when it orders events from many benches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from floorkiosk.domain.config import Bench, Person, Route, Site, Stage
from floorkiosk.domain.state import DONE, IN_PROGRESS, REWORK, TODO, VERIFIED, JobState

START, FINISH, WEIGH_IN, WEIGH_OUT, PHOTO = "start", "finish", "weigh-in", "weigh-out", "photo"
VERIFY, REJECT, HOLD, RELEASE = "verify", "reject", "hold", "release"
ACTIONS = (START, FINISH, WEIGH_IN, WEIGH_OUT, PHOTO, VERIFY, REJECT, HOLD, RELEASE)
# Actions of the person doing the stage (skill and bench rules apply).
WORK_ACTIONS = (START, FINISH, WEIGH_IN, WEIGH_OUT, PHOTO)

# The reasons a bench offers for a hold, and whether each is about the piece's quality. A hold for a
# reason that is not (waiting for stones, a question to the client) may be released by the person who
# placed it, once the wait is over; a quality hold, a rule's hold or any other reason needs a supervisor.
HOLD_REASONS: tuple[tuple[str, bool], ...] = (
    ("client asked for a change", False),
    ("waiting for stones or findings", False),
    ("damage or defect found at the bench", True),
    ("question about the spec", False),
)


def hold_is_quality(reason: str) -> bool:
    """Whether a hold for this reason is about the piece's quality (any reason not in HOLD_REASONS is)."""
    return dict(HOLD_REASONS).get(" ".join(reason.split()).lower(), True)


@dataclass(frozen=True)
class Reason:
    code: str  # stable identifier, e.g. "prerequisite", "four-eyes"
    text: str  # what is wrong, in plain words
    unblock: str  # what would unblock it
    overridable: bool = True  # a supervisor may override it with a reason code


@dataclass(frozen=True)
class Decision:
    action: str
    stage: str | None
    reasons: tuple[Reason, ...] = ()

    @property
    def allowed(self) -> bool:
        return not self.reasons

    @property
    def overridable(self) -> bool:
        return bool(self.reasons) and all(r.overridable for r in self.reasons)

    def summary(self) -> str:
        if self.allowed:
            return f"{self.action} allowed"
        return "; ".join(r.text for r in self.reasons)


@dataclass(frozen=True)
class Action:
    kind: str
    stage: str | None = None
    checklist: tuple[str, ...] = ()  # items confirmed with a finish
    grams: Decimal | None = None  # for weigh-in / weigh-out
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Loss:
    grams: Decimal  # weigh-in minus weigh-out (of metal: the stones set between them taken off); negative is a gain
    pct: Decimal  # of the weigh-in
    limit_pct: Decimal | None
    readability: Decimal  # differences below it are the scale's noise, not loss
    stones: Decimal = Decimal(0)  # grams of stones set between the weighings (in the weigh-out, not the weigh-in)

    @property
    def beyond(self) -> bool:
        if self.limit_pct is None or self.grams <= self.readability:
            return False
        return self.pct > self.limit_pct


def weight_loss(stage: Stage, w_in: Decimal, w_out: Decimal, readability: Decimal = Decimal("0"),
                stones: Decimal = Decimal("0")) -> Loss:
    """The metal lost between a stage's weighings. `stones`: grams of stones set between them (the setting
    weigh-out holds them, its weigh-in did not), taken off the weigh-out so that they do not hide metal lost."""
    lost = w_in - (w_out - stones)
    pct = (lost / w_in * 100) if w_in > 0 else Decimal(0)
    return Loss(lost, pct.quantize(Decimal("0.01")), stage.max_loss_pct, readability, stones)


def _name(site: Site, pid: str | None) -> str:
    if pid is None:
        return "nobody"
    p = site.people.get(pid)
    return p.name if p else pid


def check(site: Site, job: JobState, action: Action, person: Person, bench: Bench) -> Decision:
    """Every reason the action is blocked; none means allowed."""
    reasons: list[Reason] = []
    kind = action.kind
    if kind not in ACTIONS:
        return Decision(kind, action.stage, (Reason("unknown-action", f"unknown action {kind!r}", "use one of " + ", ".join(ACTIONS), False),))
    route = site.routes.get(job.route)
    stage_id = action.stage
    stage = site.stages.get(stage_id) if stage_id else None

    # Holds and releases concern the job, not one stage.
    if kind == HOLD:
        if job.hold:
            reasons.append(Reason("on-hold", f"{job.id} is already on hold: {job.hold.reason}", "nothing to do; a supervisor releases it", False))
        return Decision(kind, stage_id, tuple(reasons))
    if kind == RELEASE:
        if not job.hold:
            reasons.append(Reason("not-on-hold", f"{job.id} is not on hold", "nothing to release", False))
        own_wait = job.hold is not None and not job.hold.quality and not job.hold.auto and job.hold.by == person.id
        if not person.is_supervisor and not own_wait:
            if job.hold is not None and not job.hold.quality and not job.hold.auto:
                text = (f"{person.name} did not put {job.id} on hold; {_name(site, job.hold.by)}, who did, or a "
                        "supervisor releases it")
            else:
                text = f"{person.name} is not a supervisor; only a supervisor releases a hold about the piece's quality"
            reasons.append(Reason("role", text, "scan a supervisor's badge", False))
        held = job.stages.get(job.hold.stage) if job.hold and job.hold.stage else None
        if held is not None and person.id in (held.started_by, held.finished_by):
            name = site.stages[job.hold.stage].name if job.hold.stage in site.stages else job.hold.stage
            reasons.append(Reason("four-eyes", f"{person.name} did {name}, which the hold is about; another supervisor"
                                  " must release it", "a supervisor who did not do the stage releases it"))
        return Decision(kind, stage_id, tuple(reasons))

    if job.complete and kind in (START, WEIGH_IN):
        reasons.append(Reason("complete", f"{job.id} has finished its route", "nothing left to do on this job", False))
        return Decision(kind, stage_id, tuple(reasons))
    if route is None:
        return Decision(kind, stage_id, (Reason("route", f"{job.id} follows route {job.route!r}, which this site does not define", "ask an admin to restore the route in routes.toml", False),))
    if stage is None or route.step(stage_id) is None:
        what = f"stage {stage_id!r}" if stage_id else "no stage"
        reasons.append(Reason("stage", f"{what} is not on the {route.name} route of {job.id}",
                              "scan the job at a bench that serves one of its stages", False))
        return Decision(kind, stage_id, tuple(reasons))

    st = job.stage(stage_id)
    if job.hold:
        reasons.append(Reason("on-hold", f"{job.id} is on hold: {job.hold.reason}",
                              "a supervisor reviews the piece and releases the hold", False))

    if kind in WORK_ACTIONS:
        if not bench.serves(stage_id):
            reasons.append(Reason("bench", f"this bench ({bench.name}) does not do {stage.name}",
                                  f"take the job to a bench that does {stage.name}: {_benches_for(site, stage_id)}"))
        if stage.skill not in person.skills:
            reasons.append(Reason("skill", f"{person.name} does not have the {stage.skill} skill that {stage.name} needs",
                                  f"a person with the {stage.skill} skill does it, or an admin adds the skill"))

    if kind == START:
        if st.status == IN_PROGRESS:
            reasons.append(Reason("state", f"{stage.name} is already in progress (started by {_name(site, st.started_by)})",
                                  "finish it, or scan FINISH", False))
        elif st.status in (DONE, VERIFIED):
            reasons.append(Reason("state", f"{stage.name} is already {st.status}", "go on with the next stage", False))
        reasons.extend(_prerequisite_reasons(site, job, route, stage))
    elif kind in (WEIGH_IN, WEIGH_OUT, PHOTO):
        if st.status != IN_PROGRESS and not (kind == PHOTO and st.status == DONE):
            reasons.append(Reason("state", f"{stage.name} is not in progress ({_said(st.status)})", f"start {stage.name} first", False))
        if kind == WEIGH_OUT and st.weight_in is None and stage.needs("weigh-in"):
            reasons.append(Reason("evidence", f"{stage.name} has no weigh-in yet", "weigh the piece in first"))
        if kind in (WEIGH_IN, WEIGH_OUT) and action.grams is not None and action.grams <= 0:
            reasons.append(Reason("weight", f"a weight of {action.grams} g cannot be recorded", "put the piece on the pan and wait for a stable reading", False))
    elif kind == FINISH:
        if st.status != IN_PROGRESS:
            reasons.append(Reason("state", f"{stage.name} is not in progress ({_said(st.status)})", f"start {stage.name} first", False))
        else:
            reasons.extend(_evidence_reasons(stage, st, action.checklist))
    elif kind in (VERIFY, REJECT):
        if not person.is_qc:
            reasons.append(Reason("role", f"{person.name} does not have the supervisor role needed to {kind} {stage.name}",
                                  "a supervisor scans their badge and verifies"))
        if not (bench.qc or bench.serves(stage_id)):
            reasons.append(Reason("bench", f"{stage.name} is verified at the QC station or at a bench that does it, not at {bench.name}",
                                  f"take the job to the QC station ({_qc_benches(site)})"))
        if kind == VERIFY and not stage.verify:
            reasons.append(Reason("state", f"{stage.name} does not need verification", "nothing to verify", False))
        if st.status not in (DONE, VERIFIED) or (kind == VERIFY and st.status == VERIFIED):
            if st.status == VERIFIED:
                reasons.append(Reason("state", f"{stage.name} is already verified by {_name(site, st.verified_by)}", "nothing to verify", False))
            else:
                reasons.append(Reason("state", f"{stage.name} is not complete ({_said(st.status)})",
                                      f"{stage.name} must be finished before it is {'verified' if kind == VERIFY else 'rejected'}", False))
        if person.id in (st.finished_by, st.started_by) and st.status in (DONE, VERIFIED):
            reasons.append(Reason("four-eyes", f"{person.name} did {stage.name}; another person must {kind} it",
                                  "a supervisor who did not do the stage verifies it"))
        if kind == VERIFY and st.status == DONE:
            reasons.extend(r for r in _evidence_reasons(stage, st, tuple(st.checklist)) if r.code != "checklist")
    return Decision(kind, stage_id, tuple(reasons))


# A stage's status as a person says it.
_SAID = {TODO: "not started", IN_PROGRESS: "in progress", DONE: "done", VERIFIED: "verified",
         REWORK: "sent back for rework"}


def doers(job: JobState, stage_id: str | None) -> set[str]:
    """Who did this stage's work (started or finished it): never the one who verifies, rejects or releases it."""
    st = job.stages.get(stage_id or "")
    return {p for p in (st.started_by, st.finished_by) if p} if st else set()


def override_refusal(site: Site, job: JobState, decision: Decision, actor: Person, by: Person) -> str | None:
    """Why `by` may not override this blocked decision for `actor`, or None when they may.

    An override is never by the person whose action is blocked; one that lifts the four-eyes rule is
    by a third person, who did not do the stage either.
    """
    if by.id == actor.id:
        return (f"{by.name} cannot override a block on their own action: another supervisor scans their badge")
    if any(r.code == "four-eyes" for r in decision.reasons):
        stage_id = decision.stage if decision.action != RELEASE else (job.hold.stage if job.hold else None)
        if by.id in doers(job, stage_id):
            name = site.stages[stage_id].name if stage_id in site.stages else stage_id
            return f"{by.name} did {name}: the four-eyes rule is lifted only by a third person"
    return None


def _said(status: str) -> str:
    return _SAID.get(status, status)


def _prerequisite_reasons(site: Site, job: JobState, route: Route, stage: Stage) -> list[Reason]:
    out: list[Reason] = []
    step = route.step(stage.id)
    for pre_id in step.after if step else ():
        pre = site.stages[pre_id]
        st = job.stages.get(pre_id)
        status = st.status if st else TODO
        if pre.verify:
            if status == VERIFIED:
                continue
            photo = " with a photo" if pre.needs("photo") else ""
            if status == DONE:
                who = _name(site, st.finished_by)
                out.append(Reason("verification", f"{pre.name} is complete but not verified",
                                  f"a supervisor other than {who} verifies {pre.name}{photo} at the QC station"))
            else:
                out.append(Reason("prerequisite", f"{pre.name} is not complete and verified ({_said(status)})",
                                  f"finish {pre.name}{photo}, then a different person with the supervisor role verifies it"))
        elif status not in (DONE, VERIFIED):
            out.append(Reason("prerequisite", f"{pre.name} is not done yet ({_said(status)})", f"finish {pre.name} first"))
    return out


def _evidence_reasons(stage: Stage, st, confirmed: tuple[str, ...]) -> list[Reason]:
    out: list[Reason] = []
    if stage.needs("weigh-in") and st.weight_in is None:
        out.append(Reason("evidence", f"{stage.name} has no weigh-in", "weigh the piece in (WEIGH)"))
    if stage.needs("weigh-out") and st.weight_out is None:
        out.append(Reason("evidence", f"{stage.name} has no weigh-out", "weigh the piece out (WEIGH)"))
    if len(st.photos) < stage.photos_needed:
        need = stage.photos_needed
        out.append(Reason("evidence", f"{stage.name} needs {need} photo{'s' if need > 1 else ''}, has {len(st.photos)}",
                          "photograph the piece (PHOTO)"))
    missing = [c for c in stage.checklist if c not in confirmed]
    if missing:
        out.append(Reason("checklist", f"not confirmed: {', '.join(missing)}", "confirm each checklist item (ACCEPT)"))
    return out


def _benches_for(site: Site, stage_id: str) -> str:
    names = [b.name for b in site.benches.values() if b.serves(stage_id)]
    return ", ".join(names) or "none is configured"


def _qc_benches(site: Site) -> str:
    names = [b.name for b in site.benches.values() if b.qc]
    return ", ".join(names) or "none is configured"


def actionable_stage(site: Site, job: JobState, bench: Bench, kind: str) -> str | None:
    """The stage of this job that an action at this bench is about, when none is named."""
    route = site.routes.get(job.route)
    if route is None:
        return None
    ids = route.stage_ids
    if kind in (VERIFY, REJECT):
        # QC station: the earliest finished stage awaiting verification, else the last finished one
        for sid in ids:
            if (bench.qc or bench.serves(sid)) and site.stages[sid].verify and job.stage(sid).status == DONE:
                return sid
        if kind == REJECT:
            done = [sid for sid in ids if job.stage(sid).status in (DONE, VERIFIED) and (bench.qc or bench.serves(sid))]
            return done[-1] if done else None
        return None
    served = [sid for sid in ids if bench.serves(sid)]
    if kind in (FINISH, WEIGH_IN, WEIGH_OUT, PHOTO):
        for sid in served:
            if job.stage(sid).status == IN_PROGRESS:
                return sid
        if kind == PHOTO:
            for sid in served:
                if job.stage(sid).status == DONE:
                    return sid
    if kind == START or kind in (FINISH, WEIGH_IN, WEIGH_OUT, PHOTO):
        for sid in served:
            if job.stage(sid).status in (TODO, REWORK):
                return sid
        for sid in served:
            return sid
    return None
