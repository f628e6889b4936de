"""A drift alert opened from the supervisor's worklist: the characteristic's chart, its limits and the rules
broken, and the supervisor's acknowledgement (A or ACCEPT, then a note), recorded as `floorkiosk spc ack`.

The chart is a textual-plotext line of the points with the centre line and the control limits, the
points that broke a rule marked; read with `workshop.spc.one` (a characteristic's points in full).
"""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static
from textual_plotext import PlotextPlot

from floorkiosk.domain import payloads
from floorkiosk.errors import FloorkioskError
from floorkiosk.kiosk.base import SupervisorScreen
from floorkiosk.kiosk.dialogs import NoteDialog
from floorkiosk.kiosk.messages import Say
from floorkiosk.kiosk.station import Station
from floorkiosk.workshop import spc
from floorkiosk.workshop.spc import Chart

K = payloads.Kind
SHOWN_POINTS = 60  # the chart shows the latest points (the alerts are among them)


def _num(x: float | None, digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


class SpcAlertScreen(SupervisorScreen):
    """One characteristic's chart and open alerts; A (or ACCEPT) acknowledges them with a note."""

    MESSAGE_ID = "spc-message"
    DEFAULT_CSS = """
    SpcAlertScreen { layout: vertical; }
    SpcAlertScreen #spc-title { height: 1; padding: 0 1; background: #ffd700; color: black; text-style: bold; }
    SpcAlertScreen #spc-body { height: 1fr; }
    SpcAlertScreen #spc-chart { height: 14; min-height: 10; }
    SpcAlertScreen #spc-facts, SpcAlertScreen #spc-alerts { height: auto; padding: 0 1; }
    SpcAlertScreen #spc-message { height: 1; padding: 0 1; }
    SpcAlertScreen #spc-keys { height: 1; padding: 0 1; background: #303030; }
    """
    BINDINGS = [Binding("escape", "close", "back"), Binding("a", "acknowledge", "acknowledge")]

    def __init__(self, station: Station, name: str) -> None:
        super().__init__()
        self.station = station
        self.name_ = name
        self.chart: Chart | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="spc-title")
        with VerticalScroll(id="spc-body"):
            yield PlotextPlot(id="spc-chart")
            yield Static(id="spc-facts")
            yield Static(id="spc-alerts")
        yield Static(id="spc-message")
        yield Static("A or ACCEPT: acknowledge, with what was found or done   Esc or CANCEL: back", id="spc-keys")

    def on_mount(self) -> None:
        self.load()

    def load(self) -> None:
        try:
            self.chart = c = spc.one(self.station.shop, self.name_)
        except FloorkioskError as exc:
            self.tell(str(exc), "error")
            return
        s = c.series
        n = len(c.alerts)
        self.query_one("#spc-title", Static).update(
            f"DRIFT — {s.title} ({s.name}): " + (f"{n} open alert{'s' if n != 1 else ''}" if n else "no open alert"))
        self._draw(c)
        facts = Text()
        if c.limits is not None:
            lim = c.limits
            facts.append(f"centre {_num(lim.center)}  LCL {_num(lim.lcl)}  UCL {_num(lim.ucl)} {s.unit}", "bold")
            facts.append(f"  (limits from {c.baseline})")
            if c.capability is not None:
                facts.append(f"   Cpk {_num(c.capability.cpk, 2)}")
        else:
            facts.append(f"no limits yet: {c.note}")
        facts.append(f"\n{len(s.points)} points")
        self.query_one("#spc-facts", Static).update(facts)
        t = Text()
        if not c.alerts:
            t.append("nothing waits: every alert of this characteristic has been acknowledged", "green")
        for v in c.alerts[-8:]:
            p = s.points[v.index]
            when = self.station.local(datetime.fromisoformat(p.ts.replace("Z", "+00:00"))).strftime("%b %d %H:%M")
            t.append(f"✗ point {v.index + 1}, {when}", "bold")
            t.append(f" {p.job or ''} {self.station.shop.name(p.person) if p.person else ''}: {v.text}\n")
        self.query_one("#spc-alerts", Static).update(t)

    def _draw(self, c: Chart) -> None:
        plot = self.query_one("#spc-chart", PlotextPlot)
        plt = plot.plt
        plt.clear_figure()
        values = c.series.values
        first = max(0, len(values) - SHOWN_POINTS)
        xs = list(range(first + 1, len(values) + 1))
        shown = values[first:]
        if shown:
            plt.plot(xs, shown, marker="braille")
        if c.limits is not None:
            for y in (c.limits.ucl, c.limits.center, c.limits.lcl):
                plt.hline(y)
            bad = sorted({v.index for v in c.alerts if v.index >= first})
            if bad:
                plt.scatter([i + 1 for i in bad], [values[i] for i in bad], marker="x")
        plt.title(f"{c.series.title} ({c.series.unit}), the latest {len(shown)} points")
        plot.refresh()

    def tell(self, text: str, kind: str = "info") -> None:
        """Said through the kiosk: on this screen's message line, and kept as the last message."""
        self.app.post_message(Say(text, kind))

    # -- acknowledging -------------------------------------------------------------------------------
    def action_acknowledge(self) -> None:
        c = self.chart
        person = self.station.person
        if c is None or person is None:
            return
        if not c.alerts:
            self.tell(f"{c.series.name} has no open alert", "warn")
            return

        def noted(note: str | None) -> None:
            if note is None:
                self.tell("not acknowledged; the alert stays open", "warn")
                return
            try:
                n = spc.acknowledge(self.station.shop, c.series.name, person.id, note, self.station.bench.id)
            except FloorkioskError as exc:
                self.tell(str(exc), "error")
                return
            self.load()
            self.tell(f"{n} alert{'s' if n != 1 else ''} of {c.series.name} acknowledged by {person.name}: {note}", "ok")

        self.app.push_screen(NoteDialog(f"Acknowledge the drift of {c.series.name}: what was found or done?",
                                        "The note is kept beside the alert (new tumbling media, scale recalibrated, "
                                        "nothing wrong found …)."), noted)

    def other_scan(self, p: payloads.Payload, text: str) -> bool:
        if p.kind is K.COMMAND and p.value == "ACCEPT":
            self.action_acknowledge()
            return True
        return False
