"""The job verbs: start, weigh, photograph, finish, verify, reject, hold and release a stage; new jobs and batches.

Each verb is judged inside the same write transaction that records its event (judge.act), so a
decision and its record can never disagree; a refused verb raises an error whose message a person
can act on and records nothing.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from floorkiosk.domain import batching
from floorkiosk.domain import events as ev
from floorkiosk.domain import guardrails as g
from floorkiosk.domain import payloads, units
from floorkiosk.domain import qc as dq
from floorkiosk.domain.state import JobState
from floorkiosk.domain.stones import GRAMS_PER_CT, line_text
from floorkiosk.domain.units import fmt_many
from floorkiosk.errors import FloorkioskError, NotFound, Refused
from floorkiosk.workshop import cards, evidence, judge, standards
from floorkiosk.workshop.judge import Blocked, Override
from floorkiosk.workshop.shop import Area, Shop


@dataclass
class WeighResult:
    event: ev.Event
    phase: str
    grams: Decimal
    loss: g.Loss | None = None
    held: bool = False


@dataclass(frozen=True)
class FromScale:
    """A reading of the bench's scale as its device reported it: the profile it speaks, the line read."""

    profile: str
    raw: str = ""
    stable: bool = True


@dataclass(frozen=True)
class Typed:
    """A weight typed by hand: a supervisor's badge (their PIN where the site asks) and why."""

    by: str
    reason: str
    pin: str | None = None


WeightSource = FromScale | Typed


@dataclass
class BatchResult:
    batch: str
    action: str
    done: list[str]
    failed: list[tuple[str, str]]  # (job, why)


def start(shop: Shop, job_id: str, person_id: str, bench_id: str, stage: str | None = None,
          override: Override | None = None) -> ev.Event:
    return judge.act(shop, g.START, ev.STAGE_STARTED, job_id, person_id, bench_id, stage, {}, override=override)[0]


def finish(shop: Shop, job_id: str, person_id: str, bench_id: str, stage: str | None = None,
           checklist: tuple[str, ...] | list[str] = (), override: Override | None = None) -> ev.Event:
    cl = tuple(checklist)
    return judge.act(shop, g.FINISH, ev.STAGE_FINISHED, job_id, person_id, bench_id, stage, {"checklist": list(cl)},
                     checklist=cl, override=override)[0]


def weigh_phase(shop: Shop, job: JobState | str, bench_id: str, stage: str | None = None) -> tuple[str | None, str]:
    """(stage, "in" or "out"): what the next weighing of this job at this bench records."""
    state = shop.job(job) if isinstance(job, str) else job
    site = standards.site_for(shop, state)
    sid = stage or g.actionable_stage(site, state, shop.bench(bench_id), g.WEIGH_IN)
    if not sid:
        return None, "in"
    st = state.stage(sid)
    s = site.stages.get(sid)
    if s and s.needs("weigh-in") and st.weight_in is None:
        return sid, "in"
    if s and not s.needs("weigh-in") and not s.needs("weigh-out"):
        return sid, "in" if st.weight_in is None else "out"
    return sid, "out"


def expected_weight(shop: Shop, job_id: str) -> Decimal | None:
    state = shop.job(job_id)
    return Decimal(state.last_weight) if state.last_weight else None


def readability(shop: Shop, bench_id: str) -> Decimal:
    b = shop.bench(bench_id)
    r = b.scale.get("readability") if b.scale else None
    return Decimal(str(r)) if r else Decimal(0)


def record_weight(shop: Shop, job_id: str, person_id: str, bench_id: str, grams: Decimal | str | float,
                  phase: str | None = None, stage: str | None = None, raw: str = "", unit: str = "g",
                  override: Override | None = None, source: WeightSource | None = None) -> WeighResult:
    """Record a weighing; a loss beyond the stage's tolerance puts the job on hold.

    Every weight says where it comes from (`source`): a stable reading of the bench's scale, or a
    weight typed by hand with a supervisor's badge and reason, marked so wherever it is shown.
    """
    try:  # not a number, NaN, infinite, negative, absurd or finer than any scale reads: nothing is written
        grams = units.bench_weight(grams)
    except units.UnitError as exc:
        raise Refused(str(exc)) from None
    origin = _weight_source(shop, source, person_id, bench_id, raw)
    job_now = shop.job(job_id)
    sid, auto_phase = weigh_phase(shop, job_now, bench_id, stage)
    phase = phase or auto_phase
    if phase not in ("in", "out"):
        raise Refused(f"phase must be 'in' or 'out', not {phase!r}")
    kind = g.WEIGH_IN if phase == "in" else g.WEIGH_OUT
    resolution = readability(shop, bench_id)
    result: dict[str, Any] = {}
    # The stones set in the piece (from the setting weigh-out on) are recorded with the weight: the
    # metal ledger and the loss count metal only, and a setting weigh-out holds stones its weigh-in did not.
    stones_ct = cards.stones_in(shop, job_now, sid or stage, phase)
    stones_before = cards.stones_in(shop, job_now, sid or stage, "in") if phase == "out" else stones_ct

    def after(state: JobState, e: ev.Event) -> list[ev.Event]:
        if phase != "out":
            return []
        # the tolerance of the standards the job runs under, not necessarily those in effect now
        s = standards.site_for(shop, state).stages.get(e.payload["stage"]) or shop.site.stages[e.payload["stage"]]
        st = state.stage(s.id)
        if st.weight_in is None:
            return []
        loss = g.weight_loss(s, Decimal(st.weight_in), grams, resolution,
                             (stones_ct - stones_before) * GRAMS_PER_CT)
        result["loss"] = loss
        if loss.beyond and state.hold is None:
            reason = (f"weight loss at {s.name} {loss.pct}% "
                      f"({fmt_many(loss.grams, shop.site.settings.units, resolution or None)})"
                      f" is beyond the {s.max_loss_pct}% tolerance")
            result["held"] = True
            return [shop.event(ev.JOB_HELD, state.id, person_id, bench_id,
                               {"reason": reason, "auto": True, "stage": s.id, "loss_pct": str(loss.pct)})]
        return []

    payload = {"phase": phase, "grams": str(grams), "raw": raw, "unit": unit, **origin}
    if stones_ct:
        payload["stones_ct"] = str(stones_ct)
    events = judge.act(shop, kind, ev.WEIGHT_RECORDED, job_id, person_id, bench_id, sid or stage, payload,
                       grams=grams, override=override, after=after)
    return WeighResult(events[0], phase, grams, result.get("loss"), bool(result.get("held")))


def _weight_source(shop: Shop, source: WeightSource | None, person_id: str, bench_id: str, raw: str) -> dict[str, Any]:
    """What the weight event records of where the weight came from; Refused for a source that is no evidence."""
    if isinstance(source, FromScale):
        if not source.stable:
            raise Refused("the reading is still moving: a weigh-in or weigh-out is a stable reading of the scale")
        return {"source": "scale", "profile": source.profile, "stable": True, "raw": source.raw or raw}
    if isinstance(source, Typed):
        sup = shop.person(source.by)
        if not sup.is_supervisor:
            raise Refused(f"{sup.name} is not a supervisor: a weight typed by hand needs a supervisor's badge")
        reason = " ".join(source.reason.split())
        if not reason:
            raise Refused("say why the weight is typed by hand (the scale is down, the piece is too large …)")
        if source.pin is not None or sup.id != person_id:  # another's badge: their PIN, as for an override
            judge.check_pin(shop, sup, source.pin, bench_id)
        return {"source": "manual", "manual": {"by": sup.id, "reason": reason}}
    raise Refused("a weight comes from the bench's scale (a stable reading), or is typed by hand with a "
                  "supervisor's badge and reason")


def attach_photo(shop: Shop, job_id: str, person_id: str, bench_id: str, sha256: str, stage: str | None = None,
                 override: Override | None = None) -> ev.Event:
    if not (len(sha256) == 64 and all(c in "0123456789abcdef" for c in sha256)):
        raise Refused(f"not a photo hash: {sha256!r}")
    evidence.require_photo(shop, sha256)
    return judge.act(shop, g.PHOTO, ev.PHOTO_ATTACHED, job_id, person_id, bench_id, stage, {"sha256": sha256},
                     override=override)[0]


def verify(shop: Shop, job_id: str, person_id: str, bench_id: str, stage: str | None = None,
           override: Override | None = None, pin: str | None = None) -> ev.Event:
    judge.check_pin(shop, shop.person(person_id), pin, bench_id)  # as a release and an override do
    return judge.act(shop, g.VERIFY, ev.STAGE_VERIFIED, job_id, person_id, bench_id, stage, {}, override=override)[0]


def reject(shop: Shop, job_id: str, person_id: str, bench_id: str, stage: str | None = None, *, defect: str = "",
           reason: str = "", redo: str | None = None, override: Override | None = None) -> ev.Event:
    if redo is not None and redo not in shop.site.stages:
        raise Refused(f"no stage {redo!r} to redo")
    return judge.act(shop, g.REJECT, ev.STAGE_REJECTED, job_id, person_id, bench_id, stage,
                     {"defect": defect, "reason": reason, "redo": redo}, override=override)[0]


def hold(shop: Shop, job_id: str, person_id: str, bench_id: str, reason: str) -> ev.Event:
    if not reason.strip():
        raise Refused("say why the job goes on hold")
    reason = " ".join(reason.split())
    return judge.act(shop, g.HOLD, ev.JOB_HELD, job_id, person_id, bench_id, None,
                     {"reason": reason, "quality": g.hold_is_quality(reason)})[0]


def release(shop: Shop, job_id: str, person_id: str, bench_id: str, note: str = "", pin: str | None = None) -> ev.Event:
    """Release a hold, saying what was checked or resolved (the note); a supervisor's PIN where the site asks."""
    note = " ".join(note.split())
    if not note:
        raise Refused("say what was checked or resolved before the hold is released (a note); nothing was changed")
    judge.check_pin(shop, shop.person(person_id), pin, bench_id)
    return judge.act(shop, g.RELEASE, ev.JOB_RELEASED, job_id, person_id, bench_id, None, {"note": note})[0]


def create_job(shop: Shop, *, route: str, design: str, alloy: str, due: str, client: str = "", client_initials: str = "",
               spec: str = "", stones: list[dict] | None = None, priority: str = "normal",
               person_id: str | None = None, bench_id: str | None = None) -> str:
    return create_jobs(shop, [dict(route=route, design=design, alloy=alloy, due=due, client=client,
                                  client_initials=client_initials, spec=spec, stones=stones or [],
                                  priority=priority)], person_id=person_id, bench_id=bench_id)[0]


JOB_FIELDS = ("route", "design", "alloy", "due", "client", "spec", "priority", "stones")  # what a job spec may hold


def job_problems(shop: Shop, spec: dict, *, allow_past: bool = True) -> list[str]:
    """What is wrong with a new job's spec, every problem in words (empty when it may be created).

    allow_past=False: a due date before the site's today is refused unless asked for (the CLI's
    --allow-past), since a promise already broken is usually a typing mistake.
    """
    out = []
    for what, known in (("route", shop.site.routes), ("alloy", shop.site.alloys)):
        if not spec.get(what):
            out.append(f"no {what}; {what}s: {', '.join(known)}")
        elif spec.get(what) not in known:
            out.append(f"unknown {what} {spec.get(what)!r}; {what}s: {', '.join(known)}")
    if not str(spec.get("design") or "").strip():
        out.append("no design: say what the piece is (Halo ring, Stacking ring …)")
    due_text = str(spec.get("due") or "").strip()
    try:
        due = date.fromisoformat(due_text[:10]) if len(due_text) == 10 else None
    except ValueError:
        due = None
    if not due_text:
        out.append("no due date: the date promised, like 2026-12-24")
    elif due is None:
        out.append(f"due date {spec.get('due')!r} is not a date like 2026-12-24")
    elif not allow_past and due < cards.site_today(shop):
        out.append(f"due date {due_text} is in the past (today is {cards.site_today(shop)}): a promise already "
                   "broken is usually a typing mistake; if it is meant, say so with --allow-past")
    if spec.get("priority", "normal") not in ("normal", "rush"):
        out.append(f"priority must be normal or rush, not {spec.get('priority')!r}")
    if spec.get("price") not in (None, ""):
        from floorkiosk.domain.costing import parse_money  # only a job with a price needs the costing module

        try:
            spec["price"] = str(parse_money(spec["price"], "price"))
        except ValueError as exc:
            out.append(str(exc))
    stones = spec.get("stones") or []
    if not isinstance(stones, list) or not all(isinstance(x, dict) for x in stones):
        out.append("stones must be stone lines (count, shape, kind, ct, cert)")
    return out


def create_jobs(shop: Shop, specs: list[dict], person_id: str | None = None, bench_id: str | None = None,
                *, allow_past: bool = True) -> list[str]:
    if person_id is not None:
        shop.person(person_id)
    if bench_id is not None:
        shop.bench(bench_id)
    for s in specs:
        wrong = job_problems(shop, s, allow_past=allow_past)
        if wrong:
            raise Refused("; ".join(wrong) + "; nothing was recorded")
        if not s.get("client_initials") and s.get("client"):
            s["client_initials"] = "".join(w[0] for w in str(s["client"]).split() if w)[:3].upper()
    shop.numbers.reserve("job", len(specs))  # on a hub site this may ask the hub, before the write

    def build(conn: sqlite3.Connection) -> list[ev.Event]:
        numbers = shop.numbers.take(conn, "job", len(specs))
        version = standards.created_payload(conn)  # the standards in effect: the job keeps them
        return [shop.event(ev.JOB_CREATED, payloads.job_number(n), person_id, bench_id,
                           {k: v for k, v in s.items() if v not in (None, "")} | {"route": s["route"]} | version)
                for n, s in zip(numbers, specs)]

    return [e.job for e in shop.journal.append_many(build=build)]


def stone_lines_here(shop: Shop, bench_id: str, job: JobState) -> bool:
    """Whether stone lines are added to this job's card at this bench: where its route begins (the design bench)."""
    route = standards.site_for(shop, job).routes.get(job.route)
    return bool(route and route.stage_ids and shop.bench(bench_id).serves(route.stage_ids[0]))


def add_stone_lines(shop: Shop, job_id: str, lines: list[dict], person_id: str | None = None,
                    bench_id: str | None = None) -> ev.Event:
    """Add stone lines (domain.stones.parse_line) after those on a job's card; the lines on it keep their numbers.

    Refused once the job's route is complete or its stones are set (the setting stage finished):
    stones are issued to the setter from the card's lines, and a line added after them would never be.
    """
    if person_id is not None:
        shop.person(person_id)
    if bench_id is not None:
        shop.bench(bench_id)
    if not lines:
        raise Refused("no stone line to add")
    setting = dq.qc_config(shop.site).stones.setting_stage

    def build(conn: sqlite3.Connection) -> list[ev.Event]:
        state = shop.jobs.load(conn, payloads.normalize_job(job_id) or job_id)
        if state is None:
            raise NotFound(f"no job {payloads.normalize_job(job_id) or job_id} in this workshop")
        if state.complete:
            raise Refused(f"{state.id} has finished its route: no stone lines are added to it; nothing was recorded")
        st = state.stages.get(setting or "")
        if st is not None and st.complete:
            raise Refused(f"{state.id}'s stones are set ({shop.site.stages[setting].name} is finished): a line added "
                          "now would never be issued; nothing was recorded")
        return [shop.event(ev.JOB_STONES_ADDED, state.id, person_id, bench_id, {"stones": [dict(x) for x in lines]})]

    return shop.journal.append_many(build=build)[0]


def create_batch(shop: Shop, job_ids: list[str], design: str = "", person_id: str | None = None,
                 bench_id: str | None = None) -> str:
    """A new batch of these job bags, under the site's batching rules (refused in words, nothing recorded)."""
    jobs = _batch_jobs_named(shop, job_ids, person_id, bench_id)
    if not jobs:
        raise Refused("a batch needs at least one job")
    shop.numbers.reserve("batch", 1)

    def build(conn: sqlite3.Connection) -> list[ev.Event]:
        bid = f"B{shop.numbers.take(conn, 'batch', 1)[0]:04d}"
        _check_batching(shop, conn, bid, jobs, [])
        evs = [shop.event(ev.BATCH_CREATED, None, person_id, bench_id, {"batch": bid, "design": design, "jobs": jobs})]
        return evs + [shop.event(ev.BATCH_CREATED, j, person_id, bench_id, {"batch": bid}) for j in jobs]

    return shop.journal.append_many(build=build)[0].payload["batch"]


def add_to_batch(shop: Shop, batch_id: str, job_ids: list[str], person_id: str | None = None,
                 bench_id: str | None = None) -> list[str]:
    """Put these job bags into an open batch, under the site's batching rules; the jobs added."""
    jobs = _batch_jobs_named(shop, job_ids, person_id, bench_id)
    bid = normalize_batch(batch_id)
    if not jobs:
        raise Refused("say which job bags go into the batch")

    def build(conn: sqlite3.Connection) -> list[ev.Event]:
        row = _batch_row(conn, bid)
        if row[1] is not None:
            raise Refused(f"batch {bid} was closed {row[1][:16].replace('T', ' ')}: no more job bags join it; "
                          "start a new batch")
        _check_batching(shop, conn, bid, jobs, json.loads(row[0]))
        return [shop.event(ev.BATCH_JOINED, j, person_id, bench_id, {"batch": bid}) for j in jobs]

    return [e.job for e in shop.journal.append_many(build=build)]


def close_batch(shop: Shop, batch_id: str, person_id: str | None = None, bench_id: str | None = None,
                note: str = "") -> ev.Event:
    """Close a batch: no more job bags join it, and its pieces may join another batch."""
    if person_id is not None:
        shop.person(person_id)
    if bench_id is not None:
        shop.bench(bench_id)
    bid = normalize_batch(batch_id)

    def build(conn: sqlite3.Connection) -> list[ev.Event]:
        row = _batch_row(conn, bid)
        if row[1] is not None:
            raise Refused(f"batch {bid} is already closed (since {row[1][:16].replace('T', ' ')})")
        payload = {"batch": bid} | ({"note": " ".join(note.split())} if note.strip() else {})
        return [shop.event(ev.BATCH_CLOSED, None, person_id, bench_id, payload)]

    return shop.journal.append_many(build=build)[0]


def normalize_batch(text: str) -> str:
    """A batch number as printed (B0042) from what a person types: b42, B0042, FK:B:B0042."""
    t = str(text).strip().upper()
    if t.startswith("FK:B:"):
        t = t[5:]
    digits = t[1:] if t.startswith("B") else t
    return f"B{int(digits):04d}" if digits.isdigit() and len(digits) <= 12 else t


def _batch_jobs_named(shop: Shop, job_ids: list[str], person_id: str | None, bench_id: str | None) -> list[str]:
    if person_id is not None:
        shop.person(person_id)
    if bench_id is not None:
        shop.bench(bench_id)
    jobs: list[str] = []
    for j in job_ids:
        jid = shop.job(j).id
        if jid in jobs:
            raise Refused(f"{jid} is named twice: a job bag goes into a batch once")
        jobs.append(jid)
    return jobs


def _batch_row(conn: sqlite3.Connection, bid: str) -> tuple[str, str | None]:
    row = conn.execute("SELECT jobs, closed_at FROM batches WHERE id = ?", (bid,)).fetchone()
    if row is None:
        raise NotFound(f"no batch {bid} in this workshop")
    return row[0], row[1]


def _open_batch(conn: sqlite3.Connection, state: JobState, bid: str | None) -> str | None:
    """The open batch the job is in now, other than `bid`, if any."""
    if not state.batch or state.batch == bid:
        return None
    row = conn.execute("SELECT closed_at FROM batches WHERE id = ?", (state.batch,)).fetchone()
    return state.batch if row is not None and row[0] is None else None


def new_batch_refusals(shop: Shop, job_id: str, bags: list[str]) -> tuple[JobState, list[str]]:
    """A job bag scanned for a new batch after `bags`: its state, and why the batching rules keep it out.

    Nothing is written: the bench asks as each bag is scanned, and create_batch judges them all again
    inside its write, where a bag that joined another batch meanwhile is refused.
    """
    jid = payloads.normalize_job(job_id) or job_id
    with shop.journal.lock:
        conn = shop.journal.conn
        state = shop.jobs.load(conn, jid)
        if state is None:
            raise NotFound(f"no job {jid} in this workshop")
        if state.id in bags:
            return state, [f"{state.id} is scanned already: it is in the new batch once"]
        members = [m for m in (shop.jobs.load(conn, b) for b in bags) if m is not None]
        open_batch = _open_batch(conn, state, None)
    return state, batching.refusals(shop.site, shop.site.batching, "", state, members, open_batch,
                                    called="the new batch")


def _check_batching(shop: Shop, conn: sqlite3.Connection, bid: str, jobs: list[str], members: list[str]) -> None:
    """Refuse (with every reason) a job bag the site's batching rules keep out of batch `bid`."""
    states = [s for s in (shop.jobs.load(conn, m) for m in members) if s is not None]
    reasons: list[str] = []
    for jid in jobs:
        state = shop.jobs.load(conn, jid)
        if state is None:
            raise NotFound(f"no job {jid} in this workshop")
        open_batch = _open_batch(conn, state, bid)
        why = batching.refusals(shop.site, shop.site.batching, bid, state, states, open_batch)
        reasons += why
        if not why:
            states.append(state)
    if reasons:
        raise Refused("\n".join(reasons) + "\nnothing was recorded")


def batch_apply(shop: Shop, batch_id: str, verb: Callable[[str], Any], action: str = "") -> BatchResult:
    """Apply verb(job_id) to each piece of a batch; the pieces that fail are listed with why."""
    done, failed = [], []
    for job in cards.batch_jobs(shop, batch_id):
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


def record_first_prints(shop: Shop, job_ids: list[str], person_id: str | None, bench_id: str | None,
                        copies: int = 1) -> list[ev.Event]:
    """Record the first job-bag labels of these jobs, refusing (and recording nothing) if one was printed."""

    def build(conn) -> list[ev.Event]:
        out = []
        for jid in job_ids:
            state = shop.jobs.load(conn, jid)
            if state is None:
                raise NotFound(f"no job {jid} in this workshop")
            if state.printed or state.reprints:
                raise Refused(reprint_needed(state.id))
            out.append(shop.event(ev.LABEL_PRINTED, state.id, person_id, bench_id, {"copies": copies}))
        return out

    return shop.journal.append_many(build=build)


def reprint_needed(job_id: str) -> str:
    return (f"{job_id}'s job-bag label was printed before: another one is a reprint, recorded with who and why"
            " (label print --reprint REASON --person PERSON, or L at the kiosk)")


def record_reprint(shop: Shop, job_id: str, person_id: str | None, bench_id: str | None, reason: str) -> ev.Event:
    job = shop.job(job_id)
    return shop.journal.append(shop.event(ev.LABEL_REPRINTED, job.id, person_id, bench_id, {"reason": reason}))


# -- the jobs area: its events in the history's words ---------------------------------------------


class _Words:
    """What every history line of a job event starts from: who, which stage, at which bench."""

    def __init__(self, shop: Shop, e: ev.Event) -> None:
        self.who = shop.name(e.person) or "someone"
        self.p = e.payload
        stage = shop.site.stages.get(self.p.get("stage") or "")
        self.stage = stage.name if stage else self.p.get("stage", "")
        bench = shop.site.benches.get(e.bench or "")
        self.at = f" at {bench.name}" if bench else ""


def _rejected(shop: Shop, e: ev.Event) -> str:
    w = _Words(shop, e)
    redo = shop.site.stages.get(w.p.get("redo") or "")
    return (f"{w.who} rejected {w.stage}: {w.p.get('defect', '')} {w.p.get('reason', '')}".rstrip()
            + (f"; redo {redo.name}" if redo else ""))


def _weighed(shop: Shop, e: ev.Event) -> str:
    w = _Words(shop, e)
    grams = fmt_many(Decimal(w.p["grams"]), shop.site.settings.units, cards.bench_step(shop, e.bench))
    manual = w.p.get("manual")
    how = (f" — TYPED BY HAND, approved by {shop.name(manual.get('by'))}: {manual.get('reason', '')}" if manual
           else "")
    return f"{w.who} weighed {'in' if w.p.get('phase') == 'in' else 'out'} {w.stage}: {grams}{how}"


def _line(template: str) -> Callable[[Shop, ev.Event], str]:
    return lambda shop, e: template.format(w=_Words(shop, e))


DESCRIBERS: dict[str, Callable[[Shop, ev.Event], str]] = {
    ev.JOB_CREATED: lambda shop, e: (f"{shop.name(e.person) or 'someone'} created the job "
                                     f"({e.payload.get('design', '')}, due {e.payload.get('due', '?')})"),
    ev.JOB_STONES_ADDED: lambda shop, e: (f"{shop.name(e.person) or 'someone'} added stone line"
                                          f"{'s' if len(e.payload.get('stones', [])) != 1 else ''}: "
                                          + "; ".join(line_text(x) for x in e.payload.get("stones", []))),
    ev.STAGE_STARTED: _line("{w.who} started {w.stage}{w.at}"),
    ev.WEIGHT_RECORDED: _weighed,
    ev.PHOTO_ATTACHED: lambda shop, e: (lambda w: f"{w.who} photographed {w.stage} ({w.p['sha256'][:10]})")(_Words(shop, e)),
    ev.STAGE_FINISHED: _line("{w.who} finished {w.stage}{w.at}"),
    ev.STAGE_VERIFIED: _line("{w.who} verified {w.stage}{w.at}"),
    ev.STAGE_REJECTED: _rejected,
    ev.JOB_HELD: lambda shop, e: (f"{'rule' if e.payload.get('auto') else shop.name(e.person) or 'someone'} "
                                  f"put the job on hold: {e.payload.get('reason', '')}"),
    ev.JOB_RELEASED: lambda shop, e: (f"{shop.name(e.person) or 'someone'} released the hold"
                                      + (f": {e.payload['note']}" if e.payload.get("note") else "")),
    ev.LABEL_PRINTED: lambda shop, e: (lambda w: f"{w.who} printed the job-bag label{w.at}")(_Words(shop, e)),
    ev.LABEL_REPRINTED: lambda shop, e: (lambda w: f"{w.who} reprinted the label{w.at}: {w.p.get('reason', '')}")(_Words(shop, e)),
    ev.BATCH_CREATED: lambda shop, e: f"{shop.name(e.person) or 'someone'} put the job in batch {e.payload.get('batch', '')}",
    ev.DB_REBUILT: lambda shop, e: ("the derived tables were rebuilt from the journal: "
                                    + ", ".join(t["table"] for t in e.payload.get("tables", []))
                                    + f" differed (the file before: {e.payload.get('copy', '?')})"),
    ev.BATCH_JOINED: lambda shop, e: f"{shop.name(e.person) or 'someone'} put the job in batch {e.payload.get('batch', '')}",
    ev.BATCH_CLOSED: lambda shop, e: (f"{shop.name(e.person) or 'someone'} closed batch {e.payload.get('batch', '')}"
                                      + (f": {e.payload['note']}" if e.payload.get("note") else "")),
}

MANUAL_WEIGHT = f"type = '{ev.WEIGHT_RECORDED}' AND json_extract(payload, '$.source') = 'manual'"


def _m_manual_weights(db: Any) -> None:
    # The weights typed by hand, for the report, without reading the journal: an index of just those
    # events (the journal has no index by type; the other appends pay nothing for it).
    db.execute(f"CREATE INDEX IF NOT EXISTS events_manual_weights ON events (ts) WHERE {MANUAL_WEIGHT}")


def manual_weights(shop: Shop, start: str, end: str) -> list[tuple[str, str, str, str, str, str, str, str]]:
    """(ts, job, stage, phase, grams, person, approved by, reason) of the weights typed by hand in [start, end)."""
    rows = shop.journal.query(f"SELECT ts, job, payload, person FROM events WHERE {MANUAL_WEIGHT} AND ts >= ? AND ts < ?"
                              " ORDER BY ts", (start, end))
    out = []
    for ts, job, payload, person in rows:
        p = ev.loads(payload)
        m = p.get("manual") or {}
        out.append((ts, job, p.get("stage", ""), p.get("phase", ""), p.get("grams", ""), person or "",
                    m.get("by", ""), m.get("reason", "")))
    return out


AREA = Area("jobs", migrations=(*judge.MIGRATIONS, ("jobs_002_manual_weights", _m_manual_weights)),
            describers=DESCRIBERS)
