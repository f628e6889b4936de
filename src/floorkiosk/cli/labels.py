"""`floorkiosk label …`: render labels to files, print them, badges and the command card sheet."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from floorkiosk.cli.core import site_dir  # when the command runs: start-up cost
from floorkiosk.errors import Refused

_DEFAULT_TEMPLATE = {"job": "job_bag", "batch": "batch_bag", "badge": "badge_card", "command": "command_card",
                     "parcel": "stone_parcel", "tool": "tool_tag"}
# Which record option feeds a template of each kind.
_OPTION_OF_KIND = {"job": "job", "batch": "batch", "badge": "badge", "command": "command", "stone_parcel": "parcel",
                   "tool": "tool"}


def _site_if_any(args: argparse.Namespace) -> Path | None:
    site = site_dir(args)
    return site if (site / "config").is_dir() else None


def _records_options(p: argparse.ArgumentParser, *, person_is_badge: bool) -> None:
    """The labels to make. person_is_badge: --person also names a badge card (render, which records nothing;
    on `label print`, --person is who prints, recorded with a job bag's label, as on every verb that records)."""
    p.add_argument("--template", help="label template (default: from --job, --batch, --badge or --command)")
    p.add_argument("--job", action="append", default=[], metavar="ID", help="a job bag (repeat for many)")
    p.add_argument("--batch", action="append", default=[], metavar="ID", help="a batch bag (repeat for many)")
    p.add_argument("--badge", *(("--person",) if person_is_badge else ()), action="append", default=[], metavar="ID",
                   dest="badges", help="a person's badge card (their person id)")
    p.add_argument("--command", action="append", default=[], metavar="WORD", dest="commands",
                   help="a command card (START, FINISH, …)")
    p.add_argument("--parcel", action="append", default=[], metavar="ID", help="a stone parcel (SP0007)")
    p.add_argument("--tool", action="append", default=[], metavar="ID", help="a tool of tools.toml (M12)")
    p.add_argument("--field", action="append", default=[], metavar="NAME=VALUE",
                   help="set a field on every label, or make one label from fields alone (stone parcels)")
    p.add_argument("--copies", type=int, default=1, help="copies of each label (1-99)")


def _printer_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--bench", help="print on this bench's printer (from the site config)")
    p.add_argument("--printer", metavar="URI", help="or this printer: tcp://host:9100, cups:QUEUE, file:/path")
    p.add_argument("--dpi", type=int, help="the printer's resolution: 203, 300 or 600")
    p.add_argument("--language", choices=("zpl", "pdf", "png"), help="what the printer takes (default: zpl)")
    p.add_argument("--paper", help="pdf: print sheets of labels on A4 or Letter")


def register(sub: argparse._SubParsersAction) -> None:
    label = sub.add_parser("label", help="render and print job bag, batch, badge and command labels")
    acts = label.add_subparsers(dest="label_cmd", metavar="ACTION")

    p = acts.add_parser("list", help="the label templates, with their stock size")
    p.set_defaults(func=cmd_list)

    p = acts.add_parser("render", help="render labels to a file (ZPL, PNG or PDF)")
    _records_options(p, person_is_badge=True)
    p.add_argument("--format", choices=("zpl", "png", "pdf"), required=True)
    p.add_argument("--dpi", type=int, help="printer resolution: 203, 300 or 600 (default: 203 for zpl, else 300)")
    p.add_argument("--paper", help="pdf: sheets of labels on A4 or Letter instead of one label a page")
    p.add_argument("-o", "--output", required=True, help="file to write ('-' for standard output)")
    p.set_defaults(func=cmd_render)

    p = acts.add_parser("print", help="print labels on a bench's printer or a given one")
    _records_options(p, person_is_badge=False)
    _printer_options(p)
    p.add_argument("--reprint", metavar="REASON",
                   help="a reprint of a lost or damaged job bag: recorded with the reason")
    p.add_argument("--person", "--by", dest="by", metavar="PERSON",
                   help="who prints a job bag (recorded with it) or asks for its reprint (--by says the same)")
    p.set_defaults(func=cmd_print)

    p = acts.add_parser("badges", help="badge cards for everyone in people.toml (or those named)")
    p.add_argument("--person", action="append", default=[], metavar="ID")
    p.add_argument("--template", default="badge_card")
    p.add_argument("-o", "--output", help="write to this file instead of printing")
    p.add_argument("--format", choices=("zpl", "png", "pdf"), default="pdf", help="with -o (default: pdf)")
    p.add_argument("--copies", type=int, default=1)
    _printer_options(p)
    p.set_defaults(func=cmd_badges)

    p = acts.add_parser("commands", help="the command card sheet: START, FINISH, WEIGH, …")
    p.add_argument("--command", action="append", default=[], metavar="WORD", dest="commands")
    p.add_argument("--template", default="command_card")
    p.add_argument("-o", "--output", help="write to this file instead of printing")
    p.add_argument("--format", choices=("zpl", "png", "pdf"), default="pdf", help="with -o (default: pdf)")
    p.add_argument("--copies", type=int, default=1)
    _printer_options(p)
    p.set_defaults(func=cmd_commands)


def cmd_list(args: argparse.Namespace) -> int:
    from floorkiosk import labels  # when the command runs: start-up cost

    for t in labels.list_templates(_site_if_any(args)):
        print(f"{t.name:<16} {t.width_mm:g} x {t.height_mm:g} mm  {t.kind:<12} {t.title}  ({t.source})")
    return 0


def _fields(pairs: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip().isidentifier():
            raise Refused(f"--field {pair!r}: write NAME=VALUE, e.g. --field stones='12 x round 1.5 mm'")
        out[name.strip()] = value
    return out


def _template_and_records(args: argparse.Namespace) -> tuple[Any, list[dict[str, Any]]]:
    """Load the template and every record first: any unknown name fails here, before output."""
    from floorkiosk import labels  # when the command runs: start-up cost
    from floorkiosk.workshop import labelling as service  # when the command runs: start-up cost

    sources = {k: v for k, v in (("job", args.job), ("batch", args.batch), ("badge", args.badges),
                                 ("command", args.commands), ("parcel", args.parcel), ("tool", args.tool)) if v}
    if len(sources) > 1:
        raise Refused("give labels of one kind at a time: --job, --batch, --badge, --command, --parcel or --tool")
    name = args.template or (next((_DEFAULT_TEMPLATE[k] for k in sources), None))
    if name is None:
        raise Refused("say which labels: --job, --batch, --badge, --command, --parcel or --tool, "
                      "or --template NAME with --field")
    template = labels.load_template(name, _site_if_any(args))
    extra = _fields(args.field)
    wanted = _OPTION_OF_KIND[template.kind]
    if sources and next(iter(sources)) != wanted:
        raise Refused(f"template {template.name!r} prints {template.kind.replace('_', ' ')} labels: use --{wanted}")
    if "command" in sources:
        records = service.command_records(args.commands)
    elif sources:
        from floorkiosk.workshop.site import open_shop  # when the command runs: start-up cost

        shop = open_shop(site_dir(args))
        try:
            if "job" in sources:
                records = service.job_records(shop, args.job)
            elif "batch" in sources:
                records = service.batch_records(shop, args.batch)
            elif "parcel" in sources:
                records = service.parcel_records(shop, args.parcel)
            elif "tool" in sources:
                records = service.tool_records(shop, args.tool)
            else:
                records = service.badge_records(shop, args.badges)
        finally:
            shop.close()
    elif extra:
        records = [{}]
    else:
        raise Refused(f"template {template.name!r} needs records: --{wanted} ID, or its fields with --field NAME=VALUE")
    return template, [{**r, **extra} for r in records]


def _write(output: str, docs: list[bytes], fmt: str) -> list[str]:
    from floorkiosk.labels.transport import send_file  # when the command runs: start-up cost

    if output == "-":
        for d in docs:
            sys.stdout.buffer.write(d)
        sys.stdout.buffer.flush()
        return ["standard output"]
    written = []
    path = Path(output)
    for i, doc in enumerate(docs, start=1):
        target = path if i == 1 else path.with_name(f"{path.stem}-{i}{path.suffix}")
        written.append(send_file(str(target), doc, suffix="." + fmt).where)
    return written


def cmd_render(args: argparse.Namespace) -> int:
    from floorkiosk import labels  # when the command runs: start-up cost

    template, records = _template_and_records(args)
    dpi = args.dpi or (203 if args.format == "zpl" else 300)
    docs = labels.render(template, records, args.format, dpi, paper=args.paper, copies=args.copies)
    written = _write(args.output, docs, args.format)
    if args.output != "-":
        print(f"{len(records) * args.copies} {template.title.lower()} label(s), {args.format} at {dpi} dpi: "
              + ", ".join(written))
    return 0


def _printer(args: argparse.Namespace, default_paper: str | None = None) -> Any:
    from floorkiosk.labels import Printer  # when the command runs: start-up cost

    if args.printer:
        return Printer(args.printer, args.dpi or 203, args.language or "zpl", args.paper or default_paper).check()
    if not args.bench:
        raise Refused("say where to print: --bench ID (its printer in the site config) or --printer URI")
    from floorkiosk.workshop import labelling as service  # when the command runs: start-up cost
    from floorkiosk.workshop.site import open_shop  # when the command runs: start-up cost

    shop = open_shop(site_dir(args))
    try:
        printer = service.bench_printer(shop, args.bench)
    finally:
        shop.close()
    # Flags given on the command line win over the bench's settings.
    paper = args.paper or printer.template_size or (default_paper if printer.language == "pdf" else None)
    return Printer(printer.uri, args.dpi or printer.dpi, args.language or printer.language, paper).check()


def cmd_print(args: argparse.Namespace) -> int:
    from floorkiosk import labels  # when the command runs: start-up cost

    if args.reprint is not None:
        return _reprint(args)
    template, records = _template_and_records(args)
    printer = _printer(args)
    if args.job:
        # a job bag's first label is recorded; a later one is a reprint (--reprint REASON --person PERSON)
        from floorkiosk.workshop import labelling as service  # when the command runs: start-up cost
        from floorkiosk.workshop.site import open_shop  # when the command runs: start-up cost

        shop = open_shop(site_dir(args))
        try:
            result = service.print_job_bags(shop, args.job, bench_id=args.bench, printer=printer, template=template,
                                            copies=args.copies, person_id=args.by, fields=_fields(args.field))
        finally:
            shop.close()
        print(f"printed {result}; the first job-bag label{'s' if len(args.job) > 1 else ''}, recorded")
        return 0
    site = _site_if_any(args)
    result = labels.print_labels(printer, template, records, copies=args.copies, site_dir=site)
    print(f"printed {result}")
    return 0


def _reprint(args: argparse.Namespace) -> int:
    from floorkiosk.workshop import labelling as service  # when the command runs: start-up cost
    from floorkiosk.workshop.site import open_shop  # when the command runs: start-up cost

    if len(args.job) != 1 or args.batch or args.badges or args.commands or args.parcel:
        raise Refused("--reprint is for one job bag: give exactly one --job")
    if not args.by or not args.bench:
        raise Refused("a reprint is recorded: give --person PERSON and --bench BENCH")
    shop = open_shop(site_dir(args))
    try:
        printer = _printer(args) if args.printer else None
        result, event = service.reprint_job_bag(shop, args.job[0], person_id=args.by, bench_id=args.bench,
                                                reason=args.reprint, printer=printer,
                                                template=args.template or "job_bag")
    finally:
        shop.close()
    print(f"reprinted {result}; recorded as {getattr(event, 'type', 'an event')}")
    return 0


def _people_or_commands(args: argparse.Namespace, kind: str) -> int:
    from floorkiosk import labels  # when the command runs: start-up cost
    from floorkiosk.workshop import labelling as service  # when the command runs: start-up cost

    site = _site_if_any(args)
    template = labels.load_template(args.template, site)
    if kind == "badge":
        from floorkiosk.workshop.site import open_shop  # when the command runs: start-up cost

        shop = open_shop(site_dir(args))
        try:
            records = service.badge_records(shop, args.person)
        finally:
            shop.close()
    else:
        records = service.command_records(args.commands)
    if args.output:
        dpi = args.dpi or (203 if args.format == "zpl" else 300)
        paper = args.paper or ("A4" if args.format == "pdf" else None)
        docs = labels.render(template, records, args.format, dpi, paper=paper, copies=args.copies)
        written = _write(args.output, docs, args.format)
        print(f"{len(records) * args.copies} {template.title.lower()}(s): " + ", ".join(written))
        return 0
    printer = _printer(args, default_paper="A4")
    result = labels.print_labels(printer, template, records, copies=args.copies, site_dir=site)
    print(f"printed {result}")
    return 0


def cmd_badges(args: argparse.Namespace) -> int:
    return _people_or_commands(args, "badge")


def cmd_commands(args: argparse.Namespace) -> int:
    return _people_or_commands(args, "command")

