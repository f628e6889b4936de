"""KPIs, the board and delivery promises: the flow tables, the job.delayed verb, and the queries that feed them.

``FlowProjector`` keeps, inside the appending transaction, one row per job (``kpi_jobs``: promise,
delays, delivery, rework; its ``due`` is the promise as ``domain.kpi.moved`` moves it), one row per
job and stage (``kpi_stages``: when it became ready, who first finished it, whether it is on the
board now) and per-day counters per stage, route and person (``kpi_stage_daily``). The board reads only the pieces on it; the KPI report reads counters and one
row per job, so both stay fast on years of history. Formulas are in ``floorkiosk.domain.kpi``.
Each job is folded on the route of its own version of the standards (workshop.standards), as the
guardrails judge it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from operator import attrgetter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlite_utils  # the migrations' type; the library is loaded only to migrate

from floorkiosk.workshop import cards, judge
from floorkiosk.workshop import metal as metal_mod
from floorkiosk.domain import events as ev
from floorkiosk.domain import kpi as k
from floorkiosk.domain import metal as m
from floorkiosk.domain import payloads
from floorkiosk.domain import standards as dstd
from floorkiosk.domain.config import Person, Site
from floorkiosk.errors import Refused
from floorkiosk.store.projection import ChunkedRebuild
from floorkiosk.store.rows import CANON
from floorkiosk.store.where import Where
from floorkiosk.workshop import standards as std
from floorkiosk.workshop.shop import Area, Shop


_RELEVANT = frozenset({ev.JOB_CREATED, ev.STAGE_STARTED, ev.STAGE_FINISHED, ev.STAGE_VERIFIED, ev.STAGE_REJECTED,
                       ev.JOB_HELD, ev.JOB_RELEASED, k.JOB_DELAYED, dstd.STANDARDS_MOVED})
# A version of the standards recorded with its documents (no job): the routes of the jobs under it.
_VERSION_DOCS = frozenset({dstd.STANDARDS_ADOPTED, dstd.STANDARDS_PROPOSED})
_JOB_COLS = ("job", "route", "alloy", "design", "client", "priority", "created_at", "promised", "due", "client_delays",
             "client_delay_days", "shop_delays", "delivered_at", "completed_at", "reworks", "on_hold", "relabelled",
             "standards")
_STAGE_COLS = ("job", "stage", "status", "ready", "entered_at", "ready_at", "started_at", "started_by", "started_bench",
               "first_started_at", "first_by", "finished_by", "done_at", "runs", "reworks", "counted_ftr")
_job_values = attrgetter(*_JOB_COLS)
_stage_values = attrgetter(*_STAGE_COLS)
_TALLY_COLS = ("arrived", "started", "withdrawn", "done", "ftr", "lead_s", "wait_s", "work_s")


# --- tables -----------------------------------------------------------------------------------
def _m001_flow(db: sqlite_utils.Database) -> None:
    db.execute("""CREATE TABLE kpi_jobs (
        job TEXT PRIMARY KEY, route TEXT, alloy TEXT, design TEXT, client TEXT, priority TEXT, created_at TEXT,
        promised TEXT, due TEXT, client_delays INTEGER, client_delay_days INTEGER, shop_delays INTEGER,
        delivered_at TEXT, completed_at TEXT, reworks INTEGER, on_hold INTEGER,
        delivered_day TEXT, completed_day TEXT, open INTEGER) WITHOUT ROWID""")
    db.execute("CREATE INDEX kpi_jobs_promised ON kpi_jobs (promised)")
    db.execute("CREATE INDEX kpi_jobs_delivered ON kpi_jobs (delivered_day)")
    db.execute("CREATE INDEX kpi_jobs_completed ON kpi_jobs (completed_day)")
    db.execute("CREATE INDEX kpi_jobs_open ON kpi_jobs (open) WHERE open = 1")
    db.execute("""CREATE TABLE kpi_stages (
        job TEXT NOT NULL, stage TEXT NOT NULL, route TEXT, alloy TEXT, status TEXT, ready INTEGER,
        entered_at TEXT, ready_at TEXT, started_at TEXT, started_by TEXT, started_bench TEXT, first_started_at TEXT,
        first_by TEXT, finished_by TEXT, done_at TEXT, runs INTEGER, reworks INTEGER, counted_ftr INTEGER,
        active INTEGER, PRIMARY KEY (job, stage)) WITHOUT ROWID""")
    # the board reads only the pieces on it: a partial index keeps that a few thousand rows at most
    db.execute("CREATE INDEX kpi_stages_board ON kpi_stages (stage, ready_at) WHERE active = 1")
    db.execute("""CREATE TABLE kpi_stage_daily (
        day TEXT NOT NULL, stage TEXT NOT NULL, route TEXT NOT NULL, person TEXT NOT NULL,
        arrived INTEGER NOT NULL DEFAULT 0, started INTEGER NOT NULL DEFAULT 0, withdrawn INTEGER NOT NULL DEFAULT 0,
        done INTEGER NOT NULL DEFAULT 0, ftr INTEGER NOT NULL DEFAULT 0, lead_s REAL NOT NULL DEFAULT 0,
        wait_s REAL NOT NULL DEFAULT 0, work_s REAL NOT NULL DEFAULT 0,
        PRIMARY KEY (day, stage, route, person)) WITHOUT ROWID""")


def _m002_board(db: sqlite_utils.Database) -> None:
    # The board and the report read kpi_stages alone: the job's due date, design, priority and hold
    # are kept on each of its stage rows, and the stages still to do on the job's row.
    for col, kind in (("due", "TEXT"), ("design", "TEXT"), ("priority", "TEXT"), ("on_hold", "INTEGER")):
        db.execute(f"ALTER TABLE kpi_stages ADD COLUMN {col} {kind}")
    db.execute("ALTER TABLE kpi_jobs ADD COLUMN remaining TEXT")
    db.execute("""UPDATE kpi_stages SET (due, design, priority, on_hold) =
        (SELECT j.due, j.design, j.priority, j.on_hold FROM kpi_jobs j WHERE j.job = kpi_stages.job)""")
    db.execute("""UPDATE kpi_jobs SET remaining = (SELECT group_concat(s.stage, ' ') FROM kpi_stages s
        WHERE s.job = kpi_jobs.job AND s.done_at IS NULL)""")
    db.execute("CREATE INDEX kpi_stages_late ON kpi_stages (stage, due) WHERE active = 1")


def _m003_floor(db: sqlite_utils.Database) -> None:
    # Covering indexes: the board's counts, WIP ages, promises and first-time-right by route are read
    # from index entries alone, never from the wide rows (tens of thousands of pieces on a busy floor).
    db.execute("ALTER TABLE kpi_stages ADD COLUMN ready_s INTEGER")  # ready_at as epoch seconds: ages without parsing
    db.execute("UPDATE kpi_stages SET ready_s = CAST(strftime('%s', ready_at) AS INTEGER) WHERE ready_at IS NOT NULL")
    db.execute("""CREATE INDEX kpi_stages_floor ON kpi_stages
        (stage, ready, status, on_hold, due, alloy, route, started_by, ready_s, job, active) WHERE active = 1""")
    db.execute("DROP INDEX kpi_jobs_open")
    db.execute("DROP INDEX kpi_jobs_promised")
    db.execute("DROP INDEX kpi_jobs_completed")
    db.execute("CREATE INDEX kpi_jobs_floor ON kpi_jobs (open, due, on_hold, alloy, route) WHERE open = 1")
    db.execute("CREATE INDEX kpi_jobs_promise ON kpi_jobs (promised, client_delays, delivered_day, due, client_delay_days)")
    db.execute("CREATE INDEX kpi_jobs_done ON kpi_jobs (completed_day, route, reworks)")
    db.execute("CREATE INDEX kpi_stage_daily_stage ON kpi_stage_daily (stage, day)")


def _m004_promises(db: sqlite_utils.Database) -> None:
    # The promise (kpi_jobs.due, and each stage row's copy) moves with client-initiated delays only: a
    # shop's delay leaves it standing. A client delay recorded after the promise had passed is late
    # work relabelled, counted apart (relabelled) and never excluded from CDPA. The rows of delayed
    # jobs are set again from their delays, days read in UTC here; `db rebuild` folds them in the
    # site's own time zone.
    conn = db.conn
    conn.execute("ALTER TABLE kpi_jobs ADD COLUMN relabelled INTEGER NOT NULL DEFAULT 0")
    conn.execute("DROP INDEX IF EXISTS kpi_jobs_promise")
    conn.execute("CREATE INDEX kpi_jobs_promise ON kpi_jobs"
                 " (promised, client_delays, relabelled, delivered_day, due, client_delay_days)")
    firsts = dict(conn.execute("SELECT job, promised FROM kpi_jobs WHERE client_delays + shop_delays > 0").fetchall())
    if not firsts:
        return
    delays: dict[str, list[tuple]] = {}
    for job, ts, payload in conn.execute(f"SELECT job, ts, payload FROM events WHERE type = ? ORDER BY {CANON}",
                                         (k.JOB_DELAYED,)):
        if job in firsts:
            p = ev.loads(payload)
            delays.setdefault(job, []).append((p.get("by"), p.get("new_due"), ts))
    for job, first in firsts.items():
        st = k.due_state(first, delays.get(job, ()), date.min)
        days = (st.promise - st.first).days if st.promise and st.first else 0
        conn.execute("UPDATE kpi_jobs SET due = ?, client_delay_days = ?, relabelled = ? WHERE job = ?",
                     (st.due or first, days, st.relabelled, job))
        conn.execute("UPDATE kpi_stages SET due = ? WHERE job = ?", (st.due or first, job))


def _m005_worklist(db: sqlite_utils.Database) -> None:
    # A bench's worklist is read from these stage rows (they hold the promise, the priority and the hold):
    # indexes of just the waiting rows, in the worklist's order, give each stage's first rows without
    # reading or sorting the others, however many pieces wait (cards.worklist).
    db.execute("CREATE INDEX kpi_stages_waiting ON kpi_stages (stage, (priority = 'rush') DESC, due, job)"
               " WHERE active = 1 AND ready = 1 AND on_hold = 0")
    db.execute("CREATE INDEX kpi_stages_to_verify ON kpi_stages (stage, (priority = 'rush') DESC, due, job)"
               " WHERE active = 1 AND status = 'done' AND on_hold = 0")
    db.execute("CREATE INDEX kpi_stages_busy ON kpi_stages (stage, started_by) WHERE active = 1 AND status = 'in progress'")


def _m007_versions(db: sqlite_utils.Database) -> tuple[str, ...]:
    # Each job is folded on the route of its own version of the standards (kept here, as job.created and
    # standards.moved say), not on the routes of the config as it stands: where a version was ever
    # proposed the tables are derived again; elsewhere every job runs under version 1 and they stand.
    db.execute(f"ALTER TABLE kpi_jobs ADD COLUMN standards INTEGER NOT NULL DEFAULT {dstd.FIRST}")
    versioned = db.execute("SELECT 1 FROM events WHERE type IN (?, ?) LIMIT 1",
                           [dstd.STANDARDS_ADOPTED, dstd.STANDARDS_PROPOSED]).fetchone()
    return FlowProjector.tables if versioned else ()


class FlowProjector(ChunkedRebuild):
    """Keeps kpi_jobs, kpi_stages and kpi_stage_daily in step with the journal.

    Each job is folded on the routes of the version of the standards it runs under (kpi_jobs.standards):
    that version's documents are read from the journal's own events (``std.recorded_docs``), so a
    rebuild's helper process, which has only the journal to read, folds them the same."""

    rebuild_apart = True  # reads only its own tables and the versions' events: a rebuild may fold it apart
    rebuild_types = _RELEVANT | _VERSION_DOCS  # the events it folds
    rebuild_weight = 10  # its share of a rebuild's work, measured (see Journal.rebuild)

    tables = ("kpi_jobs", "kpi_stages", "kpi_stage_daily")

    def __init__(self, site: Site) -> None:
        self.site = site
        self.settings = metal_mod.metal_settings(site)
        self.needs_verify = frozenset(s.id for s in site.stages.values() if s.verify)
        self._book = k.RouteBook.of(site.routes, self.needs_verify)
        self._books: dict[int, k.RouteBook] = {}  # version -> its routes, once found
        self._unknown: set[int] = set()  # versions looked for and not recorded: the config's routes until they are
        self._events: sqlite3.Connection | None = None  # where the versions' events are read (else the fold's own)

    def __getstate__(self) -> dict[str, Any]:
        # pickled for a rebuild's helper process: it finds the versions again from the journal it reads
        state = dict(self.__dict__)
        state.update(_books={}, _unknown=set(), _events=None)
        state.pop("_rebuilding", None)
        return state

    def rebuild_journal(self, conn: sqlite3.Connection) -> None:
        """In a rebuild's helper process: the journal (read-only) beside the scratch tables it writes."""
        self._events = conn

    def book(self, version: int, conn: sqlite3.Connection) -> k.RouteBook:
        """The routes of a version of the standards; the config's while the journal has no such version."""
        got = self._books.get(version)
        if got is not None:
            return got
        if version in self._unknown:
            return self._book
        docs = std.recorded_docs(self._events or conn, version)
        if docs is None:
            self._unknown.add(version)
            return self._book
        site = std.site_of_docs(self.site, docs)
        got = self._books[version] = (self._book if site is self.site else
                                      k.RouteBook.of(site.routes, {s.id for s in site.stages.values() if s.verify}))
        return got

    def _seen(self, events: Iterable[ev.Event]) -> None:
        """A version recorded: looked for again when a job of it is folded."""
        if self._unknown:
            for e in events:
                if e.type in _VERSION_DOCS:
                    self._unknown.discard(e.payload.get("version"))

    def day_of(self, ts: str) -> str:
        return m.local_day(ts, self.settings.tz)

    def _flow(self, conn: sqlite3.Connection) -> k.Flow:
        return k.Flow(self._book, day_of=self.day_of, load=lambda j: _load_jobs(conn, [j]).get(j),
                      book_of=lambda n: self.book(n, conn))

    def apply(self, conn: sqlite3.Connection, events: list[ev.Event]) -> None:
        self._seen(events)
        relevant = [e for e in events if e.type in _RELEVANT and e.job]
        if not relevant:
            return
        flow = self._flow(conn)
        created = {e.job for e in relevant if e.type == ev.JOB_CREATED}
        wanted = list({e.job for e in relevant if e.job not in created})
        if wanted:
            found = _load_jobs(conn, wanted)
            for j in wanted:
                got = found.get(j)
                flow.jobs[j] = got[0] if got else None
                if got:
                    flow.stages[j] = got[1]
        for e in relevant:
            flow.handle(e)
        self._write(conn, flow)

    # -- rebuilding: one flow for every chunk, holding only what the chunk touches --
    # At the end of each chunk the rows it touched are written; jobs it did not touch, and every
    # day's counters, leave memory and are read back from their rows when an event touches them
    # again. A counter goes on from its stored value, so its sums are added in the same order as in
    # one pass and come out the same to the last bit.
    def rebuild_begin(self, conn: sqlite3.Connection) -> None:
        super().rebuild_begin(conn)
        self._rebuilding: k.Flow | None = self._flow(conn)
        self._rebuilding.tally.load = lambda key: _load_tally(conn, key)

    def rebuild_feed(self, conn: sqlite3.Connection, events: Iterable[ev.Event]) -> None:
        flow = self._rebuilding
        assert flow is not None
        handle = flow.handle
        for e in events:
            if e.type in _RELEVANT and e.job:
                handle(e)
            elif e.type in _VERSION_DOCS:
                self._seen((e,))
        self._write(conn, flow, absolute=True)
        touched = flow.touched
        flow.jobs = {j: flow.jobs[j] for j in touched if j in flow.jobs}
        flow.stages = {j: flow.stages[j] for j in touched if j in flow.stages}
        flow.touched = set()
        flow.tally.rows = {}

    def rebuild_end(self, conn: sqlite3.Connection) -> None:
        assert self._rebuilding is not None
        self._rebuilding = None

    def footprint(self, e: ev.Event) -> set[tuple[str, str | None]]:
        """Its job's rows (see store.journal._reordered); the day counters are sums that come out the
        same in any order (see domain.kpi.Tally)."""
        return {("job", e.job)} if e.job and e.type in _RELEVANT else set()

    def _write(self, conn: sqlite3.Connection, flow: k.Flow, absolute: bool = False) -> None:
        """The rows of the jobs the flow touched, and its counters: added to the stored ones, or with
        `absolute` (a rebuild, whose counters went on from the stored values) put in their place."""
        jrows, srows = [], []
        if flow.dropped:
            conn.executemany("DELETE FROM kpi_stages WHERE job = ? AND stage = ?",
                             [(j, s) for j, dropped in flow.dropped.items() for s in dropped])
            flow.dropped = {}
        for j in flow.touched:
            job = flow.jobs.get(j)
            if job is None:
                continue
            stages = flow.stages[j]
            route = flow.book_for(job).routes.get(job.route)
            order = route.stage_ids if route is not None else tuple(stages)
            remaining = " ".join(s for s in order if s in stages and stages[s].done_at is None)
            jrows.append((*_job_values(job),
                          self.day_of(job.delivered_at) if job.delivered_at else None,
                          self.day_of(job.completed_at) if job.completed_at else None,
                          1 if job.completed_at is None else 0, remaining))
            for st in stages.values():
                srows.append((*_stage_values(st), job.route, job.alloy, flow.active(job, st), job.due, job.design,
                              job.priority, job.on_hold, int(k._epoch(st.ready_at)) if st.ready_at else None))
        if jrows:
            conn.executemany(f"INSERT OR REPLACE INTO kpi_jobs ({', '.join(_JOB_COLS)}, delivered_day, completed_day, open,"
                             f" remaining) VALUES ({','.join('?' * (len(_JOB_COLS) + 4))})", jrows)
        if srows:
            conn.executemany(f"INSERT OR REPLACE INTO kpi_stages ({', '.join(_STAGE_COLS)}, route, alloy, active, due,"
                             f" design, priority, on_hold, ready_s) VALUES ({','.join('?' * (len(_STAGE_COLS) + 8))})",
                             srows)
        if flow.tally.rows:
            # the times' sums rounded to the millisecond as in Tally.add: the same in any order
            sets = ", ".join(f"{c} = round({c} + excluded.{c}, 3)" if c.endswith("_s") else f"{c} = {c} + excluded.{c}"
                             for c in _TALLY_COLS)
            conn.executemany(f"INSERT {'OR REPLACE ' if absolute else ''}INTO kpi_stage_daily (day, stage, route, person,"
                             f" {', '.join(_TALLY_COLS)}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
                             + ("" if absolute else f" ON CONFLICT (day, stage, route, person) DO UPDATE SET {sets}"),
                             [(*key, *v) for key, v in flow.tally.rows.items()])


def _load_tally(conn: sqlite3.Connection, key: tuple) -> list[float]:
    """A day's counters of one stage, route and person as stored (zeros when there are none yet)."""
    row = conn.execute(f"SELECT {', '.join(_TALLY_COLS)} FROM kpi_stage_daily WHERE day = ? AND stage = ? AND route = ?"
                       " AND person = ?", key).fetchone()
    return list(row) if row is not None else [0, 0, 0, 0, 0, 0.0, 0.0, 0.0]


def _load_jobs(conn: sqlite3.Connection, jobs: list[str]) -> dict[str, tuple[k.JobRow, dict[str, k.StageRow]]]:
    out: dict[str, tuple[k.JobRow, dict[str, k.StageRow]]] = {}
    for i in range(0, len(jobs), 900):
        chunk = jobs[i:i + 900]
        q = ",".join("?" * len(chunk))
        for row in conn.execute(f"SELECT {', '.join(_JOB_COLS)} FROM kpi_jobs WHERE job IN ({q})", chunk):
            out[row[0]] = (k.JobRow(*row), {})
        for row in conn.execute(f"SELECT {', '.join(_STAGE_COLS)} FROM kpi_stages WHERE job IN ({q})", chunk):
            if row[0] in out:
                out[row[0]][1][row[1]] = k.StageRow(*row)
    return out


# --- the verb ---------------------------------------------------------------------------------
def delay_job(shop: Shop, job_id: str, *, by: str, new_due: str, reason: str, person_id: str | None,
              bench_id: str | None = None, supervisor: str | None = None, pin: str | None = None) -> ev.Event:
    """Move a job's due date at the client's or the shop's request, recorded by the person named.

    A client-initiated delay moves the promise and takes the job out of CDPA (counted apart). One
    recorded after the promise had passed relabels late work: it needs a supervisor (`supervisor`:
    their badge, and their PIN where the site asks for one) and a reason, and the job stays in CDPA,
    judged against its first promise, counted apart as "late, then relabelled". A shop-initiated
    delay names the shop's own new date: the promise stands, and so does its lateness.
    """
    if by not in k.DELAY_BY:
        raise Refused(f"a delay is initiated by the client or the shop, not {by!r}")
    try:
        d = date.fromisoformat(str(new_due).strip())
    except ValueError:
        raise Refused(f"new due date {new_due!r} is not a date like 2026-12-24") from None
    if not reason.strip():
        raise Refused("say why the due date moves")
    if not (person_id or "").strip():
        raise Refused("say who records the delay: a delay names the person who records it")
    shop.person(person_id or "")
    if bench_id is not None:
        shop.bench(bench_id)
    job = shop.job(job_id)
    due = cards.due_in(shop, job)
    if by == "client" and due.promise and d <= due.promise:
        raise Refused(f"{job.id} is due {due.due}; a delay moves the date later, not to {d}")
    today = today_of(shop)
    _, relabels = k.moved(due.promise, by, d, today)
    payload: dict = {"by": by, "new_due": d.isoformat(), "old_due": due.due, "reason": reason.strip()}
    if relabels and not (supervisor or "").strip():
        late = (today - due.promise).days if due.promise else 0
        raise Refused(f"{job.id} was promised for {due.due} and is {late} day{'s' if late != 1 else ''} late: a client "
                      "delay recorded now relabels late work and needs a supervisor's badge (and PIN), and a reason;"
                      " nothing was changed")
    if (supervisor or "").strip():
        sup = supervisor_by_badge(shop, supervisor or "")
        judge.check_pin(shop, sup, pin, bench_id)
        payload["supervisor"] = sup.id
    if relabels and due.promise:
        payload["late_days"] = (today - due.promise).days
    return shop.journal.append(shop.event(k.JOB_DELAYED, job.id, person_id, bench_id, payload))


def supervisor_by_badge(shop: Shop, badge: str) -> Person:
    """The supervisor whose badge this is (its code, B2001, or the card's payload, FK:P:B2001)."""
    code = badge.strip()
    if code.upper().startswith(payloads.PREFIX + ":"):
        try:
            p = payloads.decode(code)
        except payloads.NotOurCode as exc:
            raise Refused(str(exc)) from None
        if p.kind is not payloads.Kind.BADGE:
            raise Refused(f"that is a {p.kind.name.lower().replace('_', ' ')} code, not a supervisor's badge")
        code = p.value
    person = shop.site.person_by_badge(code)
    if person is None:
        raise Refused(f"badge {code} is not known here")
    if not person.is_supervisor:
        raise Refused(f"{person.name} is not a supervisor: a late client delay needs a supervisor's badge")
    return person


def describe_delay(shop: Shop, e: ev.Event) -> str:
    p = e.payload
    if p.get("by") == "client":
        text = f"due date moved from {p.get('old_due')} to {p.get('new_due')} at the client's request"
        if p.get("late_days"):
            n = p["late_days"]
            text += f", {n} day{'s' if n != 1 else ''} after the promise had passed (late, then relabelled)"
    else:
        text = f"the shop moved its own date to {p.get('new_due')} (the promise of {p.get('old_due')} stands)"
    if p.get("supervisor"):
        text += f", approved by {shop.name(p['supervisor'])}"
    return f"{text}: {p.get('reason', '')}"


# --- reading: the board -----------------------------------------------------------------------
@dataclass(frozen=True)
class BoardPiece:
    job: str
    stage: str
    status: str  # waiting, in progress, to verify, rework
    design: str
    alloy: str
    route: str
    due: str
    priority: str
    on_hold: bool
    holder: str | None
    bench: str | None
    age_h: float  # since it entered the stage
    days_left: int | None
    late: bool
    reopened: str = ""  # a stage done, then reopened by a rework before it: "Polishing was sent back"


@dataclass(frozen=True)
class Lane:
    stage: str
    name: str
    waiting: int
    in_progress: int
    to_verify: int
    on_hold: int
    late: int
    oldest: tuple[BoardPiece, ...]
    late_pieces: tuple[BoardPiece, ...]

    @property
    def count(self) -> int:
        return self.waiting + self.in_progress + self.to_verify


@dataclass(frozen=True)
class Board:
    lanes: tuple[Lane, ...]
    total: int
    late: int
    on_hold: int
    seq: int  # the journal position it reflects
    filters: dict[str, str] = field(default_factory=dict)


def stage_order(site: Site) -> list[str]:
    """Stages in the order pieces meet them along the routes (the catalogue's order breaks ties)."""
    cat = {s: i for i, s in enumerate(site.stages)}
    before: dict[str, set[str]] = {s: set() for s in site.stages}
    for route in site.routes.values():
        for step in route.steps:
            before.setdefault(step.stage, set()).update(a for a in step.after if a in cat)
    out: list[str] = []
    placed: set[str] = set()
    while len(out) < len(cat):
        ready = [s for s in cat if s not in placed and before.get(s, set()) <= placed]
        if not ready:  # routes that disagree on the order: the rest in catalogue order
            ready = [s for s in cat if s not in placed]
        nxt = min(ready, key=cat.__getitem__)
        out.append(nxt)
        placed.add(nxt)
    return out


def now_of(shop: Shop) -> datetime:
    return shop.clock().astimezone(timezone.utc)


def today_of(shop: Shop) -> date:
    """The site's today in its time zone: the day every due state is judged on (see cards.site_today)."""
    return cards.site_today(shop)


def board(shop: Shop, *, bench: str | None = None, person: str | None = None, alloy: str | None = None,
          route: str | None = None, per_lane: int = 5) -> Board:
    """A lane per stage: counts, the oldest pieces and the late ones; filtered by bench, person, alloy, route.

    Counts come from one grouped query and each lane's pieces from a query that reads only the few
    rows it shows (the partial indexes on the pieces on the floor), so a refresh costs the same with
    fifty pieces on the floor or fifty thousand.
    """
    site = shop.site
    if bench and bench not in site.benches:
        raise Refused(f"no bench {bench!r}; benches: {', '.join(site.benches)}")
    if person and person not in site.people:
        raise Refused(f"no person {person!r} in people.toml")
    if alloy and alloy not in site.alloys:
        raise Refused(f"unknown alloy {alloy!r}; alloys: {', '.join(site.alloys)}")
    if route and route not in site.routes:
        raise Refused(f"unknown route {route!r}; routes: {', '.join(site.routes)}")
    shown = stage_order(site)
    if bench:
        shown = [sid for sid in shown if sid in site.benches[bench].stages]
    w = Where("active = 1")
    if bench:
        w.add(f"stage IN ({','.join('?' * len(shown))})" if shown else "0", *shown)
    w.given(person, "status IN ('in progress', 'done') AND started_by = ?")
    w.given(alloy, "alloy = ?").given(route, "route = ?")
    cond, params = w.cond(), w.params
    now = now_of(shop)
    today = today_of(shop)
    t = today.isoformat()
    q = shop.journal.query
    seq = journal_position(shop)
    counts: dict[str, list[int]] = {}
    floor = "kpi_stages INDEXED BY kpi_stages_floor"
    # COUNTs grouped in index order, far cheaper per piece than sums of expressions; the late ones counted in
    # the same pass (one scan of the floor's index instead of two: 49 ms against 69 ms on the 100,000-job site)
    for stage, ready, status, hold, n, late_n in q(
            f"SELECT stage, ready, status, on_hold, COUNT(*), COUNT(CASE WHEN due < ? THEN 1 END) FROM {floor}"
            f" WHERE {cond} GROUP BY stage, ready, status, on_hold", [t, *params]):
        c = counts.setdefault(stage, [0, 0, 0, 0, 0])
        c[0 if ready else 1 if status == k.IN_PROGRESS else 2] += n
        c[3] += n if hold else 0
        c[4] += late_n
    if bench or person:
        total, late_jobs, held_jobs = q(
            "SELECT COUNT(DISTINCT job), COUNT(DISTINCT CASE WHEN due < ? THEN job END),"
            f" COUNT(DISTINCT CASE WHEN on_hold THEN job END) FROM {floor} WHERE {cond}", [t, *params])[0]
    else:
        # every open job is somewhere on the floor: count jobs, not their stage rows
        jw, jp = ["open = 1"], []
        for col, v in (("alloy", alloy), ("route", route)):
            if v:
                jw.append(f"{col} = ?")
                jp.append(v)
        jc = " AND ".join(jw)
        total = q(f"SELECT COUNT(*) FROM kpi_jobs WHERE {jc}", jp)[0][0]
        late_jobs = q(f"SELECT COUNT(*) FROM kpi_jobs WHERE {jc} AND due < ?", [*jp, t])[0][0]
        held_jobs = q(f"SELECT COUNT(*) FROM kpi_jobs WHERE {jc} AND on_hold = 1", jp)[0][0]
    cols = "job, stage, status, ready, ready_at, started_by, started_bench, design, alloy, route, due, priority, on_hold"

    def piece(r: tuple) -> BoardPiece:
        job, stage, status, ready, ready_at, by, sbench, design, al, rt, due, prio, hold = r
        shown_status = ("rework" if status == k.REWORK else "waiting") if ready else (
            "to verify" if status == k.DONE else status)
        age = (now - k.parse_ts(ready_at)).total_seconds() / 3600 if ready_at else 0.0
        left, late = k.lateness(k.as_date(due), today)  # the pieces on the board are open
        working = status in (k.IN_PROGRESS, k.DONE)
        why = ""
        if status == k.REWORK:  # sent back, or reopened by a rework before it: the job's own state says which
            up = shop.job(job).stage(stage).reopened
            why = f"{site.stages[up].name if up in site.stages else up} was sent back" if up else ""
        return BoardPiece(job, stage, shown_status, design or "", al or "", rt or "", due or "", prio or "normal",
                          bool(hold), by if working else None, sbench if working else None, round(max(0.0, age), 1),
                          left, late, why)

    lanes = []
    for sid in shown:
        c = counts.get(sid, [0, 0, 0, 0, 0])
        oldest: tuple[BoardPiece, ...] = ()
        late: tuple[BoardPiece, ...] = ()
        if sum(c[:3]):
            oldest = tuple(piece(r) for r in q(f"SELECT {cols} FROM kpi_stages WHERE stage = ? AND {cond}"
                                               " ORDER BY ready_at, job LIMIT ?", [sid, *params, per_lane]))
        if c[4]:
            late = tuple(piece(r) for r in q(f"SELECT {cols} FROM kpi_stages WHERE stage = ? AND due < ? AND {cond}"
                                             " ORDER BY due, ready_at, job LIMIT ?", [sid, t, *params, per_lane]))
        lanes.append(Lane(sid, site.stages[sid].name, c[0], c[1], c[2], c[3], c[4], oldest, late))
    filters = {key: v for key, v in (("bench", bench), ("person", person), ("alloy", alloy), ("route", route)) if v}
    return Board(tuple(lanes), total or 0, late_jobs or 0, held_jobs or 0, seq, filters)


def journal_position(shop: Shop) -> int:
    """The journal's last sequence number: cheap to ask, so screens poll it to refresh when events arrive."""
    return shop.journal.position()


# --- reading: the KPI report --------------------------------------------------------------------
@dataclass(frozen=True)
class KpiReport:
    start: date
    end: date
    today: date
    yvr_alloy: list[k.YieldLine]
    yvr_method: list[k.YieldLine]
    yvr_total: k.YieldLine
    ftrr_overall: k.RateLine
    ftrr_stage: list[k.RateLine]
    ftrr_person: list[k.RateLine]
    ftrr_route: list[k.RateLine]
    cdpa: k.DeliveryAdherence
    wip: list[k.WipLine]
    flows: list[k.StageFlow]
    throughput: k.Throughput
    bottleneck: k.Bottleneck
    at_risk: list[k.AtRisk]
    trees: list[m.Tree]
    promises: list[k.Promise] = field(default_factory=list)
    reconciliation: m.Reconciliation | None = None
    late_total: int = 0  # open jobs past their due date (at_risk lists the first of them)
    at_risk_total: int = 0  # open jobs not yet late whose remaining work ends after their due date
    risk_from: datetime | None = None  # at risk from the master schedule made then; None: from mean lead times


def report(shop: Shop, start: date, end: date, *, with_metal: bool = True, detail: bool = False,
           risk_window_days: int = 90, schedule: Any = None) -> KpiReport:
    """Every KPI over start..end (calendar days, inclusive); WIP, bottleneck age and risk are as of now.

    detail: also every promise of the period and every late job (for the report files), not only the counts.
    schedule: the master schedule (workshop.schedule.Master) the jobs at risk are read from; without one,
    the one kept in schedule.json if it is recent (workshop.outlook.kept_for_risk: a file read, no solve),
    else the remaining stages at their mean lead time.
    """
    site = shop.site
    d1, d2 = start.isoformat(), end.isoformat()
    order = stage_order(site)
    today = today_of(shop)
    now = now_of(shop)

    trees = metal_mod.trees(shop, start, end)
    batches = [k.CastBatch(t.id, t.alloy, t.method, m.grams(t.metal_in), m.grams(t.pieces), m.grams(t.sprue),
                           m.grams(t.buttons)) for t in trees]

    q = shop.journal.query
    # first time right, by stage and by person: passes completed right first time (counted against who
    # first finished them), and passes sent back, as the defect Pareto charges them (to the stage that
    # redoes the work and the person whose run was rejected, on the day of the rejection); jobs by route
    right_stage = q("SELECT stage, SUM(ftr) FROM kpi_stage_daily WHERE day BETWEEN ? AND ? GROUP BY stage", (d1, d2))
    right_person = q("SELECT person, SUM(ftr) FROM kpi_stage_daily WHERE day BETWEEN ? AND ? AND person != ''"
                     " GROUP BY person", (d1, d2))
    lo, hi = period_instants(shop, start, end)
    back_stage = q("SELECT origin, COUNT(*) FROM qc_defects WHERE ts >= ? AND ts < ? GROUP BY origin", (lo, hi))
    back_person = q("SELECT origin_person, COUNT(*) FROM qc_defects WHERE ts >= ? AND ts < ?"
                    " AND origin_person IS NOT NULL GROUP BY origin_person", (lo, hi))
    by_route = q("SELECT route, SUM(reworks = 0), COUNT(*) FROM kpi_jobs INDEXED BY kpi_jobs_done"
                 " WHERE completed_day BETWEEN ? AND ? GROUP BY route", (d1, d2))
    stage_lines = sorted(k.pass_lines(right_stage, back_stage), key=lambda r: order.index(r.key) if r.key in order else 999)
    person_lines = k.pass_lines(right_person, back_person)
    route_lines = k.rate_lines(by_route)
    overall = k.RateLine("all jobs", sum(r.good for r in route_lines), sum(r.total for r in route_lines))

    t = today.isoformat()
    # promises: excluded only for a client delay recorded in time (see k.promise_class)
    adherence = k.adherence_from_classes(
        q("SELECT client_delays > 0 AND relabelled = 0, delivered_day IS NOT NULL, COALESCE(delivered_day <= promised, 0),"
          " promised < ?, COALESCE(delivered_day <= due, 0), relabelled > 0, COUNT(*), SUM(client_delay_days)"
          " FROM kpi_jobs WHERE promised BETWEEN ? AND ? GROUP BY 1, 2, 3, 4, 5, 6", (t, d1, d2)),
        [r[0] for r in q("SELECT job FROM kpi_jobs WHERE promised BETWEEN ? AND ? AND (client_delays = 0 OR relabelled > 0)"
                         " AND ((delivered_day IS NOT NULL AND delivered_day > promised) OR (delivered_day IS NULL AND promised < ?))"
                         " ORDER BY promised, job LIMIT ?", (d1, d2, t, -1 if detail else 500))])
    promises = []
    if detail:
        for job, promised, due, delivered, cdel, cdays, rt, relabelled in q(
                "SELECT job, promised, due, delivered_day, client_delays, client_delay_days, route, relabelled"
                " FROM kpi_jobs WHERE promised BETWEEN ? AND ? ORDER BY promised, job", (d1, d2)):
            try:
                promises.append(k.Promise(job, date.fromisoformat(promised),
                                          date.fromisoformat(delivered) if delivered else None, bool(cdel), cdays or 0,
                                          date.fromisoformat(due) if due else None, rt or "", bool(relabelled)))
            except (TypeError, ValueError):
                continue

    now_s = int(now.timestamp())
    wip = k.wip_summary([(st, status, ready, n, hold, (age or 0) / 3600, (oldest or 0) / 3600) for st, status, ready, n, hold, age, oldest in q(
        "SELECT stage, status, ready, COUNT(*), SUM(on_hold), SUM(? - ready_s), MAX(? - ready_s)"
        " FROM kpi_stages INDEXED BY kpi_stages_floor WHERE active = 1 GROUP BY stage, ready, status",
        (now_s, now_s))], order)

    flow_rows = q("SELECT stage, SUM(arrived), SUM(started), SUM(withdrawn), SUM(done), SUM(ftr), SUM(lead_s),"
                  " SUM(wait_s), SUM(work_s) FROM kpi_stage_daily WHERE day BETWEEN ? AND ? GROUP BY stage", (d1, d2))
    flows = k.stage_flows(flow_rows, order)
    delivered = dict(q("SELECT delivered_day, COUNT(*) FROM kpi_jobs WHERE delivered_day BETWEEN ? AND ?"
                       " GROUP BY delivered_day", (d1, d2)))
    tp = k.throughput(delivered, start, end, sum(f.done for f in flows))
    neck = k.bottleneck(flows, wip)

    # at risk: the remaining stages of open jobs at the mean lead time seen over the last months
    w1 = (today - timedelta(days=risk_window_days)).isoformat()
    lead = {s: (ls / n / 3600) for s, ls, n in q(
        "SELECT stage, SUM(lead_s), SUM(done) FROM kpi_stage_daily WHERE day >= ? GROUP BY stage", (w1,)) if n}
    # late jobs are counted, and listed most late first (all of them for the files, the first 500 on screens);
    # the others are weighed against what is left to do
    late_total = q("SELECT COUNT(*) FROM kpi_jobs WHERE open = 1 AND due < ?", (t,))[0][0]
    candidates = []
    for sql, params in (("SELECT job, due, design, route, remaining FROM kpi_jobs WHERE open = 1 AND due < ?"
                         " ORDER BY due, job LIMIT ?", (t, -1 if detail else 500)),
                        ("SELECT job, due, design, route, remaining FROM kpi_jobs WHERE open = 1 AND due >= ?", (t,))):
        for job, due, design, rt, remaining in q(sql, params):
            try:
                candidates.append((job, date.fromisoformat(due[:10]), (remaining or "").split(), design or "", rt or ""))
            except (TypeError, ValueError):
                continue
    from floorkiosk.workshop import outlook  # the schedule's modules load when a report asks, not at start-up

    sched = schedule if schedule is not None else outlook.kept_for_risk(shop)
    if sched is not None:
        risk, unknown = outlook.at_risk(sched, candidates, today)
        # jobs added since the schedule was made: their remaining stages at the mean lead times
        risk = sorted(risk + k.at_risk(unknown, lead, today), key=lambda r: (r.days_left, -r.remaining_h, r.job))
    else:
        risk = k.at_risk(candidates, lead, today)
    risk_total = sum(1 for a in risk if not a.late)

    recon = metal_mod.reconcile(shop, start, end) if with_metal else None
    return KpiReport(start, end, today, k.yield_by(batches, "alloy"), k.yield_by(batches, "method"),
                     k.yield_total(batches), overall, stage_lines, person_lines, route_lines, adherence, wip, flows, tp,
                     neck, risk, trees, promises, recon, late_total, risk_total,
                     sched.made_at if sched is not None else None)


def summary_lines(shop: Shop, r: KpiReport) -> list[tuple[str, str]]:
    """The headline figures, in words, for the CLI, the KPI screen and the report's first table."""
    def pct(v: Decimal | None) -> str:
        return "—" if v is None else f"{v}%"

    stage_name = shop.site.stages[r.bottleneck.stage].name if r.bottleneck.stage in shop.site.stages else "—"
    return [
        ("Period", f"{r.start} to {r.end}"),
        ("YVR (all casting)", f"{pct(r.yvr_total.yvr)} over {r.yvr_total.trees} trees"),
        ("FTRR (jobs)", f"{pct(r.ftrr_overall.pct)} of {r.ftrr_overall.total} jobs completed"),
        ("CDPA", f"{pct(r.cdpa.cdpa)} of {r.cdpa.promised} promised deliveries"
                 f" ({r.cdpa.client_delayed} client-initiated delays excluded"
                 + (f"; {r.cdpa.relabelled} late, then relabelled: counted" if r.cdpa.relabelled else "") + ")"),
        ("Throughput", f"{r.throughput.delivered} delivered, {r.throughput.per_day}/day"),
        ("Work in progress", f"{sum(w.total for w in r.wip)} pieces at {len(r.wip)} stage{'s' if len(r.wip) != 1 else ''}"),
        ("Bottleneck", f"{stage_name}: {r.bottleneck.why}" if r.bottleneck.stage else f"none: {r.bottleneck.why}"),
        ("At risk", f"{r.at_risk_total} at risk, {r.late_total} late"
                    + (f" (from the master schedule of {r.risk_from.astimezone(metal_mod.settings_of(shop).tz):%Y-%m-%d %H:%M})"
                       if r.risk_from is not None else "")),
    ]


def period_instants(shop: Shop, start: date, end: date) -> tuple[str, str]:
    """The journal timestamps that bound the site's days start..end (inclusive) in its time zone: [lo, hi)."""
    tz = metal_mod.settings_of(shop).tz

    def stamp(d: date) -> str:
        t = datetime.combine(d, datetime.min.time(), tzinfo=tz).astimezone(timezone.utc)
        return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    return stamp(start), stamp(end + timedelta(days=1))


def parse_period(start: str | None, end: str | None, shop: Shop, days: int = 30) -> tuple[date, date]:
    return metal_mod.period(start, end, today_of(shop), days)


def history_range(shop: Shop) -> tuple[date, date]:
    """The first and last day the journal covers (for a report over everything)."""
    row = shop.journal.query("SELECT min(day), max(day) FROM kpi_stage_daily")[0]
    today = today_of(shop)
    first = date.fromisoformat(row[0]) if row[0] else today
    last = max(date.fromisoformat(row[1]) if row[1] else today, today)
    return first, last


def demo_after(shop: Shop) -> None:
    """Demo: a client-initiated delay asked for in time, a shop-initiated one on a late job (still late),
    and a late job relabelled a client delay with a supervisor's badge, so CDPA shows each."""
    t = today_of(shop).isoformat()
    rows = shop.journal.query("SELECT job, due FROM kpi_jobs WHERE open = 1 ORDER BY promised, job")
    not_due = [j for j, due in rows if due >= t]
    late = [j for j, due in rows if due < t]
    sup = next((p for p in shop.site.people.values() if p.is_supervisor and p.badge), None)

    def later(job: str, days: int) -> str:
        return (k.as_date(cards.due_in(shop, shop.job(job)).due) + timedelta(days=days)).isoformat()

    if not_due:
        delay_job(shop, not_due[0], by="client", new_due=later(not_due[0], 10),
                  reason="client still choosing the centre stone", person_id="eva")
    shop_job = late[0] if late else (not_due[1] if len(not_due) > 1 else None)
    if shop_job:
        delay_job(shop, shop_job, by="shop", new_due=later(shop_job, 10),
                  reason="casting re-scheduled after a flask cracked", person_id="eva")
    if len(late) > 1 and sup is not None:
        delay_job(shop, late[1], by="client", new_due=(today_of(shop) + timedelta(days=7)).isoformat(),
                  reason="client away; asked to collect next week", person_id="dev", supervisor=sup.badge, pin=sup.pin)


def _m006_ms_sums(db: sqlite_utils.Database) -> tuple[str, ...]:
    # The day counters' times are now summed to the millisecond (see domain.kpi.Tally), the same in any
    # order on every bench: the tables are derived again from the journal when the site is next opened.
    return FlowProjector.tables


AREA = Area("kpi", projectors=lambda site: [FlowProjector(site)],
            migrations=(("kpi_001_flow", _m001_flow), ("kpi_002_board", _m002_board), ("kpi_003_floor", _m003_floor),
                        ("kpi_004_promises", _m004_promises), ("kpi_005_worklist", _m005_worklist),
                        ("kpi_006_ms_sums", _m006_ms_sums), ("kpi_007_versions", _m007_versions)),
            describers={k.JOB_DELAYED: describe_delay})
