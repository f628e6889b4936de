"""Cost per job, the cost of poor quality and quotes, worked by hand (domain/costing.py, no I/O)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from floorkiosk.domain import costing as dc

RATES = {"fabrication": 50.0, "cleanup": 30.0, "setting": 65.0}


def job(**kw):
    base = dict(job="J1", route="fabrication", design="Signet", alloy="18KY", fineness=D("0.750"), price=D("1500"),
                per_fine_gram=D("80"), lot="L0001", piece_grams=D("9.7"))
    base.update(kw)
    return dc.JobInput(**base)


def test_a_job_costs_its_labour_rework_metal_loss_stones_and_scrap():
    j = job(work=[dc.Work("fabrication", "fabrication", "ana", 2.0, False),
                  dc.Work("cleanup", "cleanup", "ana", 1.0, False),
                  dc.Work("cleanup", "cleanup", "ben", 0.5, True, "ana")],
            losses=[dc.Loss("fabrication", "ana", D("0.2")), dc.Loss("cleanup", "ana", D("0.1"))],
            stone_lines=[D("300")], scrap=[dc.Scrap("stone-setting", "ben", 1, D("150"))])
    c = dc.cost_job(j, RATES)
    assert c.labour == D("130") and c.hours == 3.0  # 2 h × 50 + 1 h × 30
    assert c.rework == D("15") and c.rework_hours == 0.5  # 0.5 h × 30, charged to ana's first run
    assert c.metal == D("582")  # 9.7 g × 0.750 × 80
    assert c.loss == D("18")  # 0.3 g × 0.750 × 80
    assert c.stones == D("300") and c.scrap == D("150")
    assert c.total == D("1195") and c.copq == D("165")
    assert c.margin == D("305") and c.margin_pct == D("20.3")
    assert c.missing == []
    by_person = {ln.key: ln for ln in dc.copq_by([c], "person")}
    assert by_person["ana"].rework == D("15") and by_person["ben"].scrap == D("150")
    by_stage = dc.copq_by([c], "stage")
    assert [(ln.key, ln.total) for ln in by_stage] == [("stone-setting", D("150")), ("cleanup", D("15"))]
    assert dc.copq_by([c], "route")[0].total == D("165")


def test_what_cannot_be_priced_is_said_and_counted_as_nothing():
    j = job(price=None, per_fine_gram=None, work=[dc.Work("engraving", "engraving", "ben", 1.0, False)],
            losses=[dc.Loss("cleanup", "ana", D("0.1"))], stone_lines=[None],
            scrap=[dc.Scrap("stone-setting", "ben", 2, None)])
    c = dc.cost_job(j, RATES)
    assert c.total == 0 and c.margin is None and c.margin_pct is None
    assert c.missing == ["no labour rate for skill 'engraving' (planning.toml [rates])",
                         "no metal price for 18KY (floorkiosk metal price)", "a stone line has no cost",
                         "2 stone(s) broken or lost on a line with no cost"]
    with pytest.raises(ValueError):
        dc.copq_by([c], "bench")


def test_the_price_of_a_day_and_the_lot_a_job_draws_on():
    prices = [(date(2026, 11, 2), D("78")), (date(2026, 11, 16), D("80"))]
    assert dc.price_on(prices, date(2026, 11, 20)) == (D("80"), date(2026, 11, 16))
    assert dc.price_on(prices, date(2026, 11, 10)) == (D("78"), date(2026, 11, 2))
    assert dc.price_on(prices, date(2026, 10, 1)) == (D("78"), date(2026, 11, 2))  # none before: the first after
    assert dc.price_on([], date(2026, 10, 1)) == (None, None)
    lots = [(date(2026, 11, 2), "L0001"), (date(2026, 11, 16), "L0002")]
    assert dc.lot_for(lots, date(2026, 11, 20)) == "L0002"
    assert dc.lot_for(lots, date(2026, 11, 3)) == "L0001"
    assert dc.lot_for(lots, date(2026, 10, 1)) == "L0001"
    assert dc.lot_for([], date(2026, 10, 1)) is None


def test_a_quote_is_hours_times_rates_plus_metal_plus_the_loss_expected():
    stages = [dc.QuoteStage("fabrication", "fabrication", 2.0, 1.5, 3.0, 4, "design", D("50")),
              dc.QuoteStage("cleanup", "cleanup", 1.0, 1.0, 2.0, 4, "route", D("30"))]
    q = dc.Quote("fabrication", "Signet", "18KY", D("10"), D("0.750"), D("80"), stages,
                 dc.Spread(2.0, 1.0, 4.0, 5), "18KY on fabrication")
    assert q.labour == D("130") and q.labour_low == D("105") and q.labour_high == D("210")
    assert q.metal == D("600")  # 10 g × 0.750 × 80
    # 2 % of the metal put in is lost: 600 / 0.98 × 0.02
    assert q.expected_loss.quantize(dc.CENT) == D("12.24")
    assert q.total.quantize(dc.CENT) == D("742.24")
    assert q.total_low.quantize(dc.CENT) == D("711.06")  # 105 + 600 + 600 × 0.01 / 0.99
    assert q.total_high.quantize(dc.CENT) == D("835.00")  # 210 + 600 + 600 × 0.04 / 0.96
    assert dc.spread([1.0, 2.0, 3.0, 4.0, 5.0]) == dc.Spread(3.0, 2.0, 4.0, 5)
    assert dc.spread([]) is None


@pytest.mark.parametrize("text, ok", [("480", D("480")), ("82.40", D("82.40")), ("1,200", D("1200")),
                                      ("-3", None), ("abc", None), ("1.00001", None), ("inf", None)])
def test_money_typed_is_read_or_refused(text, ok):
    if ok is None:
        with pytest.raises(ValueError):
            dc.parse_money(text, "price")
    else:
        assert dc.parse_money(text, "price") == ok


def test_projected_cdpa_counts_the_promises_each_week_the_schedule_keeps():
    from floorkiosk.domain.outlook import projected_cdpa

    today = date(2026, 11, 25)  # a Wednesday in 2026-W48
    jobs = [("J1", date(2026, 11, 24), date(2026, 11, 30)),  # already past: not in the weeks ahead
            ("J2", date(2026, 11, 27), date(2026, 11, 26)),  # kept
            ("J3", date(2026, 11, 27), date(2026, 11, 27)),  # kept on the day itself
            ("J4", date(2026, 11, 29), date(2026, 12, 1)),  # Sunday of W48, planned Tuesday: late
            ("J5", date(2026, 12, 2), None),  # cannot be placed: kept by no one
            ("J6", date(2026, 12, 4), date(2026, 12, 3)),
            ("J7", date(2026, 12, 18), date(2026, 12, 17)),
            ("J8", date(2027, 1, 4), date(2026, 12, 30))]  # beyond four weeks
    w = projected_cdpa(jobs, today)
    assert [x.label for x in w] == ["2026-W48", "2026-W49", "2026-W50", "2026-W51"]
    assert [(x.due, x.kept, x.late) for x in w] == [(3, 2, ("J4",)), (2, 1, ("J5",)), (0, 0, ()), (1, 1, ())]
    assert [x.cdpa for x in w] == [D("66.7"), D("50.0"), None, D("100.0")]


def test_a_decimal_comma_is_refused_not_misread():
    from floorkiosk.domain.stones import parse_line
    from floorkiosk.errors import Refused

    with pytest.raises(ValueError, match=r"write the decimals with a point \(82.40\)"):
        dc.parse_money("82,40", "price")
    with pytest.raises(ValueError, match="not an amount"):
        dc.parse_money("1,20,0", "price")
    assert dc.parse_money("1,250.50", "price") == D("1250.50")
    assert parse_line("2 round diamond 0.05 ct cost 1,250")["cost"] == "1250"
    with pytest.raises(Refused, match="cost '0,95' is not an amount"):
        parse_line("2 round diamond 0.05 ct cost 0,95")


def test_the_cost_commands_list_the_same_groupings_as_the_domain():
    from floorkiosk.cli import cost

    assert cost.BY == dc.BY
