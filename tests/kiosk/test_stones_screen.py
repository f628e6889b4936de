"""Stone lines at the design bench: typed on a job's card as the trade writes them, refused in words."""

from __future__ import annotations

from kiosk_helpers import NOW, scan, until

from floorkiosk.domain import events as ev
from floorkiosk.kiosk.app import make_app
from floorkiosk.kiosk.screens import JobCardScreen
from floorkiosk.kiosk.stones_screen import StonesScreen
from floorkiosk.workshop import qc
from floorkiosk.workshop.site import open_shop
from handclock import HandClock

SIZE = (100, 32)


def new_ring(site) -> str:
    """A custom ring just taken in at the design bench, with no stones on its card yet (J000009)."""
    from floorkiosk.workshop import verbs

    shop = open_shop(site, clock=HandClock(NOW))
    try:
        return verbs.create_job(shop, route="custom-ring", design="Trilogy ring", alloy="PT950", due="2026-04-30",
                                client="Aisha Bello", spec="three stones, low profile")
    finally:
        shop.close()


async def type_line(pilot, text: str) -> None:
    app = pilot.app
    field = app.screen.query_one("#stone-line")
    field.value = ""
    for ch in text:
        await pilot.press(ch if ch != " " else "space")
    await until(pilot, lambda: field.value == text)
    await pilot.press("enter")


def result_text(app) -> str:
    return str(app.screen.query_one("#st-result").render())


async def test_stone_lines_typed_at_the_design_bench_go_on_the_card_and_can_be_issued(workshop, jobs, clock):
    site = workshop()
    ring = new_ring(site)
    app = make_app(site, "design", clock=clock, devices="none")
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "FK:P:B1004")  # Dev, the designer
        await scan(pilot, f"FK:J:{ring}")
        await until(pilot, lambda: isinstance(app.screen, JobCardScreen) and app.screen.job_id == ring)
        assert ("T", "Stones") in app.screen.keys()
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, StonesScreen)
                    and "no stone lines on the card yet" in str(app.screen.query_one("#st-lines").render()))

        await type_line(pilot, "3 x round diamond 0.05")  # no unit: refused in words, nothing recorded
        await until(pilot, lambda: "not added" in result_text(app))
        assert "0.05 has no unit: write its carat weight with ct (0.05 ct)" in result_text(app)
        assert not list(app.shop.journal.events(types=[ev.JOB_STONES_ADDED]))

        await type_line(pilot, "3 x round diamond 0.05 ct, GIA 2141438171")
        await until(pilot, lambda: "stone line 1 added" in result_text(app))
        await type_line(pilot, "2 pear sapphire 0.40 ct tw")
        await until(pilot, lambda: "stone line 2 added" in result_text(app))
        lines = str(app.screen.query_one("#st-lines").render())
        assert "1. 3 round diamond, 0.150 ct (GIA 2141438171)" in lines and "2. 2 pear sapphire, 0.400 ct" in lines
        added = list(app.shop.journal.events(types=[ev.JOB_STONES_ADDED]))
        assert [(e.job, e.person, e.bench) for e in added] == [(ring, "dev", "design")] * 2

        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, JobCardScreen))
        await until(pilot, lambda: "0.150 ct" in str(app.screen.query_one("#alloy").render()))
        assert "added stone line: 3 round diamond, 0.150 ct (GIA 2141438171)" in str(
            app.screen.query_one("#history").render())

    shop = open_shop(site, clock=clock)  # what answered "has no stones on its job card" before
    try:
        e = qc.issue_stones(shop, ring, "farid", "ben", line=2)
        assert (e.payload["count"], e.payload["ct"], e.payload["kind"]) == (2, "0.400", "sapphire")
    finally:
        shop.close()


async def test_stones_are_added_only_where_the_route_begins_and_not_once_they_are_set(workshop, jobs, clock):
    site = workshop()
    app = make_app(site, "setting", clock=clock, devices="none")
    async with app.run_test(size=SIZE) as pilot:  # the setter's bench: not offered
        await scan(pilot, "FK:P:B1002")
        await scan(pilot, f"FK:J:{jobs.set}")
        assert ("T", "Stones") not in app.screen.keys()
        await pilot.press("t")
        await until(pilot, lambda: "design bench" in app.last_message[0])
        assert isinstance(app.screen, JobCardScreen)
    app = make_app(site, "design", clock=clock, devices="none")
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "FK:P:B1004")
        await scan(pilot, f"FK:J:{jobs.set_done}")  # its stone setting is finished
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, StonesScreen))
        await type_line(pilot, "1 round diamond 0.10 ct")
        await until(pilot, lambda: "not added" in result_text(app))
        assert f"{jobs.set_done}'s stones are set (Stone setting is finished)" in result_text(app)
        assert not list(app.shop.journal.events(types=[ev.JOB_STONES_ADDED]))


def test_snapshot_of_the_stone_lines_of_a_job(snap_compare, workshop, jobs, clock):
    site = workshop()

    async def run_before(pilot):
        await scan(pilot, "FK:P:B1004")
        await scan(pilot, f"FK:J:{jobs.late}")  # a custom ring with a solitaire on its card
        await pilot.press("t")
        await until(pilot, lambda: isinstance(pilot.app.screen, StonesScreen))
        await type_line(pilot, "18 x round diamond 0.02 ct, GIA 5182034512")
        await until(pilot, lambda: "stone line 2 added" in result_text(pilot.app))
        await type_line(pilot, "two sapphires")
        await until(pilot, lambda: "not added" in result_text(pilot.app))

    assert snap_compare(make_app(site, "design", clock=clock, devices="none"), terminal_size=SIZE,
                        run_before=run_before)
