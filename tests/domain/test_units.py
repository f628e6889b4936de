"""Weight units are converted exactly (Decimal), as the trade defines them."""

from decimal import Decimal

import pytest

from floorkiosk.domain import units as u


def test_exact_definitions():
    assert u.to_grams("1", "dwt") == Decimal("1.55517384")
    assert u.to_grams("1", "ozt") == Decimal("31.1034768")
    assert u.to_grams("1", "ct") == Decimal("0.2")
    assert u.to_grams("20", "dwt") == u.to_grams("1", "ozt")  # 20 dwt = 1 ozt exactly
    assert u.to_grams("1000", "mg") == Decimal("1")
    assert u.to_grams("1", "grain") == Decimal("0.06479891")


def test_round_trip_is_exact():
    for unit in ("g", "mg", "ct", "dwt", "ozt", "oz", "gr"):
        assert u.from_grams(u.to_grams("12.345", unit), unit) == Decimal("12.345")


def test_display_side_by_side():
    assert u.fmt_many(Decimal("3.11034768"), ["g", "dwt"]) == "3.110 g  (2.000 dwt)"
    assert u.fmt(Decimal("31.1034768"), "ozt") == "1.0000 ozt"


def test_fine_weight():
    assert u.fine_weight(Decimal("10.000"), Decimal("0.750")) == Decimal("7.500000")


def test_unknown_unit():
    with pytest.raises(u.UnitError, match="unknown weight unit 'lb'"):
        u.to_grams("1", "lb")


def test_grams_are_shown_to_the_readability_of_the_scale_that_weighed_them():
    g = Decimal("4.5")
    assert u.fmt(g, "g", Decimal("0.001")) == "4.500 g"  # a 0.001 g balance: three decimals
    assert u.fmt(Decimal("4.51"), "g", Decimal("0.01")) == "4.51 g"  # a 0.01 g one: two, not a made-up third
    assert u.fmt(Decimal("4.5123"), "g", Decimal("0.0001")) == "4.5123 g"
    assert u.fmt(Decimal("1235"), "g", Decimal("5")) == "1,235 g"
    assert u.fmt(g, "g") == "4.500 g" and u.fmt(g, "g", None) == "4.500 g"  # no readability known: three
    assert u.fmt(Decimal("3.11034768"), "dwt", Decimal("0.01")) == "2.000 dwt"  # other units keep their own
    assert u.fmt_many(Decimal("3.11"), ["g", "dwt"], Decimal("0.01")) == "3.11 g  (2.000 dwt)"
    assert u.places_of(Decimal("0.010")) == 2 and u.places_of(None) is None and u.places_of(0) is None
