"""Tooling: molds, flasks, dies and fixtures with ids, use counts and limits (config/tools.toml).

Tools wear: a rubber mold's edges soften, a die's fit changes, and defects rise without a clear
cause (seed 002). Each tool has an id printed on its label (FK:T:M12); the stage that uses one scans
it; each use is counted, and a tool past its kind's `warn_after` uses since its last maintenance is
flagged at the bench; past `block_after`, or retired, it cannot be used until maintained.

    [[kinds]]
    id = "rubber-mold"
    name = "Rubber mold"
    stages = ["wax-injection"]   # stages that use a tool of this kind (scanned at the bench)
    required = true              # a run of those stages must scan one before it finishes
    warn_after = 150             # uses since maintenance: the bench is warned
    block_after = 200            # uses since maintenance: refused until maintained

    [[tools]]
    id = "M12"
    kind = "rubber-mold"
    name = "Solitaire ring, size 6"
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from floorkiosk.domain.records import Stage
from floorkiosk.domain.tomlread import TomlReader, unknown_key

TOOL_USED = "tool.used"  # a tool scanned for a stage's run of a job
TOOL_MAINTAINED = "tool.maintained"  # maintained: its count since maintenance starts again
TOOL_RETIRED = "tool.retired"  # out of use for good

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$", re.ASCII)
_TOP = {"kinds", "tools"}
_KIND_KEYS = {"id", "name", "stages", "required", "warn_after", "block_after"}
_TOOL_KEYS = {"id", "kind", "name"}


@dataclass(frozen=True)
class ToolKind:
    id: str
    name: str
    stages: tuple[str, ...]
    warn_after: int | None = None
    block_after: int | None = None
    required: bool = False  # a run of its stages must scan one before it finishes


@dataclass(frozen=True)
class Tool:
    id: str
    kind: str
    name: str = ""


@dataclass(frozen=True)
class Tooling:
    kinds: dict[str, ToolKind] = field(default_factory=dict)
    tools: dict[str, Tool] = field(default_factory=dict)

    def for_stage(self, stage: str) -> list[ToolKind]:
        """The kinds of tool a stage uses."""
        return [k for k in self.kinds.values() if stage in k.stages]

    def tool(self, code: str) -> Tool | None:
        c = code.strip()
        return self.tools.get(c) or next((t for t in self.tools.values() if t.id.upper() == c.upper()), None)


def _count(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 1


def validate_tooling(r: TomlReader | None, data: dict[str, Any], stages: dict[str, Stage]) -> Tooling:
    """tools.toml's kinds and tools; each mistake to the reader as file:line (none without a reader)."""
    def problem(line: int, msg: str) -> None:
        if r is not None:
            r.problem(line, msg)

    def line(*path: Any) -> int:
        return r.loc.line_of(*path) if r is not None and r.loc else 1

    for key in data:
        if key not in _TOP:
            problem(line(key), unknown_key(key, "tools.toml", _TOP))
    kinds: dict[str, ToolKind] = {}
    for i, k in enumerate(data.get("kinds", []) if isinstance(data.get("kinds", []), list) else []):
        if not isinstance(k, dict):
            problem(line("kinds", i), "each [[kinds]] must be a table")
            continue
        for key in k:
            if key not in _KIND_KEYS:
                problem(line("kinds", i, key), unknown_key(key, "[[kinds]]", _KIND_KEYS))
        kid = k.get("id")
        if not isinstance(kid, str) or not _ID_RE.match(kid):
            problem(line("kinds", i), f"[[kinds]] needs an id of letters, digits, '.', '_' or '-', not {kid!r}")
            continue
        if kid in kinds:
            problem(line("kinds", i, "id"), f"tool kind {kid!r} is defined twice")
        sts = k.get("stages", [])
        if not isinstance(sts, list) or not all(isinstance(s, str) for s in sts):
            problem(line("kinds", i, "stages"), f"kind {kid!r}: stages must be a list of stage ids")
            sts = []
        for s in sts:
            if s not in stages:
                problem(line("kinds", i, "stages"), f"kind {kid!r}: {s!r} is not a stage in routes.toml")
        warn, block = k.get("warn_after"), k.get("block_after")
        for name, v in (("warn_after", warn), ("block_after", block)):
            if v is not None and not _count(v):
                problem(line("kinds", i, name), f"kind {kid!r}: {name} must be a whole number of uses, 1 or more, not {v!r}")
        if _count(warn) and _count(block) and warn >= block:
            problem(line("kinds", i, "warn_after"), f"kind {kid!r}: warn_after ({warn}) must be below block_after ({block})")
        req = k.get("required", False)
        if not isinstance(req, bool):
            problem(line("kinds", i, "required"), f"kind {kid!r}: required must be true or false, not {req!r}")
            req = False
        kinds[kid] = ToolKind(kid, str(k.get("name") or kid), tuple(s for s in sts if s in stages),
                              warn if _count(warn) else None, block if _count(block) else None, req)
    tools: dict[str, Tool] = {}
    for i, t in enumerate(data.get("tools", []) if isinstance(data.get("tools", []), list) else []):
        if not isinstance(t, dict):
            problem(line("tools", i), "each [[tools]] must be a table")
            continue
        for key in t:
            if key not in _TOOL_KEYS:
                problem(line("tools", i, key), unknown_key(key, "[[tools]]", _TOOL_KEYS))
        tid, kind = t.get("id"), t.get("kind")
        if not isinstance(tid, str) or not _ID_RE.match(tid):
            problem(line("tools", i), f"[[tools]] needs an id of letters, digits, '.', '_' or '-', not {tid!r}")
            continue
        if tid.upper() in {x.upper() for x in tools}:
            problem(line("tools", i, "id"), f"tool {tid!r} is defined twice (ids differing only in case are one)")
        if kind not in kinds:
            problem(line("tools", i, "kind"), f"tool {tid!r}: kind {kind!r} is not a [[kinds]] id"
                    + (f"; kinds: {', '.join(sorted(kinds))}" if kinds else ""))
            continue
        tools[tid] = Tool(tid, kind, str(t.get("name") or ""))
    return Tooling(kinds, tools)


_CACHE: dict[int, tuple[Any, Tooling]] = {}


def tooling_config(site: Any) -> Tooling:
    """The site's tools (validated when the site was loaded), built once per loaded site."""
    hit = _CACHE.get(id(site))
    if hit is not None and hit[0] is site:
        return hit[1]
    cfg = validate_tooling(None, site.raw.get("tools") or {}, site.stages)
    if len(_CACHE) > 32:
        _CACHE.clear()
    _CACHE[id(site)] = (site, cfg)
    return cfg
