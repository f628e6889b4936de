"""A new batch at the bench: job bags scanned one after another, each checked against the batching rules.

Opened with N on the worklist or the BATCH command card. Each bag scanned is checked as it comes
(same alloy, route and next stage, one open batch per job: the site's [batching] rules); a bag the
rules keep out is refused in words and stays out. ACCEPT (or A, then Enter) records the batch, which
the write judges again, and prints its batch bag on the bench's printer.
"""

from __future__ import annotations

import time

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from floorkiosk.domain import payloads
from floorkiosk.domain.batching import alloy_name, next_stage, stage_name
from floorkiosk.domain.state import JobState
from floorkiosk.errors import FloorkioskError
from floorkiosk.kiosk.screens import BenchScreen
from floorkiosk.kiosk.station import Station
from floorkiosk.kiosk.widgets import KeysBar
from floorkiosk.workshop import verbs

K = payloads.Kind
LEAVE_AGAIN_S = 5.0  # Esc or CANCEL a second time within this long drops the bags scanned


def rules_text(station: Station) -> str:
    """The site's batching rules in a line: what every bag of a batch must share."""
    r = station.site.batching
    words = [w for on, w in ((r.same_alloy, "one alloy"), (r.same_route, "one route"),
                             (r.same_next_stage, "one next stage"), (r.one_open_batch, "one open batch per job")) if on]
    return " · ".join(words) if words else "no batching rules: any job bags travel together"


class NewBatchScreen(BenchScreen):
    """A batch in the making: the bags scanned so far, the last one refused and why; ACCEPT records it."""

    CODE_START = frozenset("a")  # A records the batch, and begins ACCEPT typed by hand: it waits for Enter

    BINDINGS = [
        Binding("a", "record", "record the batch", show=False),
        Binding("d", "drop", "drop the last bag", show=False),
    ]

    def __init__(self, station: Station) -> None:
        super().__init__(station)
        self.bags: list[JobState] = []
        self.recorded: str | None = None  # the batch's number, once recorded
        self._asked_out = -LEAVE_AGAIN_S

    @property
    def jobs(self) -> list[str]:
        return [b.id for b in self.bags]

    def compose_body(self) -> ComposeResult:
        yield Static(id="nb-title")
        yield Static(id="nb-rules")
        yield DataTable(id="nb-table", cursor_type="none", zebra_stripes=True)
        yield Static(id="nb-result")

    def on_mount(self) -> None:
        self.query_one("#nb-table", DataTable).add_columns("#", "Job", "Design", "Alloy", "Next stage", "Due")
        super().on_mount()
        self.show_bags()

    def keys(self) -> list[tuple[str, str]]:
        if self.recorded is not None:
            return [("scan", f"batch bag {self.recorded} to work on it"), ("Esc", "back")]
        out = [("scan", "each job bag")]
        if self.bags:
            out += [("A", "record the batch (ACCEPT)"), ("D", "drop the last bag")]
        return out + [("Esc", "back (CANCEL)")]

    def show_bags(self) -> None:
        st = self.station
        t = self.query_one("#nb-table", DataTable)
        t.clear()
        for i, b in enumerate(self.bags, 1):
            t.add_row(str(i), b.id, b.design, alloy_name(st.site, b.alloy), stage_name(st.site, next_stage(st.site, b)),
                      b.due, key=b.id)
        n = len(self.bags)
        if self.recorded is not None:
            title = Text(f"BATCH {self.recorded}", "bold reverse") + Text(f"  recorded: {n} job bag{'s' if n != 1 else ''}")
        else:
            title = Text("NEW BATCH", "bold reverse") + Text(
                f"  {n} job bag{'s' if n != 1 else ''} scanned" if n else "  scan the first job bag")
        self.query_one("#nb-title", Static).update(title)
        self.query_one("#nb-rules", Static).update(Text("every bag: " + rules_text(st), "dim"))
        self.query_one(KeysBar).show(self.keys())

    def result(self, text: Text) -> None:
        self.query_one("#nb-result", Static).update(text)

    # -- scans and keys ------------------------------------------------------------------------------
    def on_scan(self, p: payloads.Payload, text: str) -> bool:
        if p.kind is K.JOB:
            if self.recorded is not None:
                return False  # the batch is recorded: a job bag opens its card, as anywhere
            self.add(p.value)
            return True
        if p.kind is K.BATCH and self.recorded is None:
            self.tell(f"{text}: a batch bag; this screen makes a new batch from job bags (ACCEPT records it, "
                      "CANCEL leaves)", "warn")
            return True
        if p.kind is not K.COMMAND or p.value == "LOGOUT":
            return False  # a badge, a batch bag once recorded, LOGOUT: the kiosk's, as on every screen
        if p.value == "ACCEPT":
            self.action_record()
        elif p.value == "CANCEL":
            self.back()
        elif p.value == "BATCH":
            self.tell("BATCH: this is the new batch; scan its job bags, then ACCEPT", "info")
        else:
            self.tell(f"{p.value}: record the batch first (ACCEPT), then scan its batch bag and {p.value}", "warn")
        return True

    def add(self, job: str) -> None:
        try:
            state, refusals = verbs.new_batch_refusals(self.station.shop, job, self.jobs)
        except FloorkioskError as exc:
            self.tell(str(exc), "error")
            return
        if refusals:
            t = Text(f"✗ {state.id} stays out of the batch:\n", "bold")
            for why in refusals:
                t.append(f"   {why}\n")
            t.append("   Set this bag aside; scan the next one.")
            self.result(t)
            self.tell(f"{state.id} stays out: {refusals[0]}", "error")
            return
        self.bags.append(state)
        self.result(Text(""))
        self.show_bags()
        self.tell(f"{state.id} in: {len(self.bags)} job bag{'s' if len(self.bags) != 1 else ''}; "
                  "scan the next, or ACCEPT to record the batch", "ok")

    def action_drop(self) -> None:
        if self.recorded is not None or not self.bags:
            return
        gone = self.bags.pop()
        self.show_bags()
        self.tell(f"{gone.id} dropped from the new batch (nothing was recorded)", "info")

    def action_record(self) -> None:
        st = self.station
        if self.recorded is not None:
            return
        if not self.bags or st.person is None:
            self.tell("scan the batch's job bags first; then ACCEPT records it", "warn")
            return
        designs = {b.design for b in self.bags}
        try:
            bid = verbs.create_batch(st.shop, self.jobs, designs.pop() if len(designs) == 1 else "",
                                     person_id=st.person.id, bench_id=st.bench.id)
        except FloorkioskError as exc:  # judged again in the write: a bag may have joined a batch elsewhere
            self.result(Text("✗ the batch was not recorded:\n", "bold") + Text(str(exc)))
            self.tell("the batch was not recorded: " + str(exc).splitlines()[0], "error")
            return
        self.recorded = bid
        self.show_bags()
        printing = st.devices.cells["printer"].state != "none"
        self.result(Text(f"✓ batch {bid} recorded with {len(self.bags)} job bags. ", "bold")
                    + Text("Its batch bag label is printing…" if printing else
                           f"This bench has no printer: print its batch bag at a bench that has one "
                           f"(label print --batch {bid})."))
        self.tell(f"batch {bid} recorded: {', '.join(self.jobs)}", "ok")
        if printing:
            self._print(bid)

    @work(thread=True, exclusive=True, group="printer", exit_on_error=False)
    def _print(self, bid: str) -> None:
        try:
            where = self.station.devices.print_batch_bag(bid)
        except FloorkioskError as exc:
            self.app.call_from_thread(self._printed, bid, None, str(exc))
            return
        self.app.call_from_thread(self._printed, bid, where, "")

    def _printed(self, bid: str, where: str | None, why: str) -> None:
        if where is None:
            self.result(Text(f"✓ batch {bid} recorded. ", "bold") + Text(f"✗ Its batch bag was not printed: {why}"))
            self.tell(f"batch bag {bid} not printed: {why}", "error")
        else:
            self.result(Text(f"✓ batch {bid} recorded; its batch bag label is printed ({where}). ", "bold")
                        + Text("Put the job bags in it; scan it to work on the whole batch."))
            self.tell(f"batch bag {bid} printed: {where}", "ok")

    def back(self) -> None:
        """Esc or CANCEL: leaves at once when nothing would be lost; with bags scanned, when asked twice."""
        if self.recorded is None and self.bags:
            now = time.monotonic()
            if now - self._asked_out >= LEAVE_AGAIN_S:
                self._asked_out = now
                n = len(self.bags)
                self.tell(f"Esc or CANCEL again drops the {n} bag{'s' if n != 1 else ''} scanned; nothing is "
                          "recorded (ACCEPT records the batch)", "warn")
                return
            self.tell("the new batch was dropped; nothing was recorded", "info")
        self.app.pop_screen()

