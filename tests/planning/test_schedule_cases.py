"""The master schedule on small shops solved by hand: a one-skill bottleneck, parallel branches, a
holiday, a rush job jumping the queue, a job no one can do, and a case where the solver beats the
earliest-due-date list."""

from __future__ import annotations

import random
from datetime import date, datetime, timezone

from floorkiosk.domain import schedule as ds
from floorkiosk.domain.calendar import Axis, Calendar

H = 60  # minutes in an hour of work
CAL = Calendar()  # Monday to Friday, 09:00-17:00
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)


def lane(lid: str, *skills: str, pace: float = 1.0) -> ds.Lane:
    return ds.Lane(lid, lid.split(":")[0], frozenset(skills), pace)


def test_one_skill_bottleneck_queues_the_jobs_on_the_one_setter():
    # three jobs of 1 h design then 4 h setting; two designers, one setter: the setter is the bottleneck.
    # By hand: designs all end at 1 h (two at once, the third at 2 h); settings at 5, 9, 13 h.
    lanes = [lane("a:design", "design"), lane("b:design", "design"), lane("s:setting", "setting")]
    jobs = [ds.Job(f"J{i}", due=9 * H, tasks=(ds.Task("cad", "design", H), ds.Task("set", "setting", 4 * H, ("cad",))))
            for i in (1, 2, 3)]
    plan = ds.solve(jobs, lanes, time_limit_s=5)
    assert sorted(plan.ends.values()) == [5 * H, 9 * H, 13 * H]
    assert len(plan.late) == 1  # one of them cannot be kept by the 9th working hour whatever the order
    sets = sorted((p.start, p.end) for p in plan.placements if p.stage == "set")
    assert all(a[1] <= b[0] for a, b in zip(sets, sets[1:]))  # one setting at a time
    crit = ds.critical_stage([p for p in plan.placements if p.job == plan.late[0]])
    assert crit is not None and crit.skill == "setting" and crit.start > crit.ready  # it waited for the setter


def test_parallel_branches_run_side_by_side():
    # cleanup 2 h, then setting 3 h and engraving 3 h in parallel, then polishing 1 h: 6 h, not 9
    tasks = (ds.Task("cleanup", "cleanup", 2 * H), ds.Task("setting", "setting", 3 * H, ("cleanup",)),
             ds.Task("engraving", "engraving", 3 * H, ("cleanup",)),
             ds.Task("polishing", "polishing", H, ("setting", "engraving")))
    lanes = [lane("a:cleanup", "cleanup", "polishing"), lane("b:setting", "setting"), lane("c:engraving", "engraving")]
    for plan in (ds.list_schedule([ds.Job("J1", 6 * H, tasks)], lanes), ds.solve([ds.Job("J1", 6 * H, tasks)], lanes)):
        at = {p.stage: (p.start, p.end) for p in plan.placements}
        assert at["setting"] == at["engraving"] == (2 * H, 5 * H)
        assert at["polishing"] == (5 * H, 6 * H) and plan.ends["J1"] == 6 * H and plan.late == []


def test_a_holiday_is_not_working_time():
    # 16 h of work from Wednesday 09:00 ends Thursday at 17:00; with Thursday a holiday, Friday 17:00
    wed = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)
    task = (ds.Task("fabrication", "fabrication", 16 * H),)
    for cal, ends in ((CAL, date(2026, 11, 26)), (Calendar(holidays=frozenset({date(2026, 11, 26)})), date(2026, 11, 27))):
        axis = Axis(cal, wed)
        due = axis.close_of(date(2026, 11, 26))
        plan = ds.solve([ds.Job("J1", due, task)], [lane("a:fabrication", "fabrication")])
        assert axis.moment(plan.ends["J1"]) == datetime.combine(ends, datetime.min.time(), timezone.utc).replace(hour=17)
        assert (plan.late == []) == (ends == date(2026, 11, 26))  # due Thursday: kept, unless Thursday is a holiday


def test_a_rush_job_jumps_the_queue():
    # one polisher, room for one 6 h job by the shared due date: the rush one goes first
    lanes = [lane("p:polishing", "polishing")]
    jobs = [ds.Job("J1", 8 * H, (ds.Task("polish", "polishing", 6 * H),)),
            ds.Job("J2", 8 * H, (ds.Task("polish", "polishing", 6 * H),), rush=True)]
    for plan in (ds.list_schedule(jobs, lanes, "rush"), ds.solve(jobs, lanes)):
        assert plan.ends["J2"] == 6 * H and plan.ends["J1"] == 12 * H
        assert plan.late == ["J1"]
    assert ds.list_schedule(jobs, lanes, "edd").ends["J1"] == 6 * H  # by due date alone, J1 (first by number) wins


def test_a_job_no_one_can_do_is_named_not_dropped():
    lanes = [lane("a:casting", "casting")]
    jobs = [ds.Job("J1", 100 * H, (ds.Task("cast", "casting", H),)),
            ds.Job("J2", 100 * H, (ds.Task("cast", "casting", H), ds.Task("enamel", "enamelling", H, ("cast",))))]
    plan = ds.solve(jobs, lanes, time_limit_s=1)
    assert plan.unplaceable == [ds.Unplaceable("J2", "enamel", "enamelling", "no one has hours for 'enamelling'")]
    assert plan.ends == {"J1": H}  # the others are planned as ever


def test_a_lane_at_part_pace_takes_longer_in_working_time():
    # a setter giving setting 20 of a 40-hour week: 3 h of setting occupy 6 working hours of that lane
    plan = ds.solve([ds.Job("J1", 100 * H, (ds.Task("set", "setting", 3 * H),))], [lane("s:setting", "setting", pace=0.5)])
    assert plan.ends["J1"] == 6 * H


def test_the_solver_saves_a_job_the_due_date_order_loses():
    # X due at 4 h needs 6 h (late anyway); Y due at 5 h needs 2 h. By due date X goes first and
    # both are late; Y first keeps Y. The solver finds it.
    lanes = [lane("a:setting", "setting")]
    jobs = [ds.Job("X", 4 * H, (ds.Task("set", "setting", 6 * H),)), ds.Job("Y", 5 * H, (ds.Task("set", "setting", 2 * H),))]
    assert sorted(ds.list_schedule(jobs, lanes, "edd").late) == ["X", "Y"]
    plan = ds.solve(jobs, lanes, time_limit_s=5)
    assert plan.method.startswith("cp-sat") and plan.late == ["X"] and plan.ends["Y"] == 2 * H


def test_the_solver_is_never_worse_than_the_due_date_list():
    rng = random.Random(7)
    skills = ["design", "casting", "setting", "polishing"]
    lanes = [lane(f"p{i}:{s}", s, pace=rng.choice([0.5, 1.0])) for i, s in enumerate(skills * 2)]
    jobs = []
    for j in range(40):
        tasks = tuple(ds.Task(f"s{i}", rng.choice(skills), rng.randint(20, 120), (f"s{i - 1}",) if i else ())
                      for i in range(rng.randint(2, 6)))
        jobs.append(ds.Job(f"J{j}", rng.randint(4 * H, 40 * H), tasks, rush=rng.random() < 0.1))
    edd = ds.list_schedule(jobs, lanes, "edd")
    plan = ds.solve(jobs, lanes, time_limit_s=3)
    assert ds.score(plan, jobs) <= ds.score(edd, jobs)
    # every lane does one stage at a time, and every stage comes after what it waits for
    by_lane: dict[str, list[tuple[int, int]]] = {}
    for p in plan.placements:
        by_lane.setdefault(p.lane, []).append((p.start, p.end))
    for ivs in by_lane.values():
        ivs.sort()
        assert all(a[1] <= b[0] for a, b in zip(ivs, ivs[1:]))
    at = {(p.job, p.stage): p for p in plan.placements}
    for j in jobs:
        for t in j.tasks:
            assert all(at[(j.id, t.stage)].start >= at[(j.id, a)].end for a in t.after)


def test_a_promise_keeps_everything_planned_in_place():
    lanes = [lane("s:setting", "setting")]
    plan = ds.solve([ds.Job("J1", 8 * H, (ds.Task("set", "setting", 4 * H),))], lanes)
    end, placed = ds.insert_jobs(plan, lanes, [ds.Job("NEW", 1 << 40, (ds.Task("set", "setting", 2 * H),))])
    assert end == 6 * H and placed[0].start == 4 * H
    try:
        ds.insert_jobs(plan, lanes, [ds.Job("NEW", 0, (ds.Task("cast", "casting", H),))])
    except ValueError as exc:
        assert "'casting'" in str(exc)
    else:
        raise AssertionError("a stage no one can do must be refused")
