"""The site config loader: reads the TOML files of a site folder and validates them into typed records, once.

A site is a folder of TOML files (see config/ for a complete example):

    site.toml    [site], [[alloys]], [[benches]], [[override_reasons]]
    routes.toml  [[stages]] (the stage catalogue) and [[routes]] (ordered steps with prerequisites)
    people.toml  [[people]] (badge codes, roles, skills)
    qc.toml      optional inspection plans (read by the QC module)

Every problem found is reported as ``file:line: what is wrong``; loading raises ConfigError with all
of them, and nothing starts on a bad config.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

from floorkiosk.domain.qc import validate_qc
from floorkiosk.domain.records import (
    EVIDENCE,
    ID_RE,
    QC_ROLES,
    ROLES,
    Alloy,
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
from floorkiosk.domain.tomlread import TomlReader
from floorkiosk.domain.units import UnitError, canonical_unit
from floorkiosk.errors import ConfigError
from floorkiosk.paths import drivers_dir

__all__ = ["EVIDENCE", "QC_ROLES", "ROLES", "Alloy", "Bench", "DeviceConfig", "OverrideReason", "Person",
           "PrinterConfig", "Route", "Site", "SiteSettings", "Stage", "Step", "load_site"]


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
    if not (site_r.ok and routes_r.ok and people_r.ok):
        raise ConfigError(problems)

    settings = _settings(site_r)
    alloys = _alloys(site_r)
    stages = _stages(routes_r)
    routes = _routes(routes_r, stages)
    benches = _benches(site_r, stages)
    people = _people(people_r, stages)
    reasons = _override_reasons(site_r)
    if problems:
        raise ConfigError(problems)
    raw = {"site": site_r.data, "routes": routes_r.data, "people": people_r.data}
    qc_path = folder / "qc.toml"
    if qc_path.exists():
        qc_r = TomlReader(qc_path, problems)
        if problems:
            raise ConfigError(problems)
        raw["qc"] = qc_r.data
        # inspection plans and defect codes name stages, routes and benches: check them against these
        validate_qc(qc_r, stages, routes, benches)
        if problems:
            raise ConfigError(problems)
    return Site(settings, alloys, stages, routes, benches, people, reasons, folder, raw)


def _settings(r: TomlReader) -> SiteSettings:
    s = r.data.get("site", {})
    line = r.loc.find_key("[site") or 1
    if not isinstance(s, dict):
        r.problem(line, "[site] must be a table")
        return SiteSettings()
    known = {"name", "units", "idle_logout_seconds", "supervisor_pin", "scan_max_key_gap_ms", "timezone", "hub"}
    for key in s:
        if key not in known:
            r.problem(r.loc.find_key(key) or line, f"unknown setting {key!r} in [site]; known: {', '.join(sorted(known))}")
    units = s.get("units", ["g"])
    good_units: list[str] = []
    if not isinstance(units, list) or not units:
        r.problem(r.loc.find_key("units") or line, "'units' must be a non-empty list such as [\"g\", \"dwt\"]")
    else:
        for u in units:
            try:
                good_units.append(canonical_unit(str(u)))
            except UnitError as exc:
                r.problem(r.loc.find_key("units") or line, str(exc))
    ints = {}
    for key, default, lo in (("idle_logout_seconds", 300, 0), ("scan_max_key_gap_ms", 50, 1)):
        v = s.get(key, default)
        if not isinstance(v, int) or isinstance(v, bool) or v < lo:
            r.problem(r.loc.find_key(key) or line, f"{key!r} must be a whole number >= {lo}, not {v!r}")
            v = default
        ints[key] = v
    pin = s.get("supervisor_pin", False)
    if not isinstance(pin, bool):
        r.problem(r.loc.find_key("supervisor_pin") or line, "'supervisor_pin' must be true or false")
        pin = False
    hub = s.get("hub") or None
    if hub is not None and (not isinstance(hub, str) or not hub.startswith(("postgresql://", "postgres://"))):
        r.problem(r.loc.find_key("hub") or line, "'hub' must be a postgresql:// address or empty")
        hub = None
    return SiteSettings(
        name=str(s.get("name", "Workshop")), units=tuple(good_units) or ("g",),
        idle_logout_seconds=ints["idle_logout_seconds"], supervisor_pin=pin,
        scan_max_key_gap_ms=ints["scan_max_key_gap_ms"], timezone=str(s.get("timezone", "UTC")), hub=hub)


def _check_id(r: TomlReader, table: str, index: int, value: str, what: str) -> bool:
    if not ID_RE.match(value):
        r.problem(r.loc.find_in(table, index, "id"),
                  f"{what} id {value!r} must be lower-case letters, digits, '-' or '_' (at most 41)")
        return False
    return True


def _alloys(r: TomlReader) -> dict[str, Alloy]:
    out: dict[str, Alloy] = {}
    for i, item, line in r.entries("alloys"):
        code = r.get("alloys", i, item, "code", str)
        name = r.get("alloys", i, item, "name", str, required=False, default=code)
        metal = r.get("alloys", i, item, "metal", str)
        fin = r.get("alloys", i, item, "fineness", (int, float))
        if code is None or metal is None or fin is None:
            continue
        fineness = Decimal(str(fin))
        if not (Decimal(0) < fineness <= Decimal(1)):
            r.problem(r.loc.find_in("alloys", i, "fineness"),
                      f"fineness of alloy {code!r} must be above 0 and at most 1 (0.750 for 18K), not {fin}")
            continue
        if code in out:
            r.problem(line, f"alloy {code!r} is defined twice")
            continue
        out[code] = Alloy(code, name, metal, fineness)
    return out


def _stages(r: TomlReader) -> dict[str, Stage]:
    out: dict[str, Stage] = {}
    for i, item, line in r.entries("stages"):
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
            r.problem(r.loc.find_in("stages", i, "start_evidence"), f"stage {sid!r}: weigh-out belongs to finish_evidence")
        if "weigh-in" in finish_ev:
            r.problem(r.loc.find_in("stages", i, "finish_evidence"), f"stage {sid!r}: weigh-in belongs to start_evidence")
        checklist = r.str_list("stages", i, item, "checklist")
        verify = r.get("stages", i, item, "verify", bool, required=False, default=False)
        loss = r.get("stages", i, item, "max_loss_pct", (int, float), required=False)
        max_loss = None
        if loss is not None:
            max_loss = Decimal(str(loss))
            if not (Decimal(0) <= max_loss <= Decimal(100)):
                r.problem(r.loc.find_in("stages", i, "max_loss_pct"), f"max_loss_pct of stage {sid!r} must be between 0 and 100, not {loss}")
            if "weigh-in" not in start_ev or "weigh-out" not in finish_ev:
                r.problem(r.loc.find_in("stages", i, "max_loss_pct"),
                          f"stage {sid!r} has max_loss_pct but does not ask for both weigh-in and weigh-out")
        if sid in out:
            r.problem(line, f"stage {sid!r} is defined twice")
            continue
        out[sid] = Stage(sid, name, skill, start_ev, finish_ev, checklist, bool(verify), max_loss)
    return out


def _routes(r: TomlReader, stages: dict[str, Stage]) -> dict[str, Route]:
    out: dict[str, Route] = {}
    for i, item, line in r.entries("routes"):
        rid = r.get("routes", i, item, "id", str)
        if rid is None or not _check_id(r, "routes", i, rid, "route"):
            continue
        name = r.get("routes", i, item, "name", str, required=False, default=rid)
        raw_steps = r.get("routes", i, item, "steps", list)
        if not raw_steps:
            if raw_steps is not None:
                r.problem(line, f"route {rid!r} has no steps")
            continue
        steps: list[Step] = []
        seen: set[str] = set()
        prev: str | None = None
        for raw in raw_steps:
            if isinstance(raw, str):
                raw = {"stage": raw}
            if not isinstance(raw, dict) or not isinstance(raw.get("stage"), str):
                r.problem(r.loc.find_in("routes", i, "steps"), f"route {rid!r}: each step must be a stage id or {{ stage = \"…\", after = [\"…\"] }}")
                continue
            sid = raw["stage"]
            sline = r.loc.find_in("routes", i, "steps", f'"{sid}"')
            if sid not in stages:
                r.problem(sline, f"route {rid!r} uses unknown stage {sid!r}; stages are defined in [[stages]]")
            if sid in seen:
                r.problem(sline, f"route {rid!r} lists stage {sid!r} twice")
            after_raw = raw.get("after", [prev] if prev else [])
            if not isinstance(after_raw, list) or not all(isinstance(a, str) for a in after_raw):
                r.problem(sline, f"route {rid!r}: 'after' of {sid!r} must be a list of stage ids")
                after_raw = []
            extra = set(raw) - {"stage", "after"}
            if extra:
                r.problem(sline, f"route {rid!r}: unknown key(s) {', '.join(sorted(extra))} in step {sid!r}")
            steps.append(Step(sid, tuple(after_raw)))
            seen.add(sid)
            prev = sid
        ids = {s.stage for s in steps}
        for s in steps:
            for a in s.after:
                if a not in ids:
                    r.problem(r.loc.find_in("routes", i, "steps", f'"{s.stage}"'),
                              f"route {rid!r}: stage {s.stage!r} comes after {a!r}, which is not in this route")
        cycle = _find_cycle(steps)
        if cycle:
            r.problem(r.loc.find_in("routes", i, "steps", f'"{cycle[0]}"'),
                      f"route {rid!r}: prerequisites form a cycle: {' -> '.join(cycle)}")
        if rid in out:
            r.problem(line, f"route {rid!r} is defined twice")
            continue
        out[rid] = Route(rid, name, tuple(steps))
    if not out and not r.problems:
        r.problem(1, "no routes defined: add at least one [[routes]] entry")
    return out


def _find_cycle(steps: list[Step]) -> list[str] | None:
    graph = {s.stage: list(s.after) for s in steps}
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        path.append(n)
        for m in graph.get(n, []):
            if m not in graph:
                continue
            if state.get(m) == 1:
                return path[path.index(m):] + [m]
            if m not in state:
                found = visit(m)
                if found:
                    return found
        path.pop()
        state[n] = 2
        return None

    for n in graph:
        if n not in state:
            found = visit(n)
            if found:
                return found
    return None


def _device(r: TomlReader, i: int, item: dict[str, Any], key: str) -> DeviceConfig | None:
    value = item.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        r.problem(r.loc.find_in("benches", i, key), f"bench {key} must be a table like [benches.{key}]")
        return None
    return DeviceConfig(key, dict(value))


def _benches(r: TomlReader, stages: dict[str, Stage]) -> dict[str, Bench]:
    out: dict[str, Bench] = {}
    for i, item, line in r.entries("benches"):
        bid = r.get("benches", i, item, "id", str)
        if bid is None or not _check_id(r, "benches", i, bid, "bench"):
            continue
        name = r.get("benches", i, item, "name", str, required=False, default=bid)
        served = r.str_list("benches", i, item, "stages")
        for sid in served:
            if sid not in stages:
                r.problem(r.loc.find_in("benches", i, "stages"), f"bench {bid!r} serves unknown stage {sid!r}")
        qc = r.get("benches", i, item, "qc", bool, required=False, default=False)
        printer = None
        p = item.get("printer")
        if p is not None:
            pline = r.loc.find_in("benches", i, "printer")
            if not isinstance(p, dict) or not isinstance(p.get("uri"), str):
                r.problem(pline, f"bench {bid!r}: [benches.printer] needs a 'uri' (tcp://host:9100, cups:QUEUE or file:/path)")
            else:
                dpi = p.get("dpi", 203)
                lang = p.get("language", "zpl")
                if dpi not in (203, 300, 600):
                    r.problem(r.loc.find_in("benches", i, "printer", "dpi"), f"bench {bid!r}: printer dpi must be 203, 300 or 600, not {dpi!r}")
                if lang not in ("zpl", "pdf", "png"):
                    r.problem(r.loc.find_in("benches", i, "printer", "language"), f"bench {bid!r}: printer language must be zpl, pdf or png, not {lang!r}")
                if not p["uri"].startswith(("tcp://", "cups:", "file:")):
                    r.problem(r.loc.find_in("benches", i, "printer", "uri"), f"bench {bid!r}: printer uri {p['uri']!r} must start with tcp://, cups: or file:")
                printer = PrinterConfig(p["uri"], int(dpi) if isinstance(dpi, int) else 203, str(lang), p.get("template_size"))
        scale = _device(r, i, item, "scale")
        if scale is not None:
            prof = scale.get("profile")
            known = _scale_profiles()
            if isinstance(prof, str) and known and prof not in known and not prof.endswith(".toml"):
                r.problem(r.loc.find_in("benches", i, "scale", "profile"),
                          f"bench {bid!r}: no scale profile {prof!r}; profiles: {', '.join(sorted(known))}")
            url = scale.get("url")
            if isinstance(url, str) and url.startswith("sim:") and known and url[4:] not in known and not url.endswith(".toml"):
                r.problem(r.loc.find_in("benches", i, "scale", "url"),
                          f"bench {bid!r}: no scale profile {url[4:]!r} to simulate; profiles: {', '.join(sorted(known))}")
            rd = scale.get("readability")
            if rd is not None and (not isinstance(rd, (int, float)) or isinstance(rd, bool) or rd <= 0):
                r.problem(r.loc.find_in("benches", i, "scale", "readability"), f"bench {bid!r}: scale readability must be a positive number of grams such as 0.01")
        if bid in out:
            r.problem(line, f"bench {bid!r} is defined twice")
            continue
        out[bid] = Bench(bid, name, served, bool(qc), scale, _device(r, i, item, "camera"),
                         _device(r, i, item, "scanner"), printer)
    return out


def _scale_profiles() -> set[str]:
    """Names of the scale profiles shipped in drivers/scales (a site may also name a .toml path)."""
    try:
        return {p.stem for p in (drivers_dir() / "scales").glob("*.toml")}
    except FileNotFoundError:
        return set()


def _people(r: TomlReader, stages: dict[str, Stage]) -> dict[str, Person]:
    out: dict[str, Person] = {}
    badges: dict[str, str] = {}
    skills_known = {s.skill for s in stages.values()}
    for i, item, line in r.entries("people"):
        pid = r.get("people", i, item, "id", str)
        if pid is None or not _check_id(r, "people", i, pid, "person"):
            continue
        name = r.get("people", i, item, "name", str, required=False, default=pid)
        badge = r.get("people", i, item, "badge", str)
        roles = r.str_list("people", i, item, "roles") or ("artisan",)
        for role in roles:
            if role not in ROLES:
                r.problem(r.loc.find_in("people", i, "roles"), f"{pid!r} has unknown role {role!r}; roles are {', '.join(ROLES)}")
        skills = r.str_list("people", i, item, "skills")
        for sk in skills:
            if sk not in skills_known:
                r.problem(r.loc.find_in("people", i, "skills"), f"{pid!r} has skill {sk!r} that no stage needs; stage skills are {', '.join(sorted(skills_known))}")
        pin = item.get("pin")
        if pin is not None and (not isinstance(pin, str) or not pin.isdigit() or not 4 <= len(pin) <= 8):
            r.problem(r.loc.find_in("people", i, "pin"), f"{pid!r}: pin must be 4 to 8 digits in quotes")
            pin = None
        if badge is not None:
            if not re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$", badge):
                r.problem(r.loc.find_in("people", i, "badge"), f"{pid!r}: badge {badge!r} must be letters, digits, '.', '_' or '-'")
            elif badge in badges:
                r.problem(r.loc.find_in("people", i, "badge"), f"badge {badge!r} of {pid!r} is already {badges[badge]!r}'s badge")
            else:
                badges[badge] = pid
        if pid in out:
            r.problem(line, f"person {pid!r} is defined twice")
            continue
        if badge is None:
            continue
        out[pid] = Person(pid, name, badge, roles, skills, pin)
    return out


def _override_reasons(r: TomlReader) -> dict[str, OverrideReason]:
    out: dict[str, OverrideReason] = {}
    for i, item, line in r.entries("override_reasons"):
        code = r.get("override_reasons", i, item, "code", str)
        text = r.get("override_reasons", i, item, "text", str)
        if code is None or text is None:
            continue
        if code in out:
            r.problem(line, f"override reason {code!r} is defined twice")
            continue
        out[code] = OverrideReason(code, text)
    if not out:
        out["SUPERVISOR"] = OverrideReason("SUPERVISOR", "Supervisor's decision")
    return out
