"""Core sub-commands: init, demo, job add|import|show|list, audit verify, db rebuild."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from floorkiosk.workshop import cards, verbs  # when the command runs: start-up cost
from floorkiosk.domain.stones import STONE_EXAMPLE
from floorkiosk.domain.units import fmt_many
from floorkiosk.errors import ConfigError, FloorkioskError, Refused
from floorkiosk.paths import default_site_dir


def site_dir(args: argparse.Namespace) -> Path:
    return Path(args.site) if getattr(args, "site", None) else default_site_dir()


def open_site(args: argparse.Namespace):
    """The Shop of the site the command names (--site, $FLOORKIOSK_SITE or ./site)."""
    from floorkiosk.workshop.site import open_shop  # when the command runs: start-up cost

    return open_shop(site_dir(args))


IMPORT_COLUMNS = ("route", "design", "alloy", "due", "client", "spec", "rush", "stones", "count", "price")
_IMPORT_REQUIRED = ("route", "design", "alloy", "due")


def _job_options(p: argparse.ArgumentParser) -> None:
    """What job add and job import share: who records the jobs, where, a past promise, the labels."""
    p.add_argument("--person", help="who enters the jobs (a person of people.toml; recorded with them)")
    p.add_argument("--bench", help="where (a bench id)")
    p.add_argument("--allow-past", action="store_true",
                   help="accept a due date before today (refused otherwise: usually a typing mistake)")
    p.add_argument("--print", dest="print_bench", metavar="BENCH", help="print the job-bag labels on this bench's printer")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("init", help="create a new site from a config folder")
    p.add_argument("--config", help="the config folder to start from (default: the example site)")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("check", help="validate a config folder and say what is wrong, file:line")
    p.add_argument("config", nargs="?", help="config folder (default: the site's)")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("demo", help="create a demo site with realistic jobs and start the kiosk on it")
    p.add_argument("--bench", default="setting", help="bench the kiosk starts at (default: setting)")
    p.add_argument("--jobs", type=int, default=60, help="how many jobs the demo site holds")
    p.add_argument("--no-kiosk", action="store_true", help="only create the demo site")
    p.add_argument("--fresh", action="store_true", help="throw away an existing demo site first")
    p.set_defaults(func=cmd_demo)

    job = sub.add_parser("job", help="add, import, show or list jobs").add_subparsers(dest="job_cmd", metavar="ACTION")
    p = job.add_parser("add", help="create a job (a new job bag)")
    p.add_argument("--route", required=True)
    p.add_argument("--design", required=True)
    p.add_argument("--alloy", required=True)
    p.add_argument("--due", required=True, help="promised date, e.g. 2026-12-24")
    p.add_argument("--client", default="")
    p.add_argument("--spec", default="", help="client spec and preferences, e.g. 'matte shank, no rhodium'")
    p.add_argument("--rush", action="store_true")
    p.add_argument("--stone", action="append", default=[], metavar="LINE",
                   help=f"a stone line of the job card, e.g. '{STONE_EXAMPLE}' (N × … ct: each stone's weight; "
                        "'0.36 ct tw': the line's total; repeat for more lines)")
    p.add_argument("--count", type=int, default=1, help="create this many identical jobs")
    p.add_argument("--price", help="what the client pays for each piece, in planning.toml [costs] currency "
                                   "(its margin is then shown by `floorkiosk cost`)")
    _job_options(p)
    p.add_argument("--accept-late", action="store_true",
                   help="the schedule cannot keep --due: record that the promise was made knowing it")
    p.set_defaults(func=cmd_job_add)
    p = job.add_parser("import", help="create jobs from a CSV file (a header row, columns as job add), all or none",
                       description="Create the jobs of a CSV file, one a row. The first row names the columns: "
                                   f"{', '.join(IMPORT_COLUMNS)} (route, design, alloy and due are needed; rush is "
                                   "yes or no; stones holds stone lines separated by ';'; count makes that many "
                                   "identical jobs). Every row is checked first: any mistake is listed as "
                                   "FILE:LINE: what is wrong, all of them, and then nothing is recorded.")
    p.add_argument("file", metavar="FILE.csv")
    _job_options(p)
    p.set_defaults(func=cmd_job_import)
    p = job.add_parser("show", help="show a job card")
    p.add_argument("job")
    p.set_defaults(func=cmd_job_show)
    p = job.add_parser("list", help="list jobs (RUSH, LATE and on HOLD are marked)")
    p.add_argument("--all", action="store_true", help="include completed jobs")
    p.add_argument("--stage", help="only jobs that reached this stage (its id or name)")
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(func=cmd_job_list)

    audit = sub.add_parser("audit", help="check the journal's hash chains").add_subparsers(dest="audit_cmd", metavar="ACTION")
    p = audit.add_parser("verify", help="exit non-zero naming the first edited, deleted or reordered event")
    p.add_argument("--hub", action="store_true", help="verify every bench's chain on the PostgreSQL hub")
    p.add_argument("--full", action="store_true",
                   help="fold the whole journal to check the derived tables, not only what came after the last snapshot")
    p.set_defaults(func=cmd_audit_verify)

    db = sub.add_parser("db", help="the embedded database").add_subparsers(dest="db_cmd", metavar="ACTION")
    p = db.add_parser("rebuild", help="derive every table again from the journal and compare")
    p.add_argument("--person", help="who rebuilds (recorded with the db.rebuilt event, when the tables differed)")
    p.set_defaults(func=cmd_db_rebuild)


def cmd_init(args: argparse.Namespace) -> int:
    from floorkiosk.workshop.site import init_site  # when the command runs: start-up cost

    d = init_site(site_dir(args), args.config)
    print(f"site created at {d}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from floorkiosk.domain.config import load_site  # when the command runs: start-up cost

    folder = Path(args.config) if args.config else site_dir(args) / "config"
    try:
        site = load_site(folder)
        from floorkiosk.workshop.metal import metal_settings  # when the command runs: start-up cost

        metal_settings(site)  # the [metal] table and casting methods are validated by the metal ledger
    except ConfigError as exc:
        for p in exc.problems:
            print(p, file=sys.stderr)
        return 2
    print(f"{folder}: ok — {len(site.benches)} benches, {len(site.routes)} routes, {len(site.stages)} stages, "
          f"{len(site.people)} people, {len(site.alloys)} alloys")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from floorkiosk.workshop.demo import make_demo_site  # when the command runs: start-up cost

    d = site_dir(args) if getattr(args, "site", None) else Path.cwd() / "demo-site"
    if args.no_kiosk:
        created = make_demo_site(d, jobs=args.jobs, fresh=args.fresh)
        print(f"demo site {'created' if created else 'reused'} at {d}")
        return 0
    # The site is built in a second process while this one loads the kiosk (a third of a second
    # of imports), so a first demo reaches its idle screen sooner; an error there is raised here.
    import concurrent.futures
    import multiprocessing

    with concurrent.futures.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
        building = pool.submit(make_demo_site, d, jobs=args.jobs, fresh=args.fresh)
        try:
            from floorkiosk.kiosk.app import run_kiosk  # when the command runs: start-up cost
        except ImportError:
            run_kiosk = None
        created = building.result()
    print(f"demo site {'created' if created else 'reused'} at {d}")
    if run_kiosk is None:
        print("the kiosk is not installed in this build; the demo site is ready for the CLI")
        return 0
    return run_kiosk(d, args.bench, demo=True)


def cmd_job_add(args: argparse.Namespace) -> int:
    from floorkiosk.domain.stones import line_text, parse_lines  # when the command runs: start-up cost

    if args.count < 1:
        raise FloorkioskError("--count must be at least 1")
    stones, wrong = parse_lines(args.stone)
    if wrong:
        return _refuse(wrong + ["nothing was recorded"])
    shop = open_site(args)
    spec = dict(route=args.route, design=args.design, alloy=args.alloy, due=args.due, client=args.client,
                spec=args.spec, priority="rush" if args.rush else "normal", stones=stones, price=args.price)
    from floorkiosk.cli.plan import check_due  # when the command runs: start-up cost

    late = check_due(shop, args)  # warns when the schedule cannot keep the date
    ids = verbs.create_jobs(shop, [dict(spec) for _ in range(args.count)], person_id=args.person,
                            bench_id=args.bench, allow_past=args.allow_past)
    if late is not None and args.accept_late:
        from floorkiosk.workshop.schedule import record_accepted_late  # when the command runs: start-up cost

        record_accepted_late(shop, ids, args.due, late)
    for j in ids:
        print(j)
    for i, line in enumerate(stones, 1):
        print(f"  stone line {i}: {line_text(line)}")
    _print_new(shop, args, ids)
    return 0


def _print_new(shop, args: argparse.Namespace, ids: list[str]) -> None:
    if args.print_bench:
        from floorkiosk.workshop.labelling import print_job_bags  # when the command runs: start-up cost

        print_job_bags(shop, ids, bench_id=args.print_bench, person_id=args.person)
        print(f"{len(ids)} job-bag label{'s' if len(ids) > 1 else ''} sent to {args.print_bench}'s printer")


def _refuse(lines: list[str]) -> int:
    """Every problem on its own line (FILE:LINE: what is wrong, as an editor reads it); exit 2."""
    for line in lines:
        print(line, file=sys.stderr)
    return 2


def cmd_job_import(args: argparse.Namespace) -> int:
    import csv

    from floorkiosk.domain.stones import parse_lines  # when the command runs: start-up cost

    name = args.file
    path = Path(name)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise Refused(f"{name}: no such file") from None
    except IsADirectoryError:
        raise Refused(f"{name}: a folder, not a CSV file") from None
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[:exc.start].count(b"\n") + 1
        raise Refused(f"{name}:{line}: not UTF-8 text (save the spreadsheet as CSV UTF-8); nothing was recorded") from None
    except OSError as exc:
        raise Refused(f"{name}: cannot be read: {exc.strerror or exc}") from None
    first = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first.count) if first.strip() else ","
    reader = csv.reader(text.splitlines(keepends=True), delimiter=delimiter)
    problems: list[str] = []
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise Refused(f"{name}:1: {exc}; nothing was recorded") from None
    if header is None or not any(h.strip() for h in header):
        raise Refused(f"{name}:1: no header row: the first line names the columns ({', '.join(IMPORT_COLUMNS)})")
    columns = [h.strip().lower() for h in header]
    seen: set[str] = set()
    for c in columns:
        if c and c not in IMPORT_COLUMNS:
            problems.append(f"{name}:1: unknown column {c!r}; columns: {', '.join(IMPORT_COLUMNS)}")
        elif c in seen:
            problems.append(f"{name}:1: column {c!r} is named twice")
        seen.add(c)
    for c in _IMPORT_REQUIRED:
        if c not in columns:
            problems.append(f"{name}:1: no {c!r} column: every job needs its {'due date' if c == 'due' else c}")
    if problems:
        return _refuse(problems + [f"{name}: nothing was recorded"])
    shop = open_site(args)
    if args.person is not None:
        shop.person(args.person)
    if args.bench is not None:
        shop.bench(args.bench)
    specs: list[dict] = []
    rows = 0
    at = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(f"{name}:{at}: {exc}")
            break
        line, at = at, reader.line_num + 1
        if not any(cell.strip() for cell in row):
            continue
        rows += 1
        if len(row) > len(columns):
            problems.append(f"{name}:{line}: {len(row)} cells, but the header names {len(columns)} columns "
                            "(a cell holding a comma is put in double quotes)")
            continue
        cells = {c: v.strip() for c, v in zip(columns, row) if c}
        wrong: list[str] = []
        rush = cells.get("rush", "").lower()
        if rush not in ("", "yes", "no", "y", "n", "true", "false", "1", "0", "rush", "normal", "x"):
            wrong.append(f"rush is yes or no, not {cells['rush']!r}")
        count = 1
        if cells.get("count"):
            try:
                count = int(cells["count"])
                if not 1 <= count <= 1000:
                    raise ValueError
            except ValueError:
                wrong.append(f"count is a whole number of jobs from 1 to 1000, not {cells['count']!r}")
        stones, bad = parse_lines([t for t in cells.get("stones", "").split(";") if t.strip()])
        wrong += bad
        spec = dict(route=cells.get("route", ""), design=cells.get("design", ""), alloy=cells.get("alloy", ""),
                    due=cells.get("due", ""), client=cells.get("client", ""), spec=cells.get("spec", ""),
                    priority="rush" if rush in ("yes", "y", "true", "1", "rush", "x") else "normal", stones=stones,
                    price=cells.get("price", ""))
        wrong += verbs.job_problems(shop, spec, allow_past=args.allow_past)
        problems += [f"{name}:{line}: {w}" for w in wrong]
        specs += [dict(spec) for _ in range(count)]
    if not rows and not problems:
        raise Refused(f"{name}: no jobs below the header row; nothing was recorded")
    if problems:
        wrong_rows = len({p.split(": ", 1)[0] for p in problems if p.count(":") >= 2})
        return _refuse(problems + [f"{name}: nothing was recorded ({wrong_rows} of {rows} rows are wrong)"])
    ids = verbs.create_jobs(shop, specs, person_id=args.person, bench_id=args.bench, allow_past=args.allow_past)
    for j in ids:
        print(j)
    print(f"{len(ids)} job{'s' if len(ids) != 1 else ''} imported from {name}")
    _print_new(shop, args, ids)
    return 0


def cmd_job_show(args: argparse.Namespace) -> int:
    shop = open_site(args)
    card = cards.job_card(shop, args.job)
    j = card.job
    units = shop.site.settings.units
    print(f"{j.id}  {j.design}  [{card.route.name}]" + ("  RUSH" if j.priority == "rush" else ""))
    print(f"client: {j.client or '-'} ({j.client_initials})  spec: {j.spec or '-'}")
    due = f"due {j.due}" + (f" ({card.days_left} days left)" if card.days_left is not None and card.days_left >= 0 else
                            f" ({-card.days_left} days LATE)" if card.late else "")
    print(f"alloy: {card.alloy_name}  {due}  weight: {fmt_many(j.last_weight, units, card.weight_step) if j.last_weight else '-'}")
    if j.stones:
        from floorkiosk.domain.stones import line_text  # when the command runs: start-up cost

        print("stones: " + "; ".join(f"{i}. {line_text(s)}" for i, s in enumerate(j.stones, 1)))
    if j.hold:
        print(f"ON HOLD: {j.hold.reason}")
    print("route: " + "  ".join(f"{s.name}: {s.status}" + (f" (reopened: {s.reopened})" if s.reopened else "")
                                for s in card.stages))
    from floorkiosk.workshop import standards  # when the command runs: start-up cost

    if standards.versions(shop):  # said once the standards have changed: before, every job runs under v1
        mine, now = standards.job_version(shop, j.id), standards.current(shop)
        print(f"standards: v{mine}" + (f" (v{now} in effect for new jobs)" if mine != now else ""))
    for o in card.overrides:
        print(f"OVERRIDE {o.ts}: {o.override}")
    print("history:")
    for h in card.history:
        print(f"  {h.ts}  {h.text}")
    return 0


def cmd_job_list(args: argparse.Namespace) -> int:
    shop = open_site(args)
    stage = _stage_named(shop, args.stage) if args.stage is not None else None
    rows = cards.list_jobs(shop, status=None if args.all else "open", stage=stage, limit=args.limit)
    if not rows:
        print("no jobs" + (f" have reached {shop.site.stages[stage].name}" if stage else
                           "" if args.all else " open (--all: the completed too)"))
        return 0
    print(f"{'JOB':8} {'DUE':10}  {'ALLOY':6} {'ROUTE':13} {'NOW':15} {'FLAGS':17} DESIGN")
    for jid, design, route, alloy, due, prio, current, hold, status, left, late in rows:
        flags = " ".join(f for f in ("RUSH" if prio == "rush" else "",
                                     f"LATE {-left}d" if late else "",
                                     "HOLD" if hold else "", "done" if status == "complete" else "") if f)
        print(f"{jid:8} {due:10}  {alloy:6} {route:13} {current or '-':15} {flags or '-':17} {design}")
    return 0


def _stage_named(shop, text: str) -> str:
    """A stage's id from its id or its name, in any case; Refused naming the known stages."""
    stages = shop.site.stages
    t = " ".join(text.split()).lower()
    for sid, s in stages.items():
        if t in (sid.lower(), s.name.lower()):
            return sid
    raise Refused(f"no stage {text!r}; stages: {', '.join(stages)}")


def _say_derived(check, out=None) -> None:
    """The derived tables' check, as audit verify and db rebuild print it (on stderr by default)."""
    out = out or sys.stderr
    for e, why in check.unreadable:
        print(f"UNREADABLE: event {e.id} (origin {e.origin} #{e.origin_seq}, journal seq {e.seq}, {e.type}):"
              f" {why}; left out of the derived tables", file=out)
    for e, reasons in check.refused:
        print(f"RULES: event {e.id} ({e.type} on {e.job}, origin {e.origin} #{e.origin_seq}, {e.ts}) would have been"
              f" refused where it stands in the journal: {'; '.join(reasons)}", file=out)
    for t in check.differing:
        print(f"DERIVED: {t}", file=out)


def cmd_audit_verify(args: argparse.Namespace) -> int:
    if args.hub:
        try:
            from floorkiosk.store.hub import verify_hub_cli  # when the command runs: start-up cost
        except ImportError:
            raise FloorkioskError("this build has no hub support") from None
        return verify_hub_cli(site_dir(args))
    from concurrent.futures import ThreadPoolExecutor  # when the command runs: start-up cost

    from floorkiosk.workshop import anchoring  # when the command runs: start-up cost
    from floorkiosk.workshop.evidence import audit_photos  # when the command runs: start-up cost (Pillow)

    shop = open_site(args)
    anchored = anchoring.check(shop)
    for note in anchored.notes:
        print(f"note: {note}", file=sys.stderr)
    for p in anchored.problems:
        print(f"ANCHORS: {p}", file=sys.stderr)
    # The derived tables are checked in a thread of their own while the chains are walked: from a
    # snapshot that check runs in SQLite on a connection of its own, so it takes the other core.
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(anchoring.check_derived, shop, anchored, args.full)
        problems = shop.journal.verify()
        n = shop.journal.count()
        for p in problems:
            print(f"TAMPERED: {p}", file=sys.stderr)
        # said as found: a site that lost its photos has as many problems as photos
        photos = audit_photos(shop, say=lambda p: print(f"EVIDENCE: {p}", file=sys.stderr))
        checked = pending.result()
    derived = checked.check
    for note in checked.notes:
        print(f"note: {note}", file=sys.stderr)
    for p in checked.problems:
        print(f"SNAPSHOT: {p}", file=sys.stderr)
    # unreadable events are among the problems above already
    _say_derived(replace(derived, unreadable=[]))
    if not (problems or anchored.problems or derived.differing):
        # a fold that the chains, the anchors and the stored tables all agree with: the next check starts from it
        taken = anchoring.take_snapshot(shop, derived)
        if taken:
            print(f"snapshot: {taken}")
    if problems or photos.failed or derived.differing or derived.refused or anchored.problems or checked.problems:
        return 1
    print(f"journal ok: {n} events, every chain intact")
    print(f"checkpoints ok: {anchored.lines} in the signed log" + (f", the last signed {anchored.last_at}" if anchored.last_at else "")
          + (f"; {anchored.hub_points} on the hub" if anchored.hub_points is not None else "")
          + "; every chain reaches its last checkpoint")
    print(f"photos ok: {photos.checked} referenced, each present and matching its hash"
          + (f" ({len(photos.elsewhere)} taken at other benches are kept on the hub)" if photos.elsewhere else ""))
    print(f"derived tables ok: {len(derived.tables)} tables, each as the journal gives it"
          + (f" (the snapshot at journal seq {derived.base_seq} and the {derived.tail} events after it)"
             if derived.base_seq else " (the whole journal folded)"))
    return 0


def cmd_db_rebuild(args: argparse.Namespace) -> int:
    import time
    from datetime import datetime, timezone

    from floorkiosk.domain import events as ev  # when the command runs: start-up cost

    shop = open_site(args)
    if args.person is not None:
        shop.person(args.person)  # an unknown person is refused before anything is rebuilt
    journal = shop.journal
    t0 = time.perf_counter()
    check = journal.check_derived()
    _say_derived(check)
    trouble = bool(check.unreadable or check.refused)
    if not check.differing:
        print(f"checked against {journal.count()} events in {time.perf_counter() - t0:.2f} s")
        print(f"state identical (sha256 {journal.state_digest()[:16]}…): nothing to rewrite")
        return 1 if trouble else 0
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    copy = journal.path.with_name(f"{journal.path.name}.before-rebuild-{stamp}")
    with journal.lock:
        journal.conn.execute("VACUUM INTO ?", (str(copy),))
    print(f"the file as it was is kept at {copy}", file=sys.stderr)
    journal.rebuild()
    took = time.perf_counter() - t0
    payload = {"tables": [_change(t) for t in check.differing], "copy": str(copy)}
    if check.refused:
        payload["refused"] = [{"event": e.id, "job": e.job or "", "type": e.type, "reasons": r}
                              for e, r in check.refused]
    if check.unreadable:
        payload["unreadable"] = [f"{e.id}: {why}" for e, why in check.unreadable]
    journal.append(shop.event(ev.DB_REBUILT, None, args.person, None, payload))
    print(f"rebuilt from {journal.count()} events in {took:.2f} s")
    print(f"state DIFFERED from the journal in {', '.join(t.table for t in check.differing)}; the rebuilt state is"
          f" now in place, recorded as a {ev.DB_REBUILT} event; the file as it was is kept at {copy}", file=sys.stderr)
    return 1


def _change(t) -> dict:
    def said(row):
        return "" if row is None else ", ".join(f"{c}={v!r}" for c, v in zip(t.columns, row))
    out = {"table": t.table, "before": t.stored, "after": t.folded}
    if not t.missing:
        out |= {"first_before": said(t.stored_row), "first_after": said(t.folded_row)}
    return out
