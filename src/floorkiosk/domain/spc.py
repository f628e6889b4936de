"""Statistical process control: control limits, the run rules and capability.

Plain arithmetic on a series of measurements, nothing about where they come from. The formulas and
constants are the textbook ones (Shewhart charts as the NIST/SEMATECH e-Handbook of Statistical
Methods, section 6.3, gives them; the run rules as Nelson, J. Quality Technology 16 (1984), and the
Western Electric Statistical Quality Control Handbook (1956) state them).

- An individuals chart (I-MR) estimates sigma from the mean moving range of two: sigma = MR-bar / d2(2).
- An X-bar-R chart of rational subgroups of n estimates it from the mean range: sigma = R-bar / d2(n).
- Limits come from a baseline (points the supervisor fixed as "the process when it was right", or the
  first N points); later points are judged against them, never folded into them.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

# Shewhart constants by subgroup size n: (A2, D3, D4, d2). Source: NIST/SEMATECH e-Handbook 6.3.2 and
# ASTM E2587 tables (d2(2) = 1.128, D4(2) = 3.267).
CONSTANTS: dict[int, tuple[float, float, float, float]] = {
    2: (1.880, 0.0, 3.267, 1.128),
    3: (1.023, 0.0, 2.574, 1.693),
    4: (0.729, 0.0, 2.282, 2.059),
    5: (0.577, 0.0, 2.114, 2.326),
    6: (0.483, 0.0, 2.004, 2.534),
    7: (0.419, 0.076, 1.924, 2.704),
    8: (0.373, 0.136, 1.864, 2.847),
    9: (0.337, 0.184, 1.816, 2.970),
    10: (0.308, 0.223, 1.777, 3.078),
}

# The events of process control (job-less: they concern a characteristic, not a piece).
SPC_BASELINE_FIXED = "spc.baseline.fixed"  # a supervisor fixed a characteristic's limits on its points so far
SPC_ALERT_ACKNOWLEDGED = "spc.alert.acknowledged"  # a supervisor looked at its open alerts, and says what was done

# Corrective actions (CAPA): opened, the change made, closed once its effect is seen.
CAPA_OPENED = "capa.opened"
CAPA_CHANGED = "capa.changed"
CAPA_CLOSED = "capa.closed"
CAPA_CAUSES = ("method", "material", "machine", "person", "measurement")

MIN_BASELINE = 5  # fewer points than this give no limits worth the name


class TooFewPoints(ValueError):
    """A chart was asked of fewer points than its limits need."""


class NoVariation(TooFewPoints):
    """The baseline's points do not vary (a scale reading the same to its last digit): no limits can be drawn."""


def _varies(sigma: float, mean: float) -> None:
    if sigma <= 1e-9 * max(1.0, abs(mean)):
        raise NoVariation("the baseline's points do not vary at all; limits need points that do")


class NoTolerance(ValueError):
    """Capability was asked against a tolerance that is missing or has no width."""


@dataclass(frozen=True)
class Limits:
    """A chart's centre line and control limits, and the sigma they rest on."""
    center: float
    ucl: float
    lcl: float
    sigma: float
    # the companion range chart (moving range for individuals, subgroup range for X-bar)
    r_center: float
    r_ucl: float
    r_lcl: float
    n: int  # the points (individuals) or subgroups (X-bar) the limits were computed from
    subgroup: int = 1
    within: float = 0.0  # the process's own sigma (of single pieces), what capability is judged on

    def zone(self, x: float) -> float:
        """How many sigmas x lies from the centre line (signed)."""
        return (x - self.center) / self.sigma if self.sigma > 0 else 0.0


def moving_ranges(values: Sequence[float]) -> list[float]:
    return [abs(b - a) for a, b in zip(values, values[1:])]


def individuals(baseline: Sequence[float]) -> Limits:
    """I-MR limits from a baseline of individual measurements."""
    if len(baseline) < max(2, MIN_BASELINE):
        raise TooFewPoints(f"{len(baseline)} point{'s' if len(baseline) != 1 else ''}; "
                           f"limits need at least {MIN_BASELINE}")
    _a2, d3, d4, d2 = CONSTANTS[2]
    mean = math.fsum(baseline) / len(baseline)
    mrs = moving_ranges(baseline)
    mr_bar = math.fsum(mrs) / len(mrs)
    sigma = mr_bar / d2
    _varies(sigma, mean)
    return Limits(center=mean, ucl=mean + 3 * sigma, lcl=mean - 3 * sigma, sigma=sigma,
                  r_center=mr_bar, r_ucl=d4 * mr_bar, r_lcl=d3 * mr_bar, n=len(baseline), within=sigma)


def xbar_r(subgroups: Sequence[Sequence[float]]) -> Limits:
    """X-bar-R limits from a baseline of equal-sized subgroups (2 to 10 pieces each)."""
    if len(subgroups) < MIN_BASELINE:
        raise TooFewPoints(f"{len(subgroups)} subgroups; limits need at least {MIN_BASELINE}")
    sizes = {len(g) for g in subgroups}
    if len(sizes) != 1:
        raise ValueError(f"subgroups differ in size ({', '.join(str(s) for s in sorted(sizes))})")
    n = sizes.pop()
    if n not in CONSTANTS:
        raise ValueError(f"a subgroup of {n}: X-bar-R charts take subgroups of 2 to 10")
    a2, d3, d4, d2 = CONSTANTS[n]
    means = [math.fsum(g) / n for g in subgroups]
    ranges = [max(g) - min(g) for g in subgroups]
    grand = math.fsum(means) / len(means)
    r_bar = math.fsum(ranges) / len(ranges)
    _varies(r_bar, grand)
    return Limits(center=grand, ucl=grand + a2 * r_bar, lcl=grand - a2 * r_bar, sigma=r_bar / d2 / math.sqrt(n),
                  r_center=r_bar, r_ucl=d4 * r_bar, r_lcl=d3 * r_bar, n=len(subgroups), subgroup=n,
                  within=r_bar / d2)


# --- the run rules --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    number: int
    text: str


NELSON: dict[int, Rule] = {r.number: r for r in (
    Rule(1, "a point more than 3 sigma from the centre line"),
    Rule(2, "nine points in a row on one side of the centre line"),
    Rule(3, "six points in a row steadily rising or falling"),
    Rule(4, "fourteen points in a row alternating up and down"),
    Rule(5, "two of three points in a row more than 2 sigma out, on one side"),
    Rule(6, "four of five points in a row more than 1 sigma out, on one side"),
    Rule(7, "fifteen points in a row within 1 sigma of the centre line"),
    Rule(8, "eight points in a row more than 1 sigma out, on either side"),
)}

WESTERN_ELECTRIC: dict[int, Rule] = {r.number: r for r in (
    Rule(1, "a point more than 3 sigma from the centre line"),
    Rule(2, "two of three points in a row more than 2 sigma out, on one side"),
    Rule(3, "four of five points in a row more than 1 sigma out, on one side"),
    Rule(4, "eight points in a row on one side of the centre line"),
)}

RULESETS = {"nelson": NELSON, "western-electric": WESTERN_ELECTRIC}


@dataclass(frozen=True)
class Violation:
    rule: int
    index: int  # the point that completes the pattern
    text: str


def _same_side_run(z: Sequence[float], end: int, length: int) -> bool:
    if end + 1 < length:
        return False
    w = z[end + 1 - length:end + 1]
    return all(v > 0 for v in w) or all(v < 0 for v in w)


def _k_of_m_beyond(z: Sequence[float], end: int, k: int, m: int, beyond: float) -> bool:
    """k of the last m points (the last one among them) beyond `beyond` sigma on the last point's side."""
    if end + 1 < m:
        return False
    last = z[end]
    if abs(last) <= beyond:
        return False
    side = 1 if last > 0 else -1
    w = z[end + 1 - m:end + 1]
    return sum(1 for v in w if v * side > beyond) >= k


def _trend(x: Sequence[float], end: int, length: int) -> bool:
    if end + 1 < length:
        return False
    w = x[end + 1 - length:end + 1]
    steps = [b - a for a, b in zip(w, w[1:])]
    return all(s > 0 for s in steps) or all(s < 0 for s in steps)


def _alternating(x: Sequence[float], end: int, length: int) -> bool:
    if end + 1 < length:
        return False
    w = x[end + 1 - length:end + 1]
    steps = [b - a for a, b in zip(w, w[1:])]
    return all(s != 0 for s in steps) and all((a > 0) != (b > 0) for a, b in zip(steps, steps[1:]))


def _nelson_at(x: Sequence[float], z: Sequence[float], i: int) -> list[int]:
    hit: list[int] = []
    if abs(z[i]) > 3:
        hit.append(1)
    if _same_side_run(z, i, 9):
        hit.append(2)
    if _trend(x, i, 6):
        hit.append(3)
    if _alternating(x, i, 14):
        hit.append(4)
    if _k_of_m_beyond(z, i, 2, 3, 2):
        hit.append(5)
    if _k_of_m_beyond(z, i, 4, 5, 1):
        hit.append(6)
    if i + 1 >= 15 and all(abs(v) < 1 for v in z[i - 14:i + 1]):
        hit.append(7)
    if i + 1 >= 8 and all(abs(v) > 1 for v in z[i - 7:i + 1]):
        hit.append(8)
    return hit


def _western_at(z: Sequence[float], i: int) -> list[int]:
    hit: list[int] = []
    if abs(z[i]) > 3:
        hit.append(1)
    if _k_of_m_beyond(z, i, 2, 3, 2):
        hit.append(2)
    if _k_of_m_beyond(z, i, 4, 5, 1):
        hit.append(3)
    if _same_side_run(z, i, 8):
        hit.append(4)
    return hit


def violations(values: Sequence[float], limits: Limits, rules: str = "nelson", start: int = 0) -> list[Violation]:
    """Every rule broken at each point from `start` on (a pattern is reported at the point completing it).

    Whole series at once with numpy (a year of a characteristic is a few milliseconds); the same
    rules as `violations_one_by_one`, which judges point by point and is what the tests hold it to.
    """
    n = len(values)
    if n == 0 or start >= n:
        return []
    import numpy as np  # a whole series' rules: the CLI's start-up does not pay for numpy

    table = RULESETS[rules]
    x = np.asarray(values, dtype=float)
    z = (x - limits.center) / limits.sigma if limits.sigma > 0 else np.zeros(n)

    def run(mask, length: int):
        """At each point: the last `length` points all satisfy mask (False before there are that many)."""
        size = len(mask)
        out = np.zeros(size, dtype=bool)
        if size >= length:
            cs = np.concatenate(([0], np.cumsum(mask, dtype=np.int64)))
            out[length - 1:] = (cs[length:] - cs[:-length]) == length
        return out

    def k_of_m(k: int, m: int, beyond: float):
        out = np.zeros(n, dtype=bool)
        for side_mask, last in ((z > beyond, z > beyond), (z < -beyond, z < -beyond)):
            if n >= m:
                cs = np.concatenate(([0], np.cumsum(side_mask, dtype=np.int64)))
                cnt = np.zeros(n, dtype=np.int64)
                cnt[m - 1:] = cs[m:] - cs[:-m]
                out |= last & (cnt >= k)
        return out

    d = np.diff(x)
    hits: dict[int, np.ndarray] = {}
    if rules == "nelson":
        hits[1] = np.abs(z) > 3
        hits[2] = run(z > 0, 9) | run(z < 0, 9)
        trend = np.zeros(n, dtype=bool)
        trend[1:] = run(d > 0, 5) | run(d < 0, 5)  # d[j] is the step into point j+1
        hits[3] = trend
        alt = np.zeros(n, dtype=bool)
        if n >= 14:
            flips = (d[1:] * d[:-1]) < 0  # flips[j]: the steps d[j] and d[j+1] go opposite ways
            cs = np.concatenate(([0], np.cumsum(flips, dtype=np.int64)))
            # point i completes fourteen alternating points when flips i-13 .. i-2 all hold
            alt[13:] = (cs[12:n - 1] - cs[0:n - 13]) == 12
        hits[4] = alt
        hits[5] = k_of_m(2, 3, 2)
        hits[6] = k_of_m(4, 5, 1)
        hits[7] = run(np.abs(z) < 1, 15)
        hits[8] = run(np.abs(z) > 1, 8)
    else:
        hits[1] = np.abs(z) > 3
        hits[2] = k_of_m(2, 3, 2)
        hits[3] = k_of_m(4, 5, 1)
        hits[4] = run(z > 0, 8) | run(z < 0, 8)
    out: list[Violation] = []
    idx = sorted((int(i), r) for r, mask in hits.items() for i in np.flatnonzero(mask[start:]) + start)
    for i, r in idx:
        out.append(Violation(r, i, table[r].text))
    return out


def violations_one_by_one(values: Sequence[float], limits: Limits, rules: str = "nelson",
                          start: int = 0) -> list[Violation]:
    """The rules judged point by point, as the rules are written (the reference for `violations`)."""
    table = RULESETS[rules]
    z = [limits.zone(v) for v in values]
    out: list[Violation] = []
    for i in range(start, len(values)):
        hits = _nelson_at(values, z, i) if rules == "nelson" else _western_at(z, i)
        out.extend(Violation(r, i, table[r].text) for r in hits)
    return out


def violations_at_last(values: Sequence[float], limits: Limits, rules: str = "nelson") -> list[Violation]:
    """The rules the newest point breaks: what an inspection just recorded needs, in a few microseconds."""
    if not values:
        return []
    tail = list(values[-15:])  # the longest pattern is fifteen points
    found = violations_one_by_one(tail, limits, rules, start=len(tail) - 1)
    shift = len(values) - len(tail)
    return [Violation(v.rule, v.index + shift, v.text) for v in found]


# --- capability -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Capability:
    cp: float | None  # None with a one-sided tolerance
    cpk: float
    cpu: float | None
    cpl: float | None


def capability(mean: float, sigma: float, lsl: float | None, usl: float | None) -> Capability:
    """Cp and Cpk of a process with this mean and (within) sigma against the tolerance [lsl, usl]."""
    if lsl is None and usl is None:
        raise NoTolerance("the plan gives no tolerance for this check")
    if lsl is not None and usl is not None and usl <= lsl:
        raise NoTolerance(f"the tolerance {lsl:g} to {usl:g} has no width")
    if sigma <= 0:
        raise NoTolerance("the measurements do not vary at all; capability is not defined")
    cpu = (usl - mean) / (3 * sigma) if usl is not None else None
    cpl = (mean - lsl) / (3 * sigma) if lsl is not None else None
    cp = (usl - lsl) / (6 * sigma) if usl is not None and lsl is not None else None
    cpk = min(c for c in (cpu, cpl) if c is not None)
    return Capability(cp=cp, cpk=cpk, cpu=cpu, cpl=cpl)
