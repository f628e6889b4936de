"""Anchoring a site's journal: its key made at `init`, checkpoints written as work goes on and at the end, and the check.

The checkpoints are written by a thread of their own, never inside an append: an append only marks
that there is something new (a counter and a flag), so the acknowledged path pays nothing for them.
A checkpoint is due after EVERY_EVENTS events (no sooner than MIN_GAP_S after the last one), after
EVERY_S seconds when fewer came, and when the site is closed (the kiosk's end, a CLI command's end:
closing is also hooked to the interpreter's exit, for the commands that never close their site).
On a hub site the bench's own chain head also goes to the hub (store.hub_anchors).
"""

from __future__ import annotations

import atexit
import logging
import sqlite3
import threading
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path

from floorkiosk.store import anchors
from floorkiosk.store.anchors import Head, SiteKey
from floorkiosk.store.journal import file_sha256

log = logging.getLogger("floorkiosk.workshop.anchoring")

EVERY_EVENTS = 100
EVERY_S = 10.0
MIN_GAP_S = 1.0
HUB_TIMEOUT_S = 1.0


def start_log(site_dir: str | Path, key: SiteKey) -> None:
    """The log's first line: made with the key, vouching for no events yet (a site's beginning)."""
    anchors.append_checkpoint(Path(site_dir) / anchors.LOG_FILE, key, [], genesis=True)


def make_key(site_dir: str | Path) -> SiteKey:
    """A new site's key and the first line of its checkpoint log (at `init`, and for the demo site)."""
    key = anchors.create_key(site_dir)
    start_log(site_dir, key)
    return key


def key_for(site_dir: str | Path, journal_conn: sqlite3.Connection | None = None) -> tuple[SiteKey, str | None]:
    """The site's key, made now for a site that was created without one: (key, what was done, or None).

    A site made before its journal was anchored gets its key on first need; what the journal holds
    then is anchored from that moment on (nothing can vouch for what came before).
    """
    key = anchors.load_key(site_dir)
    if key is not None:
        return key, None
    key = make_key(site_dir)
    said = (f"this site had no key to sign its checkpoints: made {key.path} (readable by its owner only) and "
            f"started {Path(site_dir) / anchors.LOG_FILE}; the journal is anchored from now on")
    if journal_conn is not None:
        heads = anchors.chain_heads(journal_conn)
        if heads:
            anchors.append_checkpoint(Path(site_dir) / anchors.LOG_FILE, key, heads.values())
    return key, said


_open: weakref.WeakSet = weakref.WeakSet()


@atexit.register
def _close_open() -> None:
    for a in list(_open):
        a.close()


class Anchoring:
    """The checkpoint writer of one open site; `close()` writes the last checkpoint."""

    def __init__(self, site_dir: str | Path, journal, hub: str | None = None) -> None:
        self.dir = Path(site_dir)
        self.log_path = self.dir / anchors.LOG_FILE
        self.journal = journal
        self.hub = hub
        self._count = 0
        self._dirty = False
        self._written: dict[str, Head] = {}
        self._published: Head | None = None
        self._key: SiteKey | None = None
        self._hub_conn = None
        self._ro: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._start_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last = 0.0
        self._closed = False
        journal.subscribe(self._on_events)
        _open.add(self)

    # -- on the append path: as little as can be ---------------------------------------------------
    def _on_events(self, events) -> None:
        self._dirty = True
        self._count += len(events)
        if self._thread is None:
            self._start()
        if self._count >= EVERY_EVENTS:
            self._wake.set()

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._run, name=f"checkpoints {self.dir.name}", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(EVERY_S)
            if self._stop.is_set():
                return
            gap = time.monotonic() - self._last
            if gap < MIN_GAP_S and self._stop.wait(MIN_GAP_S - gap):
                return
            self._wake.clear()
            if self._dirty:
                self.checkpoint()

    # -- writing --------------------------------------------------------------------------------
    def _heads(self) -> dict[str, Head]:
        if self._ro is None:
            # its own reader: a checkpoint never waits for the journal's lock, nor holds it
            self._ro = sqlite3.connect(f"file:{self.journal.path}?mode=ro", uri=True, check_same_thread=False,
                                       timeout=5)
        return anchors.chain_heads(self._ro)

    def checkpoint(self) -> bool:
        """Write the heads that changed since the last checkpoint of this process; True if a line was written.
        Never raises: a checkpoint that cannot be written is said in the log and tried again later."""
        with self._lock:
            try:
                self._dirty = False
                self._count = 0
                heads = self._heads()
                changed = [h for o, h in heads.items() if self._written.get(o) != h]
                if changed:
                    if self._key is None:
                        self._key, said = key_for(self.dir)
                        if said:
                            log.warning("%s", said)
                    anchors.append_checkpoint(self.log_path, self._key, changed)
                    self._written.update({h.origin: h for h in changed})
                    self._last = time.monotonic()
                own = heads.get(self.journal.origin)
                if self.hub and own is not None and own != self._published:
                    self._publish(self._key or key_for(self.dir)[0], own)
                return bool(changed)
            except (OSError, sqlite3.Error, anchors.AnchorError) as exc:
                self._dirty = True
                log.warning("checkpoint not written (tried again later): %s", exc)
                return False

    def _publish(self, key: SiteKey | None, own: Head) -> None:
        # Imported here, not above: the hub's driver (psycopg) is loaded only by the sites that have a hub.
        import psycopg

        from floorkiosk.store import hub, hub_anchors  # with psycopg: hub sites only

        if key is None:
            return
        try:
            if self._hub_conn is None:
                address = hub.address_for(self.hub, self.dir)
                self._hub_conn = hub.connect(address, origin=self.journal.origin, timeout=HUB_TIMEOUT_S)
            hub_anchors.publish(self._hub_conn, key, own, anchors.now_utc())
            self._published = own
        except (psycopg.Error, hub.HubError, hub_anchors.KeyMismatch, OSError) as exc:
            log.warning("checkpoint not sent to the hub (sent with the next one): %s", exc)
            self._drop_hub()

    def _drop_hub(self) -> None:
        if self._hub_conn is not None:
            try:
                self._hub_conn.close()
            except Exception:  # closing a dead link: nothing to say
                pass
            self._hub_conn = None

    def close(self) -> None:
        """Stop the writer and write the last checkpoint (the kiosk's or the command's end)."""
        with self._start_lock:
            if self._closed:
                return
            self._closed = True
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._dirty:
            self.checkpoint()
        self.journal.unsubscribe(self._on_events)
        with self._lock:
            if self._ro is not None:
                self._ro.close()
                self._ro = None
            self._drop_hub()
        _open.discard(self)


# -- the check --------------------------------------------------------------------------------------

@dataclass
class AnchorCheck:
    """The journal against its checkpoints (the log and, on hub sites, the hub)."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    lines: int = 0
    last_at: str | None = None
    hub_points: int | None = None  # checkpoints read from the hub; None: not asked
    snapshot: dict | None = None  # the last signed snapshot of the derived tables in the log


def check(shop) -> AnchorCheck:
    """Compare the shop's journal with its checkpoint log (and the hub's checkpoints on a hub site)."""
    out = AnchorCheck()
    journal = shop.journal
    with journal.lock:
        key, said = key_for(shop.dir, journal.conn)
    if said:
        out.notes.append(said)
    wrong = anchors.key_mode_problem(key)
    if wrong:
        out.problems.append(wrong)
    path = shop.dir / anchors.LOG_FILE
    if not path.exists():
        out.problems.append(f"the checkpoint log {path} is missing, though the site key {key.id} that signs it is "
                            "here: it was deleted or moved, and nothing vouches for the journal's length")
        reading = anchors.LogReading()
    else:
        reading = anchors.read_log(path, key)
    out.problems += reading.problems
    out.notes += reading.notes
    out.lines, out.last_at, out.snapshot = reading.lines, reading.last_at, reading.snapshot
    with journal.lock:
        out.problems += anchors.compare(journal.conn, reading.points)
    if shop.site.settings.hub:
        _check_hub(shop, key, out)
    return out


def _check_hub(shop, key: SiteKey, out: AnchorCheck) -> None:
    # Imported here, not above: the hub's driver (psycopg) is loaded only by the sites that have a hub.
    import psycopg

    from floorkiosk.store import hub, hub_anchors  # with psycopg: hub sites only

    journal = shop.journal
    with journal.lock:
        origins = sorted({*anchors.chain_heads(journal.conn), journal.origin})
    address = hub.address_for(shop.site.settings.hub, shop.dir)
    try:
        conn = hub.connect(address, origin=journal.origin, timeout=3)
    except hub.HubError as exc:
        out.notes.append(f"the hub's checkpoints were not compared: {exc}")
        return
    try:
        points, problems = hub_anchors.fetch(conn, origins, journal.origin, key)
    except psycopg.errors.UndefinedTable:
        out.notes.append("the hub keeps no checkpoints yet: run `floorkiosk hub init` with an admin address")
        return
    except psycopg.Error as exc:
        out.notes.append(f"the hub's checkpoints were not compared: {address.scrub(str(exc).strip())}")
        return
    finally:
        conn.close()
    out.hub_points = sum(len(p) for p in points.values())
    out.problems += problems
    with journal.lock:
        out.problems += anchors.compare(journal.conn, points, "the hub", tail_of=[journal.origin])


# -- the derived tables: checked from the last signed snapshot -------------------------------------

@dataclass
class Derived:
    """The derived tables' check, and how it was made (from a snapshot, or the whole journal)."""

    check: object  # store.journal.DerivedCheck
    problems: list[str] = field(default_factory=list)  # the snapshot was tampered with
    notes: list[str] = field(default_factory=list)  # why the whole journal was folded; the snapshot taken


def usable_snapshot(shop, signed: dict | None) -> tuple[Path | None, int, list[str], list[str]]:
    """(the snapshot's file, its sequence, problems, notes): the last signed snapshot when its file is
    there, matches its signed sha256 and the journal still holds the event it was folded up to."""
    if signed is None:
        return None, 0, [], []  # none taken yet: the whole journal is folded, as the result says
    name = str(signed.get("file", ""))
    path = shop.dir / name
    where = f"(checkpoint log line {signed.get('line')}, {signed.get('at')})"
    try:
        seq = int(signed["seq"])
        want, last = str(signed["sha256"]), str(signed["hash"])
    except (KeyError, TypeError, ValueError):
        return None, 0, [f"the signed snapshot {where} is not one this version reads"], []
    if Path(name).name != name or not name.startswith(anchors.SNAPSHOT_PREFIX):
        return None, 0, [f"the signed snapshot {where} names no snapshot file ({name!r})"], []
    if not path.exists():
        return None, 0, [], [f"the snapshot {path} signed {where} is missing: the whole journal is folded"]
    got = file_sha256(path)
    if got != want:
        return None, 0, [f"the snapshot {path} does not match the sha256 signed for it {where} (it is {got[:16]}, "
                         f"signed {want[:16]}): the file was changed; the whole journal is folded instead"], []
    # a reader of its own: this may run while the chains are walked under the journal's lock
    ro = sqlite3.connect(f"file:{shop.journal.path}?mode=ro", uri=True)
    try:
        row = ro.execute("SELECT hash FROM events WHERE seq = ?", (seq,)).fetchone()
    finally:
        ro.close()
    if row is None or row[0] != last:
        return None, 0, [], [f"the journal no longer holds the event the snapshot {path.name} was folded up to "
                             f"(journal seq {seq}): the whole journal is folded"]
    return path, seq, [], []


def check_derived(shop, anchored: AnchorCheck | None, full: bool = False) -> Derived:
    """The derived tables against the journal: from the last signed snapshot, folding only the events
    after it, unless `full` or there is no snapshot that passes its signature and digest."""
    out = Derived(None)
    base, seq = None, 0
    if full:
        out.notes.append("--full: the whole journal is folded")
    elif anchored is not None:
        base, seq, out.problems, out.notes = usable_snapshot(shop, anchored.snapshot)
    out.check = shop.journal.check_derived(base=base, base_seq=seq)
    if out.check.note:
        out.notes.append(out.check.note)
    return out


def take_snapshot(shop, check) -> str | None:
    """Keep the derived tables that `check` found as the journal gives them as the new snapshot, its
    digest signed in the checkpoint log; older snapshots are then removed. What was done, or None."""
    if check.differing or not check.in_order or check.upto == 0 or check.upto == check.base_seq:
        if check.fold_file is not None:
            check.fold_file.unlink(missing_ok=True)
        return None  # nothing to keep, or a hub site (whose fold follows the hub's order: always whole)
    journal = shop.journal
    path = shop.dir / f"{anchors.SNAPSHOT_PREFIX}{check.upto}.db"
    try:
        if check.fold_file is not None:
            # folded from the last snapshot and found the same as every stored table: that fold is the next one
            signed = journal.keep_snapshot(check.fold_file, path, check.upto, check.last_hash)
        else:
            signed = journal.write_snapshot(path, check)
    except (OSError, sqlite3.Error) as exc:
        if check.fold_file is not None:
            check.fold_file.unlink(missing_ok=True)
        return f"no snapshot of the derived tables kept ({exc}): the next check folds from the last one"
    if signed is None:
        return "no snapshot of the derived tables taken: the journal moved on while it was checked"
    try:
        with journal.lock:
            key, _ = key_for(shop.dir, journal.conn)
        # a line of its own: it vouches for the snapshot (which names the event it was folded up to), the
        # chains' heads are vouched for by the checkpoints written as work goes on
        anchors.append_checkpoint(shop.dir / anchors.LOG_FILE, key, [], snapshot=signed)
    except (OSError, anchors.AnchorError) as exc:
        return f"the snapshot {path.name} was not signed ({exc}): the next check folds from the last one"
    for old in shop.dir.glob(f"{anchors.SNAPSHOT_PREFIX}*.db"):
        if old != path:
            old.unlink(missing_ok=True)
    return f"the derived tables at journal seq {check.upto} kept as {path.name}, its digest signed in the checkpoint log"
