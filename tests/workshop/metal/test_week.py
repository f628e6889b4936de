"""A generated week of a 12-bench workshop reconciled to the milligram (in fact to the microgram).

The week (tests/workshop/metal/week.py) is driven through the real verbs with the guardrails on; the generator
writes down every loss it makes (each weighing, each tree, each lemel and sweeps return, each 1 mg
disagreement between two scales). The ledger must find exactly those losses on every line, and the
workshop's metal must add up: received = stock + refiner + delivered + in work + lost.
"""

import gc
import sys
from datetime import date
from decimal import Decimal as D

import pytest

from floorkiosk.workshop import metal
from floorkiosk.domain import metal as m
from floorkiosk.store.journal import _helper_share

from .week import MONDAY, Week, open_week_shop

WEEK = (date(2026, 11, 2), date(2026, 11, 6))


@pytest.fixture(scope="module")
def week(tmp_path_factory):
    shop, clock = open_week_shop(tmp_path_factory.mktemp("week") / "site")
    w = Week(shop, clock).run()
    yield w
    shop.close()


def test_the_week_is_realistic(week):
    shop = week.shop
    assert len(shop.site.benches) == 12
    assert shop.journal.count() > 1500
    assert len(week.trees) >= 6 and len(week.rejected) >= 1
    methods = {t.method for t in metal.trees(shop)}
    assert methods == {"vacuum", "centrifugal"}
    assert sum(week.delivered.values()) > 0 and week.weight  # some pieces delivered, some still in work


@pytest.mark.parametrize("grouping", m.GROUPINGS)
def test_every_line_finds_exactly_the_losses_made(week, grouping):
    r = metal.reconcile(week.shop, *WEEK)
    got = {(ln.key or "", ln.alloy): ln.difference for ln in r.lines[grouping]}
    expected = {k: v for k, v in week.expected_by(grouping).items()}
    for key in set(got) | set(expected):
        assert got.get(key, D(0)) == expected.get(key, D(0)), f"{grouping} {key}"
    # and the lines partition the workshop: each grouping adds up to the same total per alloy
    for alloy in {a for _, a in got}:
        assert r.total(grouping, alloy) == r.total("alloy", alloy)


def test_the_workshop_adds_up_per_alloy(week):
    shop = week.shop
    r = metal.reconcile(shop, *WEEK)
    held = {}
    for b in metal.balances(shop):
        held.setdefault((b.alloy, b.acct), D(0))
        held[(b.alloy, b.acct)] += b.gross
    for alloy in ("18KY", "14KY", "925", "PT950"):
        lost = r.total("alloy", alloy)
        stock = metal.stock(shop).get(alloy, D(0))
        in_work = sum((v for (a, acct), v in held.items() if a == alloy and acct in m.IN_WORKSHOP), D(0))
        assert stock == week.stock(alloy)
        assert in_work == week.in_workshop(alloy)
        # received = stock + refiner + delivered + in work + lost, to the microgram
        assert week.received[alloy] == stock + week.to_refiner[alloy] + week.delivered[alloy] + in_work + lost
        assert D(0) < lost < D("0.02") * week.received[alloy]


def test_scale_disagreements_are_not_called_loss(week):
    r = metal.reconcile(week.shop, *WEEK)
    transit = [ln for ln in r.lines["bench"] if ln.key == m.TRANSIT_LINE]
    assert any(ln.difference > 0 for ln in transit)  # the 1 mg disagreements are in the ledger …
    assert all(ln.loss == 0 and not ln.flag for ln in transit)  # … and are not loss


def test_days_add_up_to_the_week(week):
    shop = week.shop
    whole = metal.reconcile(shop, *WEEK)
    days = [metal.reconcile(shop, date(2026, 11, d), date(2026, 11, d)) for d in range(2, 7)]
    for g in m.GROUPINGS:
        for ln in whole.lines[g]:
            per_day = [x for r in days for x in r.lines[g] if x.key == ln.key and x.alloy == ln.alloy]
            assert sum((x.difference for x in per_day), D(0)) == ln.difference
        # each day opens with what the day before closed
        for before, after in zip(days, days[1:]):
            closed = {(x.key, x.alloy): x.in_work for x in before.lines[g]}
            for x in after.lines[g]:
                assert x.brought_forward == closed.get((x.key, x.alloy), D(0))


def test_rebuilt_from_the_journal_it_is_the_same(week):
    shop = week.shop
    before = shop.journal.state_digest()
    shop.journal.rebuild()
    assert shop.journal.state_digest() == before
    assert MONDAY.date() == WEEK[0]


def test_rebuilt_with_a_second_process_it_is_the_same(week):
    shop = week.shop
    before = shop.journal.state_digest()
    # QC and the KPI flow are folded by the helper process and copied in; jobs and metal here
    assert [type(p).__name__ for p in _helper_share(shop.journal.projectors)] [:2] == ["QcProjector", "FlowProjector"]
    shop.journal.conn.execute("DELETE FROM kpi_stages")  # even with derived tables damaged
    shop.journal.conn.execute("DELETE FROM qc_runs")
    shop.journal.rebuild(apart=True)
    assert shop.journal.state_digest() == before
    assert not list(shop.dir.glob("*.rebuild-*")), "the scratch database was left behind"
    assert gc.isenabled()


def test_a_helper_that_fails_leaves_the_rebuild_to_this_process(week, monkeypatch):
    shop = week.shop
    before = shop.journal.state_digest()
    shop.journal.conn.execute("DELETE FROM kpi_stages")
    monkeypatch.setattr(sys, "executable", "/bin/false")  # the helper cannot start
    shop.journal.rebuild(apart=True)
    assert shop.journal.state_digest() == before
    assert not list(shop.dir.glob("*.rebuild-*"))


def test_a_helper_that_cannot_start_or_hangs_leaves_the_rebuild_to_this_process(week, monkeypatch, tmp_path):
    from floorkiosk.store import journal

    shop = week.shop
    before = shop.journal.state_digest()
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-such-python"))
    shop.journal.conn.execute("DELETE FROM qc_runs")
    shop.journal.rebuild(apart=True)
    assert shop.journal.state_digest() == before

    stuck = tmp_path / "stuck"
    stuck.write_text("#!/bin/sh\nsleep 60\n")
    stuck.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(stuck))
    monkeypatch.setattr(journal, "HELPER_PATIENCE", 0.5)
    shop.journal.conn.execute("DELETE FROM kpi_jobs")
    shop.journal.rebuild(apart=True)
    assert shop.journal.state_digest() == before
    assert not list(shop.dir.glob("*.rebuild-*"))
