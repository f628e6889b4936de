"""Weight units of the trade, converted exactly with Decimal (grams are the journal's unit)."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal, InvalidOperation

# Grams per unit. Troy ounce and pennyweight are exact by definition (1 dwt = 1/20 ozt);
# the avoirdupois ounce is 28.349523125 g and the grain 64.79891 mg, both exact.
GRAMS_PER: dict[str, Decimal] = {
    "g": Decimal("1"),
    "mg": Decimal("0.001"),
    "kg": Decimal("1000"),
    "ct": Decimal("0.2"),
    "dwt": Decimal("1.55517384"),
    "ozt": Decimal("31.1034768"),
    "oz": Decimal("28.349523125"),
    "gr": Decimal("0.06479891"),
}
ALIASES = {
    "grain": "gr", "grains": "gr", "gn": "gr", "GN": "gr",
    "t": "ozt", "ozt.": "ozt", "oz t": "ozt", "toz": "ozt", "tl": "ozt",
    "dwt.": "dwt", "pwt": "dwt", "DWT": "dwt",
    "c": "ct", "CT": "ct", "carat": "ct",
    "G": "g", "gram": "g", "grams": "g",
    "MG": "mg",
    "OZ": "oz",
}
LABELS = {"g": "g", "mg": "mg", "kg": "kg", "ct": "ct", "dwt": "dwt", "ozt": "ozt", "oz": "oz", "gr": "grain"}
# How many decimals to show a weight with, per display unit.
DISPLAY_PLACES = {"g": 3, "mg": 1, "kg": 6, "ct": 3, "dwt": 3, "ozt": 4, "oz": 4, "gr": 2}


class UnitError(ValueError):
    pass


def canonical_unit(unit: str) -> str:
    u = unit.strip()
    if u in GRAMS_PER:
        return u
    if u in ALIASES:
        return ALIASES[u]
    if u.lower() in GRAMS_PER:
        return u.lower()
    if u.lower() in ALIASES:
        return ALIASES[u.lower()]
    raise UnitError(f"unknown weight unit {unit!r}; known: {', '.join(LABELS.values())}")


def to_decimal(value: Decimal | str | int | float) -> Decimal:
    if isinstance(value, Decimal):
        return value
    try:
        # float through str keeps what was typed (0.1 -> 0.1, not 0.1000000000000000055)
        return Decimal(str(value))
    except InvalidOperation:
        raise UnitError(f"not a number: {value!r}") from None


MAX_BENCH_GRAMS = Decimal(10_000)  # no piece or tree weighed at a jewelry bench comes near 10 kg
FINEST = Decimal("0.0001")  # the finest reading of an analytical balance


def bench_weight(value: Decimal | str | int | float, what: str = "weight", *, step: Decimal | None = None) -> Decimal:
    """A weight in grams as a bench scale can read it; UnitError, in plain words, for what none can.

    Refused: what is not a number, NaN and infinities, negative weights, more than MAX_BENCH_GRAMS, and
    more decimals than the scale reads (`step`, its readability; else FINEST).
    """
    try:
        g = to_decimal(value.strip() if isinstance(value, str) else value)
    except UnitError:
        raise UnitError(f"{what} {value!r} is not a number of grams") from None
    if not g.is_finite():
        raise UnitError(f"{what} {value!r} is not a number of grams")
    if g < 0:
        raise UnitError(f"{what} cannot be negative ({g} g)")
    if g > MAX_BENCH_GRAMS:
        raise UnitError(f"{what} {g} g is more than a bench scale weighs ({MAX_BENCH_GRAMS} g): is the unit right?")
    finest = step if step else FINEST
    if g != g.quantize(finest, rounding=ROUND_DOWN):  # safe: g is at most MAX_BENCH_GRAMS here
        raise UnitError(f"{what} {g} g is more precise than the scale reads ({finest.normalize()} g)")
    return Decimal(format(g, "f"))  # '1e3' typed is kept as 1000


def to_grams(value: Decimal | str | int | float, unit: str) -> Decimal:
    return to_decimal(value) * GRAMS_PER[canonical_unit(unit)]


def from_grams(grams: Decimal | str | int | float, unit: str) -> Decimal:
    return to_decimal(grams) / GRAMS_PER[canonical_unit(unit)]


def convert(value: Decimal | str | int | float, src: str, dst: str) -> Decimal:
    return from_grams(to_grams(value, src), dst)


def places_of(step: Decimal | str | int | float | None) -> int | None:
    """The decimals a scale of this readability shows (0.01 -> 2, 0.001 -> 3, 5 -> 0); None for no readability."""
    if step in (None, "", 0):
        return None
    d = to_decimal(step).normalize()
    return max(0, -d.as_tuple().exponent) if d > 0 else None  # type: ignore[operator]


def fmt(grams: Decimal | str | int | float | None, unit: str = "g", step: Decimal | None = None) -> str:
    """Show a weight held in grams in a display unit: fmt(Decimal('3.11034768'), 'dwt') -> '2.000 dwt'.

    `step` is the readability of the scale that weighed it: grams are shown to its last digit and no
    further (a 0.01 g scale's 4.51 g is not 4.510 g; a 0.001 g scale's 4.512 g is not 4.51 g).
    """
    if grams is None:
        return "—"
    u = canonical_unit(unit)
    places = DISPLAY_PLACES.get(u, 3)
    if u == "g" and (p := places_of(step)) is not None:
        places = p
    v = from_grams(grams, u).quantize(Decimal(1).scaleb(-places))
    return f"{v:,.{places}f} {LABELS[u]}"


def fmt_many(grams: Decimal | str | int | float | None, units: list[str] | tuple[str, ...],
             step: Decimal | None = None) -> str:
    """Side by side in every unit the site shows: '3.110 g  (2.000 dwt)'; grams to `step` (see fmt)."""
    if grams is None:
        return "—"
    parts = [fmt(grams, u, step) for u in units]
    return parts[0] + ("  (" + ", ".join(parts[1:]) + ")" if len(parts) > 1 else "")


def fine_weight(gross_grams: Decimal, fineness: Decimal) -> Decimal:
    """Fine weight = gross weight x fineness (BRIEF: domain facts)."""
    return to_decimal(gross_grams) * to_decimal(fineness)
