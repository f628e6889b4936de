"""Metal sub-commands: receive, price, issue, return, refine, refiner-return, tree build|cast|cut|list, balance, reconcile."""

from __future__ import annotations

import argparse
from decimal import Decimal
from pathlib import Path

from floorkiosk.cli.core import open_site  # when the command runs: start-up cost
from floorkiosk.domain import metal as m
from floorkiosk.domain.units import UnitError, canonical_unit, fmt
from floorkiosk.errors import Refused


def register(sub: argparse._SubParsersAction) -> None:
    top = sub.add_parser("metal", help="the metal ledger: lots, issues, trees, scrap, refiner, balances, reconciliation")
    ms = top.add_subparsers(dest="metal_cmd", metavar="ACTION")

    p = ms.add_parser("receive", help="a lot of alloy comes into stock")
    p.add_argument("alloy")
    p.add_argument("weight", help="gross weight (in --unit)")
    p.add_argument("--unit", default="g", help="g (default), dwt or ozt")
    p.add_argument("--supplier", default="")
    p.add_argument("--lot", help="lot number (default: the next L0001 …)")
    p.add_argument("--note", default="")
    p.add_argument("--person", "--by", dest="by", metavar="PERSON", help="who receives it (person id; --by says the same)")
    p.set_defaults(func=cmd_receive)

    p = ms.add_parser("issue", help="metal from stock to a person at a bench")
    p.add_argument("alloy")
    p.add_argument("weight")
    p.add_argument("--unit", default="g")
    p.add_argument("--bench", required=True)
    p.add_argument("--to", dest="person", help="the person (default: the bench's common stock)")
    p.add_argument("--lot")
    p.add_argument("--person", "--by", dest="by", metavar="PERSON", help="who issues it (--by says the same)")
    p.set_defaults(func=cmd_issue)

    p = ms.add_parser("return", help="unused metal or scrap back from a bench, to stock or to the refiner")
    p.add_argument("alloy")
    p.add_argument("weight")
    p.add_argument("--unit", default="g")
    p.add_argument("--category", required=True, choices=list(m.CATEGORIES),
                   help="clean (unused), sprue, buttons, lemel (filings), sweeps, polishing-dust")
    p.add_argument("--bench", required=True)
    p.add_argument("--person", help="who returns it")
    p.add_argument("--stage", help="the stage the scrap comes from (default: the bench's only metal stage)")
    p.add_argument("--to", default="stock", choices=list(m.DESTINATIONS))
    p.add_argument("--job")
    p.add_argument("--by", metavar="PERSON", help="who records it, when not the person returning it")
    p.set_defaults(func=cmd_return)

    p = ms.add_parser("refine", help="ship scrap from stock to the refiner")
    p.add_argument("alloy")
    p.add_argument("weight")
    p.add_argument("--unit", default="g")
    p.add_argument("--category", default="lemel", choices=list(m.CATEGORIES))
    p.add_argument("--person", "--by", dest="by", metavar="PERSON", help="who ships it (--by says the same)")
    p.set_defaults(func=cmd_refine)

    p = ms.add_parser("refiner-return", help="the refiner's settlement in fine weight (optionally metal back into stock)")
    p.add_argument("metal", help="Au, Ag, Pt …")
    p.add_argument("fine_grams")
    p.add_argument("--shipment")
    p.add_argument("--alloy", help="the alloy coming back into stock (with --grams)")
    p.add_argument("--grams", help="its gross weight")
    p.add_argument("--person", "--by", dest="by", metavar="PERSON", help="who records it (--by says the same)")
    p.set_defaults(func=cmd_refiner_return)

    tree = ms.add_parser("tree", help="casting trees: build, cast, cut, list").add_subparsers(dest="tree_cmd", metavar="ACTION")
    p = tree.add_parser("build", help="put these jobs' waxes on a tree")
    p.add_argument("jobs", nargs="+")
    p.add_argument("--bench", required=True)
    p.add_argument("--person", "--by", dest="by", metavar="PERSON", required=True, help="the caster (--by says the same)")
    p.add_argument("--method", choices=list(m.CASTING_METHODS), help="default: the bench's casting_method")
    p.add_argument("--wax", help="wax weight of the tree, g")
    p.set_defaults(func=cmd_tree_build)
    p = tree.add_parser("cast", help="metal in, and the tree's weight after devesting")
    p.add_argument("tree")
    p.add_argument("--metal-in", required=True)
    p.add_argument("--tree-weight")
    p.add_argument("--unit", default="g")
    p.add_argument("--bench", required=True)
    p.add_argument("--person", "--by", dest="by", metavar="PERSON", required=True, help="the caster (--by says the same)")
    p.set_defaults(func=cmd_tree_cast)
    p = tree.add_parser("cut", help="pieces cut off (JOB=WEIGHT each), sprue and buttons back")
    p.add_argument("tree")
    p.add_argument("--piece", action="append", default=[], metavar="JOB=WEIGHT", required=True)
    p.add_argument("--sprue", default="0")
    p.add_argument("--buttons", default="0")
    p.add_argument("--to", default="stock", choices=list(m.DESTINATIONS))
    p.add_argument("--unit", default="g")
    p.add_argument("--bench", required=True)
    p.add_argument("--person", "--by", dest="by", metavar="PERSON", required=True, help="who cuts the tree (--by says the same)")
    p.set_defaults(func=cmd_tree_cut)
    p = tree.add_parser("list", help="trees with their metal in, pieces, sprue, buttons, loss and YVR")
    p.set_defaults(func=cmd_tree_list)

    p = ms.add_parser("price", help="record the day's price of a metal, per gram of fine metal (jobs' metal is costed at it)")
    p.add_argument("--metal", required=True, help="Au, Ag, Pt … (as the alloys of site.toml name them)")
    p.add_argument("--per-gram", required=True, help="the price of one gram of fine metal, e.g. 82.40")
    p.add_argument("--currency", help="default: planning.toml [costs] currency (another is refused)")
    p.add_argument("--date", help="the day it holds for (default: today)")
    p.add_argument("--person", required=True, help="who records it")
    p.set_defaults(func=cmd_price)

    p = ms.add_parser("balance", help="metal held now, gross and fine, in g, dwt and ozt")
    p.add_argument("--by", default="bench", choices=["bench", "person", "alloy", "account"])
    p.set_defaults(func=cmd_balance)

    p = ms.add_parser("reconcile", help="issued - returned - in work - finished = loss, for a period")
    p.add_argument("--from", dest="date_from", help="first day, e.g. 2026-11-01 (default: 30 days before --to)")
    p.add_argument("--to", dest="date_to", help="last day, inclusive (default: today)")
    p.add_argument("--by", default="all", choices=["all", *m.GROUPINGS])
    p.add_argument("--unit", default="g", help="show weights in g (default), dwt or ozt")
    p.add_argument("--csv", help="also write the lines to this CSV file")
    p.add_argument("--strict", action="store_true", help="exit 1 when a line is flagged")
    p.set_defaults(func=cmd_reconcile)


def cmd_receive(args: argparse.Namespace) -> int:
    from floorkiosk.workshop import metal  # when the command runs: start-up cost

    shop = open_site(args)
    lot = metal.receive_lot(shop, args.alloy, args.weight, unit=args.unit, supplier=args.supplier, lot=args.lot,
                            note=args.note, person_id=args.by)
    print(f"{lot}: {args.weight} {args.unit} {args.alloy} received into stock")
    return 0


def cmd_price(args: argparse.Namespace) -> int:
    from floorkiosk.workshop import costing  # when the command runs: start-up cost

    shop = open_site(args)
    e = costing.record_price(shop, args.metal, args.per_gram, person_id=args.person, currency=args.currency,
                             day=args.date)
    p = e.payload
    print(f"{p['metal']} {p['per_gram']} {p['currency']} a gram of fine metal on {p['day']}")
    return 0


def cmd_issue(args: argparse.Namespace) -> int:
    from floorkiosk.workshop import metal  # when the command runs: start-up cost

    shop = open_site(args)
    metal.issue(shop, args.alloy, args.weight, unit=args.unit, bench_id=args.bench, person_id=args.person,
                lot=args.lot, by=args.by)
    print(f"issued {args.weight} {args.unit} {args.alloy} to {args.person or 'the bench'} at {args.bench}")
    return 0


def cmd_return(args: argparse.Namespace) -> int:
    from floorkiosk.workshop import metal  # when the command runs: start-up cost

    shop = open_site(args)
    e = metal.return_metal(shop, args.alloy, args.weight, unit=args.unit, category=args.category, bench_id=args.bench,
                           person_id=args.person, stage=args.stage, to=args.to, job=args.job, by=args.by)
    print(f"returned {args.weight} {args.unit} {args.alloy} {m.CATEGORIES[args.category]} to {args.to}"
          + (f" (from {e.payload['stage']})" if e.payload.get("stage") else ""))
    return 0


def cmd_refine(args: argparse.Namespace) -> int:
    from floorkiosk.workshop import metal  # when the command runs: start-up cost

    shop = open_site(args)
    sid = metal.send_to_refiner(shop, args.alloy, args.weight, unit=args.unit, category=args.category, by=args.by)
    print(f"{sid}: {args.weight} {args.unit} {args.alloy} {args.category} sent to the refiner")
    return 0


def cmd_refiner_return(args: argparse.Namespace) -> int:
    from floorkiosk.workshop import metal  # when the command runs: start-up cost

    shop = open_site(args)
    metal.refiner_return(shop, args.metal, args.fine_grams, shipment=args.shipment, alloy=args.alloy, grams=args.grams,
                         by=args.by)
    for a in metal.refiner_account(shop):
        print(f"{a.metal}: sent {fmt(a.sent_fine)} fine, returned {fmt(a.returned_fine)} fine, "
              f"outstanding {fmt(a.outstanding_fine)}")
    return 0


def cmd_tree_build(args: argparse.Namespace) -> int:
    from floorkiosk.workshop import metal  # when the command runs: start-up cost

    shop = open_site(args)
    tid = metal.build_tree(shop, args.jobs, person_id=args.by, bench_id=args.bench, method=args.method,
                           wax_grams=args.wax)
    print(f"{tid}: {len(args.jobs)} pieces on the tree")
    return 0


def cmd_tree_cast(args: argparse.Namespace) -> int:
    from floorkiosk.workshop import metal  # when the command runs: start-up cost

    shop = open_site(args)
    metal.cast_tree(shop, args.tree, metal_in=args.metal_in, tree_grams=args.tree_weight, unit=args.unit,
                    person_id=args.by, bench_id=args.bench)
    print(f"{args.tree} cast: metal in {args.metal_in} {args.unit}")
    return 0


def cmd_tree_cut(args: argparse.Namespace) -> int:
    from floorkiosk.workshop import metal  # when the command runs: start-up cost

    shop = open_site(args)
    pieces = {}
    for item in args.piece:
        job, sep, weight = item.partition("=")
        if not sep or not job.strip() or not weight.strip():
            raise Refused(f"--piece {item!r} must be JOB=WEIGHT, e.g. J000123=5.214")
        pieces[job.strip()] = weight.strip()
    metal.cut_tree(shop, args.tree, pieces=pieces, sprue=args.sprue, buttons=args.buttons, to=args.to, unit=args.unit,
                   person_id=args.by, bench_id=args.bench)
    t = next(t for t in metal.trees(shop, cut_only=False) if t.id == args.tree)
    loss = m.grams(t.metal_in - t.pieces - t.sprue - t.buttons)
    print(f"{args.tree} cut off: {len(pieces)} pieces {fmt(m.grams(t.pieces))}, sprue {fmt(m.grams(t.sprue))}, "
          f"buttons {fmt(m.grams(t.buttons))}, loss {fmt(loss)}")
    return 0


def cmd_tree_list(args: argparse.Namespace) -> int:
    from floorkiosk.workshop import metal  # when the command runs: start-up cost
    from floorkiosk.domain.kpi import yvr  # when the command runs: start-up cost

    shop = open_site(args)
    for t in metal.trees(shop, cut_only=False):
        line = f"{t.id}  {t.status:5}  {t.alloy:6} {t.method:11} {len(t.jobs):3} pieces  in {fmt(m.grams(t.metal_in)):>12}"
        if t.status == "cut":
            got = t.pieces + t.sprue + t.buttons
            line += (f"  pieces {fmt(m.grams(t.pieces))}  sprue+buttons {fmt(m.grams(t.sprue + t.buttons))}"
                     f"  loss {fmt(m.grams(t.metal_in - got))}  YVR {yvr(got, t.metal_in)}%")
        print(line)
    return 0


def cmd_balance(args: argparse.Namespace) -> int:
    from floorkiosk.workshop import metal  # when the command runs: start-up cost

    shop = open_site(args)
    if args.by == "account":
        rows = [(f"{m.ACCOUNT_WORDS.get(b.acct, b.acct)} {b.bench or ''} {b.person or ''} {b.stage or ''}".strip(),
                 b.alloy, b.gross, b.fine) for b in metal.balances(shop)]
    else:
        rows = metal.holdings(shop, args.by)
    print(f"{'held by':28} {'alloy':6} {'gross':>12} {'':>10} {'':>10}   {'fine':>12} {'':>10} {'':>10}")
    for key, alloy, gross, fine in rows:
        print(f"{(key or 'workshop (benches and between them)')[:28]:28} {alloy:6} {fmt(gross, 'g'):>12} "
              f"{fmt(gross, 'dwt'):>10} {fmt(gross, 'ozt'):>10}   {fmt(fine, 'g'):>12} {fmt(fine, 'dwt'):>10} "
              f"{fmt(fine, 'ozt'):>10}")
    for alloy, g in metal.stock(shop).items():
        fin = shop.site.alloys[alloy].fineness if alloy in shop.site.alloys else Decimal(0)
        print(f"{'stock (safe)':28} {alloy:6} {fmt(g, 'g'):>12} {fmt(g, 'dwt'):>10} {fmt(g, 'ozt'):>10}   "
              f"{fmt(g * fin, 'g'):>12} {fmt(g * fin, 'dwt'):>10} {fmt(g * fin, 'ozt'):>10}")
    return 0


def cmd_reconcile(args: argparse.Namespace) -> int:
    from floorkiosk.workshop import kpi, metal  # when the command runs: start-up cost
    from floorkiosk.workshop.reports import RECON_HEADER, write_csv, recon_rows  # when the command runs: start-up cost

    try:
        unit = canonical_unit(args.unit)
    except UnitError as exc:
        raise Refused(str(exc)) from None
    shop = open_site(args)
    start, end = kpi.parse_period(args.date_from, args.date_to, shop)
    r = metal.reconcile(shop, start, end)
    groups = m.GROUPINGS if args.by == "all" else (args.by,)

    def w(g: Decimal) -> str:
        return fmt(g, unit).rsplit(" ", 1)[0]

    print(f"Metal reconciliation {start} to {end} ({unit}; b/f + issued - returned - finished - in work = difference)")
    for g in groups:
        lines = r.lines.get(g, [])
        print(f"\nby {g}")
        print(f"  {'line':24} {'alloy':6} {'b/f':>11} {'issued':>11} {'returned':>11} {'finished':>11} {'in work':>11}"
              f" {'difference':>11} {'loss %':>7}  {'fine loss':>10}  flag")
        for ln in lines:
            pct = f"{ln.loss_pct}" if ln.loss_pct is not None and ln.loss else ""
            diff = w(ln.difference) if ln.loss else f"({w(ln.difference)})"
            print(f"  {(ln.key or 'all')[:24]:24} {ln.alloy:6} {w(ln.brought_forward):>11} {w(ln.issued):>11}"
                  f" {w(ln.returned):>11} {w(ln.finished):>11} {w(ln.in_work):>11} {diff:>11} {pct:>7}  "
                  f"{w(ln.fine_loss):>10}  {ln.flag}")
        if not lines:
            print("  no metal moved in this period")
    flagged = [ln for ln in r.flagged() if ln.grouping in groups]
    print(f"\n{len(flagged)} line{'s' if len(flagged) != 1 else ''} flagged; a difference in brackets is within the"
          " scales' readability and not called loss")
    if args.csv:
        write_csv(Path(args.csv), RECON_HEADER, recon_rows(shop, r))
        print(f"written {args.csv}")
    return 1 if (args.strict and flagged) else 0
