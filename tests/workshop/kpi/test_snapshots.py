"""Screenshots of the board and the KPI screen at fixed sizes, on the hand-timed week with a fixed clock.

The screens are shown in a bare host app, so these pictures change only when the screens do.
Update after an intended change with: pytest tests/workshop/kpi/test_snapshots.py --snapshot-update
"""

from __future__ import annotations

import time

from textual.app import App

from floorkiosk.kiosk.board import BoardScreen
from floorkiosk.kiosk.kpi_screen import KpiScreen

from .conftest import week_of_five

BIG = (140, 40)
SMALL = (100, 30)


class Host(App):
    def __init__(self, screen) -> None:
        super().__init__()
        self._first = screen

    def on_mount(self) -> None:
        self.push_screen(self._first)


async def _settled(pilot, cond) -> None:
    end = time.monotonic() + 8
    while not cond() and time.monotonic() < end:
        await pilot.pause(0.05)
    await pilot.pause(0.1)


def test_board(snap_compare, small):
    week_of_five(small)
    screen = BoardScreen(small, poll_seconds=3600)

    async def run_before(pilot):
        await _settled(pilot, lambda: screen.board is not None)

    assert snap_compare(Host(screen), terminal_size=BIG, run_before=run_before)


def test_board_with_empty_lanes_small(snap_compare, small):
    week_of_five(small)
    screen = BoardScreen(small, poll_seconds=3600)

    async def run_before(pilot):
        await _settled(pilot, lambda: screen.board is not None)
        await pilot.press("e")
        await pilot.pause(0.1)

    assert snap_compare(Host(screen), terminal_size=SMALL, run_before=run_before)


def test_kpi_screen(snap_compare, small):
    week_of_five(small)
    screen = KpiScreen(small, days=7)

    async def run_before(pilot):
        await _settled(pilot, lambda: screen.report is not None)

    assert snap_compare(Host(screen), terminal_size=BIG, run_before=run_before)
