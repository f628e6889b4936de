"""A job's stone lines at the design bench: the lines on its card, and a new one typed as the trade writes it.

Opened with T on a job card at the bench where the job's route begins. Each line typed is read
(domain.stones.parse_line: "3 × round diamond 0.05 ct, GIA 2141438171"), refused in words when it
cannot be, and recorded after the lines already on the card, which keep their numbers (the stones of
each line are issued to the setter by that number).
"""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.widgets import Input, Static

from floorkiosk.domain import payloads
from floorkiosk.domain.stones import STONE_EXAMPLE, line_text, parse_line
from floorkiosk.errors import FloorkioskError
from floorkiosk.kiosk.screens import BenchScreen
from floorkiosk.kiosk.station import Station
from floorkiosk.kiosk.widgets import KeysBar
from floorkiosk.workshop import verbs

K = payloads.Kind


class StonesScreen(BenchScreen):
    """The stone lines of one job's card, and the line to add."""

    AUTO_FOCUS = "#stone-line"

    def __init__(self, station: Station, job_id: str) -> None:
        super().__init__(station)
        self.job_id = job_id
        self.added = 0  # lines added on this screen

    def compose_body(self) -> ComposeResult:
        yield Static(id="st-title")
        yield Static(id="st-lines")
        yield Static(Text("a new stone line: count × shape kind carats each (or ct tw), then a comma and the "
                          "certificate", "bold"), id="st-help")
        yield Input(placeholder=STONE_EXAMPLE, id="stone-line")
        yield Static(id="st-result")

    def on_mount(self) -> None:
        super().on_mount()
        self.show_lines()

    def keys(self) -> list[tuple[str, str]]:
        return [("type", "a stone line"), ("Enter", "add it to the card"), ("Esc", "back to the card")]

    def show_lines(self) -> None:
        st = self.station
        try:
            job = st.shop.job(self.job_id)
        except FloorkioskError as exc:
            self.tell(str(exc), "error")
            return
        self.query_one("#st-title", Static).update(
            Text(f"STONES {job.id}", "bold reverse") + Text(f"  {job.design} · {job.client or 'stock'}"))
        t = Text()
        if not job.stones:
            t.append("no stone lines on the card yet\n", "dim")
        for i, s in enumerate(job.stones, 1):
            t.append(f"{i}. ", "bold")
            t.append(line_text(s) + "\n")
        self.query_one("#st-lines", Static).update(t)
        self.query_one(KeysBar).show(self.keys())

    def result(self, text: Text) -> None:
        self.query_one("#st-result", Static).update(text)

    # -- typing ---------------------------------------------------------------------------------------
    def typed(self, key: events.Key) -> events.Key | None:
        if self.focused is self.query_one("#stone-line", Input):
            return key  # the line being written takes every key, letters too
        return super().typed(key)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "stone-line":
            return  # the code entry: BenchScreen's own handler (called after this one) reads it
        event.prevent_default()  # not a code to read: BenchScreen's handler is left out
        text = event.value.strip()
        if not text:
            self.tell(f"type a stone line, e.g. {STONE_EXAMPLE}; Esc goes back to the card", "info")
            return
        st = self.station
        try:
            line = parse_line(text)
            verbs.add_stone_lines(st.shop, self.job_id, [line], person_id=st.person.id if st.person else None,
                                  bench_id=st.bench.id)
        except FloorkioskError as exc:
            self.result(Text("✗ not added: ", "bold") + Text(str(exc)))
            self.tell(str(exc).split(";")[0], "error")
            return  # the line stays in the field, to be put right
        event.input.value = ""
        self.added += 1
        n = len(st.shop.job(self.job_id).stones)
        self.result(Text(f"✓ stone line {n} added: ", "bold") + Text(line_text(line)))
        self.tell(f"{self.job_id}: stone line {n} added ({line_text(line)})", "ok")
        self.show_lines()

    def on_scan(self, p: payloads.Payload, text: str) -> bool:
        if p.kind is K.COMMAND and p.value == "CANCEL":
            self.back()
            return True
        return False  # a job bag, a badge, LOGOUT: the kiosk's

    def back(self) -> None:
        self.app.pop_screen()
