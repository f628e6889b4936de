"""Work time in working hours less pauses (PAUSE, RESUME, logout), the working axis, standard times."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from floorkiosk.domain import events as ev
from floorkiosk.domain.calendar import WORK_PAUSED, WORK_RESUMED, Axis, Calendar
from floorkiosk.domain.worktime import Run, Standards, WorkClock

CAL = Calendar(holidays=frozenset({date(2026, 11, 26)}))


def at(day: int, hour: int, minute: int = 0) -> str:
    return datetime(2026, 11, day, hour, minute, tzinfo=timezone.utc).isoformat().replace("+00:00", "Z")


def e(type_: str, when: str, person: str = "ben", job: str | None = "J000001", **payload) -> ev.Event:
    return ev.Event(type_, job, person, "setting", payload, ts=when)


def test_working_time_leaves_out_nights_weekends_and_holidays():
    # Friday 16:00 to Monday 10:00: one hour on Friday, one on Monday
    assert CAL.working_seconds(datetime.fromisoformat(at(20, 16)), datetime.fromisoformat(at(23, 10))) == 2 * 3600
    # Wednesday 16:00 to Friday 10:00 over the Thursday holiday: two hours
    assert CAL.working_seconds(datetime.fromisoformat(at(25, 16)), datetime.fromisoformat(at(27, 10))) == 2 * 3600
    assert CAL.week_hours(date(2026, 11, 23)) == 32  # the holiday week


def test_a_run_is_start_to_finish_less_its_pauses_in_working_hours():
    clock = WorkClock(CAL)
    clock.feed([
        e(ev.STAGE_STARTED, at(23, 16), stage="stone-setting"),
        e(WORK_PAUSED, at(23, 16, 30), stage="stone-setting"),  # PAUSE at 16:30 …
        e(WORK_RESUMED, at(24, 9, 30), stage="stone-setting"),  # … RESUME next morning at 09:30
        e(ev.STAGE_FINISHED, at(24, 10), stage="stone-setting"),
    ])
    (run,) = clock.runs
    assert run.seconds == 3600  # 16:00-16:30 and 09:30-10:00; the night never counted


def test_a_logout_pauses_what_the_person_has_under_way_until_they_badge_in():
    clock = WorkClock(CAL)
    clock.feed([
        e(ev.STAGE_STARTED, at(24, 10), stage="polishing"),
        e(ev.PERSON_LOGGED_OUT, at(24, 11), job=None, why="idle"),  # idle logout
        e(ev.PERSON_LOGGED_IN, at(24, 13), job=None),
        e(ev.STAGE_FINISHED, at(24, 14), stage="polishing"),
    ])
    assert clock.runs[0].seconds == 2 * 3600
    # someone else's logout pauses nothing
    other = WorkClock(CAL)
    other.feed([e(ev.STAGE_STARTED, at(24, 10), stage="polishing"), e(ev.PERSON_LOGGED_OUT, at(24, 11), person="eva", job=None),
                e(ev.STAGE_FINISHED, at(24, 14), stage="polishing")])
    assert other.runs[0].seconds == 4 * 3600


def test_time_so_far_and_paused_state_of_a_run_under_way():
    clock = WorkClock(CAL)
    clock.feed([e(ev.STAGE_STARTED, at(24, 9), stage="casting"), e(WORK_PAUSED, at(24, 10), stage="casting")])
    assert clock.is_paused("J000001", "casting")
    assert clock.so_far("J000001", "casting", datetime.fromisoformat(at(24, 15))) == 3600
    assert clock.so_far("J000001", "other", datetime.fromisoformat(at(24, 15))) is None


def test_the_working_axis_maps_moments_and_back():
    axis = Axis(CAL, datetime.fromisoformat(at(25, 16)))  # Wednesday 16:00, Thursday a holiday
    assert axis.at(datetime.fromisoformat(at(25, 17))) == 60
    assert axis.at(datetime.fromisoformat(at(27, 10))) == 120  # Friday 10:00
    assert axis.moment(120) == datetime.fromisoformat(at(27, 10))
    assert axis.moment(60) == datetime.fromisoformat(at(25, 17))  # the close of Wednesday, not Friday's opening
    assert axis.close_of(date(2026, 11, 26)) == 60  # a holiday's close is the working day's before it
    assert axis.at(datetime.fromisoformat(at(25, 15))) == -60


def test_standard_times_are_the_median_by_design_then_route_then_stage_then_the_default():
    def run(job: str, hours: float, i: int) -> Run:
        return Run(job, "stone-setting", "ben", at(2, 9), (datetime(2026, 11, 2, tzinfo=timezone.utc)
                                                           + timedelta(hours=i)).isoformat(), hours * 3600)
    runs = [run("J1", 2, 1), run("J2", 3, 2), run("J3", 4, 3), run("J4", 9, 4), run("J5", 1, 5)]
    info = {"J1": ("fabrication", "Halo"), "J2": ("fabrication", "Halo"), "J3": ("fabrication", "Halo"),
            "J4": ("fabrication", "Band"), "J5": ("custom-ring", "Band")}
    std = Standards(runs, info, {"stone-setting": 2.5, "polishing": 1.5}, 1.0, keep=20)
    halo = std.of("stone-setting", "fabrication", "Halo")
    assert (halo.hours, halo.runs, halo.basis, halo.low, halo.high) == (3, 3, "design", 2.5, 3.5)
    assert std.of("stone-setting", "fabrication", "Band").basis == "route"  # two Band runs: too few
    assert std.of("stone-setting", "fabrication", "Band").hours == 3.5  # median of 2, 3, 4, 9
    assert std.of("stone-setting", "casting-line", "Other").basis == "stage"
    assert std.of("polishing").said() == "1.5 h (default)"
    assert std.of("engraving").hours == 1.0  # no history, no default: the site's default_hours
    # the most recent `keep` runs only
    assert Standards(runs, info, {}, 1.0, keep=3).of("stone-setting").hours == 4  # 4, 9, 1
