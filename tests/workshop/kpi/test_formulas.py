"""The KPI formulas as pure functions, on small hand-computed fixtures (the expected numbers are worked out beside them)."""

from datetime import date
from decimal import Decimal as D

from floorkiosk.domain import kpi as k
from floorkiosk.domain.config import Route, Step


def test_yvr_by_alloy_and_casting_method():
    trees = [
        k.CastBatch("T1", "18KY", "vacuum", D("50"), D("30"), D("15"), D("3")),  # 48 / 50 = 96.0 %
        k.CastBatch("T2", "18KY", "centrifugal", D("40"), D("20"), D("17"), D("2")),  # 39 / 40 = 97.5 %
        k.CastBatch("T3", "14KY", "vacuum", D("20"), D("12"), D("6.5"), D("1")),  # 19.5 / 20 = 97.5 %
    ]
    by_alloy = {y.key: y for y in k.yield_by(trees, "alloy")}
    # 18KY: (48 + 39) / (50 + 40) = 96.666… -> 96.7 %
    assert by_alloy["18KY"].yvr == D("96.7") and by_alloy["18KY"].trees == 2 and by_alloy["18KY"].loss == 3
    assert by_alloy["14KY"].yvr == D("97.5")
    by_method = {y.key: y.yvr for y in k.yield_by(trees, "method")}
    # vacuum: (48 + 19.5) / (50 + 20) = 96.428… -> 96.4 %; centrifugal 97.5 %
    assert by_method == {"vacuum": D("96.4"), "centrifugal": D("97.5")}
    # all: 106.5 / 110 = 96.818… -> 96.8 %; seed 001: a YVR of 96.5 % means 3.5 % metal lost
    assert k.yield_total(trees).yvr == D("96.8")
    assert k.yvr(D("96.5"), D("100")) == D("96.5")
    assert k.yvr(1, 0) is None


def test_ftrr():
    assert k.ftrr(47, 50) == D("94.0")  # 47 of 50 pieces without rework
    assert k.ftrr(41, 50) == D("82.0")  # seed 001: below 82 % signals a systemic gap
    assert k.ftrr(0, 0) is None
    lines = k.rate_lines([("setting", 1, 2), ("polishing", 3, 3), ("setting", 2, 2), ("", 5, 5), ("idle", 0, 0)])
    # setting: (1 + 2) / (2 + 2) = 75.0 %; rows without a key or without completions are left out
    assert [(x.key, x.good, x.total, x.pct) for x in lines] == [("polishing", 3, 3, D("100.0")), ("setting", 3, 4, D("75.0"))]


def test_cdpa_excludes_client_initiated_delays():
    today = date(2026, 11, 20)
    promises = [
        k.Promise("A", date(2026, 11, 10), date(2026, 11, 10), False),  # on the promised day: on time
        k.Promise("B", date(2026, 11, 11), date(2026, 11, 12), False),  # a day late
        k.Promise("C", date(2026, 11, 5), None, False),  # not delivered, promise passed: missed
        k.Promise("D", date(2026, 11, 25), None, False),  # not due yet: pending, not counted
        k.Promise("E", date(2026, 11, 8), date(2026, 11, 15), True, 9, date(2026, 11, 17)),  # client asked: excluded
    ]
    a = k.delivery_adherence(promises, today)
    # counted: A, B, C; on time: A -> 1 / 3 = 33.3 %
    assert (a.promised, a.on_time, a.late_delivered, a.missed_open, a.pending) == (3, 1, 1, 1, 1)
    assert a.cdpa == D("33.3")
    assert (a.client_delayed, a.client_delay_days, a.client_delayed_kept) == (1, 9, 1)
    assert a.late_jobs == ("B", "C")


def test_wip_ages():
    # (stage, status, ready, pieces, on hold, sum of their ages h, oldest h), as the grouped query gives them
    groups = [("setting", "in progress", 0, 1, 0, 99.0, 99.0),  # J4 in setting since Mon 09:00, now Fri 12:00
              ("setting", "todo", 1, 1, 1, 27.0, 27.0),  # J5 waiting since Thu 09:00, on hold
              ("polishing", "done", 0, 2, 0, 3.0, 2.0),  # two finished, waiting to be verified: 1 h and 2 h
              ("polishing", "rework", 1, 1, 0, 4.0, 4.0)]  # sent back: waiting again
    wip = k.wip_summary(groups, ["setting", "polishing"])
    assert [(w.stage, w.waiting, w.in_progress, w.to_verify, w.on_hold, w.mean_age_h, w.max_age_h) for w in wip] == [
        ("setting", 1, 1, 0, 1, 63.0, 99.0),  # (99 + 27) / 2
        ("polishing", 1, 0, 2, 0, 2.3, 4.0)]  # (3 + 4) / 3 = 2.33
    assert [w.total for w in wip] == [2, 3]


def test_stage_flow_and_bottleneck():
    # setting: 5 arrived, 4 started: the queue grew by 1; 2 completed in 4 h and 25.5 h
    rows = [("setting", 5, 4, 0, 2, 1, 29.5 * 3600, 2 * 3600, 27.5 * 3600),
            ("polishing", 3, 3, 0, 3, 3, 34.5 * 3600, 30.5 * 3600, 4 * 3600)]
    flows = k.stage_flows(rows, ["setting", "polishing"])
    s, p = flows
    assert (s.queue_growth, s.lead_h, s.wait_h, s.work_h) == (1, 14.8, 1.0, 13.8)  # 29.5 / 2 = 14.75 -> 14.8
    assert (p.queue_growth, p.lead_h, p.wait_h, p.work_h) == (0, 11.5, 10.2, 1.3)
    neck = k.bottleneck(flows, [])
    assert (neck.stage, neck.growth) == ("setting", 1)
    # no queue grew: the stage whose waiting pieces are oldest
    flat = [k.StageFlow("setting", 2, 2, 0, 2, 2, 1, 1, 1), k.StageFlow("polishing", 1, 1, 0, 1, 1, 1, 1, 1)]
    wip = [k.WipLine("setting", 1, 0, 0, 0, 5.0, 5.0), k.WipLine("polishing", 2, 0, 0, 0, 30.0, 40.0)]
    assert k.bottleneck(flat, wip).stage == "polishing"
    assert k.bottleneck(flat, []).stage is None


def test_jobs_at_risk():
    today = date(2026, 11, 20)
    lead = {"setting": 14.75, "polishing": 11.5, "delivery": 36.0}
    jobs = [("J4", date(2026, 11, 18), ["setting", "polishing", "delivery"], "ring", "simple"),  # already late
            ("J5", date(2026, 11, 21), ["setting", "polishing", "delivery"], "ring", "simple"),  # 62.25 h > 48 h left
            ("J6", date(2026, 11, 27), ["setting", "polishing", "delivery"], "ring", "simple"),  # 192 h left: fine
            ("J7", date(2026, 11, 20), ["delivery"], "ring", "simple")]  # due today: 24 h left for 36 h of work
    risk = k.at_risk(jobs, lead, today)
    assert [(r.job, r.late, r.days_left) for r in risk] == [("J4", True, -2), ("J7", False, 0), ("J5", False, 1)]
    assert risk[2].remaining_h == 62.2 and risk[2].remaining_stages == ("setting", "polishing", "delivery")


def test_throughput_fills_every_day():
    tp = k.throughput({"2026-11-17": 1, "2026-11-18": 1, "2026-11-20": 1}, date(2026, 11, 16), date(2026, 11, 20), 9)
    assert tp.days == (("2026-11-16", 0), ("2026-11-17", 1), ("2026-11-18", 1), ("2026-11-19", 0), ("2026-11-20", 1))
    assert (tp.delivered, tp.per_day, tp.completed_stages) == (3, 0.6, 9)


def test_delivery_stage():
    with_delivery = Route("r", "r", (Step("polishing", ()), Step("delivery", ("polishing",)), Step("review", ("delivery",))))
    without = Route("s", "s", (Step("polishing", ()), Step("packaging", ("polishing",))))
    assert k.delivery_stage(with_delivery) == "delivery"
    assert k.delivery_stage(without) == "packaging"


def test_the_rules_do_no_io():
    """The KPI and metal rules import no database, screen or device code (STYLE: a pure domain core)."""
    import ast
    from pathlib import Path

    import floorkiosk.domain.kpi as dk
    import floorkiosk.domain.metal as dm

    for mod in (dk, dm):
        tree = ast.parse(Path(mod.__file__).read_text())
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert not {x for x in names if x.split(".")[0] in ("sqlite3", "sqlite_utils", "textual", "serial", "cv2")}
        assert not {x for x in names if x.startswith("floorkiosk.") and not x.startswith("floorkiosk.domain")}


def test_cdpa_counts_late_work_relabelled_a_client_delay():
    today = date(2026, 11, 20)
    promises = [
        k.Promise("A", date(2026, 11, 10), date(2026, 11, 10), False),  # on time
        k.Promise("E", date(2026, 11, 8), None, True, 9, date(2026, 11, 17)),  # asked in time: excluded
        # two days late when the client delay was recorded: judged against the 18th, counted apart
        k.Promise("R", date(2026, 11, 18), None, True, 9, date(2026, 11, 27), relabelled=True),
        k.Promise("S", date(2026, 11, 12), date(2026, 11, 19), True, 7, date(2026, 11, 19), relabelled=True),
    ]
    a = k.delivery_adherence(promises, today)
    # counted: A, R (missed), S (delivered late) -> 1 / 3; excluded: E alone
    assert (a.promised, a.on_time, a.late_delivered, a.missed_open, a.cdpa) == (3, 1, 1, 1, D("33.3"))
    assert (a.client_delayed, a.client_delay_days, a.relabelled) == (1, 9, 2)
    assert a.late_jobs == ("R", "S")
    assert [k.promise_word(p, today) for p in promises] == ["on time", "excluded: client-initiated delay",
                                                            "late, then relabelled", "late, then relabelled"]


def test_one_due_state():
    today = date(2026, 11, 20)
    st = k.due_state
    # late, due today (still on time), not late, done (never late)
    assert (st("2026-11-18", [], today).days_left, st("2026-11-18", [], today).late) == (-2, True)
    assert (st("2026-11-20", [], today).days_left, st("2026-11-20", [], today).late) == (0, False)
    assert (st("2026-11-25", [], today).days_left, st("2026-11-25", [], today).late) == (5, False)
    assert st("2026-11-18", [], today, done=True).late is False
    # a client delay asked for in time moves the promise
    c = st("2026-11-19", [("client", "2026-11-24", "2026-11-17")], today)
    assert (c.first, c.promise, c.days_left, c.late, c.client_delays, c.relabelled) == (
        date(2026, 11, 19), date(2026, 11, 24), 4, False, 1, 0)
    # a shop delay names the shop's own date: the promise and its lateness stand
    s = st("2026-11-19", [("shop", "2026-11-26", "2026-11-17")], today)
    assert (s.promise, s.days_left, s.late, s.shop_delays, s.shop_date) == (date(2026, 11, 19), -1, True, 1,
                                                                             date(2026, 11, 26))
    # a client delay recorded after the promise had passed: late work relabelled (the date still moves)
    r = st("2026-11-18", [("client", "2026-11-27", "2026-11-20")], today)
    assert (r.promise, r.late, r.relabelled) == (date(2026, 11, 27), False, 1)
    # on the promised day itself it is still in time; delays are read in order
    assert st("2026-11-18", [("client", "2026-11-22", "2026-11-18")], today).relabelled == 0
    two = st("2026-11-10", [("client", "2026-11-15", "2026-11-09"), ("client", "2026-11-25", "2026-11-16")], today)
    assert (two.promise, [d.relabelled for d in two.delays]) == (date(2026, 11, 25), [False, True])
    assert st("", [], today) == k.DueState(None, None, None, False)
    assert k.moved(date(2026, 11, 18), "shop", date(2026, 11, 30), date(2026, 11, 20)) == (date(2026, 11, 18), False)
    assert k.lateness(date(2026, 11, 19), today) == (-1, True)
