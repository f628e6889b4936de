"""Cost sub-commands: cost (per job, with margin; the cost of poor quality by stage, person, design or route) and quote."""

from __future__ import annotations

import argparse

from floorkiosk.cli.core import open_site  # when the command runs: start-up cost
from floorkiosk.errors import Refused

BY = ("stage", "person", "design", "route")  # as domain.costing.BY (that module loads when a command runs)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("cost", help="what each job cost (labour, rework, metal, loss, stones, scrap) and its margin")
    p.add_argument("jobs", nargs="*", metavar="JOB",
                   help="these jobs (default: the open jobs and those finished in the last --days days)")
    p.add_argument("--days", type=int, default=30, help="finished within this many days (default 30)")
    p.add_argument("--all", action="store_true", help="every job of the history")
    p.add_argument("--by", choices=list(BY), help="the cost of poor quality (rework and scrap) summed by this")
    p.add_argument("--limit", type=int, default=50, help="list at most this many jobs (the latest)")
    p.set_defaults(func=cmd_cost)

    p = sub.add_parser("quote", help="price custom work from history: hours per stage × rates + metal + expected loss")
    p.add_argument("--route", required=True)
    p.add_argument("--design", required=True)
    p.add_argument("--alloy", required=True)
    p.add_argument("--grams", required=True, help="the finished piece's weight (12.5, or 0.4ozt, 8dwt)")
    p.set_defaults(func=cmd_quote)


def cmd_cost(args: argparse.Namespace) -> int:
    from floorkiosk.domain import costing as dc  # when the command runs: start-up cost
    from floorkiosk.workshop import costing  # when the command runs: start-up cost

    shop = open_site(args)
    cur = shop.site.planning.currency
    if args.days < 0:
        raise Refused("--days must be 0 or more")
    ids = args.jobs or (None if args.all else costing.recent_jobs(shop, args.days))
    costs = costing.job_costs(shop, ids) if ids is None or ids else []
    if args.by:
        lines = dc.copq_by(costs, args.by)
        print(f"cost of poor quality by {args.by} ({cur}): rework (runs after a stage's first) and scrap "
              f"(stones broken or lost), over {len(costs)} jobs")
        print(f"{args.by:22} {'jobs':>5} {'rework h':>9} {'rework':>11} {'scrap':>11} {'CoPQ':>11}")
        for ln in lines:
            print(f"{ln.key:22} {ln.jobs:5} {ln.rework_hours:9.1f} {dc.money(ln.rework):>11} {dc.money(ln.scrap):>11} "
                  f"{dc.money(ln.total):>11}")
        if not lines:
            print("none: no rework and no stone broken or lost")
        return 0
    shown = costs if args.jobs else costs[-max(args.limit, 0):] if args.limit else costs
    print(f"{'job':8} {'hours':>6} {'labour':>10} {'rework':>9} {'metal':>10} {'loss':>8} {'stones':>9} {'scrap':>8} "
          f"{'cost':>11} {'price':>11} {'margin':>11}  ({cur})")
    for c in shown:
        m = f"{dc.money(c.margin)} {c.margin_pct}%" if c.margin_pct is not None else dc.money(c.margin)
        print(f"{c.job:8} {c.hours + c.rework_hours:6.1f} {dc.money(c.labour):>10} {dc.money(c.rework):>9} "
              f"{dc.money(c.metal):>10} {dc.money(c.loss):>8} {dc.money(c.stones):>9} {dc.money(c.scrap):>8} "
              f"{dc.money(c.total):>11} {dc.money(c.price):>11} {m:>11}" + ("  (so far)" if c.open else ""))
        for note in c.missing:
            print(f"         not costed: {note}")
    if len(shown) < len(costs):
        print(f"… {len(costs) - len(shown)} earlier jobs not listed (--limit, or name them)")
    priced = [c for c in costs if c.price is not None and not c.open]
    if priced:
        rev = sum((c.price for c in priced), dc.ZERO)
        cost = sum((c.total for c in priced), dc.ZERO)
        pct = f"{((rev - cost) / rev * 100):.1f}%" if rev else "—"
        print(f"finished jobs with a price: {len(priced)}, revenue {dc.money(rev)}, cost {dc.money(cost)}, margin {pct}")
    copq = sum((c.copq for c in costs), dc.ZERO)
    print(f"cost of poor quality: {dc.money(copq)} {cur} (`floorkiosk cost --by stage|person|design|route`)")
    return 0


def cmd_quote(args: argparse.Namespace) -> int:
    from floorkiosk.domain import costing as dc  # when the command runs: start-up cost
    from floorkiosk.workshop import costing  # when the command runs: start-up cost

    shop = open_site(args)
    q, secs = costing.quote(shop, args.route, args.design, args.alloy, args.grams)
    print(f"quote ({shop.site.planning.currency}): {q.design!r} on {q.route} in {q.alloy}, {q.grams} g")
    print(f"{'stage':22} {'skill':12} {'hours':>6} {'p25-p75':>11} {'runs':>5} {'by':>8} {'rate':>7} {'labour':>10}")
    for s in q.stages:
        print(f"{s.stage:22} {s.skill:12} {s.hours:6.2f} {f'{s.low:.1f}-{s.high:.1f}':>11} {s.runs:5} {s.basis:>8} "
              f"{dc.money(s.rate):>7} {dc.money(s.cost):>10}")
    print(f"labour {dc.money(q.labour)} (p25-p75 {dc.money(q.labour_low)}-{dc.money(q.labour_high)})")
    per = f"{dc.money(q.per_fine_gram)} a fine gram" if q.per_fine_gram is not None else "no price recorded"
    print(f"metal {dc.money(q.metal)} ({q.grams} g × {q.fineness} fine × {per})")
    if q.loss:
        print(f"expected loss {dc.money(q.expected_loss)} (median {q.loss.median:.2f} % of the metal put in, "
              f"p25-p75 {q.loss.low:.2f}-{q.loss.high:.2f} %, {q.loss.n} delivered jobs of {q.loss_basis})")
    else:
        print(f"expected loss: not known ({q.loss_basis})")
    print(f"cost {dc.money(q.total)} (p25-p75 {dc.money(q.total_low)}-{dc.money(q.total_high)})")
    for note in q.missing:
        print(f"  not priced: {note}")
    print(f"(priced in {secs:.2f} s)")
    return 0
