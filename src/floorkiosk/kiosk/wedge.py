"""Keyboard-wedge scans: telling a scanner's burst of keys from a person's typing, and layout mismatches.

A keyboard-wedge scanner "types" its code much faster than any person (a few ms between keys) and
ends it with Enter. The kiosk holds each key for at most `max_gap_ms`: if the next key comes within
that gap the burst goes on; a burst that ends in Enter is a scan, and its keys never reach the
screen (so the letters of ``FK:C:START`` cannot fire the screen's own key bindings). Anything else
is released to the screen as typed, in order, only a gap later.

Pure: the detector is fed timestamps and holds opaque key objects; the app does the timing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from floorkiosk.domain import payloads


@dataclass
class _Held:
    char: str
    t: float
    obj: Any


@dataclass
class EnterVerdict:
    """What an Enter means: a scan (its text), or the held keys to release before the Enter itself."""

    scan: str | None
    release: list[Any] = field(default_factory=list)


class WedgeDetector:
    """Holds keys while they arrive as a burst; a burst ending in Enter is a scan.

    max_gap_ms   keys closer than this belong to one burst (site: scan_max_key_gap_ms, per bench:
                 [benches.scanner] max_key_gap_ms)
    min_length   a burst shorter than this is typing even if it ends in Enter (a person's
                 key roll-over can put two keys a few ms apart, never four)
    prefix/suffix  text the scanner is configured to send around each code; removed
    """

    def __init__(self, max_gap_ms: int = 50, min_length: int = 3, prefix: str = "", suffix: str = "") -> None:
        self.gap = max_gap_ms / 1000.0
        self.min_length = min_length
        self.prefix = prefix
        self.suffix = suffix
        self._held: list[_Held] = []

    @property
    def holding(self) -> bool:
        return bool(self._held)

    @property
    def last_time(self) -> float | None:
        return self._held[-1].t if self._held else None

    def holds(self, char: str | None) -> bool:
        """Whether a key with this character is one a scanner could type (and so is held)."""
        if char is None or len(char) != 1:
            return False
        return char.isprintable() or char in self.prefix or char in self.suffix

    def char(self, char: str, t: float, obj: Any = None) -> list[Any]:
        """A character key at time t; returns the keys to release now (an earlier burst that ended)."""
        out: list[Any] = []
        if self._held and t - self._held[-1].t > self.gap:
            out = self.release()
        self._held.append(_Held(char, t, obj))
        return out

    def enter(self, t: float) -> EnterVerdict:
        """Enter at time t: a scan if it closes a fast burst long enough, else release what is held."""
        if self._held and t - self._held[-1].t <= self.gap and len(self._held) >= self.min_length:
            text = "".join(h.char for h in self._held)
            self._held = []
            return EnterVerdict(self.strip(text))
        return EnterVerdict(None, self.release())

    def expire(self, now: float) -> list[Any]:
        """Release the held keys if the gap has passed without another key (a person typing)."""
        if self._held and now - self._held[-1].t > self.gap:
            return self.release()
        return []

    def release(self) -> list[Any]:
        out = [h.obj for h in self._held]
        self._held = []
        return out

    def strip(self, text: str) -> str:
        from floorkiosk.devices.scanners import strip_affixes  # start-up cost: the scanners module loads pyserial

        return strip_affixes(text, self.prefix, self.suffix)


def is_scan_burst(times: list[float], max_gap_ms: int = 50, min_length: int = 3) -> bool:
    """Whether keys at these times (the last one the Enter) would be read as a scan."""
    det = WedgeDetector(max_gap_ms, min_length)
    for t in times[:-1]:
        det.char("x", t)
    return det.enter(times[-1]).scan is not None


# -- keyboard-layout mismatch ---------------------------------------------------------------------
# A scanner sends key positions for a US English keyboard; a computer set to another layout turns
# them into other characters. What each US character comes out as, for the characters our codes use.
_DE = {"y": "z", "z": "y", "Y": "Z", "Z": "Y", ":": "Ö", ";": "ö", "-": "ß", "_": "?"}
_FR = {"a": "q", "q": "a", "A": "Q", "Q": "A", "w": "z", "z": "w", "W": "Z", "Z": "W",
       "m": ",", "M": "?", ";": "m", ":": "M", ".": ":", ",": ";",
       "1": "&", "2": "é", "3": '"', "4": "'", "5": "(", "6": "-", "7": "è", "8": "_", "9": "ç", "0": "à",
       "-": ")", "_": "°"}
LAYOUTS: dict[str, dict[str, str]] = {"German (QWERTZ)": _DE, "French (AZERTY)": _FR}


@dataclass(frozen=True)
class LayoutHint:
    layout: str  # the computer's layout the scan looks typed through
    meant: str  # what the scanner read, most likely

    def message(self) -> str:
        return (f"this scan looks like {self.meant!r} typed through a {self.layout} keyboard layout: the scanner is "
                f"set for US English and this computer for {self.layout}. Set the scanner's keyboard layout "
                f"(a setup code in its manual) or the computer's to match; nothing was changed")


def _undo(text: str, mapping: dict[str, str]) -> str:
    back = {typed: us for us, typed in mapping.items()}
    return "".join(back.get(c, c) for c in text)


def layout_hint(text: str, decodes: Callable[[str], bool] | None = None) -> LayoutHint | None:
    """If `text` is not one of our codes but becomes one read back through another layout, say which."""
    ok = decodes or _decodes
    if ok(text):
        return None
    for name, mapping in LAYOUTS.items():
        meant = _undo(text, mapping)
        if meant != text and ok(meant):
            return LayoutHint(name, meant)
    return None


def _decodes(text: str) -> bool:
    try:
        p = payloads.decode(text)
    except payloads.NotOurCode:
        return False
    # a bare number decodes as a job number; a layout guess must look like a whole code of ours
    return p.kind is not payloads.Kind.JOB or text.strip().upper().startswith(payloads.PREFIX + ":")
