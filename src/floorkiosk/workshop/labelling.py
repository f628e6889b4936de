"""Where labels get printed in the workshop: new job bags, reprints, badges and the command cards.

These take a Shop for the records and the benches' printers. They block
while printing: the kiosk runs them in a worker (or through labels.print_queue()).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from floorkiosk.workshop import cards, qc, tooling, verbs
from floorkiosk.domain.payloads import COMMANDS
from floorkiosk.errors import NotFound, Refused
from floorkiosk.labels.layout import LabelError
from floorkiosk.labels.printing import Printer, PrintResult, print_labels
from floorkiosk.labels.templates import Template, load_template
from floorkiosk.workshop.shop import Shop

# What each command card says under its word: the artisan's reminder of what the scan does.
COMMAND_HINTS = {
    "START": "Start this bench's stage on the job",
    "FINISH": "Finish the stage: evidence is checked",
    "WEIGH": "Record the scale's stable reading",
    "PHOTO": "Take the stage photo with the camera",
    "ACCEPT": "Yes: confirm what the screen asks",
    "CANCEL": "No: go back, nothing is changed",
    "HOLD": "Put the job on hold, with a reason",
    "VERIFY": "QC: verify the stage as done right",
    "REJECT": "QC: reject the stage, send to rework",
    "LOGOUT": "Leave the bench: log out whoever is in",
    "BATCH": "A new batch: scan its job bags, then ACCEPT",
    "PAUSE": "Pause your stage on the job: the clock stops",
    "RESUME": "Go on with the paused stage: the clock runs",
    "CAPACITY": "Declare your hours by skill, this week and next",
}


def job_records(shop: Shop, job_ids: Iterable[str]) -> list[dict[str, Any]]:
    """The job-bag fields of each job (NotFound for an unknown one, before anything prints)."""
    return [cards.label_fields(shop, j) for j in job_ids]


def batch_records(shop: Shop, batch_ids: Iterable[str]) -> list[dict[str, Any]]:
    return [cards.batch_fields(shop, b) for b in batch_ids]


def parcel_records(shop: Shop, parcel_ids: Iterable[str]) -> list[dict[str, Any]]:
    """Stone-parcel label fields, from the stone accounting (floorkiosk.workshop.qc) when it is installed."""
    return [qc.parcel_fields(shop, p) for p in parcel_ids]


def tool_records(shop: Shop, tool_ids: Iterable[str]) -> list[dict[str, Any]]:
    """Tool-tag fields of the named tools of tools.toml."""
    out = []
    for tid in tool_ids:
        v = tooling.view(shop, tid)
        out.append({"tool": v.tool.id, "kind_name": v.kind.name, "name": v.tool.name})
    return out


def badge_records(shop: Shop, person_ids: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """Badge-card fields of the named people, or of everyone in people.toml."""
    people = shop.site.people
    ids = list(person_ids) if person_ids else list(people)
    out = []
    for pid in ids:
        person = people.get(pid)
        if person is None:
            raise NotFound(f"no person {pid!r} in people.toml")
        out.append({"person": person.id, "name": person.name, "badge": person.badge, "roles": list(person.roles)})
    return out


def command_records(commands: Iterable[str] | None = None) -> list[dict[str, Any]]:
    out = []
    for c in commands or COMMANDS:
        word = str(c).upper()
        if word not in COMMANDS:
            raise Refused(f"unknown command {c!r}; commands: {', '.join(COMMANDS)}")
        out.append({"command": word, "hint": COMMAND_HINTS.get(word, "")})
    return out


def bench_printer(shop: Shop, bench_id: str) -> Printer:
    bench = shop.bench(bench_id)
    if bench.printer is None:
        raise LabelError(f"bench {bench_id!r} has no printer in the site config")
    return Printer.of(bench.printer)


def _target(shop: Shop, bench_id: str | None, printer: Any) -> Printer:
    if printer is not None:
        return Printer.of(printer)
    if bench_id is None:
        raise LabelError("say which printer: a bench with a printer, or a printer address")
    return bench_printer(shop, bench_id)


def _template(shop: Shop, template: str | Template) -> Template:
    return template if isinstance(template, Template) else load_template(template, getattr(shop, "dir", None))


def print_job_bags(shop: Shop, job_ids: Iterable[str], *, bench_id: str | None = None, printer: Any = None,
                   template: str | Template = "job_bag", copies: int = 1, person_id: str | None = None,
                   fields: dict[str, Any] | None = None) -> PrintResult:
    """The first job-bag labels of new jobs (one or many), on the bench's printer or the one given.

    Recorded once the printer has them; a job whose label was printed before is refused, before
    anything is printed: another label is a reprint (reprint_job_bag), with who and why.
    """
    records = [{**r, **(fields or {})} for r in job_records(shop, list(job_ids))]
    if not records:
        raise LabelError("no jobs to print labels for")
    ids = [r["job"] for r in records]
    for jid in ids:
        state = shop.job(jid)
        if state.printed or state.reprints:
            raise Refused(verbs.reprint_needed(jid))
    tpl = _template(shop, template)
    target = _target(shop, bench_id, printer)
    result = print_labels(target, tpl, records, copies=copies, site_dir=getattr(shop, "dir", None))
    verbs.record_first_prints(shop, ids, person_id, bench_id, copies)
    return result


def reprint_job_bag(shop: Shop, job_id: str, *, person_id: str, bench_id: str, reason: str, printer: Any = None,
                    template: str | Template = "job_bag") -> tuple[PrintResult, Any]:
    """Reprint a lost or damaged job-bag label and record who did it, where and why.

    The event is recorded only once the printer has the label: a failed reprint changes nothing.
    """
    reason = " ".join(str(reason or "").split())
    if not reason:
        raise Refused("say why the label is reprinted (lost, damaged, …)")
    shop.person(person_id)
    shop.bench(bench_id)
    tpl = _template(shop, template)
    target = _target(shop, bench_id, printer)
    record = cards.label_fields(shop, job_id)
    result = print_labels(target, tpl, [record], site_dir=getattr(shop, "dir", None))
    event = verbs.record_reprint(shop, record["job"], person_id, bench_id, reason)
    return result, event


def print_batch_bag(shop: Shop, batch_id: str, *, bench_id: str | None = None, printer: Any = None,
                    template: str | Template = "batch_bag") -> PrintResult:
    """The batch bag's label (its number, piece count, design and jobs) on the bench's printer or the one given."""
    tpl = _template(shop, template)
    target = _target(shop, bench_id, printer)
    return print_labels(target, tpl, batch_records(shop, [verbs.normalize_batch(batch_id)]),
                        site_dir=getattr(shop, "dir", None))


def print_badges(shop: Shop, person_ids: Iterable[str] | None = None, *, bench_id: str | None = None,
                 printer: Any = None, template: str | Template = "badge_card") -> PrintResult:
    tpl = _template(shop, template)
    target = _target(shop, bench_id, printer)
    return print_labels(target, tpl, badge_records(shop, person_ids), site_dir=getattr(shop, "dir", None))


def print_command_cards(printer: Any, *, commands: Iterable[str] | None = None,
                        template: str | Template = "command_card", site_dir: Any = None) -> PrintResult:
    """The command card sheet: every command (or those named), one card each."""
    tpl = template if isinstance(template, Template) else load_template(template, site_dir)
    return print_labels(Printer.of(printer), tpl, command_records(commands), site_dir=site_dir)
