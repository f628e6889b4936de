"""Corrective actions: an issue that changes the process, not just one piece.

A corrective action (CAPA) is opened from a drift alert, from a defect that keeps coming back, or by
hand. It has an owner, a due date, a root cause (one of method, material, machine, person,
measurement) and the change made; and it closes only when a supervisor has seen the effect: the
same metric over the pieces before the change and over the next N pieces after it.

The metric is a characteristic's mean (for a drift; see workshop.spc) or a defect's rate per
inspected piece (for a defect): what the action was meant to move. Every step is an event; the
`capas` table is derived from them.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from floorkiosk.domain import events as ev
from floorkiosk.domain import qc as dq
from floorkiosk.domain import spc as dspc
from floorkiosk.domain.records import Site
from floorkiosk.errors import NotFound, Refused
from floorkiosk.store.projection import ChunkedRebuild
from floorkiosk.workshop import spc
from floorkiosk.workshop.shop import Area, Shop

CAPA_OPENED, CAPA_CHANGED, CAPA_CLOSED = dspc.CAPA_OPENED, dspc.CAPA_CHANGED, dspc.CAPA_CLOSED
CAUSES = dspc.CAPA_CAUSES
EFFECT_PIECES = 5  # pieces after the change the effect is judged on, unless the action says otherwise


@dataclass(frozen=True)
class Effect:
    metric: str  # what was compared, in words
    before: float | None
    after: float | None
    n_before: int
    n_after: int
    needed: int

    @property
    def known(self) -> bool:
        return self.n_after >= self.needed and self.before is not None and self.after is not None

    def text(self, unit: str = "") -> str:
        if self.before is None:
            return f"{self.metric}: nothing measured before the change"
        if not self.known:
            return (f"{self.metric}: {self.before:.3f}{unit} over {self.n_before} before; {self.n_after} of "
                    f"{self.needed} pieces measured since the change")
        return (f"{self.metric}: {self.before:.3f}{unit} over {self.n_before} pieces before, "
                f"{self.after:.3f}{unit} over {self.n_after} after")


@dataclass(frozen=True)
class Capa:
    id: str
    title: str
    opened_at: str
    opened_by: str | None
    owner: str
    due: str
    source: str  # alert, defect or hand
    characteristic: str | None
    defect: str | None
    cause: str | None
    change: str | None
    changed_at: str | None
    points_before: int | None
    pieces: int
    status: str  # open, changed, closed
    closed_at: str | None
    closed_by: str | None
    note: str | None
    effect: dict | None

    def late(self, today: str) -> bool:
        return self.status != "closed" and self.due < today


def _day(text: str, what: str) -> str:
    try:
        return date.fromisoformat(str(text).strip()).isoformat()
    except ValueError:
        raise Refused(f"{what} {text!r} is not a date like 2026-12-24") from None


def open_capa(shop: Shop, title: str, *, person_id: str | None, owner: str, due: str,
              characteristic: str | None = None, defect: str | None = None, pieces: int = EFFECT_PIECES,
              bench_id: str | None = None) -> Capa:
    """A new corrective action, from a drift (`characteristic`), a defect code, or by hand."""
    shop.supervisor(person_id, "opens a corrective action")
    shop.person(owner)  # an unknown owner is refused by name
    if not title.strip():
        raise Refused("say what is wrong, in a few words (the title)")
    due_day = _day(due, "due date")
    if due_day < shop.now()[:10]:
        raise Refused(f"the due date {due_day} has passed")
    if not 1 <= pieces <= 500:
        raise Refused("--pieces must be from 1 to 500: how many pieces after the change show its effect")
    if characteristic is not None:
        spc.one(shop, characteristic)  # refuses an unknown characteristic, naming those there are
    code = dq.qc_config(shop.site).defect(defect).code if defect is not None else None
    source = "alert" if characteristic else "defect" if code else "hand"
    shop.numbers.reserve("capa", 1)

    def build(conn: sqlite3.Connection) -> list[ev.Event]:
        cid = f"CA{shop.numbers.take(conn, 'capa', 1)[0]:04d}"
        payload = {"capa": cid, "title": title.strip(), "owner": owner, "due": due_day, "source": source,
                   "pieces": pieces}
        if characteristic:
            payload["characteristic"] = characteristic
        if code:
            payload["defect"] = code
        return [shop.event(CAPA_OPENED, None, person_id, bench_id, payload)]

    e = shop.journal.append_many(build=build)[0]
    return get(shop, e.payload["capa"])


def record_change(shop: Shop, capa_id: str, *, person_id: str | None, cause: str, change: str,
                  bench_id: str | None = None) -> Capa:
    """The root cause found and the change made to the process: the effect is measured from now on."""
    c = get(shop, capa_id)
    if person_id is None:
        raise Refused("say who made the change (--person)")
    p = shop.person(person_id)
    if person_id != c.owner and not p.is_supervisor:
        raise Refused(f"{p.name} is neither the owner of {c.id} ({shop.name(c.owner)}) nor a supervisor")
    if c.status == "closed":
        raise Refused(f"{c.id} was closed {c.closed_at[:10]}; open a new corrective action")
    if cause not in CAUSES:
        raise Refused(f"the root cause must be one of {', '.join(CAUSES)}, not {cause!r}")
    if not change.strip():
        raise Refused("say what was changed (--change): a method, a tool, a material, a training…")
    shop.journal.append(shop.event(CAPA_CHANGED, None, person_id, bench_id,
                                   {"capa": c.id, "cause": cause, "change": change.strip(),
                                    "points_before": len(_metric(shop, c))}))
    return get(shop, c.id)


def _metric(shop: Shop, c: Capa) -> list[float]:
    """The series the action is meant to move: the characteristic, or 1/0 per inspection for the defect."""
    if c.characteristic:
        try:
            return [p.value for p in spc.one(shop, c.characteristic).series.points]
        except NotFound:
            return []
    if c.defect:
        rows = shop.journal.conn.execute("SELECT defect FROM qc_inspections ORDER BY ts, id").fetchall()
        return [1.0 if (d or "").strip().upper() == c.defect else 0.0 for (d,) in rows]
    return []


def effect(shop: Shop, c: Capa) -> Effect:
    """The metric before the change (up to four times as many pieces as after) and over the pieces after it."""
    values = _metric(shop, c)
    cut = c.points_before if c.points_before is not None else len(values)
    before = values[:cut][-max(c.pieces, 1) * 4:]
    after = values[cut:cut + c.pieces] if c.changed_at else []
    if c.characteristic:
        return Effect(f"mean of {c.characteristic}", _mean(before), _mean(after), len(before), len(after),
                      c.pieces)
    if c.defect:
        return Effect(f"share of inspections with {c.defect}", _mean(before), _mean(after), len(before), len(after),
                      c.pieces)
    return Effect("no metric (opened by hand)", None, None, 0, 0, c.pieces)


def _mean(xs: list[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def close_capa(shop: Shop, capa_id: str, *, person_id: str | None, note: str, bench_id: str | None = None) -> Capa:
    """A supervisor closes it, having seen its effect (the pieces after the change must be there)."""
    shop.supervisor(person_id, "closes a corrective action")
    c = get(shop, capa_id)
    if c.status == "closed":
        raise Refused(f"{c.id} is already closed ({c.closed_at[:10]})")
    if c.changed_at is None:
        raise Refused(f"{c.id} has no change recorded yet: `capa change {c.id} --cause … --change …` first")
    if not note.strip():
        raise Refused("say what the effect was (--note): the journal keeps it with the action")
    eff = effect(shop, c)
    if (c.characteristic or c.defect) and not eff.known:
        raise Refused(f"{c.id} cannot close yet: {eff.text()}")
    shop.journal.append(shop.event(CAPA_CLOSED, None, person_id, bench_id, {
        "capa": c.id, "note": note.strip(),
        "effect": {"metric": eff.metric, "before": eff.before, "after": eff.after, "n_before": eff.n_before,
                   "n_after": eff.n_after}}))
    return get(shop, c.id)


_COLS = ("id, title, opened_at, opened_by, owner, due, source, characteristic, defect, cause, change, changed_at, "
         "points_before, pieces, status, closed_at, closed_by, note, effect")


def _row(r: tuple) -> Capa:
    return Capa(*r[:18], json.loads(r[18]) if r[18] else None)


def get(shop: Shop, capa_id: str) -> Capa:
    cid = capa_id.strip().upper()
    if cid.isdigit():
        cid = f"CA{int(cid):04d}"
    r = shop.journal.conn.execute(f"SELECT {_COLS} FROM capas WHERE id = ?", (cid,)).fetchone()
    if r is None:
        raise NotFound(f"no corrective action {capa_id!r}")
    return _row(r)


def listing(shop: Shop, *, all_: bool = False) -> list[Capa]:
    where = "" if all_ else " WHERE status != 'closed'"
    return [_row(r) for r in shop.journal.conn.execute(f"SELECT {_COLS} FROM capas{where} ORDER BY due, id")]


# --- the derived table -----------------------------------------------------------------------------

def _m001(db) -> None:  # sqlite_utils.Database
    db.execute("""CREATE TABLE capas (
        id TEXT PRIMARY KEY, title TEXT NOT NULL, opened_at TEXT NOT NULL, opened_by TEXT, owner TEXT NOT NULL,
        due TEXT NOT NULL, source TEXT NOT NULL, characteristic TEXT, defect TEXT, cause TEXT, change TEXT,
        changed_at TEXT, points_before INTEGER, pieces INTEGER NOT NULL, status TEXT NOT NULL, closed_at TEXT, closed_by TEXT, note TEXT,
        effect TEXT)""")


class CapaProjector(ChunkedRebuild):
    tables = ("capas",)
    rebuild_apart = True
    rebuild_types = frozenset({CAPA_OPENED, CAPA_CHANGED, CAPA_CLOSED})
    rebuild_weight = 0

    def __init__(self, site: Site) -> None:
        self.site = site

    def apply(self, conn: sqlite3.Connection, events: list[ev.Event]) -> None:
        for e in events:
            p = e.payload
            if e.type == CAPA_OPENED:
                conn.execute("INSERT OR REPLACE INTO capas (id, title, opened_at, opened_by, owner, due, source,"
                             " characteristic, defect, pieces, status) VALUES (?,?,?,?,?,?,?,?,?,?, 'open')",
                             (p["capa"], p["title"], e.ts, e.person, p["owner"], p["due"], p.get("source", "hand"),
                              p.get("characteristic"), p.get("defect"), p.get("pieces", EFFECT_PIECES)))
            elif e.type == CAPA_CHANGED:
                conn.execute("UPDATE capas SET cause = ?, change = ?, changed_at = ?, points_before = ?,"
                             " status = 'changed' WHERE id = ?",
                             (p["cause"], p["change"], e.ts, p.get("points_before"), p["capa"]))
            elif e.type == CAPA_CLOSED:
                conn.execute("UPDATE capas SET status = 'closed', closed_at = ?, closed_by = ?, note = ?, effect = ?"
                             " WHERE id = ?", (e.ts, e.person, p.get("note"),
                                               json.dumps(p.get("effect"), sort_keys=True), p["capa"]))

    def rebuild_feed(self, conn: sqlite3.Connection, events: Iterable[ev.Event]) -> None:
        self.apply(conn, [e for e in events if e.type in self.rebuild_types])

    def footprint(self, e: ev.Event) -> set[tuple[str, str | None]]:
        """The corrective action's row: see store.journal._reordered."""
        return {("capa", e.payload.get("capa"))} if e.type in self.rebuild_types else set()

    def rebuild_end(self, conn: sqlite3.Connection) -> None:
        pass


def describe(shop: Shop, e: ev.Event) -> str:
    p = e.payload
    if e.type == CAPA_OPENED:
        return f"corrective action {p['capa']} opened: {p['title']} (owner {shop.name(p['owner'])}, due {p['due']})"
    if e.type == CAPA_CHANGED:
        return f"corrective action {p['capa']}: cause {p['cause']}; changed: {p['change']}"
    return f"corrective action {p['capa']} closed: {p.get('note')}"


AREA = Area("capa", projectors=lambda site: [CapaProjector(site)], migrations=(("capa_001", _m001),),
            describers=dict.fromkeys((CAPA_OPENED, CAPA_CHANGED, CAPA_CLOSED), describe))
