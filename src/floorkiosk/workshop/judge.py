"""Judging an action: the guardrails and the areas' own rules, once before the screen offers it, once in the write.

The judgement that counts is the one inside the write transaction (`act`): it reads the job as the
transaction sees it, so a decision and its record can never disagree, even with several writers on
one file. `allowed_actions` judges every action of the card from the state the card already loaded,
to say what may be offered; it never writes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from floorkiosk.domain import events as ev
from floorkiosk.domain import guardrails as g
from floorkiosk.domain import payloads
from floorkiosk.domain.config import Bench, Person
from floorkiosk.domain.state import JobState
from floorkiosk.errors import FloorkioskError, NotFound, Refused
from floorkiosk.workshop.shop import Shop

CARD_ACTIONS = (g.START, g.WEIGH_IN, g.WEIGH_OUT, g.PHOTO, g.FINISH, g.VERIFY, g.REJECT, g.HOLD, g.RELEASE)


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


class PinLocked(Refused):
    """Too many wrong PINs for this person lately: the PIN is refused, unchecked, for a while."""


PIN_TRIES = 5  # wrong PINs for one person ...
PIN_LOCK = timedelta(minutes=5)  # ... within this long lock that person's PIN for this long after the last


def check_pin(shop: Shop, person: Person, pin: str | None, bench_id: str | None = None) -> None:
    """Refuse a wrong or missing PIN, recording the refusal; refuse every PIN while too many were wrong.

    Each wrong PIN is an event (who, where, when; never what was typed), on a hub site seen by every
    bench: after PIN_TRIES of them within PIN_LOCK, the person's PIN is refused, unchecked and
    unrecorded, until PIN_LOCK has passed since the last, so the 10,000 PINs cannot be tried in a loop.
    """
    if not (shop.site.settings.supervisor_pin and person.pin):
        return
    now = shop.clock()
    recent = [datetime.fromisoformat(r[0].replace("Z", "+00:00")) for r in shop.journal.query(
        f"SELECT ts FROM events WHERE type = '{ev.PIN_REFUSED}' AND person = ? ORDER BY seq DESC LIMIT ?",
        (person.id, PIN_TRIES))]  # the type written out: so SQLite reads it from the partial index below
    if len(recent) == PIN_TRIES and recent[0] - recent[-1] < PIN_LOCK and now < recent[0] + PIN_LOCK:
        wait = max(1, -(-int((recent[0] + PIN_LOCK - now).total_seconds()) // 60))
        raise PinLocked(f"{PIN_TRIES} wrong PINs for {person.name}: the PIN is refused for {wait} more minute"
                      f"{'s' if wait != 1 else ''}; nothing was changed")
    if pin is None:
        raise Refused(f"{person.name}'s PIN is needed")  # nothing was typed: nothing to record
    if pin != person.pin:
        shop.journal.append(shop.event(ev.PIN_REFUSED, None, person.id, bench_id, {}))
        left = PIN_TRIES - sum(1 for t in [now, *recent] if now - t < PIN_LOCK)
        raise Refused(f"wrong or missing PIN for {person.name}"
                      + (f" ({left} more tr{'ies' if left != 1 else 'y'} before it is locked)" if 0 < left < 3 else ""))


def _m_pin_refusals(db: Any) -> None:
    # The wrong PINs of one person, newest first, without reading the journal: an index of just those
    # events, which costs the other appends nothing (the journal has no index by type).
    db.execute(f"CREATE INDEX IF NOT EXISTS events_pin_refused ON events (person, seq) WHERE type = '{ev.PIN_REFUSED}'")


MIGRATIONS = (("jobs_001_pin_refusals", _m_pin_refusals),)


def _judge(shop: Shop, conn: sqlite3.Connection, state: JobState, action: g.Action, person: Person,
           bench: Bench) -> g.Decision:
    # the job's route, stages and their rules as its version of the standards has them
    decision = g.check(shop.jobs.site_for(state, conn), state, action, person, bench)
    extra = shop.guard(conn, state, action, person, bench)
    if extra:
        decision = g.Decision(decision.action, decision.stage, decision.reasons + tuple(extra))
    return decision


def decide(shop: Shop, kind: str, job: JobState | str, person_id: str, bench_id: str, stage: str | None = None,
           *, checklist: tuple[str, ...] = (), grams: Decimal | None = None) -> g.Decision:
    """What the guardrails say about one action now (the write judges it again in its transaction)."""
    state = shop.job(job) if isinstance(job, str) else job
    bench = shop.bench(bench_id)
    person = shop.person(person_id)
    site = shop.jobs.site_for(state, shop.journal.conn)
    action = g.Action(kind, stage or g.actionable_stage(site, state, bench, kind), tuple(checklist), grams)
    with shop.journal.lock:
        return _judge(shop, shop.journal.conn, state, action, person, bench)


def allowed_actions(shop: Shop, job: JobState | str, person_id: str, bench_id: str) -> dict[str, g.Decision]:
    """What this person may do to this job at this bench now, each with its decision, from one state."""
    state = shop.job(job) if isinstance(job, str) else job
    bench = shop.bench(bench_id)
    person = shop.person(person_id)
    out = {}
    with shop.journal.lock:
        site = shop.jobs.site_for(state, shop.journal.conn)
        for kind in CARD_ACTIONS:
            sid = g.actionable_stage(site, state, bench, kind)
            # the kiosk asks for the checklist at finish; judging "may I finish", assume it will be confirmed
            stage = site.stages.get(sid or "") if kind == g.FINISH else None
            action = g.Action(kind, sid, stage.checklist if stage else (), None)
            out[kind] = _judge(shop, shop.journal.conn, state, action, person, bench)
    return out


def validate_override(shop: Shop, o: Override, bench_id: str | None = None) -> Person:
    sup = shop.person(o.by)
    if not sup.is_supervisor:
        raise Refused(f"{sup.name} is not a supervisor and cannot override")
    if o.code not in shop.site.override_reasons:
        raise Refused(f"unknown override reason {o.code!r}; reasons: {', '.join(shop.site.override_reasons)}")
    check_pin(shop, sup, o.pin, bench_id)
    return sup


After = Callable[[JobState, ev.Event], list[ev.Event]]


def act(shop: Shop, kind: str, type_: str, job_id: str, person_id: str, bench_id: str, stage: str | None,
        payload: dict[str, Any], *, grams: Decimal | None = None, checklist: tuple[str, ...] = (),
        override: Override | None = None, after: After | None = None) -> list[ev.Event]:
    """Judge the action and append its event inside one transaction; return the events written.

    `after(state, event)` may add events that follow from this one (an automatic hold on a loss),
    given the job's state with the event folded in.
    """
    person = shop.person(person_id)
    bench = shop.bench(bench_id)
    if override is not None:
        validate_override(shop, override, bench_id)
    job_norm = payloads.normalize_job(job_id) or job_id

    def build(conn: sqlite3.Connection) -> list[ev.Event]:
        # judged from the job's own events, not its derived row: an edited row cannot lift a guardrail
        state = shop.jobs.replay(conn, job_norm)
        if state is None:
            raise NotFound(f"no job {job_norm} in this workshop")
        sid = stage or g.actionable_stage(shop.jobs.site_for(state, conn), state, bench, kind)
        decision = _judge(shop, conn, state, g.Action(kind, sid, checklist, grams), person, bench)
        pl = dict(payload)
        if sid:
            pl["stage"] = sid
        if not decision.allowed:
            if override is None or not decision.overridable:
                raise Blocked(decision, job_norm)
            refusal = g.override_refusal(shop.jobs.site_for(state, conn), state, decision, person,
                                         shop.person(override.by))
            if refusal:
                raise Refused(refusal)
            pl["override"] = {"by": override.by, "code": override.code, "note": override.note,
                              "reasons": [r.text for r in decision.reasons]}
        e = shop.event(type_, job_norm, person_id, bench_id, pl)
        followers = [] if after is None else after(shop.jobs.fold(JobState.from_dict(state.to_dict()), e, conn), e)
        shop.jobs.lend(e.id, state)  # judging (and `after`, on its copy) left it as loaded: the fold starts from it
        return [e, *followers]

    return shop.journal.append_many(build=build)
