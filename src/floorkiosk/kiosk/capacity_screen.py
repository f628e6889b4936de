"""The CAPACITY card: after the badge, an artisan declares this week's and next week's hours by skill.

One line per week and one field per skill the person has (people.toml), filled with the hours in
force (declared before at a kiosk, else people.toml's capacity, else blank). Enter goes to the next
field and, on the last, records; ACCEPT records from anywhere; CANCEL or Esc leaves nothing changed.
Every field is checked first (a number of 0 or more; a week's total no more than its working hours,
holidays left out), both weeks before either is recorded; a week whose hours did not change is not
recorded again. What is recorded is the `capacity.declared` event `floorkiosk capacity declare` records.
"""

from __future__ import annotations

from datetime import date, timedelta

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Input, Static

from floorkiosk.domain import payloads
from floorkiosk.domain.calendar import declared_problems, monday_of, week_label
from floorkiosk.errors import FloorkioskError
from floorkiosk.kiosk.dialogs import KioskDialog
from floorkiosk.kiosk.messages import Say
from floorkiosk.kiosk.station import Station
from floorkiosk.kiosk.widgets import MessageLine
from floorkiosk.workshop import capacity

K = payloads.Kind


def _hours_text(h: float | None) -> str:
    return "" if h is None else f"{h:g}"


class CapacityDialog(KioskDialog[int]):
    """This week's and next week's hours by skill of the person logged in; dismisses with the weeks recorded."""

    DEFAULT_CSS = """
    CapacityDialog #cap-box { border: heavy #00a0ff; }
    CapacityDialog .cap-week { height: auto; margin-top: 1; text-style: bold; }
    CapacityDialog .cap-row { height: 1; }
    CapacityDialog .cap-skill { width: 16; height: 1; padding: 0 1; }
    CapacityDialog .cap-hours { width: 10; height: 1; border: none; padding: 0 1; background: #303030; }
    CapacityDialog .cap-hours:focus { background: #0050a0; }
    CapacityDialog .cap-unit { width: auto; height: 1; padding: 0 1; color: #c0c0c0; }
    CapacityDialog #cap-help { height: auto; }
    """

    def __init__(self, station: Station) -> None:
        super().__init__()
        assert station.person is not None
        self.station = station
        self.person = station.person
        shop = station.shop
        today = shop.clock().astimezone(shop.site.planning.calendar.tz).date()
        this = monday_of(today)
        self.weeks: list[date] = [this, this + timedelta(days=7)]
        self.skills = list(self.person.skills)
        decl = capacity.declared(shop)
        self.before: dict[date, dict[str, float] | None] = {
            w: capacity.capacity_of(shop, self.person.id, w, decl) for w in self.weeks}

    def compose(self) -> ComposeResult:
        cal = self.station.site.planning.calendar
        with VerticalScroll(id="cap-box", classes="dialog"):
            yield Static(f"CAPACITY — {self.person.name}: your hours by skill", classes="dialog-title")
            yield Static("The hours you can give each of your skills. The schedule plans your work inside them.",
                         id="cap-help")
            for wi, (w, said) in enumerate(zip(self.weeks, ("this week", "next week"))):
                yield Static(f"{said} {week_label(w)}: {cal.week_hours(w):g} working hours", classes="cap-week")
                before = self.before[w] or {}
                for sk in self.skills:
                    with Horizontal(classes="cap-row"):
                        yield Static(sk, classes="cap-skill")
                        yield Input(_hours_text(before.get(sk)), id=f"cap-{wi}-{sk}", classes="cap-hours",
                                    placeholder="0", restrict=r"[0-9.,]*")
                        yield Static("h", classes="cap-unit")
            yield Static("Enter: next field, and on the last one record   ACCEPT: record   CANCEL or Esc: nothing "
                         "changed", classes="dialog-help")
            yield MessageLine(id="dialog-msg")

    def on_mount(self) -> None:
        fields = list(self.query(Input))
        if fields:
            fields[0].focus()
        else:
            self.say(f"{self.person.name} has no skills in people.toml to declare hours for; ask a supervisor",
                     "warn")

    def field(self, week: int, skill: str) -> Input:
        return self.query_one(f"#cap-{week}-{skill}", Input)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        fields = list(self.query(Input))
        at = fields.index(event.input) if event.input in fields else len(fields) - 1
        if at + 1 < len(fields):
            fields[at + 1].focus()
        else:
            self.accept()

    def hours(self) -> tuple[dict[date, dict[str, float]], list[str]]:
        """The hours typed, by week and skill, and what is wrong with them (in words)."""
        cal = self.station.site.planning.calendar
        all_skills = {s.skill for s in self.station.site.stages.values()}
        out: dict[date, dict[str, float]] = {}
        problems: list[str] = []
        for wi, w in enumerate(self.weeks):
            got: dict[str, float] = {}
            for sk in self.skills:
                text = self.field(wi, sk).value.strip().replace(",", ".")
                if not text:
                    continue
                try:
                    got[sk] = float(text)
                except ValueError:
                    problems.append(f"{sk} in {week_label(w)}: {text!r} is not a number of hours")
            said = ("this week " if wi == 0 else "next week ") + week_label(w)
            problems += declared_problems(got, self.skills, all_skills, cal.week_hours(w), said)
            out[w] = got
        return out, problems

    def accept(self) -> None:
        if not self.skills:
            self.say(f"{self.person.name} has no skills to declare hours for; CANCEL or Esc to go back", "warn")
            return
        typed, problems = self.hours()
        if problems:
            self.say("; ".join(problems) + " — nothing was recorded", "error")
            return
        shop, st = self.station.shop, self.station
        changed = [w for w in self.weeks
                   if {k: v for k, v in typed[w].items() if v} != {k: v for k, v in (self.before[w] or {}).items() if v}]
        if not changed:
            self.say("the hours are as they were: nothing to record (change a field, or CANCEL)", "warn")
            return
        try:
            for w in changed:
                capacity.declare_capacity(shop, self.person.id, week_label(w), typed[w], st.bench.id)
        except FloorkioskError as exc:
            self.say(f"{exc} — nothing more was recorded", "error")
            return
        said = "; ".join(f"{week_label(w)}: " + (", ".join(f"{sk} {h:g} h" for sk, h in typed[w].items() if h)
                                                 or "no hours") for w in changed)
        self.app.post_message(Say(f"{self.person.name} declared {said}", "ok"))
        self.dismiss(len(changed))

    def action_cancel(self) -> None:
        self.app.post_message(Say("capacity not changed; nothing was recorded", "warn"))
        self.dismiss(None)

    def other_scan(self, p: payloads.Payload, text: str) -> bool:
        field = self.focused
        if p.kind is K.JOB and isinstance(field, Input) and text.strip().isdigit():
            # hours typed fast read like a bare job number (40): they are the field's, as typed
            field.insert_text_at_cursor(text.strip())
            self.call_later(field.action_submit)
            return True
        return super().other_scan(p, text)

