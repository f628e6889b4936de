"""What every screen of the kiosk answers, and what the kiosk's screens share.

The app hands each scan, balance reading, device change and clock tick to the screen in front
through `KioskScreen`, the one place that says what a screen may answer; a screen overrides what it
uses. Supervisor screens over the bench (the board, the KPIs, the hub's conflicts) share their
message line and their way out in `SupervisorScreen`.
"""

from __future__ import annotations

import gc
import importlib.util
from typing import Any

from rich.text import Text
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Static

from floorkiosk.domain import payloads
from floorkiosk.kiosk.messages import ScaleEvent


class KioskScreen:
    """What the app asks of the screen in front (a mixin for textual's Screen and ModalScreen)."""

    LOG_SCANS = True  # False where what is typed must never be kept (a PIN typed fast reads like a scan)

    def say(self, text: str, kind: str = "info") -> None:
        """Show the message on this screen's message line (info, ok, warn, error)."""

    def on_scan(self, p: payloads.Payload, text: str) -> bool:
        """A code was read while this screen is in front; True when it was handled here."""
        return False

    def on_text(self, text: str) -> bool:
        """A read that is none of the kiosk's codes (a defect code on a card); True when it was handled here."""
        return False

    def on_scale(self, event: ScaleEvent) -> None:
        """The balance's latest reading or state."""

    def refresh_strip(self) -> None:
        """A device's state changed: show the device strip anew."""

    def tick(self) -> None:
        """A second passed (the header clock)."""


class SupervisorScreen(KioskScreen, Screen[None]):
    """A supervisor's screen over the bench: one message line (#MESSAGE_ID), Esc or CANCEL to go back."""

    MESSAGE_ID = "message"
    BINDINGS = [Binding("escape", "close", "back")]
    STYLES = {"error": "bold red", "warn": "yellow", "ok": "green"}

    def say(self, text: str, kind: str = "info") -> None:
        try:
            self.query_one(f"#{self.MESSAGE_ID}", Static).update(Text(text, self.STYLES.get(kind, "")))
        except NoMatches:  # not composed yet
            pass

    def on_scan(self, p: payloads.Payload, text: str) -> bool:
        if p.kind is payloads.Kind.COMMAND and p.value == "CANCEL":
            self.action_close()
            return True
        return self.other_scan(p, text)

    def other_scan(self, p: payloads.Payload, text: str) -> bool:
        """Any other code; by default the kiosk handles it (a job bag closes this screen to show its card)."""
        return False

    def action_close(self) -> None:
        self.app.pop_screen()


def has_module(name: str) -> bool:
    """Whether a module is part of this build (the supervisor screens may be left out of one)."""
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def settle_heap(*_: Any) -> None:
    """Leave the objects of the screens built so far out of the garbage collector's full passes.

    Textual builds many long-lived objects; a full collection over them took 60-75 ms, a
    visible stall after a scan now and then. Frozen once built, the full passes stay short.
    """
    gc.collect()
    gc.freeze()
