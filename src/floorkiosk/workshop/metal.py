"""Metal accountability: lots, issues, casting trees, scrap returns, the refiner; balances and reconciliation.

The verbs append events (refusing bad input before anything is written); ``MetalProjector`` keeps the
ledger tables in step with the journal inside the appending transaction: every move of metal
(``metal_moves``), per-day sums per account (``metal_daily``, which makes a month's reconciliation a
small query on millions of events), current balances, where each piece is, trees, lots and the
refiner's account. The rules themselves are in ``floorkiosk.domain.metal``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if TYPE_CHECKING:
    import sqlite_utils  # the migrations' type; the library is loaded only to migrate

from floorkiosk.workshop import verbs
from floorkiosk.domain import events as ev
from floorkiosk.domain import metal as m
from floorkiosk.domain import payloads
from floorkiosk.domain.config import Site
from floorkiosk.domain.tomlread import TomlReader
from floorkiosk.domain.kpi import delivery_stage
from floorkiosk.domain.units import (
    UnitError,
    canonical_unit,
    fine_weight,
    fmt,
    fmt_many,
    to_grams,
)
from floorkiosk.errors import ConfigError, NotFound, Refused
from floorkiosk.store.projection import ChunkedRebuild
from floorkiosk.store.where import Where
from floorkiosk.workshop.shop import Area, Shop


# the events the ledger reads; others pass by untouched (most of a busy journal)
_RELEVANT = frozenset(m.METAL_EVENTS) | {ev.JOB_CREATED, ev.WEIGHT_RECORDED, ev.STAGE_STARTED,
                                          ev.STAGE_FINISHED, ev.STAGE_VERIFIED}


# --- settings ---------------------------------------------------------------------------------
def metal_settings(site: Site) -> m.MetalSettings:
    """The [metal] table of site.toml and each casting bench's casting_method, validated (file:line)."""
    problems: list[str] = []
    path = site.folder / "site.toml"
    r = TomlReader(path, problems) if path.exists() else None
    data = site.raw.get("site", {})
    raw = data.get("metal", {})

    def line(key: str) -> int:
        return (r.loc.find_key(key) if r and r.loc else 0) or (r.loc.find_key("[metal") if r and r.loc else 1) or 1

    def problem(key: str, msg: str) -> None:
        problems.append(f"{path}:{line(key)}: {msg}")

    if not isinstance(raw, dict):
        problem("metal", "[metal] must be a table")
        raw = {}
    known = {"tolerance_pct", "wax_stages", "casting_stage"}
    for key in raw:
        if key not in known:
            problem(key, f"unknown setting {key!r} in [metal]; known: {', '.join(sorted(known))}")
    tol = raw.get("tolerance_pct", 1.0)
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not 0 <= tol <= 100:
        problem("tolerance_pct", f"'tolerance_pct' must be a number between 0 and 100, not {tol!r}")
        tol = 1.0
    casting = raw.get("casting_stage", "casting")
    if not isinstance(casting, str) or (casting not in site.stages and "casting_stage" in raw):
        problem("casting_stage", f"casting_stage {casting!r} is not a stage in routes.toml")
    wax = raw.get("wax_stages")
    if wax is None:
        wax = _stages_before(site, casting)
    elif not isinstance(wax, list) or not all(isinstance(s, str) for s in wax):
        problem("wax_stages", "'wax_stages' must be a list of stage ids")
        wax = []
    else:
        for s in wax:
            if s not in site.stages:
                problem("wax_stages", f"wax_stages names {s!r}, which is not a stage in routes.toml")
    methods: dict[str, str] = {}
    for i, b in enumerate(data.get("benches", []) if isinstance(data.get("benches"), list) else []):
        if not isinstance(b, dict) or "casting_method" not in b:
            continue
        cm = b["casting_method"]
        if cm not in m.CASTING_METHODS:
            ln = r.loc.find_in("benches", i, "casting_method") if r and r.loc else 1
            problems.append(f"{path}:{ln}: bench {b.get('id')!r}: casting_method must be "
                            f"{' or '.join(m.CASTING_METHODS)}, not {cm!r}")
        else:
            methods[str(b.get("id"))] = cm
    try:
        tz = ZoneInfo(site.settings.timezone) if site.settings.timezone not in ("UTC", "Z", "") else None
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(f"{path}:{(r.loc.find_key('timezone') if r and r.loc else 1) or 1}: "
                        f"timezone {site.settings.timezone!r} is not a known time zone such as Europe/Rome")
        tz = None
    if problems:
        raise ConfigError(problems)
    from datetime import timezone as _tz

    readability = {}
    for b in site.benches.values():
        rd = b.scale.get("readability") if b.scale else None
        if rd:
            readability[b.id] = Decimal(str(rd))
    return m.MetalSettings(
        tolerance_pct=Decimal(str(tol)), wax_stages=frozenset(wax), casting_stage=casting,
        casting_methods=methods, readability=readability,
        weigh_in=frozenset(s.id for s in site.stages.values() if "weigh-in" in s.start_evidence),
        weigh_out=frozenset(s.id for s in site.stages.values() if "weigh-out" in s.finish_evidence),
        needs_verify=frozenset(s.id for s in site.stages.values() if s.verify),
        delivery={r.id: delivery_stage(r) or "" for r in site.routes.values()},
        max_loss_pct={s.id: s.max_loss_pct for s in site.stages.values() if s.max_loss_pct is not None},
        fineness={a.code: a.fineness for a in site.alloys.values()},
        metal_of={a.code: a.metal for a in site.alloys.values()},
        tz=tz or _tz.utc)


def _stages_before(site: Site, casting: str) -> list[str]:
    """Without wax_stages: every stage that comes before casting in a route that casts handles wax."""
    out: set[str] = set()
    for route in site.routes.values():
        ids = route.stage_ids
        if casting in ids:
            out.update(ids[:ids.index(casting)])
    return sorted(out)


# --- tables -----------------------------------------------------------------------------------
def _m001_ledger(db: sqlite_utils.Database) -> None:
    db.execute("""CREATE TABLE metal_moves (
        seq INTEGER, ts TEXT NOT NULL, day TEXT NOT NULL, alloy TEXT NOT NULL, ug INTEGER NOT NULL,
        book_ug INTEGER NOT NULL, kind TEXT NOT NULL, category TEXT,
        src_acct TEXT NOT NULL, src_bench TEXT NOT NULL, src_person TEXT NOT NULL, src_stage TEXT NOT NULL,
        dst_acct TEXT NOT NULL, dst_bench TEXT NOT NULL, dst_person TEXT NOT NULL, dst_stage TEXT NOT NULL,
        job TEXT, tree TEXT, lot TEXT)""")
    db.execute("CREATE INDEX metal_moves_day ON metal_moves (day)")
    db.execute("CREATE INDEX metal_moves_job ON metal_moves (job) WHERE job IS NOT NULL")
    # '' rather than NULL for an absent bench/person/stage: NULLs are never equal in a primary key
    sums = ", ".join(f"{c} INTEGER NOT NULL DEFAULT 0" for c in m.DAILY_SUMS)
    db.execute(f"""CREATE TABLE metal_daily (
        day TEXT NOT NULL, alloy TEXT NOT NULL, acct TEXT NOT NULL, bench TEXT NOT NULL, person TEXT NOT NULL,
        stage TEXT NOT NULL, {sums},
        PRIMARY KEY (day, alloy, acct, bench, person, stage)) WITHOUT ROWID""")
    db.execute("""CREATE TABLE metal_balances (
        alloy TEXT NOT NULL, acct TEXT NOT NULL, bench TEXT NOT NULL, person TEXT NOT NULL, stage TEXT NOT NULL,
        ug INTEGER NOT NULL, PRIMARY KEY (alloy, acct, bench, person, stage)) WITHOUT ROWID""")
    db.execute("""CREATE TABLE metal_pieces (
        job TEXT PRIMARY KEY, alloy TEXT, route TEXT, acct TEXT, bench TEXT, person TEXT, stage TEXT,
        book_ug INTEGER NOT NULL DEFAULT 0, tree TEXT) WITHOUT ROWID""")
    db.execute("""CREATE TABLE metal_trees (
        tree TEXT PRIMARY KEY, alloy TEXT NOT NULL, method TEXT NOT NULL, bench TEXT, person TEXT, jobs TEXT,
        built_at TEXT, cast_at TEXT, cut_at TEXT, cut_day TEXT, metal_in_ug INTEGER, tree_ug INTEGER,
        pieces_ug INTEGER, sprue_ug INTEGER, buttons_ug INTEGER, remaining_ug INTEGER, cast_bench TEXT,
        cast_person TEXT, status TEXT)""")
    db.execute("CREATE INDEX metal_trees_cut ON metal_trees (cut_day)")
    db.execute("""CREATE TABLE metal_lots (
        lot TEXT PRIMARY KEY, alloy TEXT NOT NULL, ug INTEGER NOT NULL, supplier TEXT, received_at TEXT, note TEXT)""")
    db.execute("""CREATE TABLE metal_refiner (
        seq INTEGER, ts TEXT, kind TEXT, alloy TEXT, metal TEXT, gross_ug INTEGER, fine TEXT, category TEXT,
        shipment TEXT)""")


def _m002_event_ids(db: sqlite_utils.Database) -> tuple[str, ...]:
    # metal_moves.seq and metal_refiner.seq held the journal seq of the event behind each row: a number
    # local to each bench (every bench numbers the events it stores in the order they reached it), so
    # two benches holding the same events had different tables. Each row is keyed by its event's id and
    # its place among that event's rows instead. The tables are made anew and derived again from the
    # journal (in canonical order) when the site is next opened: returned, they are refilled then.
    db.execute("DROP TABLE metal_moves")
    db.execute("""CREATE TABLE metal_moves (
        event TEXT NOT NULL, n INTEGER NOT NULL, ts TEXT NOT NULL, day TEXT NOT NULL, alloy TEXT NOT NULL,
        ug INTEGER NOT NULL, book_ug INTEGER NOT NULL, kind TEXT NOT NULL, category TEXT,
        src_acct TEXT NOT NULL, src_bench TEXT NOT NULL, src_person TEXT NOT NULL, src_stage TEXT NOT NULL,
        dst_acct TEXT NOT NULL, dst_bench TEXT NOT NULL, dst_person TEXT NOT NULL, dst_stage TEXT NOT NULL,
        job TEXT, tree TEXT, lot TEXT, PRIMARY KEY (event, n)) WITHOUT ROWID""")
    db.execute("CREATE INDEX metal_moves_day ON metal_moves (day, ts)")
    db.execute("CREATE INDEX metal_moves_job ON metal_moves (job) WHERE job IS NOT NULL")
    db.execute("DROP TABLE metal_refiner")
    db.execute("""CREATE TABLE metal_refiner (
        event TEXT NOT NULL, n INTEGER NOT NULL, ts TEXT, kind TEXT, alloy TEXT, metal TEXT, gross_ug INTEGER,
        fine TEXT, category TEXT, shipment TEXT, PRIMARY KEY (event, n)) WITHOUT ROWID""")
    # every metal table is derived again: the balances, day sums, pieces and trees of a hub site were
    # folded in the order events reached this bench, which need not be the hub's
    return MetalProjector.tables


def _e(x: str | None) -> str:
    return x or ""


def _n(x: str) -> str | None:
    return x or None


def _acct(kind: str | None, bench: str, person: str, stage: str) -> m.Account | None:
    return m.Account(kind, _n(bench), _n(person), _n(stage)) if kind else None


class MetalProjector(ChunkedRebuild):
    """Keeps the metal ledger tables in step with the journal."""

    rebuild_apart = True  # reads only its own tables: a rebuild may fold it in a second process
    rebuild_types = _RELEVANT  # the events it folds
    rebuild_weight = 8  # its share of a rebuild's work, measured (see Journal.rebuild)

    tables = ("metal_moves", "metal_daily", "metal_balances", "metal_pieces", "metal_trees", "metal_lots",
              "metal_refiner")

    def __init__(self, site: Site) -> None:
        self.site = site
        self.settings = metal_settings(site)

    # -- what of the ledger an event reads or sets, for the journal (see store.journal._reordered) --
    # Balances and day sums are whole micrograms added up: the same in any order. What is not: a
    # piece's place and booked weight (its job), a tree's, a lot's row, and the bench stock a draw
    # into work or a cast takes from (the person's, then the bench's common stock), which issues and
    # returns to that bench change.
    _TREE_EVENTS = frozenset({m.TREE_BUILT, m.TREE_JOINED, m.TREE_CAST, m.PIECE_CUT, m.TREE_CUT})

    def footprint(self, e: ev.Event) -> set[tuple[str, str | None]]:
        if e.type not in _RELEVANT:
            return set()
        p, t = e.payload, e.type
        out: set[tuple[str, str | None]] = {("job", e.job)} if e.job else set()
        if t in (m.METAL_ISSUED, m.METAL_RETURNED):
            out.add(("stock", p.get("bench")))
        elif t in (ev.WEIGHT_RECORDED, m.TREE_CAST):
            out.add(("stock", e.bench))
        if t in self._TREE_EVENTS:
            out.add(("tree", p.get("tree")))
            if t == m.TREE_BUILT:
                out |= {("job", j) for j in p.get("jobs", ())}
        if t in (m.LOT_RECEIVED, m.REFINER_RETURNED) and p.get("lot"):
            out.add(("lot", p.get("lot")))
        return out

    # -- loading state for an incremental apply --
    def _ledger(self, conn: sqlite3.Connection) -> m.Ledger:
        def load_tree(tree_id: str) -> m.Tree | None:
            row = conn.execute("SELECT tree, alloy, method, bench, person, jobs, built_at, cast_at, cut_at, metal_in_ug,"
                               " tree_ug, pieces_ug, sprue_ug, buttons_ug, remaining_ug, cast_bench, cast_person"
                               " FROM metal_trees WHERE tree = ?", (tree_id,)).fetchone()
            if not row:
                return None
            return m.Tree(row[0], row[1], row[2], row[3], row[4], json.loads(row[5] or "[]"), row[6] or "", row[7],
                          row[8], row[9] or 0, row[10], row[11] or 0, row[12] or 0, row[13] or 0, row[14] or 0,
                          row[15], row[16])

        def load_balance(alloy: str, a: m.Account) -> int:
            row = conn.execute("SELECT ug FROM metal_balances WHERE alloy=? AND acct=? AND bench=? AND person=? AND stage=?",
                               (alloy, a.kind, _e(a.bench), _e(a.person), _e(a.stage))).fetchone()
            return row[0] if row else 0

        def load_piece(job: str) -> m.Piece | None:
            rows = _load_pieces(conn, [job])
            return rows.get(job)

        return m.Ledger(self.settings, load_piece=load_piece, load_tree=load_tree, load_balance=load_balance)

    def apply(self, conn: sqlite3.Connection, events: list[ev.Event]) -> None:
        relevant = [e for e in events if e.type in _RELEVANT]
        if not relevant:
            return
        ledger = self._ledger(conn)
        created = {e.job for e in relevant if e.type == ev.JOB_CREATED}
        wanted = {e.job for e in relevant if e.job and e.job not in created}
        wanted |= {j for e in relevant if e.type == m.TREE_BUILT for j in e.payload.get("jobs", [])}
        if wanted:
            found = _load_pieces(conn, list(wanted))
            for j in wanted:
                ledger.pieces[j] = found.get(j)
        moves: list[m.Move] = []
        for e in relevant:
            moves.extend(ledger.handle(e))
        self._write(conn, ledger, moves)

    # -- rebuilding: one ledger for every chunk, holding only what the chunk touches --
    # At the end of each chunk the moves, the day sums (whole micrograms: adding them chunk by chunk
    # gives the same totals) and the pieces, trees, lots, refiner lines and balances it touched are
    # written; the pieces and trees it did not touch leave memory and are read back from their rows
    # when an event needs them again. Balances stay: one per account, however long the history.
    def rebuild_begin(self, conn: sqlite3.Connection) -> None:
        super().rebuild_begin(conn)
        self._rebuilding: m.Ledger | None = self._ledger(conn)

    def rebuild_feed(self, conn: sqlite3.Connection, events: Iterable[ev.Event]) -> None:
        ledger = self._rebuilding
        assert ledger is not None
        handle = ledger.handle
        moves: list[m.Move] = []
        for e in events:
            if e.type in _RELEVANT:
                moves.extend(handle(e))
        self._write(conn, ledger, moves)
        ledger.pieces = {j: ledger.pieces[j] for j in ledger.touched_pieces if ledger.pieces.get(j) is not None}
        ledger.trees = {t: ledger.trees[t] for t in ledger.touched_trees if ledger.trees.get(t) is not None}
        ledger.touched_pieces, ledger.touched_trees, ledger.touched_balances = set(), set(), set()
        ledger.lots, ledger.refiner = [], []

    def rebuild_end(self, conn: sqlite3.Connection) -> None:
        assert self._rebuilding is not None
        self._rebuilding = None

    # -- writing --
    def _write(self, conn: sqlite3.Connection, ledger: m.Ledger, moves: list[m.Move]) -> None:
        if moves:
            _insert_moves(conn, moves)
            _upsert_daily(conn, m.add_postings({}, moves))
        if ledger.touched_balances:
            conn.executemany(
                "INSERT INTO metal_balances (alloy, acct, bench, person, stage, ug) VALUES (?,?,?,?,?,?)"
                " ON CONFLICT (alloy, acct, bench, person, stage) DO UPDATE SET ug = excluded.ug",
                [(alloy, a.kind, _e(a.bench), _e(a.person), _e(a.stage), ledger.balances[(alloy, a)])
                 for alloy, a in ledger.touched_balances])
        rows = []
        for j in ledger.touched_pieces:
            pc = ledger.pieces.get(j)
            if pc is None:
                continue
            a = pc.acct
            rows.append((pc.job, pc.alloy, pc.route, a.kind if a else None, _e(a.bench) if a else "",
                         _e(a.person) if a else "", _e(a.stage) if a else "", pc.book, pc.tree))
        if rows:
            conn.executemany("INSERT OR REPLACE INTO metal_pieces (job, alloy, route, acct, bench, person, stage, book_ug, tree)"
                             " VALUES (?,?,?,?,?,?,?,?,?)", rows)
        trows = []
        for tid in ledger.touched_trees:
            tr = ledger.trees.get(tid)
            if tr is None:
                continue
            cut_day = m.local_day(tr.cut_at, self.settings.tz) if tr.cut_at else None
            trows.append((tr.id, tr.alloy, tr.method, tr.bench, tr.person, json.dumps(tr.jobs), tr.built_at, tr.cast_at,
                          tr.cut_at, cut_day, tr.metal_in, tr.tree_weight, tr.pieces, tr.sprue, tr.buttons, tr.remaining,
                          tr.cast_bench, tr.cast_person, tr.status))
        if trows:
            conn.executemany("INSERT OR REPLACE INTO metal_trees (tree, alloy, method, bench, person, jobs, built_at, cast_at,"
                             " cut_at, cut_day, metal_in_ug, tree_ug, pieces_ug, sprue_ug, buttons_ug, remaining_ug,"
                             " cast_bench, cast_person, status) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", trows)
        if ledger.lots:
            conn.executemany("INSERT OR REPLACE INTO metal_lots (lot, alloy, ug, supplier, received_at, note)"
                             " VALUES (?,?,?,?,?,?)", [lot for lot in ledger.lots if lot[0]])
        if ledger.refiner:
            conn.executemany("INSERT INTO metal_refiner (event, n, ts, kind, alloy, metal, gross_ug, fine, category,"
                             " shipment) VALUES (?,?,?,?,?,?,?,?,?,?)",
                             [(*r[:7], str(r[7]), *r[8:]) for r in ledger.refiner])


def _load_pieces(conn: sqlite3.Connection, jobs: list[str]) -> dict[str, m.Piece]:
    out = {}
    for i in range(0, len(jobs), 900):
        chunk = jobs[i:i + 900]
        for row in conn.execute(f"SELECT job, alloy, route, acct, bench, person, stage, book_ug, tree FROM metal_pieces"
                                f" WHERE job IN ({','.join('?' * len(chunk))})", chunk):
            out[row[0]] = m.Piece(row[0], row[1], row[2], _acct(row[3], row[4], row[5], row[6]), row[7], row[8])
    return out


def _insert_moves(conn: sqlite3.Connection, moves: list[m.Move]) -> None:
    if not moves:
        return
    none = m.Account("")
    conn.executemany(
        "INSERT INTO metal_moves (event, n, ts, day, alloy, ug, book_ug, kind, category, src_acct, src_bench, src_person,"
        " src_stage, dst_acct, dst_bench, dst_person, dst_stage, job, tree, lot)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [(x.event, x.n, x.ts, x.day, x.alloy, x.ug, x.book, x.kind, x.category, x.src.kind, _e(x.src.bench),
          _e(x.src.person), _e(x.src.stage), (x.dst or none).kind, _e((x.dst or none).bench),
          _e((x.dst or none).person), _e((x.dst or none).stage), x.job, x.tree, x.lot) for x in moves])


def _upsert_daily(conn: sqlite3.Connection, daily: dict[tuple, list[int]]) -> None:
    if not daily:
        return
    cols = ", ".join(m.DAILY_SUMS)
    sets = ", ".join(f"{c} = {c} + excluded.{c}" for c in m.DAILY_SUMS)
    marks = ",".join("?" * (6 + len(m.DAILY_SUMS)))
    conn.executemany(
        f"INSERT INTO metal_daily (day, alloy, acct, bench, person, stage, {cols}) VALUES ({marks})"
        f" ON CONFLICT (day, alloy, acct, bench, person, stage) DO UPDATE SET {sets}",
        [(k[0], k[1], k[2], _e(k[3]), _e(k[4]), _e(k[5]), *v) for k, v in daily.items()])


def settings_of(shop: Shop) -> m.MetalSettings:
    for p in shop.journal.projectors:
        if isinstance(p, MetalProjector):
            return p.settings
    return metal_settings(shop.site)


# --- validation shared by the verbs -------------------------------------------------------------
MAX_STOCK_GRAMS = Decimal(100_000)  # 100 kg of alloy: far beyond any lot, tree or return of a workshop


def _weight(value: Decimal | str | int | float, unit: str = "g", what: str = "weight", *, allow_zero: bool = False) -> Decimal:
    """A weight typed or read in any trade unit, as Decimal grams to the microgram; bad input refused."""
    try:
        u = canonical_unit(unit)
    except UnitError as exc:
        raise Refused(str(exc)) from None
    if isinstance(value, float):
        value = str(value)
    try:
        g = to_grams(value, u)
    except UnitError:
        raise Refused(f"{what} {value!r} is not a number") from None
    if not g.is_finite():
        raise Refused(f"{what} {value!r} is not a number")
    if u != "g":
        g = g.quantize(m.UG)  # a converted dwt or ozt figure, to the microgram; far below any scale's readability
    try:
        m.to_ug(g, what, allow_zero=allow_zero)
    except m.MetalError as exc:
        raise Refused(str(exc)) from None
    if g > MAX_STOCK_GRAMS:
        raise Refused(f"{what} {g} g is more than a workshop's stock holds ({MAX_STOCK_GRAMS} g): is the unit right?")
    return Decimal(format(g, "f"))  # '1E+2' typed stays readable as 100 in the journal


def _alloy(shop: Shop, alloy: str) -> str:
    if alloy not in shop.site.alloys:
        raise Refused(f"unknown alloy {alloy!r}; alloys: {', '.join(shop.site.alloys)}")
    return alloy


def _person(shop: Shop, person_id: str | None) -> str | None:
    if person_id is None:
        return None
    shop.person(person_id)
    return person_id


def _bench(shop: Shop, bench_id: str | None) -> str | None:
    if bench_id is None:
        return None
    shop.bench(bench_id)
    return bench_id


def _balance(conn: sqlite3.Connection, alloy: str, a: m.Account) -> int:
    row = conn.execute("SELECT ug FROM metal_balances WHERE alloy=? AND acct=? AND bench=? AND person=? AND stage=?",
                       (alloy, a.kind, _e(a.bench), _e(a.person), _e(a.stage))).fetchone()
    return row[0] if row else 0


def _next_id(conn: sqlite3.Connection, table: str, col: str, prefix: str) -> str:
    row = conn.execute(f"SELECT max(CAST(substr({col}, {len(prefix) + 1}) AS INTEGER)) FROM {table}"
                       f" WHERE {col} GLOB '{prefix}[0-9]*'").fetchone()
    return f"{prefix}{(row[0] or 0) + 1:04d}"


def _units(shop: Shop) -> tuple[str, ...]:
    return shop.site.settings.units


# --- verbs ------------------------------------------------------------------------------------
def receive_lot(shop: Shop, alloy: str, grams: Decimal | str | float, *, supplier: str = "", lot: str | None = None,
                note: str = "", unit: str = "g", person_id: str | None = None, bench_id: str | None = None) -> str:
    """A lot of alloy comes into stock; returns the lot id (L0001 … unless given)."""
    alloy = _alloy(shop, alloy)
    g = _weight(grams, unit, "lot weight")
    _person(shop, person_id)
    _bench(shop, bench_id)
    if lot is not None and not payloads._CODE_RE.match(lot):
        raise Refused(f"lot id {lot!r} must be letters, digits, '.', '_' or '-'")
    box: dict[str, Any] = {}

    def build(conn):
        lot_id = lot or _next_id(conn, "metal_lots", "lot", "L")
        if conn.execute("SELECT 1 FROM metal_lots WHERE lot = ?", (lot_id,)).fetchone():
            raise Refused(f"lot {lot_id} was already received")
        box["lot"] = lot_id
        return [shop.event(m.LOT_RECEIVED, None, person_id, bench_id,
                           {"lot": lot_id, "alloy": alloy, "grams": str(g), "supplier": supplier, "note": note,
                            "unit": unit})]

    shop.journal.append_many(build=build)
    return box["lot"]


def issue(shop: Shop, alloy: str, grams: Decimal | str | float, *, bench_id: str, person_id: str | None = None,
          lot: str | None = None, unit: str = "g", by: str | None = None) -> ev.Event:
    """Metal from stock to a person at a bench (or to the bench's common stock); refused beyond what stock holds."""
    alloy = _alloy(shop, alloy)
    g = _weight(grams, unit, "issue weight")
    _bench(shop, bench_id)
    _person(shop, person_id)
    _person(shop, by)
    ug = m.to_ug(g)

    def build(conn):
        have = _balance(conn, alloy, m.Account(m.STOCK))
        if have < ug:
            raise Refused(f"stock holds {fmt(m.grams(have))} of {alloy}; cannot issue {fmt(g)} (receive a lot first)")
        if lot is not None:
            row = conn.execute("SELECT alloy FROM metal_lots WHERE lot = ?", (lot,)).fetchone()
            if not row:
                raise NotFound(f"no lot {lot} in stock")
            if row[0] != alloy:
                raise Refused(f"lot {lot} is {row[0]}, not {alloy}")
        return [shop.event(m.METAL_ISSUED, None, by, bench_id,
                           {"alloy": alloy, "grams": str(g), "bench": bench_id, "person": person_id, "lot": lot,
                            "unit": unit})]

    return shop.journal.append_many(build=build)[0]


def return_metal(shop: Shop, alloy: str, grams: Decimal | str | float, *, category: str, bench_id: str,
                 person_id: str | None = None, stage: str | None = None, to: str = "stock", job: str | None = None,
                 unit: str = "g", by: str | None = None) -> ev.Event:
    """Unused metal or scrap (sprue, buttons, lemel, sweeps, polishing dust) back from a bench, to stock or the refiner."""
    alloy = _alloy(shop, alloy)
    g = _weight(grams, unit, "returned weight")
    if category not in m.CATEGORIES:
        raise Refused(f"unknown scrap category {category!r}; categories: {', '.join(m.CATEGORIES)}")
    if to not in m.DESTINATIONS:
        raise Refused(f"metal goes back to stock or to the refiner, not {to!r}")
    bench = shop.bench(bench_id)
    _person(shop, person_id)
    _person(shop, by)
    s = settings_of(shop)
    if stage is not None:
        if stage not in shop.site.stages:
            raise Refused(f"no stage {stage!r}; stages: {', '.join(shop.site.stages)}")
        if not s.metal_stage(stage):
            raise Refused(f"{shop.site.stages[stage].name} does not weigh metal; scrap cannot come from it")
    elif category != "clean":
        # scrap belongs to the stage that made it: a bench with one metal stage needs no saying which
        mine = [sid for sid in bench.stages if s.metal_stage(sid)]
        if len(mine) == 1:
            stage = mine[0]
    if job is not None:
        job = shop.job(job).id
    ug = m.to_ug(g)

    def build(conn):
        if category == "clean":
            have = _balance(conn, alloy, m.Account(m.RAW, bench_id, person_id))
            if have < ug:
                who = shop.name(person_id) or bench.name
                raise Refused(f"{who} holds {fmt(m.grams(max(have, 0)))} of {alloy} bench stock at {bench.name}; "
                              f"cannot return {fmt(g)} unused")
        return [shop.event(m.METAL_RETURNED, job, by or person_id, bench_id,
                           {"alloy": alloy, "grams": str(g), "category": category, "bench": bench_id,
                            "person": person_id, "stage": stage, "to": to, "job": job, "unit": unit})]

    return shop.journal.append_many(build=build)[0]


def send_to_refiner(shop: Shop, alloy: str, grams: Decimal | str | float, *, category: str = "lemel",
                    unit: str = "g", by: str | None = None) -> str:
    """Scrap held in stock shipped to the refiner; returns the shipment id (R0001 …)."""
    alloy = _alloy(shop, alloy)
    g = _weight(grams, unit, "shipment weight")
    if category not in m.CATEGORIES:
        raise Refused(f"unknown scrap category {category!r}; categories: {', '.join(m.CATEGORIES)}")
    _person(shop, by)
    ug = m.to_ug(g)
    box: dict[str, str] = {}

    def build(conn):
        have = _balance(conn, alloy, m.Account(m.STOCK))
        if have < ug:
            raise Refused(f"stock holds {fmt(m.grams(have))} of {alloy}; cannot ship {fmt(g)}")
        sid = _next_id(conn, "metal_refiner", "shipment", "R")
        box["id"] = sid
        return [shop.event(m.REFINER_SENT, None, by, None,
                           {"alloy": alloy, "grams": str(g), "category": category, "shipment": sid, "unit": unit})]

    shop.journal.append_many(build=build)
    return box["id"]


def refiner_return(shop: Shop, metal: str, fine_grams: Decimal | str | float, *, shipment: str | None = None,
                   alloy: str | None = None, grams: Decimal | str | float | None = None, by: str | None = None) -> ev.Event:
    """The refiner's settlement in fine weight of a metal; with alloy and grams, metal comes back into stock as a lot."""
    metals = sorted({a.metal for a in shop.site.alloys.values()})
    if metal not in metals:
        raise Refused(f"unknown metal {metal!r}; metals of this site's alloys: {', '.join(metals)}")
    fine = _weight(fine_grams, "g", "fine weight")
    payload: dict[str, Any] = {"metal": metal, "fine_grams": str(fine), "shipment": shipment}
    if (alloy is None) != (grams is None):
        raise Refused("metal coming back into stock needs both its alloy and its gross weight")
    if alloy is not None:
        _alloy(shop, alloy)
        if shop.site.alloys[alloy].metal != metal:
            raise Refused(f"{alloy} is not {metal}")
        g = _weight(grams, "g", "gross weight")
        payload |= {"alloy": alloy, "grams": str(g)}
    _person(shop, by)

    def build(conn):
        if shipment is not None and not conn.execute("SELECT 1 FROM metal_refiner WHERE shipment = ?", (shipment,)).fetchone():
            raise NotFound(f"no refiner shipment {shipment}")
        if alloy is not None:
            payload["lot"] = _next_id(conn, "metal_lots", "lot", "L")
        return [shop.event(m.REFINER_RETURNED, None, by, None, payload)]

    return shop.journal.append_many(build=build)[0]


def build_tree(shop: Shop, jobs: list[str], *, person_id: str, bench_id: str, method: str | None = None,
               wax_grams: Decimal | str | float | None = None) -> str:
    """A casting batch: these jobs' waxes on one tree (one alloy). Returns the tree id (T0001 …)."""
    if not jobs:
        raise Refused("a tree needs at least one job")
    states = [shop.job(j) for j in jobs]
    ids = [s.id for s in states]
    if len(set(ids)) != len(ids):
        raise Refused("a job is listed twice on the tree")
    alloys = sorted({s.alloy for s in states})
    if len(alloys) != 1:
        raise Refused(f"one tree is one alloy; these jobs are in {', '.join(alloys)}")
    shop.person(person_id)
    bench = shop.bench(bench_id)
    s = settings_of(shop)
    method = method or s.casting_methods.get(bench.id)
    if method is None:
        raise Refused(f"say the casting method ({' or '.join(m.CASTING_METHODS)}); {bench.name} has no casting_method in site.toml")
    if method not in m.CASTING_METHODS:
        raise Refused(f"casting method must be {' or '.join(m.CASTING_METHODS)}, not {method!r}")
    payload: dict[str, Any] = {"alloy": alloys[0], "method": method, "jobs": ids}
    if wax_grams is not None:
        payload["wax_grams"] = str(_weight(wax_grams, "g", "wax weight"))
    box: dict[str, str] = {}

    def build(conn):
        q = ",".join("?" * len(ids))
        for job, tree, acct in conn.execute(f"SELECT job, tree, acct FROM metal_pieces WHERE job IN ({q})", ids):
            if tree:
                raise Refused(f"{job} is already on tree {tree}")
            if acct:
                raise Refused(f"{job} is already in metal; only waxes go on a tree")
        tid = _next_id(conn, "metal_trees", "tree", "T")
        box["id"] = tid
        out = [shop.event(m.TREE_BUILT, None, person_id, bench_id, {"tree": tid, **payload})]
        out += [shop.event(m.TREE_JOINED, j, person_id, bench_id, {"tree": tid}) for j in ids]
        return out

    shop.journal.append_many(build=build)
    return box["id"]


def _tree_row(conn: sqlite3.Connection, tree: str) -> tuple:
    row = conn.execute("SELECT status, alloy, jobs, metal_in_ug, pieces_ug FROM metal_trees WHERE tree = ?", (tree,)).fetchone()
    if not row:
        raise NotFound(f"no tree {tree} in this workshop")
    return row


def cast_tree(shop: Shop, tree: str, *, metal_in: Decimal | str | float, tree_grams: Decimal | str | float | None = None,
              person_id: str, bench_id: str, unit: str = "g") -> ev.Event:
    """The tree is cast: metal in (from the caster's bench stock) and the tree's weight after devesting."""
    g_in = _weight(metal_in, unit, "metal in")
    g_tree = _weight(tree_grams, unit, "tree weight") if tree_grams is not None else None
    shop.person(person_id)
    shop.bench(bench_id)
    if g_tree is not None and g_tree > g_in:
        raise Refused(f"the tree ({fmt(g_tree)}) cannot weigh more than the metal put in ({fmt(g_in)})")

    ug = m.to_ug(g_in)

    def build(conn):
        status, alloy = _tree_row(conn, tree)[:2]
        if status != "built":
            raise Refused(f"tree {tree} was already cast")
        # the metal comes from the caster's bench stock (or the bench's common stock): it must be there
        have = sum(max(0, _balance(conn, alloy, m.Account(m.RAW, bench_id, who))) for who in (person_id, None))
        if have < ug:
            raise Refused(f"{shop.name(person_id)} holds {fmt(m.grams(have))} of {alloy} at {shop.bench(bench_id).name};"
                          f" cannot cast {fmt(g_in)} (issue metal first)")
        return [shop.event(m.TREE_CAST, None, person_id, bench_id,
                           {"tree": tree, "metal_in": str(g_in), "tree_grams": None if g_tree is None else str(g_tree),
                            "unit": unit})]

    return shop.journal.append_many(build=build)[0]


def cut_tree(shop: Shop, tree: str, *, pieces: dict[str, Decimal | str | float], sprue: Decimal | str | float = 0,
             buttons: Decimal | str | float = 0, to: str = "stock", person_id: str, bench_id: str,
             unit: str = "g") -> list[ev.Event]:
    """Pieces cut off the tree (each job's weight), sprue and buttons back; the tree's loss is then known."""
    if to not in m.DESTINATIONS:
        raise Refused(f"sprue and buttons go back to stock or to the refiner, not {to!r}")
    shop.person(person_id)
    shop.bench(bench_id)
    weights = {shop.job(j).id: _weight(w, unit, f"weight of {j}") for j, w in pieces.items()}
    g_sprue = _weight(sprue, unit, "sprue weight", allow_zero=True)
    g_buttons = _weight(buttons, unit, "buttons weight", allow_zero=True)

    def build(conn):
        status, _alloy_, jobs, metal_in, _ = _tree_row(conn, tree)
        if status == "built":
            raise Refused(f"tree {tree} has not been cast yet")
        if status == "cut":
            raise Refused(f"tree {tree} was already cut off")
        on_tree = json.loads(jobs)
        stray = [j for j in weights if j not in on_tree]
        if stray:
            raise Refused(f"{', '.join(stray)} {'is' if len(stray) == 1 else 'are'} not on tree {tree}")
        total = sum(weights.values(), Decimal(0)) + g_sprue + g_buttons
        if total > m.grams(metal_in):
            raise Refused(f"pieces, sprue and buttons ({fmt(total)}) weigh more than the metal put in ({fmt(m.grams(metal_in))})")
        out = [shop.event(m.PIECE_CUT, j, person_id, bench_id, {"tree": tree, "grams": str(w), "unit": unit})
               for j, w in weights.items()]
        out.append(shop.event(m.TREE_CUT, None, person_id, bench_id,
                              {"tree": tree, "sprue": str(g_sprue), "buttons": str(g_buttons), "to": to,
                               "pieces": {j: str(w) for j, w in weights.items()}, "unit": unit}))
        return out

    return shop.journal.append_many(build=build)


# --- reading ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Balance:
    acct: str
    bench: str | None
    person: str | None
    stage: str | None
    alloy: str
    gross: Decimal
    fine: Decimal


def balances(shop: Shop, *, include_zero: bool = False) -> list[Balance]:
    """What each account holds now, per alloy: stock, bench stock, work, trees, between benches, refiner."""
    rows = shop.journal.query("SELECT acct, bench, person, stage, alloy, ug FROM metal_balances"
                              " WHERE acct IN ('stock', 'bench', 'work', 'tree', 'transit', 'refiner')"
                              " ORDER BY alloy, acct, bench, person, stage")
    out = []
    for acct, bench, person, stage, alloy, ug in rows:
        if not ug and not include_zero:
            continue
        g = m.grams(ug)
        fin = shop.site.alloys[alloy].fineness if alloy in shop.site.alloys else Decimal(0)
        out.append(Balance(acct, _n(bench), _n(person), _n(stage), alloy, g, fine_weight(g, fin)))
    return out


def holdings(shop: Shop, by: str) -> list[tuple[str, str, Decimal, Decimal]]:
    """Metal held per bench, person or alloy (bench stock + work + trees), gross and fine: (key, alloy, gross, fine)."""
    acc: dict[tuple[str, str], Decimal] = {}
    for b in balances(shop):
        if by == "alloy":
            if b.acct in (m.STOCK, m.REFINER):
                continue
            key = ""
        elif b.acct not in m.HOLDERS:
            continue
        else:
            key = (b.bench if by == "bench" else b.person) or ("(bench common stock)" if by == "person" else "")
        acc[(key, b.alloy)] = acc.get((key, b.alloy), Decimal(0)) + b.gross
    out = []
    for (key, alloy), g in sorted(acc.items()):
        fin = shop.site.alloys[alloy].fineness if alloy in shop.site.alloys else Decimal(0)
        out.append((key, alloy, g, fine_weight(g, fin)))
    return out


def _line_key(grouping: str, acct: str, bench: str, person: str, stage: str) -> str | None:
    if grouping == "alloy":
        return None
    if acct == m.TRANSIT:
        return m.TRANSIT_LINE
    if grouping == "bench":
        return bench
    if grouping == "person":
        return person or "(bench common stock)"
    return stage or m.NO_STAGE


def reconcile(shop: Shop, start: date | str, end: date | str) -> m.Reconciliation:
    """issued - returned - in work - finished = loss, per bench, person, stage and alloy, over start..end (days, inclusive).

    One pass over the per-day sums up to the end of the period gives every account's figures; the
    lines of each grouping are folded from those in Python (a few hundred accounts, not millions of moves).
    """
    try:
        d1 = start if isinstance(start, date) else m.parse_day(start, "--from")
        d2 = end if isinstance(end, date) else m.parse_day(end, "--to")
    except m.MetalError as exc:
        raise Refused(str(exc)) from None
    if d2 < d1:
        raise Refused(f"the period ends ({d2}) before it starts ({d1})")
    s = settings_of(shop)
    accts = ",".join(f"'{a}'" for a in m.IN_WORKSHOP)
    cols = ("ret_ug", *(f"in_x_{g}" for g in m.GROUPINGS), *(f"fin_x_{g}" for g in m.GROUPINGS))
    period = ", ".join(f"SUM(CASE WHEN day >= ?1 THEN {c} ELSE 0 END)" for c in cols)
    rows = shop.journal.query(
        f"SELECT alloy, acct, bench, person, stage, SUM(CASE WHEN day < ?1 THEN in_ug - book_ug ELSE 0 END), {period},"
        f" SUM(in_ug - book_ug) FROM metal_daily WHERE day <= ?2 AND acct IN ({accts})"
        " GROUP BY alloy, acct, bench, person, stage", (d1.isoformat(), d2.isoformat()))
    n = len(m.GROUPINGS)
    acc: dict[tuple[str, str | None, str], list] = {}
    for alloy, acct, bench, person, stage, bf, ret, *rest in rows:
        ins, fins, wip = rest[:n], rest[n:2 * n], rest[2 * n]
        for i, g in enumerate(m.GROUPINGS):
            a = acc.setdefault((g, _line_key(g, acct, bench, person, stage), alloy), [0, 0, 0, 0, 0, set()])
            a[0] += bf or 0
            a[1] += ins[i] or 0
            a[2] += ret or 0
            a[3] += fins[i] or 0
            a[4] += wip or 0
            if bench:
                a[5].add(bench)
    sums = [m.LineSums(g, key, alloy, *v[:5], frozenset(v[5])) for (g, key, alloy), v in acc.items()]
    return m.reconcile(d1, d2, sums, s)


def moves(shop: Shop, start: date, end: date) -> list[tuple]:
    """Every move of metal in the period, oldest first (for the report's CSV and audits)."""
    return shop.journal.query(
        "SELECT ts, alloy, kind, category, src_acct, src_bench, src_person, src_stage, dst_acct, dst_bench, dst_person,"
        " dst_stage, ug, book_ug, job, tree, lot FROM metal_moves WHERE day BETWEEN ? AND ? ORDER BY ts, event, n",
        (start.isoformat(), end.isoformat()))


def trees(shop: Shop, start: date | None = None, end: date | None = None, *, cut_only: bool = True) -> list[m.Tree]:
    w = Where("status = 'cut'") if cut_only else Where()
    w.given(start and start.isoformat(), "cut_day >= ?").given(end and end.isoformat(), "cut_day <= ?")
    rows = shop.journal.query(
        "SELECT tree, alloy, method, bench, person, jobs, built_at, cast_at, cut_at, metal_in_ug, tree_ug, pieces_ug,"
        " sprue_ug, buttons_ug, remaining_ug, cast_bench, cast_person FROM metal_trees"
        + w.sql() + " ORDER BY tree", w.params)
    return [m.Tree(r[0], r[1], r[2], r[3], r[4], json.loads(r[5] or "[]"), r[6] or "", r[7], r[8], r[9] or 0, r[10],
                   r[11] or 0, r[12] or 0, r[13] or 0, r[14] or 0, r[15], r[16]) for r in rows]


@dataclass(frozen=True)
class RefinerAccount:
    metal: str
    sent_gross: Decimal
    sent_fine: Decimal  # what the scrap should hold, by the alloys' fineness
    returned_fine: Decimal

    @property
    def outstanding_fine(self) -> Decimal:
        return self.sent_fine - self.returned_fine


def refiner_account(shop: Shop) -> list[RefinerAccount]:
    acc: dict[str, list[Decimal]] = {}
    for kind, metal, gross, fine in shop.journal.query("SELECT kind, metal, gross_ug, fine FROM metal_refiner"):
        a = acc.setdefault(metal or "?", [Decimal(0), Decimal(0), Decimal(0)])
        if kind == "sent":
            a[0] += m.grams(gross)
            a[1] += Decimal(fine)
        else:
            a[2] += Decimal(fine)
    return [RefinerAccount(k, *v) for k, v in sorted(acc.items())]


def stock(shop: Shop) -> dict[str, Decimal]:
    return {alloy: m.grams(ug) for alloy, ug in shop.journal.query(
        "SELECT alloy, ug FROM metal_balances WHERE acct = 'stock' AND ug != 0 ORDER BY alloy")}


def describe(shop: Shop, e: ev.Event) -> str:
    """History wording of the metal events."""
    p = e.payload
    who = shop.name(e.person) or "someone"
    units = _units(shop)

    def w(key: str) -> str:
        return fmt_many(Decimal(p[key]), units) if p.get(key) not in (None, "") else "—"

    t = e.type
    if t == m.TREE_JOINED:
        return f"{who} put the wax on casting tree {p.get('tree')}"
    if t == m.PIECE_CUT:
        return f"{who} cut the piece off tree {p.get('tree')}: {w('grams')}"
    if t == m.TREE_BUILT:
        return f"{who} built tree {p.get('tree')} ({len(p.get('jobs', []))} pieces, {p.get('alloy')}, {p.get('method')})"
    if t == m.TREE_CAST:
        return f"{who} cast tree {p.get('tree')}: metal in {w('metal_in')}, tree {w('tree_grams')}"
    if t == m.TREE_CUT:
        return f"{who} cut off tree {p.get('tree')}: sprue {w('sprue')}, buttons {w('buttons')} to {p.get('to')}"
    if t == m.LOT_RECEIVED:
        return f"{who} received lot {p.get('lot')}: {w('grams')} {p.get('alloy')} from {p.get('supplier') or 'a supplier'}"
    if t == m.METAL_ISSUED:
        return f"{who} issued {w('grams')} {p.get('alloy')} to {shop.name(p.get('person')) or p.get('bench')}"
    if t == m.METAL_RETURNED:
        return (f"{shop.name(p.get('person')) or who} returned {w('grams')} {p.get('alloy')} "
                f"{m.CATEGORIES.get(p.get('category'), p.get('category'))} to {p.get('to')}")
    if t == m.REFINER_SENT:
        return f"{who} sent {w('grams')} {p.get('alloy')} {p.get('category')} to the refiner ({p.get('shipment')})"
    if t == m.REFINER_RETURNED:
        return f"the refiner returned {w('fine_grams')} fine {p.get('metal')}"
    return f"{who}: {t}"


def period(start: str | None, end: str | None, today: date, days: int = 30) -> tuple[date, date]:
    """--from/--to as dates (inclusive); a missing end is today, a missing start `days` before the end."""
    try:
        d2 = m.parse_day(end, "--to") if end else today
        d1 = m.parse_day(start, "--from") if start else d2 - timedelta(days=days - 1)
    except m.MetalError as exc:
        raise Refused(str(exc)) from None
    if d2 < d1:
        raise Refused(f"the period ends ({d2}) before it starts ({d1})")
    return d1, d2


# --- the demo site ------------------------------------------------------------------------------
DEMO_ALLOYS = ("18KY", "18KW", "14KY", "9KY", "22KY", "925", "PT950")


def demo_before(shop: Shop) -> None:
    """Demo: lots in stock and metal issued to the caster and the fabricator, before any job starts."""
    for alloy in DEMO_ALLOYS:
        if alloy not in shop.site.alloys:
            continue
        receive_lot(shop, alloy, "500", supplier="Demo Metals")
        if "casting" in shop.site.benches and "ana" in shop.site.people:
            issue(shop, alloy, "150", bench_id="casting", person_id="ana")
        if "cleanup" in shop.site.benches and "ana" in shop.site.people:
            issue(shop, alloy, "120", bench_id="cleanup", person_id="ana")


def demo_after(shop: Shop, clock: dict, now) -> None:
    """Demo: one casting tree from wax to cut-off, scrap returns by category and a refiner shipment."""
    site = shop.site
    if "casting-line" not in site.routes or "casting" not in site.benches:
        return
    clock["t"] = now - timedelta(hours=30)
    due = (now + timedelta(days=12)).date().isoformat()
    jobs = verbs.create_jobs(shop, [dict(route="casting-line", design="Stacking ring", alloy="14KY", due=due,
                                  client="Grace Kim") for _ in range(3)], person_id="dev", bench_id="design")
    for j in jobs:
        verbs.start(shop, j, "dev", "design", "wax-injection")
        verbs.finish(shop, j, "dev", "design", "wax-injection")
    clock["t"] += timedelta(hours=2)
    for j in jobs:
        verbs.start(shop, j, "ana", "casting", "tree-building")
        verbs.record_weight(shop, j, "ana", "casting", "0.31", phase="in", stage="tree-building", raw="demo", source=verbs.FromScale("demo", "demo"))
        verbs.finish(shop, j, "ana", "casting", "tree-building")
    tree = build_tree(shop, jobs, person_id="ana", bench_id="casting", wax_grams="1.40")
    clock["t"] += timedelta(hours=4)
    cast_tree(shop, tree, metal_in="32.50", tree_grams="32.31", person_id="ana", bench_id="casting")
    clock["t"] += timedelta(hours=3)
    weights = dict(zip(jobs, ("5.12", "5.08", "5.15")))
    cut_tree(shop, tree, pieces=weights, sprue="14.62", buttons="2.11", person_id="ana", bench_id="casting")
    for j, w in weights.items():
        verbs.start(shop, j, "ana", "casting", "casting")
        verbs.record_weight(shop, j, "ana", "casting", w, phase="in", stage="casting", raw="demo", source=verbs.FromScale("demo", "demo"))
        verbs.record_weight(shop, j, "ana", "casting", w, phase="out", stage="casting", raw="demo", source=verbs.FromScale("demo", "demo"))
        verbs.finish(shop, j, "ana", "casting", "casting")
    clock["t"] += timedelta(hours=2)
    if "polishing" in site.benches and "chloe" in site.people:
        return_metal(shop, "18KY", "0.062", category="lemel", bench_id="polishing", person_id="chloe")
        return_metal(shop, "18KY", "0.095", category="polishing-dust", bench_id="polishing", person_id="chloe",
                     to="refiner")
    if "cleanup" in site.benches and "ana" in site.people:
        return_metal(shop, "14KY", "0.233", category="lemel", bench_id="cleanup", person_id="ana", stage="cleanup")
        return_metal(shop, "18KY", "20", category="clean", bench_id="cleanup", person_id="ana")
    shipment = send_to_refiner(shop, "18KY", "0.062", category="lemel")
    refiner_return(shop, "Au", "0.045", shipment=shipment)


def describe_price(shop: Shop, e: ev.Event) -> str:
    p = e.payload
    return f"{shop.name(e.person)} recorded {p.get('metal')} at {p.get('per_gram')} {p.get('currency')} a gram for {p.get('day')}"


AREA = Area("metal", projectors=lambda site: [MetalProjector(site)], migrations=(("metal_001_ledger", _m001_ledger), ("metal_002_event_ids", _m002_event_ids)),
            describers={**dict.fromkeys(m.METAL_EVENTS, describe), m.METAL_PRICED: describe_price})
