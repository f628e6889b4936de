"""Batch sub-commands: add (a new batch, or job bags into an open one), show, list, close."""

from __future__ import annotations

import argparse

from floorkiosk.cli.core import open_site  # when the command runs: start-up cost


def register(sub: argparse._SubParsersAction) -> None:
    top = sub.add_parser("batch", help="batches of job bags that move through a stage together")
    bs = top.add_subparsers(dest="batch_cmd", metavar="ACTION")

    p = bs.add_parser("add", help="put job bags into a new batch (or into an open one with --to)",
                      description="Put job bags into a batch. The site's [batching] rules (same alloy, same route, "
                                  "same next stage, one open batch per job) refuse a bag that does not belong, "
                                  "in words, and nothing is recorded.")
    p.add_argument("jobs", nargs="+", metavar="JOB", help="job numbers (J000012, 12) or scanned job-bag codes")
    p.add_argument("--to", metavar="BATCH", help="an open batch to add them to (default: a new batch)")
    p.add_argument("--design", default="", help="what the batch holds, printed on its bag (a new batch)")
    p.add_argument("--person", help="who batches them (a person of people.toml; default: no one named)")
    p.add_argument("--bench", help="where (a bench id)")
    p.add_argument("--print", dest="print_bench", metavar="BENCH", help="print the batch bag on this bench's printer")
    p.set_defaults(func=cmd_add)

    p = bs.add_parser("show", help="a batch: its pieces, alloy, route, next stage, open or closed")
    p.add_argument("batch")
    p.set_defaults(func=cmd_show)

    p = bs.add_parser("list", help="the open batches (with --all, the closed too)")
    p.add_argument("--all", action="store_true", help="include closed batches")
    p.set_defaults(func=cmd_list)

    p = bs.add_parser("close", help="close a batch: no more bags join it, and its pieces may join another")
    p.add_argument("batch")
    p.add_argument("--person", help="who closes it (a person of people.toml; default: no one named)")
    p.add_argument("--bench", help="where (a bench id)")
    p.add_argument("--note", default="", help="why, in a few words")
    p.set_defaults(func=cmd_close)


def cmd_add(args: argparse.Namespace) -> int:
    from floorkiosk.workshop import verbs  # when the command runs: start-up cost

    shop = open_site(args)
    if args.print_bench:
        shop.bench(args.print_bench)  # an unknown bench is refused before anything is recorded
    if args.to:
        bid = verbs.normalize_batch(args.to)
        added = verbs.add_to_batch(shop, bid, args.jobs, person_id=args.person, bench_id=args.bench)
        print(f"{', '.join(added)} added to batch {bid}")
    else:
        bid = verbs.create_batch(shop, args.jobs, args.design, person_id=args.person, bench_id=args.bench)
        print(f"batch {bid}: {len(args.jobs)} job bag{'s' if len(args.jobs) != 1 else ''}")
    if args.print_bench:
        from floorkiosk.workshop.labelling import print_batch_bag  # when the command runs: start-up cost

        print_batch_bag(shop, bid, bench_id=args.print_bench)
        print(f"batch bag {bid} sent to {args.print_bench}'s printer")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from floorkiosk.domain.batching import alloy_name, route_name, stage_name  # when the command runs
    from floorkiosk.workshop import cards, verbs  # when the command runs: start-up cost

    shop = open_site(args)
    b = cards.batch_view(shop, verbs.normalize_batch(args.batch))
    site = shop.site
    state = "open" if b.open else f"closed {b.closed_at[:16].replace('T', ' ')}" + (
        f" by {shop.name(b.closed_by)}" if b.closed_by else "")
    print(f"batch {b.id}  {b.design or '-'}  {len(b.jobs)} pieces  {state}")
    print(f"alloy: {alloy_name(site, b.alloy)}  route: {route_name(site, b.route)}  "
          f"next: {stage_name(site, b.next_stage)}")
    print(f"started {b.created_at[:16].replace('T', ' ')}" + (f" by {shop.name(b.created_by)}" if b.created_by else ""))
    for jid in b.jobs:
        j = shop.job(jid)
        where = "; ".join(site.stages[s].name + " in progress" for s in j.in_progress()) or (
            "complete" if j.complete else f"waiting for {stage_name(site, cards.next_stage(site, j))}")
        moved = "" if j.batch == b.id else f"  (now in batch {j.batch})"
        print(f"  {jid}  {j.design}  {where}" + ("  ON HOLD" if j.hold else "") + moved)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from floorkiosk.domain.batching import alloy_name, stage_name  # when the command runs: start-up cost
    from floorkiosk.workshop import cards  # when the command runs: start-up cost

    shop = open_site(args)
    batches = cards.list_batches(shop, include_closed=args.all)
    if not batches:
        print("no open batches" if not args.all else "no batches")
        return 0
    print(f"{'BATCH':6} {'PIECES':>6}  {'STATE':6}  {'ALLOY':18} {'NEXT':16} DESIGN")
    for b in batches:
        print(f"{b.id:6} {len(b.jobs):>6}  {'open' if b.open else 'closed':6}  {alloy_name(shop.site, b.alloy):18} "
              f"{stage_name(shop.site, b.next_stage):16} {b.design}")
    return 0


def cmd_close(args: argparse.Namespace) -> int:
    from floorkiosk.workshop import verbs  # when the command runs: start-up cost

    shop = open_site(args)
    e = verbs.close_batch(shop, args.batch, person_id=args.person, bench_id=args.bench, note=args.note)
    print(f"batch {e.payload['batch']} closed")
    return 0
