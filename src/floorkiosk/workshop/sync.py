"""Hub sync for one kiosk: push this bench's events, pull everyone else's, keep working offline.

The kiosk always writes to its own SQLite journal first; what it acknowledges on screen is on its
disk. A background thread then pushes the pending events to the PostgreSQL hub (each exactly once:
the hub skips what it already has by origin_seq and is unique by id) and pulls every event after
its cursor in the hub's order, which also acknowledges its own. Pulled events that land before
events this kiosk already applied make the journal fold those jobs again, so every kiosk's derived
state is the fold of the same events in the same order; the guardrails judge every event again
in that order and what they refuse becomes a conflict for a supervisor (see store/projection.py).

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
from floorkiosk.store.hub import HubAddress, HubError
from floorkiosk.store.projection import CONFLICT_RESOLVED
from floorkiosk.store.where import Where
from floorkiosk.workshop.shop import Area, Numbers, Shop

log = logging.getLogger("floorkiosk.workshop.sync")

BATCH = 5000  # events per push or pull round trip
BLOCK = 200  # numbers reserved from the hub at a time
LOW_WATER = 50  # reserve another block when fewer than this are left
HEARTBEAT_S = 2.0  # sync at least this often, so lag shows on the hub and a dead link is noticed
BACKOFF_MIN_S, BACKOFF_MAX_S = 0.2, 5.0


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

    def __str__(self) -> str:
        if not self.enabled:
            return "no hub (this machine only)"
        text = "online" if self.online else "offline"
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
    return SyncStatus(w.online, queued, last_error=w.last_error, last_sync_age_s=age, conflicts=n_conflicts)


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
            cursor = rows[-1][0]
            res = self.journal.ingest_hub(rows, {"hub_pulled": str(cursor)})
            r.pulled += len(res.new)
            r.acked += res.acked
            r.refolded |= res.refolded
            for e in res.new:
                if e.type == ev.PHOTO_ATTACHED and e.payload.get("sha256"):
                    self._want_photos.add(e.payload["sha256"])
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


# -- the background thread ------------------------------------------------------------------------

class BackgroundSync:
    """The kiosk's sync worker: start() in on_mount, stop() in on_unmount. Never raises into the app."""

    def __init__(self, shop: Shop, bench: str | None = None, address: HubAddress | None = None) -> None:
        self.syncer = Syncer(shop, bench, address)
        self.shop = shop
        self.online = False
        self.last_error: str | None = None
        self.last_ok: float | None = None
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
                backoff = BACKOFF_MIN_S
                s.wait(HEARTBEAT_S, self._wake, self._stop)
            except (psycopg.Error, HubError, OSError) as exc:
                msg = s.address.scrub(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
                if self.online or msg != self.last_error:
                    log.warning("hub sync offline: %s", msg)
                self.online, self.last_error = False, msg
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
