"""A supervisor at the bench: what waits for them on the worklist, and the verify dialog that shows the evidence.

`SupervisorWork` is the worklist's upper part after a supervisor's badge: stages to verify, jobs on
hold and open hub conflicts, each with how long it has waited, oldest first; Enter opens the row.
`VerifyDialog` shows a stage's photos (half-block thumbnails sized to the terminal) and its weights
before the verifier's PIN is taken; it opens from V or VERIFY on the card, and from a supervisor's
badge scanned on an artisan's card ("verify here", the artisan staying logged in).

Thumbnails are drawn with kiosk.images' half blocks rather than textual-image: that library asks
the terminal what it can draw at import time, by escape sequences whose answer is read from the
keyboard input (a badge scanned meanwhile could lose a key), and on a bench's console it draws
half blocks anyway.
"""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.coordinate import Coordinate
from textual.widgets import DataTable, Input, Static

from floorkiosk.domain import payloads
from floorkiosk.domain.config import Person
from floorkiosk.domain.units import fmt_many
from floorkiosk.kiosk.dialogs import PinDialog
from floorkiosk.kiosk.images import halfblock
from floorkiosk.kiosk.messages import LogIn, OpenJob, Say
from floorkiosk.kiosk.station import Station
from floorkiosk.kiosk.widgets import MessageLine
from floorkiosk.workshop import cards
from floorkiosk.workshop.cards import StageEvidence, SupervisorItem

K = payloads.Kind
AGES_EVERY_S = 20.0  # how often the ages on screen are worked out again
KIND_WORDS = {"verify": "TO VERIFY", "hold": "ON HOLD", "conflict": "CONFLICT", "drift": "DRIFT"}


def age_words(since: str, now: datetime) -> str:
    """How long something has waited, as a person says it: '3 h 12 min', '2 d 4 h', '5 min'."""
    try:
        t = datetime.fromisoformat(since.replace("Z", "+00:00"))
    except ValueError:
        return "?"
    minutes = max(0, int((now - t).total_seconds() // 60))
    d, rest = divmod(minutes, 24 * 60)
    h, m = divmod(rest, 60)
    if d:
        return f"{d} d {h} h"
    if h:
        return f"{h} h {m} min"
    return f"{m} min" if m else "just now"


# -- the worklist's part for a supervisor --------------------------------------------------------------

class SupervisorWork(Vertical):
    """What waits for a supervisor, oldest first, above the jobs of the bench; hidden for anyone else."""

    DEFAULT_CSS = """
    SupervisorWork { height: auto; max-height: 50%; display: none; }
    SupervisorWork #sup-title { height: 1; padding: 0 1; background: #ffd700; color: black; text-style: bold; }
    SupervisorWork #sup-table { height: auto; max-height: 100%; background: black; overflow-x: hidden; }
    SupervisorWork #sup-table > .datatable--header { text-style: bold; background: #303030; color: white; }
    SupervisorWork #sup-table > .datatable--cursor { background: white; color: black; }
    """

    def __init__(self, station: Station, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.station = station
        self.items: list[SupervisorItem] = []

    def compose(self) -> ComposeResult:
        yield Static(id="sup-title")
        yield DataTable(id="sup-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns("Waiting", "What", "Job", "Stage", "Details")
        self.set_interval(AGES_EVERY_S, self.refresh_ages)

    def refresh_ages(self) -> None:
        """The ages anew as the clock moves on (the rows are read again only when the journal moves)."""
        if not self.display or not self.items:
            return
        now = self.station.now()
        t = self.table
        for i, item in enumerate(self.items[:t.row_count]):
            t.update_cell_at(Coordinate(i, 0), Text(age_words(item.since, now), "bold"))

    @property
    def table(self) -> DataTable:
        return self.query_one("#sup-table", DataTable)

    def show(self, items: list[SupervisorItem] | None) -> None:
        """The items read for a supervisor (None: the person is no supervisor, the part is hidden)."""
        self.display = items is not None
        self.items = items or []
        if items is None:
            return
        now = self.station.now()
        t = self.table
        keep = t.cursor_row if t.row_count else 0
        t.clear()
        for i in self.items:
            what = Text(KIND_WORDS[i.kind], "bold")
            details = i.detail if i.here or not i.where else f"{i.detail}; at {i.where}"
            key = f"{i.kind}:{i.job}:{i.stage or ''}:{i.ref or ''}"
            t.add_row(Text(age_words(i.since, now), "bold"), what, Text(i.job, "bold"), i.stage_name or "-",
                      details, key=key)
        if 0 < keep < t.row_count:
            t.move_cursor(row=keep, animate=False)
        counts = {k: sum(1 for i in self.items if i.kind == k) for k in KIND_WORDS}
        title = Text(f"WAITING FOR A SUPERVISOR: {counts['verify']} to verify · {counts['hold']} on hold")
        if self.station.site.settings.hub is not None:
            title.append(f" · {counts['conflict']} conflict{'s' if counts['conflict'] != 1 else ''}")
        if counts["drift"]:
            title.append(f" · {counts['drift']} drifting")
        if not self.items:
            title.append(" — nothing waits")
        elif len(self.items) > 1:
            title.append("   oldest first")
        self.query_one("#sup-title", Static).update(title)
        t.display = bool(self.items)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()  # the worklist's own rows open a job; these are opened here
        value = event.row_key.value or ""
        kind, job, _stage, ref = (value.split(":", 3) + ["", "", ""])[:4]
        if kind == "drift":
            from floorkiosk.kiosk.spc_screen import SpcAlertScreen  # loads textual-plotext: when a drift is opened

            self.app.push_screen(SpcAlertScreen(self.station, ref))
        elif kind == "conflict":
            self.call_later(self.app.run_action, "app.conflicts")  # the kiosk's C: the hub's conflicts, to decide
        else:
            self.app.post_message(OpenJob(job))


# -- the verify dialog ----------------------------------------------------------------------------------

class VerifyDialog(PinDialog):
    """Verify a stage after seeing it: who did it, its weights (in, out, loss) and its photos; then the PIN.

    Dismisses with the PIN ("" where the site asks for none) once the photos are on screen, or None.
    A badge scanned here: the verifier's own again logs them in at the bench instead (verify here).
    """

    DEFAULT_CSS = """
    VerifyDialog #verify-box { border: heavy #00c000; }
    VerifyDialog #verify-what, VerifyDialog #verify-weights { height: auto; }
    VerifyDialog #verify-photos { height: auto; margin-top: 1; }
    VerifyDialog .verify-photo { width: auto; height: auto; margin-right: 1; }
    VerifyDialog #verify-photo-note { height: auto; }
    VerifyDialog #verify-photo-note.-missing { background: #c00000; color: white; text-style: bold; padding: 0 1; }
    VerifyDialog #pin { border: none; height: 1; margin-top: 1; padding: 0 1; background: #303030; }
    VerifyDialog .dialog-help { margin-top: 0; }
    """
    BINDINGS = [Binding("enter", "accept", show=False)]

    def __init__(self, station: Station, verifier: Person, evidence: StageEvidence, *, ask_pin: bool,
                 here_for: Person | None = None) -> None:
        super().__init__(station.shop, verifier, bench=station.bench.id)
        self.station = station
        self.evidence = evidence
        self.ask_pin = ask_pin
        self.here_for = here_for  # the artisan whose card this is, when a supervisor verifies on it
        self.shown = False  # the photos are on screen (or said to be absent)
        self._pin: str | None = None  # accepted before the photos were drawn: taken once they are

    def compose(self) -> ComposeResult:
        e = self.evidence
        with Vertical(id="verify-box", classes="dialog"):
            yield Static(f"VERIFY {e.stage_name} — {e.job} {e.design}", classes="dialog-title")
            yield Static(self._what(), id="verify-what")
            yield Static(self._weights(), id="verify-weights")
            with Horizontal(id="verify-photos"):
                for i in range(len(e.photos[:3])):
                    yield Static(classes="verify-photo", id=f"verify-photo-{i}")
            yield Static(id="verify-photo-note")
            if self.ask_pin:
                yield Input(password=True, id="pin", placeholder=f"PIN of {self.person.name}")
            help_text = ("ACCEPT or Enter: verify" if not self.ask_pin else "PIN, then Enter: verify") + \
                "   CANCEL or Esc: not now"
            if self.here_for is not None:
                help_text += (f" ({self.here_for.name} stays logged in)   {self.person.name.split()[0]}'s badge "
                              "again: log in here instead")
            yield Static(help_text, classes="dialog-help")
            yield MessageLine(id="dialog-msg")

    def _what(self) -> Text:
        e = self.evidence
        t = Text()
        t.append(f"{e.stage_name}", "bold")
        t.append(f" finished by {e.finished_by or 'nobody'}")
        if e.finished_at:
            t.append(", " + self.station.local(datetime.fromisoformat(e.finished_at.replace("Z", "+00:00")))
                     .strftime("%b %d %H:%M"))
        t.append(f" · verifier: {self.person.name}")
        return t

    def _weights(self) -> Text:
        e = self.evidence
        units = self.station.site.settings.units
        t = Text()
        if not e.weighs and e.weight_in is None and e.weight_out is None:
            t.append("weights: none at this stage", "dim")
            return t
        t.append("in ", "bold")
        t.append(fmt_many(e.weight_in, units, e.step) if e.weight_in is not None else "— (none)")
        t.append("   out ", "bold")
        t.append(fmt_many(e.weight_out, units, e.step) if e.weight_out is not None else "— (none)")
        if e.loss is not None and e.loss.stones:
            t.append(f" with {fmt_many(e.loss.stones, units, e.step)} of stones set")
        if e.loss is not None:
            t.append("   loss ", "bold")
            t.append(f"{fmt_many(e.loss.grams, units, e.step)} ({e.loss.pct}%)")
            if e.loss.limit_pct is not None:
                t.append(f" — beyond the {e.loss.limit_pct}% tolerance" if e.loss.beyond
                         else f", within {e.loss.limit_pct}%", "bold" if e.loss.beyond else "")
        return t

    def on_mount(self) -> None:
        e = self.evidence
        note = self.query_one("#verify-photo-note", Static)
        if e.missing:
            # said before the PIN: without it the rules block the verification, unless another supervisor overrides
            note.add_class("-missing")
            note.update("✗ " + "; ".join(e.missing).upper() + ": verifying it is blocked until the evidence is "
                        "recorded, or another supervisor overrides")
        elif not e.photos:
            note.update(Text("no photos: none needed at this stage", "dim"))
        else:
            note.update(Text("drawing the photos…", "dim"))
        if e.photos:
            self.call_after_refresh(self._start_drawing)  # once laid out: the room left for the photos is known
        else:
            self.shown = True

    def _start_drawing(self) -> None:
        e = self.evidence
        w, h = self._thumb_size(len(e.photos[:3]))
        self._draw([sha for sha, _, _ in e.photos[:3]], w, h)

    def _thumb_size(self, n: int) -> tuple[int, int]:
        """Cells for each of n thumbnails: as large as the terminal leaves beside the dialog's other lines."""
        box = self.query_one("#verify-box")
        spare = self.app.size.height - box.outer_size.height - 1  # less a caption line under each photo
        h = max(3, min(14, spare))
        w = max(8, (box.content_size.width - (n - 1)) // max(1, n))
        return w, h

    @work(thread=True, exclusive=True, group="verify-photos", exit_on_error=False)
    def _draw(self, shas: list[str], width: int, height: int) -> None:
        texts = []
        for sha in shas:
            f = self.station.devices.photo_file(sha)
            if f is None:
                texts.append(Text(f"photo {sha[:10]}\n(the file is not at this bench)", "bold"))
                continue
            try:
                texts.append(halfblock(f, width, height))
            except OSError:
                texts.append(Text(f"photo {sha[:10]}\n(unreadable)", "bold"))
        self.app.call_from_thread(self._show_photos, texts)

    def _show_photos(self, texts: list[Text]) -> None:
        e = self.evidence
        if not self.is_attached:
            return
        for i, t in enumerate(texts):
            sha, ts, who = e.photos[i]
            caption = Text(f"\n{sha[:8]}", "dim")
            if ts:
                when = self.station.local(datetime.fromisoformat(ts.replace("Z", "+00:00"))).strftime("%b %d %H:%M")
                caption.append(f" {when}" + (f" {who.split()[0]}" if who else ""), "dim")
            self.query_one(f"#verify-photo-{i}", Static).update(t + caption)
        note = self.query_one("#verify-photo-note", Static)
        if not note.has_class("-missing"):
            n = len(e.photos)
            more = f" (the first 3 of {n})" if n > 3 else ""
            note.update(Text(f"{n} photo{'s' if n != 1 else ''} of {e.stage_name}{more}"
                             + (f", {e.photos_needed} needed" if e.photos_needed else "")))
        self.shown = True
        if self._pin is not None:
            self.dismiss(self._pin)

    # -- answers ---------------------------------------------------------------------------------------
    def action_accept(self) -> None:
        self.accept()

    def accept(self) -> None:
        if self.ask_pin:
            self.say(f"type the PIN of {self.person.name}, then Enter", "warn")
            return
        self.dismiss("")

    def _check(self, pin: str) -> None:
        if not self.ask_pin:
            self.dismiss("")
            return
        super()._check(pin)

    def dismiss(self, result=None):  # type: ignore[no-untyped-def]
        # the PIN checked: verify only once the photos are on screen (they take a moment to draw)
        if result is not None and not self.shown:
            self._pin = result
            self.say("drawing the photos before it is verified…")
            return None
        return super().dismiss(result)

    def action_cancel(self) -> None:
        who = f"; {self.here_for.name} is still logged in" if self.here_for is not None else ""
        self.app.post_message(Say(f"{self.evidence.stage_name} not verified{who}; nothing was changed", "warn"))
        super(PinDialog, self).action_cancel()

    def other_scan(self, p: payloads.Payload, text: str) -> bool:
        if p.kind is K.COMMAND and p.value == "VERIFY":
            self.accept()
            return True
        if p.kind is K.BADGE and self.here_for is not None:
            person = self.shop.site.person_by_badge(p.value)
            if person is not None and person.id == self.person.id:
                # the supervisor's badge again: not verify here but log in at this bench, as a badge does
                super(PinDialog, self).action_cancel()
                self.app.post_message(LogIn(text))
                return True
        return super().other_scan(p, text)


def verify_dialog(station: Station, verifier: Person, job: str, stage: str, *,
                  here_for: Person | None = None) -> VerifyDialog:
    """The verify dialog of this stage for this verifier (the PIN asked where the site and the person have one)."""
    ask = bool(station.site.settings.supervisor_pin and verifier.pin)
    return VerifyDialog(station, verifier, cards.stage_evidence(station.shop, job, stage), ask_pin=ask,
                        here_for=here_for)
