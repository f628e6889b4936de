"""The weeks ahead on a real site: jobs at risk from the master schedule, projected CDPA, the report's views."""

from __future__ import annotations

import csv
import shutil
import subprocess
from datetime import date, timedelta
from decimal import Decimal as D

import pytest

from floorkiosk.workshop import kpi, outlook, reports, verbs
from floorkiosk.workshop import schedule as ws

# the hand clock starts on Friday 2026-11-20 at 09:00 (UTC, the example site's time zone). A job on the
# fabrication route needs 4 + 1 + max(3, 1.5) + 1.5 + 0.5 + 0.25 = 10.25 working hours end to end
# (planning.toml's standard hours; setting and engraving side by side), and the day has 8 left.
TODAY = date(2026, 11, 20)


def fab(shop, due):
    return verbs.create_job(shop, route="fabrication", design="Signet", alloy="18KY", due=due)


@pytest.fixture
def three(shop):
    return {"today": fab(shop, "2026-11-20"), "tuesday": fab(shop, "2026-11-24"), "far": fab(shop, "2027-03-01")}


def rows(path):
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_jobs_at_risk_come_from_the_schedule_with_the_stage_that_makes_them_late(shop, three):
    m = ws.master_schedule(shop)
    r = kpi.report(shop, TODAY - timedelta(days=6), TODAY, schedule=m)
    assert r.risk_from == m.made_at
    (a,) = r.at_risk  # due today with 10.25 h of work and 8 h left: only that one
    assert a.job == three["today"] and a.basis == "schedule" and not a.late and a.days_left == 0
    assert a.planned_end > TODAY and a.why  # the stage holding it back, in words
    assert a.why.split(" ")[0] in {"fabrication", "cleanup", "stone-setting", "engraving", "polishing", "qc",
                                   "packaging"}
    assert r.at_risk_total == 1
    summary = dict(kpi.summary_lines(shop, r))
    assert summary["At risk"].startswith("1 at risk, 0 late (from the master schedule of 2026-11-20 09:00)")


def test_without_a_recent_schedule_the_risk_is_the_mean_lead_time_and_a_kept_one_serves_for_an_hour(shop, clock, three):
    r = kpi.report(shop, TODAY - timedelta(days=6), TODAY)  # no schedule made yet
    # the mean lead times of a shop without history see no risk in a job due today with 10 hours to do
    assert r.risk_from is None and r.at_risk == []
    assert "from the master schedule" not in dict(kpi.summary_lines(shop, r))["At risk"]
    made = ws.master_schedule(shop).made_at
    clock.advance(minutes=20)
    new = fab(shop, "2026-11-19")  # work moved on: the kept schedule still says who is at risk
    r = kpi.report(shop, TODAY - timedelta(days=6), TODAY)
    assert r.risk_from == made
    basis = {a.job: a.basis for a in r.at_risk}
    assert basis == {three["today"]: "schedule", new: "lead time"}  # one added since (and late): the estimate
    clock.advance(hours=1)
    r = kpi.report(shop, TODAY - timedelta(days=6), TODAY)  # too old now
    assert r.risk_from is None and [(a.job, a.basis) for a in r.at_risk] == [(new, "lead time")]


def test_projected_cdpa_from_the_schedule(shop, three):
    m = ws.master_schedule(shop)
    w = outlook.projected(m, TODAY)
    assert [x.label for x in w] == ["2026-W47", "2026-W48", "2026-W49", "2026-W50"]
    assert [(x.due, x.kept, x.late) for x in w] == [(1, 0, (three["today"],)), (1, 1, ()), (0, 0, ()), (0, 0, ())]
    assert [x.cdpa for x in w] == [D("0.0"), D("100.0"), None, None]
    skills, weeks, cells = outlook.heatmap(m)
    assert "fabrication" in skills and weeks[0] == "2026-W47"
    # three fabrications of 4 h each are planned: 12 h of fabrication load over the weeks
    assert sum(c.load_h for (sk, _), c in cells.items() if sk == "fabrication") == pytest.approx(12.0)
    rows_ = outlook.timeline(m)
    assert [r.job for r in rows_][0] == three["today"] and rows_[0].late
    assert sum(b.critical for b in rows_[0].bars) == 1 and rows_[0].critical
    week = outlook.person_week(m, date(2026, 11, 16))
    assert "ana" in week and all(p.person == "ana" for p in week["ana"])


def test_the_report_draws_the_weeks_ahead_and_the_costs(shop, three, tmp_path):
    out = tmp_path / "report"
    files = {p.name for p in reports.write_report(shop, TODAY - timedelta(days=6), TODAY, out)}
    assert {"schedule.csv", "capacity_load.csv", "projected_cdpa.csv", "job_costs.csv", "copq.csv"} <= files
    sched = rows(out / "schedule.csv")
    assert {r["job"] for r in sched} == set(three.values())
    assert sum(r["critical"] == "yes" for r in sched if r["job"] == three["today"]) == 1
    assert [(r["week"], r["due"], r["kept"], r["cdpa_pct"]) for r in rows(out / "projected_cdpa.csv")][:2] == [
        ("2026-W47", "1", "0", "0.0"), ("2026-W48", "1", "1", "100.0")]
    assert {r["job"] for r in rows(out / "job_costs.csv")} == set(three.values())
    risk = rows(out / "at_risk.csv")
    assert [(r["job"], r["basis"]) for r in risk] == [(three["today"], "schedule")] and risk[0]["held_back_by"]
    page = (out / "report.html").read_text(encoding="utf-8")
    for h in ("Projected CDPA, next four weeks", "Capacity heatmap", "Timeline of every open job",
              "Each person's week", "Labour, cost and margin"):
        assert h in page
    assert 'aria-label="timeline of open jobs"' in page and 'aria-label="capacity heatmap"' in page


def test_a_real_browser_draws_the_timeline(shop, three, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        pytest.skip("no chromium on this machine to open the report in")
    out = tmp_path / "report"
    reports.write_report(shop, TODAY - timedelta(days=6), TODAY, out)
    dom = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom",
                          (out / "report.html").as_uri()], capture_output=True, text=True, timeout=120).stdout
    # parsed by the browser: the timeline's bars, one per planned stage, and a diamond per due date
    start = dom.index('aria-label="timeline of open jobs"')
    timeline = dom[start:dom.index("</svg>", start)]
    planned = len(ws.master_schedule(shop).plan.placements)
    assert timeline.count("<rect") >= planned and timeline.count("<path") == 3
