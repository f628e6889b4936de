"""First-time-right and the defect Pareto tell one story: a pass sent back is not right first time.

By stage and by person, a pass through a stage is counted once: right first time when it is completed and
never sent back; not right when a rejection sends it back, on the day of the rejection, against the stage
that redoes it and the person whose run was rejected, exactly as the Pareto charges the defect.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

import pytest

from floorkiosk.workshop import kpi, qc, verbs
from floorkiosk.workshop.demo import make_demo_site
from floorkiosk.workshop.site import open_shop

from .conftest import week_of_five


def lines(rate_lines):
    return {x.key: (x.good, x.total, x.pct) for x in rate_lines}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    d = tmp_path_factory.mktemp("demo") / "site"
    make_demo_site(d)
    shop = open_shop(d)
    yield shop
    shop.close()


def charged(shop, by: str, start: date, end: date) -> dict[str, int]:
    """What the Pareto charges over start..end, by stage or person id: defects each."""
    ids = ({s.name: s.id for s in shop.site.stages.values()} if by == "stage"
           else {p.name: p.id for p in shop.site.people.values()})
    out: dict[str, int] = {}
    for row in qc.pareto(shop, by, start.isoformat(), end.isoformat()):
        key = ids[row.key]
        out[key] = out.get(key, 0) + row.count
    return out


@pytest.mark.parametrize("days", [None, 7, 1])
def test_on_the_demo_site_every_stage_and_person_charged_a_defect_is_below_100(demo, days):
    start, end = kpi.history_range(demo)
    if days:
        start = end - timedelta(days=days - 1)
    r = kpi.report(demo, start, end, with_metal=False)
    for by, got in (("stage", r.ftrr_stage), ("person", r.ftrr_person)):
        faults = charged(demo, by, start, end)
        if days is None:
            assert faults, f"the demo's history has defects charged by {by}"
        rates = {x.key: x for x in got}
        for key, n in faults.items():
            assert key in rates and rates[key].pct < 100, (by, key, rates.get(key))
            assert rates[key].sent_back == n  # one miss for each defect the Pareto charges
            assert rates[key].total == rates[key].good + n
        # and the other way round: nothing else lost a piece to a rejection
        for key, x in rates.items():
            if key not in faults:
                assert (x.sent_back, x.pct) == (0, D("100.0")), (by, key)


def test_a_pass_sent_back_counts_on_the_day_of_the_rejection(small):
    five = week_of_five(small)
    monday = kpi.report(small, date(2026, 11, 16), date(2026, 11, 16))
    # Monday: Ben's J1 setting right first time, his J2 setting sent back (LOOSE-STONE) -> 1 / 2
    assert lines(monday.ftrr_stage)["setting"] == (1, 2, D("50.0"))
    assert lines(monday.ftrr_person)["ben"] == (1, 2, D("50.0"))
    assert charged(small, "stage", date(2026, 11, 16), date(2026, 11, 16)) == {"setting": 1}
    # Tuesday: J2's setting done again is its rework, not a second piece: no setting line at all
    tuesday = kpi.report(small, date(2026, 11, 17), date(2026, 11, 17))
    assert "setting" not in lines(tuesday.ftrr_stage) and "ben" not in lines(tuesday.ftrr_person)
    assert lines(tuesday.ftrr_stage)["polishing"] == (2, 2, D("100.0"))
    assert five  # the week as conftest.py tells it


def test_a_defect_found_downstream_is_charged_to_the_stage_that_redoes_it(small):
    c = small.test_clock
    c.at(16, 9)
    (j,) = verbs.create_jobs(small, [dict(route="simple", design="Halo ring", alloy="18KY", due="2026-11-27")])
    verbs.start(small, j, "ben", "setting")
    verbs.finish(small, j, "ben", "setting")
    verbs.verify(small, j, "eva", "qc", "setting", pin=small.person("eva").pin)
    verbs.start(small, j, "chloe", "polishing")
    verbs.finish(small, j, "chloe", "polishing")
    day = date(2026, 11, 16)
    before = kpi.report(small, day, day)
    assert lines(before.ftrr_stage) == {"setting": (1, 1, D("100.0")), "polishing": (1, 1, D("100.0"))}
    # Tuesday: polishing shows a loose stone; setting redoes it (and polishing follows, through no fault of its own)
    c.at(17, 9)
    verbs.reject(small, j, "eva", "qc", "polishing", defect="LOOSE-STONE", reason="a claw lifted", redo="setting")
    assert charged(small, "stage", date(2026, 11, 17), date(2026, 11, 17)) == {"setting": 1}
    assert charged(small, "person", date(2026, 11, 17), date(2026, 11, 17)) == {"ben": 1}
    week = kpi.report(small, day, date(2026, 11, 17))
    assert lines(week.ftrr_stage) == {"setting": (0, 1, D("0.0"))}
    assert lines(week.ftrr_person) == {"ben": (0, 1, D("0.0"))}
    # redone and polished again: polishing was right first time; setting stays a piece that needed rework
    c.at(17, 10)
    verbs.start(small, j, "ben", "setting")
    verbs.finish(small, j, "ben", "setting")
    verbs.verify(small, j, "eva", "qc", "setting", pin=small.person("eva").pin)
    verbs.start(small, j, "chloe", "polishing")
    verbs.finish(small, j, "chloe", "polishing")
    week = kpi.report(small, day, date(2026, 11, 17))
    assert lines(week.ftrr_stage) == {"setting": (0, 1, D("0.0")), "polishing": (1, 1, D("100.0"))}
    assert lines(week.ftrr_person) == {"ben": (0, 1, D("0.0")), "chloe": (1, 1, D("100.0"))}
