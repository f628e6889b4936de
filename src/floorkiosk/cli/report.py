"""Report sub-commands: report (CSV + one HTML file, or the headline figures), board, delay."""

from __future__ import annotations

import argparse
import time

from floorkiosk.cli.core import open_site  # when the command runs: start-up cost


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="KPIs and the metal reconciliation of a period: CSV files and one HTML page")
    p.add_argument("--from", dest="date_from", help="first day, e.g. 2026-11-01 (default: 30 days before --to)")
    p.add_argument("--to", dest="date_to", help="last day, inclusive (default: today)")
    p.add_argument("-o", "--out", help="folder for the CSV files and report.html (without it: the headline figures)")
    p.add_argument("--all", action="store_true", help="the whole history instead of a period")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("board", help="the board as text: each stage's pieces, the oldest and the late")
    p.add_argument("--bench")
    p.add_argument("--person")
    p.add_argument("--alloy")
    p.add_argument("--route")
    p.add_argument("--all", action="store_true", help="show empty stages too")
    p.set_defaults(func=cmd_board)

    p = sub.add_parser("delay", help="move a job's promised date, at the client's or the shop's request")
    p.add_argument("job")
    p.add_argument("--by", required=True, choices=["client", "shop"],
                   help="client: moves the promise, excluded from CDPA and counted separately; shop: the shop's own"
                        " date, the promise and its lateness stand")
    p.add_argument("--new-due", required=True, help="the new due date, e.g. 2026-12-24")
    p.add_argument("--reason", required=True)
    p.add_argument("--person", required=True, help="who records it (a person id)")
    p.add_argument("--supervisor", metavar="BADGE",
                   help="a supervisor's badge (B2001 or FK:P:B2001): needed for a client delay after the promise"
                        " has passed (late, then relabelled: still counted in CDPA)")
    p.add_argument("--pin", help="the supervisor's PIN, when the site asks for one")
    p.add_argument("--bench", help="the bench it is recorded at")
    p.set_defaults(func=cmd_delay)


def cmd_report(args: argparse.Namespace) -> int:
    from floorkiosk.workshop import kpi, reports  # when the command runs: start-up cost

    shop = open_site(args)
    if args.all:
        start, end = kpi.history_range(shop)
    else:
        start, end = kpi.parse_period(args.date_from, args.date_to, shop)
    t0 = time.perf_counter()
    if args.out:
        files = reports.write_report(shop, start, end, args.out)
        print(f"report {start} to {end} written in {time.perf_counter() - t0:.2f} s:")
        for f in files:
            print(f"  {f}")
        return 0
    r = kpi.report(shop, start, end, with_metal=False)
    for label, value in kpi.summary_lines(shop, r):
        print(f"{label:<20} {value}")
    return 0


def cmd_board(args: argparse.Namespace) -> int:
    from floorkiosk.workshop import kpi, spc  # when the command runs: start-up cost

    shop = open_site(args)
    b = kpi.board(shop, bench=args.bench, person=args.person, alloy=args.alloy, route=args.route)
    drift: dict[str, list[spc.Alert]] = {}
    for a in spc.open_alerts(shop.journal.conn):
        drift.setdefault(a.stage, []).append(a)
    print(f"{b.total} jobs on the floor, {b.late} late, {b.on_hold} on hold"
          + (f" (filtered: {', '.join(f'{k} {v}' for k, v in b.filters.items())})" if b.filters else ""))
    for lane in b.lanes:
        if not lane.count and not args.all:
            continue
        extra = "".join([f", {lane.late} LATE" if lane.late else "", f", {lane.on_hold} on hold" if lane.on_hold else ""])
        print(f"\n{lane.name}: {lane.count} ({lane.waiting} waiting, {lane.in_progress} working, "
              f"{lane.to_verify} to verify{extra})")
        seen: set[str] = set()
        for a in drift.get(lane.stage, []):
            if a.name not in seen:
                seen.add(a.name)
                print(f"  DRIFT {a.title}: {a.text} (floorkiosk spc show {a.name})")
        for p in lane.oldest:
            print(f"  {p.job}  {p.status:11} {p.age_h / 24:5.1f} d  due {p.due}{'  LATE' if p.late else ''}"
                  f"{'  RUSH' if p.priority == 'rush' else ''}  {p.design}"
                  + (f"  (reopened: {p.reopened})" if p.reopened else ""))
    return 0


def cmd_delay(args: argparse.Namespace) -> int:
    from floorkiosk.workshop import kpi  # when the command runs: start-up cost

    shop = open_site(args)
    e = kpi.delay_job(shop, args.job, by=args.by, new_due=args.new_due, reason=args.reason, person_id=args.person,
                      bench_id=args.bench, supervisor=args.supervisor, pin=args.pin)
    p = e.payload
    if args.by == "shop":
        print(f"{e.job}: the shop's own date {p['new_due']}; the promise of {p['old_due']} stands"
              " (still judged against it)")
    elif p.get("late_days"):
        n = p["late_days"]
        print(f"{e.job}: due {p['old_due']} -> {p['new_due']} (client-initiated, {n} day{'s' if n != 1 else ''} after"
              f" the promise had passed; approved by {shop.name(p.get('supervisor'))}); late, then relabelled:"
              " still counted in CDPA")
    else:
        print(f"{e.job}: due {p['old_due']} -> {p['new_due']} (client-initiated); excluded from CDPA")
    return 0
