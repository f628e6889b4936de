"""The journal's row codec: which columns an event is stored in, how a row becomes an event, and the chain audit.

Shared by the embedded journal, the projectors that look an event up by id, the rebuild helper and
the PostgreSQL hub, whose rows have the same columns with the hub's order in place of the local one.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import orjson

from floorkiosk.domain import events as ev

# The columns of an event row, in the order Event.stored takes them. The first is the journal's own
# order (seq) here, the hub's order (hub_seq) on the hub.
EVENT_COLS = "seq, id, origin, origin_seq, type, job, person, bench, ts, payload, prev_hash, hash"
HUB_EVENT_COLS = EVENT_COLS.replace("seq, id,", "hub_seq, id,", 1)
# Acknowledged events in the hub's order, then pending ones in the order this kiosk recorded them.
CANON = "hub_seq IS NULL, hub_seq, seq"


def event_of(r: tuple) -> ev.Event:
    """An event from a row of EVENT_COLS."""
    return ev.Event.stored(*r)


def event_of_hub_row(r: tuple) -> ev.Event:
    """An event from a row of HUB_EVENT_COLS; r[0] is the hub's order, not a journal's seq."""
    return ev.Event.stored(None, *r[1:])


def event_by_id(conn: sqlite3.Connection, event_id: str) -> ev.Event | None:
    r = conn.execute(f"SELECT {EVENT_COLS} FROM events WHERE id = ?", (event_id,)).fetchone()
    return event_of(r) if r is not None else None


def _lenient_text(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


def malformed(payload: object) -> str | None:
    """Why a stored payload cannot be read as an event's payload, or None if it can."""
    if not isinstance(payload, str):
        return "its payload is empty" if payload is None else "its payload is not text"
    if not payload.strip():
        return "its payload is empty"
    try:
        payload.encode("utf-8")
    except UnicodeEncodeError:
        return "its payload is not valid UTF-8"
    try:
        value = ev.loads(payload)
    except ValueError:
        return "its payload is not JSON"
    if not isinstance(value, dict):
        return f"its payload is not a JSON object ({type(value).__name__})"
    return None


def read_chunks(conn: sqlite3.Connection, order: str, size: int = 20000, types: Iterable[str] | None = None,
                hashes: bool = True, bad: list | None = None, after_seq: int = 0) -> Iterator[list[ev.Event]]:
    """The journal's events on `conn` in the given order, in lists of `size`; only of `types` if given.

    hashes=False leaves prev_hash and hash empty: deriving tables needs neither, and two strings of 64
    characters per event less is a tenth of the cost of reading millions of them.

    A row whose payload cannot be read (not JSON, empty, not UTF-8, not an object) is left out and,
    with `bad`, reported there as (event, why); the event then has an empty payload and its stored
    text kept, so its hash can still be checked. `after_seq`: only the events after that journal sequence.
    """
    where, params = "", []
    if types is not None:
        params = sorted(types)
        where = f" WHERE type IN ({','.join('?' * len(params))})"
    if after_seq:
        where += (" AND" if where else " WHERE") + f" seq > {int(after_seq)}"
    cols = EVENT_COLS if hashes else EVENT_COLS.replace(", prev_hash, hash", ", '', ''")
    sql = f"SELECT {cols} FROM events{where} ORDER BY {order}"
    cur = conn.cursor()
    cur.execute(sql, params)
    stored = ev.Event.stored
    done = 0
    while True:
        try:
            rows = cur.fetchmany(size)
        except sqlite3.OperationalError:
            # a text column that is not UTF-8: this stretch is read again, slowly, byte by byte
            rows = _lenient_rows(conn, f"{sql} LIMIT {size} OFFSET {done}", params)
            cur = conn.cursor()
            cur.execute(f"{sql} LIMIT -1 OFFSET {done + len(rows)}", params)
        if not rows:
            return
        done += len(rows)
        try:
            out = [stored(*r) for r in rows]
        except (ValueError, TypeError, AttributeError):
            out = None
        if out is None or any(type(e.payload) is not dict for e in out):
            out = []
            for r in rows:
                why = malformed(r[9])
                if why is None:
                    out.append(stored(*r))
                elif bad is not None:
                    bad.append((_unread(r), why))
        yield out


def _lenient_rows(conn: sqlite3.Connection, sql: str, params: list) -> list[tuple]:
    cur = conn.cursor()
    # only this cursor's rows are decoded leniently (a text factory is read when a row is fetched)
    conn.text_factory = _lenient_text
    try:
        return cur.execute(sql, params).fetchall()
    finally:
        conn.text_factory = str


def _unread(r: tuple) -> ev.Event:
    """An event whose payload could not be read: an empty payload, the stored text kept for its hash."""
    text = r[9] if isinstance(r[9], str) else ""
    e = ev.Event.stored(*r[:9], "{}", *r[10:])
    # bytes that are not UTF-8 cannot be what was hashed: replaced, so the hash check says so
    e.__dict__["_pj"] = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return e


@dataclass(frozen=True)
class AuditProblem:
    event_id: str
    origin: str
    origin_seq: int
    seq: int | None
    what: str

    def __str__(self) -> str:
        return f"event {self.event_id} (origin {self.origin} #{self.origin_seq}, journal seq {self.seq}): {self.what}"


class ChainAudit:
    """Walks events of many chains, each in its own order (origin_seq), and keeps the first break of each.

    `order` is where the event stands in the store's own order (the journal's seq, the hub's
    hub_seq); an event placed before one it follows in its chain is reported with `misplaced`.
    """

    def __init__(self, misplaced: str, check_order: Iterable[str] | None = None) -> None:
        self.misplaced = misplaced
        self.check_order = set(check_order) if check_order is not None else None  # None: every origin
        self.problems: list[AuditProblem] = []
        self.events = 0
        self._broken: set[str] = set()
        self._state: dict[str, tuple[int, str, int]] = {}  # origin -> (next origin_seq, prev hash, last order)

    @property
    def origins(self) -> int:
        return len(self._state.keys() | self._broken)

    def see(self, e: ev.Event, order: int | None) -> None:
        self.see_fields(e.id, e.origin, e.origin_seq, e.prev_hash, e.hash, order, e.compute_hash)

    def see_fields(self, event_id: str, origin: str, origin_seq: int, prev_hash: str, hash_: str,
                   order: int | None, computed: Callable[[], str]) -> None:
        """One event given by its fields; `computed()` gives the hash of its content (called only
        when the chain holds up to it)."""
        self.events += 1
        if origin in self._broken:
            return
        expect_n, prev, last = self._state.get(origin, (1, ev.GENESIS, 0))
        what = None
        if origin_seq != expect_n:
            what = (f"expected #{expect_n} of origin {origin} here; "
                    f"{'an event before it was deleted or is missing' if origin_seq > expect_n else 'numbering was altered'}")
        elif prev_hash != prev:
            what = "does not follow the event before it in its chain (deleted, inserted or reordered)"
        elif computed() != hash_:
            what = "was edited: its content no longer matches its hash"
        elif (order is not None and order < last
              and (self.check_order is None or origin in self.check_order)):
            what = self.misplaced
        if what:
            self.problems.append(AuditProblem(event_id, origin, origin_seq, order, what))
            self._broken.add(origin)
            self._state.pop(origin, None)
            return
        self._state[origin] = (origin_seq + 1, hash_, order if order is not None else last)


def audit_rows(audit: ChainAudit, rows: Iterable[tuple], unreadable: list[AuditProblem]) -> None:
    """Walk rows of EVENT_COLS (in origin, origin_seq order) through the chain audit.

    Most rows are checked without building an event: the payload is parsed by orjson (only to
    know it is a JSON object) and the hash taken over orjson's header and the stored text, the
    bytes Event.canonical gives for every string orjson accepts. A row for which any of that fails
    or does not match (a payload that is not an object, text orjson refuses, a hash that differs)
    is checked again the careful way, as an Event, so what is reported is the same either way.
    """
    sha, dumps, parse, see = hashlib.sha256, orjson.dumps, orjson.loads, audit.see_fields
    for r in rows:
        seq, eid, origin, origin_seq, type_, job, person, bench, ts, payload, prev_hash, hash_ = r
        try:
            if type(payload) is str and type(parse(payload)) is dict:
                got = sha(dumps((eid, origin, origin_seq, type_, job, person, bench, ts, prev_hash))
                          + payload.encode()).hexdigest()
                if got == hash_:
                    see(eid, origin, origin_seq, prev_hash, hash_, seq, got.__str__)  # gives `got`
                    continue
        except (orjson.JSONDecodeError, TypeError, UnicodeError):
            pass
        _audit_carefully(audit, r, unreadable)


def _audit_carefully(audit: ChainAudit, r: tuple, unreadable: list[AuditProblem]) -> None:
    why = malformed(r[9])
    if why is None:
        e = ev.Event.stored(*r)
    else:
        # an unreadable event still stands in its chain: its stored text is what is hashed
        e = _unread(r)
        unreadable.append(AuditProblem(e.id, e.origin, e.origin_seq, e.seq, why))
    try:
        audit.see(e, e.seq)
    except UnicodeError:
        audit.problems.append(AuditProblem(e.id, e.origin, e.origin_seq, e.seq, "holds text that is not valid UTF-8"))
