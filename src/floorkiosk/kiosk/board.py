"""The supervisor's board: a lane per stage with its counts, oldest pieces and late ones; refreshes as events arrive.

Self-contained: it reads through ``floorkiosk.workshop.kpi.board`` only, and polls the journal's position (one
cheap query a second), so events recorded at any bench, in this process or another, show within a
second. Escape or CANCEL closes it; a scanned job bag opens its card as anywhere else.
"""

from __future__ import annotations


from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal
from textual.widgets import Select, Static

from floorkiosk.workshop.shop import Shop
from floorkiosk.kiosk.base import SupervisorScreen
from floorkiosk.workshop import kpi, spc
from floorkiosk.errors import FloorkioskError


def _age(hours: float) -> str:
    return f"{hours:.0f} h" if hours < 48 else f"{hours / 24:.1f} d"


def lane_text(lane: kpi.Lane, drift: list[str] | None = None) -> Text:
    """One lane's contents, as the board shows them (also used by tests to read a lane).

    `drift`: the characteristics of this stage with open alerts (process control), by name.
    """
    t = Text()
    t.append(f"{lane.name}\n", "bold")
    t.append(f"{lane.count}", "bold")
    t.append(" pieces\n" if lane.count != 1 else " piece\n")
    parts = []
    if lane.waiting:
        parts.append(f"{lane.waiting} waiting")
    if lane.in_progress:
        parts.append(f"{lane.in_progress} working")
    if lane.to_verify:
        parts.append(f"{lane.to_verify} to verify")
    t.append((" · ".join(parts) or "empty") + "\n", "dim" if not parts else "")
    if lane.late or lane.on_hold:
        if lane.late:
            t.append(f" {lane.late} LATE ", "bold white on red")
            t.append(" ")
        if lane.on_hold:
            t.append(f" {lane.on_hold} on hold ", "bold black on yellow")
        t.append("\n")
    for name in drift or ():
        t.append(" DRIFT ", "bold black on yellow")
        t.append(f" {name}\n", "yellow")
    if lane.oldest:
        t.append("oldest\n", "underline")
        for p in lane.oldest:
            style = "red" if p.late else ""
            flag = "!" if p.priority == "rush" else " "
            t.append(f"{flag}{p.job} {_age(p.age_h):>6} ", style)
            t.append(f"{p.design[:14]}\n", "dim")
            if p.reopened:
                t.append(f"  ↺ reopened: {p.reopened}\n", "yellow")
    late_only = [p for p in lane.late_pieces if p not in lane.oldest]
    if late_only:
        t.append("late\n", "underline red")
        for p in late_only:
            t.append(f" {p.job} due {p.due[5:10]} ({-(p.days_left or 0)} d)\n", "red")
    return t


class BoardScreen(SupervisorScreen):
    """Every piece by stage, with age and lateness; filters by bench, person, alloy and route."""

    MESSAGE_ID = "board-message"
    DEFAULT_CSS = """
    BoardScreen { layout: vertical; }
    BoardScreen #board-title { height: 1; padding: 0 1; background: $primary; color: $text; text-style: bold; }
    BoardScreen #board-filters { height: 3; }
    BoardScreen #board-filters Select { width: 1fr; }
    BoardScreen #lanes { layout: grid; grid-size: 5; grid-gutter: 0 1; overflow-y: auto; height: 1fr; padding: 0 1; }
    BoardScreen .lane { height: auto; min-height: 5; border: round $primary-darken-2; padding: 0 1; }
    BoardScreen .lane.-busy { border: round $accent; }
    BoardScreen .lane.-late { border: round $error; }
    BoardScreen .lane.-hidden { display: none; }
    BoardScreen #board-message { height: 1; padding: 0 1; }
    BoardScreen #board-keys { height: 1; padding: 0 1; background: $boost; }
    """
    BINDINGS = [
        Binding("escape", "close", "back"),
        Binding("r", "reload", "refresh"),
        Binding("e", "toggle_empty", "empty lanes"),
    ]

    def __init__(self, shop: Shop, *, poll_seconds: float = 1.0, per_lane: int = 4) -> None:
        super().__init__()
        self.shop = shop
        self.poll_seconds = poll_seconds
        self.per_lane = per_lane
        self.filters: dict[str, str] = {"bench": "", "person": "", "alloy": "", "route": ""}
        self.show_empty = False
        self.seen = -1
        self.board: kpi.Board | None = None
        self.order = kpi.stage_order(shop.site)

    def compose(self) -> ComposeResult:
        site = self.shop.site
        yield Static(id="board-title")
        with Horizontal(id="board-filters"):
            yield Select([("all benches", "")] + [(b.name, b.id) for b in site.benches.values()], value="",
                         allow_blank=False, id="f-bench")
            yield Select([("all people", "")] + [(p.name, p.id) for p in site.people.values()], value="",
                         allow_blank=False, id="f-person")
            yield Select([("all alloys", "")] + [(a.name, a.code) for a in site.alloys.values()], value="",
                         allow_blank=False, id="f-alloy")
            yield Select([("all routes", "")] + [(r.name, r.id) for r in site.routes.values()], value="",
                         allow_blank=False, id="f-route")
        with Container(id="lanes"):
            for sid in self.order:
                yield Static(id=f"lane-{sid}", classes="lane")
        yield Static(id="board-message")
        yield Static(Text.assemble(("Esc", "bold"), " back   ", ("R", "bold"), " refresh   ", ("E", "bold"),
                                   " show or hide empty lanes   filters above: Tab and Enter"), id="board-keys")

    def on_mount(self) -> None:
        self.load()
        self.set_interval(self.poll_seconds, self.poll)

    def on_resize(self) -> None:
        # as many lanes side by side as fit at about 34 columns each: a lane's lines should not wrap
        self.query_one("#lanes").styles.grid_size_columns = max(1, (self.size.width - 2) // 34)

    # -- data --
    def poll(self) -> None:
        """Reload when the journal has moved on (an event at any bench)."""
        try:
            if kpi.journal_position(self.shop) != self.seen:
                self.load()
        except Exception as exc:  # a locked or closed store must not take the screen down
            self.say(f"board not refreshed: {exc}", "warn")

    def load(self) -> None:
        try:
            b = kpi.board(self.shop, per_lane=self.per_lane, **{k: v or None for k, v in self.filters.items()})
        except FloorkioskError as exc:
            self.say(str(exc), "error")
            return
        self.board = b
        self.seen = b.seq
        drift: dict[str, list[str]] = {}
        for a in spc.open_alerts(self.shop.journal.conn):
            names = drift.setdefault(a.stage, [])
            if a.name not in names:
                names.append(a.name)
        shown = {ln.stage for ln in b.lanes}
        for sid in self.order:
            w = self.query_one(f"#lane-{sid}", Static)
            lane = next((ln for ln in b.lanes if ln.stage == sid), None)
            hidden = lane is None or (lane.count == 0 and not self.show_empty)
            w.set_class(hidden, "-hidden")
            if lane is None or sid not in shown:
                continue
            w.set_class(lane.count > 0, "-busy")
            w.set_class(lane.late > 0, "-late")
            w.update(lane_text(lane, drift.get(sid)))
        parts = [f"Board — {b.total} job{'s' if b.total != 1 else ''} on the floor"]
        if b.late:
            parts.append(f"{b.late} late")
        if b.on_hold:
            parts.append(f"{b.on_hold} on hold")
        if drift:
            n = sum(len(v) for v in drift.values())
            parts.append(f"{n} drifting (spc)")
        if b.filters:
            parts.append("filtered: " + ", ".join(f"{k} {v}" for k, v in b.filters.items()))
        title = Text(" · ".join(parts), "bold")
        self.query_one("#board-title", Static).update(title)

    # -- events --
    def on_select_changed(self, event: Select.Changed) -> None:
        key = (event.select.id or "").removeprefix("f-")
        if key in self.filters:
            self.filters[key] = event.value if isinstance(event.value, str) else ""
            self.load()

    def action_reload(self) -> None:
        self.load()

    def action_toggle_empty(self) -> None:
        self.show_empty = not self.show_empty
        self.load()
