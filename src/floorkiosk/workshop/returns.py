"""A defect told to where it came from: the person whose stage run a QC reject charged it to sees it at their kiosk.

QC's derived table of defects (qc_defects) keeps each reject's origin: the stage sent back, and the
bench and person of its run. `unseen` lists a person's defects they have not yet seen; the kiosk
shows them on that person's worklist, at whatever bench they badge in, and on the job's card, and
records `defect.seen` (`seen`) once the card has shown them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from floorkiosk.domain import events as ev
from floorkiosk.domain.qc import DEFECT_SEEN
from floorkiosk.domain.records import Site
from floorkiosk.store.projection import ChunkedRebuild
from floorkiosk.workshop.shop import Area, Shop


@dataclass(frozen=True)
class Returned:
    """One defect charged to a person's run, as they are told it."""

    id: str  # the stage.rejected event's id
    ts: str
    job: str
    defect: str
    origin: str  # the stage sent back
    origin_name: str
    origin_bench: str | None
    found_at: str  # the bench it was found at (the QC station …)
    found_name: str
    inspector: str  # a name
    reason: str

    def said(self) -> str:
        """'returned to you: defect LOOSE-STONE on J000003 from QC station (Eva Lindqvist); Stone setting to redo'."""
        why = f" — {self.reason}" if self.reason and self.reason.upper() != self.defect else ""
        return (f"returned to you: defect {self.defect} on {self.job} from {self.found_name} ({self.inspector}){why}; "
                f"{self.origin_name} to redo")


def unseen(shop: Shop, person_id: str, job: str | None = None, limit: int = 20) -> list[Returned]:
    """The defects charged to this person's runs that they have not seen yet, oldest first."""
    site = shop.site
    q = ("SELECT d.id, d.ts, d.job, d.defect, d.origin, d.origin_bench, d.bench, d.inspector FROM qc_defects d"
         " WHERE d.origin_person = ? AND NOT EXISTS (SELECT 1 FROM defects_seen s WHERE s.defect = d.id)")
    params: list[object] = [person_id]
    if job is not None:
        q += " AND d.job = ?"
        params.append(job)
    rows = shop.journal.query(q + " ORDER BY d.ts LIMIT ?", [*params, limit])
    out = []
    for did, ts, jid, defect, origin, bench, found, inspector in rows:
        reason = ""
        e = shop.journal.query("SELECT json_extract(payload, '$.reason') FROM events WHERE id = ?", (did,))
        if e and e[0][0]:
            reason = str(e[0][0])
        out.append(Returned(did, ts, jid, defect, origin or "", site.stages[origin].name if origin in site.stages
                            else (origin or ""), bench, found or "", site.benches[found].name if found in site.benches
                            else (found or "QC"), shop.name(inspector) if inspector else "QC", reason))
    return out


def seen(shop: Shop, person_id: str, items: Iterable[Returned], bench_id: str | None = None) -> int:
    """Record that the person has seen these defects (the card showed them); how many."""
    evs = [shop.event(DEFECT_SEEN, r.job, person_id, bench_id, {"defect": r.id, "job": r.job}) for r in items]
    if evs:
        shop.journal.append_many(evs)
    return len(evs)


# --- the derived table ----------------------------------------------------------------------------

def _m001(db) -> None:  # sqlite_utils.Database
    db.execute("CREATE TABLE defects_seen (defect TEXT PRIMARY KEY, person TEXT, ts TEXT) WITHOUT ROWID")
    db.execute("INSERT OR IGNORE INTO defects_seen (defect, person, ts) SELECT json_extract(payload, '$.defect'),"
               " person, ts FROM events WHERE type = ?", [DEFECT_SEEN])


class SeenProjector(ChunkedRebuild):
    tables = ("defects_seen",)
    rebuild_apart = True  # reads only its own events
    rebuild_types = frozenset({DEFECT_SEEN})
    rebuild_weight = 0

    def __init__(self, site: Site) -> None:
        self.site = site

    def apply(self, conn: sqlite3.Connection, events: list[ev.Event]) -> None:
        for e in events:
            if e.type == DEFECT_SEEN:
                conn.execute("INSERT OR IGNORE INTO defects_seen (defect, person, ts) VALUES (?, ?, ?)",
                             (e.payload.get("defect"), e.person, e.ts))

    def rebuild_feed(self, conn: sqlite3.Connection, events: Iterable[ev.Event]) -> None:
        self.apply(conn, [e for e in events if e.type in self.rebuild_types])

    def rebuild_end(self, conn: sqlite3.Connection) -> None:
        pass


def describe(shop: Shop, e: ev.Event) -> str:
    return f"{shop.name(e.person) or 'someone'} saw the defect QC charged to their work"


AREA = Area("returns", projectors=lambda site: [SeenProjector(site)], migrations=(("returns_001_seen", _m001),),
            describers={DEFECT_SEEN: describe})
