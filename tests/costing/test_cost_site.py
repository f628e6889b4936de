"""Cost per job, metal prices and quotes on a real site (SQLite journal), worked by hand."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from floorkiosk.cli import main
from floorkiosk.domain import costing as dc
from floorkiosk.errors import NotFound, Refused
from floorkiosk.workshop import costing, metal, verbs

# the hand clock starts on Friday 2026-11-20 at 09:00 (UTC, the example site's time zone)
CLEANUP_CHECKS = ["sprue removed", "no porosity visible"]


def weigh(shop, j, person, grams, stage):
    verbs.record_weight(shop, j, person, "cleanup", grams, stage=stage,
                        source=verbs.FromScale("and-standard", f"ST,+{grams} g"))


def priced(shop):
    return sum(1 for _ in shop.journal.events(types=[dc.METAL_PRICED]))


def make_signet(shop, clock, price="1500"):
    """Fabrication 2 h (10.0 → 9.8 g), cleanup 1 h (9.8 → 9.7 g), cleanup sent back and done again in 0.5 h."""
    costing.record_price(shop, "Au", "80", person_id="eva")
    metal.receive_lot(shop, "18KY", "100", person_id="eva")
    [j] = verbs.create_jobs(shop, [dict(route="fabrication", design="Signet", alloy="18KY", due="2026-12-18",
                                        price=price, stones=[{"kind": "diamond", "shape": "round", "count": 2,
                                                              "ct": "0.100", "cost": "300"}])])
    verbs.start(shop, j, "ana", "cleanup", "fabrication")
    weigh(shop, j, "ana", "10.0", "fabrication")
    clock.advance(hours=2)
    weigh(shop, j, "ana", "9.8", "fabrication")
    verbs.finish(shop, j, "ana", "cleanup", "fabrication")
    verbs.start(shop, j, "ana", "cleanup", "cleanup")
    weigh(shop, j, "ana", "9.8", "cleanup")
    clock.advance(hours=1)
    weigh(shop, j, "ana", "9.7", "cleanup")
    verbs.finish(shop, j, "ana", "cleanup", "cleanup", checklist=CLEANUP_CHECKS)
    verbs.reject(shop, j, "eva", "qc", "cleanup", defect="POROSITY", reason="pits on the shank")
    verbs.start(shop, j, "ben", "cleanup", "cleanup")
    weigh(shop, j, "ben", "9.7", "cleanup")
    clock.advance(minutes=30)
    weigh(shop, j, "ben", "9.7", "cleanup")
    verbs.finish(shop, j, "ben", "cleanup", "cleanup", checklist=CLEANUP_CHECKS)
    return j


def test_a_job_is_costed_from_its_runs_its_metal_at_the_lots_price_its_loss_and_its_stones(shop, clock):
    j = make_signet(shop, clock)
    [c] = costing.job_costs(shop, [j])
    assert c.labour == D("130") and c.hours == pytest.approx(3.0)  # 2 h × 50 fabrication + 1 h × 30 cleanup
    assert c.rework == D("15") and c.rework_hours == pytest.approx(0.5)  # the second cleanup, 0.5 h × 30
    assert c.lot == "L0001"
    assert c.metal == D("582")  # 9.7 g × 0.750 fine × 80 a fine gram
    assert c.loss == D("18")  # 0.2 g + 0.1 g lost, × 0.750 × 80
    assert c.stones == D("300")
    assert c.total == D("1045") and c.margin == D("455") and c.margin_pct == D("30.3")
    # the rework is charged to cleanup and to the person whose run was sent back
    assert [(ln.key, ln.rework) for ln in dc.copq_by([c], "person")] == [("ana", D("15"))]
    assert [(ln.key, ln.rework) for ln in dc.copq_by([c], "stage")] == [("cleanup", D("15"))]
    with pytest.raises(NotFound):
        costing.job_costs(shop, ["J999999"])


def test_a_job_without_a_price_has_no_margin_and_a_bad_price_is_refused(shop, clock):
    [j] = verbs.create_jobs(shop, [dict(route="fabrication", design="Signet", alloy="18KY", due="2026-12-18")])
    [c] = costing.job_costs(shop, [j])
    assert c.price is None and c.margin is None and c.total == 0 and c.missing == []
    for bad in ("-5", "a lot"):
        with pytest.raises(Refused, match="price"):
            verbs.create_jobs(shop, [dict(route="fabrication", design="Signet", alloy="18KY", due="2026-12-18",
                                          price=bad)])
    assert len(shop.journal.query("SELECT id FROM jobs")) == 1  # nothing recorded


def test_the_days_metal_price_is_recorded_and_a_price_in_the_wrong_unit_refused(shop, clock):
    e = costing.record_price(shop, "au", "82.40/g", person_id="eva", currency="eur", day="2026-11-19")
    assert e.payload == {"metal": "Au", "per_gram": "82.40", "currency": "EUR", "day": "2026-11-19"}
    for kw, said in ((dict(metal="Zn", per_gram="82"), "unknown metal 'Zn'"),
                     (dict(metal="Au", per_gram="2563/ozt"), r"per troy ounce: give it per gram \(2563 / 31.1035 = 82.40"),
                     (dict(metal="Au", per_gram="82/kg"), "is per 'kg'"),
                     (dict(metal="Au", per_gram="2563"), "more than any metal costs"),
                     (dict(metal="Au", per_gram="830"), "above 10 times the last price of Au"),
                     (dict(metal="Au", per_gram="0"), "must be more than 0"),
                     (dict(metal="Au", per_gram="cheap"), "not an amount per gram"),
                     (dict(metal="Ag", per_gram="0,95"), r"write the decimals with a point \(0.95\)"),
                     (dict(metal="Au", per_gram="82", currency="USD"), "prices are kept in EUR"),
                     (dict(metal="Au", per_gram="82", day="2026-11-21"), "after today"),
                     (dict(metal="Au", per_gram="82", day="yesterday"), "not a date")):
        with pytest.raises(Refused, match=said):
            costing.record_price(shop, person_id="eva", **kw)
    with pytest.raises(NotFound):
        costing.record_price(shop, "Au", "82", person_id="nobody")
    assert priced(shop) == 1  # only the good one
    # a price that moved, but not by a unit's worth, is taken
    costing.record_price(shop, "Au", "90", person_id="eva")
    assert costing.prices(shop)["Au"][-1][1] == D("90")


def test_a_quote_rests_on_the_runs_of_history_and_says_its_spread(shop, clock):
    make_signet(shop, clock)
    q, secs = costing.quote(shop, "fabrication", "Signet", "18KY", "10")
    by = {s.stage: s for s in q.stages}
    # one run of fabrication is too few for a median: planning.toml's 4.0 h stands, at 50 an hour
    assert by["fabrication"].runs == 0 and by["fabrication"].hours == 4.0 and by["fabrication"].cost == D("200")
    assert q.metal == D("600")  # 10 g × 0.750 × 80
    assert q.loss is None and q.expected_loss == 0  # no delivered job of 18KY yet
    assert q.total == q.labour + q.metal and q.total_low <= q.total <= q.total_high
    for args, said in ((("casting", "Signet", "18KY", "10"), "unknown route"),
                       (("fabrication", "Signet", "19K", "10"), "unknown alloy"),
                       (("fabrication", " ", "18KY", "10"), "no design"),
                       (("fabrication", "Signet", "18KY", "-1"), "weight"),
                       (("fabrication", "Signet", "18KY", "6kg"), "more than a piece of jewelry weighs"),
                       (("fabrication", "Signet", "18KY", "ten"), "unknown weight unit")):
        with pytest.raises(Refused, match=said):
            costing.quote(shop, *args)


def test_cost_and_quote_commands_print_the_figures(tmp_path, capsys, clock):
    from floorkiosk.workshop.site import init_site

    site = tmp_path / "site"
    init_site(site, origin="test-bench")
    run = lambda *a: main(["--site", str(site), *a])  # noqa: E731
    assert run("metal", "price", "--metal", "Au", "--per-gram", "80", "--person", "eva") == 0
    assert "Au 80 EUR a gram of fine metal on" in capsys.readouterr().out
    assert run("metal", "price", "--metal", "Au", "--per-gram", "2480/oz", "--person", "eva") == 2
    assert "per troy ounce" in capsys.readouterr().err
    assert run("job", "add", "--route", "fabrication", "--design", "Signet", "--alloy", "18KY", "--due", "2099-12-18",
               "--price", "1500", "--stone", "2 round diamond 0.05 ct cost 300") == 0
    out = capsys.readouterr().out
    assert "cost 300" in out
    assert run("job", "add", "--route", "fabrication", "--design", "Signet", "--alloy", "18KY", "--due", "2099-12-18",
               "--price", "lots") == 2
    assert "price 'lots' is not an amount" in capsys.readouterr().err
    assert run("cost", "J000001") == 0
    out = capsys.readouterr().out
    assert "J000001" in out and "300.00" in out and "1,500.00" in out and "(so far)" in out
    assert run("cost", "--by", "stage") == 0
    assert "none: no rework" in capsys.readouterr().out
    assert run("cost", "J000099") == 2
    assert run("cost", "--days", "-1") == 2 and "--days must be 0 or more" in capsys.readouterr().err
    assert run("cost", "--all") == 0 and "J000001" in capsys.readouterr().out
    assert run("quote", "--route", "fabrication", "--design", "Signet", "--alloy", "18KY", "--grams", "10") == 0
    out = capsys.readouterr().out
    assert "metal 600.00 (10 g × 0.75 fine × 80.00 a fine gram)" in out and "p25-p75" in out


def test_job_import_takes_a_price_column_and_refuses_a_bad_price_at_its_line(tmp_path, capsys):
    from floorkiosk.workshop.site import init_site, open_shop

    site = tmp_path / "site"
    init_site(site, origin="test-bench")
    f = tmp_path / "jobs.csv"
    f.write_text("route,design,alloy,due,price,stones\n"
                 "fabrication,Signet,18KY,2099-01-01,1200,2 round diamond 0.05 ct cost 300\n"
                 "fabrication,Signet,18KY,2099-01-01,-4,\n")
    assert main(["--site", str(site), "job", "import", str(f)]) == 2
    err = capsys.readouterr().err
    assert f"{f}:3: price '-4' must be an amount of 0 or more" in err and "nothing was recorded" in err
    f.write_text("route,design,alloy,due,price,stones\n"
                 "fabrication,Signet,18KY,2099-01-01,1200,2 round diamond 0.05 ct cost 300\n")
    assert main(["--site", str(site), "job", "import", str(f)]) == 0
    shop = open_shop(site)
    try:
        [c] = costing.job_costs(shop)
        assert c.price == D("1200") and c.stones == D("300") and c.margin == D("900")
    finally:
        shop.close()


def test_stones_broken_or_lost_at_setting_are_scrap_at_their_lines_cost_per_stone(shop, clock):
    from floorkiosk.workshop import qc

    [j] = verbs.create_jobs(shop, [dict(route="fabrication", design="Halo", alloy="18KY", due="2026-12-18",
                                        stones=[{"kind": "diamond", "shape": "round", "count": 4, "ct": "0.200",
                                                 "cost": "480"},
                                                {"kind": "sapphire", "shape": "oval", "count": 1}])])
    qc.issue_stones(shop, j, "eva", "ben", line=1)
    qc.issue_stones(shop, j, "eva", "ben", line=2, ct="0.80")
    qc.move_stones(shop, "SP0001", "broken", 1, "ben", ct="0.050")
    qc.move_stones(shop, "SP0002", "lost", 1, "ben", ct="0.80")
    [c] = costing.job_costs(shop, [j])
    assert c.stones == D("480")  # the sapphire's line has no cost: said, not guessed
    assert c.scrap == D("120")  # one of four stones of a 480 line
    assert "1 stone(s) broken or lost on a line with no cost" in c.missing and "a stone line has no cost" in c.missing
    (ln,) = dc.copq_by([c], "person")
    assert (ln.key, ln.scrap, ln.rework) == ("ben", D("120"), D("0"))
    assert dc.copq_by([c], "stage")[0].key == "stone-setting"
