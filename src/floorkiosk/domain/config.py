"""The site config loader: reads the TOML files of a site folder and validates them into typed records, once.

A site is a folder of TOML files (see config/ for a complete example):

    site.toml    [site], [[alloys]], [[benches]], [[override_reasons]]
    routes.toml  [[stages]] (the stage catalogue) and [[routes]] (ordered steps with prerequisites)
    people.toml  [[people]] (badge codes, roles, skills)
    qc.toml      optional inspection plans (read by the QC module)

Every problem found is reported as ``file:line: what is wrong``; loading raises ConfigError with all
of them, and nothing starts on a bad config. A key the loader does not know is a problem too (with
the known key it most resembles): a misspelt ``max_loss_pct`` or ``pin`` would otherwise drop the
guardrail it sets without a word. So are NaN and infinity, a stage of a route that no bench
serves, an empty site.toml or people.toml, and (with supervisor_pin) a supervisor without a PIN.

Each check is a pass over the entries, and a line is looked up only for a problem (through an
index of the file made once), so a site of 10,000 people costs little more than parsing its TOML.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

from floorkiosk.domain.calendar import load_planning
from floorkiosk.domain.qc import validate_qc
from floorkiosk.domain.tooling import validate_tooling
from floorkiosk.domain.records import (
    EVIDENCE,
    ID_RE,
    QC_ROLES,
    ROLES,
    Alloy,
    BatchingRules,
    Bench,
    DeviceConfig,
    OverrideReason,
    Person,
    PrinterConfig,
    Route,
    Site,
    SiteSettings,
    Stage,
    Step,
)
from floorkiosk.domain.tomlread import TomlReader, kind_ok, show, unknown_key, wrong_type
from floorkiosk.domain.units import UnitError, canonical_unit
from floorkiosk.errors import ConfigError
from floorkiosk.paths import drivers_dir

__all__ = ["EVIDENCE", "QC_ROLES", "ROLES", "Alloy", "BatchingRules", "Bench", "DeviceConfig", "OverrideReason", "Person",
           "PrinterConfig", "Route", "Site", "SiteSettings", "Stage", "Step", "load_site"]


# --- the keys each table may hold --------------------------------------------------------------
# Anything else is an error (`unknown key 'max_los_pct' in [[stages]] (did you mean max_loss_pct?)`):
# a misspelt key would otherwise be dropped, and with it the guardrail it sets.

_FILE_KEYS = {
    "site.toml": frozenset({"site", "override_reasons", "alloys", "benches", "batching",
                            "metal"}),  # [metal] is validated by the metal ledger (workshop/metal.py)
    "routes.toml": frozenset({"stages", "routes"}),
    "people.toml": frozenset({"people"}),
}
_SITE_KEYS = {
    "name": str,  # the workshop's name, on screens and reports
    "units": list,  # weight units shown side by side, e.g. ["g", "dwt"]
    "idle_logout_seconds": int,  # a bench logs its person out after this long without a scan or key
    "supervisor_pin": bool,  # supervisor actions ask for the PIN after the badge
    "scan_max_key_gap_ms": int,  # keys closer than this that end in Enter come from a scanner
    "timezone": str,  # the workshop's time zone (Europe/Rome); reports count days in it
    "hub": str,  # postgresql://… for many benches; empty or absent: embedded only
}
_ALLOY_KEYS = frozenset({"code", "name", "metal", "fineness"})
_STAGE_KEYS = frozenset({"id", "name", "skill", "start_evidence", "finish_evidence", "checklist", "verify",
                         "max_loss_pct"})
_ROUTE_KEYS = frozenset({"id", "name", "steps"})
_STEP_KEYS = frozenset({"stage", "after"})
_BENCH_KEYS = frozenset({"id", "name", "stages", "qc", "scale", "camera", "scanner", "printer",
                         "casting_method"})  # casting_method: validated by the metal ledger
# A bench's devices: each key and the type it must have. The device layer reads them (kiosk/devices.py).
_DEVICE_KEYS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "scale": {
        "url": str,  # a pyserial URL (/dev/ttyUSB0, socket://host:port) or sim:PROFILE
        "profile": str,  # a protocol profile of drivers/scales, or a .toml path
        "readability": (int, float),  # the smallest step in grams
        "unit": str,  # the unit the balance is set to show (g, dwt, ct, ozt …): a line without a unit
                      # (Sartorius SBI while the weight moves) is in it; a unit the balance sends wins
    },
    "camera": {
        "source": (str, int),  # a camera index, a device path, a stream URL or folder:PATH
    },
    "scanner": {
        "type": str,  # keyboard, serial, hid or camera
        "url": str,  # serial: the port; hid: the input device
        "device": str,  # hid: the input device (/dev/input/by-id/…)
        "source": (str, int),  # camera: as for [benches.camera]
        "prefix": str,  # what the scanner sends before a code
        "suffix": str,  # what it sends after one
        "baudrate": int,  # serial
        "max_key_gap_ms": int,  # a keyboard-wedge scanner of this bench: as [site] scan_max_key_gap_ms
    },
    "printer": {
        "uri": str,  # tcp://host:9100, cups:QUEUE or file:/path
        "dpi": int,  # 203, 300 or 600
        "language": str,  # zpl, pdf or png
        "template_size": str,  # PDF printers: A4 or Letter prints sheets of labels
    },
}
# [batching]: which job bags may share a batch; each rule true or false (all true where absent).
_BATCHING_KEYS = {
    "same_alloy": "same_alloy",  # every piece of one alloy
    "same_route": "same_route",  # every piece on one route
    "same_next_stage": "same_next_stage",  # every piece waiting for the same stage next
    "one_open_batch_per_job": "one_open_batch",  # a job bag in at most one open batch
}
_PERSON_KEYS = frozenset({"id", "name", "badge", "roles", "skills", "pin",
                          "capacity"})  # capacity: hours a week by skill, validated with planning.toml
_REASON_KEYS = frozenset({"code", "text"})


# --- loading ------------------------------------------------------------------------------------

def load_site(folder: str | Path) -> Site:
    """Load and validate a site config folder; raise ConfigError listing every problem."""
    folder = Path(folder)
    problems: list[str] = []
    if not folder.is_dir():
        raise ConfigError([f"{folder}:1: config folder does not exist"])
    site_r = TomlReader(folder / "site.toml", problems)
    routes_r = TomlReader(folder / "routes.toml", problems)
    people_r = TomlReader(folder / "people.toml", problems)
    for r, needs in ((site_r, "its [[benches]] and [[alloys]]"), (people_r, "a [[people]] entry for each person")):
        if r.ok and not r.data:
            r.problem(1, f"{r.path.name} is empty: it must hold {needs}")
    if problems:
        raise ConfigError(problems)
    for r in (site_r, routes_r, people_r):
        r.check_keys(r.data, _FILE_KEYS[r.path.name], r.path.name)

    settings = _settings(site_r)
    alloys = _alloys(site_r)
    stages = _stages(routes_r)
    routes = _routes(routes_r, stages)
    benches = _benches(site_r, stages)
    _every_stage_served(routes_r, routes, stages, benches)
    people = _people(people_r, stages, settings)
    reasons = _override_reasons(site_r)
    batching = _batching(site_r)
    if problems:
        raise ConfigError(problems)
    raw = {"site": site_r.data, "routes": routes_r.data, "people": people_r.data}
    # planning.toml (optional: the calendar, standard hours, rates) and each person's capacity
    plan_path = folder / "planning.toml"
    plan_r = TomlReader(plan_path, problems) if os.path.lexists(plan_path) else None
    planning = load_planning(plan_r, people_r, {s.skill for s in stages.values()},
                             {p.id: p.skills for p in people.values()}, settings.timezone, set(stages))
    if problems:
        raise ConfigError(problems)
    qc_path = folder / "qc.toml"
    if os.path.lexists(qc_path):  # optional; but a folder or a broken link there is reported
        qc_r = TomlReader(qc_path, problems)
        if problems:
            raise ConfigError(problems)
        raw["qc"] = qc_r.data
        # inspection plans and defect codes name stages, routes and benches: check them against these
        validate_qc(qc_r, stages, routes, benches)
        if problems:
            raise ConfigError(problems)
    tools_path = folder / "tools.toml"
    if os.path.lexists(tools_path):  # optional: molds, flasks, dies and fixtures (domain/tooling.py)
        tools_r = TomlReader(tools_path, problems)
        if problems:
            raise ConfigError(problems)
        raw["tools"] = tools_r.data
        validate_tooling(tools_r, tools_r.data, stages)
        if problems:
            raise ConfigError(problems)
    return Site(settings, alloys, stages, routes, benches, people, reasons, folder, raw, batching, planning)


def _batching(r: TomlReader) -> BatchingRules:
    b = r.data.get("batching", {})
    if not isinstance(b, dict):
        r.problem(r.line("batching"), "[batching] must be a table of rules, each true or false")
        return BatchingRules()
    r.check_keys(b, _BATCHING_KEYS.keys(), "[batching]", "batching")
    rules = {}
    for key, field_name in _BATCHING_KEYS.items():
        if key in b:
            if isinstance(b[key], bool):
                rules[field_name] = b[key]
            else:
                r.problem(r.line("batching", key), f"{key!r} in [batching] must be true or false, not {show(b[key])}")
    return BatchingRules(**rules)


def _settings(r: TomlReader) -> SiteSettings:
    s = r.data.get("site", {})
    if not isinstance(s, dict):
        r.problem(r.line("site"), "[site] must be a table")
        return SiteSettings()

    def line(key: str) -> int:
        return r.line("site", key)

    r.check_keys(s, _SITE_KEYS.keys(), "[site]", "site")
    for key in ("name", "timezone"):
        if key in s and not isinstance(s[key], str):
            r.problem(line(key), wrong_type(key, s[key], str))
    units = s.get("units", ["g"])
    good_units: list[str] = []
    if not isinstance(units, list) or not units:
        r.problem(line("units"), "'units' must be a non-empty list such as [\"g\", \"dwt\"]")
    else:
        for u in units:
            try:
                good_units.append(canonical_unit(str(u)))
            except UnitError as exc:
                r.problem(line("units"), str(exc))
    ints = {}
    for key, default, lo in (("idle_logout_seconds", 300, 0), ("scan_max_key_gap_ms", 50, 1)):
        v = s.get(key, default)
        if not isinstance(v, int) or isinstance(v, bool) or v < lo:
            r.problem(line(key), f"{key!r} must be a whole number >= {lo}, not {show(v)}")
            v = default
        ints[key] = v
    pin = s.get("supervisor_pin", False)
    if not isinstance(pin, bool):
        r.problem(line("supervisor_pin"), "'supervisor_pin' must be true or false")
        pin = False
    hub = s.get("hub")
    if hub is not None and (not isinstance(hub, str) or (hub and not hub.startswith(("postgresql://", "postgres://")))):
        # its value is not repeated: it may hold a password
        r.problem(line("hub"), "'hub' must be a postgresql:// address or empty"
                  + ("" if isinstance(hub, str) else f", not {show(hub)}"))
        hub = None
    name, tz = s.get("name", "Workshop"), s.get("timezone", "UTC")
    return SiteSettings(
        name=name if isinstance(name, str) else "Workshop", units=tuple(good_units) or ("g",),
        idle_logout_seconds=ints["idle_logout_seconds"], supervisor_pin=pin,
        scan_max_key_gap_ms=ints["scan_max_key_gap_ms"], timezone=tz if isinstance(tz, str) else "UTC",
        hub=hub or None)


def _check_id(r: TomlReader, table: str, index: int, value: str, what: str) -> bool:
    if not ID_RE.match(value):
        r.problem(r.line(table, index, "id"),
                  f"{what} id {value!r} must be lower-case letters, digits, '-' or '_' (at most 41)")
        return False
    return True


def _alloys(r: TomlReader) -> dict[str, Alloy]:
    out: dict[str, Alloy] = {}
    for i, item in r.entries("alloys"):
        r.check_keys(item, _ALLOY_KEYS, "[[alloys]]", "alloys", i)
        code = r.get("alloys", i, item, "code", str)
        name = r.get("alloys", i, item, "name", str, required=False, default=code)
        metal = r.get("alloys", i, item, "metal", str)
        fin = r.get("alloys", i, item, "fineness", (int, float))
        if code is None or metal is None or fin is None:
            continue
        fineness = Decimal(str(fin))
        if not (Decimal(0) < fineness <= Decimal(1)):
            r.problem(r.line("alloys", i, "fineness"),
                      f"fineness of alloy {code!r} must be above 0 and at most 1 (0.750 for 18K), not {fin}")
            continue
        if code in out:
            r.problem(r.line("alloys", i), f"alloy {code!r} is defined twice")
            continue
        out[code] = Alloy(code, name, metal, fineness)
    return out


def _stages(r: TomlReader) -> dict[str, Stage]:
    out: dict[str, Stage] = {}
    for i, item in r.entries("stages"):
        r.check_keys(item, _STAGE_KEYS, "[[stages]]", "stages", i)
        sid = r.get("stages", i, item, "id", str)
        if sid is None or not _check_id(r, "stages", i, sid, "stage"):
            continue
        name = r.get("stages", i, item, "name", str, required=False, default=sid.replace("-", " ").capitalize())
        skill = r.get("stages", i, item, "skill", str, required=False, default=sid)
        start_ev = r.str_list("stages", i, item, "start_evidence")
        finish_ev = r.str_list("stages", i, item, "finish_evidence")
        for ev in start_ev + finish_ev:
            if ev not in EVIDENCE:
                r.problem(r.loc.find_in("stages", i, "evidence", ev),
                          f"unknown evidence {ev!r} for stage {sid!r}; known: {', '.join(EVIDENCE)} (checklist items go in 'checklist')")
        if "weigh-out" in start_ev:
            r.problem(r.line("stages", i, "start_evidence"), f"stage {sid!r}: weigh-out belongs to finish_evidence")
        if "weigh-in" in finish_ev:
            r.problem(r.line("stages", i, "finish_evidence"), f"stage {sid!r}: weigh-in belongs to start_evidence")
        checklist = r.str_list("stages", i, item, "checklist")
        verify = r.get("stages", i, item, "verify", bool, required=False, default=False)
        loss = r.get("stages", i, item, "max_loss_pct", (int, float), required=False)
        max_loss = None
        if loss is not None:
            max_loss = Decimal(str(loss))
            if not (Decimal(0) <= max_loss <= Decimal(100)):
                r.problem(r.line("stages", i, "max_loss_pct"), f"max_loss_pct of stage {sid!r} must be between 0 and 100, not {loss}")
            if "weigh-in" not in start_ev or "weigh-out" not in finish_ev:
                r.problem(r.line("stages", i, "max_loss_pct"),
                          f"stage {sid!r} has max_loss_pct but does not ask for both weigh-in and weigh-out")
        if sid in out:
            r.problem(r.line("stages", i), f"stage {sid!r} is defined twice")
            continue
        out[sid] = Stage(sid, name, skill, start_ev, finish_ev, checklist, bool(verify), max_loss)
    return out


def _routes(r: TomlReader, stages: dict[str, Stage]) -> dict[str, Route]:
    out: dict[str, Route] = {}
    for i, item in r.entries("routes"):
        r.check_keys(item, _ROUTE_KEYS, "[[routes]]", "routes", i)
        rid = r.get("routes", i, item, "id", str)
        if rid is None or not _check_id(r, "routes", i, rid, "route"):
            continue
        name = r.get("routes", i, item, "name", str, required=False, default=rid)
        raw_steps = r.get("routes", i, item, "steps", list)
        if not raw_steps:
            if raw_steps is not None:
                r.problem(r.line("routes", i), f"route {rid!r} has no steps")
            continue

        def step_line(sid: str, i: int = i) -> int:  # looked up only for a problem
            return r.loc.find_in("routes", i, "steps", f'"{sid}"')

        steps: list[Step] = []
        seen: set[str] = set()
        prev: str | None = None
        for raw in raw_steps:
            if isinstance(raw, str):
                raw = {"stage": raw}
            if not isinstance(raw, dict) or not isinstance(raw.get("stage"), str):
                r.problem(r.line("routes", i, "steps"), f"route {rid!r}: each step must be a stage id or {{ stage = \"…\", after = [\"…\"] }}")
                continue
            sid = raw["stage"]
            if sid not in stages:
                r.problem(step_line(sid), f"route {rid!r} uses unknown stage {sid!r}; stages are defined in [[stages]]")
            if sid in seen:
                r.problem(step_line(sid), f"route {rid!r} lists stage {sid!r} twice")
            after_raw = raw.get("after", [prev] if prev else [])
            if not isinstance(after_raw, list) or not all(isinstance(a, str) for a in after_raw):
                r.problem(step_line(sid), f"route {rid!r}: 'after' of {sid!r} must be a list of stage ids")
                after_raw = []
            if not raw.keys() <= _STEP_KEYS:
                for key in raw:
                    if key not in _STEP_KEYS:
                        r.problem(step_line(sid), unknown_key(key, f"step {sid!r} of route {rid!r}", _STEP_KEYS))
            steps.append(Step(sid, tuple(after_raw)))
            seen.add(sid)
            prev = sid
        for s in steps:
            for a in s.after:
                if a not in seen:
                    r.problem(step_line(s.stage),
                              f"route {rid!r}: stage {s.stage!r} comes after {a!r}, which is not in this route")
        cycle = _find_cycle(steps)
        if cycle:
            r.problem(step_line(cycle[0]), f"route {rid!r}: prerequisites form a cycle: {' -> '.join(cycle)}")
        if rid in out:
            r.problem(r.line("routes", i), f"route {rid!r} is defined twice")
            continue
        out[rid] = Route(rid, name, tuple(steps))
    if not out and not r.problems:
        r.problem(1, "no routes defined: add at least one [[routes]] entry")
    return out


def _find_cycle(steps: list[Step]) -> list[str] | None:
    """A cycle of prerequisites (as a path that ends where it starts), or None.

    Depth-first with its own stack, not recursion: a route of thousands of steps in a chain is
    deeper than Python's recursion limit.
    """
    graph = {s.stage: s.after for s in steps}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for root in graph:
        if root in state:
            continue
        path = [root]
        state[root] = 1
        todo = [iter(graph[root])]
        while todo:
            for m in todo[-1]:
                if m not in graph:
                    continue
                if state.get(m) == 1:
                    return path[path.index(m):] + [m]
                if m not in state:
                    state[m] = 1
                    path.append(m)
                    todo.append(iter(graph[m]))
                    break
            else:
                state[path.pop()] = 2
                todo.pop()
    return None


def _device(r: TomlReader, i: int, item: dict[str, Any], key: str) -> DeviceConfig | None:
    value = item.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        r.problem(r.line("benches", i, key), f"bench {key} must be a table like [benches.{key}]")
        return None
    _device_keys(r, i, value, key, own=("readability",) if key == "scale" else ())
    return DeviceConfig(key, dict(value))


def _device_keys(r: TomlReader, i: int, value: dict[str, Any], key: str, own: tuple[str, ...] = ()) -> None:
    """Unknown keys and wrong types in a [benches.<device>] table (but for the keys in `own`, which
    the caller checks with a message of their own)."""
    schema = _DEVICE_KEYS[key]
    r.check_keys(value, schema.keys(), f"[benches.{key}]", "benches", i, key)
    for k, v in value.items():
        kind = schema.get(k)
        if kind is not None and k not in own and not kind_ok(v, kind):
            r.problem(r.line("benches", i, key, k), wrong_type(k, v, kind))


def _benches(r: TomlReader, stages: dict[str, Stage]) -> dict[str, Bench]:
    out: dict[str, Bench] = {}
    known: set[str] | None = None  # the shipped scale profiles, looked up once
    for i, item in r.entries("benches"):
        r.check_keys(item, _BENCH_KEYS, "[[benches]]", "benches", i)
        bid = r.get("benches", i, item, "id", str)
        if bid is None or not _check_id(r, "benches", i, bid, "bench"):
            continue
        name = r.get("benches", i, item, "name", str, required=False, default=bid)
        served = r.str_list("benches", i, item, "stages")
        for sid in served:
            if sid not in stages:
                r.problem(r.line("benches", i, "stages"), f"bench {bid!r} serves unknown stage {sid!r}")
        qc = r.get("benches", i, item, "qc", bool, required=False, default=False)
        printer = None
        p = item.get("printer")
        if p is not None:
            pline = r.line("benches", i, "printer")
            if not isinstance(p, dict) or not isinstance(p.get("uri"), str):
                r.problem(pline, f"bench {bid!r}: [benches.printer] needs a 'uri' (tcp://host:9100, cups:QUEUE or file:/path)")
                if isinstance(p, dict):
                    _device_keys(r, i, p, "printer", own=("uri", "dpi", "language"))
            else:
                _device_keys(r, i, p, "printer", own=("uri", "dpi", "language"))
                dpi = p.get("dpi", 203)
                lang = p.get("language", "zpl")
                size = p.get("template_size")
                if dpi not in (203, 300, 600):
                    r.problem(r.line("benches", i, "printer", "dpi"), f"bench {bid!r}: printer dpi must be 203, 300 or 600, not {show(dpi)}")
                if lang not in ("zpl", "pdf", "png"):
                    r.problem(r.line("benches", i, "printer", "language"), f"bench {bid!r}: printer language must be zpl, pdf or png, not {show(lang)}")
                if not p["uri"].startswith(("tcp://", "cups:", "file:")):
                    r.problem(r.line("benches", i, "printer", "uri"), f"bench {bid!r}: printer uri {p['uri']!r} must start with tcp://, cups: or file:")
                printer = PrinterConfig(p["uri"], int(dpi) if isinstance(dpi, int) else 203, str(lang),
                                        size if isinstance(size, str) else None)
        scale = _device(r, i, item, "scale")
        if scale is not None:
            if known is None:
                known = _scale_profiles()
            prof = scale.get("profile")
            if isinstance(prof, str) and known and prof not in known and not prof.endswith(".toml"):
                r.problem(r.line("benches", i, "scale", "profile"),
                          f"bench {bid!r}: no scale profile {prof!r}; profiles: {', '.join(sorted(known))}")
            url = scale.get("url")
            if isinstance(url, str) and url.startswith("sim:") and known and url[4:] not in known and not url.endswith(".toml"):
                r.problem(r.line("benches", i, "scale", "url"),
                          f"bench {bid!r}: no scale profile {url[4:]!r} to simulate; profiles: {', '.join(sorted(known))}")
            su = scale.get("unit")
            if isinstance(su, str):
                try:
                    canonical_unit(su)
                except UnitError:
                    r.problem(r.line("benches", i, "scale", "unit"), f"bench {bid!r}: scale unit {su!r} is not a weight "
                              "unit; use g, mg, ct, dwt, ozt, oz or gr")
            rd = scale.get("readability")
            if rd is not None and (not isinstance(rd, (int, float)) or isinstance(rd, bool) or rd <= 0):
                r.problem(r.line("benches", i, "scale", "readability"), f"bench {bid!r}: scale readability must be a positive number of grams such as 0.01")
        camera = _device(r, i, item, "camera")
        scanner = _device(r, i, item, "scanner")
        if bid in out:
            r.problem(r.line("benches", i), f"bench {bid!r} is defined twice")
            continue
        out[bid] = Bench(bid, name, served, bool(qc), scale, camera, scanner, printer)
    return out


def _scale_profiles() -> set[str]:
    """Names of the scale profiles shipped in drivers/scales (a site may also name a .toml path)."""
    try:
        return {p.stem for p in (drivers_dir() / "scales").glob("*.toml")}
    except FileNotFoundError:
        return set()


def _every_stage_served(r: TomlReader, routes: dict[str, Route], stages: dict[str, Stage],
                        benches: dict[str, Bench]) -> None:
    """A stage of a route that no bench serves could never be started: the job would stop there."""
    served = {sid for b in benches.values() for sid in b.stages}
    first: dict[str, str] = {}  # an unserved stage -> the first route through it
    uses: Counter[str] = Counter()
    for route in routes.values():
        for sid in route.stage_ids:
            if sid not in served and sid in stages:
                first.setdefault(sid, route.id)
                uses[sid] += 1
    if not first:
        return
    index: dict[Any, int] = {}  # route id -> its entry (the first, if defined twice)
    for i, item in enumerate(r.data["routes"]):
        if isinstance(item, dict):
            index.setdefault(item.get("id"), i)
    for sid, rid in first.items():
        others = uses[sid] - 1
        also = f" (and {others} other route{'s' if others > 1 else ''})" if others else ""
        r.problem(r.loc.find_in("routes", index[rid], "steps", f'"{sid}"'),
                  f"route {rid!r}{also} goes through stage {sid!r}, which no bench serves: "
                  "add it to a bench's stages in site.toml")


def _people(r: TomlReader, stages: dict[str, Stage], settings: SiteSettings) -> dict[str, Person]:
    out: dict[str, Person] = {}
    badges: dict[str, str] = {}
    skills_known = {s.skill for s in stages.values()}
    roles_known = set(ROLES)
    badge_re = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
    for i, item in r.entries("people"):
        r.check_keys(item, _PERSON_KEYS, "[[people]]", "people", i)
        pid = r.get("people", i, item, "id", str)
        if pid is None or not _check_id(r, "people", i, pid, "person"):
            continue
        name = r.get("people", i, item, "name", str, required=False, default=pid)
        badge = r.get("people", i, item, "badge", str)
        roles = r.str_list("people", i, item, "roles") or ("artisan",)
        if not roles_known.issuperset(roles):
            for role in roles:
                if role not in roles_known:
                    r.problem(r.line("people", i, "roles"), f"{pid!r} has unknown role {role!r}; roles are {', '.join(ROLES)}")
        skills = r.str_list("people", i, item, "skills")
        if not skills_known.issuperset(skills):
            for sk in skills:
                if sk not in skills_known:
                    r.problem(r.line("people", i, "skills"), f"{pid!r} has skill {sk!r} that no stage needs; stage skills are {', '.join(sorted(skills_known))}")
        pin = item.get("pin")
        if pin is not None and (not isinstance(pin, str) or not pin.isdigit() or not 4 <= len(pin) <= 8):
            r.problem(r.line("people", i, "pin"), f"{pid!r}: pin must be 4 to 8 digits in quotes")
            pin = None
        elif pin is None and settings.supervisor_pin:
            # with supervisor_pin, the PIN is what stops a borrowed badge overriding a guardrail:
            # a supervisor (or admin, who may do what a supervisor does) without one would skip it
            acting = [role for role in roles if role in QC_ROLES]
            if acting:
                r.problem(r.line("people", i), f"{pid!r} has the {acting[0]} role but no pin, and [site] supervisor_pin "
                                               "is true: give them pin = \"…\" (4 to 8 digits)")
        if badge is not None:
            if not badge_re.match(badge):
                r.problem(r.line("people", i, "badge"), f"{pid!r}: badge {badge!r} must be letters, digits, '.', '_' or '-'")
            elif badge.upper() in badges:  # a badge typed by hand is read whatever its case
                r.problem(r.line("people", i, "badge"),
                          f"badge {badge!r} of {pid!r} is already {badges[badge.upper()]!r}'s badge")
            else:
                badges[badge.upper()] = pid
        if pid in out:
            r.problem(r.line("people", i), f"person {pid!r} is defined twice")
            continue
        if badge is None:
            continue
        out[pid] = Person(pid, name, badge, roles, skills, pin)
    return out


def _override_reasons(r: TomlReader) -> dict[str, OverrideReason]:
    out: dict[str, OverrideReason] = {}
    for i, item in r.entries("override_reasons"):
        r.check_keys(item, _REASON_KEYS, "[[override_reasons]]", "override_reasons", i)
        code = r.get("override_reasons", i, item, "code", str)
        text = r.get("override_reasons", i, item, "text", str)
        if code is None or text is None:
            continue
        if code in out:
            r.problem(r.line("override_reasons", i), f"override reason {code!r} is defined twice")
            continue
        out[code] = OverrideReason(code, text)
    if not out:
        out["SUPERVISOR"] = OverrideReason("SUPERVISOR", "Supervisor's decision")
    return out
