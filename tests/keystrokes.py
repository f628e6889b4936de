"""Driving the kiosk in a Pilot test: keys as a keyboard-wedge scanner types them, and waiting on the screen."""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Callable

from textual import events
from textual.css.query import NoMatches
from textual.keys import ASCII_KEY_NAMES, KEY_NAME_REPLACEMENTS


def key_name(ch: str) -> str:
    """Textual's name for the key that types `ch` ("colon" for ":"), from its public tables."""
    if ch.isalnum():
        return ch
    try:
        name = unicodedata.name(ch).lower().replace("-", "_").replace(" ", "_")
    except ValueError:
        name = ASCII_KEY_NAMES.get(ch, ch)
    return KEY_NAME_REPLACEMENTS.get(name, name)


def key_event(ch: str) -> events.Key:
    return events.Key(key_name(ch), ch)


async def until(pilot, cond: Callable[[], bool], timeout: float = 30.0, step: float = 0.05) -> None:
    """Wait (letting the app run) until cond() holds; fail with the app's last message otherwise.

    The timeout only bounds a failing test: on a busy machine a screen may take seconds to settle.
    A widget not yet composed (NoMatches) counts as the condition not holding yet.
    """
    end = time.monotonic() + timeout
    while True:
        if getattr(pilot.app, "_exception", None) is not None:
            raise AssertionError("the app failed") from pilot.app._exception
        try:
            held = cond()
        except NoMatches:
            held = False
        if held:
            return
        if time.monotonic() > end:
            raise AssertionError(f"timed out; last message: {pilot.app.last_message!r}; screen {pilot.app.screen!r}")
        await pilot.pause(step)


async def pin_if_asked(pilot, pin: str, timeout: float = 30.0) -> None:
    """Type a supervisor's PIN into the PIN dialog that a supervisor's action opens."""
    from floorkiosk.kiosk.dialogs import PinDialog

    await until(pilot, lambda: isinstance(pilot.app.screen, PinDialog), timeout)
    await pilot.press(*pin, "enter")
    await until(pilot, lambda: not isinstance(pilot.app.screen, PinDialog), timeout)
