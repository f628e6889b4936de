"""The client's private link to one job: made and withdrawn, the photos a supervisor shows on it, and the job it opens.

A link is a random token of 192 bits. The journal keeps only the token's SHA-256 (`client.link_made`),
so neither the journal nor the hub, nor an audit copy of either, can open the link; the person who
makes it is shown the token once, in the link printed. `client.link_revoked` withdraws every link of
the job made before it. A link opens only its job, and only until its last day.

The client sees the photos a supervisor marked for them (`client.photo_marked`), no others.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import date, timedelta

from floorkiosk.domain import events as ev
from floorkiosk.domain import payloads
from floorkiosk.errors import NotFound, Refused
from floorkiosk.workshop.shop import Area, Shop

LINK_DAYS = 180  # a link opens for this many days unless the person who makes it says otherwise
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def make_link(shop: Shop, job_id: str, person_id: str | None, *, days: int = LINK_DAYS,
              bench_id: str | None = None) -> tuple[str, str]:
    """A new link's token for the job, and its last day; recorded as client.link_made (the token's hash only)."""
    if person_id is None:
        raise Refused("say who makes the link (--person)")
    shop.person(person_id)
    if not 1 <= days <= 3660:
        raise Refused(f"a link opens for 1 to 3660 days, not {days}")
    job = shop.job(job_id)
    token = secrets.token_urlsafe(24)
    expires = (shop.today() + timedelta(days=days)).isoformat()
    shop.journal.append(shop.event(ev.CLIENT_LINK_MADE, job.id, person_id, bench_id,
                                   {"token_sha256": token_hash(token), "expires": expires}))
    return token, expires


def revoke_links(shop: Shop, job_id: str, person_id: str | None, *, reason: str = "",
                 bench_id: str | None = None) -> int:
    """Withdraw every link of the job; how many were open."""
    if person_id is None:
        raise Refused("say who withdraws the links (--person)")
    shop.person(person_id)
    job = shop.job(job_id)
    n = len(_open_links(shop, job.id))
    payload = {"reason": reason} if reason else {}
    shop.journal.append(shop.event(ev.CLIENT_LINK_REVOKED, job.id, person_id, bench_id, payload))
    return n


def mark_photo(shop: Shop, job_id: str, photo: str, person_id: str | None, *, shown: bool = True,
               bench_id: str | None = None) -> str:
    """A supervisor shows a photo of the job on the client's link (or stops showing it); its full hash."""
    shop.supervisor(person_id, "marks a photo for the client")
    job = shop.job(job_id)
    want = photo.strip().lower()
    if not re.fullmatch(r"[0-9a-f]{6,64}", want):
        raise Refused(f"{photo!r} is not a photo's hash (its first 6 or more hex digits, as job photos lists them)")
    shas = [r[0] for r in shop.journal.query("SELECT sha256 FROM photos WHERE job = ? AND sha256 LIKE ?",
                                             [job.id, want + "%"])]
    shas = sorted(set(shas))
    if not shas:
        raise NotFound(f"{job.id} has no photo {want[:12]}…")
    if len(shas) > 1:
        raise Refused(f"{want} names {len(shas)} photos of {job.id}: give more of its hash")
    shop.journal.append(shop.event(ev.CLIENT_PHOTO_MARKED, job.id, person_id, bench_id,
                                   {"sha256": shas[0], "shown": shown}))
    return shas[0]


@dataclass(frozen=True)
class Link:
    token_sha256: str
    made: str
    expires: str
    by: str | None


def _open_links(shop: Shop, job_id: str) -> list[Link]:
    links: list[Link] = []
    for e in shop.journal.events(job=job_id, types=(ev.CLIENT_LINK_MADE, ev.CLIENT_LINK_REVOKED)):
        if e.type == ev.CLIENT_LINK_REVOKED:
            links = []
        else:
            links.append(Link(e.payload["token_sha256"], e.ts, e.payload["expires"], e.person))
    return links


def links(shop: Shop, job_id: str) -> list[Link]:
    """The job's links not withdrawn (an expired one among them: it no longer opens)."""
    return _open_links(shop, shop.job(job_id).id)


def job_of_link(shop: Shop, job_id: str, token: str, today: date | None = None) -> str:
    """The job a link opens; NotFound for a token never made, withdrawn or past its last day (said alike)."""
    norm = payloads.normalize_job(job_id)
    if norm is None or not _TOKEN.match(token or ""):
        raise NotFound("no such link")
    day = (today or shop.today()).isoformat()
    want = token_hash(token)
    ok = False
    for link in _open_links(shop, norm):
        # compare_digest: how long the comparison takes says nothing of how much of a hash matched
        if hmac.compare_digest(link.token_sha256, want) and day <= link.expires:
            ok = True
    if not ok:
        raise NotFound("no such link")
    return norm


def client_photos(shop: Shop, job_id: str) -> list[str]:
    """The photos a supervisor marked for the client, in the order they were marked."""
    shown: dict[str, bool] = {}
    for e in shop.journal.events(job=job_id, types=(ev.CLIENT_PHOTO_MARKED,)):
        shown.pop(e.payload["sha256"], None)
        shown[e.payload["sha256"]] = bool(e.payload["shown"])
    return [sha for sha, on in shown.items() if on]


def describe(shop: Shop, e: ev.Event) -> str:
    who = shop.name(e.person) or "someone"
    p = e.payload
    if e.type == ev.CLIENT_LINK_MADE:
        return f"{who} made a link for the client (opens until {p.get('expires')})"
    if e.type == ev.CLIENT_LINK_REVOKED:
        return f"{who} withdrew the client's links" + (f": {p['reason']}" if p.get("reason") else "")
    sha = str(p.get("sha256", ""))[:12]
    return f"{who} {'showed' if p.get('shown') else 'stopped showing'} photo {sha}… to the client"


AREA = Area("clientlinks", describers=dict.fromkeys(
    (ev.CLIENT_LINK_MADE, ev.CLIENT_LINK_REVOKED, ev.CLIENT_PHOTO_MARKED), describe))
