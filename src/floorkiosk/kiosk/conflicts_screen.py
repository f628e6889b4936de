"""The supervisor's conflicts screen: events from other benches that the guardrails refuse in the hub's order.

Each line is an event held back when the benches' events were put in one order (two starts of one
stage, a hold on a job already on hold, …), with every reason. The supervisor logged in at this
kiosk accepts it (it is applied where the decision stands) or dismisses it (it stays in the journal,
out of the job's state); the decision is itself an event and reaches every bench. Self-contained:
it reads and decides through ``floorkiosk.workshop.sync`` only, and refreshes as the journal moves on.
"""

from __future__ import annotations


from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from floorkiosk.kiosk.base import SupervisorScreen
from floorkiosk.domain import payloads
from floorkiosk.domain.config import Person
from floorkiosk.errors import FloorkioskError
from floorkiosk.kiosk.dialogs import PinDialog
from floorkiosk.workshop import sync
from floorkiosk.workshop.shop import Shop

_WHAT = {"stage.started": "start", "stage.finished": "finish", "weight.recorded": "weighing",
         "photo.attached": "photo", "stage.verified": "verification", "stage.rejected": "rejection",
         "job.held": "hold", "job.released": "release", "job.created": "new job bag"}


class ConflictsScreen(SupervisorScreen):
    """Open conflicts (or all, with V); A accepts and D dismisses the highlighted one; Esc goes back."""

    MESSAGE_ID = "cf-message"
    DEFAULT_CSS = """
    ConflictsScreen { layout: vertical; }
    ConflictsScreen #cf-title { height: 1; padding: 0 1; background: $primary; color: $text; text-style: bold; }
    ConflictsScreen #cf-table { height: 1fr; }
    ConflictsScreen #cf-detail { height: auto; min-height: 4; max-height: 12; border: round $warning; padding: 0 1; }
    ConflictsScreen #cf-message { height: 1; padding: 0 1; }
    ConflictsScreen #cf-keys { height: 1; padding: 0 1; background: $boost; }
    """
    BINDINGS = [
        Binding("escape", "close", "back"),
        Binding("a", "decide('accept')", "accept"),
        Binding("d", "decide('dismiss')", "dismiss"),
        Binding("v", "toggle_all", "all or open"),
        Binding("r", "reload", "refresh"),
    ]

    def __init__(self, shop: Shop, *, person: Person | None = None, bench: str | None = None,
                 poll_seconds: float = 1.0) -> None:
        """person: who decides here (a supervisor, or the screen says who may); bench: where it is decided."""
        super().__init__()
        self.shop = shop
        self.person = person
        self.bench = bench
        self.poll_seconds = poll_seconds
        self.show_all = False
        self.rows: list[sync.Conflict] = []
        self.seen = -1

    def compose(self) -> ComposeResult:
        yield Static(id="cf-title")
        yield DataTable(id="cf-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="cf-detail")
        yield Static(id="cf-message")
        yield Static(Text.assemble(("A", "bold"), " accept   ", ("D", "bold"), " dismiss   ", ("V", "bold"),
                                   " open or all   ", ("R", "bold"), " refresh   ", ("Esc", "bold"), " back"),
                     id="cf-keys")

    def on_mount(self) -> None:
        t = self.query_one("#cf-table", DataTable)
        t.add_columns("When", "Job", "What", "Who", "Bench", "Status")
        self.load()
        t.focus()
        self.set_interval(self.poll_seconds, self.poll)

    # -- data --
    def _position(self) -> int:
        return self.shop.journal.position()

    def poll(self) -> None:
        try:
            if self._position() != self.seen:
                self.load()
        except Exception as exc:  # a busy or closed store must not take the screen down
            self.say(f"not refreshed: {exc}", "warn")

    def load(self) -> None:
        self.seen = self._position()
        self.rows = sync.conflicts(self.shop, status=None if self.show_all else "open")
        t = self.query_one("#cf-table", DataTable)
        keep = t.cursor_row
        t.clear()
        site = self.shop.site
        for c in self.rows:
            stage = site.stages.get(c.stage or "")
            what = _WHAT.get(c.type, c.type) + (f" {stage.name}" if stage else "")
            bench = site.benches.get(c.bench or "")
            status = Text(c.status, {"open": "bold yellow", "accepted": "green", "dismissed": "dim"}.get(c.status, ""))
            t.add_row(c.ts[:19].replace("T", " "), c.job, what, self.shop.name(c.person) or "-",
                      bench.name if bench else (c.bench or "-"), status, key=c.event_id)
        if self.rows:
            t.move_cursor(row=min(keep, len(self.rows) - 1))
        n_open = sum(1 for c in self.rows if c.status == "open")
        title = f"Conflicts — {n_open} open" + (f" of {len(self.rows)}" if self.show_all else "")
        self.query_one("#cf-title", Static).update(Text(title, "bold"))
        self._detail()

    def selected(self) -> sync.Conflict | None:
        t = self.query_one("#cf-table", DataTable)
        if not self.rows or t.cursor_row is None or not (0 <= t.cursor_row < len(self.rows)):
            return None
        return self.rows[t.cursor_row]

    def _detail(self) -> None:
        c = self.selected()
        w = self.query_one("#cf-detail", Static)
        if c is None:
            w.update(Text("No conflicts: every bench's events fit the guardrails in the hub's order.", "green"))
            return
        t = Text()
        t.append(f"{c.job}: {_WHAT.get(c.type, c.type)} by {self.shop.name(c.person) or '-'} "
                 f"(kiosk {c.origin}, {c.ts[:19].replace('T', ' ')})\n", "bold")
        t.append("refused in the hub's order because:\n")
        for r in c.reasons:
            t.append(f"  - {r}\n", "yellow")
        if c.status != "open":
            t.append(f"{c.status} by {self.shop.name(c.resolved_by)} at {(c.resolved_at or '')[:19]}"
                     + (f": {c.note}" if c.note else ""), "dim")
        w.update(t)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._detail()

    # -- deciding --
    def action_decide(self, decision: str) -> None:
        c = self.selected()
        if c is None or c.status != "open":
            self.say("highlight an open conflict first", "warn")
            return
        person = self.person
        if person is None or not person.is_supervisor:
            self.say("a supervisor decides conflicts: log in with a supervisor's badge", "warn")
            return
        if self.shop.site.settings.supervisor_pin and person.pin:
            self.app.push_screen(PinDialog(self.shop, person, bench=self.bench),
                                 lambda pin: pin is not None and self._decide(c, decision, person, pin))
        else:
            self._decide(c, decision, person, None)

    def _decide(self, c: sync.Conflict, decision: str, person: Person, pin: str | None) -> None:
        try:
            sync.resolve_conflict(self.shop, c.event_id, decision, person.id, self.bench, pin=pin)
        except FloorkioskError as exc:
            self.say(str(exc), "error")
            return
        self.say(f"{decision}ed the {_WHAT.get(c.type, c.type)} on {c.job}; the other benches get it at their next sync",
                 "ok")
        self.load()

    # -- what the kiosk calls --
    def other_scan(self, p: payloads.Payload, text: str) -> bool:
        if p.kind is payloads.Kind.COMMAND and p.value == "ACCEPT":
            self.action_decide("accept")
            return True
        return False

    def action_toggle_all(self) -> None:
        self.show_all = not self.show_all
        self.load()

    def action_reload(self) -> None:
        self.load()
