"""One workshop site, opened: its config, clock, journal, trade areas and numbers, and the lookups every verb needs.

A `Shop` holds no verbs: the trade's verbs live in the area modules beside this one (work, cards,
sessions, qc, metal, kpi, sync), each a set of functions that take the shop first.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

from floorkiosk.domain import events as ev
from floorkiosk.domain import guardrails as g
from floorkiosk.domain import payloads, shapes
from floorkiosk.domain.config import Bench, Person, Site
from floorkiosk.domain.state import JobState
from floorkiosk.errors import NotFound, Refused
from floorkiosk.store.journal import Journal
from floorkiosk.store.projection import JobProjector, Projector
from floorkiosk.store.schema import Migration

# What an area may add to a site: extra reasons inside the write transaction, and its events in words.
Guard = Callable[["Shop", sqlite3.Connection, JobState, g.Action, Person, Bench], list[g.Reason]]
Describer = Callable[["Shop", ev.Event], str]


@dataclass(frozen=True)
class Area:
    """One trade area (jobs, QC and stones, metal, KPIs, the hub): what it adds to every site it is part of."""

    name: str
    projectors: Callable[[Site], list[Projector]] = lambda site: []
    migrations: tuple[Migration, ...] = ()
    guard: Guard | None = None
    describers: Mapping[str, Describer] = field(default_factory=dict)  # event type -> its history line
    wire: Callable[["Shop"], None] | None = None  # called as the shop opens, before its journal does


class Numbers:
    """Job and batch numbers on a site with one journal: the next after the highest in the table."""

    TABLES = {"job": ("jobs", 1), "batch": ("batches", 1), "parcel": ("stone_parcels", 2),
              "capa": ("capas", 2)}  # (table, prefix length)

    def reserve(self, kind: str, count: int) -> None:
        """Make sure `count` numbers can be taken; called before the write transaction."""

    def take(self, conn: sqlite3.Connection, kind: str, count: int) -> list[int]:
        """`count` new numbers, inside the caller's write transaction."""
        table, prefix = self.TABLES[kind]
        row = conn.execute(f"SELECT max(id) FROM {table}").fetchone()
        n = int(row[0][prefix:]) if row and row[0] else 0
        return [n + 1 + i for i in range(count)]


class Shop:
    """One workshop's site: its config, its journal, its areas and the lookups the verbs share."""

    def __init__(self, site: Site, site_dir: str | Path, *, origin: str, areas: Iterable[Area] = (),
                 clock: Callable[[], datetime] | None = None) -> None:
        self.site = site
        self.dir = Path(site_dir)
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.areas = tuple(areas)
        self.jobs = JobProjector(site)
        for a in self.areas:
            if a.wire is not None:
                a.wire(self)
        projectors: list[Projector] = [self.jobs]
        for a in self.areas:
            projectors.extend(a.projectors(site))
        migrations = [m for a in self.areas for m in a.migrations]
        self.journal = Journal(self.dir / "journal.db", origin, projectors, migrations, hub=bool(site.settings.hub))
        self.photos_dir = self.dir / "photos"
        self.numbers: Numbers = Numbers()
        self._describers = {t: d for a in self.areas for t, d in a.describers.items()}
        self._guards = tuple(a.guard for a in self.areas if a.guard is not None)
        self.anchoring = None  # the checkpoint writer (workshop.anchoring), set by open_shop

    def close(self) -> None:
        if self.anchoring is not None:
            self.anchoring.close()  # the last checkpoint, while the journal is still open
        self.journal.close()

    def now(self) -> str:
        return self.clock().astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def today(self) -> date:
        return self.clock().date()

    def person(self, person_id: str) -> Person:
        p = self.site.people.get(person_id)
        if p is None:
            raise NotFound(f"no person {person_id!r} in people.toml")
        return p

    def supervisor(self, person_id: str | None, what: str) -> Person:
        """The named person, who must be a supervisor (or an admin) to do `what` ("retires a tool")."""
        if person_id is None:
            raise Refused(f"say who {what} (--person): a supervisor")
        p = self.person(person_id)
        if not p.is_supervisor:
            raise Refused(f"{p.name} is not a supervisor: only a supervisor {what}")
        return p

    def admin(self, person_id: str | None, what: str) -> Person:
        """The named person, who must have the admin role to do `what` ("approves a change to the standards")."""
        if person_id is None:
            raise Refused(f"say who {what} (--person): an admin")
        p = self.person(person_id)
        if not p.is_admin:
            raise Refused(f"{p.name} is not an admin: only an admin {what}; nothing was recorded")
        return p

    def bench(self, bench_id: str) -> Bench:
        b = self.site.benches.get(bench_id)
        if b is None:
            raise NotFound(f"no bench {bench_id!r}; benches: {', '.join(self.site.benches)}")
        return b

    def job(self, job_id: str) -> JobState:
        norm = payloads.normalize_job(job_id) or job_id
        with self.journal.lock:
            state = self.jobs.load(self.journal.conn, norm)
        if state is None:
            raise NotFound(f"no job {norm} in this workshop")
        return state

    def name(self, person_id: str | None) -> str:
        """A person's name as people.toml gives it (the id itself for someone no longer listed)."""
        if not person_id:
            return ""
        p = self.site.people.get(person_id)
        return p.name if p else person_id

    def event(self, type_: str, job: str | None, person: str | None, bench: str | None, payload: dict) -> ev.Event:
        """A new event, its payload checked against the shape declared for its type (domain/shapes.py)."""
        wrong = shapes.problems(type_, payload)
        if wrong:
            raise ValueError("; ".join(wrong))  # a verb built a payload no reader expects: a bug, not bad input
        return ev.Event(type_, job, person, bench, payload, ts=self.now())

    def describe(self, e: ev.Event) -> str:
        """An event in plain words, as the area that records it says it."""
        d = self._describers.get(e.type)
        if d is not None:
            return d(self, e)
        return f"{self.name(e.person) or 'someone'}: {e.type}"

    def guard(self, conn: sqlite3.Connection, state: JobState, action: g.Action, person: Person,
              bench: Bench) -> list[g.Reason]:
        """The areas' own reasons against an action (QC batch sampling, …), read on `conn`."""
        return [r for guard in self._guards for r in guard(self, conn, state, action, person, bench)]
