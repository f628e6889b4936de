"""Who is at the bench: reading a scan, badging in and out."""

from __future__ import annotations

from dataclasses import dataclass

from floorkiosk.domain import events as ev
from floorkiosk.domain import payloads
from floorkiosk.domain.config import Person
from floorkiosk.errors import Refused
from floorkiosk.workshop import cards
from floorkiosk.workshop.shop import Shop


@dataclass(frozen=True)
class Scanned:
    kind: payloads.Kind
    value: str
    raw: str
    person: Person | None = None


def scan(shop: Shop, raw: str) -> Scanned:
    """Read a scan; raise NotOurCode (foreign or damaged) or NotFound (ours, but unknown here)."""
    p = payloads.decode(raw)
    if p.kind is payloads.Kind.BADGE:
        person = shop.site.person_by_badge(p.value)
        if person is None:
            raise Refused(f"badge {p.value} is not known here; ask a supervisor to add it to people.toml")
        return Scanned(p.kind, p.value, raw, person)
    if p.kind is payloads.Kind.JOB:
        shop.job(p.value)
    if p.kind is payloads.Kind.BATCH:
        cards.batch_jobs(shop, p.value)
    return Scanned(p.kind, p.value, raw)


def login(shop: Shop, badge_raw: str, bench_id: str) -> Person:
    s = scan(shop, badge_raw)
    if s.kind is not payloads.Kind.BADGE or s.person is None:
        raise Refused(f"that is a {s.kind.name.lower().replace('_', ' ')} code, not a badge")
    shop.bench(bench_id)
    shop.journal.append(shop.event(ev.PERSON_LOGGED_IN, None, s.person.id, bench_id, {}))
    return s.person


def logout(shop: Shop, person_id: str, bench_id: str, why: str = "") -> None:
    shop.journal.append(shop.event(ev.PERSON_LOGGED_OUT, None, person_id, bench_id, {"why": why} if why else {}))
