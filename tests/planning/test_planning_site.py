"""Capacity, PAUSE/RESUME, the master schedule and promises on a real site (SQLite journal)."""

from __future__ import annotations

from datetime import date

import pytest

from floorkiosk.domain.calendar import CAPACITY_DECLARED, PROMISE_ACCEPTED_LATE, WORK_PAUSED
from floorkiosk.errors import Refused
from floorkiosk.workshop import capacity, verbs
from floorkiosk.workshop import schedule as ws

# the hand clock starts on Friday 2026-11-20 at 09:00 (UTC, the example site's time zone)


def fab(shop, due="2026-12-18", **kw):
    return verbs.create_job(shop, route="fabrication", design="Signet", alloy="18KY", due=due, **kw)


def count(shop, type_):
    return sum(1 for _ in shop.journal.events(types=[type_]))


def test_capacity_is_declared_for_this_week_or_the_next_and_bad_hours_are_refused(shop):
    assert capacity.declare_capacity(shop, "ben", "2026-W47", {"setting": 20, "cleanup": 4}) == "2026-W47"
    assert capacity.capacity_of(shop, "ben", date(2026, 11, 16)) == {"setting": 20.0, "cleanup": 4.0}
    assert capacity.capacity_of(shop, "ben", date(2026, 11, 23)) == {"setting": 30.0, "cleanup": 8.0}  # people.toml
    assert capacity.capacity_of(shop, "ana", date(2026, 11, 23)) is None  # nothing said anywhere
    before = count(shop, CAPACITY_DECLARED)
    for week, hours, said in (("2026-W47", {"setting": 41}, "more than the 40 working hours of week 2026-W47"),
                              ("2026-W47", {"enamel": 4}, "unknown skill 'enamel'"),
                              ("2026-W47", {"qc": 4}, "has no skill 'qc'"),
                              ("2026-W47", {"setting": -1}, "must be a number of 0 or more"),
                              ("2026-W50", {"setting": 4}, "this week (2026-W47) or the next (2026-W48)"),
                              ("week 3", {"setting": 4}, "is not a week such as 2026-W50")):
        with pytest.raises(Refused, match=said.replace("(", r"\(").replace(")", r"\)")):
            capacity.declare_capacity(shop, "ben", week, hours)
    assert count(shop, CAPACITY_DECLARED) == before  # nothing recorded


def test_pause_and_resume_a_stage_under_way_and_the_guardrails_of_both(shop, clock):
    j = fab(shop)
    with pytest.raises(Refused, match="nothing under way"):
        capacity.pause_work(shop, j, "ana", "cleanup")
    verbs.start(shop, j, "ana", "cleanup")
    with pytest.raises(Refused, match="is not paused"):
        capacity.resume_work(shop, j, "ana", "cleanup")
    with pytest.raises(Refused, match="nothing under way"):
        capacity.pause_work(shop, j, "ben", "cleanup")  # not theirs
    clock.advance(hours=1)
    assert capacity.pause_work(shop, j, "ana", "cleanup") == "fabrication"
    with pytest.raises(Refused, match="paused already"):
        capacity.pause_work(shop, j, "ana", "cleanup")
    clock.advance(hours=2)
    capacity.resume_work(shop, j, "ana", "cleanup")
    clock.advance(hours=1)
    times = {t.stage: t for t in capacity.stage_times(shop, j)}
    assert times["fabrication"].spent_hours == pytest.approx(2.0) and not times["fabrication"].paused
    assert times["fabrication"].standard == "4.0 h (default)"  # planning.toml's standard_hours
    assert count(shop, WORK_PAUSED) == 1


def test_the_master_schedule_plans_every_open_job_and_names_the_late_ones(shop):
    jobs = [fab(shop, due="2026-12-18") for _ in range(3)] + [fab(shop, due="2026-11-20", priority="rush")]
    m = ws.master_schedule(shop)
    assert set(m.plan.ends) == set(jobs)
    assert m.plan.late == [jobs[3]]  # due today with 11 hours of work: late whatever the plan
    (late_job, end, crit), = m.late_jobs()
    assert late_job.id == jobs[3] and end > date(2026, 11, 20) and crit is not None
    # parallel branches: setting and engraving side by side after cleanup, on different people
    at = {p.stage: p for p in m.plan.placements if p.job == jobs[3]}
    assert at["stone-setting"].start >= at["cleanup"].end and at["engraving"].start >= at["cleanup"].end
    assert at["polishing"].start >= max(at["stone-setting"].end, at["engraving"].end)
    # kept while nothing moves; made again after any event
    assert ws.master_schedule(shop).from_cache
    verbs.start(shop, jobs[0], "ana", "cleanup")
    again = ws.master_schedule(shop)
    assert not again.from_cache
    pinned = [p for p in again.plan.placements if p.job == jobs[0] and p.stage == "fabrication"]
    assert pinned[0].person == "ana" and pinned[0].start == 0  # under way: goes on with her now


def test_a_job_on_hold_waits_and_a_rush_job_goes_first(shop):
    normal = fab(shop, due="2026-11-27")
    rush = fab(shop, due="2026-11-27", priority="rush")
    held = fab(shop, due="2026-11-27")
    verbs.hold(shop, held, "eva", "qc", "waiting for the client's stones")
    m = ws.master_schedule(shop, solver=False)
    first = {j: min(p.start for p in m.plan.placements if p.job == j) for j in (normal, rush, held)}
    assert first[rush] == 0 and first[normal] > 0  # one fabricator: the rush job takes her first
    assert first[held] >= shop.site.planning.hold_days * shop.site.planning.calendar.day_minutes


def test_a_job_no_one_can_do_is_named_not_dropped(tmp_path, clock):
    from config_helpers import copy_example, edit

    from floorkiosk.workshop.site import init_site, open_shop

    cfg = copy_example(tmp_path / "config")
    edit(cfg / "people.toml", 'skills = ["polishing", "plating"]', 'skills = ["polishing"]')  # no one plates now
    init_site(tmp_path / "site", cfg, origin="test-bench")
    shop = open_shop(tmp_path / "site", clock=clock)
    try:
        plated = verbs.create_job(shop, route="casting-line", design="Charm", alloy="18KY", due="2026-12-18")
        other = fab(shop)
        m = ws.master_schedule(shop)
        assert [(u.job, u.stage, u.skill) for u in m.plan.unplaceable] == [(plated, "plating", "plating")]
        assert other in m.plan.ends and plated not in m.plan.ends
        with pytest.raises(Refused, match="stage 'plating' needs 'plating': no one has hours"):
            ws.promise(shop, "casting-line", "Charm")
    finally:
        shop.close()


def test_a_promise_is_the_earliest_date_with_everything_else_kept_and_says_why(shop):
    p = ws.promise(shop, "fabrication", "Signet")
    assert p.earliest >= date(2026, 11, 20) and p.bottleneck in {s.skill for s in shop.site.stages.values()}
    for _ in range(6):
        fab(shop, due="2026-11-25")
    later = ws.promise(shop, "fabrication", "Signet")
    assert later.earliest > p.earliest  # the fabricator's week is taken by what was promised before
    assert later.bottleneck == "fabrication" and "fabrication" in later.why()
    with pytest.raises(Refused, match="unknown route"):
        ws.promise(shop, "no-such-route", "Signet")


def test_accepted_late_is_recorded_with_the_earliest_date(shop):
    j = fab(shop, due="2026-11-20")
    p = ws.promise(shop, "fabrication", "Signet")
    ws.record_accepted_late(shop, [j], "2026-11-20", p)
    (e,) = list(shop.journal.events(types=[PROMISE_ACCEPTED_LATE]))
    assert e.job == j and e.payload["earliest"] == p.earliest.isoformat()


def test_a_benchs_standard_times_from_its_recent_runs_agree_with_the_whole_history(shop, clock):
    """The kiosk's card reads the standard times of its bench's stages from their recent runs only (not a fold
    of every event); on the same runs, a logout's pause included, it says what the whole history says."""
    from decimal import Decimal

    from scalereading import weigh  # tests/ is on the path (pytest rootdir)

    from floorkiosk.workshop import sessions

    for hours in (2, 3, 4):
        j = fab(shop)
        verbs.start(shop, j, "ana", "cleanup")
        weigh(shop, j, "ana", "cleanup", Decimal("5.000"), phase="in", stage="fabrication")
        clock.advance(hours=1)
        sessions.logout(shop, "ana", "cleanup", why="idle")  # an hour away: not work time
        clock.advance(hours=1)
        sessions.login(shop, "FK:P:B1001", "cleanup")
        clock.advance(hours=hours - 1)
        weigh(shop, j, "ana", "cleanup", Decimal("4.900"), phase="out", stage="fabrication")
        verbs.finish(shop, j, "ana", "cleanup", "fabrication", checklist=shop.site.stages["fabrication"].checklist)
        clock.advance(minutes=10)
    whole = capacity.standards(shop).of("fabrication", "fabrication", "Signet")
    recent = capacity.recent_standards(shop, ["fabrication", "cleanup"]).of("fabrication", "fabrication", "Signet")
    assert recent == whole and whole.runs == 3 and whole.basis == "design"
    runs = [r.seconds / 3600 for r in capacity.work_clock(shop).runs if r.stage == "fabrication"]
    assert runs[0] == pytest.approx(2.0)  # the first, inside one working day: three hours less the hour away
