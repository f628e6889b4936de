"""Planning sub-commands: schedule, promise, capacity declare|show, work pause|resume, times."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from floorkiosk.errors import FloorkioskError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("schedule", help="the master schedule of every open job's remaining stages")
    p.add_argument("--person", help="only this person's stages")
    p.add_argument("--week", help="only stages that start in this week (2026-W50, or a date in it)")
    p.add_argument("--late", action="store_true", help="only the jobs the schedule finishes late, with the stage that makes them late")
    p.add_argument("--load", action="store_true", help="the load on each skill week by week against declared hours")
    p.add_argument("--fresh", action="store_true", help="make it again even if nothing has moved")
    p.set_defaults(func=cmd_schedule)

    p = sub.add_parser("promise", help="the earliest date the shop can keep for new work, and why")
    p.add_argument("--route", required=True)
    p.add_argument("--design", required=True)
    p.add_argument("--alloy")
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--rush", action="store_true")
    p.set_defaults(func=cmd_promise)

    cap = sub.add_parser("capacity", help="hours a week by skill").add_subparsers(dest="capacity_cmd", metavar="ACTION")
    p = cap.add_parser("declare", help="record a person's hours by skill for this week or the next")
    p.add_argument("person")
    p.add_argument("hours", nargs="+", metavar="SKILL=HOURS", help="e.g. setting=20 polishing=8")
    p.add_argument("--week", help="2026-W50 (default: this week)")
    p.set_defaults(func=cmd_capacity_declare)
    p = cap.add_parser("show", help="each person's hours by skill for a week")
    p.add_argument("--week", help="2026-W50 (default: this week)")
    p.set_defaults(func=cmd_capacity_show)

    work = sub.add_parser("work", help="pause and resume a stage under way").add_subparsers(dest="work_cmd", metavar="ACTION")
    for name, helptext in (("pause", "stop the clock on a stage under way (the PAUSE card)"),
                           ("resume", "start it again (the RESUME card)")):
        p = work.add_parser(name, help=helptext)
        p.add_argument("job")
        p.add_argument("--person", required=True)
        p.add_argument("--stage")
        p.add_argument("--bench")
        p.set_defaults(func=cmd_work, action=name)

    p = sub.add_parser("times", help="standard times: each stage's expected work hours, learned from history")
    p.add_argument("--route")
    p.add_argument("--design", default="")
    p.set_defaults(func=cmd_times)


def _shop(args: argparse.Namespace):
    """The site the command names (--site, $FLOORKIOSK_SITE or ./site), as every command opens it."""
    from floorkiosk.paths import default_site_dir  # when the command runs: start-up cost
    from floorkiosk.workshop.site import open_shop  # when the command runs: start-up cost

    return open_shop(Path(args.site) if getattr(args, "site", None) else default_site_dir())


def _hours(m: int) -> str:
    return f"{m / 60:.1f} h"


def cmd_schedule(args: argparse.Namespace) -> int:
    from floorkiosk.domain.calendar import parse_week, week_label  # when the command runs: start-up cost
    from floorkiosk.workshop.schedule import master_schedule  # when the command runs: start-up cost

    shop = _shop(args)
    week = None
    if args.week:
        try:
            week = week_label(parse_week(args.week))
        except ValueError as exc:
            raise FloorkioskError(str(exc)) from None
    if args.person:
        shop.person(args.person)
    m = master_schedule(shop, fresh=args.fresh)
    plan = m.plan
    print(f"master schedule: {len(plan.ends)} open jobs, {len(plan.placements)} stages, {len(plan.late)} late; "
          f"{plan.method}, {'kept from ' + m.made_at.strftime('%Y-%m-%d %H:%M') if m.from_cache else f'made in {plan.seconds:.2f} s'}")
    for n in plan.notes:
        print(f"  ({n})")
    for u in plan.unplaceable:
        print(f"CANNOT PLAN {u.job}: stage {u.stage} needs {u.skill!r}: {u.why}")
    if args.load:
        return _print_load(m, week)
    if args.late:
        for job, end, crit in m.late_jobs():
            why = (f"{crit.stage} ({crit.skill}, {crit.person}) waits {(crit.start - crit.ready) / 60:.1f} h"
                   if crit and crit.start > crit.ready else f"{crit.stage} ({crit.skill}) takes {(crit.end - crit.start) / 60:.1f} h"
                   if crit else "")
            print(f"LATE {job.id}  due {job.due}  planned end {end}" + ("  RUSH" if job.priority == "rush" else "")
                  + (f"  held back by {why}" if why else ""))
        return 0
    rows = sorted(plan.placements, key=lambda p: (p.person, p.start))
    for p in rows:
        if args.person and p.person != args.person:
            continue
        start = m.when(p.start)
        if week and week_label(start.date()) != week:
            continue
        end = m.when(p.end)
        job = m.info.get(p.job)
        late = "  LATE" if p.job in set(plan.late) else ""
        print(f"{p.person:10} {start:%a %Y-%m-%d %H:%M} → {end:%a %m-%d %H:%M}  {p.job}  {p.stage:18} "
              f"{p.skill:11} due {job.due if job else '?'}{late}")
    return 0


def _print_load(m, week: str | None) -> int:
    from floorkiosk.domain.calendar import week_label  # when the command runs: start-up cost

    load = m.load()
    weeks = [week_label(w) for w in m.weeks]
    if week:
        weeks = [w for w in weeks if w == week] or [week]
    skills = sorted({k[0] for k in m.capacity_minutes} | {k[0] for k in load})
    print("load against declared hours, by skill and week (planned work hours / hours declared = %)")
    print(f"{'skill':12}" + "".join(f"{w:>16}" for w in weeks))
    for sk in skills:
        cells = []
        for w in weeks:
            lo, cap = load.get((sk, w), 0.0), m.capacity_minutes.get((sk, w), 0.0)
            cells.append(f"{lo / 60:5.0f}/{cap / 60:<4.0f}{(100 * lo / cap if cap else 0):4.0f}%" if cap or lo else "-")
        print(f"{sk:12}" + "".join(f"{c:>16}" for c in cells))
    return 0


def cmd_promise(args: argparse.Namespace) -> int:
    from floorkiosk.workshop.schedule import promise  # when the command runs: start-up cost

    shop = _shop(args)
    p = promise(shop, args.route, args.design, args.alloy, args.count, args.rush)
    n = f"{args.count} pieces" if args.count > 1 else "one piece"
    print(f"earliest date the shop can keep for {n} of {args.design!r} on {args.route}: {p.earliest.isoformat()}")
    print(p.why())
    return 0


def check_due(shop, args: argparse.Namespace):
    """`job add --due D`: a warning on stderr when the schedule cannot keep D; the promise (or None)."""
    from floorkiosk.workshop.schedule import promise  # when the command runs: start-up cost

    if args.route not in shop.site.routes or args.count < 1:
        return None  # job add refuses these itself, in its own words
    try:
        due = date.fromisoformat(str(args.due)[:10])
    except ValueError:
        return None
    p = promise(shop, args.route, args.design, None, args.count, args.rush)
    if p.earliest <= due:
        return None
    if args.accept_late:
        print(f"warning: due {due} cannot be kept: the earliest the schedule can keep is {p.earliest} ({p.why()}); "
              "recorded as accepted late", file=sys.stderr)
    else:
        print(f"warning: due {due} cannot be kept: the earliest the schedule can keep is {p.earliest} ({p.why()}); "
              "promise that date, or add --accept-late to record that this one was made knowing it",
              file=sys.stderr)
    return p


def _parse_hours(items: list[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for it in items:
        sk, sep, h = it.partition("=")
        if not sep or not sk:
            raise FloorkioskError(f"{it!r}: give hours as SKILL=HOURS, e.g. setting=20")
        try:
            out[sk.strip()] = float(h)
        except ValueError:
            raise FloorkioskError(f"{it!r}: {h!r} is not a number of hours") from None
    return out


def cmd_capacity_declare(args: argparse.Namespace) -> int:
    from floorkiosk.domain.calendar import week_label  # when the command runs: start-up cost
    from floorkiosk.workshop.capacity import declare_capacity, now_local  # when the command runs: start-up cost

    shop = _shop(args)
    week = args.week or week_label(now_local(shop).date())
    label = declare_capacity(shop, args.person, week, _parse_hours(args.hours))
    print(f"{shop.name(args.person)}: {', '.join(args.hours)} for {label}")
    return 0


def cmd_capacity_show(args: argparse.Namespace) -> int:
    from floorkiosk.domain.calendar import parse_week, week_label  # when the command runs: start-up cost
    from floorkiosk.workshop.capacity import capacity_of, declared, now_local  # when the command runs: start-up cost

    shop = _shop(args)
    try:
        monday = parse_week(args.week) if args.week else parse_week(now_local(shop).date().isoformat())
    except ValueError as exc:
        raise FloorkioskError(str(exc)) from None
    decl = declared(shop)
    cal = shop.site.planning.calendar
    print(f"week {week_label(monday)}: {cal.week_hours(monday):g} working hours")
    for p in shop.site.people.values():
        c = capacity_of(shop, p.id, monday, decl)
        said = ", ".join(f"{sk} {h:g} h" for sk, h in c.items()) if c is not None else \
            f"any of {', '.join(p.skills)} (nothing declared)" if p.skills else "no skills"
        where = "declared" if (p.id, week_label(monday)) in decl else "people.toml" if c is not None else ""
        print(f"{p.id:10} {said}" + (f"  [{where}]" if where else ""))
    return 0


def cmd_work(args: argparse.Namespace) -> int:
    from floorkiosk.workshop.capacity import pause_work, resume_work  # when the command runs: start-up cost

    shop = _shop(args)
    verb = pause_work if args.action == "pause" else resume_work
    sid = verb(shop, args.job, args.person, args.bench, args.stage)
    print(f"{args.action}d {sid} on {shop.job(args.job).id}")
    return 0


def cmd_times(args: argparse.Namespace) -> int:
    from floorkiosk.workshop.capacity import standards  # when the command runs: start-up cost

    shop = _shop(args)
    std = standards(shop)
    if args.route and args.route not in shop.site.routes:
        raise FloorkioskError(f"unknown route {args.route!r}; routes: {', '.join(shop.site.routes)}")
    stages = shop.site.routes[args.route].stage_ids if args.route else list(shop.site.stages)
    for sid in stages:
        print(f"{sid:22} {std.of(sid, args.route or '', args.design).said()}")
    return 0
