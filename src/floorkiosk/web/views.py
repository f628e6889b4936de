"""What each page of the web board shows, read through the workshop's own read functions: the board, a job,
the KPIs, the schedule and its load, process control, corrective actions, the metal.

Each view returns a plain dict for its template and its tables (`Table`), which the page shows and
which download as CSV, cell for cell. No view writes: the web changes nothing in the shop.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from floorkiosk.domain import metal as m
from floorkiosk.domain.stones import line_text
from floorkiosk.domain.units import fmt_many
from floorkiosk.errors import Refused
from floorkiosk.workshop import capa as capa_mod
from floorkiosk.workshop import cards, clientlinks, kpi, reports, spc
from floorkiosk.workshop import metal as metal_mod
from floorkiosk.workshop.shop import Shop

# What each role may open. Sales answer the clients' calls: where a piece is and when it is due,
# never the metal; supervisors run the floor and its process; managers see everything.
ROLES = ("manager", "supervisor", "sales")
PAGES: dict[str, frozenset[str]] = {
    "board": frozenset(ROLES),
    "job": frozenset(ROLES),
    "schedule": frozenset(ROLES),
    "kpis": frozenset({"manager", "supervisor"}),
    "spc": frozenset({"manager", "supervisor"}),
    "capa": frozenset({"manager", "supervisor"}),
    "metal": frozenset({"manager"}),
}
SEES_WEIGHTS = frozenset({"manager", "supervisor"})
NAV = (("board", "Board", "/"), ("schedule", "Schedule", "/schedule"), ("kpis", "KPIs", "/kpis"),
       ("spc", "Drift", "/spc"), ("capa", "Corrective actions", "/capa"), ("metal", "Metal", "/metal"))


@dataclass
class Table:
    name: str  # its CSV file's name, without .csv
    title: str
    header: list[str]
    rows: list[list[Any]]
    shown: int = 200  # rows the page shows; the CSV has them all

    @property
    def head(self) -> list[list[Any]]:
        return self.rows[: self.shown]


@dataclass
class Card:
    """One piece on the board, as a card: what the piece is, for whom, its metal and stones, its photo."""

    piece: kpi.BoardPiece
    client: str
    alloy: str
    stones: list[str]
    holder: str
    photo: str | None  # sha256 of its newest photo


@dataclass
class LaneView:
    lane: kpi.Lane
    cards: list[Card]
    drift: list[str] = field(default_factory=list)


def _age(hours: float) -> str:
    return f"{hours:.0f} h" if hours < 48 else f"{hours / 24:.1f} d"


def newest_photos(shop: Shop, jobs: list[str]) -> dict[str, str]:
    """Each job's newest photo (sha256), for the jobs that have one."""
    if not jobs:
        return {}
    q = ",".join("?" * len(jobs))
    out: dict[str, str] = {}
    for job, sha in shop.journal.query(f"SELECT job, sha256 FROM photos WHERE job IN ({q}) ORDER BY ts", jobs):
        out[job] = sha
    return out


def board_view(shop: Shop, *, bench: str | None = None, person: str | None = None, alloy: str | None = None,
               route: str | None = None, per_lane: int = 6) -> dict[str, Any]:
    site = shop.site
    b = kpi.board(shop, bench=bench, person=person, alloy=alloy, route=route, per_lane=per_lane)
    drift = spc.drifting(shop.journal.conn)
    pieces = {p.job for ln in b.lanes for p in (*ln.oldest, *ln.late_pieces)}
    photos = newest_photos(shop, sorted(pieces))
    fields = cards.card_fields(shop, sorted(pieces))
    names: dict[str | None, str] = {}
    alloys = {code: a.name for code, a in site.alloys.items()}
    lanes = []
    for ln in b.lanes:
        first = {p.job for p in ln.oldest}
        shown = list(ln.oldest) + [p for p in ln.late_pieces if p.job not in first]
        cs = []
        for p in shown:
            client, stones = fields.get(p.job, ("", []))
            if p.holder not in names:
                names[p.holder] = shop.name(p.holder)
            cs.append(Card(p, client, alloys.get(p.alloy, p.alloy), [line_text(s) for s in stones], names[p.holder],
                           photos.get(p.job)))
        lanes.append(LaneView(ln, cs, drift.get(ln.stage, [])))
    tables = [
        Table("lanes", "Lanes", ["stage", "name", "pieces", "waiting", "working", "to_verify", "on_hold", "late"],
              [[ln.stage, ln.name, ln.count, ln.waiting, ln.in_progress, ln.to_verify, ln.on_hold, ln.late]
               for ln in b.lanes]),
        Table("cards", "Pieces shown", ["job", "stage", "status", "design", "client", "alloy", "due", "days_left",
                                         "late", "rush", "on_hold", "age_h", "holder"],
              [[c.piece.job, c.piece.stage, c.piece.status, c.piece.design, c.client, c.piece.alloy, c.piece.due,
                c.piece.days_left, int(c.piece.late), int(c.piece.priority == "rush"), int(c.piece.on_hold),
                c.piece.age_h, c.holder] for lv in lanes for c in lv.cards]),
    ]
    return {"board": b, "lanes": lanes, "tables": tables, "age": _age,
            "filters": {"bench": bench or "", "person": person or "", "alloy": alloy or "", "route": route or ""},
            "choices": {"bench": [(x.id, x.name) for x in site.benches.values()],
                        "person": [(x.id, x.name) for x in site.people.values()],
                        "alloy": [(x.code, x.name) for x in site.alloys.values()],
                        "route": [(x.id, x.name) for x in site.routes.values()]}}


def job_photos(shop: Shop, job_id: str) -> list[tuple[str, str, str, str]]:
    """Every photo of a job, oldest first: (sha256, stage id, stage name, when)."""
    names = {s.id: s.name for s in shop.site.stages.values()}
    return [(sha, st or "", names.get(st or "", st or ""), ts or "") for sha, st, ts in shop.journal.query(
        "SELECT sha256, stage, ts FROM photos WHERE job = ? ORDER BY ts", [job_id])]


def job_view(shop: Shop, job_id: str, role: str) -> dict[str, Any]:
    card = cards.job_card(shop, job_id, history=200)
    j = card.job
    weights = role in SEES_WEIGHTS
    units = shop.site.settings.units
    w_rows = []
    if weights:
        for s in card.stages:
            st = j.stages.get(s.id)
            if st is not None and (st.weight_in is not None or st.weight_out is not None):
                loss = (Decimal(st.weight_in) - Decimal(st.weight_out)) if st.weight_in and st.weight_out else None
                w_rows.append([s.name, st.weight_in or "", st.weight_out or "", f"{loss:f}" if loss is not None else ""])
    stones = [[i, line_text(s), s.get("cert") or ""] for i, s in enumerate(j.stones, 1)]
    photos = job_photos(shop, j.id)
    marked = set(clientlinks.client_photos(shop, j.id))
    tables = [
        Table("route", "Route", ["stage", "status", "who", "runs", "note"],
              [[s.name, s.status, s.who, s.runs, s.reopened] for s in card.stages]),
        Table("stones", "Stones", ["line", "stones", "certificate"], stones),
        Table("history", "History", ["when", "what"], [[h.ts, h.text] for h in card.history]),
    ]
    if weights:
        tables.insert(1, Table("weights", "Weights (g)", ["stage", "weigh-in", "weigh-out", "loss"], w_rows))
    return {"card": card, "job": j, "tables": tables, "photos": photos, "marked": marked, "weights": weights,
            "last_weight": fmt_many(j.last_weight, units) if weights and j.last_weight else ""}


def client_view(shop: Shop, job_id: str) -> dict[str, Any]:
    """What the client's link shows: the stage, the expected date, the marked photos. No names, no weights."""
    card = cards.job_card(shop, job_id, history=0)
    steps = [(s.name, s.status in ("done", "verified")) for s in card.stages]
    now = next((s.name for s in card.stages if s.status not in ("done", "verified")), None)
    done = card.job.completed_at is not None or now is None
    return {"design": card.job.design, "job": card.job.id, "steps": steps, "stage": now, "done": done,
            "expected": card.due.due if card.due and card.due.due else card.job.due,
            "photos": clientlinks.client_photos(shop, card.job.id)}


def _period(shop: Shop, start: str | None, end: str | None) -> tuple[date, date]:
    return kpi.parse_period(start or None, end or None, shop)


def kpis_view(shop: Shop, start: str | None, end: str | None) -> dict[str, Any]:
    a, b = _period(shop, start, end)
    r = kpi.report(shop, a, b, with_metal=False)
    site = shop.site
    names = {s.id: s.name for s in site.stages.values()}
    people = {p.id: p.name for p in site.people.values()}
    charts = [
        reports.svg_hbars("FTRR by stage (%)", [(names.get(x.key, x.key), float(x.pct or 0), f"{x.pct}% of {x.total}")
                                                for x in r.ftrr_stage], top=100, width=560),
        reports.svg_hbars("FTRR by person (%)", [(people.get(x.key, x.key), float(x.pct or 0), f"{x.pct}% of {x.total}")
                                                 for x in r.ftrr_person], top=100, width=560),
        reports.svg_hbars("YVR by alloy (%)", [(y.key, float(y.yvr or 0), f"{y.yvr}%") for y in r.yvr_alloy],
                          top=100, width=560),
        reports.svg_hbars("Pieces at each stage now", [(names.get(w.stage, w.stage), w.total, str(w.total))
                                                       for w in r.wip if w.total], width=560),
        reports.svg_columns(f"Jobs delivered per day ({r.throughput.delivered})",
                            [(d[5:], float(n)) for d, n in r.throughput.days], width=560),
    ]
    c = r.cdpa
    tables = [
        Table("summary", "Headline", ["figure", "value"], [list(x) for x in kpi.summary_lines(shop, r)]),
        Table("ftrr", "First-time-right", ["by", "key", "first_time_right", "completed", "ftrr_pct"],
              [[by, names.get(x.key) or people.get(x.key) or x.key, x.good, x.total, x.pct]
               for by, lines in (("stage", r.ftrr_stage), ("person", r.ftrr_person), ("route", r.ftrr_route),
                                 ("all", [r.ftrr_overall])) for x in lines]),
        Table("yvr", "Yield variance", ["by", "key", "trees", "theoretical_g", "actual_g", "loss_g", "yvr_pct"],
              [[by, y.key, y.trees, y.theoretical, y.actual, y.loss, y.yvr]
               for by, lines in (("alloy", r.yvr_alloy), ("method", r.yvr_method), ("all", [r.yvr_total]))
               for y in lines]),
        Table("cdpa", "Delivery promise adherence", ["promised", "on_time", "delivered_late", "missed_open", "pending",
                                                     "cdpa_pct", "client_delayed"],
              [[c.promised, c.on_time, c.late_delivered, c.missed_open, c.pending, c.cdpa, c.client_delayed]]),
        Table("wip", "Work in progress", ["stage", "waiting", "in_progress", "to_verify", "on_hold", "mean_age_h",
                                          "max_age_h"],
              [[names.get(w.stage, w.stage), w.waiting, w.in_progress, w.to_verify, w.on_hold, w.mean_age_h,
                w.max_age_h] for w in r.wip]),
        Table("at_risk", "At risk of missing the promise", ["job", "design", "due", "days_left", "remaining_h"],
              [[x.job, x.design, x.due, x.days_left, x.remaining_h] for x in r.at_risk]),
    ]
    return {"r": r, "start": a.isoformat(), "end": b.isoformat(), "charts": charts, "tables": tables,
            "bottleneck": names.get(r.bottleneck.stage or "", "none"), "why": r.bottleneck.why}


class ScheduleCache:
    """The master schedule, made in a thread of its own on a connection of its own, again at most once a minute.

    A solve takes seconds on a small shop and much longer on a large one: no page waits for it under the
    journal's lock (which would stop every other page), and a page asks for it at most `wait` seconds.
    """

    def __init__(self, site_dir: Any, seconds: float = 60.0) -> None:
        self.site_dir = site_dir
        self.seconds = seconds
        self._m: Any = None
        self._at = 0.0
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._busy = False
        self._shop: Shop | None = None
        self.error: str | None = None

    def _make(self) -> None:
        from floorkiosk.workshop.schedule import master_schedule  # OR-Tools loads only for this page
        from floorkiosk.workshop.site import open_shop  # its own connection: the pages' is not held meanwhile

        try:
            if self._shop is None:
                self._shop = open_shop(self.site_dir)
            m = master_schedule(self._shop)
            with self._lock:
                self._m, self._at, self.error = m, time.monotonic(), None
        except Exception as exc:  # said on the page; the next ask tries again
            with self._lock:
                self.error = str(exc) or type(exc).__name__
        finally:
            with self._lock:
                self._busy = False
            self._ready.set()

    def get(self, wait: float) -> Any:
        """The latest schedule (made again in the background when older than `seconds`), or None if none is
        ready within `wait` seconds."""
        with self._lock:
            stale = self._m is None or time.monotonic() - self._at > self.seconds
            if stale and not self._busy:
                self._busy = True
                self._ready.clear()
                threading.Thread(target=self._make, name="floorkiosk-web-schedule", daemon=True).start()
            m = self._m
        if m is None:
            self._ready.wait(wait)
            with self._lock:
                m = self._m
        return m

    def close(self) -> None:
        if self._shop is not None:
            self._shop.close()
            self._shop = None


def _heat(pct: float) -> str:
    """A cell's colour from its load: green under 70 %, amber to 100 %, red over."""
    if pct <= 0:
        return "#f4f4f4"
    if pct < 70:
        return "#cfe8cf"
    if pct <= 100:
        return "#f5dd9a"
    return "#f0a8a0"


def schedule_view(cache: ScheduleCache, wait: float = 3.0) -> dict[str, Any]:
    from floorkiosk.domain.calendar import week_label  # with the schedule page only

    ms = cache.get(wait)
    if ms is None:
        return {"m": None, "error": cache.error, "tables": [], "weeks": [], "heat": [], "made": "", "keep": False}
    plan = ms.plan
    late = set(plan.late)
    load = ms.load()
    weeks = [week_label(w) for w in ms.weeks]
    skills = sorted({k[0] for k in ms.capacity_minutes} | {k[0] for k in load})
    heat = []
    for sk in skills:
        row = []
        for w in weeks:
            lo, cap = load.get((sk, w), 0.0), ms.capacity_minutes.get((sk, w), 0.0)
            pct = 100 * lo / cap if cap else (999.0 if lo else 0.0)
            row.append((lo / 60, cap / 60, pct, _heat(pct)))
        heat.append((sk, row))
    rows = []
    for p in sorted(plan.placements, key=lambda p: (p.start, p.person)):
        job = ms.info.get(p.job)
        rows.append([p.person, f"{ms.when(p.start):%Y-%m-%d %H:%M}", f"{ms.when(p.end):%Y-%m-%d %H:%M}", p.job,
                     p.stage, p.skill, job.due if job else "", int(p.job in late)])
    late_rows = [[job.id, job.due, end.isoformat(), crit.stage if crit else ""] for job, end, crit in ms.late_jobs()]
    tables = [
        Table("load", "Load against declared hours (%)", ["skill", *weeks],
              [[sk, *(f"{c[2]:.0f}" if c[1] else ("over" if c[0] else "") for c in row)] for sk, row in heat]),
        Table("late", "Jobs the schedule finishes late", ["job", "due", "planned_end", "held_back_by"], late_rows),
        Table("placements", "Who does what, when", ["person", "start", "end", "job", "stage", "skill", "due", "late"],
              rows, shown=150),
    ]
    return {"m": ms, "weeks": weeks, "heat": heat, "tables": tables, "made": f"{ms.made_at:%Y-%m-%d %H:%M}",
            "error": None}


def spc_view(shop: Shop) -> dict[str, Any]:
    charts = spc.charts(shop)
    alerts = spc.open_alerts(shop.journal.conn)
    svgs = []
    for c in charts:
        if c.alerts and c.limits is not None:
            vals = c.series.values[-300:]
            shift = len(c.series.values) - len(vals)
            marked = {v.index - shift for v in c.alerts if v.index >= shift}
            svgs.append(reports.svg_control_chart(f"{c.series.title} ({c.series.unit}): {c.state}", vals,
                                                  c.limits.center, c.limits.lcl, c.limits.ucl, marked, width=640))
    tables = [
        Table("alerts", "Drift alerts", ["characteristic", "what", "stage", "rule", "alert", "when", "job"],
              [[a.name, a.title, a.stage, a.rule, a.text, a.ts, a.job] for a in alerts]),
        Table("charts", "Control charts", ["characteristic", "what", "points", "centre", "lcl", "ucl", "cpk", "state"],
              [[c.series.name, c.series.title, len(c.series.values),
                *((f"{c.limits.center:.4g}", f"{c.limits.lcl:.4g}", f"{c.limits.ucl:.4g}") if c.limits else ("", "", "")),
                f"{c.capability.cpk:.2f}" if c.capability else "", c.state] for c in charts]),
    ]
    return {"svgs": svgs, "tables": tables, "alerts": alerts}


def capa_view(shop: Shop) -> dict[str, Any]:
    today = shop.today().isoformat()
    rows = [[c.id, c.title, c.status, c.owner, c.due, int(c.late(today)), c.source, c.characteristic or c.defect or "",
             c.cause or "", c.change or "", c.opened_at[:10], (c.closed_at or "")[:10]]
            for c in capa_mod.listing(shop, all_=True)]
    return {"tables": [Table("capa", "Corrective actions", ["id", "title", "status", "owner", "due", "late", "source",
                                                            "about", "cause", "change", "opened", "closed"], rows)]}


def metal_view(shop: Shop, start: str | None, end: str | None) -> dict[str, Any]:
    a, b = _period(shop, start, end)
    r = metal_mod.reconcile(shop, a, b)
    rows = reports.recon_rows(shop, r)
    bal = metal_mod.balances(shop)
    tables = [
        Table("reconciliation", f"Reconciliation {a} to {b} (g)", reports.RECON_HEADER, rows),
        Table("balances", "Metal held now (g)", ["account", "bench", "person", "stage", "alloy", "gross_g", "fine_g"],
              [[m.ACCOUNT_WORDS.get(x.acct, x.acct), x.bench, x.person, x.stage, x.alloy, reports._q(x.gross),
                reports._q(x.fine, 4)] for x in bal]),
    ]
    return {"tables": tables, "start": a.isoformat(), "end": b.isoformat()}


def parse_day(text: str | None) -> str | None:
    """A period's day from a query string, or None; Refused for anything that is not a date."""
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        raise Refused(f"{text!r} is not a date like 2026-12-24") from None

