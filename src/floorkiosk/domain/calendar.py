"""Working time: the site calendar (working days and hours, shop holidays) and the planning settings.

Time that is not working time is not counted anywhere in planning: a stage started on Friday at
16:00 and finished on Monday at 10:00 took two working hours. The schedule reasons on a *working
axis*, minutes of working time counted from a moment (``Axis``): nights, weekends and holidays
are simply not on it, so a stage may stop at closing time and go on the next working morning.

Configured in ``planning.toml`` (optional; the defaults are Monday to Friday, 09:00 to 17:00, no
holidays) and, per person, ``capacity = { setting = 20, polishing = 8 }`` in people.toml: the
hours a week that person gives to each skill. Declared again at the kiosk for this week or the
next (``capacity.declared`` events), which then count for that week instead.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

CAPACITY_DECLARED = "capacity.declared"  # an artisan's hours by skill for one ISO week
WORK_PAUSED = "work.paused"  # PAUSE card: the person's stage under way on this job stops counting
WORK_RESUMED = "work.resumed"  # RESUME card: it counts again
PROMISE_ACCEPTED_LATE = "promise.accepted_late"  # a due date set knowing the schedule cannot keep it

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS_RE = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")
_WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$")


@dataclass(frozen=True)
class Calendar:
    """When the shop works: weekdays (Monday = 0), opening and closing minute of the day, holidays."""

    days: tuple[int, ...] = (0, 1, 2, 3, 4)
    open_min: int = 9 * 60
    close_min: int = 17 * 60
    holidays: frozenset[date] = frozenset()
    tz: tzinfo = timezone.utc

    @property
    def day_minutes(self) -> int:
        return self.close_min - self.open_min

    def works(self, d: date) -> bool:
        return d.weekday() in self.days and d not in self.holidays

    def opening(self, d: date) -> datetime:
        return datetime.combine(d, time(self.open_min // 60, self.open_min % 60), self.tz)

    def closing(self, d: date) -> datetime:
        if self.close_min >= 24 * 60:
            return datetime.combine(d + timedelta(days=1), time(0, 0), self.tz)
        return datetime.combine(d, time(self.close_min // 60, self.close_min % 60), self.tz)

    def week_minutes(self, monday: date) -> int:
        """Working minutes in the ISO week that starts on `monday` (its holidays left out)."""
        return sum(self.day_minutes for i in range(7) if self.works(monday + timedelta(days=i)))

    def week_hours(self, monday: date) -> float:
        return self.week_minutes(monday) / 60

    @property
    def full_week_hours(self) -> float:
        """A week without holidays, hours: the ceiling of a person's weekly capacity in people.toml."""
        return len(self.days) * self.day_minutes / 60

    def working_seconds(self, a: datetime, b: datetime) -> float:
        """Working time between two moments, seconds: only what falls inside working hours counts."""
        if b <= a:
            return 0.0
        a, b = a.astimezone(self.tz), b.astimezone(self.tz)
        total = 0.0
        d = a.date()
        end_day = b.date()
        while d <= end_day:
            if self.works(d):
                lo, hi = max(a, self.opening(d)), min(b, self.closing(d))
                if hi > lo:
                    total += (hi - lo).total_seconds()
            d += timedelta(days=1)
        return total


def monday_of(d: date) -> date:
    return d - timedelta(days=d.weekday())


def week_label(d: date) -> str:
    y, w, _ = d.isocalendar()
    return f"{y}-W{w:02d}"


def parse_week(text: str) -> date:
    """The Monday of an ISO week written 2026-W50 (or a date inside it); ValueError in words."""
    m = _WEEK_RE.match(text.strip())
    if m:
        try:
            return date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
        except ValueError:
            raise ValueError(f"{text!r} is not a week of the calendar (weeks run 01 to 52 or 53)") from None
    try:
        return monday_of(date.fromisoformat(text.strip()))
    except ValueError:
        raise ValueError(f"{text!r} is not a week such as 2026-W50 or a date such as 2026-12-14") from None


class Axis:
    """Minutes of working time from an origin moment, and back: the schedule's clock.

    Built for a horizon of working days ahead (grown on demand), each day's first axis minute kept
    in a list, so a moment maps to the axis and back by bisection.
    """

    def __init__(self, cal: Calendar, origin: datetime, days: int = 400) -> None:
        self.cal = cal
        self.origin = origin.astimezone(cal.tz)
        self._days: list[date] = []  # working days from the origin's day on
        self._first: list[int] = []  # axis minute at each day's opening (or at the origin, on its day)
        self._skip: list[int] = []  # minutes of that day already behind the origin (its first day only)
        self._next = self.origin.date()
        self._grow(days)

    def _grow(self, n: int) -> None:
        d, added = self._next, 0
        total = self._first[-1] + self.cal.day_minutes - self._skip[-1] if self._first else 0
        guard = 0
        while added < n:
            guard += 1
            if guard > 5000 + n * 8:  # a calendar with no working day at all
                raise ValueError("the calendar has no working day")
            if self.cal.works(d):
                skip = 0
                if not self._days:
                    into = (self.origin - self.cal.opening(d)).total_seconds() / 60
                    skip = int(min(max(into, 0), self.cal.day_minutes))
                self._days.append(d)
                self._first.append(total)
                self._skip.append(skip)
                total += self.cal.day_minutes - skip
                added += 1
            d += timedelta(days=1)
        self._next = d

    def at(self, t: datetime) -> int:
        """The axis minute of moment `t` (before the origin: negative, counted in working time)."""
        t = t.astimezone(self.cal.tz)
        if t < self.origin:
            return -int(self.cal.working_seconds(t, self.origin) // 60)
        while t.date() >= self._next:
            self._grow(200)
        i = bisect.bisect_right(self._days, t.date()) - 1
        if i < 0:
            return 0
        d = self._days[i]
        if d != t.date():  # a day off: the next working day's opening
            return self._first[i] + self.cal.day_minutes - self._skip[i]
        into = (t - self.cal.opening(d)).total_seconds() / 60
        into = min(max(into, self._skip[i]), self.cal.day_minutes)
        return self._first[i] + int(into) - self._skip[i]

    def close_of(self, d: date) -> int:
        """The axis minute at the close of day `d` (a day off: the close of the working day before)."""
        return self.at(datetime.combine(d + timedelta(days=1), time(0, 0), self.cal.tz) - timedelta(microseconds=1))

    def moment(self, minute: int) -> datetime:
        """The moment at axis minute `minute` (≥ 0); a day's last minute is its closing time."""
        minute = max(0, minute)
        while not self._first or minute > self._first[-1] + self.cal.day_minutes:
            self._grow(200)
        i = bisect.bisect_right(self._first, minute) - 1
        if i > 0 and minute == self._first[i]:
            i -= 1  # the close of the day before rather than the opening of this one
        d = self._days[i]
        return self.cal.opening(d) + timedelta(minutes=minute - self._first[i] + self._skip[i])

    def day(self, minute: int) -> date:
        return self.moment(minute).date()


@dataclass(frozen=True)
class PlanningSettings:
    """planning.toml and the capacity of people.toml, validated."""

    calendar: Calendar = field(default_factory=Calendar)
    standard_hours: dict[str, float] = field(default_factory=dict)  # stage -> default hours for a new site
    default_hours: float = 1.0  # a stage with neither history nor a default in standard_hours
    rates: dict[str, float] = field(default_factory=dict)  # skill -> labour cost per hour
    capacity: dict[str, dict[str, float]] = field(default_factory=dict)  # person -> skill -> hours a week
    time_limit_s: float = 3.0  # the solver's time limit for the master schedule
    hold_days: int = 1  # a job on hold is planned to go on after this many working days
    history_runs: int = 20  # standard times: the median of this many recent runs
    horizon_weeks: int = 8  # `schedule` and the heatmap look this far ahead
    currency: str = "EUR"  # [costs] currency: what rates, prices and metal prices are in


_FILE_KEYS = frozenset({"calendar", "standard_hours", "rates", "planning", "costs"})
_COST_KEYS = frozenset({"currency"})
_CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
# a rate may say its unit: 65, "65/h", "65 per hour"; any other unit is a mistake the file names
_RATE_RE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(?:(?:/|per)\s*([a-z]+))?\s*$", re.I)
_PER_HOUR = frozenset({"h", "hr", "hrs", "hour", "hours"})


def parse_rate(v: Any) -> tuple[float | None, str]:
    """A labour rate from planning.toml: (cost per hour, '') or (None, what is wrong)."""
    if isinstance(v, bool):
        return None, f"must be a cost per hour of 0 or more, not {v!r}"
    if isinstance(v, (int, float)):
        return (float(v), "") if v >= 0 else (None, f"must be a cost per hour of 0 or more, not {v!r}")
    m = _RATE_RE.match(v) if isinstance(v, str) else None
    if not m:
        return None, f"must be a cost per hour such as 65 or \"65/h\", not {v!r}"
    unit = (m.group(2) or "h").lower()
    if unit not in _PER_HOUR:
        return None, f"is given per {unit!r}: rates are a cost per hour, such as 65 or \"65/h\", not {v!r}"
    rate = float(m.group(1))
    if rate < 0:
        return None, f"must be a cost per hour of 0 or more, not {v!r}"
    return rate, ""
_CAL_KEYS = frozenset({"days", "hours", "holidays"})
_PLAN_KEYS = frozenset({"time_limit_s", "hold_days", "history_runs", "horizon_weeks", "default_hours"})


def load_planning(reader: Any | None, people_reader: Any, skills: set[str], person_skills: dict[str, tuple[str, ...]],
                  tz_name: str, stage_ids: set[str] | None = None) -> PlanningSettings:
    """planning.toml (`reader`, a TomlReader or None where there is no such file) and each person's
    `capacity` in people.toml, validated; problems go to the readers' problem lists as file:line."""
    try:
        tz: tzinfo = ZoneInfo(tz_name) if tz_name not in ("UTC", "Z", "") else timezone.utc
    except (ZoneInfoNotFoundError, ValueError):
        tz = timezone.utc  # reported by the site's own checks
    cal = Calendar(tz=tz)
    std: dict[str, float] = {}
    rates: dict[str, float] = {}
    opts: dict[str, Any] = {}
    if reader is not None and reader.ok:
        r = reader
        r.check_keys(r.data, _FILE_KEYS, "planning.toml")
        c = r.data.get("calendar", {})
        if not isinstance(c, dict):
            r.problem(r.line("calendar"), "[calendar] must be a table")
            c = {}
        r.check_keys(c, _CAL_KEYS, "[calendar]", "calendar")
        days = cal.days
        if "days" in c:
            raw = c["days"]
            if not isinstance(raw, list) or not raw or not all(isinstance(x, str) and x.lower()[:3] in DAY_NAMES for x in raw):
                r.problem(r.line("calendar", "days"), f"'days' must be a list of weekdays such as [\"mon\", \"tue\"], not {raw!r}")
            else:
                days = tuple(sorted({DAY_NAMES.index(x.lower()[:3]) for x in raw}))
        open_min, close_min = cal.open_min, cal.close_min
        if "hours" in c:
            m = _HOURS_RE.match(c["hours"]) if isinstance(c["hours"], str) else None
            if m:
                open_min, close_min = int(m.group(1)) * 60 + int(m.group(2)), int(m.group(3)) * 60 + int(m.group(4))
            if not m or int(m.group(2)) > 59 or int(m.group(4)) > 59 or not 0 <= open_min < close_min <= 24 * 60:
                r.problem(r.line("calendar", "hours"), f"'hours' must be opening and closing time such as \"09:00-17:00\", not {c['hours']!r}")
                open_min, close_min = cal.open_min, cal.close_min
        hol: set[date] = set()
        raw_h = c.get("holidays", [])
        if not isinstance(raw_h, list):
            r.problem(r.line("calendar", "holidays"), "'holidays' must be a list of dates such as [\"2026-12-25\"]")
            raw_h = []
        for h in raw_h:
            if isinstance(h, date) and not isinstance(h, datetime):
                hol.add(h)
                continue
            try:
                hol.add(date.fromisoformat(h) if isinstance(h, str) else date.fromisoformat(""))
            except ValueError:
                r.problem(r.line("calendar", "holidays"), f"holiday {h!r} is not a date such as 2026-12-25")
        cal = Calendar(days, open_min, close_min, frozenset(hol), tz)
        std_raw = r.data.get("standard_hours", {})
        if not isinstance(std_raw, dict):
            r.problem(r.line("standard_hours"), "[standard_hours] must be a table of stage = hours")
            std_raw = {}
        for sid, h in std_raw.items():
            if stage_ids is not None and sid not in stage_ids:
                r.problem(r.line("standard_hours", sid), f"[standard_hours] names stage {sid!r}, which is not in routes.toml")
            elif isinstance(h, bool) or not isinstance(h, (int, float)) or h <= 0:
                r.problem(r.line("standard_hours", sid), f"standard hours of {sid!r} must be a number of hours above 0, not {h!r}")
            else:
                std[sid] = float(h)
        rates_raw = r.data.get("rates", {})
        if not isinstance(rates_raw, dict):
            r.problem(r.line("rates"), "[rates] must be a table of skill = cost per hour")
            rates_raw = {}
        for sk, v in rates_raw.items():
            if sk not in skills:
                r.problem(r.line("rates", sk), f"[rates] names skill {sk!r}, which no stage needs; skills: {', '.join(sorted(skills))}")
            else:
                rate, wrong = parse_rate(v)
                if rate is None:
                    r.problem(r.line("rates", sk), f"the rate of {sk!r} {wrong}")
                else:
                    rates[sk] = rate
        costs = r.data.get("costs", {})
        if not isinstance(costs, dict):
            r.problem(r.line("costs"), "[costs] must be a table")
            costs = {}
        r.check_keys(costs, _COST_KEYS, "[costs]", "costs")
        if "currency" in costs:
            cur = costs["currency"]
            if not isinstance(cur, str) or not _CURRENCY_RE.match(cur):
                r.problem(r.line("costs", "currency"), f"'currency' must be a three-letter code such as \"EUR\", not {cur!r}")
            else:
                opts["currency"] = cur
        p = r.data.get("planning", {})
        if not isinstance(p, dict):
            r.problem(r.line("planning"), "[planning] must be a table")
            p = {}
        r.check_keys(p, _PLAN_KEYS, "[planning]", "planning")
        for key, kind, lo in (("time_limit_s", float, 0.1), ("hold_days", int, 0), ("history_runs", int, 1),
                              ("horizon_weeks", int, 1), ("default_hours", float, 0.01)):
            if key in p:
                v = p[key]
                ok = not isinstance(v, bool) and isinstance(v, (int, float) if kind is float else int) and v >= lo
                if not ok:
                    r.problem(r.line("planning", key), f"{key!r} must be a {'number' if kind is float else 'whole number'} of at least {lo}, not {v!r}")
                else:
                    opts[key] = kind(v)
    capacity = _capacities(people_reader, skills, person_skills, cal)
    return PlanningSettings(cal, std, opts.pop("default_hours", 1.0), rates, capacity, **opts)


def _capacities(r: Any, skills: set[str], person_skills: dict[str, tuple[str, ...]], cal: Calendar) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    if r is None or not r.ok:
        return out
    people = r.data.get("people", [])
    if not isinstance(people, list):
        return out
    week = cal.full_week_hours
    for i, item in enumerate(people):
        if not isinstance(item, dict) or "capacity" not in item:
            continue
        pid = item.get("id")
        cap = item["capacity"]
        line = r.line("people", i, "capacity")
        if not isinstance(cap, dict):
            r.problem(line, f"{pid!r}: capacity must be a table of skill = hours a week, such as {{ setting = 20 }}")
            continue
        problems = declared_problems(cap, person_skills.get(str(pid), ()), skills, week, "a working week")
        for msg in problems:
            r.problem(line, f"{pid!r}: {msg}")
        if not problems:
            out[str(pid)] = {k: float(v) for k, v in cap.items()}
    return out


def declared_problems(hours: dict[str, Any], own_skills: tuple[str, ...] | set[str], skills: set[str],
                      week_hours: float, week_said: str) -> list[str]:
    """What is wrong with hours by skill for one week (people.toml or a kiosk's declaration), in words."""
    out = []
    total = 0.0
    for sk, h in hours.items():
        if sk not in skills:
            out.append(f"unknown skill {sk!r}; skills: {', '.join(sorted(skills))}")
            continue
        if sk not in own_skills:
            out.append(f"has no skill {sk!r} in people.toml (their skills: {', '.join(own_skills) or 'none'})")
            continue
        if isinstance(h, bool) or not isinstance(h, (int, float)) or h < 0:
            out.append(f"hours of {sk!r} must be a number of 0 or more, not {h!r}")
            continue
        total += float(h)
    if not out and total > week_hours + 1e-9:
        out.append(f"declares {total:g} hours, more than the {week_hours:g} working hours of {week_said}")
    return out
