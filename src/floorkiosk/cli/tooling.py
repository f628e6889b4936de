"""Tool sub-commands: tool list|show|use|maintain|retire (molds, flasks, dies and fixtures of tools.toml)."""

from __future__ import annotations

import argparse

from floorkiosk.cli.core import open_site  # when the command runs: start-up cost


def register(sub: argparse._SubParsersAction) -> None:
    top = sub.add_parser("tool", help="molds, flasks, dies and fixtures: uses, limits, defects, maintenance",
                         description="Tools of config/tools.toml. Their tags print with `floorkiosk label render "
                                     "--tool ID` (or label print); the stage that uses one scans it.")
    ts = top.add_subparsers(dest="tool_cmd", metavar="ACTION")
    p = ts.add_parser("list", help="every tool with its uses since maintenance, its limit and its condition")
    p.set_defaults(func=cmd_list)
    p = ts.add_parser("show", help="one tool: uses, maintenance, the defects charged to it")
    p.add_argument("tool")
    p.set_defaults(func=cmd_show)
    p = ts.add_parser("use", help="record a tool used for a job's stage under way (as its scan at the bench does)")
    p.add_argument("job")
    p.add_argument("tool")
    p.add_argument("--person", required=True, help="who uses it")
    p.add_argument("--bench", required=True, help="the bench where the stage is under way")
    p.add_argument("--stage", help="the stage (default: the one under way at the bench)")
    p.set_defaults(func=cmd_use)
    p = ts.add_parser("maintain", help="a tool maintained: its count since maintenance starts again (a supervisor)")
    p.add_argument("tool")
    p.add_argument("--person", required=True)
    p.add_argument("--note", required=True, help="what was done")
    p.add_argument("--bench")
    p.set_defaults(func=cmd_maintain)
    p = ts.add_parser("retire", help="take a tool out of use for good (a supervisor)")
    p.add_argument("tool")
    p.add_argument("--person", required=True)
    p.add_argument("--reason", required=True)
    p.add_argument("--bench")
    p.set_defaults(func=cmd_retire)


def cmd_list(args: argparse.Namespace) -> int:
    from floorkiosk.workshop import tooling  # when the command runs: start-up cost

    shop = open_site(args)
    vs = tooling.views(shop)
    if not vs:
        print("no tools: config/tools.toml lists the molds, flasks, dies and fixtures")
        return 0
    for v in vs:
        limit = f"/{v.kind.block_after}" if v.kind.block_after else ""
        defects = sum(v.defects.values())
        print(f"{v.tool.id:<8} {v.kind.name:<16} {v.since_maintenance:>5}{limit:<6} uses  {v.uses:>6} in all  "
              f"{defects:>4} defects  {v.condition}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from floorkiosk.workshop import tooling  # when the command runs: start-up cost

    shop = open_site(args)
    v = tooling.view(shop, args.tool)
    print(f"{v.tool.id}: {v.kind.name}" + (f", {v.tool.name}" if v.tool.name else "") + f" — {v.condition}")
    stages = ", ".join(shop.site.stages[s].name for s in v.kind.stages) or "no stage"
    print(f"used at {stages}; {v.uses} uses in all, {v.since_maintenance} since maintenance"
          + (f" (warned from {v.kind.warn_after}" if v.kind.warn_after else "")
          + (f", refused from {v.kind.block_after})" if v.kind.block_after else ")" if v.kind.warn_after else ""))
    if v.last_used:
        print(f"last used {v.last_used[:16].replace('T', ' ')}")
    if v.maintained_at:
        print(f"maintained {v.maintained_at[:16].replace('T', ' ')}")
    if v.retired_at:
        print(f"retired {v.retired_at[:16].replace('T', ' ')}: {v.retire_reason}")
    if v.defects:
        print("defects of pieces it served: " + ", ".join(f"{d} {n}" for d, n in v.defects.items()))
    else:
        print("no defect charged to it")
    return 0


def cmd_use(args: argparse.Namespace) -> int:
    from floorkiosk.workshop import tooling  # when the command runs: start-up cost

    shop = open_site(args)
    _e, note = tooling.use_tool(shop, args.job, args.tool, args.person, args.bench, args.stage)
    print(note)
    return 0


def cmd_maintain(args: argparse.Namespace) -> int:
    from floorkiosk.workshop import tooling  # when the command runs: start-up cost

    shop = open_site(args)
    e = tooling.maintain(shop, args.tool, args.person, args.note, args.bench)
    print(f"{e.payload['tool']} maintained after {e.payload['uses']} uses")
    return 0


def cmd_retire(args: argparse.Namespace) -> int:
    from floorkiosk.workshop import tooling  # when the command runs: start-up cost

    shop = open_site(args)
    e = tooling.retire(shop, args.tool, args.person, args.reason, args.bench)
    print(f"{e.payload['tool']} retired")
    return 0
