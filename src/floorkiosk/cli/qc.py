"""QC and stone sub-commands: qc plans|inspect|inspections|sample|pareto, stones issue|set|return|broken|lost|show|check."""

from __future__ import annotations

import argparse
import json
import sys

from floorkiosk.workshop import cards  # when the command runs: start-up cost
from floorkiosk.cli.core import open_site
from floorkiosk.errors import Refused


def register(sub: argparse._SubParsersAction) -> None:
    qc = sub.add_parser("qc", help="inspection plans, inspections, batch samples and the defect Pareto")
    qs = qc.add_subparsers(dest="qc_cmd", metavar="ACTION")

    p = qs.add_parser("plans", help="list the inspection plans and defect codes (or the plan a job gets)")
    p.add_argument("--job", help="show the inspection due on this job at the QC station")
    p.set_defaults(func=cmd_plans)

    p = qs.add_parser("inspect", help="record an inspection without the kiosk (answers as CHECK=VALUE)")
    p.add_argument("job")
    p.add_argument("--person", "--by", dest="by", metavar="PERSON", required=True,
                   help="the inspector (a person id with the supervisor role; --by says the same)")
    p.add_argument("--bench", help="the QC station (default: the first bench with qc = true)")
    p.add_argument("--answer", "-a", action="append", default=[], metavar="CHECK=VALUE",
                   help="one answer, e.g. weight=5.214, shank=1.85, finish=pass (repeat for each check)")
    p.add_argument("--defect", help="defect code of a failure (default: proposed from the failed checks)")
    p.add_argument("--redo", help="stage the piece goes back to (default: the defect's stage)")
    p.add_argument("--reason", help="why, for the job card (default: from the failed checks)")
    p.add_argument("--pin", help="the inspector's PIN, where the site asks for it (an inspection verifies or rejects)")
    p.set_defaults(func=cmd_inspect)

    p = qs.add_parser("inspections", help="list recorded inspections, newest first")
    p.add_argument("--job")
    p.add_argument("--limit", type=int, default=30)
    p.set_defaults(func=cmd_inspections)

    p = qs.add_parser("sample", help="show which pieces of a batch are drawn for inspection, and what is left")
    p.add_argument("batch")
    p.add_argument("--stage", default="qc", help="the inspected stage (default: qc)")
    p.set_defaults(func=cmd_sample)

    p = qs.add_parser("pareto", help="defects ranked by stage, bench, person, design or alloy (count, %%, cumulative %%)")
    p.add_argument("--by", default="stage", choices=["stage", "bench", "person", "design", "alloy", "defect"])
    p.add_argument("--from", dest="date_from", help="first day, e.g. 2026-11-01")
    p.add_argument("--to", dest="date_to", help="last day (inclusive)")
    p.set_defaults(func=cmd_pareto)

    st = sub.add_parser("stones", help="stone parcels: issue to a setter, set, return, broken, lost, check")
    ss = st.add_subparsers(dest="stones_cmd", metavar="ACTION")
    p = ss.add_parser("issue", help="issue a parcel of a job's stone line to a setter")
    p.add_argument("job")
    p.add_argument("--to", required=True, dest="setter", help="the setter (person id)")
    p.add_argument("--person", "--by", dest="by", metavar="PERSON", required=True,
                   help="the supervisor issuing the stones (--by says the same)")
    p.add_argument("--line", type=int, default=1, help="the job's stone line (1 = first; see `stones show`)")
    p.add_argument("--count", help="stones issued (default: the line's count)")
    p.add_argument("--ct", help="total carat weight issued (default: the line's)")
    p.add_argument("--cert", help="certificate number (default: the line's), e.g. 'GIA 2141438171'")
    p.add_argument("--bench")
    p.set_defaults(func=cmd_issue)
    for move, word in (("set", "set"), ("return", "returned"), ("broken", "broken"), ("lost", "lost")):
        p = ss.add_parser(move, help=f"record stones of a parcel as {word}")
        p.add_argument("parcel", help="parcel id (SP0001), or a job with one open parcel")
        p.add_argument("count")
        p.add_argument("--person", "--by", dest="by", metavar="PERSON", required=True,
                       help="who records it (the setter or a supervisor; --by says the same)")
        p.add_argument("--ct", help="their carat weight (default: estimated from the parcel's average stone)")
        p.add_argument("--note", default="")
        p.add_argument("--bench")
        p.set_defaults(func=cmd_move, move=word)
    p = ss.add_parser("show", help="a job's stone lines (with certificates) and parcels")
    p.add_argument("job")
    p.set_defaults(func=cmd_show)
    p = ss.add_parser("check", help="list parcels that do not balance after setting; exit 1 if any")
    p.add_argument("--flag", action="store_true", help="record each new discrepancy on its job's history")
    p.add_argument("--person", "--by", dest="by", metavar="PERSON", help="the supervisor flagging (with --flag; --by says the same)")
    p.set_defaults(func=cmd_check)


def cmd_plans(args: argparse.Namespace) -> int:
    from floorkiosk.workshop import qc  # when the command runs: start-up cost
    from floorkiosk.domain import qc as dq  # when the command runs: start-up cost

    shop = open_site(args)
    try:
        cfg = dq.qc_config(shop.site)
        if args.job:
            bench = next((b for b in shop.site.benches.values() if b.qc), None)
            if bench is None:
                raise Refused("no bench has qc = true in site.toml")
            state = shop.job(args.job)
            target = qc.find_target(shop, state, bench)
            if target is None:
                print(f"{state.id}: nothing to inspect now")
                return 0
            print(f"{state.id} {state.design}: {shop.site.stages[target.stage].name} ({target.mode}), plan: {target.plan_name}")
            for c in target.checks:
                ok, why = dq.applies(c, qc.begin_facts(shop, state))
                print(f"  {c.id:22} {c.name:32} {c.limit_text() if ok else 'n/a: ' + why}")
            return 0
        for p in cfg.plans:
            scope = ", ".join(filter(None, [("routes " + ", ".join(p.routes)) if p.routes else "",
                                            ("designs " + ", ".join(p.designs)) if p.designs else ""])) or "every job"
            sample = f"; sample {p.sampling.text()}" if p.sampling else ""
            print(f"{p.id}: {p.name} — inspects {shop.site.stages[p.stage].name}, {scope}{sample}")
            for c in p.checks:
                print(f"  {c.id:18} {c.name:32} {c.limit_text():22} defects: {', '.join(c.defects)}")
        print("defect codes:")
        for d in cfg.defects.values():
            redo = shop.site.stages[d.redo].name if d.redo else "-"
            print(f"  {d.code:14} {d.text} (redo: {redo})")
        return 0
    finally:
        shop.close()


def cmd_inspect(args: argparse.Namespace) -> int:
    from floorkiosk.workshop import qc  # when the command runs: start-up cost

    shop = open_site(args)
    try:
        bench = args.bench or next((b.id for b in shop.site.benches.values() if b.qc), None)
        if bench is None:
            raise Refused("no bench has qc = true in site.toml; give --bench")
        answers = {}
        for a in args.answer:
            if "=" not in a:
                raise Refused(f"--answer {a!r} must be CHECK=VALUE, e.g. shank=1.85")
            k, v = a.split("=", 1)
            answers[k.strip()] = v.strip()
        insp = qc.begin(shop, args.job, args.by, bench)
        known = {c.id for c in insp.checks}
        unknown = sorted(set(answers) - known)
        if unknown:
            raise Refused(f"no check {', '.join(unknown)} in this inspection; checks: {', '.join(sorted(known))}")
        out = qc.record_inspection(shop, args.job, args.by, bench, answers, defect=args.defect, redo=args.redo,
                                   reason=args.reason, pin=args.pin)
        print(f"{insp.job.id}: {out.result.upper()}" + (f" — {out.text()}" if out.text() else ""))
        return 0
    finally:
        shop.close()


def cmd_inspections(args: argparse.Namespace) -> int:
    shop = open_site(args)
    try:
        where, params = "", []
        if args.job:
            where, params = " WHERE job = ?", [shop.job(args.job).id]
        rows = shop.journal.query(
            "SELECT ts, job, stage, result, selection, person, defect, checks FROM qc_inspections" + where
            + " ORDER BY ts DESC LIMIT ?", [*params, args.limit])
        for ts, job, stage, result, selection, person, defect, checks in rows:
            failed = [c["name"] for c in json.loads(checks) if c.get("result") == "fail"]
            print(f"{ts}  {job}  {stage:14} {result.upper():4}  {shop.name(person):16} {selection or '':28}"
                  + (f" {defect}: {', '.join(failed)}" if result == "fail" else ""))
        return 0
    finally:
        shop.close()


def cmd_sample(args: argparse.Namespace) -> int:
    from floorkiosk.workshop import qc  # when the command runs: start-up cost

    shop = open_site(args)
    try:
        jobs = cards.batch_jobs(shop, args.batch)
        s = qc.sample_status(shop, args.batch, args.stage)
        if s is None:
            print(f"batch {args.batch} ({len(jobs)} pieces): no sample drawn at {args.stage} yet "
                  "(it is drawn when the first piece is scanned at the QC station)")
            return 0
        print(s.text(""))
        for j in s.pieces:
            mark = "passed" if j in s.passed else ("to inspect" if j in s.must_inspect() else "-")
            print(f"  {j}  {'drawn' if j in s.drawn else '     '}  {mark}")
        return 0
    finally:
        shop.close()


def cmd_pareto(args: argparse.Namespace) -> int:
    from floorkiosk.workshop import qc  # when the command runs: start-up cost

    shop = open_site(args)
    try:
        rows = qc.pareto(shop, args.by, args.date_from, args.date_to)
        span = f" {args.date_from or '…'} to {args.date_to or '…'}" if (args.date_from or args.date_to) else ""
        total = sum(r.count for r in rows)
        print(f"Defects by {args.by}{span}: {total} defect{'s' if total != 1 else ''} that sent pieces back")
        if not rows:
            return 0
        head = args.by if args.by != "defect" else ""
        width = max([len(head)] + [len(r.key) for r in rows]) if head else 0
        print((f"{head:{width}}  " if head else "") + f"{'defect':16} {'count':>5} {'%':>6} {'cum %':>6}")
        for r in rows:
            print((f"{r.key:{width}}  " if head else "") + f"{r.defect:16} {r.count:5d} {r.pct:6} {r.cum_pct:6}")
        return 0
    finally:
        shop.close()


def cmd_issue(args: argparse.Namespace) -> int:
    from floorkiosk.workshop import qc  # when the command runs: start-up cost

    shop = open_site(args)
    try:
        e = qc.issue_stones(shop, args.job, args.by, args.setter, line=args.line, count=args.count, ct=args.ct,
                            cert=args.cert, bench_id=args.bench)
        print(f"{e.payload['parcel']}: {shop.describe(e)}")
        return 0
    finally:
        shop.close()


def cmd_move(args: argparse.Namespace) -> int:
    from floorkiosk.workshop import qc  # when the command runs: start-up cost

    shop = open_site(args)
    try:
        evs = qc.move_stones(shop, args.parcel, args.move, args.count, args.by, ct=args.ct, note=args.note,
                             bench_id=args.bench)
        for e in evs:
            print(shop.describe(e))
        p = qc.parcel(shop, evs[0].payload["parcel"])
        print(f"{p.id}: {p.account_text()}")
        return 0
    finally:
        shop.close()


def cmd_show(args: argparse.Namespace) -> int:
    from floorkiosk.workshop import qc  # when the command runs: start-up cost
    from floorkiosk.domain import qc as dq  # when the command runs: start-up cost
    from floorkiosk.domain import stones as ds  # when the command runs: start-up cost

    shop = open_site(args)
    try:
        state = shop.job(args.job)
        tol = dq.qc_config(shop.site).stones.carat_tolerance
        print(f"{state.id} {state.design}")
        if not state.stones:
            print("  no stones on the job card")
        for i, s in enumerate(state.stones, 1):
            print(f"  line {i}: {ds.line_text(s)}")
        for p in qc.parcels(shop, state.id):
            status = p.status(tol)
            print(f"  {p.id} (line {p.line}, {shop.name(p.setter)}): {p.account_text()} — {status.upper()}"
                  + (f": {p.problem(tol)}" if status == ds.DISCREPANCY else ""))
        return 0
    finally:
        shop.close()


def cmd_check(args: argparse.Namespace) -> int:
    from floorkiosk.workshop import qc  # when the command runs: start-up cost

    shop = open_site(args)
    try:
        if args.flag:
            if not args.by:
                raise Refused("--flag needs --person SUPERVISOR")
            for e in qc.flag_discrepancies(shop, args.by):
                print(f"flagged on {e.job}: {shop.describe(e)}")
        problems = qc.stone_check(shop)
        if not problems:
            print("every stone parcel balances after setting")
            return 0
        for sp in problems:
            p = sp.parcel
            print(f"DISCREPANCY {p.id} {p.job} ({shop.name(p.setter)}): {sp.problem}"
                  + ("" if sp.flagged else "  [not yet on the job's history: --flag]"), file=sys.stdout)
        return 1
    finally:
        shop.close()
