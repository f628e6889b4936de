"""The master schedule seen ahead: the capacity heatmap, the timeline of every open job, each person's
week, projected delivery-promise adherence, and the jobs at risk with the stage that makes them late.

All of it is read off the master schedule (workshop/schedule.py): derived, never edited. The HTML
report draws it (workshop/reports.py); the KPI report's "at risk" takes it from here when a schedule
is at hand (one passed in, or the one kept in schedule.json, at most ``RISK_FRESH_FOR`` old).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from floorkiosk.domain import kpi as dk
from floorkiosk.domain import schedule as ds
from floorkiosk.domain.calendar import monday_of, week_label
from floorkiosk.domain.outlook import WeekOutlook, projected_cdpa
from floorkiosk.workshop import schedule as ws
from floorkiosk.workshop.shop import Shop

RISK_FRESH_FOR = timedelta(hours=1)  # a kept schedule this old still says which jobs are at risk


@dataclass(frozen=True)
class HeatCell:
    skill: str
    week: str
    load_h: float  # planned work hours that start that week
    declared_h: float  # hours declared for the skill that week

    @property
    def pct(self) -> float | None:
        return 100 * self.load_h / self.declared_h if self.declared_h else None


def heatmap(m: ws.Master) -> tuple[list[str], list[str], dict[tuple[str, str], HeatCell]]:
    """(skills, weeks, cells): load against declared hours, per skill per week of the horizon."""
    load = m.load()
    weeks = [week_label(w) for w in m.weeks]
    skills = sorted({k[0] for k in m.capacity_minutes} | {k[0] for k in load})
    cells = {(sk, w): HeatCell(sk, w, load.get((sk, w), 0.0) / 60, m.capacity_minutes.get((sk, w), 0.0) / 60)
             for sk in skills for w in weeks}
    return skills, weeks, cells


@dataclass(frozen=True)
class Bar:
    stage: str
    skill: str
    person: str
    start: datetime
    end: datetime
    critical: bool


@dataclass(frozen=True)
class TimelineRow:
    job: str
    design: str
    due: date | None
    end: date | None  # planned end; None: cannot be placed
    late: bool
    rush: bool
    bars: tuple[Bar, ...]
    critical: str  # the stage that makes it late (or its longest where nothing waits)


def _due(text: str) -> date | None:
    try:
        return date.fromisoformat(text[:10])
    except (TypeError, ValueError):
        return None


def timeline(m: ws.Master, limit: int | None = None) -> list[TimelineRow]:
    """Every open job of the schedule (the first `limit`), the late ones first, then by due date."""
    by_job = m.plan.by_job()
    late = set(m.plan.late)
    keys = []
    for jid, job in m.info.items():
        end = m.plan.ends.get(jid)
        keys.append((not (jid in late or end is None), _due(job.due) or date.max, jid))
    keys.sort()
    rows = []
    for _, due, jid in keys[:limit]:
        job = m.info[jid]
        ps = sorted(by_job.get(jid, []), key=lambda p: p.start)
        crit = ds.critical_stage(ps)
        # the moments of the bars only for the rows asked for: a shop's whole plan is tens of thousands
        bars = tuple(Bar(p.stage, p.skill, p.person, m.when(p.start), m.when(p.end), crit is not None and p == crit)
                     for p in ps)
        end = m.end_date(jid)
        rows.append(TimelineRow(jid, job.design, None if due == date.max else due, end, jid in late or end is None,
                                job.priority == "rush", bars, crit.stage if crit else ""))
    return rows


def critical_stages(m: ws.Master) -> dict[str, str]:
    """job -> the stage that makes it late (or its longest where nothing waits)."""
    out = {}
    for jid, ps in m.plan.by_job().items():
        crit = ds.critical_stage(ps)
        if crit is not None:
            out[jid] = crit.stage
    return out


def person_week(m: ws.Master, monday: date) -> dict[str, list[ds.Placement]]:
    """person -> their stages that overlap the week of `monday`, by start."""
    tz = m.axis.cal.tz
    a = datetime.combine(monday, datetime.min.time(), tz)
    b = a + timedelta(days=7)
    out: dict[str, list[ds.Placement]] = {}
    for p in m.plan.placements:
        s, e = m.when(p.start), m.when(p.end)
        if s < b and e > a:
            out.setdefault(p.person, []).append(p)
    for v in out.values():
        v.sort(key=lambda p: p.start)
    return dict(sorted(out.items()))


def projected(m: ws.Master, today: date, weeks: int = 4) -> list[WeekOutlook]:
    """Projected CDPA for the next `weeks` weeks, from the schedule."""
    rows = []
    for jid, job in m.info.items():
        due = _due(job.due)
        if due is not None:
            rows.append((jid, due, m.end_date(jid)))
    return projected_cdpa(rows, today, weeks)


# --- jobs at risk, from the schedule -------------------------------------------------------------
# the last schedule.json read, by (path, mtime, size): a KPI screen refreshing reads the file once, not each time
_KEPT: dict[tuple, ws.Master | None] = {}


def kept_for_risk(shop: Shop) -> ws.Master | None:
    """The schedule kept in schedule.json if made from this config within RISK_FRESH_FOR, even if work
    has moved since (the risk list says when it was made); None otherwise. No solve: the file is read
    once while it does not change (a stat otherwise)."""
    path = shop.dir / ws.CACHE
    try:
        st = path.stat()
    except OSError:
        return None
    key = (str(path), st.st_mtime_ns, st.st_size, ws._config_signature(shop))
    if key not in _KEPT:
        _KEPT.clear()
        _KEPT[key] = _read_kept(shop, path, key[3])
    m = _KEPT[key]
    if m is None or not (m.made_at <= shop.clock() < m.made_at + RISK_FRESH_FOR):
        return None
    return m


def _read_kept(shop: Shop, path, sig: str) -> ws.Master | None:
    try:
        data = json.loads(path.read_text())
        made = datetime.fromisoformat(data["made_at"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if data.get("config") != sig:
        return None
    return ws._load(shop, path, data.get("position"), sig, made, False)


@dataclass(frozen=True)
class _Risk:
    end: date | None
    work_h: float
    why: str


_FACTS: list = [None, {}]  # [the Master they were worked out for, job -> _Risk]: once per schedule, not per report


def _facts(m: ws.Master) -> dict[str, _Risk]:
    if _FACTS[0] is m:
        return _FACTS[1]
    out = {}
    for jid, ps in m.plan.by_job().items():
        crit = ds.critical_stage(ps)
        why = ""
        if crit is not None:
            waited = (crit.start - crit.ready) / 60
            why = (f"{crit.stage} ({crit.skill}, {crit.person}) waits {waited:.1f} h" if waited > 0
                   else f"{crit.stage} ({crit.skill}) takes {(crit.end - crit.start) / 60:.1f} h")
        work_h = sum(m.work_minutes.get((p.job, p.stage), p.end - p.start) for p in ps) / 60
        out[jid] = _Risk(m.end_date(jid), round(work_h, 1), why)
    _FACTS[:] = [m, out]
    return out


def at_risk(m: ws.Master, open_jobs: list[tuple[str, date, list[str], str, str]],
            today: date) -> tuple[list[dk.AtRisk], list[tuple[str, date, list[str], str, str]]]:
    """Open jobs that are late, or that the schedule finishes after their due date, with the stage that
    makes them late; open_jobs as domain.kpi.at_risk takes them (job, due, stages to do, design, route).
    Also returns the open jobs the schedule does not know (added since it was made), for another estimate."""
    facts = _facts(m)
    cannot = {u.job: u for u in m.plan.unplaceable}
    out = []
    unknown = []
    for item in open_jobs:
        job, due, remaining, design, route = item
        left, late = dk.lateness(due, today)
        left = 0 if left is None else left
        if job in cannot:
            out.append(dk.AtRisk(job, due, left, 0.0, tuple(remaining), late, design, route, None,
                                 f"{cannot[job].stage}: cannot be planned ({cannot[job].why})", "schedule"))
            continue
        f = facts.get(job)
        if f is None:
            unknown.append(item)
            continue
        if not late and (f.end is None or f.end <= due):
            continue
        out.append(dk.AtRisk(job, due, left, f.work_h, tuple(remaining), late, design, route, f.end, f.why,
                             "schedule"))
    return out, unknown


def this_monday(m: ws.Master) -> date:
    return monday_of(m.axis.origin.astimezone(m.axis.cal.tz).date())
