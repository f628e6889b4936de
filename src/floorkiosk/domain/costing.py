"""Cost per job, the cost of poor quality, and quotes for custom work priced from history. No I/O.

A job costs what went into it:

* **labour**: each run of a stage (its work time, pauses and closed hours left out) at the labour rate
  of the stage's skill tier (planning.toml [rates]);
* **rework**: every run of a stage after its first on the same job (the stage was sent back, or
  redone because an earlier one was) at the same rates; it is cost of poor quality;
* **metal**: the piece's weight × its alloy's fineness (fine weight) × the price of the lot its metal
  came from (the day's price per gram of fine metal, `floorkiosk metal price`, when the lot came in);
* **loss**: the metal lost at its stages (weighed in minus weighed out), valued at that same price;
* **stones**: the cost written on the card's stone lines ("… cost 480"); stones broken or lost at
  setting are **scrap**, valued at their line's cost per stone: the second half of the cost of poor quality.

Margin, where the job has a price (`job add --price`): price - cost, and that in % of the price.
Money is Decimal, rounded to the cent only when shown.
"""

from __future__ import annotations

from collections import defaultdict
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation


from floorkiosk.domain.metal import METAL_PRICED  # noqa: F401  (the event costing reads; declared with the metal's)

CENT = Decimal("0.01")
GRAMS_PER_OZT = Decimal("31.1034768")
ZERO = Decimal(0)
BY = ("stage", "person", "design", "route")


def money(x: Decimal | None) -> str:
    return "—" if x is None else f"{x.quantize(CENT, ROUND_HALF_UP):,}"


_AMOUNT = re.compile(r"^-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$|^-?\.\d+$")
_DECIMAL_COMMA = re.compile(r"^\d+,\d{1,2}$")


def plain_amount(text: str, what: str) -> str:
    """An amount as typed, its thousands' commas taken out; a decimal comma (82,40) is refused, not misread."""
    t = str(text).strip()
    if _DECIMAL_COMMA.match(t):
        raise ValueError(f"{what} {text!r}: write the decimals with a point ({t.replace(',', '.')})")
    if "," in t and not _AMOUNT.match(t):
        raise ValueError(f"{what} {text!r} is not an amount such as 480 or 1,250.50")
    return t.replace(",", "")


def parse_money(text: str, what: str) -> Decimal:
    """An amount of money from the command line or a stone line: Decimal, 0 or more, to the cent."""
    try:
        v = Decimal(plain_amount(text, what))
    except InvalidOperation:
        raise ValueError(f"{what} {text!r} is not an amount such as 480 or 82.40") from None
    if not v.is_finite() or v < 0:
        raise ValueError(f"{what} {text!r} must be an amount of 0 or more")
    if v != v.quantize(Decimal("0.0001")):
        raise ValueError(f"{what} {text!r} has more decimals than a price holds")
    return v


# --- what a job's cost is made of ------------------------------------------------------------
@dataclass(frozen=True)
class Work:
    """One run of a stage on a job."""

    stage: str
    skill: str
    person: str
    hours: float
    rework: bool  # not the first run of this stage on this job
    charged_to: str = ""  # rework: the person whose earlier run of the stage is redone


@dataclass(frozen=True)
class Loss:
    stage: str
    person: str
    grams: Decimal  # gross weight lost (negative: weighed out heavier)


@dataclass(frozen=True)
class Scrap:
    """Stones broken or lost at setting."""

    stage: str
    person: str
    count: int
    cost: Decimal | None  # None: the stone line has no cost


@dataclass
class JobInput:
    job: str
    route: str
    design: str
    alloy: str
    fineness: Decimal
    price: Decimal | None  # what the client pays; None: no price given
    per_fine_gram: Decimal | None  # the price of the job's lot, per gram of fine metal; None: no price known
    lot: str | None
    piece_grams: Decimal  # the piece's weight now (delivered, or at its last weighing)
    work: list[Work] = field(default_factory=list)
    losses: list[Loss] = field(default_factory=list)
    stone_lines: list[Decimal | None] = field(default_factory=list)  # each line's cost (None: not written)
    scrap: list[Scrap] = field(default_factory=list)
    open: bool = True


@dataclass(frozen=True)
class CopqItem:
    """One piece of the cost of poor quality, with where it was made."""

    job: str
    stage: str
    person: str
    design: str
    route: str
    kind: str  # "rework" or "scrap"
    amount: Decimal
    hours: float = 0.0


@dataclass
class JobCost:
    job: str
    route: str
    design: str
    alloy: str
    price: Decimal | None
    hours: float
    labour: Decimal
    rework_hours: float
    rework: Decimal
    metal: Decimal
    loss: Decimal
    stones: Decimal
    scrap: Decimal
    lot: str | None
    open: bool
    copq_items: list[CopqItem] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # what could not be priced, in words

    @property
    def total(self) -> Decimal:
        return self.labour + self.rework + self.metal + self.loss + self.stones + self.scrap

    @property
    def copq(self) -> Decimal:
        return self.rework + self.scrap

    @property
    def margin(self) -> Decimal | None:
        return None if self.price is None else self.price - self.total

    @property
    def margin_pct(self) -> Decimal | None:
        if self.price is None or self.price == 0:
            return None
        return ((self.price - self.total) / self.price * 100).quantize(Decimal("0.1"), ROUND_HALF_UP)


def _rate(rates: dict[str, float], skill: str) -> Decimal | None:
    r = rates.get(skill)
    return None if r is None else Decimal(str(r))


def _hours_cost(hours: float, rate: Decimal) -> Decimal:
    return Decimal(str(round(hours, 6))) * rate


def cost_job(j: JobInput, rates: dict[str, float]) -> JobCost:
    """What one job cost (so far, for an open job), and its cost of poor quality item by item."""
    missing: list[str] = []
    labour = rework = ZERO
    hours = rework_hours = 0.0
    items: list[CopqItem] = []
    no_rate: set[str] = set()
    for w in j.work:
        rate = _rate(rates, w.skill)
        if rate is None:
            no_rate.add(w.skill)
            rate = ZERO
        c = _hours_cost(w.hours, rate)
        if w.rework:
            rework += c
            rework_hours += w.hours
            items.append(CopqItem(j.job, w.stage, w.charged_to or w.person, j.design, j.route, "rework", c, w.hours))
        else:
            labour += c
            hours += w.hours
    for sk in sorted(no_rate):
        missing.append(f"no labour rate for skill {sk!r} (planning.toml [rates])")
    metal = loss = ZERO
    lost = sum((x.grams for x in j.losses), ZERO)
    if j.per_fine_gram is None:
        if j.piece_grams or lost:
            missing.append(f"no metal price for {j.alloy} (floorkiosk metal price)")
    else:
        metal = j.piece_grams * j.fineness * j.per_fine_gram
        loss = lost * j.fineness * j.per_fine_gram
    stones = sum((c for c in j.stone_lines if c is not None), ZERO)
    if any(c is None for c in j.stone_lines):
        missing.append("a stone line has no cost")
    scrap = ZERO
    for s in j.scrap:
        if s.cost is None:
            missing.append(f"{s.count} stone(s) broken or lost on a line with no cost")
            continue
        scrap += s.cost
        items.append(CopqItem(j.job, s.stage, s.person, j.design, j.route, "scrap", s.cost))
    return JobCost(j.job, j.route, j.design, j.alloy, j.price, hours, labour, rework_hours, rework, metal, loss,
                   stones, scrap, j.lot, j.open, items, missing)


@dataclass(frozen=True)
class CopqLine:
    key: str
    rework_hours: float
    rework: Decimal
    scrap: Decimal
    jobs: int

    @property
    def total(self) -> Decimal:
        return self.rework + self.scrap


def copq_by(costs: Iterable[JobCost], by: str) -> list[CopqLine]:
    """The cost of poor quality summed by stage, person, design or route, the largest first."""
    if by not in BY:
        raise ValueError(f"by {by!r}: one of {', '.join(BY)}")
    hours: dict[str, float] = defaultdict(float)
    rw: dict[str, Decimal] = defaultdict(Decimal)
    sc: dict[str, Decimal] = defaultdict(Decimal)
    jobs: dict[str, set[str]] = defaultdict(set)
    for c in costs:
        for it in c.copq_items:
            key = getattr(it, by) or "—"
            jobs[key].add(it.job)
            if it.kind == "rework":
                rw[key] += it.amount
                hours[key] += it.hours
            else:
                sc[key] += it.amount
    keys = set(rw) | set(sc)
    out = [CopqLine(k, hours.get(k, 0.0), rw.get(k, ZERO), sc.get(k, ZERO), len(jobs[k])) for k in keys]
    return sorted(out, key=lambda x: (-x.total, x.key))


# --- prices of metal and lots ----------------------------------------------------------------
def price_on(prices: list[tuple[date, Decimal]], day: date) -> tuple[Decimal | None, date | None]:
    """The latest price recorded on or before `day` ((day, per gram) sorted by day); else the first one after."""
    best = None
    for d, p in prices:
        if d <= day:
            best = (p, d)
        else:
            return best if best is not None else (p, d)
    return best if best is not None else (None, None)


def lot_for(lots: list[tuple[date, str]], day: date) -> str | None:
    """The lot a job's metal came from: the lot of its alloy received last on or before the day its metal
    first went into work (lots sorted by day); the first lot where none came in before."""
    got = None
    for d, lot in lots:
        if d <= day:
            got = lot
        elif got is None:
            return lot
    return got


# --- quotes ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class QuoteStage:
    stage: str
    skill: str
    hours: float  # the median of the runs it rests on (or the site's default)
    low: float  # 25th percentile
    high: float  # 75th percentile
    runs: int
    basis: str  # design, route, stage or default
    rate: Decimal | None

    @property
    def cost(self) -> Decimal:
        return ZERO if self.rate is None else _hours_cost(self.hours, self.rate)

    @property
    def cost_low(self) -> Decimal:
        return ZERO if self.rate is None else _hours_cost(self.low, self.rate)

    @property
    def cost_high(self) -> Decimal:
        return ZERO if self.rate is None else _hours_cost(self.high, self.rate)


@dataclass(frozen=True)
class Spread:
    """A share (loss in %) with the middle half of the history it rests on."""

    median: float
    low: float
    high: float
    n: int


def spread(values: list[float]) -> Spread | None:
    import statistics  # only a quote needs it: domain.shapes imports this module at every start-up

    if not values:
        return None
    med = statistics.median(values)
    if len(values) >= 2:
        q = statistics.quantiles(values, n=4, method="inclusive")
        return Spread(med, q[0], q[2], len(values))
    return Spread(med, med, med, 1)


@dataclass
class Quote:
    route: str
    design: str
    alloy: str
    grams: Decimal
    fineness: Decimal
    per_fine_gram: Decimal | None
    stages: list[QuoteStage]
    loss: Spread | None  # loss in % of the metal put in, over past jobs of this alloy (and route)
    loss_basis: str
    missing: list[str] = field(default_factory=list)

    @property
    def labour(self) -> Decimal:
        return sum((s.cost for s in self.stages), ZERO)

    @property
    def labour_low(self) -> Decimal:
        return sum((s.cost_low for s in self.stages), ZERO)

    @property
    def labour_high(self) -> Decimal:
        return sum((s.cost_high for s in self.stages), ZERO)

    @property
    def metal(self) -> Decimal:
        return ZERO if self.per_fine_gram is None else self.grams * self.fineness * self.per_fine_gram

    def _loss(self, pct: float) -> Decimal:
        # loss is a share of the metal put in: grams finished = in × (1 - loss), so in = grams / (1 - loss)
        if self.per_fine_gram is None or pct <= 0:
            return ZERO
        share = Decimal(str(pct)) / 100
        if share >= 1:
            return ZERO
        return self.metal * share / (1 - share)

    @property
    def expected_loss(self) -> Decimal:
        return self._loss(self.loss.median) if self.loss else ZERO

    @property
    def total(self) -> Decimal:
        return self.labour + self.metal + self.expected_loss

    @property
    def total_low(self) -> Decimal:
        return self.labour_low + self.metal + (self._loss(self.loss.low) if self.loss else ZERO)

    @property
    def total_high(self) -> Decimal:
        return self.labour_high + self.metal + (self._loss(self.loss.high) if self.loss else ZERO)
