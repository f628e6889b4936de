"""Evidence is evidence: every photo the journal refers to is in the site's photo store, under its hash.

A photo is checked when it is attached (it must be in the store: the bench camera puts it there
first), and `audit verify` reads every referenced photo back and hashes it, so a missing, swapped
or edited file is named with the job and stage it is evidence for.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace

from floorkiosk.devices.photos import PhotoStore
from floorkiosk.domain import events as ev
from floorkiosk.errors import Refused
from floorkiosk.store.rows import read_chunks
from floorkiosk.workshop.shop import Shop


def require_photo(shop: Shop, sha256: str) -> None:
    """Refuse a photo hash that names no photo in this site's store."""
    path = PhotoStore(shop.photos_dir).path_for(sha256)  # Refused for anything but a hash
    if not path.is_file() or path.stat().st_size == 0:
        raise Refused(f"no photo {sha256[:12]}… in this site's photo store: photograph the piece with the "
                      "bench camera (PHOTO); a hash alone is not evidence")


@dataclass
class PhotoAudit:
    checked: int = 0
    problems: list[str] = field(default_factory=list)  # missing or changed: the evidence does not stand
    elsewhere: list[str] = field(default_factory=list)  # hub sites: taken at another bench, kept on the hub
    failed: int = 0  # how many problems, also those said as they were found (audit_photos' `say`)


# The first event naming each photo, in journal order: SQLite groups the hashes (in a temporary
# b-tree, on disk if need be), so no set of every photo ever taken is held here.
_FIRST_OF_EACH = ("SELECT id, origin, job, payload FROM events WHERE seq IN ("
                  " SELECT min(seq) FROM events WHERE type = ? GROUP BY coalesce(json_extract(payload, '$.sha256'), ''))"
                  " ORDER BY seq")


def _first_of_each(shop: Shop) -> Iterator[tuple[ev.Event | SimpleNamespace, dict]]:
    """(event, payload) for the first photo.attached event of each photo hash, in journal order.
    From the grouping query, the event carries only what the check names (id, origin, job)."""
    journal = shop.journal
    given = 0
    try:
        with journal.lock:
            fetch = journal.conn.execute(_FIRST_OF_EACH, (ev.PHOTO_ATTACHED,)).fetchmany
            batch = fetch(2000)
        while batch:
            for eid, origin, job, payload in batch:
                yield SimpleNamespace(id=eid, origin=origin, job=job), ev.loads(payload)
                given += 1
            with journal.lock:
                batch = fetch(2000)
        return
    except (sqlite3.OperationalError, ValueError):
        pass  # a payload that is not JSON (audit verify names it): every photo event is read here instead
    seen: set[str] = set()
    with journal.lock:
        # the reader that leaves out what it cannot read (audit verify names those events)
        for chunk in read_chunks(journal.conn, "seq", 2000, types=[ev.PHOTO_ATTACHED], hashes=False, bad=[]):
            for e in chunk:
                sha = e.payload.get("sha256", "")
                if sha not in seen:
                    seen.add(sha)
                    if given:
                        given -= 1  # given already, in the same order, before the grouping query failed
                        continue
                    yield e, e.payload


def audit_photos(shop: Shop, say: Callable[[str], None] | None = None) -> PhotoAudit:
    """Read back and hash every photo the journal refers to.

    `say`: each problem is given to it as it is found rather than kept in `problems` (a site whose
    photos are lost has as many problems as photos)."""
    store = PhotoStore(shop.photos_dir)
    hub = shop.site.settings.hub is not None
    out = PhotoAudit()

    def problem(text: str) -> None:
        out.failed += 1
        if say is not None:
            say(text)
        else:
            out.problems.append(text)

    for e, payload in _first_of_each(shop):
        sha = payload.get("sha256", "")
        out.checked += 1
        what = f"{e.job} {shop.site.stages[payload['stage']].name if payload.get('stage') in shop.site.stages else ''}"
        try:
            path = store.path_for(sha)
        except Refused:
            problem(f"{what.strip()}: event {e.id[:12]}… names {sha[:16]!r}, which is not a photo hash")
            continue
        if not path.is_file():
            if hub and e.origin != shop.journal.origin:
                out.elsewhere.append(f"{what.strip()}: photo {sha[:12]}… (taken at another bench)")
            else:
                problem(f"{what.strip()}: photo {sha[:12]}… is missing from the photo store")
            continue
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        if h.hexdigest() != sha:
            problem(f"{what.strip()}: photo {sha[:12]}… does not match its hash: the file was changed")
    return out
