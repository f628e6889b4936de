"""The supervisor's KPI screen: YVR, FTRR, CDPA, WIP, throughput, bottleneck and jobs at risk, with terminal charts.

The figures come from ``floorkiosk.workshop.kpi.report``, computed in a worker thread so the screen stays
responsive on a large journal; the charts are textual-plotext bar and line plots.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, VerticalScroll
from textual.widget import Widget
from textual.widgets import Static
from textual_plotext import PlotextPlot

from floorkiosk.workshop.shop import Shop
from floorkiosk.kiosk.base import SupervisorScreen
from floorkiosk.workshop import kpi

PERIODS = {"1": 7, "3": 30, "9": 90}


def _f(v: Any) -> float:
    return float(v) if v is not None else 0.0


def risk_text(r: kpi.KpiReport, shown: int = 8) -> Text:
    """The late and at-risk jobs, each with its promise and days late or left (domain.kpi.lateness); where the
    master schedule says it, its planned end and the stage holding it back, else the days its remaining
    stages need at their mean lead time."""
    risk = Text("Late and at risk\n", "bold")
    for a in r.at_risk[:shown]:
        style = "bold red" if a.late else "yellow"
        words = f"{-a.days_left} d late" if a.late else f"{a.days_left} d left"
        if a.basis != "schedule":
            words += "" if a.late else f", needs {a.remaining_h / 24:.1f} d"
        elif a.planned_end is not None:
            words += f", planned end {a.planned_end}"
        risk.append(f"{a.job} ", style)
        risk.append(f"due {a.due} ({words}) {a.design[:18]}\n")
        if a.basis == "schedule" and a.why:
            risk.append(f"  held back by {a.why}\n", "dim")
    if not r.at_risk:
        risk.append("none\n", "green")
    elif len(r.at_risk) > shown:
        risk.append(f"… and {len(r.at_risk) - shown} more\n", "dim")
    return risk


class Bars(Widget):
    """Labelled horizontal bars with their values: one row per stage, so no label is ever dropped or shifted."""
    DEFAULT_CSS = """
    Bars { height: 1fr; padding: 0 1; }
    """
    _EIGHTHS = " ▏▎▍▌▋▊▉"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.title = ""
        self.items: list[tuple[str, float, str]] = []  # (label, value, shown value)
        self.top: float | None = None

    def set(self, title: str, items: list[tuple[str, float, str]], top: float | None = None) -> None:
        self.title, self.items, self.top = title, items, top
        self.refresh()

    def render(self) -> Text:
        t = Text(self.title + "\n", "bold")
        if not self.items:
            t.append("no data in this period", "dim")
            return t
        lw = max(len(label) for label, _, _ in self.items)
        vw = max(len(shown) for _, _, shown in self.items)
        room = max(4, self.size.width - lw - vw - 4)
        top = self.top or max((v for _, v, _ in self.items), default=0) or 1
        for label, v, shown in self.items:
            eighths = int(round(max(0.0, v) / top * room * 8))
            bar = "█" * (eighths // 8) + (self._EIGHTHS[eighths % 8] if eighths % 8 else "")
            t.append(f"{label:<{lw}} ")
            t.append(f"{bar:<{room}}", "magenta")
            t.append(f" {shown:>{vw}}\n")
        return t


class KpiScreen(SupervisorScreen):
    """Headline figures and four charts over a period (7, 30 or 90 days, or all history)."""

    MESSAGE_ID = "kpi-message"

    DEFAULT_CSS = """
    KpiScreen { layout: vertical; }
    KpiScreen #kpi-title { height: 1; padding: 0 1; background: $primary; color: $text; text-style: bold; }
    KpiScreen #kpi-body { height: 1fr; }
    KpiScreen #kpi-top { height: auto; }
    KpiScreen #kpi-summary { width: 1fr; height: auto; padding: 0 1; }
    KpiScreen #kpi-risk { width: 1fr; height: auto; padding: 0 1; }
    KpiScreen #kpi-charts { grid-size: 2 2; grid-gutter: 0 1; height: 34; }
    KpiScreen.-narrow #kpi-top { layout: vertical; }
    KpiScreen.-narrow #kpi-charts { grid-size: 1 4; height: 68; }
    KpiScreen #kpi-message { height: 1; padding: 0 1; }
    KpiScreen #kpi-keys { height: 1; padding: 0 1; background: $boost; }
    """
    BINDINGS = [
        Binding("escape", "close", "back"),
        Binding("1", "period('7')", "7 days"),
        Binding("3", "period('30')", "30 days"),
        Binding("9", "period('90')", "90 days"),
        Binding("a", "period('all')", "all"),
        Binding("r", "reload", "refresh"),
        Binding("down", "scroll_body(3)", "down", show=False),
        Binding("up", "scroll_body(-3)", "up", show=False),
        Binding("pagedown", "scroll_body(20)", "page down", show=False),
        Binding("pageup", "scroll_body(-20)", "page up", show=False),
    ]

    def __init__(self, shop: Shop, *, days: int | None = 30) -> None:
        super().__init__()
        self.shop = shop
        self.days = days
        self.report: kpi.KpiReport | None = None

    def compose(self) -> ComposeResult:
        yield Static("KPIs — computing…", id="kpi-title")
        # scrolls on a small terminal rather than cutting figures off
        with VerticalScroll(id="kpi-body"):
            with Horizontal(id="kpi-top"):
                yield Static(id="kpi-summary")
                yield Static(id="kpi-risk")
            with Grid(id="kpi-charts"):
                yield Bars(id="chart-ftrr")
                yield PlotextPlot(id="chart-yvr")
                yield Bars(id="chart-wip")
                yield PlotextPlot(id="chart-throughput")
        yield Static(id="kpi-message")
        yield Static(Text.assemble(("Esc", "bold"), " back   ", ("1", "bold"), "/", ("3", "bold"), "/", ("9", "bold"),
                                   " 7, 30 or 90 days   ", ("A", "bold"), " all history   ", ("R", "bold"), " refresh   ",
                                   ("↑↓", "bold"), " scroll"),
                     id="kpi-keys")

    def on_mount(self) -> None:
        self.load()

    def on_resize(self) -> None:
        # one column of charts, figures above the risk list, below 110 columns (the kiosk's narrow layout)
        self.set_class(self.size.width < 110, "-narrow")

    def period(self) -> tuple[Any, Any]:
        today = kpi.today_of(self.shop)
        if self.days is None:
            return kpi.history_range(self.shop)
        return today - timedelta(days=self.days - 1), today

    @work(thread=True, exclusive=True, group="kpi", exit_on_error=False)
    def load(self) -> None:
        start, end = self.period()
        try:
            r = kpi.report(self.shop, start, end, with_metal=False)
        except Exception as exc:  # the screen says what went wrong instead of closing the kiosk
            self.app.call_from_thread(self.say, f"KPIs not computed: {exc}", "error")
            return
        self.app.call_from_thread(self.show, r)

    def show(self, r: kpi.KpiReport) -> None:
        if not self.is_mounted:
            return
        self.report = r
        site = self.shop.site
        self.query_one("#kpi-title", Static).update(Text(f"KPIs — {r.start} to {r.end}", "bold"))
        summary = Text()
        for label, value in kpi.summary_lines(self.shop, r):
            summary.append(f"{label:<18}", "bold")
            summary.append(f"{value}\n")
        self.query_one("#kpi-summary", Static).update(summary)
        self.query_one("#kpi-risk", Static).update(risk_text(r))

        names = {s.id: s.name for s in site.stages.values()}
        self.query_one("#chart-ftrr", Bars).set(
            "FTRR by stage (%, pieces first time right / completed)",
            [(names.get(x.key, x.key), _f(x.pct), f"{x.pct}% of {x.total}") for x in r.ftrr_stage], top=100)
        labels = [f"{x.key}" for x in r.yvr_alloy] + [f"{x.key[:6]}" for x in r.yvr_method]
        values = [_f(x.yvr) for x in r.yvr_alloy] + [_f(x.yvr) for x in r.yvr_method]
        self._bars("#chart-yvr", "YVR by alloy and casting method (%)", labels, values,
                   ylim=(min([90.0, *values]), 100) if values else None)
        wip = [w for w in r.wip if w.total]
        self.query_one("#chart-wip", Bars).set(
            "Work in progress by stage (pieces, mean age)",
            [(names.get(w.stage, w.stage), w.total, f"{w.total} · {w.mean_age_h / 24:.1f} d") for w in wip])
        plot = self.query_one("#chart-throughput", PlotextPlot)
        plt = plot.plt
        plt.clear_figure()
        days = r.throughput.days
        if days:
            counts = [n for _, n in days]
            plt.bar([d[5:] for d, _ in days], counts)
            top = max(counts, default=0)
            if top <= 10:
                plt.yticks(list(range(top + 1)))  # whole jobs, not fractions of one
        plt.title(f"Jobs delivered per day ({r.throughput.per_day}/day)")
        plot.refresh()

    def _bars(self, sel: str, title: str, labels: list[str], values: list[float], ylim: tuple | None = None) -> None:
        plot = self.query_one(sel, PlotextPlot)
        plt = plot.plt
        plt.clear_figure()
        if labels:
            plt.bar(labels, values, width=0.5)
            if ylim:
                plt.ylim(*ylim)
        plt.title(title if labels else f"{title}: no data in this period")
        plot.refresh()

    def action_period(self, days: str) -> None:
        self.days = None if days == "all" else int(days)
        self.query_one("#kpi-title", Static).update("KPIs — computing…")
        self.load()

    def action_reload(self) -> None:
        self.load()

    def action_scroll_body(self, lines: int) -> None:
        body = self.query_one("#kpi-body", VerticalScroll)
        body.scroll_relative(y=lines, animate=False)
