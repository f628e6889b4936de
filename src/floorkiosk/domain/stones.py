"""Stone parcels: stones issued to a setter and how each was accounted for (set, returned, broken, lost).

A parcel is one issue of one stone line of a job (kind, shape, count, carat weight, certificate)
to one setter. At the end of setting every stone must be accounted for:

    issued = set + returned + broken + lost      (count, and carat weight within a tolerance)

Before setting ends an unbalanced parcel is simply open (the stones are on the setter's bench);
after it, it is a discrepancy. Pure: no I/O, the same moves always give the same balance.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from floorkiosk.errors import Refused

MOVES = ("set", "returned", "broken", "lost")

# Stone event types (their payloads are declared in domain/shapes.py).
STONES_ISSUED = "stones.issued"
STONES_DISCREPANCY = "stones.discrepancy"
MOVE_EVENTS = {m: f"stones.{m}" for m in MOVES}  # stones.set, stones.returned, stones.broken, stones.lost
EVENT_MOVES = {v: k for k, v in MOVE_EVENTS.items()}
OPEN, BALANCED, DISCREPANCY = "open", "balanced", "discrepancy"
CT = Decimal("0.001")
GRAMS_PER_CT = Decimal("0.2")  # the metric carat, exactly (domain.units holds the same)


def stones_word(n: int) -> str:
    return f"{n} stone{'s' if n != 1 else ''}"


def ct_text(ct: Decimal | str | None) -> str:
    if ct is None or ct == "":
        return "? ct"
    return f"{Decimal(str(ct)).quantize(CT)} ct"


def line_text(stone: dict[str, Any]) -> str:
    """A stone line of a job card in words: '18 round diamond, 0.360 ct (GIA 2141438171)'."""
    parts = [str(stone.get("count", "?")), str(stone.get("shape", "")).strip(), str(stone.get("kind", "")).strip()]
    text = " ".join(p for p in parts if p)
    if stone.get("ct") not in (None, ""):
        text += f", {ct_text(stone['ct'])}"
    if stone.get("cert"):
        text += f" ({stone['cert']})"
    if stone.get("cost") not in (None, ""):
        text += f", cost {stone['cost']}"
    return text


@dataclass
class Parcel:
    id: str  # SP0001, printed on the parcel paper
    job: str
    line: int  # which stone line of the job (1-based)
    kind: str
    shape: str
    cert: str
    setter: str  # the person the stones were issued to
    issued_n: int
    issued_ct: Decimal
    n: dict[str, int] = field(default_factory=lambda: {m: 0 for m in MOVES})
    ct: dict[str, Decimal] = field(default_factory=lambda: {m: Decimal(0) for m in MOVES})
    setting_done: bool = False  # the setting stage has finished since the parcel was issued

    @property
    def accounted_n(self) -> int:
        return sum(self.n.values())

    @property
    def accounted_ct(self) -> Decimal:
        return sum(self.ct.values(), Decimal(0))

    @property
    def missing_n(self) -> int:
        return self.issued_n - self.accounted_n

    @property
    def missing_ct(self) -> Decimal:
        return self.issued_ct - self.accounted_ct

    def status(self, tolerance: Decimal = Decimal("0.01")) -> str:
        balanced = self.missing_n == 0 and abs(self.missing_ct) <= tolerance
        if balanced:
            return BALANCED
        return DISCREPANCY if self.setting_done else OPEN

    def account_text(self) -> str:
        return (f"{self.issued_n} issued ({ct_text(self.issued_ct)}): "
                + ", ".join(f"{self.n[m]} {m}" for m in MOVES) + f" ({ct_text(self.accounted_ct)})")

    def problem(self, tolerance: Decimal = Decimal("0.01")) -> str:
        """What does not add up, in words; '' when the parcel balances."""
        if self.missing_n > 0:
            return f"{stones_word(self.missing_n)} ({ct_text(self.missing_ct)}) not accounted for: {self.account_text()}"
        if self.missing_n < 0:
            return f"{stones_word(-self.missing_n)} more accounted for than issued: {self.account_text()}"
        if abs(self.missing_ct) > tolerance:
            return (f"carat weight differs by {ct_text(abs(self.missing_ct))} "
                    f"(tolerance {ct_text(tolerance)}): {self.account_text()}")
        return ""

    def stones_text(self) -> str:
        return f"{self.issued_n} {self.shape} {self.kind}".replace("  ", " ").strip()


def carats_set(lines: list[dict[str, Any]], parcels_kept: list[Decimal]) -> Decimal:
    """The carat weight of the stones set in a piece. When stones were issued from the stone safe, what its
    parcels issued and did not take back as returned, broken or lost (`parcels_kept`, one figure per
    parcel: the setter weighs the piece out before counting the set stones in); else every stone line of
    its job card (the card's stones are the ones set)."""
    if parcels_kept:
        return sum(parcels_kept, Decimal(0))
    total = Decimal(0)
    for ln in lines:
        try:
            total += Decimal(str(ln.get("ct") or 0))
        except InvalidOperation:
            continue  # a line without a usable carat weight weighs nothing here
    return total


def in_the_piece(stages: dict[str, Any], setting_stage: str | None, stage: str | None, phase: str | None) -> bool:
    """Whether the stones are in the piece at this weighing: from the setting stage's weigh-out on.

    `stages` is a job's StageState by stage id. The setting weigh-in is of the bare metal; its
    weigh-out, and every weighing after the setting is done, include the stones set.
    """
    if not setting_stage or not stage:
        return False
    if stage == setting_stage:
        return phase == "out"
    st = stages.get(setting_stage)
    return st is not None and (st.status in ("done", "verified") or st.weight_out is not None)


# A stone line as a person writes it on a job card:
#     3 × round diamond 0.05 ct, GIA 2141438171     three stones of 0.05 ct each (0.150 ct in all)
#     18 x round diamond 0.36 ct tw                 eighteen stones weighing 0.36 ct together
#     1 oval sapphire                               no carat weight yet (given when it is issued)
# The carat weight after "N ×" is each stone's, as the trade writes it; "tw" (total weight) or "total"
# after it makes it the line's. A certificate follows the first comma. Stored as the job card keeps a
# line: count, shape, kind, ct (the line's total), cert. A line may end with what its stones cost
# together, "… cost 480" (in the site's currency): the job's cost counts it, and a stone broken or
# lost at setting is scrap at the line's cost per stone.
STONE_EXAMPLE = "3 × round diamond 0.05 ct, GIA 2141438171"
SHAPES = frozenset({"round", "oval", "pear", "marquise", "princess", "cushion", "emerald", "baguette", "heart",
                    "radiant", "asscher", "trillion", "trilliant", "cabochon", "briolette", "rose", "square",
                    "tapered", "baguette", "old-mine", "old-european", "kite", "hexagon", "octagon"})
_COUNT = re.compile(r"^\s*(\d+)\s*(?:[×xX*✕]\s*)?(?=\D|$)(.*)$", re.S)
_CT = re.compile(r"(?:^|\s)(\S+)\s*(ct|cts|carats?)\.?(?:\s+(each|ea|tw|t\.w\.|tcw|total))?\s*$", re.I)
_COST = re.compile(r"(?:^|\s|,)cost\s+(\S+)\s*$", re.I)
_THOUSANDS = re.compile(r"^\d{1,3}(?:,\d{3})+(?:\.\d+)?$")


def _plain(t: str) -> str:
    """An amount's thousands' commas taken out; any other comma (a decimal comma, 0,95) is no amount."""
    if "," in t and not _THOUSANDS.match(t):
        raise ValueError(t)
    return t.replace(",", "")
_BARE_NUMBER = re.compile(r"(?:^|\s)(\d+(?:[.,]\d+)?|\.\d+)\s*(g|mm)?\s*$", re.I)


def parse_line(text: str) -> dict[str, Any]:
    """A stone line of a job card from its words (STONE_EXAMPLE); Refused, saying what is wrong, otherwise."""
    raw = " ".join(str(text).split())
    said = f"stone line {raw!r}" if raw else "an empty stone line"

    def wrong(why: str) -> Refused:
        return Refused(f"{said}: {why}; write it like {STONE_EXAMPLE!r}")

    if not raw:
        raise wrong("nothing written")
    cost: Decimal | None = None
    k = _COST.search(raw)
    if k:
        try:
            cost = Decimal(_plain(k.group(1)))
        except (InvalidOperation, ValueError):
            raise wrong(f"cost {k.group(1)!r} is not an amount such as 480 (the line's stones together)") from None
        if not cost.is_finite() or cost < 0 or cost != cost.quantize(Decimal("0.01")):
            raise wrong(f"cost {k.group(1)} must be an amount of 0 or more, to the cent")
        raw = raw[:k.start()].rstrip(" ,")
    m = _COUNT.match(raw)
    if not m:
        raise wrong("start with the number of stones")
    count = int(m.group(1))
    if count < 1:
        raise wrong(f"at least 1 stone, not {count}")
    if count > 10_000:
        raise wrong(f"{count} stones is more than one line of a job card holds")
    rest, comma, cert = m.group(2).partition(",")
    cert = cert.strip()
    if comma and not cert:
        raise wrong("nothing after the comma: the certificate (GIA 2141438171), or no comma")
    rest = rest.strip()
    ct: Decimal | None = None
    c = _CT.search(rest)
    if c:
        try:
            each = Decimal(c.group(1))
        except InvalidOperation:
            raise wrong(f"carat weight {c.group(1)!r} is not a number (0.05 ct)") from None
        if not each.is_finite() or each <= 0:
            raise wrong(f"carat weight {c.group(1)} ct must be more than 0")
        total = (c.group(3) or "").lower() not in ("", "each", "ea")
        ct = (each if total else each * count).quantize(CT)
        if ct <= 0:
            raise wrong(f"carat weight {c.group(1)} ct is below a thousandth of a carat")
        rest = rest[:c.start()].strip()
    else:
        b = _BARE_NUMBER.search(rest)
        if b:
            unit = b.group(2)
            raise wrong(f"{b.group(1)} {unit} is no carat weight: stones are weighed in ct" if unit else
                        f"{b.group(1)} has no unit: write its carat weight with ct ({b.group(1)} ct)")
    words = rest.split()
    if not words:
        raise wrong("say what the stones are (diamond, sapphire …)")
    if any(ch.isdigit() for ch in rest):
        raise wrong(f"{rest!r}: a shape and a kind of stone hold no figures; the carat weight ends with ct")
    shape = ""
    if len(words) > 1 and words[0].lower() in SHAPES:
        shape, words = words[0].lower(), words[1:]
    line: dict[str, Any] = {"kind": " ".join(words).lower(), "shape": shape, "count": count}
    if ct is not None:
        line["ct"] = str(ct)
    if cert:
        line["cert"] = cert
    if cost is not None:
        line["cost"] = str(cost)
    return line


def parse_lines(texts: list[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """Every stone line of a list, and what is wrong with each that is wrong (all of them, not the first)."""
    lines, problems = [], []
    for t in texts:
        try:
            lines.append(parse_line(t))
        except Refused as exc:
            problems.append(str(exc))
    return lines, problems


def parse_count(value: Any, what: str = "count") -> int:
    try:
        n = int(str(value).strip())
    except ValueError:
        raise Refused(f"{what} {value!r} is not a whole number of stones") from None
    if n < 1:
        raise Refused(f"{what} must be at least 1 stone, not {n}")
    return n


def parse_ct(value: Any) -> Decimal:
    t = str(value).strip().removesuffix("ct").strip().replace(",", ".")
    try:
        ct = Decimal(t)
    except InvalidOperation:
        raise Refused(f"carat weight {value!r} is not a number") from None
    if not ct.is_finite() or ct < 0:
        raise Refused(f"carat weight {value!r} must be 0 or more carats")
    return ct


def estimate_ct(issued_n: int, issued_ct: Decimal, n: int) -> Decimal:
    """The carat weight of n stones of a parcel, from its average stone (when not weighed)."""
    if issued_n <= 0:
        return Decimal(0)
    return (issued_ct * n / issued_n).quantize(CT)


def check_move(p: Parcel, move: str, n: int) -> None:
    """Refuse a move that cannot be right; the message says what the parcel holds."""
    if move not in MOVES:
        raise Refused(f"unknown stone move {move!r}; moves are {', '.join(MOVES)}")
    if n < 1:
        raise Refused(f"{move}: at least 1 stone, not {n}")
    if p.accounted_n + n > p.issued_n:
        raise Refused(f"parcel {p.id} had {p.issued_n} issued and {p.accounted_n} already accounted for; "
                      f"{n} more {move} would make {p.accounted_n + n}. Check the count; nothing was recorded")
