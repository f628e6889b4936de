"""Driving the kiosk in the QC Pilot tests: scans as bursts, answers typed like a person, waiting."""

from __future__ import annotations

from collections.abc import Callable

from textual import events

from keystrokes import key_event, until  # tests/ is on the path (pytest rootdir)

from floorkiosk.kiosk.qc_screen import QcScreen
from floorkiosk.kiosk.screens import JobCardScreen


async def scan(pilot, text: str) -> None:
    """A keyboard-wedge scanner: every key at once, then Enter."""
    for ch in text:
        pilot.app.post_message(key_event(ch))
    pilot.app.post_message(events.Key("enter", "\r"))
    await pilot.pause(0.05)


async def type_answer(pilot, text: str) -> None:
    """A person typing an answer: the keys, a pause (longer than the scanner gap), then Enter."""
    for ch in text:
        pilot.app.post_message(key_event(ch))
    await pilot.pause(0.12)
    await pilot.press("enter")
    await pilot.pause()


async def inspect(pilot, badge: str, job: str) -> QcScreen:
    app = pilot.app
    person = app.shop.site.person_by_badge(badge)
    if app.person is None or person is None or app.person.id != person.id:  # one's own badge again logs out
        await scan(pilot, f"FK:P:{badge}")
    await scan(pilot, f"FK:J:{job}")
    await until(pilot, lambda: isinstance(app.screen, JobCardScreen) and app.screen.job_id == job)
    assert ("Q", "Inspect") in app.screen.keys()
    await pilot.press("q")
    await until(pilot, lambda: isinstance(app.screen, QcScreen) and app.screen.insp is not None)
    return app.screen


def asked(screen: QcScreen) -> list:
    """The checks the screen asks for, in order (those that do not apply are shown as n/a, not asked)."""
    return [s.check for s in screen.steps if s.check is not None]


def msg(screen: QcScreen) -> str:
    return str(screen.query_one("#qc-msg").render())


def prompt(screen: QcScreen) -> str:
    return str(screen.query_one("#qc-prompt").render())


