"""The journal: events appended durably to SQLite (WAL), hash-chained per origin, with derived tables.

One writer discipline: every write is a `BEGIN IMMEDIATE` transaction that appends the events and
updates every projector's tables, then commits with a full fsync (synchronous=FULL), so what the
screen acknowledges is on disk and the derived state never disagrees with the journal.

With a PostgreSQL hub, events also carry `hub_seq`, their place in the hub's one order. The derived
tables are always the fold of the events in *canonical order*: acknowledged events by hub_seq, then
this kiosk's pending events in the order they were recorded. Without a hub no event has a hub_seq and
the canonical order is simply the journal order, as before.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import re
import shutil
import sqlite3
import threading
import time
from contextlib import contextmanager, nullcontext
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite_utils  # the migrations' type; the library is loaded only to migrate

from floorkiosk.domain import events as ev
from floorkiosk.errors import FloorkioskError
from floorkiosk.store.apart import Helper
from floorkiosk.store.projection import Projector, admitted
from floorkiosk.store.rows import (CANON, EVENT_COLS, AuditProblem, ChainAudit, audit_rows, event_by_id, event_of,
                                  malformed, read_chunks)
from floorkiosk.store import tablecheck
from floorkiosk.store.schema import migrate
from floorkiosk.store.tablecheck import TableCheck

def _m_hub_order(db: sqlite_utils.Database) -> None:
    # hub_seq: the event's place in the hub's order, NULL while it is only here (pending).
    db.execute("ALTER TABLE events ADD COLUMN hub_seq INTEGER")
    db.execute("CREATE UNIQUE INDEX events_hub_seq ON events(hub_seq) WHERE hub_seq IS NOT NULL")
    db.execute("CREATE INDEX events_pending ON events(origin, origin_seq) WHERE hub_seq IS NULL")
    db.execute("CREATE TABLE sync_state (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    # Events the guardrails refuse when folded in the hub's order (hub sites only); derived.
    db.execute("""CREATE TABLE conflicts (
        event_id TEXT PRIMARY KEY, job TEXT NOT NULL, type TEXT NOT NULL, stage TEXT, person TEXT, bench TEXT,
        origin TEXT NOT NULL, ts TEXT NOT NULL, reasons TEXT NOT NULL, status TEXT NOT NULL,
        resolved_by TEXT, resolved_at TEXT, note TEXT, resolution TEXT) WITHOUT ROWID""")
    db.execute("CREATE INDEX conflicts_status ON conflicts(status, ts)")


# The one change ever made to a stored event: the hub's acknowledgement fills in its hub_seq, once.
_EVENT_FIXED = " AND ".join(f"NEW.{c} IS OLD.{c}" for c in
                            ("seq", "id", "origin", "origin_seq", "type", "job", "person", "bench", "ts", "payload",
                             "prev_hash", "hash"))
TRIGGERS = {
    "events_no_update": f"""CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
        WHEN NOT (OLD.hub_seq IS NULL AND {_EVENT_FIXED})
        BEGIN SELECT RAISE(ABORT, 'events are append-only: an event cannot be changed'); END""",
    "events_no_delete": """CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
        BEGIN SELECT RAISE(ABORT, 'events are append-only: an event cannot be deleted'); END""",
}


def _m_append_only(db: sqlite_utils.Database) -> None:
    # A second wall beside the hash chains: SQLite itself refuses to change or delete an event.
    for sql in TRIGGERS.values():
        db.execute(sql)


# Applied by every journal, before the migrations of the extensions.
JOURNAL_MIGRATIONS = [("003_hub_order", _m_hub_order), ("007_events_append_only", _m_append_only)]


@dataclass(frozen=True)
class HubIngest:
    """What a pulled batch changed: events new here, own events acknowledged, jobs folded again."""

    new: list[ev.Event]
    acked: int
    refolded: set[str]


# SQLite's page cache, in KiB (negative in the pragma): the default 2 MB is small beside a journal of
# millions of events and its tables; a rebuild, which touches every page of them, takes more.
CACHE_KIB = -32_768
REBUILD_CACHE_KIB = -524_288
FOLD_CACHE_KIB = -131_072  # the fold from a snapshot: a few events onto it, its tables compared by SQLite


# A batch at least this large is folded with the cycle collector paused (see gc_paused).
BULK = 500
# A journal at least this large is rebuilt with a second process folding some projectors (store.apart).
APART_MIN = 200_000
# How long, at least, a rebuild waits for that process once its own share is done (seconds).
HELPER_PATIENCE = 120.0
# How many events a rebuild folds at a time. At the end of each chunk the projectors write what it
# touched and forget what it did not, so what they hold is that of the jobs at work (see each one).
REBUILD_CHUNK = 20_000


def _reads_any(p: Projector, types: set[str]) -> bool:
    """Whether the projector folds any of these event types (all, if it does not say which it folds).

    A supervisor's decision on a conflict may stand for an event of any type (see projection.admitted).
    """
    if not types:
        return False
    wanted = getattr(p, "rebuild_types", None)
    return wanted is None or ev.CONFLICT_RESOLVED in types or not wanted.isdisjoint(types)


def _reordered(p: Projector, types: set[str], moved: list[ev.Event], fresh: list[ev.Event]) -> bool:
    """Whether the events applied here that now stand after new ones (`moved`, of these types) may have
    given this projector other rows than the hub's order gives (besides a moved event that the job
    projector now holds back as a conflict, or no longer: that one always counts, see ingest_hub).

    A projector may say what of its state each event reads or sets beyond sums that come out the
    same in any order (``footprint(event)``: a set of keys, such as a job or a bench's stock): events
    whose footprints do not meet give the same rows in either order. Without one, any moved event it
    folds counts. A supervisor's decision stands for an event of any type: it always counts.
    """
    footprint = getattr(p, "footprint", None)
    if footprint is None or ev.CONFLICT_RESOLVED in types:
        return True
    mine: set = set()
    for e in moved:
        mine |= footprint(e)
    if not mine:
        return False
    return any(not mine.isdisjoint(footprint(e)) for e in fresh)


def _helper_share(feeders: list, audit: bool = False) -> list:
    """Which projectors a rebuild's helper process folds: those that may be folded apart
    (``rebuild_apart``), chosen so that the two processes finish closest together.

    Each projector says what share of a rebuild's work it is (``rebuild_weight``: microseconds per
    event, as measured on the 2-million-event benchmark site); reading the events, which both
    processes do, is left out. The job projector always stays here: on a hub site the others are
    judged against the conflicts it finds.
    """
    movable = [p for p in feeders[1:] if getattr(p, "rebuild_apart", False)]
    weight = {id(p): getattr(p, "rebuild_weight", 1) for p in feeders}
    if audit:
        # checking the derived tables (where the job projector also judges every event by the
        # guardrails), the shares measured there (``audit_weight``) where a projector gives one
        weight = {id(p): getattr(p, "audit_weight", weight[id(p)]) for p in feeders}
    total = sum(weight.values())
    best, best_span = [], total
    for mask in range(1, 1 << len(movable)):
        share = [p for i, p in enumerate(movable) if mask >> i & 1]
        there = sum(weight[id(p)] for p in share)
        span = max(total - there, there)
        if span < best_span:
            best, best_span = share, span
    return best


@contextmanager
def gc_paused() -> Iterator[None]:
    """Python's cycle collector off while a bulk fold runs.

    A fold allocates millions of small dicts and objects that reference counting frees; none make
    cycles. Left on, the collector walks every live object again and again (the job states of a
    whole site during a rebuild), which took more time than decoding the events.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def connect(path: str | Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    # FULL: the WAL is fsynced at every commit, so an acknowledged event survives a power cut.
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    conn.execute(f"PRAGMA cache_size={CACHE_KIB}")
    return conn


class JournalFault(FloorkioskError):
    """The journal could not record: nothing was saved. The message says why in plain words."""


# SQLite's primary result codes for a file that cannot be written (sqlite3.Error.sqlite_errorcode & 0xff)
_SQLITE_PERM, _SQLITE_READONLY, _SQLITE_IOERR, _SQLITE_FULL, _SQLITE_CANTOPEN = 3, 8, 10, 13, 14
_ROOM = 1 << 20  # less free space than this on the journal's disk, and a failed write is the disk being full


def _file_id(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


def _disk_full(folder: Path) -> bool:
    try:
        st = os.statvfs(folder)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < _ROOM


def fault_of(path: Path, exc: BaseException) -> JournalFault | None:
    """The plain words for a write the journal's file refused (disk full, read-only, an I/O error),
    or None for any other error (a bug, a guardrail), which is raised as it is."""
    code = getattr(exc, "sqlite_errorcode", None)
    if not isinstance(exc, sqlite3.Error) or code is None:
        if isinstance(exc, OSError) and exc.errno is not None:
            code = {28: _SQLITE_FULL, 30: _SQLITE_READONLY, 13: _SQLITE_READONLY}.get(exc.errno)
        if code is None:
            return None
    code &= 0xFF
    if code not in (_SQLITE_PERM, _SQLITE_READONLY, _SQLITE_IOERR, _SQLITE_FULL, _SQLITE_CANTOPEN):
        return None
    if code == _SQLITE_FULL or _disk_full(path.parent):
        return JournalFault(f"The disk is full — nothing was saved. Call a supervisor to free space on the disk of "
                            f"{path.parent}; work goes on by itself once there is room")
    # access() answers for the filesystem too (EROFS), also where permissions do not bind (root)
    unwritable = not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK))
    if code in (_SQLITE_READONLY, _SQLITE_PERM) or unwritable:
        return JournalFault(f"The journal cannot be written: {path} is read-only (its file, folder or disk) — "
                            "nothing was saved; call a supervisor")
    if code == _SQLITE_CANTOPEN:
        return JournalFault(f"The journal {path} cannot be opened (its folder is missing or cannot be written) — "
                            "nothing was saved; call a supervisor")
    return JournalFault(f"The journal could not be written (a disk error on {path}) — nothing was saved; "
                        "call a supervisor")


@contextmanager
def _plain_faults(path: Path) -> Iterator[None]:
    """A write the file refused becomes a JournalFault (the transaction is rolled back already)."""
    try:
        yield
    except (sqlite3.Error, OSError) as exc:
        fault = fault_of(path, exc)
        if fault is None:
            raise
        raise fault from None


class _Checkpointer(threading.Thread):
    """Moves the WAL into the database file in the background, so no append pays for a checkpoint.

    SQLite's automatic checkpoint runs inside whichever commit crosses the threshold, which made
    one append in a hundred take several milliseconds; here a PASSIVE checkpoint on a connection of
    its own does that work beside the writer, never blocking it.
    """

    def __init__(self, path: Path, interval: float = 0.5) -> None:
        super().__init__(name=f"checkpoint {path.name}", daemon=True)
        self.path = path
        self.interval = interval
        self.stopping = threading.Event()

    def run(self) -> None:
        try:
            conn = sqlite3.connect(str(self.path), isolation_level=None, timeout=1)
        except sqlite3.Error:
            return
        try:
            while not self.stopping.wait(self.interval):
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                except sqlite3.Error:
                    pass  # busy or closing: the next round catches up
        finally:
            conn.close()

    def stop(self) -> None:
        self.stopping.set()
        if self.is_alive():
            self.join(timeout=2)


class Journal:
    """Append-only events plus derived tables, in one SQLite file."""

    def __init__(self, path: str | Path, origin: str, projectors: Iterable[Projector] = (),
                 migrations: list[tuple[str, Callable[[sqlite_utils.Database], None]]] = (),
                 hub: bool = True) -> None:
        self.path = Path(path)
        self.origin = origin
        with _plain_faults(self.path):
            self.conn = connect(self.path)
        # The file this journal writes to, by device and inode: checked before every commit, so that a
        # journal.db deleted or replaced under a running kiosk is said, not written to a file nobody
        # will read again (the connection keeps writing to the old inode, which vanishes at close).
        self._identity = _file_id(self.path)
        self.lock = threading.RLock()
        self.projectors: list[Projector] = list(projectors)
        self._listeners: list[Callable[[list[ev.Event]], None]] = []
        self._migrations = [*JOURNAL_MIGRATIONS, *migrations]
        refill: set[str] = set()
        with self.lock, _plain_faults(self.path):
            migrate(self.conn, self._migrations, refill)
            # The index of events not yet acknowledged by the hub is of use only where there is a hub:
            # elsewhere every event stays unacknowledged, and each append paid for one more index entry.
            # It is made when a site is first opened with a hub, and dropped when opened without one.
            if hub:
                self.conn.execute("CREATE INDEX IF NOT EXISTS events_pending ON events(origin, origin_seq)"
                                  " WHERE hub_seq IS NULL")
            else:
                self.conn.execute("DROP INDEX IF EXISTS events_pending")
            if refill:
                self._refill_unlocked(refill)
        self.conn.execute("PRAGMA wal_autocheckpoint=0")  # see _Checkpointer
        self._checkpointer = _Checkpointer(self.path)
        self._checkpointer.start()

    def close(self) -> None:
        self._checkpointer.stop()
        with self.lock:
            try:
                self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.Error:
                pass
            self.conn.close()

    @contextmanager
    def unsynced(self) -> Iterator[None]:
        """Commits not flushed to the disk one by one while the block runs; one flush at its end.

        Only for a journal nobody relies on yet (a demo site being built in a folder of its own):
        a power cut inside the block may lose what it appended, which is why the caller puts the
        folder in place only after the block ends.
        """
        with self.lock:
            self.conn.execute("PRAGMA synchronous=OFF")
        try:
            yield
        finally:
            with self.lock:
                self.conn.execute("PRAGMA synchronous=FULL")
                self.conn.execute("PRAGMA wal_checkpoint(FULL)")
            _fsync(self.path)

    # -- projecting -------------------------------------------------------------------------------
    def _judged(self) -> bool:
        # Hub sites: the first projector (jobs) judges events in the hub's order; the others then see
        # only what it admitted (see projection.admitted).
        return bool(self.projectors) and bool(getattr(self.projectors[0], "hub", False)) and len(self.projectors) > 1

    def _project(self, conn: sqlite3.Connection, events: list[ev.Event]) -> None:
        if not self._judged():
            for p in self.projectors:
                p.apply(conn, events)
            return
        self.projectors[0].apply(conn, events)
        seen = list(admitted(conn, events))
        for p in self.projectors[1:]:
            p.apply(conn, seen)

    # -- writing ---------------------------------------------------------------------------------
    def subscribe(self, fn: Callable[[list[ev.Event]], None]) -> None:
        """Call fn(events) after each commit (never before: a listener only sees what is on disk)."""
        self._listeners.append(fn)

    def unsubscribe(self, fn: Callable[[list[ev.Event]], None]) -> None:
        if fn in self._listeners:
            self._listeners.remove(fn)

    def _head(self, origin: str) -> tuple[int, str]:
        row = self.conn.execute("SELECT origin_seq, hash FROM events WHERE origin = ? ORDER BY origin_seq DESC LIMIT 1",
                                (origin,)).fetchone()
        return (row[0], row[1]) if row else (0, ev.GENESIS)

    def _commit(self, conn: sqlite3.Connection) -> None:
        """COMMIT, if the file at the journal's path is still the one this journal opened (one stat)."""
        if _file_id(self.path) != self._identity:
            raise JournalFault(f"The journal file was removed or replaced — nothing was saved; call a supervisor "
                               f"({self.path} is not the file opened at start: put that one back, or start again)")
        conn.execute("COMMIT")

    def append(self, event: ev.Event) -> ev.Event:
        """Append one event durably; return it chained and numbered."""
        return self.append_many([event])[0]

    def append_many(self, events: list[ev.Event] | None = None,
                    build: Callable[[sqlite3.Connection], list[ev.Event]] | None = None) -> list[ev.Event]:
        """Append events in one durable transaction (all or none).

        `build`, if given, runs inside the write transaction and returns the events to append, so a
        guardrail decision and the append see the same state even with other writers on the file.
        """
        if not events and build is None:
            return []
        with self.lock, _plain_faults(self.path), (gc_paused() if events and len(events) >= BULK else nullcontext()):
            conn = self.conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                if build is not None:
                    events = build(conn)
                if not events:
                    conn.execute("ROLLBACK")
                    return []
                n, prev = self._head(self.origin)
                out = []
                rows = []
                for e in events:
                    n += 1
                    c = e.chained(self.origin, n, prev)
                    prev = c.hash
                    out.append(c)
                    rows.append((c.id, c.origin, c.origin_seq, c.type, c.job, c.person, c.bench, c.ts,
                                 c.payload_json(), c.prev_hash, c.hash))
                cur = conn.executemany(
                    "INSERT INTO events (id, origin, origin_seq, type, job, person, bench, ts, payload, prev_hash, hash)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)
                last = conn.execute("SELECT last_insert_rowid()").fetchone()[0]
                first = last - len(out) + 1
                for i, c in enumerate(out):
                    object.__setattr__(c, "seq", first + i)  # numbered by SQLite; set once, before anyone sees it
                del cur
                self._project(conn, out)
                self._commit(conn)
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        for fn in self._listeners:
            fn(out)
        return out

    def ingest(self, events: list[ev.Event]) -> list[ev.Event]:
        """Store events recorded elsewhere (already chained by their origin); skip ids already here."""
        if not events:
            return []
        with self.lock, _plain_faults(self.path):
            conn = self.conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                new = []
                for e in events:
                    cur = conn.execute(
                        "INSERT OR IGNORE INTO events (id, origin, origin_seq, type, job, person, bench, ts, payload, prev_hash, hash)"
                        " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                        (e.id, e.origin, e.origin_seq, e.type, e.job, e.person, e.bench, e.ts, e.payload_json(),
                         e.prev_hash, e.hash))
                    if cur.rowcount:
                        new.append(replace(e, seq=cur.lastrowid))
                self._project(conn, new)
                self._commit(conn)
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        if new:
            for fn in self._listeners:
                fn(new)
        return new

    def ingest_hub(self, rows: list[tuple[int, ev.Event]], state: dict[str, str] | None = None) -> HubIngest:
        """Record a batch pulled from the hub, in the hub's order, in one durable transaction.

        rows are (hub_seq, event) in increasing hub_seq. This kiosk's own pending events are marked
        acknowledged (they get their hub_seq); events new here are stored. A job that had pending
        events here and receives another bench's event is folded again, because that event now
        comes before the pending ones. `state` (sync bookkeeping, e.g. the pull cursor) is saved in
        the same transaction, so a crash never leaves the cursor ahead of the events.
        """
        result = HubIngest([], 0, set())
        if not rows and not state:
            return result
        with self.lock, _plain_faults(self.path):
            conn = self.conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                pending: dict[str, list[str]] = {}  # job -> its events applied here but not yet acknowledged
                waiting: list[tuple[str, str]] = []  # (id, type) of every event applied here, not yet acknowledged
                for eid, job, etype in conn.execute("SELECT id, job, type FROM events WHERE hub_seq IS NULL"):
                    waiting.append((eid, etype))
                    if job is not None:
                        pending.setdefault(job, []).append(eid)
                known: dict[str, int | None] = {}
                ids = [e.id for _, e in rows]
                for i in range(0, len(ids), 500):
                    chunk = ids[i:i + 500]
                    for eid, hs in conn.execute(
                            f"SELECT id, hub_seq FROM events WHERE id IN ({','.join('?' * len(chunk))})", chunk):
                        known[eid] = hs
                acks, inserts, fresh = [], [], []
                for hs, e in rows:
                    if e.id in known:
                        if known[e.id] is None:
                            acks.append((hs, e.id))
                        continue  # already here and acknowledged: a batch pulled twice
                    known[e.id] = hs
                    inserts.append((e.id, e.origin, e.origin_seq, e.type, e.job, e.person, e.bench, e.ts,
                                    e.payload_json(), e.prev_hash, e.hash, hs))
                    fresh.append(e)
                if acks:
                    conn.executemany("UPDATE events SET hub_seq = ? WHERE id = ?", acks)
                if inserts:
                    conn.executemany(
                        "INSERT INTO events (id, origin, origin_seq, type, job, person, bench, ts, payload, prev_hash,"
                        " hash, hub_seq) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", inserts)
                    seqs = dict(conn.execute(
                        f"SELECT hub_seq, seq FROM events WHERE hub_seq >= ? AND hub_seq <= ?",
                        (inserts[0][-1], inserts[-1][-1])).fetchall())
                    for row, e in zip(inserts, fresh):
                        object.__setattr__(e, "seq", seqs[row[-1]])
                # A job is folded again only where the order really changed: an event of another bench
                # now stands before one of this kiosk's that was applied before it.
                acked_at = {eid: hs for hs, eid in acks}
                first_fresh: dict[str, int] = {}
                for e in fresh:
                    if e.job and e.job in pending and e.job not in first_fresh:
                        first_fresh[e.job] = known[e.id]
                refold = {job for job, hs in first_fresh.items()
                          if any(acked_at.get(eid, float("inf")) > hs for eid in pending[job])}
                # The events applied here that now stand after an event new here: every one not yet
                # acknowledged, and those acknowledged behind the first new one. A projector whose
                # tables span jobs (metal drawn from a bench's stock, a characteristic's series, a
                # tool's count) applied them before events that come first in the hub's order.
                first_new = min((known[e.id] for e in fresh), default=None)
                moved = [] if first_new is None else [
                    (eid, etype) for eid, etype in waiting if acked_at.get(eid, float("inf")) > first_new]
                displaced = {etype for _, etype in moved}
                judged = self._judged()
                held_back = self._held_back_unlocked([eid for eid, _ in moved]) if judged else set()
                redo: list = []
                moved_events: list[ev.Event] | None = None
                flipped: set[str] = set()  # types of moved events the job projector now admits, or no longer
                for i, p in enumerate(self.projectors):
                    reordered = False
                    if not hasattr(p, "refold") and _reads_any(p, displaced):
                        if moved_events is None:
                            moved_events = self._events_by_id_unlocked([eid for eid, _ in moved])
                            if judged:  # the job projector (the first) has judged the new order by now
                                now = self._held_back_unlocked([e.id for e in moved_events])
                                flipped = {e.type for e in moved_events if (e.id in now) != (e.id in held_back)}
                        reordered = _reads_any(p, flipped) or _reordered(p, displaced, moved_events, fresh)
                    if refold and hasattr(p, "refold"):
                        p.apply(conn, [e for e in fresh if e.job not in refold])
                        p.refold(conn, refold, self._job_events_unlocked)
                    elif reordered:
                        # The order changed under events this projector applied, and it cannot fold
                        # one job again: its tables are derived again from every event (below).
                        redo.append(p)
                    else:
                        p.apply(conn, list(admitted(conn, fresh)) if judged and i else fresh)
                    spanning = getattr(p, "spanning_types", None)
                    if spanning and hasattr(p, "refold") and not spanning.isdisjoint(displaced):
                        p.refold_spanning(conn, self._events_of_types_unlocked(spanning))
                if redo:
                    self._rederive_unlocked(redo)
                if state:
                    conn.executemany("INSERT OR REPLACE INTO sync_state (key, value) VALUES (?, ?)",
                                     [(k, str(v)) for k, v in state.items()])
                self._commit(conn)
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        result = HubIngest(fresh, len(acks), refold)
        if fresh:
            for fn in self._listeners:
                fn(fresh)
        return result

    def _held_back_unlocked(self, ids: list[str]) -> set[str]:
        """Those of these events that stand in `conflicts`: not seen by the other projectors where they are."""
        out: set[str] = set()
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            out |= {r[0] for r in self.conn.execute(
                f"SELECT event_id FROM conflicts WHERE event_id IN ({','.join('?' * len(chunk))})", chunk)}
        return out

    def _events_by_id_unlocked(self, ids: list[str]) -> list[ev.Event]:
        out = []
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            rows = self.conn.execute(f"SELECT {EVENT_COLS} FROM events WHERE id IN ({','.join('?' * len(chunk))})", chunk)
            out += [event_of(r) for r in rows if malformed(r[9]) is None]
        return out

    def _rederive_unlocked(self, chosen: list) -> None:
        """Derive these projectors' tables again from every event in canonical order, inside the
        caller's transaction: those that take their events in chunks from one read of the journal
        (judged against the job tables as they stand), the others each from their own."""
        conn = self.conn
        judged = self._judged()
        order = self._order_unlocked()
        chunked = [p for p in chosen if hasattr(p, "rebuild_feed")]
        with gc_paused():
            if chunked:
                first = self.projectors[0]
                if judged and first not in chunked:
                    self._feed(conn, [first, *chunked], order, judged, only=chunked)
                else:
                    self._feed(conn, chunked, order, judged)
            for p in chosen:
                if p not in chunked:
                    stream = self._all_events_unlocked()
                    i = self.projectors.index(p)
                    p.rebuild(conn, admitted(conn, stream) if judged and i > 0 else stream)

    def _events_of_types_unlocked(self, types: Iterable[str]) -> Iterator[ev.Event]:
        """Every readable event of these types, in canonical order."""
        t = sorted(types)
        rows = self.conn.execute(f"SELECT {EVENT_COLS} FROM events WHERE type IN ({','.join('?' * len(t))})"
                                 f" ORDER BY {CANON}", t)
        return (event_of(r) for r in rows if malformed(r[9]) is None)

    def _job_events_unlocked(self, job: str) -> list[ev.Event]:
        return [event_of(r) for r in self.conn.execute(
            f"SELECT {EVENT_COLS} FROM events WHERE job = ? ORDER BY {CANON}", (job,))]

    # -- sync bookkeeping ------------------------------------------------------------------------
    def pending(self, limit: int = 5000, after_origin_seq: int = 0) -> list[ev.Event]:
        """This kiosk's events not yet acknowledged by the hub, in the order they were recorded."""
        with self.lock:
            rows = self.conn.execute(
                f"SELECT {EVENT_COLS} FROM events WHERE hub_seq IS NULL AND origin = ? AND origin_seq > ?"
                " ORDER BY origin_seq LIMIT ?", (self.origin, after_origin_seq, limit)).fetchall()
        return [event_of(r) for r in rows]

    def pending_count(self) -> int:
        with self.lock:
            return self.conn.execute("SELECT count(*) FROM events WHERE hub_seq IS NULL AND origin = ?",
                                     (self.origin,)).fetchone()[0]

    def get_state(self, key: str, default: str | None = None) -> str | None:
        with self.lock:
            row = self.conn.execute("SELECT value FROM sync_state WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_state(self, values: dict[str, str]) -> None:
        with self.lock, _plain_faults(self.path):
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                self.conn.executemany("INSERT OR REPLACE INTO sync_state (key, value) VALUES (?, ?)",
                                      [(k, str(v)) for k, v in values.items()])
                self._commit(self.conn)
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise

    # -- reading ---------------------------------------------------------------------------------
    def events(self, job: str | None = None, after_seq: int = 0, types: Iterable[str] | None = None,
               batch: int = 5000) -> Iterator[ev.Event]:
        """Events in journal order, streamed in batches so millions fit in little memory."""
        where, params = ["seq > ?"], [after_seq]
        if job is not None:
            where.append("job = ?")
            params.append(job)
        if types:
            t = list(types)
            where.append(f"type IN ({','.join('?' * len(t))})")
            params.extend(t)
        last = after_seq
        while True:
            params[0] = last
            with self.lock:
                rows = self.conn.execute(f"SELECT {EVENT_COLS} FROM events WHERE {' AND '.join(where)} ORDER BY seq LIMIT {batch}",
                                         params).fetchall()
            if not rows:
                return
            for r in rows:
                yield event_of(r)
            last = rows[-1][0]

    def recent(self, job: str, limit: int = 20) -> list[ev.Event]:
        with self.lock:
            rows = self.conn.execute(f"SELECT {EVENT_COLS} FROM events WHERE job = ? ORDER BY hub_seq IS NULL DESC,"
                                     " hub_seq DESC, seq DESC LIMIT ?", (job, limit)).fetchall()
        return [event_of(r) for r in reversed(rows)]

    def count(self) -> int:
        with self.lock:
            return self.conn.execute("SELECT count(*) FROM events").fetchone()[0]

    def position(self) -> int:
        """The last sequence number: it changes whenever an event is added, and is cheap to ask,
        so screens poll it to refresh when events arrive (from this bench or from the hub)."""
        with self.lock:
            return self._count_unlocked()

    def query(self, sql: str, params: Iterable = ()) -> list[tuple]:
        with self.lock:
            return self.conn.execute(sql, tuple(params)).fetchall()

    # -- rebuilding and auditing -------------------------------------------------------------------
    def rebuild(self, apart: bool | None = None) -> list[tuple[ev.Event, str]]:
        """Throw the derived tables away and derive them again from the events; a table that is
        missing is made again first. Returns the events left out because their payload could not be
        read, each with why.

        `apart`: fold the projectors that may be (``rebuild_apart``) in a second process at the same
        time (see store.apart); by default where there are APART_MIN events or more and two cores.
        """
        bad: list[tuple[ev.Event, str]] = []
        with self.lock, gc_paused():
            conn = self.conn
            self._restore_schema_unlocked()
            conn.execute(f"PRAGMA cache_size = {REBUILD_CACHE_KIB}")
            conn.execute("BEGIN IMMEDIATE")
            helper = None
            try:
                # The derived tables are emptied and filled again: their secondary indexes are made
                # once at the end (one sort each) instead of kept up to date row by row.
                indexes = self._derived_indexes()
                for name, _, _ in indexes:
                    conn.execute(f'DROP INDEX "{name}"')
                judged = self._judged()
                order = self._order_unlocked()
                feeders = [p for p in self.projectors if hasattr(p, "rebuild_feed")]
                away = _helper_share(feeders)
                if apart is None:
                    apart = (os.cpu_count() or 1) > 1 and self._count_unlocked() >= APART_MIN
                if apart and away:

                    # started inside this transaction: it reads the very events this one reads
                    try:
                        helper = Helper(self.path, away, order, conn, REBUILD_CHUNK)
                    except OSError:
                        helper = None  # no interpreter to start (an embedded one): all of it here
                here = [p for p in feeders if helper is None or p not in away]
                started = time.monotonic()
                self._feed(conn, here, order, judged, bad=bad)
                later = {t for p in away for t in p.tables} if helper is not None else set()
                for _, table, sql in indexes:
                    if table not in later:
                        conn.execute(sql)  # while the helper may still be at work
                if helper is not None:
                    # It does less than this process: if it takes far longer, it is stuck.
                    patience = max(HELPER_PATIENCE, 2 * (time.monotonic() - started))
                    why = "conflicts" if judged and self._conflicts_unlocked() else helper.finish(conn, patience)
                    if why is not None:
                        # On a hub site with conflicts the helper folded events that the job projector
                        # held back; or it failed. Either way: fold those projectors here.
                        self._feed(conn, [feeders[0], *away], order, judged, only=away)
                for i, p in enumerate(self.projectors):
                    if p not in feeders:
                        stream = self._all_events_unlocked()
                        p.rebuild(conn, admitted(conn, stream) if judged and i > 0 else stream)
                for _, table, sql in indexes:
                    if table in later:
                        conn.execute(sql)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            finally:
                if helper is not None:
                    helper.close(conn)
                conn.execute(f"PRAGMA cache_size = {CACHE_KIB}")
        return bad

    def _refill_unlocked(self, tables: set[str]) -> None:
        """Derive again, in canonical order, the tables of the projectors a migration made anew (and
        only those: the others stand as they are), in one transaction."""
        chosen = [p for p in self.projectors if set(p.tables) & tables]
        if not chosen:
            return
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            self._rederive_unlocked(chosen)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _feed(self, conn: sqlite3.Connection, feeders: list, order: str, judged: bool,
              only: list | None = None, bad: list | None = None) -> None:
        """One read of the journal feeds every projector that takes its events in chunks.

        Reading and parsing millions of events costs as much as a fold, so it is done once for all.
        The job projector (the first) takes each chunk first, so on a hub site the conflicts it finds
        are known before the others see the chunk (see projection.admitted). With `only`, the job
        projector's tables are done already: the chunks are judged against them, not fed again.
        """
        fed = [p for p in feeders if only is None or p in only]
        for p in fed:
            p.rebuild_begin(conn)
        first_judges = judged and feeders and feeders[0] is self.projectors[0]
        for chunk in read_chunks(conn, order, REBUILD_CHUNK, hashes=False, bad=bad):
            if first_judges:
                if only is None:
                    feeders[0].rebuild_feed(conn, chunk)
                seen = list(admitted(conn, chunk))
                for p in fed:
                    if p is not feeders[0]:
                        p.rebuild_feed(conn, seen)
            else:
                for p in fed:
                    p.rebuild_feed(conn, chunk)
        for p in fed:
            p.rebuild_end(conn)

    def _conflicts_unlocked(self) -> bool:
        return self.conn.execute("SELECT 1 FROM conflicts LIMIT 1").fetchone() is not None

    def _count_unlocked(self) -> int:
        return self.conn.execute("SELECT max(seq) FROM events").fetchone()[0] or 0

    def _derived_indexes(self) -> list[tuple[str, str, str]]:
        """(name, table, CREATE statement) of the secondary indexes on the projectors' tables."""
        tables = sorted({t for p in self.projectors for t in p.tables})
        if not tables:
            return []
        marks = ",".join("?" * len(tables))
        return [(r[0], r[1], r[2]) for r in self.conn.execute(
            f"SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ({marks})"
            " ORDER BY name", tables)]

    def _all_events_unlocked(self) -> Iterator[ev.Event]:
        for chunk in self._chunks_unlocked():
            yield from chunk

    def _order_unlocked(self) -> str:
        # Without any acknowledged event the canonical order is the journal order: stream it by seq.
        hub = self.conn.execute("SELECT 1 FROM events WHERE hub_seq IS NOT NULL LIMIT 1").fetchone()
        return CANON if hub else "seq"

    def _chunks_unlocked(self, size: int = 20000) -> Iterator[list[ev.Event]]:
        return read_chunks(self.conn, self._order_unlocked(), size)

    def _derived_tables(self) -> list[str]:
        return [t for p in self.projectors for t in p.tables]

    def _schema_of_unlocked(self) -> dict[str, tuple[str, list[str]]]:
        """What the migrations make for each derived table: its CREATE TABLE and CREATE INDEX statements,
        read from an empty database migrated as this one was."""
        scratch = sqlite3.connect(":memory:", isolation_level=None)
        migrate(scratch, self._migrations)
        out: dict[str, tuple[str, list[str]]] = {}
        for t in self._derived_tables():
            row = scratch.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (t,)).fetchone()
            if row is None:
                continue
            idx = [r[0] for r in scratch.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL", (t,))]
            out[t] = (row[0], idx)
        scratch.close()
        return out

    def missing_tables(self) -> list[str]:
        with self.lock:
            have = {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return [t for t in self._derived_tables() if t not in have]

    def _restore_schema_unlocked(self) -> list[str]:
        """Make again the derived tables (and the events' triggers) that are missing; return their names."""
        have = {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")}
        made = []
        missing = [t for t in self._derived_tables() if t not in have]
        if missing:
            schema = self._schema_of_unlocked()
            for t in missing:
                if t in schema:
                    create, indexes = schema[t]
                    self.conn.execute(create)
                    for sql in indexes:
                        self.conn.execute(sql)
                    made.append(t)
        for name, sql in TRIGGERS.items():
            if name not in have:
                self.conn.execute(sql)
        return made

    def table_digests(self) -> dict[str, str]:
        """A SHA-256 of each derived table's rows, by table name.

        The rows are read in the order of all their columns, so the digest is that of the table's
        contents, never of the order rows were written in: two benches that hold the same rows give
        the same digest. No derived table holds a value local to one bench (a journal seq, a rowid),
        so on a hub site every bench's digests equal those of a fresh replay of the hub's journal.
        """
        out: dict[str, str] = {}
        with self.lock:
            for t in self._derived_tables():
                h = hashlib.sha256()
                cols = [r[1] for r in self.conn.execute(f'PRAGMA main.table_info("{t}")')]
                if not cols:
                    out[t] = "missing"
                    continue
                order = ", ".join(f'"{c}"' for c in cols)
                for row in self.conn.execute(f'SELECT {order} FROM main."{t}" ORDER BY {order}'):
                    h.update(repr(row).encode())
                out[t] = h.hexdigest()
        return out

    def state_digest(self) -> str:
        """A SHA-256 over every derived table's digest (see table_digests): equal digests, equal state."""
        h = hashlib.sha256()
        for t, d in self.table_digests().items():
            h.update(f"{t}\0{d}\n".encode())
        return h.hexdigest()

    def check_derived(self, apart: bool | None = None, base: Path | None = None, base_seq: int = 0) -> DerivedCheck:
        """Fold the journal again, beside the stored derived tables, and compare them table by table.

        The fold writes into temporary tables of the same names (SQLite reads an unqualified name
        from the temporary schema first), so the projectors run unchanged and nothing stored is
        touched; each table is then compared with the stored one in one ordered stream each. The
        job projector also judges every job event by the guardrails against the state before it
        (on a site without a hub nothing else does): events they would have refused are reported.

        `base`: a snapshot of the derived tables as folded up to journal sequence `base_seq` (see
        write_snapshot; the caller has checked it against its signed digest). The temporary tables
        then start as a copy of it and only the events after `base_seq` are folded onto them, as an
        append folds them. On a hub site (the fold follows the hub's order, in which an event that
        arrives later may stand before older ones), or when the snapshot does not fit the tables,
        the whole journal is folded, and the check's `note` says why.
        """
        note = None
        if base is not None:
            with self.lock:
                if self._order_unlocked() != "seq":
                    note = ("this site's events are folded in the hub's order, in which an event that arrives later "
                            "may stand before older ones: the whole journal is folded")
                    base = None
        if base is not None:
            try:
                return self._check_from_snapshot(base, base_seq)
            except _BaseUnfit as exc:
                note = f"the snapshot {base.name} does not fit the derived tables ({exc}): the whole journal is folded"
            except OSError as exc:
                note = (f"the snapshot {base.name} could not be copied to fold onto ({exc.strerror}): the whole journal "
                        "is folded")
        return replace(self._check_derived(apart, None, 0), note=note)

    def _check_derived(self, apart: bool | None, base: Path | None, base_seq: int) -> DerivedCheck:
        with self.lock, gc_paused():
            conn = self.conn
            schema = self._schema_of_unlocked()
            have = {r[0] for r in conn.execute("SELECT name FROM main.sqlite_master WHERE type = 'table'")}
            return self._check_derived_attached(apart, base, base_seq, schema, have)

    def _check_from_snapshot(self, base: Path, base_seq: int) -> DerivedCheck:
        """The derived tables checked from a snapshot: a copy of its file, the events after `base_seq`
        folded onto it, and each table compared with the stored one by SQLite (EXCEPT both ways).

        It works on a connection of its own (the copy, with the journal attached read-only, in one
        read transaction), without the journal's lock: the chains may be walked at the same time,
        on the other core (SQLite lets go of Python's lock while it works). The projectors write to
        the copy's tables, which stand first for an unqualified name; the events are read from the
        journal. When every table is as the journal gives it, the copy is the next snapshot
        (DerivedCheck.fold_file).
        """
        scratch = self.path.with_name(f"{self.path.name}.snapshot-fold")
        scratch.unlink(missing_ok=True)
        shutil.copyfile(base, scratch)
        conn = sqlite3.connect(f"file:{scratch}", uri=True, isolation_level=None, check_same_thread=False)
        keep = False
        try:
            conn.execute("PRAGMA journal_mode=OFF")  # a scratch copy: nothing to recover should this stop
            conn.execute("PRAGMA synchronous=OFF")
            conn.execute(f"PRAGMA cache_size = {FOLD_CACHE_KIB}")
            try:
                conn.execute("ATTACH DATABASE ? AS j", (f"file:{self.path}?mode=ro",))
                mine = {r[0] for r in conn.execute("SELECT name FROM main.sqlite_master WHERE type = 'table'")}
            except sqlite3.DatabaseError as exc:
                raise _BaseUnfit(f"it cannot be read: {exc}") from None
            have = {r[0] for r in conn.execute("SELECT name FROM j.sqlite_master WHERE type = 'table'")}
            for t in self._derived_tables():
                if t not in mine:
                    raise _BaseUnfit(f"it has no table {t}")
                if t in have and ({r[1] for r in conn.execute(f'PRAGMA main.table_info("{t}")')}
                                  != {r[1] for r in conn.execute(f'PRAGMA j.table_info("{t}")')}):
                    raise _BaseUnfit(f"its table {t} has other columns")
            bad: list[tuple[ev.Event, str]] = []
            refused: list[tuple[ev.Event, list[str]]] = []
            tables: list[TableCheck] = []
            conn.execute("BEGIN")
            try:
                upto = conn.execute("SELECT max(seq) FROM j.events").fetchone()[0] or 0
                last = conn.execute("SELECT hash FROM j.events WHERE seq = ?", (upto,)).fetchone()
                if "snapshot_refused" in mine:
                    for event_id, reasons in conn.execute("SELECT event_id, reasons FROM snapshot_refused ORDER BY n"):
                        e = event_by_id(conn, event_id)
                        if e is not None:
                            refused.append((e, json.loads(reasons)))
                first = self.projectors[0] if self.projectors else None
                if first is not None and hasattr(first, "audit"):
                    first.audit = refused
                tail = 0
                try:
                    for chunk in read_chunks(conn, "seq", REBUILD_CHUNK, hashes=False, bad=bad, after_seq=base_seq):
                        self._project(conn, chunk)
                        tail += len(chunk)
                finally:
                    if first is not None and hasattr(first, "audit"):
                        first.audit = None
                tail += len(bad)
                for t in self._derived_tables():
                    tables.append(self._compare_in_sqlite(conn, t, t in have))
                conn.execute("DELETE FROM snapshot_refused")
                conn.executemany("INSERT INTO snapshot_refused VALUES (?, ?, ?)",
                                 [(i, e.id, json.dumps(r, ensure_ascii=False)) for i, (e, r) in enumerate(refused)])
                conn.execute("UPDATE snapshot_of SET seq = ?, hash = ?", (upto, last[0] if last else ""))
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            keep = all(t.same for t in tables)
            return DerivedCheck(tables, bad, refused, upto=upto, base_seq=base_seq, tail=tail, in_order=True,
                                fold_file=scratch if keep else None, last_hash=last[0] if last else "")
        finally:
            conn.close()
            if not keep:
                scratch.unlink(missing_ok=True)

    @staticmethod
    def _compare_in_sqlite(conn: sqlite3.Connection, t: str, stored: bool) -> TableCheck:
        """The folded table (main) beside the stored one (j): SQLite finds whether any row differs;
        only a table that differs is read row by row, for its first differing row.

        Where the folded table has a key (no two of its rows alike), the same number of rows and none
        of its rows missing from the stored table mean the stored rows are those rows: one EXCEPT is
        enough. Otherwise it is done both ways."""
        if not stored:
            return tablecheck.compare(t, conn, "main", None)
        cols = [r[1] for r in conn.execute(f'PRAGMA main.table_info("{t}")')]
        names = ", ".join(f'"{c}"' for c in cols)
        ours = conn.execute(f'SELECT count(*) FROM main."{t}"').fetchone()[0]
        theirs = conn.execute(f'SELECT count(*) FROM j."{t}"').fetchone()[0]
        keyed = _keyed(conn, t)
        sql = f'SELECT EXISTS (SELECT {names} FROM main."{t}" EXCEPT SELECT {names} FROM j."{t}")'
        if not keyed:
            sql += f' OR EXISTS (SELECT {names} FROM j."{t}" EXCEPT SELECT {names} FROM main."{t}")'
        differ = ours != theirs or conn.execute(sql).fetchone()[0]
        if differ:
            return tablecheck.compare(t, conn, "main", conn, "j")
        said = f"{ours} rows, the same"
        return TableCheck(t, said, said, None, None, False, cols)

    def _check_derived_attached(self, apart: bool | None, base: Path | None, base_seq: int, schema: dict,
                                have: set[str]) -> DerivedCheck:
        """check_derived's work, under the lock, with the snapshot (if any) attached as `snap`."""
        bad: list[tuple[ev.Event, str]] = []
        refused: list[tuple[ev.Event, list[str]]] = []
        tables: list[TableCheck] = []
        remote: dict[str, TableCheck] = {}  # the tables the helper folded and compared
        conn = self.conn
        conn.execute("BEGIN")
        try:
            upto = self._count_unlocked()
            for t in self._derived_tables():
                create = schema[t][0] if t in schema else None
                if create is None:
                    row = conn.execute("SELECT sql FROM main.sqlite_master WHERE type = 'table' AND name = ?",
                                       (t,)).fetchone()
                    create = row[0] if row else None
                if create is None:
                    continue
                conn.execute(re.sub(r"^\s*CREATE\s+TABLE\s+", "CREATE TEMP TABLE ", create, count=1, flags=re.I))
                for sql in (schema[t][1] if t in schema else []):
                    if re.match(r"^\s*CREATE\s+UNIQUE", sql, re.I):
                        conn.execute(re.sub(r"\bINDEX\s+(IF NOT EXISTS\s+)?\"?(\w+)\"?", r'INDEX temp."\2"', sql,
                                            count=1, flags=re.I))
            judged = self._judged()
            order = self._order_unlocked()
            feeders = [p for p in self.projectors if hasattr(p, "rebuild_feed")]
            first = self.projectors[0] if self.projectors else None
            if first is not None and hasattr(first, "audit"):
                first.audit = refused
            # As a rebuild does: on a large journal a second process folds some projectors, and
            # compares their tables too; the temporary tables made above stay empty for those.
            away = _helper_share(feeders, audit=True)
            if apart is None:
                apart = (os.cpu_count() or 1) > 1 and self._count_unlocked() >= APART_MIN
            helper = None
            if apart and away:
                try:
                    helper = Helper(self.path, away, order, conn, REBUILD_CHUNK, compare=True,
                                    schema=[schema[t][0] for p in away for t in p.tables if t in schema])
                except OSError:
                    helper = None  # no interpreter to start (an embedded one): all of it here
            try:
                started = time.monotonic()
                self._feed(conn, [p for p in feeders if helper is None or p not in away], order, judged, bad=bad)
                if helper is not None:
                    patience = max(HELPER_PATIENCE, 2 * (time.monotonic() - started))
                    checks, why = (None, "conflicts") if judged and self._conflicts_unlocked() \
                        else helper.checks(patience)
                    if checks is None:
                        # On a hub site with conflicts the helper folded events that the job
                        # projector held back; or it failed. Either way: fold those projectors here.
                        self._feed(conn, [feeders[0], *away], order, judged, only=away)
                    else:
                        remote = {c.table: c for c in checks}
                for i, p in enumerate(self.projectors):
                    if p not in feeders:
                        stream = self._all_events_unlocked()
                        p.rebuild(conn, admitted(conn, stream) if judged and i > 0 else stream)
            finally:
                if first is not None and hasattr(first, "audit"):
                    first.audit = None
                if helper is not None:
                    helper.close(conn)
            for t in self._derived_tables():
                tables.append(remote[t] if t in remote else self._compare_unlocked(t, t in have))
        finally:
            conn.execute("ROLLBACK")
        return DerivedCheck(tables, bad, refused, upto=upto, in_order=order == "seq")

    def write_snapshot(self, path: Path, check: DerivedCheck) -> dict | None:
        """Copy the derived tables into a new SQLite file at `path`, when they are as `check` found them.

        `check` is a check that found every table as the journal gives it: the copy is taken in a
        read of its own, then each of its tables digested and compared with the digest of the fold
        (a table changed, or an event appended, in between: no snapshot, None). The file holds the
        derived tables only, with their keys and indexes (its size grows with the jobs, not the
        events), the events the rules would have refused, and the sequence and hash of the last
        event folded. Returns what is to be signed: the file's name, that sequence and hash, and the
        file's sha256 (which covers every row: the tables' digests are not needed beside it).
        """
        if check.differing:
            return None
        tmp = path.with_name(path.name + ".part")
        tmp.unlink(missing_ok=True)
        conn = self.conn
        with self.lock:
            schema = self._schema_of_unlocked()
            conn.execute("ATTACH DATABASE ? AS snapnew", (str(tmp),))
            try:
                conn.execute("BEGIN")
                try:
                    if self._count_unlocked() != check.upto:
                        conn.execute("ROLLBACK")
                        tmp.unlink(missing_ok=True)
                        return None
                    last = conn.execute("SELECT hash FROM events WHERE seq = ?", (check.upto,)).fetchone()
                    for t in self._derived_tables():
                        # as the migrations make it (its keys, for the next fold's upserts), then its rows
                        create = schema[t][0] if t in schema else conn.execute(
                            "SELECT sql FROM main.sqlite_master WHERE type = 'table' AND name = ?", (t,)).fetchone()[0]
                        conn.execute(re.sub(r"^\s*CREATE\s+TABLE\s+(IF\s+NOT\s+EXISTS\s+)?[\"`\[]?\w+[\"`\]]?",
                                            f'CREATE TABLE snapnew."{t}"', create, count=1, flags=re.I))
                        cols = ", ".join(f'"{r[1]}"' for r in conn.execute(f'PRAGMA snapnew.table_info("{t}")'))
                        conn.execute(f'INSERT INTO snapnew."{t}" ({cols}) SELECT {cols} FROM main."{t}"')
                        for sql in (schema[t][1] if t in schema else []):
                            conn.execute(re.sub(r"\bINDEX\s+(IF NOT EXISTS\s+)?\"?(\w+)\"?", r'INDEX snapnew."\2"', sql,
                                                count=1, flags=re.I))
                    conn.execute("CREATE TABLE snapnew.snapshot_of (seq INTEGER, hash TEXT)")
                    conn.execute("INSERT INTO snapnew.snapshot_of VALUES (?, ?)", (check.upto, last[0] if last else ""))
                    conn.execute("CREATE TABLE snapnew.snapshot_refused (n INTEGER, event_id TEXT, reasons TEXT)")
                    conn.executemany("INSERT INTO snapnew.snapshot_refused VALUES (?, ?, ?)",
                                     [(i, e.id, json.dumps(r, ensure_ascii=False)) for i, (e, r) in
                                      enumerate(check.refused)])
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            finally:
                conn.execute("DETACH DATABASE snapnew")
        copy = sqlite3.connect(str(tmp))
        try:
            digests = {t: tablecheck.compare(t, copy, "main", None).folded for t in self._derived_tables()}
        finally:
            copy.close()
        if digests != {t.table: t.folded for t in check.tables}:
            tmp.unlink(missing_ok=True)
            return None
        return self.keep_snapshot(tmp, path, check.upto, last[0] if last else "")

    @staticmethod
    def keep_snapshot(made: Path, path: Path, upto: int, last_hash: str) -> dict:
        """Put a snapshot file in place (durably); what is to be signed for it."""
        _fsync(made)
        os.replace(made, path)
        _fsync(path.parent)
        return {"file": path.name, "seq": upto, "hash": last_hash, "sha256": file_sha256(path)}

    def _compare_unlocked(self, t: str, stored: bool) -> TableCheck:
        return tablecheck.compare(t, self.conn, "temp", self.conn if stored else None)

    def verify(self) -> list[AuditProblem]:
        """Walk every origin's chain; report the first break of each (edited, deleted, out of order),
        and every event whose payload cannot be read."""
        audit = ChainAudit("was inserted out of order in the journal", check_order=[self.origin])
        unreadable: list[AuditProblem] = []
        with self.lock:
            cur = self.conn.cursor()
            cur.execute(f"SELECT {EVENT_COLS} FROM events ORDER BY origin, origin_seq")
            try:
                while rows := cur.fetchmany(5000):
                    audit_rows(audit, rows, unreadable)
                return unreadable + audit.problems
            except sqlite3.OperationalError:
                pass  # a text column that is not UTF-8: walked again, by the reader that copes with it
            audit = ChainAudit("was inserted out of order in the journal", check_order=[self.origin])
            unreadable = []
            bad: list[tuple[ev.Event, str]] = []
            for chunk in read_chunks(self.conn, "origin, origin_seq", 5000, bad=bad):
                if bad:
                    # an unreadable event still stands in its chain: its stored text is what is hashed
                    chunk = sorted([*chunk, *(e for e, _ in bad)], key=lambda e: (e.origin, e.origin_seq))
                    unreadable += [AuditProblem(e.id, e.origin, e.origin_seq, e.seq, why) for e, why in bad]
                    bad.clear()
                for e in chunk:
                    try:
                        audit.see(e, e.seq)
                    except UnicodeError:
                        audit.problems.append(AuditProblem(e.id, e.origin, e.origin_seq, e.seq,
                                                           "holds text that is not valid UTF-8"))
        return unreadable + audit.problems


def _keyed(conn: sqlite3.Connection, t: str) -> bool:
    """No two rows of main.t are alike: it has an INTEGER PRIMARY KEY, or a unique index on columns
    that hold no NULL (a unique index lets NULLs repeat)."""
    info = list(conn.execute(f'PRAGMA main.table_info("{t}")'))
    pk = [r for r in info if r[5]]
    if len(pk) == 1 and str(pk[0][2]).upper() == "INTEGER":
        return True
    notnull = {r[1] for r in info if r[3]}
    for idx in conn.execute(f'PRAGMA main.index_list("{t}")').fetchall():
        if idx[2] and not idx[4]:  # unique, and not partial
            cols = [r[2] for r in conn.execute(f'PRAGMA main.index_info("{idx[1]}")')]
            if cols and (all(c in notnull for c in cols) or conn.execute(
                    f'SELECT NOT EXISTS (SELECT 1 FROM main."{t}" WHERE '
                    + " OR ".join(f'"{c}" IS NULL' for c in cols) + ")").fetchone()[0]):
                return True
    return False


class _BaseUnfit(Exception):
    """A snapshot that does not fit the derived tables as this version makes them."""


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


@dataclass(frozen=True)
class DerivedCheck:
    """The derived tables checked against a fold of the journal."""

    tables: list[TableCheck]
    unreadable: list[tuple[ev.Event, str]]  # events left out of the fold, and why
    refused: list[tuple[ev.Event, list[str]]]  # events the guardrails would have refused where they stand
    upto: int = 0  # the journal sequence folded up to
    base_seq: int = 0  # folded onto a snapshot taken at this sequence (0: the whole journal folded)
    tail: int | None = None  # with a snapshot: the events folded onto it
    note: str | None = None  # why a snapshot given was not used
    in_order: bool = False  # folded in journal order (no hub): a snapshot of it can be folded onto
    fold_file: Path | None = None  # from a snapshot, every table the same: the fold, the next snapshot
    last_hash: str = ""  # the hash of the last event folded (with fold_file)

    @property
    def differing(self) -> list[TableCheck]:
        return [t for t in self.tables if not t.same]
