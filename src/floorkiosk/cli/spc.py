"""Process control sub-commands: spc (every characteristic), spc show|baseline|ack."""

from __future__ import annotations

import argparse

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
    for dim in ("person", "bench", "alloy", "design"):
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


def _num(x: float | None, digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def cmd_list(args: argparse.Namespace) -> int:
    from floorkiosk.workshop import spc  # when the command runs: start-up cost

    shop = open_site(args)
    charts = spc.charts(shop)
    if not charts:
        print("nothing measured yet: numeric QC checks and stage weighings make the charts")
        return 0
    rows = [("CHARACTERISTIC", "POINTS", "CENTRE", "LCL", "UCL", "CPK", "STATE")]
    for c in charts:
        lim = c.limits
        rows.append((c.series.name, str(len(c.series.points)), _num(lim.center if lim else None),
                     _num(lim.lcl if lim else None), _num(lim.ucl if lim else None),
                     _num(c.capability.cpk if c.capability else None, 2), c.state))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(v.ljust(w) if i in (0, 6) else v.rjust(w) for i, (v, w) in enumerate(zip(r, widths))).rstrip())
    alerts = sum(len(c.alerts) for c in charts)
    if alerts:
        print(f"{alerts} open alert{'s' if alerts != 1 else ''}: `floorkiosk spc show NAME` shows the chart; "
              "a supervisor acknowledges with `spc ack NAME --person P --note ...`")
    return 0


def draw(c, width: int = 78, height: int = 16) -> str:
    """The chart as text: points, centre line and limits (plotext, as the kiosk's charts)."""
    import plotext as plt  # when a chart is drawn: start-up cost

    values = [p.value for p in c.series.points]
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
    dims = {k: getattr(args, k) for k in ("person", "bench", "alloy", "design") if getattr(args, k)}
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
    return 0


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
