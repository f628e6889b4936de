"""The board and the KPI screen inside the real kiosk app, driven with Pilot: a supervisor's badge, B, K, Esc."""

from __future__ import annotations

import time

from textual.widgets import Select

from floorkiosk.workshop import verbs
from floorkiosk.kiosk.app import make_app
from floorkiosk.kiosk.board import BoardScreen, lane_text
from floorkiosk.kiosk.kpi_screen import KpiScreen
from floorkiosk.kiosk.screens import JobCardScreen, WorklistScreen

from .conftest import week_of_five

SIZE = (160, 48)


async def until(pilot, cond, timeout: float = 8.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, f"timed out on {pilot.app.screen!r}; last message {pilot.app.last_message!r}"
        await pilot.pause(0.05)


def lane(app, stage: str) -> str:
    return lane_text(next(ln for ln in app.screen.board.lanes if ln.stage == stage)).plain


async def login_eva(pilot) -> None:
    pilot.app.handle_scan("FK:P:B2001")  # Eva's badge (supervisor)
    await until(pilot, lambda: isinstance(pilot.app.screen, WorklistScreen))


async def test_board_opens_for_a_supervisor_and_follows_events(small):
    five = week_of_five(small)
    small.close()
    app = make_app(small.dir, "qc", clock=small.test_clock, devices="none")
    async with app.run_test(size=SIZE) as pilot:
        await login_eva(pilot)
        await pilot.press("b")
        await until(pilot, lambda: isinstance(app.screen, BoardScreen) and app.screen.board is not None)
        text = lane(app, "setting")
        assert text.startswith("Stone setting\n2 pieces\n1 waiting · 1 working\n 1 LATE")
        assert five["J4"] in text and five["J5"] in text
        title = str(app.screen.query_one("#board-title").render())
        assert "2 jobs on the floor · 1 late" in title

        # Sofia finishes J4 at her bench: the board shows it waiting for verification within a second
        verbs.finish(app.shop, five["J4"], "sofia", "setting")
        await until(pilot, lambda: "1 to verify" in lane(app, "setting"))

        # a filter, chosen in its drop-down: only Sofia's pieces
        app.screen.query_one("#f-person", Select).value = "sofia"
        await until(pilot, lambda: app.screen.board.filters == {"person": "sofia"})
        assert [p.job for ln in app.screen.board.lanes for p in ln.oldest] == [five["J4"]]
        assert "filtered: person sofia" in str(app.screen.query_one("#board-title").render())

        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, WorklistScreen))


async def test_a_job_bag_scanned_on_the_board_opens_its_card(small):
    five = week_of_five(small)
    small.close()
    app = make_app(small.dir, "qc", clock=small.test_clock, devices="none")
    async with app.run_test(size=SIZE) as pilot:
        await login_eva(pilot)
        await pilot.press("b")
        await until(pilot, lambda: isinstance(app.screen, BoardScreen) and app.screen.board is not None)
        app.handle_scan("FK:C:CANCEL")
        await until(pilot, lambda: isinstance(app.screen, WorklistScreen))
        await pilot.pause(0.2)  # a person takes longer than this between two scans
        await pilot.press("b")
        await until(pilot, lambda: isinstance(app.screen, BoardScreen) and app.screen.board is not None)
        await pilot.pause(0.2)
        app.handle_scan(f"FK:J:{five['J5']}")
        await until(pilot, lambda: isinstance(app.screen, JobCardScreen))
        await pilot.pause(0.3)  # let the card finish mounting before the app is shut down
        assert app.screen.job_id == five["J5"]
        assert not any(isinstance(s, BoardScreen) for s in app.screen_stack)


async def test_kpi_screen_with_charts(small):
    week_of_five(small)
    small.close()
    app = make_app(small.dir, "qc", clock=small.test_clock, devices="none")
    async with app.run_test(size=SIZE) as pilot:
        await login_eva(pilot)
        await pilot.press("k")
        await until(pilot, lambda: isinstance(app.screen, KpiScreen) and app.screen.report is not None)
        screen = app.screen
        assert (screen.report.start.isoformat(), screen.report.end.isoformat()) == ("2026-10-22", "2026-11-20")
        summary = str(screen.query_one("#kpi-summary").render())
        assert "66.7% of 3 jobs completed" in summary and "33.3% of 3 promised deliveries" in summary
        ftrr = screen.query_one("#chart-ftrr").render().plain
        assert "Stone setting" in ftrr and "50.0% of 2" in ftrr
        risk = str(screen.query_one("#kpi-risk").render())
        assert "J000004" in risk and "2 d late" in risk
        # 7 days: the same week, computed again in the worker
        screen.report = None
        await pilot.press("1")
        await until(pilot, lambda: screen.report is not None)
        assert screen.report.start.isoformat() == "2026-11-14"
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, WorklistScreen))


async def test_an_artisan_does_not_get_the_board(small):
    week_of_five(small)
    small.close()
    app = make_app(small.dir, "setting", clock=small.test_clock, devices="none")
    async with app.run_test(size=SIZE) as pilot:
        app.handle_scan("FK:P:B1002")  # Ben, an artisan
        await until(pilot, lambda: isinstance(app.screen, WorklistScreen))
        await pilot.press("b")
        await pilot.pause(0.3)
        assert not isinstance(app.screen, BoardScreen)
        assert "for supervisors" in app.last_message[0]
