"""Inspection plans, defect codes and batch sampling: parsed from qc.toml, evaluated without any I/O.

qc.toml (optional, beside site.toml) holds:

    [[defects]]        code, text, redo (the stage that usually redoes it), stages (whose rejection offers it)
    [[plans]]          an inspection plan: the checks the QC station works through for one stage
    [[plans.checks]]   one measured or pass/fail check of the plan above it
    [stones]           the stone parcel rules (see domain/stones.py)

The example site's config/qc.toml documents every key. `validate_qc` reports each problem as
``file:line: what is wrong`` through the config loader's reader; `parse_qc` builds the same records
from an already validated table (``site.raw["qc"]``).
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from floorkiosk.domain.records import ID_RE, Route, Site, Stage
from floorkiosk.domain.tomlread import TomlReader, unknown_key
from floorkiosk.domain.units import FINEST, UnitError, bench_weight, canonical_unit, to_grams

# QC event types (their payloads are declared in domain/shapes.py).
QC_INSPECTED = "qc.inspected"
QC_SAMPLE_DRAWN = "qc.sample_drawn"
QC_BATCH_ESCALATED = "qc.batch_escalated"
DEFECT_SEEN = "defect.seen"  # the person a defect was charged to has seen it at their kiosk
from floorkiosk.errors import Refused

PASS, FAIL, NA = "pass", "fail", "n/a"
CHECK_KINDS = ("weight", "measure", "size", "visual")
# Units a measured check may be typed in, as written in qc.toml -> as shown.
MEASURE_UNITS = {"mm": "mm", "µm": "µm", "um": "µm", "micron": "µm", "deg": "°", "°": "°"}
_DEFECT_RE = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,31}$")
_CHECK_KEYS = {"id", "name", "kind", "unit", "min", "max", "tolerance_pct", "tolerance", "defects",
               "only_with_stones", "only_if_route_has", "only_designs_containing"}
_PLAN_KEYS = {"id", "name", "stage", "routes", "designs", "sample", "checks"}
_TOP_KEYS = {"defects", "plans", "stones", "spc"}
_DEFECT_KEYS = {"code", "text", "redo", "stages"}
_SAMPLE_KEYS = {"n", "percent", "min"}
_STONES_KEYS = {"setting_stage", "carat_tolerance"}
_SPC_KEYS = {"baseline", "rules", "hold_on_drift"}
SPC_RULESETS = ("nelson", "western-electric")


class BadAnswer(Refused):
    """A typed answer that is not a measurement, a weight, a size or pass/fail: nothing is recorded."""


@dataclass(frozen=True)
class Defect:
    code: str  # printed on the rework ticket, e.g. LOOSE-STONE
    text: str  # what it means
    redo: str | None = None  # the stage that usually redoes it
    stages: tuple[str, ...] = ()  # the stages whose rejection it applies to; () = its redo stage and those after it

    def applies_to(self, stage: str, route: Route | None) -> bool:
        """Whether a rejection of this stage (on this route) may name this defect."""
        if self.stages:
            return stage in self.stages
        if self.redo is None or self.redo == stage:
            return True
        ids = route.stage_ids if route is not None else ()
        # a defect made at an earlier stage may be found at any later one; not one made later
        return self.redo in ids and stage in ids and ids.index(self.redo) < ids.index(stage)


@dataclass(frozen=True)
class Check:
    """One check of an inspection plan."""

    id: str
    name: str
    kind: str  # weight, measure, size, visual
    unit: str = ""  # measure: mm, µm or °
    min: Decimal | None = None  # measure: lowest acceptable value
    max: Decimal | None = None  # measure: highest acceptable value
    tolerance_pct: Decimal | None = None  # weight: ± % of the reference weight
    tolerance: Decimal | None = None  # size: ± sizes from the size in the client's spec
    defects: tuple[str, ...] = ()  # codes a failure is recorded with; the first is proposed; () = any
    only_with_stones: bool = False
    only_if_route_has: str | None = None
    only_designs_containing: str | None = None

    def limit_text(self, reference: Decimal | None = None, nominal: Decimal | None = None) -> str:
        """The tolerance in words, as the inspector reads it next to the check."""
        if self.kind == "weight":
            ref = f" of {reference.quantize(Decimal('0.001'))} g" if reference is not None else " of the last weigh-out"
            return f"± {_num(self.tolerance_pct)} %{ref}"
        if self.kind == "measure":
            if self.min is not None and self.max is not None:
                return f"{_num(self.min)}–{_num(self.max)} {self.unit}"
            if self.min is not None:
                return f"≥ {_num(self.min)} {self.unit}"
            return f"≤ {_num(self.max)} {self.unit}"
        if self.kind == "size":
            base = _num(nominal) if nominal is not None else "spec size"
            return f"{base} ± {_num(self.tolerance)}"
        return "pass / fail"

    def prompt(self) -> str:
        """What the inspector is asked for this check."""
        if self.kind == "weight":
            return "weight in g (from the scale, or typed)"
        if self.kind == "measure":
            return f"measured {self.unit}"
        if self.kind == "size":
            return "ring size on the mandrel (6.5, 6 1/2 or 54)"
        return "P pass / F fail"


@dataclass(frozen=True)
class Sampling:
    """How many pieces of a batch are inspected: n, or percent (at least min)."""

    n: int | None = None
    percent: Decimal | None = None
    min: int = 1

    def size(self, pieces: int) -> int:
        return sample_size(self, pieces)

    def text(self) -> str:
        if self.percent is not None:
            return f"{_num(self.percent)} % of each batch (at least {self.min})"
        return f"{self.n} of each batch"


@dataclass(frozen=True)
class Plan:
    id: str
    name: str
    stage: str  # the stage it inspects
    checks: tuple[Check, ...]
    routes: tuple[str, ...] = ()  # only jobs on these routes (empty: any)
    designs: tuple[str, ...] = ()  # only jobs of these designs (empty: any)
    sampling: Sampling | None = None  # None: every piece of a batch is inspected

    def matches(self, route: str, design: str) -> bool:
        if self.routes and route not in self.routes:
            return False
        if self.designs and design.casefold() not in {d.casefold() for d in self.designs}:
            return False
        return True

    @property
    def specificity(self) -> tuple[bool, bool]:
        # a plan for a design beats one for a route, which beats one for the stage alone
        return bool(self.designs), bool(self.routes)


@dataclass(frozen=True)
class StoneRules:
    setting_stage: str | None = None  # where stones are set; parcels reconcile when it finishes
    carat_tolerance: Decimal = Decimal("0.01")  # ct difference still counted as a balance


@dataclass(frozen=True)
class SpcRules:
    """[spc]: how control charts are drawn and what drift does."""
    baseline: int = 20  # the first N points give a characteristic its limits until a supervisor fixes them
    rules: str = "nelson"  # or "western-electric"
    hold_on_drift: tuple[str, ...] = ()  # stages whose next piece waits for a supervisor while an alert is open


@dataclass(frozen=True)
class QcConfig:
    defects: dict[str, Defect] = field(default_factory=dict)
    plans: tuple[Plan, ...] = ()
    stones: StoneRules = StoneRules()
    spc: SpcRules = SpcRules()

    def plan_for(self, stage: str, route: str, design: str) -> Plan | None:
        """The most specific plan for this stage of a job: by design, then route, then stage only."""
        best: Plan | None = None
        for p in self.plans:
            if p.stage == stage and p.matches(route, design):
                if best is None or p.specificity > best.specificity:
                    best = p
        return best

    def defects_for(self, stage: str, route: Route | None) -> list[Defect]:
        """The defects a rejection of this stage offers: those it usually redoes first, then the earlier ones'."""
        fit = [d for d in self.defects.values() if d.applies_to(stage, route)]
        return sorted(fit, key=lambda d: d.redo != stage)

    def defect(self, code: str) -> Defect:
        d = self.defects.get(code.strip().upper())
        if d is None:
            known = ", ".join(sorted(self.defects)) or "none are defined in qc.toml"
            raise Refused(f"unknown defect code {code.strip()!r}; codes: {known}")
        return d


def _num(v: Decimal | None) -> str:
    if v is None:
        return "?"
    s = format(v.normalize(), "f") if v == v.to_integral() else format(v, "f")
    return s


# --- reading qc.toml ---------------------------------------------------------------------------

def parse_qc(data: dict[str, Any] | None, site_stages: dict[str, Stage] | None = None,
             routes: dict[str, Route] | None = None) -> QcConfig:
    """The QC records of an already validated qc.toml table (None or {} gives an empty config)."""
    cfg, _ = _build(data or {}, None, site_stages or {}, routes or {}, {})
    return cfg


def validate_qc(reader: TomlReader, stages: dict[str, Stage], routes: dict[str, Route],
                benches: dict[str, Any] | None = None) -> QcConfig:
    """Check qc.toml (read by the config loader's TomlReader); problems go to the reader as file:line."""
    cfg, _ = _build(reader.data, reader, stages, routes, benches or {})
    return cfg


_CACHE: dict[int, tuple[Site, QcConfig]] = {}


def qc_config(site: Site) -> QcConfig:
    """The site's QC config (validated when the site was loaded), built once per loaded site."""
    hit = _CACHE.get(id(site))
    if hit is not None and hit[0] is site:
        return hit[1]
    cfg = parse_qc(site.raw.get("qc"), site.stages, site.routes)
    if len(_CACHE) > 32:
        _CACHE.clear()
    _CACHE[id(site)] = (site, cfg)
    return cfg


class _Where:
    """Finds lines for qc.toml problems with the config loader's locator; quiet when there is none."""

    def __init__(self, reader: TomlReader | None) -> None:
        self.r = reader
        self.loc = reader.loc if reader is not None else None

    def problem(self, line: int, msg: str) -> None:
        if self.r is not None:
            self.r.problem(line, msg)

    def top(self, key: str) -> int:
        return (self.loc.find_key(key) or 1) if self.loc else 1

    def entry(self, table: str, i: int, *needles: str) -> int:
        return self.loc.find_in(table, i, *needles) if self.loc else 1

    def key(self, *path: Any) -> int:
        """Line of the key at `path`, such as ("defects", 3, "redo")."""
        return self.loc.line_of(*path) if self.loc else 1

    def check(self, plan_i: int, check_i: int, cid: str | None = None, key: str | None = None) -> int:
        """Line of the check_i-th [[plans.checks]] of the plan_i-th plan (or of one of its keys)."""
        if not self.loc:
            return 1
        lines = self.loc.lines
        start = self.loc.header("plans", plan_i)
        header = re.compile(r"^\s*\[\[\s*plans\.checks\s*\]\]")
        top = re.compile(r"^\s*\[\[?\s*[^.\]]+\s*\]\]?\s*(#.*)?$")
        n = -1
        line = 0
        for i in range(start, len(lines)):
            if top.match(lines[i]):
                break
            if header.match(lines[i]):
                n += 1
                if n == check_i:
                    line = i + 1
                    break
        if not line:
            # checks written inline (checks = [ {...}, ... ]): find the check's id
            return self.entry("plans", plan_i, "checks", f'"{cid}"' if cid else "checks")
        if key:
            for i in range(line, len(lines)):
                if header.match(lines[i]) or top.match(lines[i]):
                    break
                if re.match(r"^\s*" + re.escape(key) + r"\s*=", lines[i]):
                    return i + 1
        return line


def _dec(v: Any) -> Decimal | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return Decimal(str(v))


def _build(data: dict[str, Any], reader: TomlReader | None, stages: dict[str, Stage], routes: dict[str, Route],
           benches: dict[str, Any]) -> tuple[QcConfig, int]:
    w = _Where(reader)
    before = len(reader.problems) if reader is not None else 0
    for key in data:
        if key not in _TOP_KEYS:
            w.problem(w.key(key), unknown_key(key, "qc.toml", _TOP_KEYS))
    defects = _defects(data, w, stages)
    plans = _plans(data, w, stages, routes, benches, defects)
    stones = _stones(data, w, stages)
    spc = _spc(data, w, stages)
    after = len(reader.problems) if reader is not None else 0
    return QcConfig(defects, tuple(plans), stones, spc), after - before


def _entries(data: dict[str, Any], table: str, w: _Where) -> list[tuple[int, dict[str, Any], int]]:
    items = data.get(table, [])
    if not isinstance(items, list):
        w.problem(w.top(table), f"{table!r} must be a list of [[{table}]] tables")
        return []
    out = []
    for i, item in enumerate(items):
        line = w.loc.header(table, i) if w.loc else 1
        if not isinstance(item, dict):
            w.problem(line, f"each {table!r} entry must be a table")
            continue
        out.append((i, item, line))
    return out


def _defects(data: dict[str, Any], w: _Where, stages: dict[str, Stage]) -> dict[str, Defect]:
    out: dict[str, Defect] = {}
    for i, item, line in _entries(data, "defects", w):
        code, text, redo = item.get("code"), item.get("text"), item.get("redo")
        if not isinstance(code, str) or not _DEFECT_RE.match(code):
            w.problem(w.entry("defects", i, "code") if "code" in item else line,
                      f"defect code {code!r} must be upper-case letters, digits and '-', like LOOSE-STONE"
                      if code is not None else "[[defects]] entry is missing 'code'")
            continue
        if not isinstance(text, str) or not text.strip():
            w.problem(w.entry("defects", i, "text") if "text" in item else line,
                      f"defect {code}: 'text' must say what the defect is")
            text = code
        if redo is not None and (not isinstance(redo, str) or redo not in stages):
            w.problem(w.entry("defects", i, "redo"),
                      f"defect {code}: redo stage {redo!r} is not a stage in routes.toml")
            redo = None
        where = item.get("stages", [])
        if not isinstance(where, list) or not all(isinstance(x, str) and x in stages for x in where):
            w.problem(w.entry("defects", i, "stages"),
                      f"defect {code}: 'stages' must list stages of routes.toml, like [\"stone-setting\"]")
            where = []
        for key in item:
            if key not in _DEFECT_KEYS:
                w.problem(w.key("defects", i, key), f"defect {code}: {unknown_key(key, '[[defects]]', _DEFECT_KEYS)}")
        if code in out:
            w.problem(line, f"defect {code} is defined twice")
            continue
        out[code] = Defect(code, text, redo, tuple(where))
    return out


def _inspectable(stage: Stage, benches: dict[str, Any]) -> bool:
    if stage.verify:
        return True
    if not benches:
        return True  # nothing to judge by (parse_qc without a site)
    return any(getattr(b, "qc", False) and b.serves(stage.id) for b in benches.values())


def _plans(data: dict[str, Any], w: _Where, stages: dict[str, Stage], routes: dict[str, Route],
           benches: dict[str, Any], defects: dict[str, Defect]) -> list[Plan]:
    out: list[Plan] = []
    seen: dict[str, int] = {}
    selectors: dict[tuple, str] = {}
    for i, item, line in _entries(data, "plans", w):
        pid = item.get("id")
        if not isinstance(pid, str) or not ID_RE.match(pid):
            w.problem(w.entry("plans", i, "id") if "id" in item else line,
                      f"plan id {pid!r} must be lower-case letters, digits, '-' or '_'" if pid is not None
                      else "[[plans]] entry is missing 'id'")
            continue
        name = item.get("name", pid)
        if not isinstance(name, str):
            w.problem(w.entry("plans", i, "name"), f"plan {pid!r}: 'name' must be a string")
            name = pid
        for key in item:
            if key not in _PLAN_KEYS:
                w.problem(w.key("plans", i, key), f"plan {pid!r}: {unknown_key(key, '[[plans]]', _PLAN_KEYS)}")
        sid = item.get("stage")
        ok = True
        if not isinstance(sid, str) or sid not in stages:
            w.problem(w.entry("plans", i, "stage") if "stage" in item else line,
                      f"plan {pid!r}: stage {sid!r} is not a stage in routes.toml" if sid is not None
                      else f"plan {pid!r} is missing 'stage' (the stage it inspects)")
            ok = False
        elif not _inspectable(stages[sid], benches):
            w.problem(w.entry("plans", i, "stage"),
                      f"plan {pid!r}: stage {sid!r} is neither verified (verify = true) nor done at a QC bench, "
                      "so no inspection would ever run it")
        plan_routes = _str_list(item, "routes", w, w.entry("plans", i, "routes"), f"plan {pid!r}")
        for rid in plan_routes:
            if rid not in routes:
                w.problem(w.entry("plans", i, "routes", f'"{rid}"'), f"plan {pid!r}: unknown route {rid!r}")
            elif ok and routes[rid].step(sid) is None:
                w.problem(w.entry("plans", i, "routes", f'"{rid}"'),
                          f"plan {pid!r}: route {rid!r} does not go through stage {sid!r}")
        designs = _str_list(item, "designs", w, w.entry("plans", i, "designs"), f"plan {pid!r}")
        sampling = _sampling(item.get("sample"), w, w.entry("plans", i, "sample"), pid)
        checks = _checks(item, i, pid, w, stages, defects)
        if not item.get("checks"):
            w.problem(line, f"plan {pid!r} has no checks: add [[plans.checks]] entries after it")
        if pid in seen:
            w.problem(line, f"plan {pid!r} is defined twice")
            continue
        seen[pid] = i
        if not ok:
            continue
        key = (sid, tuple(sorted(plan_routes)), tuple(sorted(d.casefold() for d in designs)))
        if key in selectors:
            w.problem(line, f"plan {pid!r} applies to the same stage, routes and designs as plan {selectors[key]!r}; "
                            "say which one by giving it routes or designs")
        selectors[key] = pid
        out.append(Plan(pid, name, sid, tuple(checks), tuple(plan_routes), tuple(designs), sampling))
    return out


def _str_list(item: dict[str, Any], key: str, w: _Where, line: int, what: str) -> list[str]:
    v = item.get(key, [])
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        w.problem(line, f"{what}: {key!r} must be a list of strings, not {v!r}")
        return []
    return list(v)


def _sampling(v: Any, w: _Where, line: int, pid: str) -> Sampling | None:
    if v is None:
        return None
    if not isinstance(v, dict):
        w.problem(line, f"plan {pid!r}: 'sample' must be a table like {{ n = 3 }} or {{ percent = 20, min = 2 }}")
        return None
    for key in v:
        if key not in _SAMPLE_KEYS:
            w.problem(line, f"plan {pid!r}: {unknown_key(key, 'its sample', _SAMPLE_KEYS)}")
    n, pct, mn = v.get("n"), v.get("percent"), v.get("min", 1)
    if (n is None) == (pct is None):
        w.problem(line, f"plan {pid!r}: 'sample' needs either n (pieces per batch) or percent, not {'both' if n is not None else 'neither'}")
        return None
    if n is not None and (not isinstance(n, int) or isinstance(n, bool) or n < 1):
        w.problem(line, f"plan {pid!r}: sample n must be a whole number of pieces, at least 1, not {n!r}")
        return None
    p = _dec(pct) if pct is not None else None
    if pct is not None and (p is None or not Decimal(0) < p <= Decimal(100)):
        w.problem(line, f"plan {pid!r}: sample percent must be above 0 and at most 100, not {pct!r}")
        return None
    if not isinstance(mn, int) or isinstance(mn, bool) or mn < 1:
        w.problem(line, f"plan {pid!r}: sample min must be a whole number, at least 1, not {mn!r}")
        mn = 1
    return Sampling(n, p, mn)


def _checks(item: dict[str, Any], pi: int, pid: str, w: _Where, stages: dict[str, Stage],
            defects: dict[str, Defect]) -> list[Check]:
    raw = item.get("checks", [])
    if not isinstance(raw, list):
        w.problem(w.entry("plans", pi, "checks"), f"plan {pid!r}: 'checks' must be [[plans.checks]] tables")
        return []
    out: list[Check] = []
    ids: set[str] = set()
    for j, c in enumerate(raw):
        if not isinstance(c, dict):
            w.problem(w.check(pi, j), f"plan {pid!r}: each check must be a table")
            continue
        cid = c.get("id")
        def at(key: str | None = None, j: int = j, cid: Any = cid) -> int:
            return w.check(pi, j, cid if isinstance(cid, str) else None, key)

        if not isinstance(cid, str) or not ID_RE.match(cid):
            w.problem(at("id"), f"plan {pid!r}: check id {cid!r} must be lower-case letters, digits, '-' or '_'"
                      if cid is not None else f"plan {pid!r}: check #{j + 1} is missing 'id'")
            continue
        what = f"plan {pid!r}, check {cid!r}"
        if cid in ids:
            w.problem(at("id"), f"{what} is defined twice")
            continue
        ids.add(cid)
        for key in c:
            if key not in _CHECK_KEYS:
                w.problem(at(key), f"{what}: {unknown_key(key, '[[plans.checks]]', _CHECK_KEYS)}")
        kind = c.get("kind")
        if kind not in CHECK_KINDS:
            w.problem(at("kind"), f"{what}: kind {kind!r} must be one of {', '.join(CHECK_KINDS)}")
            continue
        name = c.get("name", cid.replace("-", " "))
        if not isinstance(name, str) or not name.strip():
            w.problem(at("name"), f"{what}: 'name' must be a string")
            name = cid
        unit, lo, hi, tol_pct, tol = "", None, None, None, None
        bad = False
        for key in ("min", "max", "tolerance_pct", "tolerance"):
            if key in c and _dec(c[key]) is None:
                w.problem(at(key), f"{what}: {key!r} must be a number, not {c[key]!r}")
                bad = True
        if bad:
            continue
        allowed = {"weight": {"tolerance_pct"}, "measure": {"unit", "min", "max"}, "size": {"tolerance"}, "visual": set()}[kind]
        for key in ("unit", "min", "max", "tolerance_pct", "tolerance"):
            if key in c and key not in allowed:
                w.problem(at(key), f"{what}: {key!r} does not apply to a {kind} check")
        if kind == "weight":
            tol_pct = _dec(c.get("tolerance_pct"))
            if tol_pct is None or tol_pct <= 0:
                w.problem(at("tolerance_pct") if "tolerance_pct" in c else at(),
                          f"{what}: a weight check needs tolerance_pct above 0 (± % of the last weigh-out)")
                continue
            unit = "g"
        elif kind == "measure":
            u = c.get("unit")
            if not isinstance(u, str) or u not in MEASURE_UNITS:
                w.problem(at("unit") if "unit" in c else at(),
                          f"{what}: unit {u!r} must be one of mm, µm (um), deg")
                continue
            unit = MEASURE_UNITS[u]
            lo, hi = _dec(c.get("min")), _dec(c.get("max"))
            if lo is None and hi is None:
                w.problem(at(), f"{what}: a measured check needs min, max or both")
                continue
            if lo is not None and hi is not None and lo > hi:
                w.problem(at("min"), f"{what}: min {_num(lo)} is above max {_num(hi)}")
                continue
        elif kind == "size":
            tol = _dec(c.get("tolerance", 0.25))
            if tol is None or tol < 0:
                w.problem(at("tolerance"), f"{what}: tolerance must be 0 or more sizes")
                continue
        codes = c.get("defects", [])
        if not isinstance(codes, list) or not all(isinstance(x, str) for x in codes):
            w.problem(at("defects"), f"{what}: 'defects' must be a list of defect codes")
            codes = []
        for code in codes:
            if code not in defects and w.r is not None:
                w.problem(at("defects"), f"{what}: unknown defect code {code!r}; define it in a [[defects]] entry")
        if not codes:
            w.problem(at("defects") if "defects" in c else at(),
                      f"{what}: list the defect codes a failure is recorded with, e.g. defects = [\"SCRATCH\"]")
        stones_only = c.get("only_with_stones", False)
        if not isinstance(stones_only, bool):
            w.problem(at("only_with_stones"), f"{what}: only_with_stones must be true or false")
            stones_only = False
        route_has = c.get("only_if_route_has")
        if route_has is not None and (not isinstance(route_has, str) or route_has not in stages):
            w.problem(at("only_if_route_has"), f"{what}: only_if_route_has {route_has!r} is not a stage")
            route_has = None
        contains = c.get("only_designs_containing")
        if contains is not None and (not isinstance(contains, str) or not contains.strip()):
            w.problem(at("only_designs_containing"), f"{what}: only_designs_containing must be a word such as \"ring\"")
            contains = None
        out.append(Check(cid, name, kind, unit, lo, hi, tol_pct, tol, tuple(codes), stones_only, route_has, contains))
    return out


def _stones(data: dict[str, Any], w: _Where, stages: dict[str, Stage]) -> StoneRules:
    s = data.get("stones")
    default_stage = "stone-setting" if "stone-setting" in stages else None
    if s is None:
        return StoneRules(default_stage)
    if not isinstance(s, dict):
        w.problem(w.top("[stones"), "[stones] must be a table")
        return StoneRules(default_stage)
    for key in s:
        if key not in _STONES_KEYS:
            w.problem(w.key("stones", key), unknown_key(key, "[stones]", _STONES_KEYS))
    st = s.get("setting_stage", default_stage)
    if st is not None and (not isinstance(st, str) or st not in stages):
        w.problem(w.top("setting_stage"), f"[stones] setting_stage {st!r} is not a stage in routes.toml")
        st = default_stage
    tol = s.get("carat_tolerance", 0.01)
    t = _dec(tol)
    if t is None or t < 0:
        w.problem(w.top("carat_tolerance"), f"[stones] carat_tolerance must be a number of carats, 0 or more, not {tol!r}")
        t = Decimal("0.01")
    return StoneRules(st, t)


def _spc(data: dict[str, Any], w: _Where, stages: dict[str, Stage]) -> SpcRules:
    s = data.get("spc")
    if s is None:
        return SpcRules()
    if not isinstance(s, dict):
        w.problem(w.top("[spc"), "[spc] must be a table")
        return SpcRules()
    for key in s:
        if key not in _SPC_KEYS:
            w.problem(w.key("spc", key), unknown_key(key, "[spc]", _SPC_KEYS))
    base = s.get("baseline", 20)
    if isinstance(base, bool) or not isinstance(base, int) or not 5 <= base <= 1000:
        w.problem(w.key("spc", "baseline"), f"[spc] baseline must be a whole number of points from 5 to 1000, not {base!r}")
        base = 20
    rules = s.get("rules", "nelson")
    if rules not in SPC_RULESETS:
        w.problem(w.key("spc", "rules"), f"[spc] rules must be one of {', '.join(SPC_RULESETS)}, not {rules!r}")
        rules = "nelson"
    hold = s.get("hold_on_drift", [])
    if not isinstance(hold, list) or not all(isinstance(x, str) for x in hold):
        w.problem(w.key("spc", "hold_on_drift"), "[spc] hold_on_drift must be a list of stage ids")
        hold = []
    for x in hold:
        if x not in stages:
            w.problem(w.key("spc", "hold_on_drift"), f"[spc] hold_on_drift names {x!r}, which is not a stage in routes.toml")
    return SpcRules(base, rules, tuple(x for x in hold if x in stages))


# --- what to inspect -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Facts:
    """What the checks of a plan need to know about the piece."""

    reference_grams: Decimal | None = None  # the last recorded weight before this inspection
    spec_size: Decimal | None = None  # the ring size written in the client's spec
    has_stones: bool = False
    route_stages: tuple[str, ...] = ()
    design: str = ""


_SIZE_RE = re.compile(r"\bsize\s+(\d+(?:[.,]\d+)?(?:\s*(?:\d/\d|[½¼¾]))?)", re.IGNORECASE)
_FRACTIONS = {"½": Decimal("0.5"), "¼": Decimal("0.25"), "¾": Decimal("0.75")}


def spec_size(spec: str) -> Decimal | None:
    """The ring size a client's spec names: 'size 6 1/2, comfort fit' -> 6.5; 'size 54' -> 54."""
    m = _SIZE_RE.search(spec or "")
    if not m:
        return None
    try:
        return parse_size(m.group(1))
    except BadAnswer:
        return None


def _has_word(design: str, word: str) -> bool:
    # a whole word, singular or plural: "ring" is in "Signet ring" and "Wedding rings", not in "earrings"
    w = word.casefold().strip()
    return any(t in (w, w + "s") for t in re.findall(r"[^\W\d_]+", design.casefold()))


def applies(check: Check, facts: Facts) -> tuple[bool, str]:
    """Whether a check applies to this piece; if not, why (shown as n/a)."""
    if check.only_with_stones and not facts.has_stones:
        return False, "no stones on this piece"
    if check.only_if_route_has and check.only_if_route_has not in facts.route_stages:
        return False, f"its route has no {check.only_if_route_has}"
    if check.only_designs_containing and not _has_word(facts.design, check.only_designs_containing):
        return False, f"not a {check.only_designs_containing}"
    if check.kind == "size" and facts.spec_size is None:
        return False, "the spec names no ring size"
    return True, ""


def checklist_checks(plan_checks: tuple[Check, ...], checklist: tuple[str, ...]) -> tuple[Check, ...]:
    """The plan's checks plus a pass/fail check for each checklist item of the stage it leaves out.

    The QC station finishes the route's QC stage with its checklist: every item must have been
    judged by the inspection, so an item the plan does not name becomes a pass/fail check.
    """
    named = {c.name.casefold() for c in plan_checks}
    extra = []
    for k, item in enumerate(checklist):
        if item.casefold() not in named:
            cid = re.sub(r"[^a-z0-9]+", "-", item.casefold()).strip("-")[:40] or f"item-{k + 1}"
            extra.append(Check(f"checklist-{cid}"[:41], item, "visual"))
    return tuple(plan_checks) + tuple(extra)


# --- evaluating answers --------------------------------------------------------------------------

@dataclass(frozen=True)
class CheckResult:
    check: Check
    result: str  # pass, fail, n/a
    text: str = ""  # the answer as typed, or why n/a
    value: Decimal | None = None  # the measurement (grams for weight; pass/fail checks: None)
    deviation_pct: Decimal | None = None  # weight: % above (+) or below (-) the reference
    note: str = ""  # why it failed, in words, e.g. "1.21 mm is below 1.40 mm"
    source: str = "typed"  # typed or scale

    def to_dict(self) -> dict[str, Any]:
        c = self.check
        d: dict[str, Any] = {"id": c.id, "name": c.name, "kind": c.kind, "result": self.result, "text": self.text,
                             "source": self.source}
        if self.value is not None:
            d["value"] = str(self.value)
        if c.unit:
            d["unit"] = c.unit
        for k in ("min", "max", "tolerance_pct", "tolerance"):
            v = getattr(c, k)
            if v is not None:
                d[k] = str(v)
        if self.deviation_pct is not None:
            d["deviation_pct"] = str(self.deviation_pct)
        if self.note:
            d["note"] = self.note
        if self.result == FAIL and c.defects:
            d["defects"] = list(c.defects)
        return d


def parse_number(text: str) -> Decimal:
    t = text.strip().replace(" ", "")
    if t.count(",") == 1 and "." not in t:
        t = t.replace(",", ".")  # 1,85 from a continental keyboard
    try:
        v = Decimal(t)
    except InvalidOperation:
        raise BadAnswer(f"{text.strip()!r} is not a number") from None
    if not v.is_finite():
        raise BadAnswer(f"{text.strip()!r} is not a number")
    return v


def parse_weight(text: str) -> Decimal:
    """Grams from '5.21', '5,21 g' or '3.35 dwt'."""
    m = re.match(r"^\s*([-+]?\d+(?:[.,]\d+)?|[-+]?[.,]\d+)\s*([A-Za-z]*\.?)\s*$", text)
    if not m:
        raise BadAnswer(f"{text.strip()!r} is not a weight (type grams, e.g. 5.214)")
    grams_text, unit = m.group(1), m.group(2) or "g"
    try:
        u = canonical_unit(unit)
        grams = to_grams(parse_number(grams_text), u)
        # refused as no bench scale reads it; a dwt or ozt figure converted is judged at the finest reading
        bench_weight(grams if u == "g" else grams.quantize(FINEST))
        return grams
    except UnitError as exc:
        raise BadAnswer(str(exc)) from None


def parse_size(text: str) -> Decimal:
    """A ring size: '6.5', '6,5', '6 1/2', '6½' or an ISO size '54'."""
    t = text.strip()
    frac = Decimal(0)
    for ch, v in _FRACTIONS.items():
        if t.endswith(ch):
            t, frac = t[:-1].strip(), v
            break
    m = re.match(r"^(\d+)\s+(\d)/(\d)$", t)
    if m:
        if int(m.group(3)) == 0:
            raise BadAnswer(f"{text.strip()!r} is not a ring size")
        return Decimal(m.group(1)) + Decimal(m.group(2)) / Decimal(m.group(3))
    try:
        v = parse_number(t) + frac
    except BadAnswer:
        raise BadAnswer(f"{text.strip()!r} is not a ring size (type 6.5, 6 1/2 or 54)") from None
    if v <= 0:
        raise BadAnswer(f"{text.strip()!r} is not a ring size")
    return v


_YES = {"p", "pass", "ok", "y", "yes", "accept", "good", "+"}
_NO = {"f", "fail", "n", "no", "x", "reject", "bad", "-"}


def parse_visual(text: str) -> bool:
    t = text.strip().casefold()
    if t in _YES:
        return True
    if t in _NO:
        return False
    raise BadAnswer(f"{text.strip()!r} is neither pass nor fail (type P or F)")


def judge(check: Check, text: str, facts: Facts, source: str = "typed") -> CheckResult:
    """Evaluate one answer; BadAnswer (nothing recorded) if it cannot be read."""
    ok, why = applies(check, facts)
    if not ok:
        return CheckResult(check, NA, why)
    text = text.strip()
    if not text:
        raise BadAnswer(f"{check.name}: no answer given")
    try:
        if check.kind == "visual":
            good = parse_visual(text)
            return CheckResult(check, PASS if good else FAIL, "pass" if good else "fail", note="" if good else f"{check.name}: failed")
        if check.kind == "weight":
            grams = parse_weight(text)
            if grams <= 0:
                raise BadAnswer(f"a weight of {text!r} cannot be right: put the piece on the pan")
            ref = facts.reference_grams
            if ref is None or ref <= 0:
                return CheckResult(check, NA, text, grams, note="no earlier weighing to compare with", source=source)
            dev = ((grams - ref) / ref * 100).quantize(Decimal("0.01"))
            good = abs(dev) <= check.tolerance_pct
            note = "" if good else (f"weight {grams.quantize(Decimal('0.001'))} g is {abs(dev)} % "
                                    f"{'above' if dev > 0 else 'below'} {ref.quantize(Decimal('0.001'))} g "
                                    f"(± {_num(check.tolerance_pct)} %)")
            return CheckResult(check, PASS if good else FAIL, text, grams, dev, note, source)
        if check.kind == "size":
            size = parse_size(text)
            nominal = facts.spec_size
            good = abs(size - nominal) <= check.tolerance
            note = "" if good else f"ring size {_num(size)} is not the spec's {_num(nominal)} (± {_num(check.tolerance)})"
            return CheckResult(check, PASS if good else FAIL, text, size, note=note)
        value = parse_number(text)
        if check.min is not None and value < check.min:
            return CheckResult(check, FAIL, text, value,
                               note=f"{check.name} {_num(value)} {check.unit} is below {_num(check.min)} {check.unit}")
        if check.max is not None and value > check.max:
            return CheckResult(check, FAIL, text, value,
                               note=f"{check.name} {_num(value)} {check.unit} is above {_num(check.max)} {check.unit}")
        return CheckResult(check, PASS, text, value)
    except BadAnswer as exc:
        raise BadAnswer(f"{check.name}: {exc}") from None


@dataclass(frozen=True)
class Evaluation:
    results: tuple[CheckResult, ...]
    missing: tuple[str, ...] = ()  # names of checks not answered yet

    @property
    def complete(self) -> bool:
        return not self.missing

    @property
    def failed(self) -> tuple[CheckResult, ...]:
        return tuple(r for r in self.results if r.result == FAIL)

    @property
    def passed(self) -> bool:
        return self.complete and not self.failed

    @property
    def result(self) -> str:
        if not self.complete:
            return "incomplete"
        return FAIL if self.failed else PASS


def evaluate(checks: tuple[Check, ...], answers: dict[str, str], facts: Facts,
             sources: dict[str, str] | None = None) -> Evaluation:
    """Judge every answer; checks that apply but have no answer are listed as missing."""
    results, missing = [], []
    for c in checks:
        ok, why = applies(c, facts)
        if not ok:
            results.append(CheckResult(c, NA, why))
            continue
        text = answers.get(c.id, "")
        if not text.strip():
            missing.append(c.name)
            continue
        results.append(judge(c, text, facts, (sources or {}).get(c.id, "typed")))
    return Evaluation(tuple(results), tuple(missing))


def proposal(ev: Evaluation, cfg: QcConfig, allowed_redo: tuple[str, ...], fallback_redo: str | None) -> tuple[str, str | None, str]:
    """What a failed inspection proposes: (defect code, stage to redo, reason), all editable."""
    code = ""
    for r in ev.failed:
        if r.check.defects:
            code = r.check.defects[0]
            break
    redo = fallback_redo
    d = cfg.defects.get(code)
    if d is not None and d.redo in allowed_redo:
        redo = d.redo
    reason = "; ".join(r.note for r in ev.failed if r.note)
    return code, redo, reason


# --- batch sampling ------------------------------------------------------------------------------

def sample_size(s: Sampling | None, pieces: int) -> int:
    """How many of a batch of `pieces` are inspected (all when the plan does not sample)."""
    if pieces <= 0:
        return 0
    if s is None:
        return pieces
    n = s.n or 0
    if s.percent is not None:
        n = max(n, math.ceil(pieces * s.percent / 100))
    n = max(n, s.min, 1)
    return min(n, pieces)


def draw(batch: str, stage: str, jobs: list[str], n: int) -> list[str]:
    """The pieces of a batch drawn for inspection: the same batch and stage always draw the same."""
    pool = sorted(set(jobs))
    if n >= len(pool):
        return pool
    # A string seed is hashed with SHA-512 by random.Random: stable across runs and machines.
    rng = random.Random(f"floorkiosk-sample/{batch}/{stage}")
    return sorted(rng.sample(pool, n))


# --- the Pareto of defects -------------------------------------------------------------------------

@dataclass(frozen=True)
class ParetoRow:
    key: str  # the stage, bench, person, design or alloy (empty when by defect only)
    defect: str
    count: int
    pct: Decimal  # of all defects, one decimal
    cum_pct: Decimal  # running total, one decimal; the last row is 100.0


def pareto(pairs: list[tuple[str, str]]) -> list[ParetoRow]:
    """Rank (key, defect code) pairs by how often they occur, with % and cumulative %."""
    counts = Counter(pairs)
    total = sum(counts.values())
    if not total:
        return []
    rows = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0][0], kv[0][1]))
    out, running = [], 0
    q = Decimal("0.1")
    for (key, code), n in rows:
        running += n
        out.append(ParetoRow(key, code, n, (Decimal(n) * 100 / total).quantize(q),
                             (Decimal(running) * 100 / total).quantize(q)))
    return out
