"""Working time at the bench: PAUSE and RESUME on the card, logging out pauses the work under way, and the
card shows each stage's standard time beside the time spent so far."""

from __future__ import annotations

from kiosk_helpers import scan, until

from floorkiosk.domain.calendar import WORK_PAUSED, WORK_RESUMED
from floorkiosk.kiosk.app import make_app
from floorkiosk.kiosk.screens import IdleScreen, JobCardScreen
from floorkiosk.workshop import capacity, verbs

SIZE = (100, 32)


def status(app) -> str:
    return str(app.card_screen.query_one("#status").render())


def work_events(app, job: str) -> list[tuple[str, str, str]]:
    return [(e.type, e.person, e.payload["stage"]) for e in app.shop.journal.events(job=job, types=[WORK_PAUSED, WORK_RESUMED])]


async def test_pause_and_resume_cards_stop_and_start_the_clock_of_ones_own_stage(workshop, jobs, clock):
    app = make_app(workshop(), "setting", clock=clock, devices="none")
    async with app.run_test(size=SIZE) as pilot:
        verbs.start(app.shop, jobs.set, "ben", "setting", "stone-setting")
        clock.advance(minutes=25)
        await scan(pilot, "FK:P:B1002")
        await scan(pilot, f"FK:J:{jobs.set}")
        assert isinstance(app.screen, JobCardScreen)
        assert "time so far 25 min · standard 3.0 h (default)" in status(app)
        assert "PAUSED" not in status(app)

        await scan(pilot, "FK:C:PAUSE")
        await until(pilot, lambda: "PAUSED" in status(app))
        assert app.last_message == (f"paused Stone setting on {jobs.set}: its clock has stopped; RESUME goes on "
                                    "with it", "warn")
        assert work_events(app, jobs.set) == [(WORK_PAUSED, "ben", "stone-setting")]
        clock.advance(hours=1)  # paused: the hour is not work time
        await scan(pilot, "FK:C:PAUSE")  # blocked: once paused is enough
        assert app.last_message == (f"Stone setting on {jobs.set} is paused already: RESUME goes on with it", "error")
        assert len(work_events(app, jobs.set)) == 1

        await scan(pilot, "FK:C:RESUME")
        await until(pilot, lambda: "PAUSED" not in status(app))
        assert app.last_message == (f"resumed Stone setting on {jobs.set}: its clock runs again", "ok")
        assert "time so far 25 min" in status(app)
        await scan(pilot, "FK:C:RESUME")  # blocked: it runs already
        assert app.last_message == (f"Stone setting on {jobs.set} is not paused: PAUSE stops its clock", "error")
        assert work_events(app, jobs.set) == [(WORK_PAUSED, "ben", "stone-setting"),
                                              (WORK_RESUMED, "ben", "stone-setting")]
        # recorded as `floorkiosk work pause|resume` records it: the workshop's own reading agrees
        times = {t.stage: t for t in capacity.stage_times(app.shop, jobs.set)}
        assert round(times["stone-setting"].spent_hours * 60) == 25 and not times["stone-setting"].paused


async def test_pause_on_a_job_with_nothing_of_ones_own_under_way_is_refused(workshop, jobs, clock):
    app = make_app(workshop(), "setting", clock=clock, devices="none")
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "FK:P:B1002")
        await scan(pilot, f"FK:J:{jobs.late}")
        await scan(pilot, "FK:C:PAUSE")
        assert app.last_message == (f"Ben Okafor has nothing under way on {jobs.late} to pause or resume", "error")
        assert work_events(app, jobs.late) == []
        # and a stage someone else started is theirs to pause
        verbs.start(app.shop, jobs.set, "eva", "setting", "stone-setting")
        await scan(pilot, f"FK:J:{jobs.set}")
        await scan(pilot, "FK:C:PAUSE")
        assert app.last_message[1] == "error" and "nothing under way" in app.last_message[0]
        assert work_events(app, jobs.set) == []


async def test_a_card_ready_to_start_shows_the_stages_standard_time(workshop, jobs, clock):
    app = make_app(workshop(), "setting", clock=clock, devices="none")
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "FK:P:B1002")
        await scan(pilot, f"FK:J:{jobs.set}")
        assert "READY" in status(app) and "standard time 3.0 h (default)" in status(app)


async def test_an_idle_logout_pauses_the_work_under_way_until_the_badge_comes_back(workshop, jobs, clock):
    app = make_app(workshop(idle_logout_seconds=1), "setting", clock=clock, devices="none")
    async with app.run_test(size=SIZE) as pilot:
        verbs.start(app.shop, jobs.set, "ben", "setting", "stone-setting")
        await scan(pilot, "FK:P:B1002")
        clock.advance(minutes=40)
        await until(pilot, lambda: app.person is None, timeout=4)
        assert isinstance(app.screen, IdleScreen)
        assert app.last_message[0] == (f"Ben Okafor was logged out after 1 second without a scan or key; paused "
                                       f"until Ben badges in again: Stone setting on {jobs.set}")
        times = {t.stage: t for t in capacity.stage_times(app.shop, jobs.set)}
        assert times["stone-setting"].paused and round(times["stone-setting"].spent_hours * 60) == 40
        clock.advance(hours=2)  # away from the bench: not work time
        await scan(pilot, "FK:P:B1002")
        await scan(pilot, f"FK:J:{jobs.set}")
        assert "time so far 40 min" in status(app) and "PAUSED" not in status(app)


async def test_the_logout_card_pauses_too_and_a_logout_with_nothing_under_way_says_only_that(workshop, jobs, clock):
    app = make_app(workshop(), "setting", clock=clock, devices="none")
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "FK:P:B1002")
        await scan(pilot, "FK:C:LOGOUT")
        assert app.last_message[0] == "Ben Okafor logged out (LOGOUT card)"
        verbs.start(app.shop, jobs.set, "ben", "setting", "stone-setting")
        await scan(pilot, "FK:P:B1002")
        await scan(pilot, "FK:C:LOGOUT")
        assert app.last_message[0] == (f"Ben Okafor logged out (LOGOUT card); paused until Ben badges in again: "
                                       f"Stone setting on {jobs.set}")
        assert capacity.stage_times(app.shop, jobs.set)[
            [t.stage for t in capacity.stage_times(app.shop, jobs.set)].index("stone-setting")].paused
