"""The CAPACITY card: after the badge an artisan declares this week's and next week's hours by skill (their
own skills only), recorded as `floorkiosk capacity declare` records them; more than a week's working hours
is refused in words, nothing recorded."""

from __future__ import annotations

from datetime import date

from kiosk_helpers import scan, until, worklist_loaded

from floorkiosk.domain.calendar import CAPACITY_DECLARED
from floorkiosk.kiosk.app import make_app
from floorkiosk.kiosk.capacity_screen import CapacityDialog
from floorkiosk.kiosk.screens import JobCardScreen, WorklistScreen
from floorkiosk.workshop import capacity

SIZE = (100, 32)


async def type_slowly(pilot, text: str) -> None:
    """A person typing: each key well after the scanner's gap, so none of them reads as a scan."""
    for ch in text:
        await pilot.press(ch)
        await pilot.pause(0.08)


def declarations(app) -> list[tuple[str, str, dict]]:
    return [(e.person, e.payload["week"], e.payload["hours"]) for e in app.shop.journal.events(types=[CAPACITY_DECLARED])]


def fields(app) -> dict[str, str]:
    return {f.id: f.value for f in app.screen.query("Input.cap-hours")}


async def test_capacity_card_declares_next_weeks_hours_by_the_persons_own_skills(workshop, clock):
    app = make_app(workshop(), "setting", clock=clock, devices="none")
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "FK:C:CAPACITY")
        assert app.last_message == ("CAPACITY: scan your badge first, then CAPACITY to declare your hours", "warn")
        await scan(pilot, "FK:P:B1002")  # Ben: setting and cleanup, 30 + 8 h a week in people.toml
        await worklist_loaded(pilot)
        await scan(pilot, "FK:C:CAPACITY")
        await until(pilot, lambda: isinstance(app.screen, CapacityDialog) and app.screen.focused is not None)
        # his skills only, this week (2026-W12) and the next, filled with the hours in force
        assert fields(app) == {"cap-0-setting": "30", "cap-0-cleanup": "8", "cap-1-setting": "30",
                               "cap-1-cleanup": "8"}
        weeks = [str(w.render()) for w in app.screen.query(".cap-week")]
        assert weeks == ["this week 2026-W12: 40 working hours", "next week 2026-W13: 40 working hours"]
        # Enter goes field by field; on next week's setting, typing replaces what was there
        await pilot.press("enter")
        await pilot.press("enter")
        assert app.screen.focused.id == "cap-1-setting"
        await type_slowly(pilot, "20")
        await pilot.press("enter")
        await pilot.press("enter")  # the last field: recorded
        await until(pilot, lambda: isinstance(app.screen, WorklistScreen))
        assert app.last_message == ("Ben Okafor declared 2026-W13: setting 20 h, cleanup 8 h", "ok")
        # the event `capacity declare` records, for the week that changed only
        assert declarations(app) == [("ben", "2026-W13", {"setting": 20.0, "cleanup": 8.0})]
        assert capacity.capacity_of(app.shop, "ben", date(2026, 3, 23)) == {"setting": 20.0, "cleanup": 8.0}
        assert capacity.capacity_of(app.shop, "ben", date(2026, 3, 16)) == {"setting": 30, "cleanup": 8}
        # and the card shows it the next time
        await scan(pilot, "FK:C:CAPACITY")
        await until(pilot, lambda: isinstance(app.screen, CapacityDialog))
        assert fields(app)["cap-1-setting"] == "20"


async def test_capacity_above_the_weeks_working_hours_is_refused_and_nothing_is_recorded(workshop, clock):
    app = make_app(workshop(), "setting", clock=clock, devices="none")
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "FK:P:B1002")
        await scan(pilot, "FK:C:CAPACITY")
        await until(pilot, lambda: isinstance(app.screen, CapacityDialog) and app.screen.focused is not None)
        assert app.screen.focused.id == "cap-0-setting"
        await type_slowly(pilot, "35")  # 35 + 8 = 43 hours in a week of 40
        await scan(pilot, "FK:C:ACCEPT")
        msg = str(app.screen.query_one("#dialog-msg").render())
        assert "declares 43 hours, more than the 40 working hours of this week 2026-W12 — nothing was recorded" in msg
        assert isinstance(app.screen, CapacityDialog) and declarations(app) == []
        # not a number
        app.screen.query_one("#cap-1-cleanup").value = "4..5"
        app.screen.query_one("#cap-0-setting").value = "32"
        await scan(pilot, "FK:C:ACCEPT")
        msg = str(app.screen.query_one("#dialog-msg").render())
        assert "cleanup in 2026-W13: '4..5' is not a number of hours" in msg and declarations(app) == []
        # within the week: recorded
        app.screen.query_one("#cap-1-cleanup").value = "4.5"
        await scan(pilot, "FK:C:ACCEPT")
        await until(pilot, lambda: not isinstance(app.screen, CapacityDialog))
        assert declarations(app) == [("ben", "2026-W12", {"setting": 32.0, "cleanup": 8.0}),
                                     ("ben", "2026-W13", {"setting": 30.0, "cleanup": 4.5})]


async def test_capacity_cancelled_changes_nothing_and_works_from_the_job_card(workshop, jobs, clock):
    app = make_app(workshop(), "setting", clock=clock, devices="none")
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "FK:P:B1003")  # Chloé: polishing and plating, nothing in people.toml
        await scan(pilot, f"FK:J:{jobs.set}")
        assert isinstance(app.screen, JobCardScreen)
        await scan(pilot, "FK:C:CAPACITY")
        await until(pilot, lambda: isinstance(app.screen, CapacityDialog))
        assert fields(app) == {"cap-0-polishing": "", "cap-0-plating": "", "cap-1-polishing": "", "cap-1-plating": ""}
        await scan(pilot, "FK:C:ACCEPT")  # nothing typed: nothing to record
        assert "nothing to record" in str(app.screen.query_one("#dialog-msg").render())
        await scan(pilot, "FK:C:CANCEL")
        await until(pilot, lambda: isinstance(app.screen, JobCardScreen))
        assert app.last_message == ("capacity not changed; nothing was recorded", "warn")
        assert declarations(app) == []


def test_snapshot_capacity_card(snap_compare, workshop, clock):
    async def run_before(pilot):
        await scan(pilot, "FK:P:B2001")  # Eva: four skills
        await worklist_loaded(pilot)
        await scan(pilot, "FK:C:CAPACITY")
        await until(pilot, lambda: isinstance(pilot.app.screen, CapacityDialog) and pilot.app.screen.focused is not None)

    assert snap_compare(make_app(workshop(), "qc", clock=clock, devices="none"), terminal_size=(100, 32),
                        run_before=run_before)
