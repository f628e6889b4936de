"""Tools at work: each use recorded against a job's stage run, counted, limited, and charged its defects.

A tool (tools.toml) is scanned at the bench during a stage's run (`use_tool`); the count since its
last maintenance warns at the kind's `warn_after` and refuses at `block_after`; a retired tool is
refused always. Where a kind is `required`, a run of its stages cannot finish without one scanned.
A defect found later is charged to the tools used at the stage it came from (its origin), so each
tool has its own defect count, and its own points on the stage's control charts (spc --tool).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from floorkiosk.domain import events as ev
from floorkiosk.domain import guardrails as g
from floorkiosk.domain import tooling as dt
from floorkiosk.domain.records import Site
from floorkiosk.domain.state import JobState
from floorkiosk.errors import NotFound, Refused
from floorkiosk.store.projection import ChunkedRebuild
from floorkiosk.workshop.shop import Area, Shop

TOOL_USED, TOOL_MAINTAINED, TOOL_RETIRED = dt.TOOL_USED, dt.TOOL_MAINTAINED, dt.TOOL_RETIRED


@dataclass(frozen=True)
class ToolView:
    tool: dt.Tool
    kind: dt.ToolKind
    uses: int
    since_maintenance: int
    status: str  # active or retired
    last_used: str | None
    maintained_at: str | None
    retired_at: str | None
    retire_reason: str | None
    defects: dict[str, int]

    @property
    def condition(self) -> str:
        if self.status == "retired":
            return "RETIRED"
        k = self.kind
        if k.block_after is not None and self.since_maintenance >= k.block_after:
            return "BLOCKED (maintain it)"
        if k.warn_after is not None and self.since_maintenance >= k.warn_after:
            return "maintenance due"
        return "ok"


def _cfg(shop: Shop) -> dt.Tooling:
    return dt.tooling_config(shop.site)


def tool_of(shop: Shop, code: str) -> dt.Tool:
    t = _cfg(shop).tool(code)
    if t is None:
        known = ", ".join(sorted(_cfg(shop).tools)[:12]) or "tools.toml lists none"
        raise NotFound(f"no tool {code.strip()!r} in tools.toml; tools: {known}")
    return t


def view(shop: Shop, code: str) -> ToolView:
    t = tool_of(shop, code)
    conn = shop.journal.conn
    r = conn.execute("SELECT uses, since_maint, status, last_used, maintained_at, retired_at, retire_reason"
                     " FROM tool_state WHERE tool = ?", (t.id,)).fetchone() or (0, 0, "active", None, None, None, None)
    defects = dict(conn.execute(
        "SELECT d.defect, count(*) FROM qc_defects d JOIN tool_uses u ON u.job = d.job AND u.stage = d.origin"
        " WHERE u.tool = ? GROUP BY d.defect ORDER BY count(*) DESC", (t.id,)).fetchall())
    return ToolView(t, _cfg(shop).kinds[t.kind], *r, defects)


def views(shop: Shop) -> list[ToolView]:
    return [view(shop, tid) for tid in sorted(_cfg(shop).tools)]


def _limit_reason(v: ToolView) -> str | None:
    if v.status == "retired":
        return f"{v.tool.id} was retired {v.retired_at[:10]} ({v.retire_reason}): take another {v.kind.name.lower()}"
    b = v.kind.block_after
    if b is not None and v.since_maintenance >= b:
        return (f"{v.tool.id} has been used {v.since_maintenance} times since its maintenance (limit {b}): "
                f"maintain it (floorkiosk tool maintain {v.tool.id}) or take another")
    return None


def use_tool(shop: Shop, job_id: str, code: str, person_id: str, bench_id: str,
             stage: str | None = None) -> tuple[ev.Event, str]:
    """Record that this tool serves the job's stage run under way here; (the event, what to tell the bench)."""
    t = tool_of(shop, code)
    kind = _cfg(shop).kinds[t.kind]
    shop.person(person_id)
    bench = shop.bench(bench_id)
    state = shop.job(job_id)
    under_way = [s for s in state.in_progress() if s in bench.stages]
    sid = stage or (under_way[0] if under_way else None)
    if sid is None:
        raise Refused(f"{state.id} has no stage under way at {bench.name}: start it, then scan the "
                      f"{kind.name.lower()}")
    if sid not in kind.stages:
        uses = ", ".join(k.name.lower() for k in _cfg(shop).for_stage(sid)) or "no tool of tools.toml"
        raise Refused(f"{t.id} is a {kind.name.lower()}; {shop.site.stages[sid].name} uses {uses}")
    if sid not in state.in_progress():
        raise Refused(f"{shop.site.stages[sid].name} of {state.id} is not under way: start it first")

    def build(conn: sqlite3.Connection) -> list[ev.Event]:
        v = view(shop, t.id)  # read inside the write transaction: two benches cannot both take the last use
        why = _limit_reason(v)
        if why:
            raise Refused(why)
        return [shop.event(TOOL_USED, state.id, person_id, bench_id,
                           {"tool": t.id, "stage": sid, "run": state.stage(sid).runs})]

    e = shop.journal.append_many(build=build)[0]
    v = view(shop, t.id)
    note = f"{kind.name} {t.id} used for {shop.site.stages[sid].name} (use {v.since_maintenance} since maintenance"
    if kind.block_after:
        note += f", limit {kind.block_after}"
    note += ")"
    if v.condition == "maintenance due":
        note += f" — maintenance due: from {kind.block_after or 'its limit'} uses it is refused"
    return e, note


def maintain(shop: Shop, code: str, person_id: str | None, note: str, bench_id: str | None = None) -> ev.Event:
    shop.supervisor(person_id, "signs off a tool's maintenance")
    v = view(shop, code)
    if v.status == "retired":
        raise Refused(f"{v.tool.id} is retired; a retired tool is not brought back")
    if not note.strip():
        raise Refused("say what was done (--note): re-vulcanised, polished, re-cut…")
    return shop.journal.append(shop.event(TOOL_MAINTAINED, None, person_id, bench_id,
                                          {"tool": v.tool.id, "note": note.strip(), "uses": v.since_maintenance}))


def retire(shop: Shop, code: str, person_id: str | None, reason: str, bench_id: str | None = None) -> ev.Event:
    shop.supervisor(person_id, "retires a tool")
    v = view(shop, code)
    if v.status == "retired":
        raise Refused(f"{v.tool.id} was already retired {v.retired_at[:10]}")
    if not reason.strip():
        raise Refused("say why (--reason): worn, torn, replaced by…")
    return shop.journal.append(shop.event(TOOL_RETIRED, None, person_id, bench_id,
                                          {"tool": v.tool.id, "reason": reason.strip()}))


# --- the guard: a required tool scanned before the run finishes ------------------------------------

def guard(shop: Shop, conn: sqlite3.Connection, state: JobState, action: g.Action, person=None,
          bench=None) -> list[g.Reason]:
    if action.kind != g.FINISH or not action.stage:
        return []
    needed = [k for k in _cfg(shop).for_stage(action.stage) if k.required]
    if not needed:
        return []
    run = state.stage(action.stage).runs if action.stage in state.stages else 0
    used = {r[0] for r in conn.execute("SELECT tool FROM tool_uses WHERE job = ? AND stage = ? AND run = ?",
                                       (state.id, action.stage, run))}
    have = {_cfg(shop).tools[t].kind for t in used if t in _cfg(shop).tools}
    out = []
    for k in needed:
        if k.id not in have:
            out.append(g.Reason("tool", f"{shop.site.stages[action.stage].name} needs the {k.name.lower()} it used "
                                        "scanned (its label, FK:T:…)",
                                f"scan the {k.name.lower()}'s label at this bench"))
    return out


# --- the derived tables ----------------------------------------------------------------------------

def _m001(db) -> None:  # sqlite_utils.Database
    db.execute("""CREATE TABLE tool_state (
        tool TEXT PRIMARY KEY, uses INTEGER NOT NULL DEFAULT 0, since_maint INTEGER NOT NULL DEFAULT 0,
        status TEXT NOT NULL DEFAULT 'active', last_used TEXT, maintained_at TEXT, retired_at TEXT,
        retire_reason TEXT) WITHOUT ROWID""")
    db.execute("""CREATE TABLE tool_uses (
        job TEXT NOT NULL, stage TEXT NOT NULL, run INTEGER NOT NULL, tool TEXT NOT NULL, ts TEXT,
        PRIMARY KEY (job, stage, run, tool)) WITHOUT ROWID""")
    db.execute("CREATE INDEX tool_uses_tool ON tool_uses (tool)")


class ToolProjector(ChunkedRebuild):
    tables = ("tool_state", "tool_uses")
    rebuild_apart = True  # reads only its own tables
    rebuild_types = frozenset({TOOL_USED, TOOL_MAINTAINED, TOOL_RETIRED})
    rebuild_weight = 0

    def __init__(self, site: Site) -> None:
        self.site = site

    def apply(self, conn: sqlite3.Connection, events: list[ev.Event]) -> None:
        for e in events:
            p = e.payload
            if e.type == TOOL_USED:
                new = conn.execute("INSERT OR IGNORE INTO tool_uses (job, stage, run, tool, ts) VALUES (?,?,?,?,?)",
                                   (e.job, p["stage"], p.get("run", 0), p["tool"], e.ts)).rowcount
                if new:  # the same tool scanned twice for one run counts once
                    conn.execute("INSERT INTO tool_state (tool, uses, since_maint, last_used) VALUES (?, 1, 1, ?)"
                                 " ON CONFLICT (tool) DO UPDATE SET uses = uses + 1, since_maint = since_maint + 1,"
                                 " last_used = excluded.last_used", (p["tool"], e.ts))
            elif e.type == TOOL_MAINTAINED:
                conn.execute("INSERT INTO tool_state (tool, maintained_at) VALUES (?, ?) ON CONFLICT (tool)"
                             " DO UPDATE SET since_maint = 0, maintained_at = excluded.maintained_at", (p["tool"], e.ts))
            elif e.type == TOOL_RETIRED:
                conn.execute("INSERT INTO tool_state (tool, status, retired_at, retire_reason) VALUES (?, 'retired', ?, ?)"
                             " ON CONFLICT (tool) DO UPDATE SET status = 'retired', retired_at = excluded.retired_at,"
                             " retire_reason = excluded.retire_reason", (p["tool"], e.ts, p.get("reason")))

    def rebuild_feed(self, conn: sqlite3.Connection, events: Iterable[ev.Event]) -> None:
        self.apply(conn, [e for e in events if e.type in self.rebuild_types])

    def footprint(self, e: ev.Event) -> set[tuple[str, str | None]]:
        """The tool's row (its last use, uses since maintenance, retirement): see store.journal._reordered."""
        return {("tool", e.payload.get("tool"))} if e.type in self.rebuild_types else set()

    def rebuild_end(self, conn: sqlite3.Connection) -> None:
        pass


def describe(shop: Shop, e: ev.Event) -> str:
    p = e.payload
    if e.type == TOOL_USED:
        st = shop.site.stages.get(p.get("stage"))
        return f"{shop.name(e.person) or 'someone'} used tool {p['tool']} for {st.name if st else p.get('stage')}"
    if e.type == TOOL_MAINTAINED:
        return f"tool {p['tool']} maintained after {p.get('uses')} uses: {p.get('note')}"
    return f"tool {p['tool']} retired: {p.get('reason')}"


AREA = Area("tooling", projectors=lambda site: [ToolProjector(site)], migrations=(("tooling_001", _m001),),
            guard=guard, describers=dict.fromkeys((TOOL_USED, TOOL_MAINTAINED, TOOL_RETIRED), describe))
