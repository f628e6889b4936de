"""The job tables derived from the journal: where each job is, its stages, photos, batches and conflicts.

On a site with a hub the events of many benches are folded in the hub's order, which a bench that was
offline did not know when it acted. There every event is judged again by the guardrails against the
state before it in that order; one they refuse is not applied but recorded in `conflicts` for a
supervisor, who accepts it (it is applied then, where the decision stands in the order) or dismisses
it, with a `conflict.resolved` event. The reasons that depend on the order are judged again (state,
prerequisites, verification, evidence, holds), and so are roles and skills: an event is a bench's
word, and a bench's account on the hub is no proof that the bench's own guardrails ran (a
verification "by" an artisan, pushed with a bench's credentials, is a conflict here, not a fact).
People are judged by people.toml as it stands, so taking a role away later may make an old event a
conflict at a rebuild, for a supervisor to accept. Benches are not judged again.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal, InvalidOperation
from typing import Protocol

from floorkiosk.domain import events as ev
from floorkiosk.domain import guardrails as g
from floorkiosk.domain import standards as dstd
from floorkiosk.domain.config import Bench, Person, Site
from floorkiosk.domain.state import REWORK, TODO, JobState, apply, prerequisites_met
from floorkiosk.store.rows import CANON, EVENT_COLS, event_by_id, event_of, malformed

# A supervisor's decision on a conflict: payload {"event": id, "decision": "accept"|"dismiss", "note": ...}.
CONFLICT_RESOLVED = ev.CONFLICT_RESOLVED

# Guardrail reasons whose answer depends on the order of events, judged again in the hub's order.
ORDER_REASONS = frozenset({"state", "prerequisite", "verification", "evidence", "on-hold", "not-on-hold",
                           "complete", "four-eyes"})

# On a hub site, also these: who may do what is not taken on a bench's word.
HUB_REASONS = ORDER_REASONS | {"role", "skill"}

_KIND = {ev.STAGE_STARTED: g.START, ev.PHOTO_ATTACHED: g.PHOTO, ev.STAGE_FINISHED: g.FINISH,
         ev.STAGE_VERIFIED: g.VERIFY, ev.STAGE_REJECTED: g.REJECT, ev.JOB_HELD: g.HOLD, ev.JOB_RELEASED: g.RELEASE}


class Projector(Protocol):
    """Keeps some derived tables in step with the journal, inside the appending transaction.

    A projector may also define ``refold(conn, jobs, events_of)``: derive the rows of these jobs again
    from ``events_of(job)`` (the job's events in canonical order). The journal calls it when events
    pulled from the hub land before events already applied here; projectors without it get the
    pulled events through ``apply`` in the order they arrive. Rows such a projector keeps across jobs
    it names by the event types that write them (``spanning_types``) and derives again with
    ``refold_spanning(conn, events)`` (every event of those types, in canonical order), which the
    journal calls when an event of those types applied here now stands after one pulled from the hub.
    A projector without ``refold`` is derived again from every event then, where it folds any event
    so displaced (``rebuild_types`` says which it folds).

    For a full rebuild a projector may take its events in chunks (``rebuild_begin/feed/end``), and
    say ``rebuild_apart = True`` when, rebuilding, it reads only its own tables: a large journal's
    rebuild may then fold it in a helper process (store.apart), with ``rebuild_types`` (the event
    types it folds) and ``rebuild_weight`` (its measured share of the work) to choose which.
    """

    tables: tuple[str, ...]

    def apply(self, conn: sqlite3.Connection, events: list[ev.Event]) -> None: ...

    def rebuild(self, conn: sqlite3.Connection, events: Iterable[ev.Event]) -> None: ...


class ChunkedRebuild:
    """A projector rebuilt in chunks: rebuild_begin, then rebuild_feed for each chunk, then rebuild_end.

    The journal feeds these from one shared read of the events for every projector; rebuild() does
    the same from any iterable, so memory stays small on millions of events. rebuild_begin empties
    the projector's tables; subclasses extend it and say what a chunk does and what the end writes.
    """

    tables: tuple[str, ...]

    def rebuild(self, conn: sqlite3.Connection, events: Iterable[ev.Event]) -> None:
        self.rebuild_begin(conn)
        chunk: list[ev.Event] = []
        for e in events:
            chunk.append(e)
            if len(chunk) >= 20_000:
                self.rebuild_feed(conn, chunk)
                chunk = []
        self.rebuild_feed(conn, chunk)
        self.rebuild_end(conn)

    def rebuild_begin(self, conn: sqlite3.Connection) -> None:
        for t in self.tables:
            conn.execute(f"DELETE FROM {t}")

    def rebuild_feed(self, conn: sqlite3.Connection, events: Iterable[ev.Event]) -> None:  # pragma: no cover
        raise NotImplementedError

    def rebuild_end(self, conn: sqlite3.Connection) -> None:  # pragma: no cover
        raise NotImplementedError


def admitted(conn: sqlite3.Connection, events: Iterable[ev.Event]) -> Iterator[ev.Event]:
    """The events as the other projectors must see them, once the job projector has judged them.

    An event held back as a conflict is left out; a supervisor's acceptance stands in for the event it
    accepts, at its own place in the order. On a site without a hub there are no conflicts and this
    is the events unchanged.
    """
    for e in events:
        if e.type == CONFLICT_RESOLVED:
            target = e.payload.get("event")
            row = conn.execute("SELECT status, resolution FROM conflicts WHERE event_id = ?", (target,)).fetchone()
            if row and row[0] == "accepted" and row[1] == e.id:
                accepted = event_by_id(conn, target)
                if accepted is not None:
                    yield accepted
                    continue
            yield e
        elif conn.execute("SELECT 1 FROM conflicts WHERE event_id = ?", (e.id,)).fetchone() is None:
            yield e


class _Out:
    """Where one fold writes its side rows: photos are gathered and written once, conflicts at once."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.photos: list[tuple] = []

    def photo(self, e: ev.Event) -> None:
        self.photos.append((e.job, e.payload["sha256"], e.payload.get("stage"), e.ts, e.person, e.bench))

    def flush(self) -> None:
        if self.photos:
            self.conn.executemany(
                "INSERT OR IGNORE INTO photos (job, sha256, stage, ts, person, bench) VALUES (?, ?, ?, ?, ?, ?)",
                self.photos)
            self.photos = []


# The events that record a version of the standards with its documents (no job).
_VERSION_DOCS = frozenset({dstd.STANDARDS_ADOPTED, dstd.STANDARDS_PROPOSED})

# The batch's own events (no job): they write its row of the batches table.
_BATCH_ROW = frozenset({ev.BATCH_CREATED, ev.BATCH_CLOSED})


class JobProjector(ChunkedRebuild):
    BASE_TABLES = ("jobs", "job_stages", "photos", "batches")
    # A batch's row spans jobs: its list of job bags is in the order they joined, and the first close
    # stands. Folding one job again does not touch it; these events derive it again (refold_spanning).
    spanning_types = frozenset({ev.BATCH_CREATED, ev.BATCH_JOINED, ev.BATCH_CLOSED})
    rebuild_weight = 7  # its share of a rebuild's work, measured (see Journal.rebuild)
    audit_weight = 13  # its share when it also judges every event (Journal.check_derived), measured

    def __init__(self, site: Site) -> None:
        self.site = site
        self.routes = site.routes
        self.needs_verify = {s.id: s.verify for s in site.stages.values()}
        # Each job is folded and judged on the route of the version of the standards it runs under.
        # `site_of(version, docs, conn)`: that version's site (None when no such version is known: then
        # the site as loaded), set by the standards area; `docs` are the version's documents when this
        # projector has seen them go by (a rebuild meets them before any job that runs under them).
        self.site_of: Callable[[int, dict[str, str] | None, sqlite3.Connection | None], Site | None] | None = None
        self._versions: dict[int, tuple[Site, dict[str, bool]]] = {}
        self._docs: dict[int, dict[str, str]] = {}
        self._unknown: set[int] = set()  # versions looked for and not found: folded on the site as loaded
        self.hub = bool(site.settings.hub)
        # conflicts are derived only where there is an order to disagree with
        self.tables: tuple[str, ...] = self.BASE_TABLES + (("conflicts",) if self.hub else ())
        self._any_bench = Bench("*", "any bench", tuple(site.stages), qc=True)
        self._skills = tuple(sorted({s.skill for s in site.stages.values()}))
        self._judges: dict[str | None, Person] = {}
        self._lent: dict[str, tuple[str, JobState]] = {}  # job -> (event id, state before it)
        # While the journal checks its derived tables: where the events the guardrails would have
        # refused in journal order are listed (on a site without a hub nothing else judges them again).
        self.audit: list[tuple[ev.Event, list[str]]] | None = None

    # -- folding ---------------------------------------------------------------------------------
    def fold(self, state: JobState | None, e: ev.Event, conn: sqlite3.Connection | None = None) -> JobState:
        if state is None or e.type == ev.JOB_CREATED:
            n = e.payload.get("standards", dstd.FIRST)
        elif e.type == dstd.STANDARDS_MOVED:
            n = e.payload.get("to", state.standards)
        else:
            n = state.standards
        site, needs_verify = self._version(n, conn)
        return apply(state, e, site.routes, needs_verify)

    def site_for(self, state: JobState, conn: sqlite3.Connection | None = None) -> Site:
        """The site as the job's version of the standards has it: its route, stages and their rules."""
        return self._version(state.standards, conn)[0]

    def _version(self, n: int, conn: sqlite3.Connection | None) -> tuple[Site, dict[str, bool]]:
        got = self._versions.get(n)
        if got is not None:
            return got
        site = self.site_of(n, self._docs.get(n), conn) if self.site_of is not None else None
        if site is None:  # no such version recorded (yet): the site as loaded, until one is
            if conn is None:
                return self.site, self.needs_verify  # not looked for in the journal: not remembered
            self._unknown.add(n)
            site = self.site
        got = self._versions[n] = (site, self.needs_verify if site is self.site else
                                   {s.id: s.verify for s in site.stages.values()})
        return got

    def _seen(self, e: ev.Event) -> None:
        """A version of the standards recorded: its documents kept (the first of a number keeps it)."""
        if e.type in _VERSION_DOCS and isinstance(e.payload.get("version"), int):
            n = e.payload["version"]
            self._docs.setdefault(n, e.payload.get("docs") or {})
            if n in self._unknown:
                self._unknown.discard(n)
                self._versions.pop(n, None)

    def load(self, conn: sqlite3.Connection, job_id: str) -> JobState | None:
        row = conn.execute("SELECT state FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return JobState.from_dict(ev.loads(row[0])) if row else None

    def replay(self, conn: sqlite3.Connection, job_id: str) -> JobState | None:
        """The job's state folded from its own events in the journal (canonical order, as the
        projector admitted them), not read from its derived row: what a guardrail judges."""
        state: JobState | None = None
        rows = conn.execute(f"SELECT {EVENT_COLS} FROM events WHERE job = ? ORDER BY {CANON}", (job_id,))
        for e in admitted(conn, (event_of(r) for r in rows if malformed(r[9]) is None)):
            if e.type == CONFLICT_RESOLVED or (state is None and e.type != ev.JOB_CREATED):
                continue
            state = self.fold(state, e, conn)
        return state

    def lend(self, event_id: str, state: JobState) -> None:
        """The state a verb judged event `event_id` against, loaded inside the same write transaction:
        folding that event starts from it rather than reading the job's row a second time. Kept for
        the next apply only, and used only for that very event (an id no later event has)."""
        self._lent[state.id] = (event_id, state)

    def _judge(self, person_id: str | None) -> Person:
        # Everyone may do everything here: only the order-dependent reasons are judged again.
        p = self._judges.get(person_id)
        if p is None:
            known = self.site.people.get(person_id or "")
            p = Person(person_id or "", known.name if known else (person_id or "nobody"), "",
                       ("admin", "supervisor"), self._skills)
            self._judges[person_id] = p
        return p

    def conflict_reasons(self, state: JobState, e: ev.Event) -> list[str]:
        """Why the guardrails refuse this event after `state` in the hub's order; empty if they allow it."""
        if e.type == ev.JOB_CREATED:
            return [f"job {e.job} was already created ({state.design or 'another job bag'}, {state.created_at});"
                    " two benches gave the same number"]
        p = e.payload
        kind = _KIND.get(e.type)
        if e.type == ev.WEIGHT_RECORDED:
            kind = g.WEIGH_IN if p.get("phase") == "in" else g.WEIGH_OUT
        if kind is None:
            return []
        try:
            grams = Decimal(str(p["grams"])) if "grams" in p else None
        except InvalidOperation:
            grams = None
        action = g.Action(kind, p.get("stage"), tuple(p.get("checklist", ())), grams)
        person, codes = self._judge(e.person), ORDER_REASONS
        if self.hub:
            person, codes = self._person(e.person), HUB_REASONS
        decision = g.check(self.site_for(state), state, action, person, self._any_bench)
        reasons = [r for r in decision.reasons if r.code in codes]
        if not reasons:
            return []
        ov = p.get("override")
        if ov and all(r.overridable for r in reasons) and (not self.hub or self._overrider(ov)):
            return []  # a supervisor already lifted these when the event was recorded
        return [r.text for r in reasons]

    def _person(self, person_id: str | None) -> Person:
        # as people.toml has them; someone it does not know has no role and no skill
        known = self.site.people.get(person_id or "")
        return known if known is not None else Person(person_id or "", person_id or "nobody", "", (), ())

    def _overrider(self, ov: object) -> bool:
        """The override's author is a supervisor of this workshop (not only the event's word for it)."""
        by = ov.get("by") if isinstance(ov, dict) else None
        known = self.site.people.get(by) if isinstance(by, str) else None
        return known is not None and known.is_supervisor

    def _step(self, conn: sqlite3.Connection, state: JobState | None, e: ev.Event, out: _Out) -> JobState | None:
        """Fold one job event; in hub mode judge it first and hold back what the guardrails refuse."""
        if e.type == CONFLICT_RESOLVED:
            return self._resolve(conn, state, e, out)
        if state is None and e.type != ev.JOB_CREATED:
            return None  # an event for a job this store does not know: nothing to derive
        if self.audit is not None and not self.hub and state is not None:
            reasons = self.conflict_reasons(state, e)
            if reasons:
                self.audit.append((e, reasons))
        if self.hub and state is not None:
            reasons = self.conflict_reasons(state, e)
            if reasons:
                conn.execute(
                    "INSERT OR REPLACE INTO conflicts (event_id, job, type, stage, person, bench, origin, ts, reasons,"
                    " status) VALUES (?,?,?,?,?,?,?,?,?, 'open')",
                    (e.id, e.job, e.type, e.payload.get("stage"), e.person, e.bench, e.origin, e.ts,
                     json.dumps(reasons, ensure_ascii=False)))
                return state
        state = self.fold(state, e, conn)
        if e.type == ev.PHOTO_ATTACHED:
            out.photo(e)
        return state

    def _resolve(self, conn: sqlite3.Connection, state: JobState | None, e: ev.Event, out: _Out) -> JobState | None:
        target = e.payload.get("event")
        row = conn.execute("SELECT 1 FROM conflicts WHERE event_id = ? AND status = 'open'", (target,)).fetchone()
        if row is None or state is None:
            return state  # decided already, or no longer a conflict in this order: nothing to do
        accept = e.payload.get("decision") == "accept"
        conn.execute("UPDATE conflicts SET status = ?, resolved_by = ?, resolved_at = ?, note = ?, resolution = ?"
                     " WHERE event_id = ?",
                     ("accepted" if accept else "dismissed", e.person, e.ts, e.payload.get("note", ""), e.id, target))
        if accept:
            orig = event_by_id(conn, target)
            if orig is not None:
                state = self.fold(state, orig, conn)
                if orig.type == ev.PHOTO_ATTACHED:
                    out.photo(orig)
        return state

    # -- writing ---------------------------------------------------------------------------------
    def apply(self, conn: sqlite3.Connection, events: list[ev.Event]) -> None:
        states: dict[str, JobState | None] = {}
        before: dict[str, list[tuple]] = {}  # each loaded job's stage rows as they stand in the table
        out = _Out(conn)
        lent, self._lent = self._lent, {}
        for e in events:
            if e.job is None and e.type in _BATCH_ROW:
                self._batch(conn, e)
                continue
            if not e.job:
                self._seen(e)
                continue
            if e.type == ev.BATCH_JOINED:
                self._batch(conn, e)
            if e.job not in states:
                lend = lent.get(e.job)
                loaded = lend[1] if lend is not None and lend[0] == e.id else self.load(conn, e.job)
                if loaded is not None:
                    before[e.job] = self.stage_rows(loaded, conn)
                states[e.job] = loaded
            states[e.job] = self._step(conn, states[e.job], e, out)
        out.flush()
        for job, state in states.items():
            if state is not None:
                self.write(conn, state, before.get(job))

    def refold(self, conn: sqlite3.Connection, jobs: Iterable[str],
               events_of: Callable[[str], list[ev.Event]]) -> None:
        """Derive these jobs' rows again from their events in canonical order."""
        out = _Out(conn)
        for job in sorted(jobs):
            for t in ("photos", "job_stages"):
                conn.execute(f"DELETE FROM {t} WHERE job = ?", (job,))
            if self.hub:
                conn.execute("DELETE FROM conflicts WHERE job = ?", (job,))
            state = None
            for e in events_of(job):
                if e.job is None and e.type in _BATCH_ROW:
                    continue
                state = self._step(conn, state, e, out)
            if state is None:
                conn.execute("DELETE FROM jobs WHERE id = ?", (job,))
            else:
                self.write(conn, state)
        out.flush()

    def refold_spanning(self, conn: sqlite3.Connection, events: Iterable[ev.Event]) -> None:
        """Derive every batch's row again from the batch events, in canonical order."""
        conn.execute("DELETE FROM batches")
        for e in events:
            if (e.job is None and e.type in _BATCH_ROW) or (e.job and e.type == ev.BATCH_JOINED):
                self._batch(conn, e)

    def _batch(self, conn: sqlite3.Connection, e: ev.Event) -> None:
        """A batch's row: created with its first pieces, a piece added, closed."""
        bid = e.payload["batch"]
        if e.type == ev.BATCH_CREATED:
            conn.execute("INSERT OR REPLACE INTO batches (id, design, jobs, created_at, created_by) VALUES (?, ?, ?, ?, ?)",
                         (bid, e.payload.get("design", ""), json.dumps(e.payload.get("jobs", [])), e.ts, e.person))
        elif e.type == ev.BATCH_JOINED:
            row = conn.execute("SELECT jobs FROM batches WHERE id = ?", (bid,)).fetchone()
            jobs = json.loads(row[0]) if row else []
            if row is not None and e.job not in jobs:
                conn.execute("UPDATE batches SET jobs = ? WHERE id = ?", (json.dumps(jobs + [e.job]), bid))
        elif e.type == ev.BATCH_CLOSED:
            conn.execute("UPDATE batches SET closed_at = ?, closed_by = ? WHERE id = ? AND closed_at IS NULL",
                         (e.ts, e.person, bid))

    def rows(self, s: JobState, conn: sqlite3.Connection | None = None) -> tuple[tuple, list[tuple]]:
        current = ", ".join(s.in_progress())
        job_row = (s.id, s.route, s.design, s.client, s.alloy, s.due, s.priority, s.batch,
                   "complete" if s.complete else "open", 1 if s.hold else 0, s.hold.reason if s.hold else None,
                   s.holder, s.bench, current, float(s.last_weight) if s.last_weight else None,
                   s.created_at, s.updated_at, s.completed_at,
                   s.to_json())
        return job_row, self.stage_rows(s, conn)

    def stage_rows(self, s: JobState, conn: sqlite3.Connection | None = None) -> list[tuple]:
        site, needs_verify = self._version(s.standards, conn)
        route = site.routes.get(s.route)
        stage_rows = []
        for sid, st in s.stages.items():
            ready = int(route is not None and st.status in (TODO, REWORK)
                        and prerequisites_met(s, route, sid, needs_verify))
            stage_rows.append((s.id, sid, st.status, ready, st.started_by, st.started_at, st.finished_by,
                               st.finished_at, st.verified_by, st.verified_at,
                               float(st.weight_in) if st.weight_in else None,
                               float(st.weight_out) if st.weight_out else None, st.runs, st.reworks))
        return stage_rows

    _JOB_SQL = ("INSERT OR REPLACE INTO jobs (id, route, design, client, alloy, due, priority, batch, status, on_hold,"
                " hold_reason, holder, bench, current, last_weight, created_at, updated_at, completed_at, state)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
    _STAGE_SQL = ("INSERT OR REPLACE INTO job_stages (job, stage, status, ready, started_by, started_at, finished_by,"
                  " finished_at, verified_by, verified_at, weight_in, weight_out, runs, reworks)"
                  " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)")

    def write(self, conn: sqlite3.Connection, s: JobState, before: list[tuple] | None = None) -> None:
        """Write the job's row, and those of its stage rows that differ from `before` (all without it)."""
        job_row, stage_rows = self.rows(s, conn)
        conn.execute(self._JOB_SQL, job_row)
        if before is not None:
            # most events change one stage or none: rewriting every stage row was most of an append
            old = set(before)
            stage_rows = [r for r in stage_rows if r not in old]
            gone = [(s.id, r[1]) for r in before if r[1] not in s.stages]
            if gone:  # moved onto a route without some stage never worked at
                conn.executemany("DELETE FROM job_stages WHERE job = ? AND stage = ?", gone)
        if stage_rows:
            conn.executemany(self._STAGE_SQL, stage_rows)

    # A rebuild keeps in memory only the states of the jobs at work: those touched by the chunk of
    # events being folded or by the one before it. A job that completes is written at the end of its
    # chunk and forgotten; one that no event of a whole chunk touched is written and forgotten too
    # (a job left open for good, a job waiting for stones); either is read back from its row should
    # an event follow. So memory grows with the jobs at work, not with the years of history.
    def rebuild_begin(self, conn: sqlite3.Connection) -> None:
        super().rebuild_begin(conn)
        self._states: dict[str, JobState] = {}  # touched by the chunk being folded
        self._resting: dict[str, JobState] = {}  # touched by the chunk before, not (yet) by this one
        self._out = _Out(conn)

    def rebuild_feed(self, conn: sqlite3.Connection, events: Iterable[ev.Event]) -> None:
        states, resting, out, step = self._states, self._resting, self._out, self._step
        # a job.created starts a job afresh; only a judge (a hub site, an audit) needs what stood before
        judged = self.hub or self.audit is not None
        done: dict[str, JobState] = {}
        for e in events:
            job = e.job
            if not job:
                if job is None and e.type in _BATCH_ROW:
                    self._batch(conn, e)
                else:
                    self._seen(e)
                continue
            if e.type == ev.BATCH_JOINED:
                self._batch(conn, e)
            s = states.get(job)
            if s is None:
                s = done.pop(job, None) or resting.pop(job, None)
                if s is None and (judged or e.type != ev.JOB_CREATED):
                    s = self.load(conn, job)  # written when it completed or rested
            s = step(conn, s, e, out)
            if s is not None:
                if s.complete:
                    states.pop(job, None)
                    done[job] = s
                else:
                    states[job] = s
        out.flush()
        self._write_many(conn, [*done.values(), *resting.values()])
        self._resting, self._states = states, {}

    def rebuild_end(self, conn: sqlite3.Connection) -> None:
        self._write_many(conn, [*self._resting.values(), *self._states.values()])
        self._out.flush()
        del self._states, self._resting, self._out

    def _write_many(self, conn: sqlite3.Connection, states: list[JobState]) -> None:
        job_rows, stage_rows = [], []
        for s in states:
            j, st = self.rows(s, conn)
            job_rows.append(j)
            stage_rows.extend(st)
        if job_rows:
            conn.executemany(self._JOB_SQL, job_rows)
            conn.executemany(self._STAGE_SQL, stage_rows)
