"""Process control sub-commands: spc (every characteristic), spc show|baseline|ack; capa open|list|show|change|close."""

from __future__ import annotations

import argparse
import unicodedata

from floorkiosk.cli.core import open_site  # when the command runs: start-up cost
from floorkiosk.errors import Refused


def register(sub: argparse._SubParsersAction) -> None:
    top = sub.add_parser("spc", help="control charts of every measured characteristic: limits, Cpk, alerts",
                         description="Every numeric QC check (by stage) and each stage's metal loss, with its "
                                     "control limits, capability (Cpk) and open alerts. Without an action: the list.")
    top.set_defaults(func=cmd_list)
    ss = top.add_subparsers(dest="spc_cmd", metavar="ACTION")

    p = ss.add_parser("show", help="one characteristic's chart in the terminal, its limits and the rules broken")
    p.add_argument("name", help="a characteristic as `spc` lists it, e.g. loss.casting or qc.shank")
    for dim in ("person", "bench", "alloy", "design", "tool"):
        p.add_argument(f"--{dim}", help=f"only the points of this {dim}")
    p.add_argument("--width", type=int, default=78, help="the chart's width in columns (default 78)")
    p.set_defaults(func=cmd_show)

    p = ss.add_parser("baseline", help="fix a characteristic's control limits on its points so far (a supervisor)")
    p.add_argument("name")
    p.add_argument("--person", required=True, help="the supervisor fixing it")
    p.add_argument("--last", type=int, help="only the last N points (default: all so far)")
    p.add_argument("--bench", help="where (a bench id)")
    p.set_defaults(func=cmd_baseline)

    p = ss.add_parser("ack", help="acknowledge a characteristic's open alerts, saying what was found or done")
    p.add_argument("name")
    p.add_argument("--person", required=True, help="the supervisor acknowledging")
    p.add_argument("--note", required=True, help="what was found or done, kept beside the alert")
    p.add_argument("--bench", help="where (a bench id)")
    p.set_defaults(func=cmd_ack)

    top = sub.add_parser("capa", help="corrective actions: a cause found, the process changed, the effect checked",
                         description="A corrective action has an owner, a due date, a root cause and the change "
                                     "made; a supervisor closes it once the effect shows in the pieces after the change.")
    top.set_defaults(func=cmd_capa_list, all=False)
    cs = top.add_subparsers(dest="capa_cmd", metavar="ACTION")
    p = cs.add_parser("open", help="open a corrective action (from a drift, a defect, or by hand)")
    p.add_argument("title", help="what is wrong, in a few words")
    p.add_argument("--person", required=True, help="the supervisor opening it")
    p.add_argument("--owner", required=True, help="who finds the cause and makes the change (a person id)")
    p.add_argument("--due", required=True, help="by when, e.g. 2026-12-24")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--characteristic", help="the drifting characteristic (as `spc` lists it)")
    src.add_argument("--defect", help="the defect code that keeps coming back")
    p.add_argument("--pieces", type=int, default=5, help="pieces after the change its effect is judged on (default 5)")
    p.add_argument("--bench", help="where (a bench id)")
    p.set_defaults(func=cmd_capa_open)
    p = cs.add_parser("list", help="the open corrective actions (with --all, the closed too)")
    p.add_argument("--all", action="store_true")
    p.set_defaults(func=cmd_capa_list)
    p = cs.add_parser("show", help="one corrective action, with its effect so far")
    p.add_argument("capa")
    p.set_defaults(func=cmd_capa_show)
    p = cs.add_parser("change", help="record the root cause and the change made to the process")
    p.add_argument("capa")
    p.add_argument("--person", required=True, help="the owner (or a supervisor)")
    p.add_argument("--cause", required=True, help="method, material, machine, person or measurement")
    p.add_argument("--change", required=True, help="what was changed")
    p.add_argument("--bench", help="where (a bench id)")
    p.set_defaults(func=cmd_capa_change)
    p = cs.add_parser("close", help="close it, once its effect shows (a supervisor)")
    p.add_argument("capa")
    p.add_argument("--person", required=True, help="the supervisor closing it")
    p.add_argument("--note", required=True, help="what the effect was")
    p.add_argument("--bench", help="where (a bench id)")
    p.set_defaults(func=cmd_capa_close)


def _cols(text: str) -> int:
    """The columns a text takes in a terminal: the macron of X̄ is a combining mark and takes none."""
    return sum(1 for ch in text if not unicodedata.combining(ch))


def _num(x: float | None, digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def cmd_list(args: argparse.Namespace) -> int:
    from floorkiosk.workshop import spc  # when the command runs: start-up cost

    shop = open_site(args)
    charts = spc.charts(shop)
    if not charts:
        print("nothing measured yet: numeric QC checks and stage weighings make the charts")
        return 0
    xbars = spc.xbar_charts(shop)
    # POINTS: the points of an individuals chart; for X̄-R (by batch) the batches, each a subgroup
    rows = [("CHARACTERISTIC", "CHART", "POINTS", "CENTRE", "LCL", "UCL", "CPK", "STATE")]
    for c in charts:
        xbar = xbars.get(c.series.name)
        for kind, x in (("I-MR", c), (f"X̄-R n={xbar.size}" if xbar else "", xbar)):
            if x is None:
                continue
            lim = x.limits
            rows.append((c.series.name, kind, str(len(x.means) if kind != "I-MR" else len(c.series.values)),
                         _num(lim.center if lim else None), _num(lim.lcl if lim else None),
                         _num(lim.ucl if lim else None), _num(x.capability.cpk if x.capability else None, 2), x.state))
    widths = [max(_cols(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(v + " " * (w - _cols(v)) if i in (0, 1, 7) else " " * (w - _cols(v)) + v
                        for i, (v, w) in enumerate(zip(r, widths))).rstrip())
    alerts = sum(len(c.alerts) for c in charts)
    if alerts:
        print(f"{alerts} open alert{'s' if alerts != 1 else ''}: `floorkiosk spc show NAME` shows the chart; "
              "a supervisor acknowledges with `spc ack NAME --person P --note ...`")
    return 0


def draw(c, width: int = 78, height: int = 16) -> str:
    """The chart as text: points, centre line and limits (plotext, as the kiosk's charts)."""
    import plotext as plt  # when a chart is drawn: start-up cost

    values = c.series.values
    xs = list(range(1, len(values) + 1))
    plt.clear_figure()
    plt.plotsize(max(40, width), max(10, height))
    plt.theme("clear")
    plt.plot(xs, values, marker="dot", label=c.series.name)
    if c.limits is not None:
        for y, what in ((c.limits.ucl, "UCL"), (c.limits.center, "centre"), (c.limits.lcl, "LCL")):
            plt.hline(y)
        bad = sorted({v.index for v in c.violations})
        if bad:
            plt.scatter([i + 1 for i in bad], [values[i] for i in bad], marker="x", label="rule broken")
    plt.title(f"{c.series.title} ({c.series.unit})")
    return plt.build()


def cmd_show(args: argparse.Namespace) -> int:
    from floorkiosk.workshop import spc  # when the command runs: start-up cost

    shop = open_site(args)
    dims = {k: getattr(args, k) for k in ("person", "bench", "alloy", "design", "tool") if getattr(args, k)}
    c = spc.one(shop, args.name, **dims)
    s = c.series
    print(f"{s.name}: {s.title}, {len(s.points)} points" + (f" ({', '.join(f'{k} {v}' for k, v in dims.items())})"
                                                             if dims else ""))
    if s.points:
        print(draw(c, args.width))
    if c.limits is None:
        print(f"no limits yet: {c.note}")
        return 0
    lim = c.limits
    print(f"centre {_num(lim.center)}  LCL {_num(lim.lcl)}  UCL {_num(lim.ucl)}  sigma {_num(lim.sigma, 4)} {s.unit}"
          f"  (limits from {c.baseline})")
    tol = " to ".join(_num(x) for x in (s.lsl, s.usl) if x is not None)
    if c.capability is not None:
        cp = f"Cp {_num(c.capability.cp, 2)}  " if c.capability.cp is not None else ""
        print(f"{cp}Cpk {_num(c.capability.cpk, 2)} against the tolerance "
              f"{'≥ ' if s.usl is None else '≤ ' if s.lsl is None else ''}{tol} {s.unit}")
    elif c.note:
        print(f"capability: {c.note}")
    if not c.violations:
        print("no rule broken")
    for v in c.violations:
        p = s.points[v.index]
        state = "ALERT" if v in c.alerts else "before the baseline" if v.index < c.baseline_end else "acknowledged"
        print(f"  point {v.index + 1} ({p.ts[:16].replace('T', ' ')}, {p.job}, {shop.name(p.person)}): "
              f"rule {v.rule}, {v.text}  [{state}]")
    x = spc.xbar_of(shop, c)
    if x is not None:
        show_xbar(x, args.width)
    return 0


def draw_xbar(x, width: int = 78, height: int = 22) -> str:
    """The X̄ chart above the R chart, one point per batch (plotext subplots)."""
    import plotext as plt  # when a chart is drawn: start-up cost

    xs = list(range(1, len(x.means) + 1))
    plt.clear_figure()
    plt.subplots(2, 1)
    plt.plotsize(max(40, width), max(16, height))
    plt.theme("clear")
    for row, values, lines, what in (
            (1, x.means, (x.limits.ucl, x.limits.center, x.limits.lcl) if x.limits else (), "X̄"),
            (2, x.ranges, (x.limits.r_ucl, x.limits.r_center, x.limits.r_lcl) if x.limits else (), "R")):
        plt.subplot(row, 1)
        plt.theme("clear")
        plt.plot(xs, values, marker="dot", label=f"{what} by batch")
        for y in lines:
            plt.hline(y)
        bad = sorted({v.index for v in x.violations}) if row == 1 else x.range_out
        if bad:
            plt.scatter([i + 1 for i in bad], [values[i] for i in bad], marker="x", label="rule broken")
        plt.title(f"{what}: {x.series.title} ({x.series.unit}), subgroups of {x.size}")
    return plt.build()


def show_xbar(x, width: int = 78) -> None:
    left = f"; {x.left_out} batch{'es' if x.left_out != 1 else ''} with fewer left out" if x.left_out else ""
    print(f"\nX̄-R by batch: {len(x.means)} batches of {x.size} pieces{left}")
    print(draw_xbar(x, width))
    if x.limits is None:
        print(f"no X̄-R limits yet: {x.note}")
        return
    lim = x.limits
    print(f"X̄ centre {_num(lim.center)}  LCL {_num(lim.lcl)}  UCL {_num(lim.ucl)};  R centre {_num(lim.r_center)}  "
          f"LCL {_num(lim.r_lcl)}  UCL {_num(lim.r_ucl)} {x.series.unit}  (limits from {x.baseline})")
    if x.capability is not None:
        cp = f"Cp {_num(x.capability.cp, 2)}  " if x.capability.cp is not None else ""
        print(f"{cp}Cpk {_num(x.capability.cpk, 2)} (sigma within batches {_num(lim.within, 4)})")
    for v in x.violations:
        print(f"  batch {x.batches[v.index]}: X̄ {_num(x.means[v.index])}, rule {v.rule}, {v.text}")
    for i in x.range_out:
        print(f"  batch {x.batches[i]}: range {_num(x.ranges[i])} beyond the R chart's limits")
    if not x.violations and not x.range_out:
        print("X̄-R: no rule broken")


def cmd_baseline(args: argparse.Namespace) -> int:
    from floorkiosk.workshop import spc  # when the command runs: start-up cost

    shop = open_site(args)
    if args.last is not None and args.last < 1:
        raise Refused("--last must be a number of points, 1 or more")
    b = spc.fix_baseline(shop, args.name, args.person, args.last, args.bench)
    print(f"{args.name}: limits fixed on {b.points} points ({b.first[:10]} to {b.last[:10]}): "
          f"centre {_num(b.limits.center)}, LCL {_num(b.limits.lcl)}, UCL {_num(b.limits.ucl)}")
    return 0


def cmd_ack(args: argparse.Namespace) -> int:
    from floorkiosk.workshop import spc  # when the command runs: start-up cost

    shop = open_site(args)
    n = spc.acknowledge(shop, args.name, args.person, args.note, args.bench)
    print(f"{args.name}: {n} alert{'s' if n != 1 else ''} acknowledged")
    return 0


def _capa_line(shop, c, today: str) -> str:
    about = c.characteristic or c.defect or "by hand"
    late = "  LATE" if c.late(today) else ""
    return f"{c.id}  {c.status:<7}  due {c.due}{late}  {shop.name(c.owner):<16}  {about:<20}  {c.title}"


def cmd_capa_list(args: argparse.Namespace) -> int:
    from floorkiosk.workshop import capa  # when the command runs: start-up cost

    shop = open_site(args)
    rows = capa.listing(shop, all_=args.all)
    if not rows:
        print("no corrective actions" + ("" if args.all else " open"))
        return 0
    today = shop.now()[:10]
    for c in rows:
        print(_capa_line(shop, c, today))
    return 0


def cmd_capa_open(args: argparse.Namespace) -> int:
    from floorkiosk.workshop import capa  # when the command runs: start-up cost

    shop = open_site(args)
    c = capa.open_capa(shop, args.title, person_id=args.person, owner=args.owner, due=args.due,
                       characteristic=args.characteristic, defect=args.defect, pieces=args.pieces,
                       bench_id=args.bench)
    print(f"corrective action {c.id} opened: {c.title} (owner {shop.name(c.owner)}, due {c.due})")
    return 0


def cmd_capa_show(args: argparse.Namespace) -> int:
    from floorkiosk.workshop import capa  # when the command runs: start-up cost

    shop = open_site(args)
    c = capa.get(shop, args.capa)
    print(_capa_line(shop, c, shop.now()[:10]))
    print(f"opened {c.opened_at[:16].replace('T', ' ')} by {shop.name(c.opened_by)} ({c.source})")
    if c.changed_at:
        print(f"cause: {c.cause}; changed {c.changed_at[:16].replace('T', ' ')}: {c.change}")
    else:
        print("no change recorded yet")
    if c.status == "closed":
        print(f"closed {c.closed_at[:16].replace('T', ' ')} by {shop.name(c.closed_by)}: {c.note}")
        e = c.effect or {}
        if e.get("before") is not None:
            print(f"effect: {e.get('metric')}: {e['before']:.3f} over {e.get('n_before')} before, "
                  f"{e['after']:.3f} over {e.get('n_after')} after")
    else:
        print("effect: " + capa.effect(shop, c).text())
    return 0


def cmd_capa_change(args: argparse.Namespace) -> int:
    from floorkiosk.workshop import capa  # when the command runs: start-up cost

    shop = open_site(args)
    c = capa.record_change(shop, args.capa, person_id=args.person, cause=args.cause, change=args.change,
                           bench_id=args.bench)
    print(f"{c.id}: change recorded; its effect is judged on the next {c.pieces} pieces")
    return 0


def cmd_capa_close(args: argparse.Namespace) -> int:
    from floorkiosk.workshop import capa  # when the command runs: start-up cost

    shop = open_site(args)
    c = capa.close_capa(shop, args.capa, person_id=args.person, note=args.note, bench_id=args.bench)
    e = c.effect or {}
    print(f"{c.id} closed" + (f": {e.get('metric')} {e['before']:.3f} -> {e['after']:.3f}"
                              if e.get("before") is not None and e.get("after") is not None else ""))
    return 0
