"""The kiosk's dialogs: blocked (with supervisor override), weighing, photo, checklist, choices, PIN.

Each is a ModalScreen that dismisses with its answer (None for CANCEL or Esc) and answers the
command cards itself (on_scan), so a gloved hand finishes every dialog with the scanner alone.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import TypeVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.screen import ModalScreen
from textual.widgets import Digits, Input, Static

from floorkiosk.domain import guardrails as g
from floorkiosk.domain import payloads
from floorkiosk.domain.config import Person, Stage
from floorkiosk.domain.stones import GRAMS_PER_CT
from floorkiosk.domain.units import fmt_many, places_of
from floorkiosk.devices.scaleparse import Reading
from floorkiosk.errors import FloorkioskError
from floorkiosk.kiosk.base import KioskScreen
from floorkiosk.kiosk.devices import BenchDevices
from floorkiosk.kiosk.images import halfblock
from floorkiosk.kiosk.messages import ScaleEvent, Say, ScanRead
from floorkiosk.kiosk.station import Station
from floorkiosk.kiosk.widgets import BlockedPanel, MessageLine
from floorkiosk.workshop import judge
from floorkiosk.workshop.judge import Override
from floorkiosk.workshop.shop import Shop

K = payloads.Kind
# A stable reading older than this is not recorded: the piece may have been lifted since.
FRESH_SECONDS = 2.0


ResultT = TypeVar("ResultT")


class KioskDialog(KioskScreen, ModalScreen[ResultT]):
    """A dialog: its own message line; CANCEL and Esc close it with None."""

    BINDINGS = [Binding("escape", "cancel", "cancel", show=False)]

    _unsaid: tuple[str, str] | None = None

    def say(self, text: str, kind: str = "info") -> None:
        try:
            self.query_one("#dialog-msg", MessageLine).say(text, kind)
        except NoMatches:  # said as the dialog opened, before it was composed: shown once mounted
            self._unsaid = (text, kind)

    def on_mount(self) -> None:
        # Textual calls every class's on_mount along the MRO: this one runs after the dialog's own.
        if self._unsaid is not None:
            self.say(*self._unsaid)
            self._unsaid = None

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_scan(self, p: payloads.Payload, text: str) -> bool:
        if p.kind is K.COMMAND and p.value == "CANCEL":
            self.action_cancel()
            return True
        if p.kind is K.COMMAND and p.value == "ACCEPT":
            self.accept()
            return True
        return self.other_scan(p, text)

    def accept(self) -> None:
        pass

    def other_scan(self, p: payloads.Payload, text: str) -> bool:
        self.say(f"{text}: finish here first (ACCEPT or CANCEL)", "warn")
        return True


# -- blocked, and a supervisor's override -----------------------------------------------------------

class BlockedScreen(KioskDialog[Override]):
    """BLOCKED, every reason and what unblocks it; a supervisor's badge (PIN, reason) overrides.

    With `supervisor=` text it asks for a supervisor only (releasing a hold): no reason code.
    Dismisses with an Override, or None.
    """

    def __init__(self, shop: Shop, decision: g.Decision, job: str, what: str, supervisor: str | None = None,
                 *, bench: str | None = None, actor: str | None = None) -> None:
        super().__init__()
        self.shop = shop
        self.bench = bench
        self.actor = actor  # whose action is blocked: never the one who overrides it
        self.decision = decision
        self.job = job
        self.what = what
        self.supervisor_only = supervisor

    def compose(self) -> ComposeResult:
        with Vertical(id="blocked-box", classes="dialog"):
            if self.supervisor_only:
                yield Static("SUPERVISOR NEEDED", classes="dialog-title")
                yield Static(self.supervisor_only, id="supervisor-why")
            else:
                yield BlockedPanel(id="blocked")
            yield Static(id="blocked-help")
            yield MessageLine(id="dialog-msg")

    def on_mount(self) -> None:
        if not self.supervisor_only:
            self.query_one(BlockedPanel).show(f"{self.what} on {self.job} is blocked:", self.decision.reasons)
        help_text = Text()
        if self.supervisor_only:
            help_text.append("A supervisor scans their badge here" + (" and enters the PIN" if self._pin_needed_any() else "")
                             + ".\n", "bold")
        elif self.can_override:
            help_text.append("A supervisor can override: ", "bold")
            help_text.append("scan a supervisor's badge here" + (", enter the PIN" if self._pin_needed_any() else "")
                             + ("" if self.supervisor_only else ", then pick a reason") + ".\n")
        else:
            help_text.append("This cannot be overridden: it must be resolved first.\n", "bold")
        help_text.append("CANCEL or Esc: back to the job")
        self.query_one("#blocked-help", Static).update(help_text)

    @property
    def can_override(self) -> bool:
        return bool(self.supervisor_only) or self.decision.overridable

    def _pin_needed_any(self) -> bool:
        return self.shop.site.settings.supervisor_pin

    def other_scan(self, p: payloads.Payload, text: str) -> bool:
        if p.kind is not K.BADGE:
            self.say(f"{text}: scan a supervisor's badge, or CANCEL", "warn")
            return True
        if not self.can_override:
            self.say("this cannot be overridden; CANCEL to go back", "warn")
            return True
        person = self.shop.site.person_by_badge(p.value)
        if person is None:
            self.say(f"badge {p.value} is not known here", "error")
            return True
        if not person.is_supervisor:
            self.say(f"{person.name} is not a supervisor and cannot override", "error")
            return True
        if person.id == self.actor and not self.supervisor_only:
            self.say(f"{person.name} cannot override a block on their own action: another supervisor scans their badge",
                     "error")
            return True
        if self.shop.site.settings.supervisor_pin and person.pin:
            self.app.push_screen(PinDialog(self.shop, person, bench=self.bench),
                                 lambda pin: pin is not None and self._authorised(person, pin))
        else:
            self._authorised(person, None)
        return True

    def _authorised(self, person: Person, pin: str | None) -> None:
        if self.supervisor_only:
            self.dismiss(Override(person.id, "", pin))
            return
        reasons = [(r.code, f"{r.code}: {r.text}") for r in self.shop.site.override_reasons.values()]

        def picked(code: str | None) -> None:
            if code is None:
                self.say("override cancelled", "warn")
                return
            self.dismiss(Override(person.id, code, pin))

        self.app.push_screen(PickDialog(f"Override by {person.name}: the reason", reasons), picked)


class PinDialog(KioskDialog[str]):
    """A supervisor's PIN, typed on the keyboard (never shown); checked before it is accepted."""

    LOG_SCANS = False

    def __init__(self, shop: Shop, person: Person, *, bench: str | None = None) -> None:
        super().__init__()
        self.shop = shop
        self.person = person
        self.bench = bench  # recorded with a wrong PIN
        self.tries = 0

    def compose(self) -> ComposeResult:
        with Vertical(id="pin-box", classes="dialog"):
            yield Static(f"PIN of {self.person.name}", classes="dialog-title")
            yield Input(password=True, id="pin", placeholder="PIN, then Enter")
            yield Static("Esc or CANCEL: back", classes="dialog-help")
            yield MessageLine(id="dialog-msg")

    def on_mount(self) -> None:
        self.query("#pin").focus()  # none where a dialog built on this one asks no PIN (the verify dialog)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._check(event.value)

    def action_cancel(self) -> None:
        self.app.post_message(Say("no PIN given; nothing was changed", "warn"))
        self.dismiss(None)

    def _check(self, pin: str) -> None:
        try:
            judge.check_pin(self.shop, self.person, pin, self.bench)
        except judge.PinLocked as exc:  # no more tries here: say so on the screen behind
            self.app.post_message(Say(str(exc), "error"))
            self.dismiss(None)
            return
        except FloorkioskError as exc:
            self.tries += 1
            self.query_one("#pin", Input).value = ""
            if self.tries >= 3:
                self.app.post_message(Say(f"{exc}; three wrong PINs, nothing was changed", "error"))
                self.dismiss(None)
            else:
                self.say(f"{exc}; try again", "error")
            return
        self.dismiss(pin)

    def other_scan(self, p: payloads.Payload, text: str) -> bool:
        # A PIN typed fast enough reads like a scan of a bare number: it is still the PIN.
        if text.isdigit():
            self._check(text)
        else:
            self.say("type the PIN, then Enter", "warn")
        return True


class NoteDialog(KioskDialog[str]):
    """A short note typed on the keyboard (releasing a hold says what was checked); refused when empty."""

    def __init__(self, title: str, help_text: str) -> None:
        super().__init__()
        self.title_text = title
        self.help_text = help_text

    def compose(self) -> ComposeResult:
        with Vertical(id="note-box", classes="dialog"):
            yield Static(self.title_text, classes="dialog-title")
            yield Static(self.help_text, id="note-help")
            yield Input(id="note", placeholder="type the note, then Enter")
            yield Static("Enter or ACCEPT: record the note   CANCEL or Esc: back", classes="dialog-help")
            yield MessageLine(id="dialog-msg")

    def on_mount(self) -> None:
        self.query_one("#note", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.accept()

    def accept(self) -> None:
        note = " ".join(self.query_one("#note", Input).value.split())
        if not note:
            self.say("a note is needed: say what was checked or resolved", "warn")
            return
        self.dismiss(note)


class PickDialog(KioskDialog[str]):
    """One choice from a list: its number (10, 11 … digit by digit), arrows and Enter, or its code scanned.

    A number that no longer choice starts with is taken at once; "1" of eleven choices waits for a
    second digit, or Enter. ACCEPT takes the highlighted one.
    """

    BINDINGS = [Binding("up", "move(-1)", show=False), Binding("down", "move(1)", show=False),
                Binding("enter", "pick", show=False)] + [Binding(str(i), f"digit({i})", show=False) for i in range(10)]

    def __init__(self, title: str, options: list[tuple[str, str]]) -> None:
        super().__init__()
        self.title_text = title
        self.options = options
        self.index = 0
        self.typed = ""  # digits of a choice typed so far

    def compose(self) -> ComposeResult:
        n = len(self.options)
        numbers = "1-9" if n <= 9 else f"its number (1-{n}), or scan its code"
        with VerticalScroll(id="pick-box", classes="dialog"):
            yield Static(self.title_text, classes="dialog-title")
            yield Static(id="pick-options")
            yield Static(f"{numbers}, or ↑↓ and Enter; ACCEPT takes the highlighted one; CANCEL or Esc: back",
                         classes="dialog-help")
            yield MessageLine(id="dialog-msg")

    def on_mount(self) -> None:
        self._render_options()

    def _render_options(self) -> None:
        t = Text()
        wide = len(str(len(self.options)))
        for i, (_, label) in enumerate(self.options):
            style = "bold reverse" if i == self.index else ""
            t.append(f" {i + 1:>{wide}}  {label} ", style)
            t.append("\n")
        self.query_one("#pick-options", Static).update(t)

    def action_move(self, step: int) -> None:
        self.typed = ""
        self.index = (self.index + step) % len(self.options)
        self._render_options()

    def action_number(self, n: int) -> None:
        if 1 <= n <= len(self.options):
            self.dismiss(self.options[n - 1][0])

    def action_digit(self, d: int) -> None:
        typed = self.typed + str(d)
        n = int(typed)
        if not 1 <= n <= len(self.options):
            self.typed = ""
            self.say(f"no choice {typed}: the choices are 1 to {len(self.options)}", "warn")
            return
        if n * 10 > len(self.options):  # no longer choice starts with these digits
            self.typed = ""
            self.dismiss(self.options[n - 1][0])
            return
        self.typed = typed
        self.index = n - 1
        self._render_options()
        self.say(f"{typed}: Enter or ACCEPT takes it, or type the next digit", "info")

    def action_pick(self) -> None:
        self.accept()

    def accept(self) -> None:
        self.typed = ""
        self.dismiss(self.options[self.index][0])

    def on_text(self, text: str) -> bool:
        """A code that is none of the kiosk's (a defect code on a card): the choice of that code."""
        return self._by_code(text)

    def _by_code(self, text: str) -> bool:
        code = text.strip().upper()
        for key, _ in self.options:
            if key.upper() == code:
                self.dismiss(key)
                return True
        return False

    def other_scan(self, p: payloads.Payload, text: str) -> bool:
        t = text.strip()
        if t.isdigit() and 1 <= int(t) <= len(self.options):  # a number scanned or typed fast
            self.dismiss(self.options[int(t) - 1][0])
            return True
        if self._by_code(t):
            return True
        return super().other_scan(p, text)


class ChecklistDialog(KioskDialog[tuple[str, ...]]):
    """The stage's checklist: each ACCEPT (or Enter, or space) confirms the next item."""

    BINDINGS = [Binding("enter", "tick", show=False), Binding("space", "tick", show=False)]

    def __init__(self, title: str, items: list[str]) -> None:
        super().__init__()
        self.title_text = title
        self.items = items
        self.ticked = 0

    def compose(self) -> ComposeResult:
        with Vertical(id="checklist-box", classes="dialog"):
            yield Static(self.title_text, classes="dialog-title")
            yield Static(id="checklist")
            yield Static("ACCEPT, Enter or space: confirm the highlighted check; CANCEL or Esc: back",
                         classes="dialog-help")
            yield MessageLine(id="dialog-msg")

    def on_mount(self) -> None:
        self._render_items()

    def _render_items(self) -> None:
        t = Text()
        for i, item in enumerate(self.items):
            if i < self.ticked:
                t.append(f" [✓] {item}\n", "bold green")
            elif i == self.ticked:
                t.append(f" [ ] {item}  ◀ confirm?\n", "bold reverse")
            else:
                t.append(f" [ ] {item}\n")
        self.query_one("#checklist", Static).update(t)

    def action_tick(self) -> None:
        self.accept()

    def accept(self) -> None:
        self.ticked += 1
        if self.ticked >= len(self.items):
            self.dismiss(tuple(self.items))
        else:
            self._render_items()


# -- weighing ---------------------------------------------------------------------------------------

class WeighDialog(KioskDialog[Reading]):
    """The live reading ~10 times a second, stable or not; only a fresh stable reading is recorded.

    Dismisses with the scale's Reading (grams, unit, raw line) or None.
    """

    BINDINGS = [Binding("enter", "accept", show=False), Binding("1", "demo(1)", show=False),
                Binding("2", "demo(2)", show=False)]

    def __init__(self, station: Station, job: str, stage: Stage | None, phase: str, *, expected: Decimal | None = None,
                 weight_in: str | Decimal | None = None, stones_ct: Decimal = Decimal(0)) -> None:
        super().__init__()
        self.station = station
        self.job = job
        self.stage = stage
        self.phase = phase
        self.stones_ct = stones_ct  # carats set at this stage: in the weigh-out, not in the weigh-in
        self.expected = expected
        self.weight_in = Decimal(weight_in) if weight_in is not None else None
        self.latest: ScaleEvent | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="weigh-box", classes="dialog"):
            yield Static(id="weigh-title", classes="dialog-title")
            with Horizontal(id="weigh-reading"):
                yield Digits("-.---", id="weigh-value")
                yield Static("\n\ng", id="weigh-unit")
                yield Static(id="weigh-sign")
            yield Static(id="weigh-units")
            yield Static(id="weigh-expected")
            yield Static(id="weigh-loss")
            yield Static(id="weigh-help", classes="dialog-help")
            yield MessageLine(id="dialog-msg")

    @property
    def places(self) -> int:
        p = places_of(self.station.devices.readability)
        return 3 if p is None else p

    @property
    def step(self) -> Decimal | None:
        """This bench's readability: every weight in the dialog is shown to it."""
        return self.station.devices.readability or None

    def on_mount(self) -> None:
        st = self.station
        name = self.stage.name if self.stage else "the stage"
        self.query_one("#weigh-title", Static).update(f"WEIGH {self.phase.upper()} — {name} — {self.job}")
        units = st.site.settings.units
        step = self.step
        if self.phase == "out" and self.weight_in is not None:
            exp = Text(f"weigh-in at this stage: {fmt_many(self.weight_in, units, step)}")
            if self.stones_ct:
                exp.append(f"; stones set: {self.stones_ct.normalize():f} ct = "
                           f"{fmt_many(self.stones_ct * GRAMS_PER_CT, units, step)}, not metal")
        elif self.expected is not None:
            exp = Text(f"expected about {fmt_many(self.expected, units, step)} (the last recorded weight)")
        else:
            exp = Text("no earlier weight of this job", "dim")
        self.query_one("#weigh-expected", Static).update(exp)
        help_text = "ACCEPT or Enter: record the STABLE weight   CANCEL or Esc: cancel"
        if st.devices.sim is not None:  # a simulated balance (a demo site): its pan is on these keys
            help_text += "\nsimulated scale: 1 puts the piece on the pan, 2 a piece that lost too much metal"
        self.query_one("#weigh-help", Static).update(help_text)
        if not st.devices.has_scale:
            self._show_status("NO SCALE at this bench: a supervisor may override the weighing (DEVICE-DOWN)", "off")
        elif st.scale_event is not None:
            self.on_scale(st.scale_event)
        if st.demo:
            self.action_demo(1)

    def on_scale(self, event: ScaleEvent) -> None:
        previous, self.latest = self.latest, event
        if previous is not None and _same_display(previous, event):
            return  # the same weight and state again: nothing to repaint
        if not isinstance(event, Reading):
            self._show_status(f"{str(event).upper() if len(str(event)) < 30 else str(event)}", "off")
            return
        grams = event.grams
        self.query_one("#weigh-value", Digits).update(f"{grams:.{self.places}f}")
        sign = self.query_one("#weigh-sign", Static)
        sign.set_class(event.stable, "-stable")
        sign.set_class(not event.stable, "-moving")
        sign.remove_class("-off")
        sign.update("● STABLE" if event.stable else "~ MOVING: wait")
        units = self.station.site.settings.units
        self.query_one("#weigh-units", Static).update(
            Text(fmt_many(grams, units, self.step), "bold") + Text(f" · the balance shows {event.value} {event.unit}", "dim"))
        self._show_loss(grams)

    def _show_status(self, text: str, kind: str) -> None:
        sign = self.query_one("#weigh-sign", Static)
        sign.remove_class("-stable", "-moving")
        sign.add_class("-off")
        sign.update(f"✗ {text}")
        self.query_one("#weigh-value", Digits).update("-.---")

    def _show_loss(self, grams: Decimal) -> None:
        loss_w = self.query_one("#weigh-loss", Static)
        if self.phase != "out" or self.weight_in is None or self.stage is None:
            if self.expected is not None:
                diff = grams - self.expected
                loss_w.update(f"difference from expected: {fmt_many(diff, self.station.site.settings.units, self.step)}")
            return
        loss = g.weight_loss(self.stage, self.weight_in, grams, self.station.devices.readability,
                             self.stones_ct * GRAMS_PER_CT)
        units = self.station.site.settings.units
        t = Text(f"loss {fmt_many(loss.grams, units, self.step)} = {loss.pct}% of the weigh-in"
                 + (" (metal: the stones set taken off)" if loss.stones else ""))
        if loss.limit_pct is None:
            t.append(" (no tolerance set for this stage)")
        elif loss.beyond:
            t.append(f"\n✗ BEYOND the {loss.limit_pct}% tolerance: recording puts the job ON HOLD", "bold white on red")
        else:
            t.append(f"\n✓ within the {loss.limit_pct}% tolerance", "bold green")
        loss_w.update(t)

    def action_accept(self) -> None:
        self.accept()

    def accept(self) -> None:
        e = self.latest
        if not isinstance(e, Reading):
            self.say("no weight to record: " + (str(e) if e is not None else "the scale has said nothing yet"), "error")
            return
        if not e.stable:
            self.say("the reading is MOVING: wait for STABLE, then ACCEPT", "warn")
            return
        if e.received and time.monotonic() - e.received > FRESH_SECONDS:
            self.say("the last stable reading is too old: the scale has stopped answering", "error")
            return
        if e.grams <= 0:
            self.say("the pan is empty: put the piece on the pan", "warn")
            return
        self.dismiss(e)

    def other_scan(self, p: payloads.Payload, text: str) -> bool:
        if p.kind is K.COMMAND and p.value == "WEIGH":
            self.accept()
            return True
        return super().other_scan(p, text)

    def action_demo(self, which: int) -> None:
        """A simulated scale only: put a piece on its pan (1: as expected, 2: lost too much)."""
        st = self.station
        if st.devices.sim is None:
            return
        base = self.weight_in if self.phase == "out" and self.weight_in else (self.expected or Decimal("5.000"))
        limit = (self.stage.max_loss_pct if self.stage and self.stage.max_loss_pct is not None else Decimal("1"))
        if self.phase == "out":
            pct = limit * (Decimal("0.4") if which == 1 else Decimal("1.8"))
            grams = base * (1 - pct / 100) + self.stones_ct * GRAMS_PER_CT  # the stones set weigh too
        else:
            grams = base if which == 1 else base * Decimal("0.9")
        st.devices.demo_put(grams.quantize(Decimal(1).scaleb(-self.places)))


def _same_display(a: ScaleEvent | None, b: ScaleEvent | None) -> bool:
    if isinstance(a, Reading) and isinstance(b, Reading):
        return (a.grams, a.stable, a.value, a.unit) == (b.grams, b.stable, b.value, b.unit)
    return type(a) is type(b) and str(a) == str(b)


# -- photo ------------------------------------------------------------------------------------------

class PhotoDialog(KioskDialog[str]):
    """Take a photo with the bench camera, look at it, keep it (stored under its hash) or take another.

    Dismisses with the stored photo's SHA-256, or None.
    """

    BINDINGS = [Binding("enter", "accept", show=False), Binding("p", "again", show=False)]

    def __init__(self, devices: BenchDevices, job: str, stage_name: str) -> None:
        super().__init__()
        self.devices = devices
        self.job = job
        self.stage_name = stage_name
        self.jpeg: bytes | None = None
        self.saving = False

    def compose(self) -> ComposeResult:
        with Vertical(id="photo-box", classes="dialog"):
            yield Static(f"PHOTO — {self.stage_name} — {self.job}", classes="dialog-title")
            yield Static("taking the picture…", id="photo-preview")
            yield Static(id="photo-info")
            yield Static("ACCEPT or Enter: keep and attach   PHOTO or P: take another   CANCEL or Esc: cancel",
                         classes="dialog-help")
            yield MessageLine(id="dialog-msg")

    def on_mount(self) -> None:
        self.take()

    def action_again(self) -> None:
        self.take()

    def take(self) -> None:
        self.jpeg = None
        self.query_one("#photo-preview", Static).update("taking the picture…")
        w = max(20, min(64, self.app.size.width - 10))
        h = max(4, min(16, self.app.size.height - 12))
        self._capture(w, h)

    @work(thread=True, exclusive=True, group="camera", exit_on_error=False)
    def _capture(self, width: int, height: int) -> None:
        try:
            jpeg = self.devices.capture()
            preview = halfblock(jpeg, width, height)
        except (FloorkioskError, OSError) as exc:
            self.app.call_from_thread(self._failed, str(exc))
            return
        self.app.call_from_thread(self._captured, jpeg, preview)

    def _failed(self, why: str) -> None:
        self.query_one("#photo-preview", Static).update(Text(f"✗ NO PICTURE: {why}", "bold"))
        self.say("no picture: CANCEL, or PHOTO to try again", "error")

    def _captured(self, jpeg: bytes, preview: Text) -> None:
        self.jpeg = jpeg
        self.query_one("#photo-preview", Static).update(preview)
        self.query_one("#photo-info", Static).update(f"{len(jpeg) // 1024} kB JPEG")
        self.say("keep it? ACCEPT", "info")

    def action_accept(self) -> None:
        self.accept()

    def accept(self) -> None:
        if self.jpeg is None:
            self.say("no picture yet: wait, or PHOTO to take one", "warn")
            return
        if self.saving:
            return
        self.saving = True
        self.say("saving…")
        self._save(self.jpeg)

    @work(thread=True, exclusive=True, group="photo-save", exit_on_error=False)
    def _save(self, jpeg: bytes) -> None:
        try:
            stored = self.devices.save_photo(jpeg)
        except (FloorkioskError, OSError) as exc:
            why = str(exc)  # the name `exc` is gone once the except block ends

            def failed() -> None:
                self.saving = False
                self.say(f"the photo was not saved: {why}", "error")

            self.app.call_from_thread(failed)
            return
        self.app.call_from_thread(self.dismiss, stored.sha256)

    def other_scan(self, p: payloads.Payload, text: str) -> bool:
        if p.kind is K.COMMAND and p.value == "PHOTO":
            self.take()
            return True
        return super().other_scan(p, text)


class CodesScreen(KioskDialog[None]):
    """Demo: the codes to type or paste."""

    BINDINGS = [Binding("question_mark", "cancel", show=False), Binding("enter", "cancel", show=False)]

    def __init__(self, left: Text, right: Text) -> None:
        super().__init__()
        self.left = left
        self.right = right

    def compose(self) -> ComposeResult:
        with Vertical(id="codes-box", classes="dialog"):
            with Horizontal(id="codes-columns"):
                yield Static(self.left, classes="codes-column")
                yield Static(self.right, classes="codes-column")
            yield Static("Esc: close (any scan closes it too)", classes="dialog-help")

    def on_scan(self, p: payloads.Payload, text: str) -> bool:
        # Any scan closes the list and then counts as usual.
        self.dismiss(None)
        if not (p.kind is K.COMMAND and p.value in ("ACCEPT", "CANCEL")):
            self.app.call_after_refresh(self.app.post_message, ScanRead(text, "paste"))
        return True
