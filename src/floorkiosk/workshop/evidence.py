"""Evidence is evidence: every photo the journal refers to is in the site's photo store, under its hash.

A photo is checked when it is attached (it must be in the store: the bench camera puts it there
first), and `audit verify` reads every referenced photo back and hashes it, so a missing, swapped
or edited file is named with the job and stage it is evidence for.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from floorkiosk.devices.photos import PhotoStore
from floorkiosk.domain import events as ev
from floorkiosk.errors import Refused
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


def audit_photos(shop: Shop) -> PhotoAudit:
    """Read back and hash every photo the journal refers to."""
    store = PhotoStore(shop.photos_dir)
    hub = shop.site.settings.hub is not None
    out = PhotoAudit()
    seen: set[str] = set()
    for e in shop.journal.events(types=[ev.PHOTO_ATTACHED]):
        sha = e.payload.get("sha256", "")
        if sha in seen:
            continue
        seen.add(sha)
        out.checked += 1
        what = f"{e.job} {shop.site.stages[e.payload['stage']].name if e.payload.get('stage') in shop.site.stages else ''}"
        try:
            path = store.path_for(sha)
        except Refused:
            out.problems.append(f"{what.strip()}: event {e.id[:12]}… names {sha[:16]!r}, which is not a photo hash")
            continue
        if not path.is_file():
            if hub and e.origin != shop.journal.origin:
                out.elsewhere.append(f"{what.strip()}: photo {sha[:12]}… (taken at another bench)")
            else:
                out.problems.append(f"{what.strip()}: photo {sha[:12]}… is missing from the photo store")
            continue
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        if h.hexdigest() != sha:
            out.problems.append(f"{what.strip()}: photo {sha[:12]}… does not match its hash: the file was changed")
    return out
