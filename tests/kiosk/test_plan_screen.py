"""The supervisor's capacity screen, from the worklist (P): load against declared hours per skill per week (the
heatmap), and each person's week: declared hours, planned work, day by day."""

from __future__ import annotations

from kiosk_helpers import scan, until, worklist_loaded

from floorkiosk.kiosk.app import make_app
from floorkiosk.kiosk.plan_screen import PlanScreen, load_cell
from floorkiosk.kiosk.screens import WorklistScreen
from floorkiosk.workshop import capacity
from floorkiosk.workshop.schedule import master_schedule

SIZE = (100, 32)


def rows(screen, table: str) -> list[tuple[str, ...]]:
    t = screen.query_one(f"#{table}")
    return [tuple(str(c) for c in t.get_row_at(i)) for i in range(t.row_count)]


def test_a_heatmap_cell_says_load_declared_and_percent_and_colours_it():
    assert str(load_cell(12 * 60, 30 * 60)) == "12/30 h 40%"
    assert "green" in str(load_cell(12 * 60, 30 * 60).style)
    assert "yellow" in str(load_cell(27 * 60, 30 * 60).style)
    assert "red" in str(load_cell(33 * 60, 30 * 60).style) and str(load_cell(33 * 60, 30 * 60)) == "33/30 h 110%"
    assert str(load_cell(0, 0)) == "-" and str(load_cell(120, 0)) == "2/0 h !"


async def test_the_capacity_screen_shows_the_heatmap_and_each_persons_week(workshop, clock):
    app = make_app(workshop(), "polishing", clock=clock, devices="none")
    async with app.run_test(size=SIZE) as pilot:
        capacity.declare_capacity(app.shop, "ben", "2026-W13", {"setting": 20.0, "cleanup": 8.0}, "setting")
        await scan(pilot, "FK:P:B2001")  # Eva, a supervisor
        await worklist_loaded(pilot)
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, PlanScreen) and app.screen.master is not None, timeout=60)
        screen = app.screen
        m = master_schedule(app.shop)
        heat = {r[0]: r[1:] for r in rows(screen, "heatmap")}
        # the columns: this week and the next five
        cols = [str(c.label) for c in screen.query_one("#heatmap").ordered_columns]
        assert cols == ["skill", "2026-W12", "2026-W13", "2026-W14", "2026-W15", "2026-W16", "2026-W17"]
        # setting: Ben's 30 h and Eva's 12 h this week; next week Ben declared 20 h
        assert heat["setting"][0].endswith(f"/42 h {100 * m.load().get(('setting', '2026-W12'), 0) / (42 * 60):.0f}%")
        assert "/32 h" in heat["setting"][1]
        assert set(heat) == {k[0] for k in m.capacity_minutes} | {k[0] for k in m.load()}
        people = {r[0]: r[1:] for r in rows(screen, "people")}
        assert people["Ben Okafor"][0] == "38 h" and people["Ana Costa"][0] == "40 h (any)"
        head = str(screen.query_one("#week-head").render())
        assert head.startswith("each person's week 2026-W12 (40 working hours)")
        # each day's planned hours add up to the week's
        for name, r in people.items():
            days = [float(x) for x in r[2:] if x != "-"]
            assert abs(sum(days) - float(r[1].split()[0])) < 0.2, name
        # the next week: Ben's declared 28 h
        await pilot.press("right")
        await until(pilot, lambda: "2026-W13" in str(screen.query_one("#week-head").render()))
        assert {r[0]: r[1] for r in rows(screen, "people")}["Ben Okafor"] == "28 h"
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, WorklistScreen))


async def test_the_capacity_screen_is_a_supervisors(workshop, clock):
    app = make_app(workshop(), "setting", clock=clock, devices="none")
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "FK:P:B1002")  # Ben, an artisan
        await worklist_loaded(pilot)
        await pilot.press("p")
        await until(pilot, lambda: "for supervisors" in app.last_message[0])
        assert isinstance(app.screen, WorklistScreen)


def test_snapshot_capacity_screen(snap_compare, workshop, clock):
    async def run_before(pilot):
        app = pilot.app
        await scan(pilot, "FK:P:B2001")
        await worklist_loaded(pilot)
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, PlanScreen) and app.screen.master is not None, timeout=60)
        await pilot.pause(0.2)

    assert snap_compare(make_app(workshop(), "polishing", clock=clock, devices="none"), terminal_size=SIZE,
                        run_before=run_before)
