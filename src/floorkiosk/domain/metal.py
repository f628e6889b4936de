"""The metal ledger's rules: accounts, moves of gross weight between them, balances and reconciliation. No I/O.

Every gram of an alloy is always somewhere: in **stock** (the safe), on a bench as **bench stock** (raw
metal issued to a person at a bench), in **work** at a stage (a piece weighed in and not yet out), on a
casting **tree**, **between benches** (a job bag weighed out of one stage, waiting for the next), at the
**refiner**, or **delivered**. The events of the journal move metal between these accounts; each move
carries the weight that arrives (``ug``) and the weight at which it was booked where it left
(``book``). A piece booked in at 5.000 g and weighed out at 4.970 g leaves 0.030 g behind: that is the
loss, recognised at the moment the metal leaves, where it happened (bench, person, stage, alloy).
Scrap returned from a stage (lemel, sweeps, sprue) leaves with a book weight of nothing, so it
recovers the stage's loss.

Reconciliation per line (a bench, a person, a stage or an alloy) over a period is then, exactly:

    brought forward + issued - returned - finished - in work = difference

and the difference is the period's loss; one below the readability of the scales involved is noise,
not loss. Weights are whole micrograms (int) in the ledger: sums in SQLite and Python stay exact, and
the journal's Decimal grams convert without rounding (a reading with more than six decimals is refused).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple
from datetime import date, datetime, timezone, tzinfo
from decimal import Decimal, InvalidOperation

from floorkiosk.domain import events as ev
from floorkiosk.domain.stones import GRAMS_PER_CT
from floorkiosk.domain.units import fine_weight

# --- event types ------------------------------------------------------------------------------
LOT_RECEIVED = "metal.lot_received"  # a lot of alloy comes into stock (from a supplier or the refiner)
METAL_ISSUED = "metal.issued"  # stock -> a person at a bench (bench stock)
METAL_RETURNED = "metal.returned"  # unused metal or scrap back from a bench, to stock or to the refiner
REFINER_SENT = "metal.refiner_sent"  # scrap shipped from stock to the refiner
REFINER_RETURNED = "metal.refiner_returned"  # the refiner's settlement, in fine weight of a metal
TREE_BUILT = "casting.tree_built"  # a casting batch: the jobs on a tree, its alloy and casting method
TREE_JOINED = "casting.tree_joined"  # one per job on the tree (the job's history shows it)
TREE_CAST = "casting.tree_cast"  # metal in, and the tree's weight after devesting
PIECE_CUT = "casting.piece_cut"  # one per job: the piece's weight after cut-off
TREE_CUT = "casting.tree_cut"  # sprue and buttons back; the tree is closed and its loss known
METAL_PRICED = "metal.priced"  # the day's price of a metal, per gram of fine metal (costing reads it)

METAL_EVENTS = (LOT_RECEIVED, METAL_ISSUED, METAL_RETURNED, REFINER_SENT, REFINER_RETURNED, TREE_BUILT,
                TREE_JOINED, TREE_CAST, PIECE_CUT, TREE_CUT)

# Scrap and return categories, with the words printed on reports.
CATEGORIES = {
    "clean": "clean metal (unused)",
    "sprue": "sprue",
    "buttons": "buttons",
    "lemel": "filings / lemel",
    "sweeps": "sweeps",
    "polishing-dust": "polishing dust",
}
SCRAP = ("sprue", "buttons", "lemel", "sweeps", "polishing-dust")
DESTINATIONS = ("stock", "refiner")
CASTING_METHODS = ("centrifugal", "vacuum")

# --- accounts ---------------------------------------------------------------------------------
SUPPLIER, STOCK, RAW, WORK, TREE, TRANSIT, REFINER, DELIVERED = (
    "supplier", "stock", "bench", "work", "tree", "transit", "refiner", "delivered")
HOLDERS = (RAW, WORK, TREE)  # held by a person at a bench
IN_WORKSHOP = (RAW, WORK, TREE, TRANSIT)  # metal out of the safe and not yet gone
ACCOUNT_WORDS = {SUPPLIER: "received", STOCK: "stock", RAW: "bench stock", WORK: "in work", TREE: "on a tree",
                 TRANSIT: "between benches", REFINER: "at the refiner", DELIVERED: "delivered"}

UG = Decimal("0.000001")  # one microgram, in grams


class MetalError(ValueError):
    """A weight or an amount the ledger cannot take (negative, not a number, finer than a microgram)."""


class Account(NamedTuple):
    # a tuple: accounts are dict keys on every move, and tuples hash fast
    kind: str
    bench: str | None = None
    person: str | None = None
    stage: str | None = None


class Move(NamedTuple):
    """Gross weight of one alloy moving from one account to another (``dst`` None: a loss settlement)."""

    ts: str
    day: str
    alloy: str
    ug: int  # weight arriving at dst
    book: int  # weight released from src's book (ug for fungible metal, 0 for scrap, the booked weight of a piece)
    src: Account
    dst: Account | None
    kind: str  # receive, issue, return, draw, piece, cast, cut, sprue, settle, deliver, refine
    category: str | None = None
    job: str | None = None
    tree: str | None = None
    lot: str | None = None
    event: str | None = None  # the id of the event that made the move: the same on every bench
    n: int = 0  # its place among that event's moves


@dataclass(slots=True)
class Piece:
    """Where a job's metal is now and at what weight it is booked there."""

    job: str
    alloy: str
    route: str
    acct: Account | None = None  # None: no metal yet (design and wax stages)
    book: int = 0
    tree: str | None = None


@dataclass
class Tree:
    id: str
    alloy: str
    method: str
    bench: str | None
    person: str | None
    jobs: list[str] = field(default_factory=list)
    built_at: str = ""
    cast_at: str | None = None
    cut_at: str | None = None
    metal_in: int = 0
    tree_weight: int | None = None
    pieces: int = 0  # weight of the pieces cut off
    sprue: int = 0
    buttons: int = 0
    remaining: int = 0  # booked on the tree and not yet cut off or settled
    cast_bench: str | None = None
    cast_person: str | None = None

    @property
    def status(self) -> str:
        return "cut" if self.cut_at else "cast" if self.cast_at else "built"


@dataclass(frozen=True)
class MetalSettings:
    """The site's [metal] settings (validated by floorkiosk.workshop.metal.metal_settings)."""

    tolerance_pct: Decimal = Decimal("1.0")  # a line losing more than this % of the metal it handled is flagged
    wax_stages: frozenset[str] = frozenset()  # weighings at these stages are wax, not metal
    casting_stage: str = "casting"
    casting_methods: dict[str, str] = field(default_factory=dict)  # bench -> its usual casting method
    readability: dict[str, Decimal] = field(default_factory=dict)  # bench -> its scale's readability, grams
    weigh_in: frozenset[str] = frozenset()  # stages that ask for a weigh-in
    weigh_out: frozenset[str] = frozenset()  # stages that ask for a weigh-out
    needs_verify: frozenset[str] = frozenset()
    delivery: dict[str, str] = field(default_factory=dict)  # route -> the stage whose completion delivers
    max_loss_pct: dict[str, Decimal] = field(default_factory=dict)  # stage -> its tolerance
    fineness: dict[str, Decimal] = field(default_factory=dict)  # alloy -> fineness
    metal_of: dict[str, str] = field(default_factory=dict)  # alloy -> Au, Ag, Pt …
    tz: tzinfo = timezone.utc

    def metal_stage(self, stage: str) -> bool:
        return stage not in self.wax_stages and (stage in self.weigh_in or stage in self.weigh_out)


# --- weights ----------------------------------------------------------------------------------
def to_ug(grams: Decimal | str | int, what: str = "weight", *, allow_zero: bool = True) -> int:
    """Grams (Decimal or text) to whole micrograms; refuse what is not a non-negative weight."""
    try:
        g = grams if isinstance(grams, Decimal) else Decimal(str(grams).strip())
    except (InvalidOperation, ValueError):
        raise MetalError(f"{what} {grams!r} is not a number of grams") from None
    if not g.is_finite():
        raise MetalError(f"{what} {grams!r} is not a number of grams")
    if g < 0:
        raise MetalError(f"{what} cannot be negative ({g} g)")
    if g == 0 and not allow_zero:
        raise MetalError(f"{what} must be more than 0 g")
    ug = g / UG
    if ug != ug.to_integral_value():
        raise MetalError(f"{what} {g} g is finer than a microgram; no scale reads that")
    return int(ug)


def grams(ug: int | None) -> Decimal:
    """Whole micrograms back to Decimal grams, exactly."""
    return Decimal(int(ug or 0)).scaleb(-6)


def local_day(ts: str, tz: tzinfo = timezone.utc) -> str:
    """The workshop's calendar day (ISO) of a journal timestamp."""
    if tz is timezone.utc and ts.endswith("Z"):
        return ts[:10]
    t = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)
    return t.astimezone(tz).date().isoformat()


def parse_day(text: str, what: str = "date") -> date:
    try:
        return date.fromisoformat(str(text).strip())
    except ValueError:
        raise MetalError(f"{what} {text!r} is not a date like 2026-11-30") from None


# --- the ledger -------------------------------------------------------------------------------
class Ledger:
    """Turns journal events into moves, keeping where each piece and tree is and each account's balance.

    State lives in plain dicts; ``load_piece``, ``load_tree`` and ``load_balance`` fetch what is not in
    them yet (the projector reads its tables; a rebuild starts empty and needs none).
    """

    def __init__(self, settings: MetalSettings, *, load_piece: Callable[[str], Piece | None] | None = None,
                 load_tree: Callable[[str], Tree | None] | None = None,
                 load_balance: Callable[[str, Account], int] | None = None) -> None:
        self.s = settings
        self.pieces: dict[str, Piece | None] = {}
        self.trees: dict[str, Tree | None] = {}
        self.balances: dict[tuple[str, Account], int] = {}
        self.touched_pieces: set[str] = set()
        self.touched_trees: set[str] = set()
        self.touched_balances: set[tuple[str, Account]] = set()
        self._load_piece = load_piece or (lambda job: None)
        self._load_tree = load_tree or (lambda tree: None)
        self._load_balance = load_balance or (lambda alloy, acct: 0)
        # (event id, n, ts, kind, alloy, metal, gross_ug, fine Decimal, category, ref): n is the line's place among
        # its event's lines (a tree cut sends sprue and buttons)
        self.refiner: list[tuple] = []
        self.lots: list[tuple] = []  # (lot, alloy, ug, supplier, ts, note)

    # -- state access --
    def piece(self, job: str) -> Piece | None:
        if job not in self.pieces:
            self.pieces[job] = self._load_piece(job)
        return self.pieces[job]

    def tree(self, tree_id: str) -> Tree | None:
        if tree_id not in self.trees:
            self.trees[tree_id] = self._load_tree(tree_id)
        return self.trees[tree_id]

    def balance(self, alloy: str, acct: Account) -> int:
        key = (alloy, acct)
        if key not in self.balances:
            self.balances[key] = self._load_balance(alloy, acct)
        return self.balances[key]

    def _book(self, m: Move) -> None:
        bal = self.balances
        k = (m.alloy, m.src)
        b = bal.get(k)
        bal[k] = (self._load_balance(m.alloy, m.src) if b is None else b) - m.book
        self.touched_balances.add(k)
        if m.dst is not None:
            k = (m.alloy, m.dst)
            b = bal.get(k)
            bal[k] = (self._load_balance(m.alloy, m.dst) if b is None else b) + m.ug
            self.touched_balances.add(k)

    # -- events --
    def handle(self, e: ev.Event) -> list[Move]:
        out: list[Move] = []
        t = e.type
        p = e.payload
        day: list[str] = []  # the event's calendar day, worked out once and only if metal moves

        def move(alloy: str, ug: int, book: int, src: Account, dst: Account | None, kind: str, **kw) -> None:
            if not day:
                day.append(local_day(e.ts, self.s.tz))
            m = Move(e.ts, day[0], alloy, ug, book, src, dst, kind, event=e.id, n=len(out), **kw)
            self._book(m)
            out.append(m)

        if t == ev.JOB_CREATED:
            self.pieces[e.job] = Piece(e.job, p.get("alloy", ""), p.get("route", ""))
            self.touched_pieces.add(e.job)
        elif t == LOT_RECEIVED:
            ug = int(p["ug"]) if "ug" in p else to_ug(p["grams"])
            move(p["alloy"], ug, ug, Account(SUPPLIER), Account(STOCK), "receive", lot=p.get("lot"),
                 category=p.get("supplier"))
            self.lots.append((p.get("lot"), p["alloy"], ug, p.get("supplier", ""), e.ts, p.get("note", "")))
        elif t == METAL_ISSUED:
            ug = to_ug(p["grams"])
            move(p["alloy"], ug, ug, Account(STOCK), Account(RAW, p.get("bench"), p.get("person")), "issue",
                 lot=p.get("lot"))
        elif t == METAL_RETURNED:
            ug = to_ug(p["grams"])
            cat = p.get("category", "clean")
            bench, person, stage = p.get("bench"), p.get("person"), p.get("stage")
            dst = Account(REFINER if p.get("to") == "refiner" else STOCK)
            if cat == "clean":
                # unused metal goes back from bench stock at the weight it was issued at
                move(p["alloy"], ug, ug, Account(RAW, bench, person), dst, "return", category=cat, job=p.get("job"))
            else:
                # scrap was booked as loss when the pieces left; coming back, it recovers that loss
                src = Account(WORK, bench, person, stage) if stage else Account(RAW, bench, person)
                move(p["alloy"], ug, 0, src, dst, "return", category=cat, job=p.get("job"))
            if dst.kind == REFINER:
                self._refiner_sent(e, p["alloy"], ug, cat)
        elif t == REFINER_SENT:
            ug = to_ug(p["grams"])
            move(p["alloy"], ug, ug, Account(STOCK), Account(REFINER), "refine", category=p.get("category"),
                 lot=p.get("shipment"))
            self._refiner_sent(e, p["alloy"], ug, p.get("category"))
        elif t == REFINER_RETURNED:
            fine = Decimal(str(p["fine_grams"]))
            self.refiner.append((e.id, 0, e.ts, "returned", None, p.get("metal"), 0, fine, None, p.get("shipment")))
            if p.get("alloy") and p.get("grams"):
                ug = to_ug(p["grams"])
                move(p["alloy"], ug, ug, Account(SUPPLIER), Account(STOCK), "receive", lot=p.get("lot"),
                     category="refiner")
                self.lots.append((p.get("lot"), p["alloy"], ug, "refiner", e.ts, p.get("note", "")))
        elif t == TREE_BUILT:
            tr = Tree(p["tree"], p["alloy"], p.get("method") or "unspecified", e.bench, e.person,
                      list(p.get("jobs", [])), built_at=e.ts)
            self.trees[tr.id] = tr
            self.touched_trees.add(tr.id)
            for j in tr.jobs:
                pc = self.piece(j)
                if pc is not None:
                    pc.tree = tr.id
                    self.touched_pieces.add(j)
        elif t == TREE_CAST:
            tr = self.tree(p["tree"])
            if tr is not None:
                ug = to_ug(p["metal_in"])
                tr.cast_at, tr.cast_bench, tr.cast_person = e.ts, e.bench, e.person
                tr.metal_in += ug
                tr.remaining += ug
                if p.get("tree_grams") is not None:
                    tr.tree_weight = to_ug(p["tree_grams"])
                acct = self._tree_account(tr)
                for src, part in self._draw(tr.alloy, e.bench, e.person, ug):
                    move(tr.alloy, part, part, src, acct, "cast", tree=tr.id)
                self.touched_trees.add(tr.id)
        elif t == PIECE_CUT:
            tr = self.tree(p["tree"])
            pc = self.piece(e.job) if e.job else None
            if tr is not None and pc is not None:
                ug = to_ug(p["grams"])
                acct = self._tree_account(tr)
                if pc.acct is not None and pc.acct.kind != DELIVERED:
                    # metal already in work for this job goes into the melt at its booked weight
                    move(tr.alloy, pc.book, pc.book, pc.acct, acct, "cast", job=pc.job, tree=tr.id)
                    tr.remaining += pc.book
                move(tr.alloy, ug, ug, acct, Account(TRANSIT), "cut", job=pc.job, tree=tr.id)
                tr.remaining -= ug
                tr.pieces += ug
                pc.acct, pc.book, pc.tree = Account(TRANSIT), ug, tr.id
                self.touched_pieces.add(pc.job)
                self.touched_trees.add(tr.id)
        elif t == TREE_CUT:
            tr = self.tree(p["tree"])
            if tr is not None:
                acct = self._tree_account(tr)
                dst = Account(REFINER if p.get("to") == "refiner" else STOCK)
                for cat in ("sprue", "buttons"):
                    ug = to_ug(p.get(cat) or "0")
                    if ug:
                        move(tr.alloy, ug, ug, acct, dst, "sprue", category=cat, tree=tr.id)
                        tr.remaining -= ug
                        setattr(tr, cat, getattr(tr, cat) + ug)
                        if dst.kind == REFINER:
                            self._refiner_sent(e, tr.alloy, ug, cat)
                if tr.remaining:
                    move(tr.alloy, 0, tr.remaining, acct, None, "settle", tree=tr.id)
                    tr.remaining = 0
                tr.cut_at = e.ts
                self.touched_trees.add(tr.id)
        elif t == ev.WEIGHT_RECORDED and e.job:
            self._weighing(e, move)
        elif t == ev.STAGE_STARTED and e.job:
            stage = p.get("stage")
            if (stage and stage in self.s.weigh_out and stage not in self.s.weigh_in
                    and stage not in self.s.wax_stages):
                # a check-weighing stage (QC): the piece is in its hands from the start, at its booked weight
                pc = self.piece(e.job)
                here = Account(WORK, e.bench, e.person, stage)
                if pc is not None and pc.acct is not None and pc.acct.kind != DELIVERED and pc.acct != here:
                    move(pc.alloy, pc.book, pc.book, pc.acct, here, "piece", job=pc.job)
                    pc.acct = here
                    self.touched_pieces.add(pc.job)
        if t in (ev.STAGE_FINISHED, ev.STAGE_VERIFIED) and e.job:
            pc = self.piece(e.job)
            stage = p.get("stage")
            if pc is not None and stage and stage == self.s.delivery.get(pc.route):
                closes = (t == ev.STAGE_VERIFIED) if stage in self.s.needs_verify else (t == ev.STAGE_FINISHED)
                if closes and pc.acct is not None and pc.acct.kind != DELIVERED:
                    move(pc.alloy, pc.book, pc.book, pc.acct, Account(DELIVERED), "deliver", job=pc.job)
                    pc.acct = Account(DELIVERED)
                    self.touched_pieces.add(pc.job)
        return out

    def _weighing(self, e: ev.Event, move: Callable) -> None:
        p = e.payload
        stage = p.get("stage")
        if not stage or not self.s.metal_stage(stage):
            return
        pc = self.piece(e.job)
        if pc is None:
            return
        if stage == self.s.casting_stage and pc.tree:
            return  # the tree's cut-off weights stand for the pieces cast on it
        try:
            ug = to_ug(p["grams"])
            # stones set in the piece are weighed with it and are no metal (a carat is 0.2 g)
            ug = max(0, ug - to_ug(Decimal(str(p.get("stones_ct") or 0)) * GRAMS_PER_CT))
        except (MetalError, KeyError, InvalidOperation):
            return
        here = Account(WORK, e.bench, e.person, stage)
        if p.get("phase") == "in":
            if pc.acct is None or pc.acct.kind == DELIVERED:
                for src, part in self._draw(pc.alloy, e.bench, e.person, ug):
                    move(pc.alloy, part, part, src, here, "draw", job=pc.job)
            else:
                move(pc.alloy, ug, pc.book, pc.acct, here, "piece", job=pc.job)
            pc.acct, pc.book = here, ug
        else:
            if pc.acct is None or pc.acct.kind == DELIVERED:
                for src, part in self._draw(pc.alloy, e.bench, e.person, ug):
                    move(pc.alloy, part, part, src, here, "draw", job=pc.job)
                pc.acct, pc.book = here, ug
            elif pc.acct != here:
                move(pc.alloy, pc.book, pc.book, pc.acct, here, "piece", job=pc.job)
                pc.acct = here
            move(pc.alloy, ug, pc.book, here, Account(TRANSIT), "piece", job=pc.job)
            pc.acct, pc.book = Account(TRANSIT), ug
        self.touched_pieces.add(pc.job)

    def _tree_account(self, tr: Tree) -> Account:
        return Account(TREE, tr.cast_bench or tr.bench, tr.cast_person or tr.person, self.s.casting_stage)

    def _draw(self, alloy: str, bench: str | None, person: str | None, ug: int) -> list[tuple[Account, int]]:
        """Where metal put into work comes from: the person's bench stock, then the bench's common stock.

        What neither covers is still drawn from the person's bench stock, which goes below nothing:
        the reconciliation then shows metal used that was never issued.
        """
        own = Account(RAW, bench, person)
        if person is None:
            return [(own, ug)]
        common = Account(RAW, bench, None)
        have = max(0, self.balance(alloy, own))
        if have >= ug:
            return [(own, ug)]
        shared = max(0, self.balance(alloy, common))
        from_common = min(shared, ug - have)
        parts = []
        if from_common:
            parts.append((common, from_common))
        if ug - from_common:
            parts.append((own, ug - from_common))
        return parts

    def _refiner_sent(self, e: ev.Event, alloy: str, ug: int, category: str | None) -> None:
        fin = self.s.fineness.get(alloy, Decimal(0))
        n = sum(1 for r in self.refiner[-4:] if r[0] == e.id)
        self.refiner.append((e.id, n, e.ts, "sent", alloy, self.s.metal_of.get(alloy), ug,
                             fine_weight(grams(ug), fin), category, e.payload.get("shipment")))


# --- postings: a move seen from each account it touches ----------------------------------------
GROUPINGS = ("bench", "person", "stage", "alloy")
# the per-day sums kept for each account: in, out, book released, returned; then per grouping the
# issued (in) and finished (out) sums that leave out moves inside the same line
DAILY_SUMS = ("in_ug", "out_ug", "book_ug", "ret_ug",
              "in_x_bench", "in_x_person", "in_x_stage", "in_x_alloy",
              "fin_x_bench", "fin_x_person", "fin_x_stage", "fin_x_alloy")


def _internal(g: str, a: Account, c: Account | None) -> bool:
    if c is None:
        return False
    if g == "alloy":
        return a.kind in IN_WORKSHOP and c.kind in IN_WORKSHOP
    return a.kind in HOLDERS and c.kind in HOLDERS and getattr(a, g) == getattr(c, g)


@lru_cache(maxsize=65536)
def _crossing(a: Account, c: Account) -> tuple[bool, ...]:
    """For each grouping, whether a move between these accounts crosses its lines (either way round)."""
    return tuple(not _internal(g, a, c) for g in GROUPINGS)


_BACK = (STOCK, REFINER)


def postings(m: Move) -> list[tuple[tuple, list[int]]]:
    """The daily-sum deltas of one move: [((day, alloy, kind, bench, person, stage), sums), …]."""
    src, dst, ug = m.src, m.dst, m.ug
    # columns as DAILY_SUMS: in, out, book, returned, in_x_<grouping> x4, fin_x_<grouping> x4
    v = [0, ug, m.book, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    if dst is None:
        return [((m.day, m.alloy, *src), v)]
    x = _crossing(src, dst)
    if dst.kind in _BACK and src.kind in IN_WORKSHOP:
        v[3] = ug
    else:
        v[8:12] = [ug if c else 0 for c in x]
    w = [ug, 0, 0, 0, *[ug if c else 0 for c in x], 0, 0, 0, 0]
    return [((m.day, m.alloy, *src), v), ((m.day, m.alloy, *dst), w)]


def add_postings(acc: dict[tuple, list[int]], moves: Iterable[Move]) -> dict[tuple, list[int]]:
    get = acc.get
    for m in moves:
        for key, v in postings(m):
            cur = get(key)
            acc[key] = v if cur is None else [a + b for a, b in zip(cur, v)]
    return acc


# --- reconciliation ---------------------------------------------------------------------------
TRANSIT_LINE = "(between benches)"
NO_STAGE = "(bench stock)"


@dataclass(frozen=True)
class LineSums:
    """What the daily table gives for one line: sums in micrograms, and the benches involved."""

    grouping: str
    key: str | None  # the bench, person or stage; None for an alloy line
    alloy: str
    brought_forward: int
    issued: int
    returned: int
    finished: int
    in_work: int
    benches: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ReconLine:
    grouping: str
    key: str | None
    alloy: str
    fineness: Decimal
    brought_forward: Decimal  # grams
    issued: Decimal
    returned: Decimal
    finished: Decimal
    in_work: Decimal
    difference: Decimal  # bf + issued - returned - finished - in work
    loss: Decimal  # the difference, or 0 when it is below the scales' readability
    readability: Decimal
    tolerance_pct: Decimal
    flag: str  # "" | "loss beyond tolerance" | "gain: …"

    @property
    def handled(self) -> Decimal:
        return self.brought_forward + self.issued

    @property
    def loss_pct(self) -> Decimal | None:
        return (self.loss / self.handled * 100).quantize(Decimal("0.01")) if self.handled > 0 else None

    @property
    def fine_loss(self) -> Decimal:
        return fine_weight(self.loss, self.fineness)

    @property
    def fine_difference(self) -> Decimal:
        return fine_weight(self.difference, self.fineness)


def reconcile_line(s: LineSums, settings: MetalSettings) -> ReconLine:
    """One reconciliation line: the difference, whether it is loss or noise, and whether it is flagged."""
    bf, iss, ret, fin, wip = (grams(x) for x in (s.brought_forward, s.issued, s.returned, s.finished, s.in_work))
    diff = bf + iss - ret - fin - wip
    if s.key == TRANSIT_LINE or s.grouping == "alloy" or not s.benches:
        scope = settings.readability.values()
    else:
        scope = [settings.readability.get(b, Decimal(0)) for b in s.benches]
    readability = max(scope, default=Decimal(0))
    loss = diff if abs(diff) > readability else Decimal(0)
    tol = settings.tolerance_pct
    if s.grouping == "stage" and s.key in settings.max_loss_pct:
        tol = settings.max_loss_pct[s.key]
    flag = ""
    handled = bf + iss
    if loss < 0:
        flag = "gain: a weighing or a return is wrong"
    elif loss > 0 and (handled <= 0 or loss * 100 > handled * tol):
        flag = "loss beyond tolerance"
    return ReconLine(s.grouping, s.key, s.alloy, settings.fineness.get(s.alloy, Decimal(0)), bf, iss, ret, fin, wip,
                     diff, loss, readability, tol, flag)


@dataclass(frozen=True)
class Reconciliation:
    start: date
    end: date
    lines: dict[str, list[ReconLine]]  # grouping -> its lines

    def flagged(self) -> list[ReconLine]:
        return [ln for g in GROUPINGS for ln in self.lines.get(g, []) if ln.flag]

    def total(self, grouping: str, alloy: str) -> Decimal:
        return sum((ln.difference for ln in self.lines.get(grouping, []) if ln.alloy == alloy), Decimal(0))


def reconcile(start: date, end: date, sums: Iterable[LineSums], settings: MetalSettings) -> Reconciliation:
    lines: dict[str, list[ReconLine]] = {g: [] for g in GROUPINGS}
    for s in sums:
        if not any((s.brought_forward, s.issued, s.returned, s.finished, s.in_work)):
            continue
        lines[s.grouping].append(reconcile_line(s, settings))
    for g in lines:
        lines[g].sort(key=lambda ln: (ln.alloy, ln.key == TRANSIT_LINE, ln.key or ""))
    return Reconciliation(start, end, lines)
