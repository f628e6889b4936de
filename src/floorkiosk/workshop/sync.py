"""Hub sync for one kiosk: push this bench's events, pull everyone else's, keep working offline.

The kiosk always writes to its own SQLite journal first; what it acknowledges on screen is on its
disk. A background thread then pushes the pending events to the PostgreSQL hub (each exactly once:
the hub skips what it already has by origin_seq and is unique by id) and pulls every event after
its cursor in the hub's order, which also acknowledges its own. Pulled events that land before
events this kiosk already applied make the journal fold those jobs again, so every kiosk's derived
state is the fold of the same events in the same order; the guardrails judge every event again
in that order and what they refuse becomes a conflict for a supervisor (see store/projection.py).

A kiosk trusts no other bench and not the hub: every event it pulls must match its own hash and
follow its origin's chain as this kiosk has it, else it is refused, not applied, and sync stops
there with a plain message (`RefusedEvent`). A kiosk whose journal is behind its own history on the
hub, or differs from it (restored from a backup, cut short), says so on connecting and sends
nothing (`hub.Forked`) until `floorkiosk sync recover` brings its own events back from the hub.

Job and batch numbers: with a hub each kiosk takes its numbers from blocks the hub reserves for it
(`reserve_numbers`), kept topped up while online, so two kiosks never hand out the same job bag
number, even offline, and numbers stay short and consecutive per block.

Without `hub` in site.toml none of this runs: one machine, one file.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite_utils  # the migrations' type; the library is loaded only to migrate

from floorkiosk.workshop import judge
from floorkiosk.devices.photos import PhotoStore
from floorkiosk.domain import events as ev
from floorkiosk.errors import NotFound, Refused
from floorkiosk.store import hub
from floorkiosk.store.hub import Forked, HubAddress, HubError, NotRegistered
from floorkiosk.store.journal import TRIGGERS
from floorkiosk.store.projection import CONFLICT_RESOLVED
from floorkiosk.store.rows import EVENT_COLS, event_of, malformed
from floorkiosk.store.where import Where
from floorkiosk.workshop.shop import Area, Numbers, Shop

log = logging.getLogger("floorkiosk.workshop.sync")

BATCH = 5000  # events per push or pull round trip
BLOCK = 200  # numbers reserved from the hub at a time
LOW_WATER = 50  # reserve another block when fewer than this are left
HEARTBEAT_S = 2.0  # sync at least this often, so lag shows on the hub and a dead link is noticed
BACKOFF_MIN_S, BACKOFF_MAX_S = 0.2, 5.0


class RefusedEvent(HubError):
    """An event from the hub does not check out (its hash, or its origin's chain): not applied."""


# Errors a retry cannot mend: sync stops until someone acts (the status says what to do).
STOPPING = (Forked, NotRegistered, RefusedEvent)


# -- the sync area (hub sites only) ---------------------------------------------------------------

def _m_numbers(db: sqlite_utils.Database) -> None:
    # Number blocks reserved for this kiosk by the hub; `next` is the first not yet handed out.
    db.execute("""CREATE TABLE IF NOT EXISTS number_blocks (
        kind TEXT NOT NULL, first INTEGER NOT NULL, last INTEGER NOT NULL, next INTEGER NOT NULL,
        PRIMARY KEY (kind, first)) WITHOUT ROWID""")


def _resolved(shop: Shop, e: ev.Event) -> str:
    who = shop.name(e.person) or "someone"
    verb = "accepted" if e.payload.get("decision") == "accept" else "dismissed"
    note = e.payload.get("note")
    return f"{who} {verb} a conflicting event from another bench" + (f": {note}" if note else "")


# The job projector itself folds in the hub's order and records conflicts: no projector of its own.
AREA = Area("sync", migrations=(("hub_001_number_blocks", _m_numbers),), describers={CONFLICT_RESOLVED: _resolved})


# -- job, batch and parcel numbers ----------------------------------------------------------------

class HubNumbers(Numbers):
    """Numbers from blocks the hub reserved for this kiosk, so two kiosks never hand out the same one, even offline."""

    def __init__(self, shop: Shop) -> None:
        self.shop = shop

    def left(self, conn: sqlite3.Connection, kind: str) -> int:
        row = conn.execute("SELECT coalesce(sum(last - next + 1), 0) FROM number_blocks WHERE kind = ?",
                           (kind,)).fetchone()
        return int(row[0])

    def take(self, conn: sqlite3.Connection, kind: str, count: int) -> list[int]:
        """Hand out `count` reserved numbers inside the caller's write transaction; Refused if too few."""
        out: list[int] = []
        blocks = conn.execute("SELECT first, last, next FROM number_blocks WHERE kind = ? AND next <= last "
                              "ORDER BY first", (kind,)).fetchall()
        for first, last, nxt in blocks:
            while nxt <= last and len(out) < count:
                out.append(nxt)
                nxt += 1
            if nxt > last:
                conn.execute("DELETE FROM number_blocks WHERE kind = ? AND first = ?", (kind, first))
            else:
                conn.execute("UPDATE number_blocks SET next = ? WHERE kind = ? AND first = ?", (nxt, kind, first))
            if len(out) == count:
                return out
        raise Refused(f"this kiosk has no {kind} numbers left from the hub and cannot reach it; "
                      f"reconnect to the network, or create the {kind} at a kiosk that is online")

    def store(self, kind: str, first: int, count: int) -> None:
        """Keep a block the hub reserved for this kiosk."""
        j = self.shop.journal
        with j.lock:
            j.conn.execute("BEGIN IMMEDIATE")
            try:
                j.conn.execute("INSERT OR IGNORE INTO number_blocks (kind, first, last, next) VALUES (?, ?, ?, ?)",
                               (kind, first, first + count - 1, first))
                j.conn.execute("COMMIT")
            except BaseException:
                if j.conn.in_transaction:
                    j.conn.execute("ROLLBACK")
                raise

    def reserve(self, kind: str, count: int) -> None:
        """Make sure `count` numbers are reserved here, asking the hub now if needed (before the write)."""
        shop = self.shop
        with shop.journal.lock:
            left = self.left(shop.journal.conn, kind)
        if left >= count:
            return
        address = hub.address_for(shop.site.settings.hub, shop.dir)
        try:
            conn = hub.connect(address, origin=shop.journal.origin, timeout=2)
        except HubError:
            raise Refused(f"this kiosk has {left} {kind} numbers left from the hub and cannot reach it to reserve "
                          f"more; reconnect to the network, or create the {kind} at a kiosk that is online") from None
        try:
            hub.register(conn, shop.journal.origin, address.bench)
            n = max(BLOCK, count)
            first = hub.reserve_numbers(conn, kind, n, shop.journal.origin)
        except psycopg.Error as exc:
            raise Refused(f"the hub did not reserve {kind} numbers: {address.scrub(str(exc).strip())}") from None
        finally:
            conn.close()
        self.store(kind, first, n)


# -- photos ---------------------------------------------------------------------------------------

def local_photo(shop: Shop, sha: str) -> Path | None:
    """The file of a photo on this kiosk, under either layout (photos/ab/<sha>.jpg or photos/<sha>.jpg)."""
    for p in (shop.photos_dir / sha[:2] / f"{sha}.jpg", shop.photos_dir / f"{sha}.jpg"):
        if p.is_file():
            return p
    return None


def _save_photo(shop: Shop, sha: str, data: bytes) -> Path:
    if hashlib.sha256(data).hexdigest() != sha:
        raise HubError(f"photo {sha[:12]}… from the hub does not match its hash")
    try:
        return PhotoStore(shop.photos_dir).save(data).path  # with its thumbnail
    except Exception:  # not a JPEG the photo store accepts: keep the bytes as they are
        pass
    path = shop.photos_dir / sha[:2] / f"{sha}.jpg"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def fetch_photo(shop: Shop, sha: str) -> Path:
    """The local file of a photo, fetched from the hub by its hash when this kiosk does not have it."""
    p = local_photo(shop, sha)
    if p is not None:
        return p
    if not shop.site.settings.hub:
        raise NotFound(f"no photo {sha[:12]}… on this kiosk")
    address = hub.address_for(shop.site.settings.hub, shop.dir)
    conn = hub.connect(address, origin=shop.journal.origin, timeout=2)
    try:
        data = hub.get_photo(conn, sha)
    finally:
        conn.close()
    if data is None:
        raise NotFound(f"photo {sha[:12]}… is not on the hub yet (its bench may be offline)")
    return _save_photo(shop, sha, data)


# -- conflicts ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Conflict:
    event_id: str
    job: str
    type: str
    stage: str | None
    person: str | None
    bench: str | None
    origin: str
    ts: str
    reasons: list[str]
    status: str  # open, accepted, dismissed
    resolved_by: str | None = None
    resolved_at: str | None = None
    note: str | None = None


def conflicts(shop: Shop, status: str | None = "open", job: str | None = None) -> list[Conflict]:
    import json

    w = Where().given(status, "status = ?").given(job, "job = ?")
    rows = shop.journal.query(
        "SELECT event_id, job, type, stage, person, bench, origin, ts, reasons, status, resolved_by, resolved_at, note"

        " FROM conflicts" + w.sql() + " ORDER BY ts, event_id", w.params)
    return [Conflict(*r[:8], json.loads(r[8]), *r[9:]) for r in rows]


def resolve_conflict(shop: Shop, event_id: str, decision: str, person_id: str, bench_id: str | None,
                     note: str = "", pin: str | None = None) -> ev.Event:
    """A supervisor accepts (applies where the decision stands) or dismisses a conflicting event."""
    if decision not in ("accept", "dismiss"):
        raise Refused(f"decide 'accept' or 'dismiss', not {decision!r}")
    person = shop.person(person_id)
    if not person.is_supervisor:
        raise Refused(f"{person.name} is not a supervisor; a supervisor decides conflicts")
    judge.check_pin(shop, person, pin, bench_id)
    if bench_id is not None:
        shop.bench(bench_id)

    def build(conn) -> list[ev.Event]:
        row = conn.execute("SELECT job, status, person FROM conflicts WHERE event_id = ?", (event_id,)).fetchone()
        if row is None:
            raise NotFound(f"no conflict for event {event_id}")
        if row[1] != "open":
            raise Refused(f"the conflict on event {event_id[:12]}… was already {row[1]}")
        if row[2] == person_id and decision == "accept":
            raise Refused(f"{person.name} recorded this event: another supervisor decides whether it stands")
        return [shop.event(CONFLICT_RESOLVED, row[0], person_id, bench_id,
                           {"event": event_id, "decision": decision, "note": note.strip()})]

    return shop.journal.append_many(build=build)[0]


# -- status ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SyncStatus:
    """What the kiosk's device strip shows: `online` and `queued` (events not yet on the hub)."""

    online: bool
    queued: int
    enabled: bool = True  # False: the site has no hub
    last_error: str | None = None  # masked: never holds a password
    last_sync_age_s: float | None = None
    conflicts: int = 0
    stopped: bool = False  # a refusal a retry cannot mend (last_error says which): sync waits for a person

    def __str__(self) -> str:
        if not self.enabled:
            return "no hub (this machine only)"
        text = "sync stopped" if self.stopped else "online" if self.online else "offline"
        if self.queued or not self.online:
            text += f", {self.queued} queued"
        if self.conflicts:
            text += f", {self.conflicts} conflict{'s' if self.conflicts != 1 else ''}"
        return text


_workers: dict[int, "BackgroundSync"] = {}
_workers_lock = threading.Lock()


def status(shop: Shop) -> SyncStatus:
    """This kiosk's sync state, cheap enough to call every second."""
    if not shop.site.settings.hub:
        return SyncStatus(False, 0, enabled=False)
    queued = shop.journal.pending_count()
    n_conflicts = shop.journal.query("SELECT count(*) FROM conflicts WHERE status = 'open'")[0][0]
    with _workers_lock:
        w = _workers.get(id(shop))
    if w is None:
        return SyncStatus(False, queued, last_error="sync is not running", conflicts=n_conflicts)
    age = time.monotonic() - w.last_ok if w.last_ok else None
    return SyncStatus(w.online, queued, last_error=w.last_error, last_sync_age_s=age, conflicts=n_conflicts,
                      stopped=w.stopped)


# -- one sync round -------------------------------------------------------------------------------

@dataclass
class Round:
    pushed: int = 0
    pulled: int = 0
    acked: int = 0
    refolded: set[str] = field(default_factory=set)
    photos_up: int = 0
    photos_down: int = 0


class Syncer:
    """Push and pull over one hub connection; the background thread drives it, tests may too."""

    def __init__(self, shop: Shop, bench: str | None = None, address: HubAddress | None = None,
                 readonly: bool = False) -> None:
        if not shop.site.settings.hub and address is None:
            raise HubError("this site has no hub: set hub = \"postgresql://…\" in site.toml")
        self.shop = shop
        self.journal = shop.journal
        self.origin = shop.journal.origin
        self.address = address or hub.address_for(shop.site.settings.hub, shop.dir)
        self.bench = bench or self.address.bench
        self.schema = self.address.schema
        self.conn: psycopg.Connection | None = None
        self._want_photos: set[str] = set()
        self._last_beat = 0.0
        self.readonly = readonly  # only pull: a replica or an audit copy, not a bench


    def connect(self) -> None:
        self.close()
        conn = hub.connect(self.address, origin=self.origin)
        try:
            if not self.readonly:
                hub.register(conn, self.origin, self.bench)
                check_own_history(self.journal, conn, self.origin)
            conn.execute(f'LISTEN "{hub.channel(self.schema)}"')
        except BaseException:
            conn.close()
            raise
        self.conn = conn

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:
                pass
            self.conn = None

    @property
    def cursor(self) -> int:
        return int(self.journal.get_state("hub_pulled", "0") or 0)

    def sync_once(self) -> Round:
        """Push everything pending, pull everything new; raise on a network or hub error."""
        if self.conn is None:
            self.connect()
        r = Round()
        if self.readonly:
            self._pull(r)
            return r
        self._push(r)
        self._pull(r)
        self._photos_down(r)
        self._numbers()
        now = time.monotonic()
        if r.pushed or r.pulled or now - self._last_beat >= HEARTBEAT_S:
            hub.heartbeat(self.conn, self.origin, self.cursor, self.journal.pending_count(), self.bench)
            self._last_beat = now
        return r

    def _push(self, r: Round) -> None:
        after = 0
        while True:
            batch = self.journal.pending(BATCH, after)
            if not batch:
                return
            self._photos_up(batch, r)
            r.pushed += hub.push(self.conn, self.origin, batch, self.schema)
            after = batch[-1].origin_seq

    def _photos_up(self, batch: list[ev.Event], r: Round) -> None:
        # A photo goes up before the event that names it, so whoever sees the event can fetch it.
        shas = sorted({e.payload["sha256"] for e in batch if e.type == ev.PHOTO_ATTACHED and "sha256" in e.payload})
        for sha in hub.missing_photos(self.conn, shas):
            path = local_photo(self.shop, sha)
            if path is None:
                log.warning("photo %s… named by an event is not on this kiosk; the event is sent without it", sha[:12])
                continue
            data = path.read_bytes()
            if hashlib.sha256(data).hexdigest() != sha:
                log.warning("photo file %s does not match its hash; not sent", path)
                continue
            hub.put_photo(self.conn, sha, data, self.origin)
            r.photos_up += 1

    def _pull(self, r: Round) -> None:
        cursor = self.cursor
        while True:
            rows = hub.pull(self.conn, cursor, BATCH)
            if not rows:
                return
            good, refusal = checked(self.journal, rows)
            if not good:
                raise refusal
            cursor = good[-1][0]
            res = self.journal.ingest_hub(good, {"hub_pulled": str(cursor)})
            r.pulled += len(res.new)
            r.acked += res.acked
            r.refolded |= res.refolded
            for e in res.new:
                if e.type == ev.PHOTO_ATTACHED and e.payload.get("sha256"):
                    self._want_photos.add(e.payload["sha256"])
            if refusal is not None:
                raise refusal  # what came before it is applied; it and what follows are not
            if len(rows) < BATCH:
                return

    def _photos_down(self, r: Round) -> None:
        for sha in sorted(self._want_photos):
            if local_photo(self.shop, sha) is None:
                data = hub.get_photo(self.conn, sha)
                if data is None:
                    continue  # not uploaded (yet): try again next round
                _save_photo(self.shop, sha, data)
                r.photos_down += 1
            self._want_photos.discard(sha)

    def _numbers(self) -> None:
        numbers = self.shop.numbers
        if not isinstance(numbers, HubNumbers):
            return
        for kind in Numbers.TABLES:
            with self.journal.lock:
                left = numbers.left(self.journal.conn, kind)
            if left < LOW_WATER:
                numbers.store(kind, hub.reserve_numbers(self.conn, kind, BLOCK, self.origin), BLOCK)

    def wait(self, timeout: float, wake: threading.Event, stop: threading.Event) -> None:
        """Until the hub announces new events, this kiosk records one, or `timeout` passes."""
        deadline = time.monotonic() + timeout
        while not stop.is_set() and not wake.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            # Short slices: a local append sets `wake`, which the socket wait cannot see.
            for _ in self.conn.notifies(timeout=min(0.05, left), stop_after=1):
                return


# -- trusting no bench ----------------------------------------------------------------------------

def _local_hashes(journal, ids: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        out.update(journal.query(f"SELECT id, hash FROM events WHERE id IN ({','.join('?' * len(chunk))})", chunk))
    return out


def _local_head(journal, origin: str) -> tuple[int, str]:
    row = journal.query("SELECT origin_seq, hash FROM events WHERE origin = ? ORDER BY origin_seq DESC LIMIT 1",
                        (origin,))
    return (row[0][0], row[0][1]) if row else (0, ev.GENESIS)


def _why_not(e: ev.Event, n: int, head: str) -> str | None:
    """Why event `e` cannot follow event #n (hash `head`) of its origin's chain; None if it can."""
    bad = malformed(e.payload_json())
    if bad:
        return bad
    if e.compute_hash() != e.hash:
        return "does not match its own hash (what it says was changed after it was recorded)"
    if e.origin_seq != n + 1 or e.prev_hash != head:
        return f"does not follow event #{n} of its bench's chain"
    return None


def checked(journal, rows: list[tuple[int, ev.Event]]) -> tuple[list[tuple[int, ev.Event]], RefusedEvent | None]:
    """The pulled rows that check out, up to the first that does not, and the refusal of that one.

    An event already here must be the very same (same hash); a new one must match its own hash and
    follow its origin's chain as this kiosk has it (no gap, no fork).
    """
    here = _local_hashes(journal, [e.id for _, e in rows])
    heads: dict[str, tuple[int, str]] = {}
    for i, (_, e) in enumerate(rows):
        if e.id in here:
            if here[e.id] == e.hash:
                continue
            why = "differs from the copy this kiosk has"
        else:
            if e.origin not in heads:
                heads[e.origin] = _local_head(journal, e.origin)
            why = _why_not(e, *heads[e.origin])
            if why is None:
                heads[e.origin] = (e.origin_seq, e.hash)
                continue
        return rows[:i], RefusedEvent(
            f"the hub sent event #{e.origin_seq} of kiosk {e.origin} ({e.type}, id {e.id[:12]}…), which {why}: "
            "it was not applied, and nothing after it is until the hub is put right (run "
            "`floorkiosk audit verify --hub`)")
    return rows, None


def check_own_history(journal, conn: psycopg.Connection, origin: str) -> None:
    """Forked if this journal does not hold its own history on the hub (behind it, or differing)."""
    hub_n, hub_h = hub.hub_head(conn, origin)
    if hub_n == 0:
        return
    here = journal.query("SELECT hash FROM events WHERE origin = ? AND origin_seq = ?", (origin, hub_n))
    if not here:
        local_n = _local_head(journal, origin)[0]
        raise Forked(f"this kiosk's journal is behind its own history on the hub: the hub has its events up to "
                     f"#{hub_n}, this journal only up to #{local_n} (restored from a backup, or cut short); nothing "
                     "is sent until `floorkiosk sync recover` brings them back from the hub")
    if here[0][0] != hub_h:
        raise Forked(f"this kiosk's journal differs from its own history on the hub at event #{hub_n} (replaced, "
                     "or restored and written to since); nothing is sent until `floorkiosk sync recover` brings "
                     "the hub's history back and puts the events recorded here since after it")


# -- a bench's derived state beside a fresh replay of the hub's journal ------------------------------

@dataclass(frozen=True)
class ReplayCheck:
    """Each derived table's digest here and in a store built from the hub's journal alone."""

    tables: list[tuple[str, str, str]]  # (table, sha256 here, sha256 of the replay)
    events: int  # the events the replay pulled: the hub's
    here: int  # the events in this bench's journal
    pending: int  # this bench's events not yet on the hub

    @property
    def differing(self) -> list[str]:
        return [t for t, mine, theirs in self.tables if mine != theirs]

    @property
    def comparable(self) -> bool:
        """This bench holds exactly the hub's events: its tables must then be the replay's."""
        return self.pending == 0 and self.here == self.events


def compare_with_hub(shop: Shop, address: HubAddress | None = None, folder: Path | None = None) -> ReplayCheck:
    """Build a fresh store from the hub's journal alone (pulled read-only into a temporary folder, in
    the hub's order) and compare its derived tables with this bench's, table by table.

    Every table is digested in the order of its columns (Journal.table_digests) and holds nothing
    local to one bench, so a bench that holds the hub's events holds the same tables as the replay.
    """
    address = address or hub.address_for(shop.site.settings.hub, shop.dir)
    with tempfile.TemporaryDirectory(prefix="floorkiosk-replay-", dir=folder) as tmp:
        replay = Shop(shop.site, tmp, origin=f"{shop.journal.origin}-replay", areas=shop.areas, clock=shop.clock)
        try:
            s = Syncer(replay, address=address, readonly=True)
            try:
                s.sync_once()
            except psycopg.Error as exc:
                raise HubError(f"the hub could not be read for a replay: {address.scrub(str(exc).strip())}") from None
            finally:
                s.close()
            theirs, n = replay.journal.table_digests(), replay.journal.count()
        finally:
            replay.close()
    mine = shop.journal.table_digests()
    rows = [(t, mine.get(t, "missing"), theirs.get(t, "missing")) for t in sorted(set(mine) | set(theirs))]
    return ReplayCheck(rows, n, shop.journal.count(), shop.journal.pending_count())


@dataclass(frozen=True)
class Recovery:
    recovered: int  # this kiosk's own events brought back from the hub
    moved: int  # events recorded here that the hub did not have, chained again after them (to be sent)
    hub_head: int  # this kiosk's last event on the hub
    kept: Path | None  # a copy of the journal as it was before


def recover(shop: Shop, address: HubAddress | None = None) -> Recovery:
    """Bring this kiosk's own events back from the hub into its journal (`floorkiosk sync recover`).

    Each is checked against its hash and the chain before it. Events recorded here that the hub
    does not have (a journal restored and written to since) are kept: chained again after the
    hub's last one, with the same ids, to be sent at the next sync. The journal as it was is kept
    beside it first, and the derived tables are folded again.
    """
    j = shop.journal
    origin = j.origin
    address = address or hub.address_for(shop.site.settings.hub, shop.dir)
    conn = hub.connect(address, origin=origin)
    try:
        hub.register(conn, origin, address.bench)
        hub_n, _ = hub.hub_head(conn, origin)
        local = dict(j.query("SELECT origin_seq, hash FROM events WHERE origin = ?", (origin,)))
        # the longest common start: hashes chain, so equal at #k means equal before it
        m = min(max(local, default=0), hub_n)
        if m and local.get(m) == hub.hash_at(conn, origin, m):
            k = m
        else:
            lo, hi = 0, m
            while hi - lo > 1:
                mid = (lo + hi) // 2
                lo, hi = (mid, hi) if local.get(mid) == hub.hash_at(conn, origin, mid) else (lo, mid)
            k = lo
        if k == hub_n:
            return Recovery(0, 0, hub_n, None)
        fetched: list[tuple[int, ev.Event]] = []
        n, prev = k, local.get(k, ev.GENESIS) if k else ev.GENESIS
        while n < hub_n:
            rows = hub.origin_events(conn, origin, n, BATCH)
            if not rows:
                break
            for hs, e in rows:
                why = _why_not(e, n, prev)
                if why is not None:
                    raise RefusedEvent(f"event #{e.origin_seq} of this kiosk on the hub {why}; nothing was changed "
                                       "here (run `floorkiosk audit verify --hub`)")
                fetched.append((hs, e))
                n, prev = e.origin_seq, e.hash
    finally:
        conn.close()
    forked = [event_of(r) for r in j.query(
        f"SELECT {EVENT_COLS} FROM events WHERE origin = ? AND origin_seq > ? ORDER BY origin_seq", (origin, k))]
    kept = j.path.with_name(f"{j.path.stem}.before-recover-{time.strftime('%Y%m%dT%H%M%S')}{j.path.suffix}")
    with j.lock:
        copy = sqlite3.connect(kept)
        try:
            j.conn.backup(copy)
        finally:
            copy.close()
        conn_l = j.conn
        conn_l.execute("BEGIN IMMEDIATE")
        try:
            if forked:
                # the one sanctioned removal: these are re-recorded below, after the hub's history
                conn_l.execute("DROP TRIGGER IF EXISTS events_no_delete")
                conn_l.execute("DELETE FROM events WHERE origin = ? AND origin_seq > ?", (origin, k))
                conn_l.execute(TRIGGERS["events_no_delete"])
            cols = "id, origin, origin_seq, type, job, person, bench, ts, payload, prev_hash, hash, hub_seq"
            conn_l.executemany(f"INSERT INTO events ({cols}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                               [(e.id, e.origin, e.origin_seq, e.type, e.job, e.person, e.bench, e.ts, e.payload_json(),
                                 e.prev_hash, e.hash, hs) for hs, e in fetched])
            rows = []
            for e in forked:
                n += 1
                c = e.chained(origin, n, prev)
                prev = c.hash
                rows.append((c.id, c.origin, c.origin_seq, c.type, c.job, c.person, c.bench, c.ts, c.payload_json(),
                             c.prev_hash, c.hash, None))
            conn_l.executemany(f"INSERT INTO events ({cols}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows)
            # pull again from the last event here the hub had ordered: what a cut journal lost comes back
            cursor = conn_l.execute("SELECT coalesce(max(hub_seq), 0) FROM events WHERE hub_seq IS NOT NULL"
                                    " AND NOT (origin = ? AND origin_seq > ?)", (origin, k)).fetchone()[0]
            cursor = min(cursor, int(j.get_state("hub_pulled", "0") or 0))
            conn_l.execute("INSERT OR REPLACE INTO sync_state (key, value) VALUES ('hub_pulled', ?)", (str(cursor),))
            conn_l.execute("COMMIT")
        except BaseException:
            if conn_l.in_transaction:
                conn_l.execute("ROLLBACK")
            raise
    j.rebuild()
    return Recovery(len(fetched), len(forked), hub_n, kept)


# -- the background thread ------------------------------------------------------------------------

class BackgroundSync:
    """The kiosk's sync worker: start() in on_mount, stop() in on_unmount. Never raises into the app."""

    def __init__(self, shop: Shop, bench: str | None = None, address: HubAddress | None = None) -> None:
        self.syncer = Syncer(shop, bench, address)
        self.shop = shop
        self.online = False
        self.last_error: str | None = None
        self.last_ok: float | None = None
        self.stopped = False  # the last round ended in a refusal a retry cannot mend
        self.rounds = 0
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="floorkiosk-hubsync", daemon=True)
        self._listener = self._on_append

    def _on_append(self, events: list[ev.Event]) -> None:
        if any(e.origin == self.syncer.origin for e in events):
            self._wake.set()

    def start(self) -> "BackgroundSync":
        self.shop.journal.subscribe(self._listener)
        with _workers_lock:
            _workers[id(self.shop)] = self
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)
        self.shop.journal.unsubscribe(self._listener)
        with _workers_lock:
            if _workers.get(id(self.shop)) is self:
                del _workers[id(self.shop)]

    def kick(self) -> None:
        """Sync now rather than at the next notification or heartbeat."""
        self._wake.set()

    def _run(self) -> None:
        backoff = BACKOFF_MIN_S
        s = self.syncer
        while not self._stop.is_set():
            try:
                self._wake.clear()
                s.sync_once()
                self.rounds += 1
                self.online, self.last_error, self.last_ok = True, None, time.monotonic()
                self.stopped = False
                backoff = BACKOFF_MIN_S
                s.wait(HEARTBEAT_S, self._wake, self._stop)
            except (psycopg.Error, HubError, OSError) as exc:
                msg = s.address.scrub(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
                stopped = isinstance(exc, STOPPING)
                if self.online or msg != self.last_error:
                    log.warning("hub sync %s: %s", "stopped" if stopped else "offline", msg)
                self.online, self.last_error, self.stopped = False, msg, stopped
                s.close()
                self._stop.wait(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_S)
            except Exception as exc:  # a bug must not kill sync for good: say it, back off, go on
                log.exception("hub sync failed")
                self.online, self.last_error = False, s.address.scrub(f"{type(exc).__name__}: {exc}")
                s.close()
                self._stop.wait(BACKOFF_MAX_S)
        s.close()


def start_background_sync(shop: Shop, bench: str | None = None) -> BackgroundSync:
    """Start syncing this kiosk with its hub in a background thread; returns a handle with .stop()."""
    return BackgroundSync(shop, bench).start()
