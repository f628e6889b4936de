"""The kiosk's building blocks: the top bar, the device strip, the route row, the blocked panel."""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Static

from floorkiosk.domain.guardrails import Reason
from floorkiosk.kiosk.devices import NONE, OFF, OK, WARN, Cell
from floorkiosk.workshop.cards import StageView

# Status shown with a symbol and a word, never by colour alone.
STAGE_MARK = {"done": "✓", "verified": "✓✓", "in progress": "▶", "blocked": "✗", "to do": "·", "rework": "↺"}
STAGE_STYLE = {"done": "green", "verified": "bold green", "in progress": "bold black on yellow",
               "blocked": "bold white on red", "to do": "", "rework": "bold magenta"}
CELL_MARK = {OK: "✓", WARN: "!", OFF: "✗", NONE: "–"}
CELL_STYLE = {OK: "green", WARN: "bold black on yellow", OFF: "bold white on red", NONE: "dim"}


class TopBar(Horizontal):
    """Bench, person and clock: who and where, always on top."""

    def compose(self) -> ComposeResult:
        yield Static(id="bench-title")
        yield Static(id="who")
        yield Static(id="clock")

    def show(self, bench: str, who: str, clock: str) -> None:
        self.query_one("#bench-title", Static).update(bench)
        self.query_one("#who", Static).update(who)
        self.query_one("#clock", Static).update(clock)

    def tick(self, clock: str) -> None:
        self.query_one("#clock", Static).update(clock)


def strip_text(cells: Iterable[Cell], scale_text: str = "") -> Text:
    out = Text(no_wrap=True, overflow="ellipsis")
    for i, c in enumerate(cells):
        if i:
            out.append("  ")
        label = c.text if len(c.text) <= 34 else c.text[:33] + "…"
        if c.device == "scale" and c.state == OK and scale_text:
            label = f"scale {scale_text}"
        out.append(f" {CELL_MARK[c.state]} {label} ", CELL_STYLE[c.state])
    return out


class DeviceStrip(Static):
    """Scanner, scale (with its live weight), camera, printer and hub: each with a mark and words."""

    _shown: tuple | None = None

    def show(self, cells: Iterable[Cell], scale_text: str = "") -> None:
        # The balance reports ~10 times a second, mostly the same: repaint only what changed.
        key = (tuple(cells), scale_text)
        if key != self._shown:
            self._shown = key
            self.update(strip_text(key[0], scale_text))


class MessageLine(Static):
    """The answer to the last scan or key: what happened, or what is wrong, in plain words."""

    KINDS = ("info", "ok", "warn", "error")

    def say(self, text: str, kind: str = "info") -> None:
        for k in self.KINDS:
            self.set_class(k == kind, f"-{k}")
        mark = {"ok": "✓ ", "warn": "! ", "error": "✗ ", "info": ""}[kind]
        self.update(Text(mark + text) if text else "")


class CodeEntry(Input):
    """The entry line: a code typed by hand, for a damaged label, read like a scan on Enter."""

    def __init__(self, **kw: object) -> None:
        # focused by the first key typed, already in it: selected, the next key would replace it
        super().__init__(select_on_focus=False, **kw)  # type: ignore[arg-type]


class KeysBar(Static):
    """The keys (and command cards) that work on this screen."""

    def show(self, keys: Iterable[tuple[str, str]]) -> None:
        t = Text(no_wrap=False)
        for i, (key, label) in enumerate(keys):
            if i:
                t.append("  ")
            t.append(f" {key} ", "bold reverse")
            t.append(f" {label}")
        self.update(t)


def route_text(stages: Iterable[StageView], wide: bool = False) -> Text:
    """The route as a row of stages, each with its mark; the word for the state when wide."""
    t = Text()
    for i, s in enumerate(stages):
        if i:
            t.append(" → " if wide else " ", "dim")
        mark = STAGE_MARK.get(s.status, "?")
        label = f"{mark} {s.name}" + (f" ({s.status})" if wide and s.status not in ("done", "to do") else "")
        if s.runs > 1:
            label += f" ×{s.runs}"  # started again after a rework: its run count
        if s.overridden:
            label += " ⚑"
        if s.reopened and wide:
            label += f" (reopened: {s.reopened})"
        t.append(label, STAGE_STYLE.get(s.status, ""))
    return t


class BlockedPanel(Vertical):
    """BLOCKED in large letters with every reason and what would unblock it."""

    def compose(self) -> ComposeResult:
        yield Static("✗  B L O C K E D  ✗", classes="blocked-title")
        yield Static(classes="blocked-what")
        yield Static(classes="blocked-reasons")
        yield Static(classes="blocked-override")

    def show(self, what: str, reasons: Iterable[Reason], override: str = "") -> None:
        self.query_one(".blocked-what", Static).update(what)
        t = Text()
        for i, r in enumerate(reasons):
            if i:
                t.append("\n")
            t.append("✗ ", "bold")
            t.append(r.text, "bold")
            t.append("\n   → " + r.unblock)
            if not r.overridable:
                t.append("  (no override)", "italic")
        self.query_one(".blocked-reasons", Static).update(t)
        self.query_one(".blocked-override", Static).update(override)

