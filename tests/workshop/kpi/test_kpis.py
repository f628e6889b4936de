"""KPIs and the board from a real site's journal: the hand-timed week of five jobs (see conftest.py)."""

from datetime import date
from decimal import Decimal as D

import pytest

from floorkiosk.workshop import kpi, verbs
from floorkiosk.domain import kpi as k
from floorkiosk.errors import NotFound, Refused

from .conftest import week_of_five

WEEK = (date(2026, 11, 16), date(2026, 11, 20))


@pytest.fixture
def five(small):
    return week_of_five(small)


def by_key(lines):
    return {x.key: (x.good, x.total, x.pct) for x in lines}


def test_first_time_right(small, five):
    r = kpi.report(small, *WEEK)
    # setting: J1 right first time, J2 rejected once -> 1 / 2 = 50.0 %; polishing and delivery: 3 / 3
    assert by_key(r.ftrr_stage) == {"setting": (1, 2, D("50.0")), "polishing": (3, 3, D("100.0")),
                                    "delivery": (3, 3, D("100.0"))}
    # the rejected setting counts against Ben, who first finished it
    assert by_key(r.ftrr_person) == {"ben": (1, 2, D("50.0")), "chloe": (3, 3, D("100.0")), "dev": (3, 3, D("100.0"))}
    # whole jobs: simple J1 (no rework) and J2 (one) -> 50.0 %; express J3 -> 100.0 %; all: 2 / 3 = 66.7 %
    assert by_key(r.ftrr_route) == {"simple": (1, 2, D("50.0")), "express": (1, 1, D("100.0"))}
    assert (r.ftrr_overall.good, r.ftrr_overall.total, r.ftrr_overall.pct) == (2, 3, D("66.7"))


def test_delivery_promises(small, five):
    r = kpi.report(small, *WEEK)
    c = r.cdpa
    # promised in the week: J1 (20th, delivered 17th: on time), J2 (19th, delivered 20th: late),
    # J4 (18th, not delivered: missed); J3 was delayed by its client: excluded, counted apart
    assert (c.promised, c.on_time, c.late_delivered, c.missed_open, c.pending) == (3, 1, 1, 1, 0)
    assert c.cdpa == D("33.3")
    assert (c.client_delayed, c.client_delay_days, c.client_delayed_kept) == (1, 10, 1)
    assert set(c.late_jobs) == {five["J2"], five["J4"]}
    # the database counts promises by class in one query; the same promises judged one by one agree
    rd = kpi.report(small, *WEEK, detail=True)
    assert [p.job for p in rd.promises] == [five["J3"], five["J4"], five["J2"], five["J1"]]  # by promised date
    assert k.delivery_adherence(rd.promises, rd.today) == rd.cdpa == c


def test_lead_time_throughput_and_bottleneck(small, five):
    r = kpi.report(small, *WEEK)
    flows = {f.stage: f for f in r.flows}
    # setting: J1 4 h (1 waiting + 3 working), J2 25.5 h (1 + 24.5, the rework included): mean 14.75 -> 14.8 h
    s = flows["setting"]
    assert (s.done, s.lead_h, s.wait_h, s.work_h) == (2, 14.8, 1.0, 13.8)
    # polishing: J1 3 h, J2 1.5 h, J3 30 h (29 waiting): 11.5 h; delivery: 19, 69.5 and 19.5 h: 36.0 h
    assert (flows["polishing"].lead_h, flows["polishing"].wait_h, flows["polishing"].work_h) == (11.5, 10.2, 1.3)
    assert flows["delivery"].lead_h == 36.0
    # setting: J1, J2, J4, J5 and J2 again arrived (5), four starts: its queue grew by one
    assert (s.arrived, s.started, s.queue_growth) == (5, 4, 1)
    assert (r.bottleneck.stage, r.bottleneck.growth) == ("setting", 1)
    assert r.throughput.days == (("2026-11-16", 0), ("2026-11-17", 1), ("2026-11-18", 1), ("2026-11-19", 0),
                                 ("2026-11-20", 1))
    assert r.throughput.per_day == 0.6


def test_wip_and_jobs_at_risk(small, five):
    r = kpi.report(small, *WEEK)
    (w,) = [w for w in r.wip if w.stage == "setting"]
    # J4 in setting since Mon 09:00 (99 h), J5 waiting since Thu 09:00 (27 h)
    assert (w.waiting, w.in_progress, w.mean_age_h, w.max_age_h) == (1, 1, 63.0, 99.0)
    risk = {a.job: a for a in r.at_risk}
    assert risk[five["J4"]].late and risk[five["J4"]].days_left == -2
    # J5 is due tomorrow: 14.75 + 11.5 + 36 = 62.25 h of mean lead time still to go, 48 h left
    assert not risk[five["J5"]].late and risk[five["J5"]].remaining_h == 62.2
    assert set(risk) == {five["J4"], five["J5"]}


def test_the_board(small, five):
    b = kpi.board(small)
    lanes = {ln.stage: ln for ln in b.lanes}
    assert list(lanes) == ["setting", "polishing", "delivery"]
    s = lanes["setting"]
    assert (s.count, s.waiting, s.in_progress, s.late) == (2, 1, 1, 1)
    assert [p.job for p in s.oldest] == [five["J4"], five["J5"]]  # oldest first
    assert s.oldest[0].holder == "sofia" and s.oldest[0].age_h == 99.0
    assert [p.job for p in s.late_pieces] == [five["J4"]]
    assert (b.total, b.late) == (2, 1)
    assert lanes["polishing"].count == 0
    # filters
    assert [p.job for p in kpi.board(small, person="sofia").lanes[0].oldest] == [five["J4"]]
    assert [p.job for ln in kpi.board(small, alloy="925").lanes for p in ln.oldest] == [five["J5"]]
    assert kpi.board(small, route="express").total == 0
    assert [ln.stage for ln in kpi.board(small, bench="polishing").lanes] == ["polishing"]
    with pytest.raises(Refused, match="unknown alloy"):
        kpi.board(small, alloy="19K")


def test_board_follows_the_events(small, five):
    before = kpi.board(small)
    verbs.finish(small, five["J4"], "sofia", "setting")
    after = kpi.board(small)
    assert after.seq > before.seq
    s = {ln.stage: ln for ln in after.lanes}["setting"]
    assert (s.in_progress, s.to_verify) == (0, 1)  # finished, waiting at the QC station for verification
    verbs.verify(small, five["J4"], "eva", "qc", "setting", pin=small.person("eva").pin)
    lanes = {ln.stage: ln for ln in kpi.board(small).lanes}
    assert lanes["setting"].count == 1 and lanes["polishing"].waiting == 1


def test_delays_are_checked_and_change_nothing_when_refused(small, five):
    n = small.journal.count()
    for kw, err, msg in ((dict(by="supplier"), Refused, "client or the shop"),
                         (dict(new_due="next week"), Refused, "not a date"),
                         (dict(new_due="2026-11-01"), Refused, "moves the date later"),
                         (dict(reason=" "), Refused, "say why"),
                         (dict(person_id=None), Refused, "say who records the delay"),
                         (dict(person_id=" "), Refused, "say who records the delay"),
                         (dict(person_id="nobody"), NotFound, "no person 'nobody'"),
                         (dict(job="J000099"), NotFound, "no job J000099")):
        args = dict(job=five["J5"], by="client", new_due="2026-12-01", reason="stone not chosen", person_id="eva") | kw
        with pytest.raises(err, match=msg):
            kpi.delay_job(small, args.pop("job"), **args)
    assert small.journal.count() == n
    kpi.delay_job(small, five["J5"], by="shop", new_due="2026-11-24", reason="setter off sick", person_id="dev")
    history = [small.describe(e) for e in small.journal.recent(five["J5"])]
    assert history[-1] == "the shop moved its own date to 2026-11-24 (the promise of 2026-11-21 stands): setter off sick"
    # a shop-initiated delay does not excuse the promise: J5 is still judged against the 21st
    r = kpi.report(small, date(2026, 11, 21), date(2026, 11, 21))
    assert r.cdpa.client_delayed == 0


def test_flow_tables_rebuild_identically(small, five):
    before = small.journal.state_digest()
    small.journal.rebuild()
    assert small.journal.state_digest() == before
