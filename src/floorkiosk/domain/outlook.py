"""What the master schedule says of the weeks ahead: projected delivery-promise adherence. No I/O.

Projected CDPA for a week is the share of the promises falling due that week (open jobs with their
due date in it) that the schedule finishes on or before their date, × 100. A job the schedule cannot
place (no one has the skill) keeps no promise. Jobs already past their date are late whatever the
plan and belong to the CDPA of the weeks gone by, not to these.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal


@dataclass(frozen=True)
class WeekOutlook:
    monday: date
    label: str  # 2026-W50
    due: int  # promises falling due in the week (from today on)
    kept: int  # the schedule finishes them on or before their date
    late: tuple[str, ...]  # the others, by job

    @property
    def cdpa(self) -> Decimal | None:
        if not self.due:
            return None
        return (Decimal(100 * self.kept) / self.due).quantize(Decimal("0.1"), ROUND_HALF_UP)


def projected_cdpa(jobs: Iterable[tuple[str, date, date | None]], today: date, weeks: int = 4) -> list[WeekOutlook]:
    """jobs: (job, due, planned end or None where it cannot be placed); the weeks from today's on."""
    monday = today - timedelta(days=today.weekday())
    out = []
    rows = sorted(jobs, key=lambda r: (r[1], r[0]))
    for k in range(weeks):
        a = monday + timedelta(days=7 * k)
        b = a + timedelta(days=7)
        due = [(j, d, end) for j, d, end in rows if a <= d < b and d >= today]
        late = tuple(j for j, d, end in due if end is None or end > d)
        iso = a.isocalendar()
        out.append(WeekOutlook(a, f"{iso[0]}-W{iso[1]:02d}", len(due), len(due) - len(late), late))
    return out
