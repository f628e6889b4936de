"""Versioned standards sub-commands: standards log|diff|propose|approve|move."""

from __future__ import annotations

import argparse
import sys

from floorkiosk.cli.core import open_site  # when the command runs: start-up cost
from floorkiosk.errors import ConfigError


def register(sub: argparse._SubParsersAction) -> None:
    top = sub.add_parser("standards", help="routes, stages, tolerances and QC plans as approved versions",
                         description="A change to routes.toml or qc.toml is proposed (validated first), approved "
                                     "by an admin who did not propose it, and recorded with why and which corrective "
                                     "action; each job keeps the version it was created under. Without an action: "
                                     "the log.")
    top.set_defaults(func=cmd_log)
    ss = top.add_subparsers(dest="standards_cmd", metavar="ACTION")

    p = ss.add_parser("log", help="every version: what changed, who proposed and approved it, why, its jobs")
    p.set_defaults(func=cmd_log)

    p = ss.add_parser("diff", help="the change between two versions as a unified diff of the config text")
    p.add_argument("old", help="a version (3 or v3); alone: the change that made it, from the version it was proposed on")
    p.add_argument("new", nargs="?", help="the other version (default: the one in effect)")
    p.set_defaults(func=cmd_diff)

    p = ss.add_parser("propose", help="propose a new routes.toml or qc.toml (a supervisor or admin)")
    p.add_argument("--file", required=True, help="the new document (its name or its tables say which it replaces)")
    p.add_argument("--as", dest="document", choices=("routes.toml", "qc.toml"),
                   help="the document it replaces, where its name does not say")
    p.add_argument("--why", required=True, help="why the standard changes")
    p.add_argument("--capa", action="append", default=[], metavar="CA0001",
                   help="a corrective action that asked for it (repeat for more)")
    p.add_argument("--person", required=True, help="who proposes it")
    p.add_argument("--bench", help="where (a bench id)")
    p.set_defaults(func=cmd_propose)

    p = ss.add_parser("approve", help="approve a proposed version (an admin who did not propose it): it takes effect")
    p.add_argument("version", help="the proposed version (4 or v4)")
    p.add_argument("--person", required=True, help="the approving admin")
    p.add_argument("--bench", help="where (a bench id)")
    p.set_defaults(func=cmd_approve)

    p = ss.add_parser("move", help="move running jobs on purpose to another approved version (a supervisor)")
    p.add_argument("jobs", nargs="+", metavar="JOB")
    p.add_argument("--to", required=True, help="the approved version they will run under")
    p.add_argument("--why", required=True, help="why they move")
    p.add_argument("--person", required=True, help="the supervisor moving them")
    p.add_argument("--bench", help="where (a bench id)")
    p.set_defaults(func=cmd_move)


def cmd_log(args: argparse.Namespace) -> int:
    from floorkiosk.workshop import standards  # when the command runs: start-up cost

    shop = open_site(args)
    vs = standards.versions(shop)
    if not vs:
        print("v1 in effect: the config as it stands (nothing changed yet); "
              "`floorkiosk standards propose --file NEW.toml --why ... --person P` proposes a change")
        return 0
    now = standards.current(shop)
    counts = dict(shop.journal.query("SELECT version, count(*) FROM job_standards GROUP BY version"))
    untagged = shop.journal.query("SELECT count(*) FROM jobs WHERE id NOT IN (SELECT job FROM job_standards)")[0][0]
    counts[1] = counts.get(1, 0) + untagged
    for v in vs:
        state = "in effect" if v.number == now else "approved" if v.approved else "proposed"
        print(f"v{v.number}  {state:<9}  {v.hash[:12]}  {counts.get(v.number, 0)} jobs"
              + (f"  changed {', '.join(v.changed)} of v{v.base}" if v.base else ""))
        if v.base is None:
            print(f"    the config as it stood, recorded {v.proposed_at[:16].replace('T', ' ')} with the first proposal")
            continue
        print(f"    proposed {v.proposed_at[:16].replace('T', ' ')} by {shop.name(v.proposed_by)}: {v.why}"
              + (f"  (corrective action {', '.join(v.capa)})" if v.capa else ""))
        if v.approved:
            print(f"    approved {v.approved_at[:16].replace('T', ' ')} by {shop.name(v.approved_by)}")
    drift = standards.config_drift(shop)
    if drift:
        print(f"config/{', config/'.join(drift)} differ{'s' if len(drift) == 1 else ''} from v{now} in effect "
              "(edited by hand?): propose the edit, or `standards diff` to see it")
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    from floorkiosk.domain import standards as dstd  # when the command runs: start-up cost
    from floorkiosk.workshop import standards

    shop = open_site(args)
    if args.new is None:
        new = standards.version(shop, args.old)
        old_n = new.base if new.base is not None else new.number
    else:
        old_n, new = standards.version(shop, args.old).number, standards.version(shop, args.new)
    old = standards.version(shop, old_n)
    text = dstd.diff(old.docs, new.docs, f"v{old.number}", f"v{new.number}")
    print(text.rstrip("\n") if text else f"v{old.number} and v{new.number} are the same")
    return 0


def cmd_propose(args: argparse.Namespace) -> int:
    from floorkiosk.workshop import standards  # when the command runs: start-up cost

    shop = open_site(args)
    try:
        p = standards.propose(shop, args.file, why=args.why, person_id=args.person, capa_ids=args.capa,
                              document=args.document, bench_id=args.bench)
    except ConfigError as exc:  # the proposal's problems, not the site's: the site runs on as it is
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print("floorkiosk: the proposed standard has errors; nothing was recorded", file=sys.stderr)
        return 2
    v = p.version
    if p.adopted:
        print("v1 recorded: the standards as they stood until now")
    print(f"v{v.number} proposed ({', '.join(v.changed)}, {v.hash[:12]}): an admin other than "
          f"{shop.name(v.proposed_by)} approves it with `floorkiosk standards approve {v.number} --person ADMIN`")
    return 0


def cmd_approve(args: argparse.Namespace) -> int:
    from floorkiosk.workshop import standards  # when the command runs: start-up cost

    shop = open_site(args)
    v = standards.approve(shop, args.version, person_id=args.person, bench_id=args.bench)
    running = shop.journal.query("SELECT count(*) FROM jobs WHERE status != 'complete'")[0][0]
    print(f"v{v.number} approved by {shop.name(v.approved_by)}: written to config/ ({', '.join(v.changed)}); new jobs "
          f"run under it, the {running} running keep theirs unless moved (`standards move JOB… --to {v.number}`)")
    return 0


def cmd_move(args: argparse.Namespace) -> int:
    from floorkiosk.workshop import standards  # when the command runs: start-up cost

    shop = open_site(args)
    moved = standards.move(shop, args.jobs, to=args.to, person_id=args.person, why=args.why, bench_id=args.bench)
    if not moved:
        print(f"nothing moved: every job named runs under v{args.to.lower().removeprefix('v')} already")
    else:
        print(f"{len(moved)} job{'s' if len(moved) != 1 else ''} moved to v{args.to.lower().removeprefix('v')}: "
              f"{', '.join(moved)}")
    return 0
