"""Managers' reports: the KPIs and the metal reconciliation of a period as CSV files and one self-contained HTML page.

The HTML has its charts as inline SVG and its style inline: it opens anywhere, offline, and can be
mailed as one file. Every figure in it is also in a CSV beside it.
"""

from __future__ import annotations

import csv
import html
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from floorkiosk.workshop import capacity, costing, kpi, outlook
from floorkiosk.workshop import metal as metal_mod
from floorkiosk.workshop import schedule as ws
from floorkiosk.workshop import spc
from floorkiosk.workshop import standards
from floorkiosk.workshop import verbs
from floorkiosk.domain import costing as dc
from floorkiosk.domain import kpi as dk
from floorkiosk.domain import metal as m
from floorkiosk.domain.units import from_grams

from floorkiosk.workshop.shop import Shop


def _q(v: Decimal | None, places: int = 3) -> str:
    if v is None:
        return ""
    return f"{Decimal(v).quantize(Decimal(1).scaleb(-places)):f}"


def _pct(v: Decimal | None) -> str:
    return "" if v is None else f"{v}"


# --- CSV ----------------------------------------------------------------------------------------
def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        for r in rows:
            w.writerow(["" if v is None else v for v in r])
    return path


def recon_rows(shop: Shop, r: m.Reconciliation) -> list[list[Any]]:
    out = []
    for g in m.GROUPINGS:
        for ln in r.lines.get(g, []):
            out.append([g, ln.key or "", ln.alloy, _q(ln.brought_forward), _q(ln.issued), _q(ln.returned),
                        _q(ln.finished), _q(ln.in_work), _q(ln.difference), _q(ln.loss), _q(ln.loss_pct, 2)
                        if ln.loss_pct is not None else "", _q(ln.fine_loss, 4), _q(from_grams(ln.loss, "dwt"), 4),
                        _q(from_grams(ln.loss, "ozt"), 5), _q(ln.readability), _q(ln.tolerance_pct, 2), ln.flag])
    return out


RECON_HEADER = ["grouping", "line", "alloy", "brought_forward_g", "issued_g", "returned_g", "finished_g", "in_work_g",
                "difference_g", "loss_g", "loss_pct", "fine_loss_g", "loss_dwt", "loss_ozt", "readability_g",
                "tolerance_pct", "flag"]


def typed_weights(shop: Shop, r: kpi.KpiReport) -> list[tuple[str, ...]]:
    """The period's weights typed by hand (with a supervisor's badge and reason), not read off a scale."""
    return verbs.manual_weights(shop, r.start.isoformat(), (r.end + timedelta(days=1)).isoformat())


def write_csvs(shop: Shop, r: kpi.KpiReport, out: Path) -> list[Path]:
    site = shop.site
    names = {s.id: s.name for s in site.stages.values()}
    files = [
        write_csv(out / "summary.csv", ["figure", "value"], kpi.summary_lines(shop, r)),
        write_csv(out / "yvr.csv", ["by", "key", "trees", "theoretical_metal_g", "actual_metal_g", "loss_g", "yvr_pct"],
                   [[by, y.key, y.trees, _q(y.theoretical), _q(y.actual), _q(y.loss), _pct(y.yvr)]
                    for by, lines in (("alloy", r.yvr_alloy), ("casting method", r.yvr_method), ("all", [r.yvr_total]))
                    for y in lines]),
        write_csv(out / "ftrr.csv", ["by", "key", "name", "first_time_right", "completed", "sent_back", "ftrr_pct"],
                   [[by, x.key, names.get(x.key) or (site.people[x.key].name if x.key in site.people else x.key),
                     x.good, x.total, x.sent_back if by in ("stage", "person") else x.total - x.good, _pct(x.pct)]
                    for by, lines in (("stage", r.ftrr_stage), ("person", r.ftrr_person), ("route", r.ftrr_route),
                                      ("all", [r.ftrr_overall])) for x in lines]),
        write_csv(out / "cdpa.csv", ["promised", "on_time", "delivered_late", "missed_not_delivered", "pending",
                                      "cdpa_pct", "client_initiated_delays", "client_delay_days",
                                      "client_delayed_delivered_by_new_date", "late_then_relabelled"],
                   [[r.cdpa.promised, r.cdpa.on_time, r.cdpa.late_delivered, r.cdpa.missed_open, r.cdpa.pending,
                     _pct(r.cdpa.cdpa), r.cdpa.client_delayed, r.cdpa.client_delay_days, r.cdpa.client_delayed_kept,
                     r.cdpa.relabelled]]),
        write_csv(out / "promises.csv", ["job", "route", "promised", "delivered", "client_delayed", "client_delay_days",
                                          "due_now", "relabelled", "counted_as"],
                   [[p.job, p.route, p.promised, p.delivered, int(p.client_delayed), p.client_delay_days, p.due_now,
                     int(p.relabelled), dk.promise_word(p, r.today)] for p in r.promises]),
        write_csv(out / "wip.csv", ["stage", "name", "waiting", "in_progress", "to_verify", "on_hold", "mean_age_h",
                                     "max_age_h"],
                   [[w.stage, names.get(w.stage, w.stage), w.waiting, w.in_progress, w.to_verify, w.on_hold, w.mean_age_h,
                     w.max_age_h] for w in r.wip]),
        write_csv(out / "stage_flow.csv", ["stage", "name", "arrived", "started", "withdrawn", "completed",
                                            "first_time_right", "queue_growth", "lead_h", "wait_h", "work_h"],
                   [[f.stage, names.get(f.stage, f.stage), f.arrived, f.started, f.withdrawn, f.done, f.ftr,
                     f.queue_growth, f.lead_h, f.wait_h, f.work_h] for f in r.flows]),
        write_csv(out / "throughput.csv", ["day", "jobs_delivered"], r.throughput.days),
        write_csv(out / "at_risk.csv", ["job", "design", "route", "due", "days_left", "late", "remaining_h",
                                         "remaining_stages", "planned_end", "held_back_by", "basis"],
                   [[a.job, a.design, a.route, a.due, a.days_left, int(a.late), a.remaining_h,
                     " ".join(a.remaining_stages), a.planned_end or "", a.why, a.basis] for a in r.at_risk]),
        write_csv(out / "trees.csv", ["tree", "alloy", "method", "jobs", "cast_at", "cut_at", "metal_in_g", "tree_g",
                                       "pieces_g", "sprue_g", "buttons_g", "loss_g", "yvr_pct"],
                   [[t.id, t.alloy, t.method, len(t.jobs), t.cast_at, t.cut_at, _q(m.grams(t.metal_in)),
                     _q(m.grams(t.tree_weight)) if t.tree_weight is not None else "", _q(m.grams(t.pieces)),
                     _q(m.grams(t.sprue)), _q(m.grams(t.buttons)),
                     _q(m.grams(t.metal_in - t.pieces - t.sprue - t.buttons)),
                     _pct(dk.yvr(t.pieces + t.sprue + t.buttons, t.metal_in))] for t in r.trees]),
    ]
    files.append(write_csv(out / "manual_weights.csv", ["ts", "job", "stage", "phase", "grams", "person",
                                                         "approved_by", "reason"], typed_weights(shop, r)))
    if r.reconciliation is not None:
        files.append(write_csv(out / "metal_reconciliation.csv", RECON_HEADER, recon_rows(shop, r.reconciliation)))
    bal = metal_mod.balances(shop)
    files.append(write_csv(out / "metal_balances.csv",
                            ["account", "bench", "person", "stage", "alloy", "gross_g", "gross_dwt", "gross_ozt",
                             "fine_g", "fine_dwt", "fine_ozt"],
                            [[m.ACCOUNT_WORDS.get(b.acct, b.acct), b.bench, b.person, b.stage, b.alloy, _q(b.gross),
                              _q(from_grams(b.gross, "dwt"), 4), _q(from_grams(b.gross, "ozt"), 5), _q(b.fine, 4),
                              _q(from_grams(b.fine, "dwt"), 4), _q(from_grams(b.fine, "ozt"), 5)] for b in bal]))
    files.append(write_csv(out / "standards.csv", STANDARDS_HEADER, standards_rows(shop)))
    return files


# --- before and after each change of the standards --------------------------------------------------
STANDARDS_HEADER = ["version", "approved_at", "changed", "why", "capa", "jobs_under", "figure", "before", "after"]
_TOP_DEFECTS = 5  # the defects of the Pareto compared per change: the most frequent before or after


def _f(x: float | None, digits: int = 1) -> str:
    return "" if x is None else f"{x:.{digits}f}"


def _standards_figures(c: standards.Comparison) -> list[tuple[str, str, str]]:
    b, a = c.before, c.after
    out = [("jobs", str(b.jobs), str(a.jobs)), ("completed", str(b.completed), str(a.completed)),
           ("first-time-right %", _f(b.ftr_pct), _f(a.ftr_pct)), ("metal loss %", _f(b.loss_pct, 2), _f(a.loss_pct, 2)),
           ("QC inspections", str(b.inspections), str(a.inspections)), ("QC yield %", _f(b.yield_pct), _f(a.yield_pct))]
    codes = [code for code, _ in sorted(Counter(dict(b.defects)) + Counter(dict(a.defects)), key=lambda kv: -kv[1])]
    for code in codes[:_TOP_DEFECTS]:
        out.append((f"{code} per 100 inspections", _f(b.per_100(code)), _f(a.per_100(code))))
    return out


def standards_rows(shop: Shop) -> list[list[Any]]:
    rows = []
    for c in standards.compare(shop):
        v = c.change
        for figure, before, after in _standards_figures(c):
            rows.append([v.number, v.approved_at, " ".join(v.changed), v.why, " ".join(v.capa),
                         f"v{c.before.version} / v{c.after.version}", figure, before, after])
    return rows


def standards_section(shop: Shop) -> str:
    """For each approved change of the standards: the jobs made under it against those under the version before."""
    e = html.escape
    parts = ["<h2>Standards: before and after each change</h2>",
             '<p class="muted">Each approved change of routes.toml or qc.toml, with the KPIs and the defect profile '
             "of every job made under it beside those of the jobs under the version it replaced (whatever the "
             "period: a change is judged on the jobs it governed; standards.csv).</p>"]
    comparisons = standards.compare(shop)
    if not comparisons:
        parts.append('<p class="empty">no change of the standards approved yet</p>')
    for c in comparisons:
        v = c.change
        capa = f" — corrective action {', '.join(v.capa)}" if v.capa else ""
        parts.append(f"<h3>v{v.number} ({e(', '.join(v.changed))}), approved {e((v.approved_at or '')[:10])} by "
                     f"{e(shop.name(v.approved_by))}: {e(v.why)}{e(capa)}</h3>")
        parts.append(_table(["figure", f"before (v{c.before.version})", f"after (v{c.after.version})"],
                            _standards_figures(c)))
    return "\n".join(parts)


# --- SVG charts ---------------------------------------------------------------------------------
_FONT = "font-family:system-ui,Segoe UI,Helvetica,Arial,sans-serif;font-size:12px"


def svg_hbars(title: str, items: list[tuple[str, float, str]], *, top: float | None = None, width: int = 640,
              color: str = "#6b4fbb") -> str:
    """Horizontal bars, one labelled row each, the value written at the bar's end."""
    e = html.escape
    if not items:
        return f'<p class="empty">{e(title)}: no data in this period</p>'
    row, label_w, value_w = 22, 170, 110
    h = 30 + row * len(items)
    top = top or max((v for _, v, _ in items), default=0) or 1
    room = width - label_w - value_w
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{h}" viewBox="0 0 {width} {h}"'
           f' role="img" aria-label="{e(title)}" style="{_FONT}">',
           f'<text x="0" y="16" font-weight="bold">{e(title)}</text>']
    for i, (label, v, shown) in enumerate(items):
        y = 28 + i * row
        w = max(0.0, v) / top * room
        out.append(f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end">{e(label)}</text>')
        out.append(f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row - 6}" fill="{color}"/>')
        out.append(f'<text x="{label_w + w + 4:.1f}" y="{y + 14}">{e(shown)}</text>')
    out.append("</svg>")
    return "".join(out)


def svg_columns(title: str, items: list[tuple[str, float]], *, width: int = 720, height: int = 200,
                color: str = "#2f7f6f") -> str:
    """Vertical columns over time (days), with a few date labels and the highest value marked."""
    e = html.escape
    if not items:
        return f'<p class="empty">{e(title)}: no data in this period</p>'
    left, bottom, top_pad = 40, 30, 26
    plot_w, plot_h = width - left - 10, height - bottom - top_pad
    top = max((v for _, v in items), default=0) or 1
    n = len(items)
    step = plot_w / n
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}"'
           f' role="img" aria-label="{e(title)}" style="{_FONT}">',
           f'<text x="0" y="16" font-weight="bold">{e(title)}</text>',
           f'<line x1="{left}" y1="{top_pad + plot_h}" x2="{left + plot_w}" y2="{top_pad + plot_h}" stroke="#888"/>',
           f'<text x="{left - 4}" y="{top_pad + 10}" text-anchor="end">{top:g}</text>',
           f'<text x="{left - 4}" y="{top_pad + plot_h}" text-anchor="end">0</text>']
    every = max(1, n // 8)
    for i, (label, v) in enumerate(items):
        h = max(0.0, v) / top * plot_h
        x = left + i * step
        out.append(f'<rect x="{x + step * 0.1:.1f}" y="{top_pad + plot_h - h:.1f}" width="{max(1.0, step * 0.8):.1f}"'
                   f' height="{h:.1f}" fill="{color}"><title>{e(label)}: {v:g}</title></rect>')
        if i % every == 0:
            out.append(f'<text x="{x + step / 2:.1f}" y="{height - 10}" text-anchor="middle">{e(label)}</text>')
    out.append("</svg>")
    return "".join(out)


def svg_control_chart(title: str, values: list[float], center: float, lcl: float, ucl: float, marked: set[int],
                      *, width: int = 720, height: int = 180) -> str:
    """An individuals chart: the points, the centre line and the limits; points breaking a rule in red."""
    e = html.escape
    pad_l, pad_r, pad_t, pad_b = 48, 10, 22, 18
    lo = min([lcl, *values]) if values else lcl
    hi = max([ucl, *values]) if values else ucl
    span = (hi - lo) or 1.0
    w, h = width - pad_l - pad_r, height - pad_t - pad_b

    def xy(i: int, v: float) -> tuple[float, float]:
        x = pad_l + (w * i / max(1, len(values) - 1))
        return x, pad_t + h * (1 - (v - lo) / span)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}"'
           f' role="img" aria-label="{e(title)}"><title>{e(title)}</title>',
           f'<text x="{pad_l}" y="14" font-size="12" font-weight="bold">{e(title)}</text>']
    for v, label, dash in ((ucl, "UCL", "4 3"), (center, "CL", ""), (lcl, "LCL", "4 3")):
        y = xy(0, v)[1]
        out.append(f'<line x1="{pad_l}" x2="{width - pad_r}" y1="{y:.1f}" y2="{y:.1f}" stroke="#888"'
                   + (f' stroke-dasharray="{dash}"' if dash else "") + "/>")
        out.append(f'<text x="2" y="{y + 4:.1f}" font-size="10">{label} {v:.3g}</text>')
    pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(i, v) for i, v in enumerate(values)))
    out.append(f'<polyline points="{pts}" fill="none" stroke="#4b3f8f" stroke-width="1"/>')
    for i in sorted(marked):
        x, y = xy(i, values[i])
        out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="#b00020"/>')
    out.append("</svg>")
    return "".join(out)


def spc_section(shop: Shop, start: date, end: date) -> str:
    """Process control over the period: each characteristic's limits, Cpk and state; a chart of each alert."""
    charts = [c for c in spc.charts(shop, since=start.isoformat()) if c.series.values]
    parts = ["<h2>Process control</h2>",
             '<p class="muted">Every numeric QC check and each stage\'s metal loss, with its control limits '
             "(individuals chart), Cpk against its tolerance, and the Nelson rules broken since its baseline "
             "(open alerts until a supervisor acknowledges them).</p>"]
    xbars = spc.xbar_charts(shop, since=start.isoformat())

    def row(name: str, title: str, chart: str, points: int, x: Any) -> list[Any]:
        lim = x.limits
        return [name, title, chart, points,
                *(f"{v:.3f}" if lim else "-" for v in ((lim.center, lim.lcl, lim.ucl) if lim else (0, 0, 0))),
                f"{x.capability.cpk:.2f}" if x.capability else "-", x.state]

    rows = []
    for c in charts:
        rows.append(row(c.series.name, c.series.title, "I-MR", len(c.series.values), c))
        x = xbars.get(c.series.name)
        if x is not None:  # measured on several pieces of each batch: one subgroup per batch
            rows.append(row(c.series.name, c.series.title, f"X̄-R, {x.size} a batch", len(x.means), x))
    parts.append(_table(["characteristic", "what", "chart", "points", "centre", "LCL", "UCL", "Cpk", "state"], rows))
    for c in charts:
        if c.alerts and c.limits is not None:
            vals = c.series.values[-300:]
            shift = len(c.series.values) - len(vals)
            marked = {v.index - shift for v in c.alerts if v.index >= shift}
            parts.append(svg_control_chart(f"{c.series.title} ({c.series.unit}): {c.state}", vals, c.limits.center,
                                           c.limits.lcl, c.limits.ucl, marked))
    return "\n".join(parts)


# --- HTML ---------------------------------------------------------------------------------------
_CSS = """
body{font-family:system-ui,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;max-width:1100px;color:#222}
h1{font-size:1.6em;margin-bottom:.2em} h2{font-size:1.2em;margin-top:1.8em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em} th,td{padding:.25em .6em;border-bottom:1px solid #e4e4e4;text-align:right}
th{background:#f3f1f8} td:first-child,th:first-child{text-align:left} .flag{color:#b00020;font-weight:bold}
.muted{color:#777} .empty{color:#777;font-style:italic} .grid{display:flex;flex-wrap:wrap;gap:1.5em}
.headline td{font-size:1.05em}
"""


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]], flag_col: int | None = None) -> str:
    e = html.escape
    out = ["<table><thead><tr>", "".join(f"<th>{e(h)}</th>" for h in header), "</tr></thead><tbody>"]
    n = 0
    for r in rows:
        n += 1
        cls = ' class="flag"' if flag_col is not None and r[flag_col] else ""
        out.append(f"<tr{cls}>" + "".join(f"<td>{e('' if v is None else str(v))}</td>" for v in r) + "</tr>")
    if not n:
        out.append(f'<tr><td colspan="{len(header)}" class="muted">none</td></tr>')
    out.append("</tbody></table>")
    return "".join(out)


def render_html(shop: Shop, r: kpi.KpiReport, master: ws.Master | None = None, costs: list | None = None) -> str:
    site = shop.site
    e = html.escape
    names = {s.id: s.name for s in site.stages.values()}
    people = {p.id: p.name for p in site.people.values()}
    routes = {x.id: x.name for x in site.routes.values()}
    made = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    parts = [f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{e(site.settings.name)} — report"
             f" {r.start} to {r.end}</title><style>{_CSS}</style></head><body>",
             f"<h1>{e(site.settings.name)}: production and metal report</h1>",
             f'<p class="muted">{r.start} to {r.end} · work in progress and risk as of {r.today} · made {made}</p>',
             "<h2>Headline</h2>",
             '<table class="headline">' + "".join(f"<tr><td>{e(a)}</td><td style=\"text-align:left\">{e(b)}</td></tr>"
                                                  for a, b in kpi.summary_lines(shop, r)) + "</table>"]

    parts.append("<h2>Yield Variance Rate (YVR)</h2>")
    parts.append('<p class="muted">Actual metal used (pieces cut off + sprue and buttons back) ÷ theoretical metal '
                 "required (metal put in the tree) × 100, per casting batch.</p>")
    yv = [(f"{y.key}", float(y.yvr or 0), f"{y.yvr}% ({y.trees} tree{'s' if y.trees != 1 else ''})") for y in r.yvr_alloy]
    ym = [(f"{y.key}", float(y.yvr or 0), f"{y.yvr}% ({y.trees} tree{'s' if y.trees != 1 else ''})") for y in r.yvr_method]
    parts.append('<div class="grid">' + svg_hbars("YVR by alloy (%)", yv, top=100, width=520)
                 + svg_hbars("YVR by casting method (%)", ym, top=100, width=520) + "</div>")
    parts.append(_table(["by", "key", "trees", "theoretical (g)", "actual (g)", "loss (g)", "YVR %"],
                        [[by, y.key, y.trees, _q(y.theoretical), _q(y.actual), _q(y.loss), _pct(y.yvr)]
                         for by, lines in (("alloy", r.yvr_alloy), ("method", r.yvr_method), ("all", [r.yvr_total]))
                         for y in lines]))

    parts.append("<h2>First-Time-Right Rate (FTRR)</h2>")
    parts.append('<p class="muted">Pieces with zero rework ÷ pieces completed × 100. By stage and by person: passes '
                 "through a stage right first time ÷ (those + passes sent back by a rejection) × 100, a pass sent back "
                 "counted on the day of the rejection against the stage that redoes it and the person whose run was "
                 "rejected, as the defect Pareto charges it. By route: whole jobs completed.</p>")
    parts.append(svg_hbars("FTRR by stage (%)", [(names.get(x.key, x.key), float(x.pct or 0), f"{x.pct}% of {x.total}")
                                                 for x in r.ftrr_stage], top=100))
    parts.append('<div class="grid">'
                 + svg_hbars("FTRR by person (%)", [(people.get(x.key, x.key), float(x.pct or 0), f"{x.pct}% of {x.total}")
                                                    for x in r.ftrr_person], top=100, width=520)
                 + svg_hbars("FTRR by route (%)", [(routes.get(x.key, x.key), float(x.pct or 0), f"{x.pct}% of {x.total}")
                                                   for x in r.ftrr_route], top=100, width=520) + "</div>")

    parts.append("<h2>Client Delivery Promise Adherence (CDPA)</h2>")
    c = r.cdpa
    parts.append('<p class="muted">A client-initiated delay asked for before the promise passed is excluded and '
                 "counted apart; one recorded after it had passed (approved by a supervisor) is late work relabelled: "
                 "judged against the first promise like any other, and counted apart.</p>")
    parts.append(_table(["promised deliveries", "on or before the date", "delivered late", "missed, not delivered",
                         "pending", "CDPA %", "client-initiated delays (excluded)", "their days",
                         "late, then relabelled (counted)"],
                        [[c.promised, c.on_time, c.late_delivered, c.missed_open, c.pending, _pct(c.cdpa),
                          c.client_delayed, c.client_delay_days, c.relabelled]]))
    late = [(p, w) for p in r.promises
            if (w := dk.promise_word(p, r.today)) in ("late", "missed (not delivered)", "late, then relabelled")]
    parts.append("<h3>Broken promises</h3>" + _table(["job", "route", "promised", "delivered", "due now", "counted as"],
                                                     [[p.job, routes.get(p.route, p.route), p.promised, p.delivered or "",
                                                       p.due_now or "", w] for p, w in late[:200]]))

    parts.append("<h2>Work in progress, lead time and the bottleneck</h2>")
    neck = names.get(r.bottleneck.stage or "", "none")
    parts.append(f"<p><b>Bottleneck: {e(neck)}</b> — {e(r.bottleneck.why)}.</p>")
    parts.append(svg_hbars("Pieces at each stage now", [(names.get(w.stage, w.stage), w.total,
                                                         f"{w.total} (mean {w.mean_age_h / 24:.1f} d)") for w in r.wip if w.total]))
    parts.append(_table(["stage", "arrived", "started", "completed", "queue growth", "lead (h)", "wait (h)", "work (h)"],
                        [[names.get(f.stage, f.stage), f.arrived, f.started, f.done, f.queue_growth, f.lead_h, f.wait_h,
                          f.work_h] for f in r.flows]))
    parts.append("<h2>Throughput</h2>")
    parts.append(svg_columns(f"Jobs delivered per day ({r.throughput.delivered} in all, {r.throughput.per_day}/day)",
                             [(d[5:], float(n)) for d, n in r.throughput.days]))
    parts.append("<h2>Jobs at risk of missing their promised date</h2>")
    if r.risk_from is not None:
        parts.append(f'<p class="muted">From the master schedule made {r.risk_from:%Y-%m-%d %H:%M}: a job is at risk when '
                     "the schedule finishes it after its due date; the stage that makes it late is the one that waits "
                     "longest for its person (or, where nothing waits, the longest). Jobs added since: their remaining "
                     "stages at the mean lead time.</p>")
    else:
        parts.append('<p class="muted">No recent master schedule: the remaining stages at their mean lead time.</p>')
    parts.append(_table(["job", "design", "route", "due", "days left", "planned end", "remaining work (h)",
                         "held back by", "stages to do"],
                        [[a.job, a.design, routes.get(a.route, a.route), a.due, a.days_left, a.planned_end or "",
                          a.remaining_h, a.why, ", ".join(names.get(s, s) for s in a.remaining_stages)]
                         for a in r.at_risk[:200]]))
    if master is not None:
        parts.append(outlook_section(shop, master, r.today))
    if costs is not None:
        parts.append(cost_section(shop, costs))

    typed = typed_weights(shop, r)
    parts.append("<h2>Weights typed by hand</h2>")
    parts.append('<p class="muted">Weights not read off a bench scale: each typed with a supervisor\'s badge and a '
                 f"reason ({len(typed)} in this period; manual_weights.csv).</p>")
    if typed:
        parts.append(_table(["when", "job", "stage", "phase", "grams", "weighed by", "approved by", "reason"],
                            [[ts[:16].replace("T", " "), job, names.get(st, st), ph, g_, shop.name(p), shop.name(by),
                              why] for ts, job, st, ph, g_, p, by, why in typed]))
    parts.append(spc_section(shop, r.start, r.end))
    parts.append(standards_section(shop))
    if r.reconciliation is not None:
        parts.append("<h2>Metal reconciliation</h2>")
        parts.append('<p class="muted">brought forward + issued − returned − finished − in work = difference; a '
                     "difference within the scales' readability is not loss. Weights in grams; fine weight = gross × "
                     "fineness.</p>")
        rows = recon_rows(shop, r.reconciliation)
        for g in m.GROUPINGS:
            sub = [[x[1] or "all", x[2], x[3], x[4], x[5], x[6], x[7], x[8], x[9], x[10], x[11], x[16]]
                   for x in rows if x[0] == g]
            parts.append(f"<h3>By {g}</h3>" + _table(["line", "alloy", "b/f", "issued", "returned", "finished", "in work",
                                                       "difference", "loss", "loss %", "fine loss", "flag"], sub,
                                                      flag_col=11))
        parts.append("<h3>Metal held now</h3>")
        parts.append(_table(["held by", "alloy", "gross (g)", "fine (g)", "gross (dwt)", "gross (ozt)"],
                            [[key or "all", alloy, _q(g_), _q(f, 4), _q(from_grams(g_, "dwt"), 4),
                              _q(from_grams(g_, "ozt"), 5)] for key, alloy, g_, f in metal_mod.holdings(shop, "bench")]))
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(shop: Shop, start: date, end: date, out: str | Path) -> list[Path]:
    """Write the period's CSV files and report.html into `out` (created); return the files written."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    clock = capacity.work_clock(shop)  # the history's work runs, folded once for the schedule and the costs
    master = ws.master_schedule(shop, clock=clock)  # kept in schedule.json while nothing moves
    r = kpi.report(shop, start, end, detail=True, schedule=master)
    files = write_csvs(shop, r, out)
    files += outlook_csvs(master, r.today, out)
    d1, d2 = start.isoformat(), end.isoformat()
    ids = [j for (j,) in shop.journal.query("SELECT job FROM kpi_jobs WHERE open = 1 OR completed_day BETWEEN ? AND ?"
                                            " ORDER BY job", (d1, d2))]
    costs = costing.job_costs(shop, ids, clock) if ids else []
    files += cost_csvs(costs, out)
    page = out / "report.html"
    page.write_text(render_html(shop, r, master, costs), encoding="utf-8")
    return [*files, page]


# --- the weeks ahead: views of the master schedule ----------------------------------------------
_PALETTE = ("#6b4fbb", "#2f7f6f", "#c77d1a", "#3a6fb0", "#a23b72", "#5c8a2e", "#8a5a44", "#1f8a9e", "#7a6f1c",
            "#b0413e")


def _heat_color(pct: float | None) -> str:
    if pct is None:
        return "#f4f4f4"
    if pct > 100:
        return "#e8a0a0"
    if pct >= 85:
        return "#f3d08a"
    return "#cfe8d5" if pct >= 40 else "#eaf5ec"


def svg_heatmap(skills: list[str], weeks: list[str], cells: dict) -> str:
    """Load against declared hours, a cell per skill per week: red over 100 %, amber from 85 %."""
    e = html.escape
    if not skills or not weeks:
        return '<p class="empty">capacity heatmap: no skill has declared hours</p>'
    label_w, cw, ch, top = 110, 92, 34, 40
    w, h = label_w + cw * len(weeks) + 4, top + ch * len(skills) + 4
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img"'
           f' aria-label="capacity heatmap" style="{_FONT}">',
           '<text x="0" y="14" font-weight="bold">Load against declared hours, per skill and week</text>']
    for j, wk in enumerate(weeks):
        out.append(f'<text x="{label_w + j * cw + cw / 2}" y="{top - 6}" text-anchor="middle">{e(wk)}</text>')
    for i, sk in enumerate(skills):
        y = top + i * ch
        out.append(f'<text x="{label_w - 6}" y="{y + ch / 2 + 4}" text-anchor="end">{e(sk)}</text>')
        for j, wk in enumerate(weeks):
            c = cells[(sk, wk)]
            x = label_w + j * cw
            pct = c.pct
            words = f"{c.load_h:.0f}/{c.declared_h:.0f} h" + (f" {pct:.0f}%" if pct is not None else "")
            out.append(f'<rect x="{x}" y="{y}" width="{cw - 2}" height="{ch - 2}" fill="{_heat_color(pct)}">'
                       f'<title>{e(sk)} {e(wk)}: {c.load_h:.1f} h planned, {c.declared_h:.1f} h declared</title></rect>')
            out.append(f'<text x="{x + cw / 2 - 1}" y="{y + ch / 2 + 4}" text-anchor="middle" font-size="11">'
                       f'{e(words) if (c.load_h or c.declared_h) else "-"}</text>')
    out.append("</svg>")
    return "".join(out)


def svg_timeline(rows: list, today: datetime, *, width: int = 1060, days: int | None = None) -> str:
    """A Gantt of open jobs: each stage a bar on its person's time, the critical stage outlined in red,
    each due date a black diamond, today a red line."""
    e = html.escape
    if not rows:
        return '<p class="empty">timeline: no open job to plan</p>'
    label_w, row_h, top = 150, 18, 34
    last = max([b.end for r in rows for b in r.bars] + [today + timedelta(days=7)])
    due_last = max((datetime.combine(r.due, datetime.max.time(), today.tzinfo) for r in rows if r.due), default=last)
    first = min([today] + [b.start for r in rows for b in r.bars])
    span_days = days or max(7, min(70, (max(last, due_last) - first).days + 2))
    end_t = first + timedelta(days=span_days)
    px = (width - label_w - 10) / (span_days * 86400)

    def x(t: datetime) -> float:
        t = min(max(t, first), end_t)
        return label_w + (t - first).total_seconds() * px

    skills = sorted({b.skill for r in rows for b in r.bars})
    color = {sk: _PALETTE[i % len(_PALETTE)] for i, sk in enumerate(skills)}
    h = top + row_h * len(rows) + 30
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{h}" viewBox="0 0 {width} {h}" role="img"'
           f' aria-label="timeline of open jobs" style="{_FONT}">',
           '<text x="0" y="14" font-weight="bold">Timeline of open jobs (planned stages; ◆ due date; red line: today;'
           ' red outline: the critical stage)</text>']
    d = first.date()
    while datetime.combine(d, datetime.min.time(), first.tzinfo) < end_t:
        t = datetime.combine(d, datetime.min.time(), first.tzinfo)
        if d.weekday() == 0:
            out.append(f'<line x1="{x(t):.1f}" y1="{top - 4}" x2="{x(t):.1f}" y2="{h - 26}" stroke="#ddd"/>'
                       f'<text x="{x(t) + 2:.1f}" y="{top - 8}" font-size="10">{d:%m-%d}</text>')
        d += timedelta(days=1)
    for i, r in enumerate(rows):
        y = top + i * row_h
        tag = (" RUSH" if r.rush else "") + (" LATE" if r.late else "")
        fill = ' fill="#b00020"' if r.late else ""
        out.append(f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end"{fill}>{e(r.job)}{e(tag)}</text>')
        for b in r.bars:
            x1, x2 = x(b.start), x(b.end)
            stroke = ' stroke="#b00020" stroke-width="2"' if b.critical else ""
            out.append(f'<rect x="{x1:.1f}" y="{y + 3}" width="{max(1.5, x2 - x1):.1f}" height="{row_h - 6}"'
                       f' fill="{color[b.skill]}"{stroke}><title>{e(r.job)} {e(b.stage)} ({e(b.skill)}, {e(b.person)}) '
                       f'{b.start:%a %m-%d %H:%M} → {b.end:%a %m-%d %H:%M}{" — critical" if b.critical else ""}'
                       f'</title></rect>')
        if r.due:
            dx = x(datetime.combine(r.due, datetime.max.time(), first.tzinfo))
            out.append(f'<path d="M{dx:.1f},{y + 3} l4,6 l-4,6 l-4,-6 z" fill="#111"><title>{e(r.job)} due {r.due}'
                       f'</title></path>')
    tx = x(today)
    out.append(f'<line x1="{tx:.1f}" y1="{top - 4}" x2="{tx:.1f}" y2="{h - 26}" stroke="#b00020" stroke-dasharray="4 2"/>')
    lx = label_w
    for sk in skills:
        out.append(f'<rect x="{lx}" y="{h - 18}" width="10" height="10" fill="{color[sk]}"/>'
                   f'<text x="{lx + 14}" y="{h - 9}" font-size="11">{e(sk)}</text>')
        lx += 24 + 7 * len(sk)
    out.append("</svg>")
    return "".join(out)


def svg_person_week(week: dict, monday: date, tz, when, *, width: int = 1060) -> str:
    """Each person's week: a row per person, the week's seven days across, each planned stage a bar."""
    e = html.escape
    if not week:
        return '<p class="empty">nobody has planned work this week</p>'
    label_w, row_h, top = 110, 26, 34
    a = datetime.combine(monday, datetime.min.time(), tz)
    b = a + timedelta(days=7)
    px = (width - label_w - 10) / (7 * 86400)

    def x(t: datetime) -> float:
        return label_w + (min(max(t, a), b) - a).total_seconds() * px

    h = top + row_h * len(week) + 6
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{h}" viewBox="0 0 {width} {h}" role="img"'
           f' aria-label="each person\'s week" style="{_FONT}">',
           f'<text x="0" y="14" font-weight="bold">Each person\'s week from {monday} (planned stages)</text>']
    for k in range(7):
        t = a + timedelta(days=k)
        out.append(f'<line x1="{x(t):.1f}" y1="{top - 4}" x2="{x(t):.1f}" y2="{h}" stroke="#ddd"/>'
                   f'<text x="{x(t) + 3:.1f}" y="{top - 8}" font-size="10">{t:%a %m-%d}</text>')
    for i, (person, ps) in enumerate(week.items()):
        y = top + i * row_h
        out.append(f'<text x="{label_w - 6}" y="{y + 16}" text-anchor="end">{e(person)}</text>')
        for j, p in enumerate(ps):
            s, t = when(p.start), when(p.end)
            x1, x2 = x(s), x(t)
            out.append(f'<rect x="{x1:.1f}" y="{y + 3}" width="{max(1.5, x2 - x1):.1f}" height="{row_h - 8}"'
                       f' fill="{_PALETTE[j % len(_PALETTE)]}"><title>{e(p.job)} {e(p.stage)} ({e(p.skill)}) '
                       f'{s:%a %H:%M} → {t:%a %H:%M}</title></rect>')
            if x2 - x1 > 44:
                out.append(f'<text x="{x1 + 2:.1f}" y="{y + 15}" font-size="9" fill="#fff">{e(p.job)}</text>')
    out.append("</svg>")
    return "".join(out)


def outlook_section(shop: Shop, master, today: date, *, gantt_rows: int = 60) -> str:
    """The weeks ahead, read off the master schedule: projected CDPA, the heatmap, the timeline, each person's week."""
    e = html.escape
    plan = master.plan
    parts = ["<h2>The weeks ahead: the master schedule</h2>",
             f'<p class="muted">{len(plan.ends)} open jobs, {len(plan.placements)} stages planned, {len(plan.late)} '
             f"finishing late; {e(plan.method)}, made {master.made_at:%Y-%m-%d %H:%M}. Derived from the journal, never "
             "edited (schedule.csv has every stage).</p>"]
    for u in plan.unplaceable:
        parts.append(f'<p class="flag">Cannot plan {e(u.job)}: stage {e(u.stage)} needs {e(u.skill)}: {e(u.why)}</p>')
    weeks = outlook.projected(master, today)
    parts.append("<h3>Projected CDPA, next four weeks</h3>")
    parts.append('<p class="muted">Promises falling due each week that the schedule finishes on or before their date '
                 "÷ promises falling due × 100.</p>")
    parts.append(_table(["week", "from", "promises due", "kept by the schedule", "projected CDPA %", "late"],
                        [[w.label, w.monday, w.due, w.kept, _pct(w.cdpa), " ".join(w.late[:12])
                          + (f" … +{len(w.late) - 12}" if len(w.late) > 12 else "")] for w in weeks]))
    parts.append("<h3>Capacity heatmap</h3>")
    parts.append(svg_heatmap(*outlook.heatmap(master)))
    rows = outlook.timeline(master, gantt_rows)
    parts.append("<h3>Timeline of every open job</h3>")
    if len(master.info) > gantt_rows:
        parts.append(f'<p class="muted">The {gantt_rows} most urgent of {len(master.info)} (late first, then by due date); '
                     "schedule.csv has them all.</p>")
    parts.append(svg_timeline(rows, master.when(0)))
    monday = outlook.this_monday(master)
    parts.append("<h3>Each person's week</h3>")
    parts.append(svg_person_week(outlook.person_week(master, monday), monday, master.axis.cal.tz, master.when))
    return "\n".join(parts)


def outlook_csvs(master, today: date, out: Path) -> list[Path]:
    skills, weeks, cells = outlook.heatmap(master)
    crit = outlook.critical_stages(master)
    late = set(master.plan.late)
    info = master.info
    files = [
        write_csv(out / "schedule.csv", ["job", "stage", "skill", "person", "start", "end", "due", "planned_end",
                                         "late", "critical"],
                  [[p.job, p.stage, p.skill, p.person, master.when(p.start).isoformat(timespec="minutes"),
                    master.when(p.end).isoformat(timespec="minutes"),
                    info[p.job].due if p.job in info else "", master.end_date(p.job),
                    "yes" if p.job in late else "", "yes" if crit.get(p.job) == p.stage else ""]
                   for p in sorted(master.plan.placements, key=lambda p: (p.job, p.start))]),
        write_csv(out / "capacity_load.csv", ["skill", "week", "planned_h", "declared_h", "load_pct"],
                  [[c.skill, c.week, round(c.load_h, 2), round(c.declared_h, 2),
                    "" if c.pct is None else round(c.pct, 1)] for c in cells.values()]),
        write_csv(out / "projected_cdpa.csv", ["week", "monday", "due", "kept", "cdpa_pct", "late_jobs"],
                  [[w.label, w.monday, w.due, w.kept, _pct(w.cdpa), " ".join(w.late)]
                   for w in outlook.projected(master, today)]),
    ]
    return files


# --- costs --------------------------------------------------------------------------------------
def cost_section(shop: Shop, costs: list) -> str:
    cur = shop.site.planning.currency
    parts = ["<h2>Labour, cost and margin</h2>",
             f'<p class="muted">Per job ({e_(cur)}): labour (work time × the rate of the stage\'s skill), rework (runs '
             "of a stage after its first), metal (fine weight × the price of its lot), loss (at that price), stones "
             "(the cost on their line), scrap (stones broken or lost). An open job: so far. Cost of poor quality = "
             "rework + scrap (job_costs.csv, copq.csv).</p>"]
    done = [c for c in costs if not c.open]
    priced = [c for c in done if c.price is not None]
    if priced:
        rev = sum((c.price for c in priced), dc.ZERO)
        tot = sum((c.total for c in priced), dc.ZERO)
        parts.append(f"<p><b>Finished jobs with a price: {len(priced)}; revenue {dc.money(rev)}, cost {dc.money(tot)}, "
                     f"margin {((rev - tot) / rev * 100):.1f} %</b></p>" if rev else "")
    parts.append(f"<p><b>Cost of poor quality: {dc.money(sum((c.copq for c in costs), dc.ZERO))} {e_(cur)}</b> over "
                 f"{len(costs)} jobs.</p>")
    parts.append('<div class="grid">' + "".join(
        svg_hbars(f"CoPQ by {by} ({cur})", [(ln.key, float(ln.total), dc.money(ln.total))
                                            for ln in dc.copq_by(costs, by)[:12]], width=520)
        for by in dc.BY) + "</div>")
    shown = sorted(costs, key=lambda c: (c.margin_pct is None, c.margin_pct if c.margin_pct is not None else 0, c.job))
    parts.append(_table(["job", "design", "route", "hours", "labour", "rework", "metal", "loss", "stones", "scrap",
                         "cost", "price", "margin", "margin %", "open"],
                        [[c.job, c.design, c.route, f"{c.hours + c.rework_hours:.1f}", dc.money(c.labour),
                          dc.money(c.rework), dc.money(c.metal), dc.money(c.loss), dc.money(c.stones),
                          dc.money(c.scrap), dc.money(c.total), dc.money(c.price), dc.money(c.margin),
                          "" if c.margin_pct is None else c.margin_pct, "so far" if c.open else ""]
                         for c in shown[:200]]))
    return "\n".join(parts)


def e_(x: Any) -> str:
    return html.escape(str(x))


def cost_csvs(costs: list, out: Path) -> list[Path]:
    return [
        write_csv(out / "job_costs.csv", ["job", "design", "route", "alloy", "open", "hours", "labour", "rework_hours",
                                          "rework", "metal", "loss", "stones", "scrap", "cost", "price", "margin",
                                          "margin_pct", "lot", "not_costed"],
                  [[c.job, c.design, c.route, c.alloy, int(c.open), round(c.hours, 2), _q(c.labour, 2),
                    round(c.rework_hours, 2), _q(c.rework, 2), _q(c.metal, 2), _q(c.loss, 2), _q(c.stones, 2),
                    _q(c.scrap, 2), _q(c.total, 2), _q(c.price, 2), _q(c.margin, 2), c.margin_pct, c.lot,
                    "; ".join(c.missing)] for c in costs]),
        write_csv(out / "copq.csv", ["by", "key", "jobs", "rework_hours", "rework", "scrap", "copq"],
                  [[by, ln.key, ln.jobs, round(ln.rework_hours, 2), _q(ln.rework, 2), _q(ln.scrap, 2), _q(ln.total, 2)]
                   for by in dc.BY for ln in dc.copq_by(costs, by)]),
    ]
