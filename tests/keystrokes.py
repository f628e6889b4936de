"""Keys as a keyboard-wedge scanner types them, for driving the kiosk in a Pilot test."""

from __future__ import annotations

import unicodedata

from textual import events
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
