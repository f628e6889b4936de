"""The QC station's inspection screen: work through a job's inspection plan, then pass or send back.

Pushed by the kiosk when a supervisor inspects a job at a QC bench:

    app.push_screen(QcScreen(shop, bench_id, person_id, job_id), on_done)   # dismissed with an Outcome or None

One answer line drives everything, so a scanner, a USB caliper or the keyboard can: each check in
turn asks for a weight (read from the bench scale when it is stable, or typed), a measurement
typed from calipers or a micrometer, or P / F; a failure then asks for the defect code, the stage
to redo and the reason, each proposed and editable; Enter on the last line records it. The screen
calls only the QC verbs (floorkiosk.workshop.qc); a refused answer says why and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.suggester import SuggestFromList
from textual.widgets import Button, DataTable, Input, Static

from floorkiosk.devices.scaleparse import ScaleStatus
from floorkiosk.devices.scales import ScaleMonitor
from floorkiosk.domain import payloads
from floorkiosk.domain import qc as dq
from floorkiosk.domain import stones as ds
from floorkiosk.domain.units import fmt, fmt_many
from floorkiosk.errors import FloorkioskError
from floorkiosk.kiosk.base import KioskScreen
from floorkiosk.kiosk.devices import BenchDevices
from floorkiosk.kiosk.dialogs import PinDialog
from floorkiosk.kiosk.messages import ScaleEvent
from floorkiosk.workshop import qc
from floorkiosk.workshop.shop import Shop

DEFECT, REDO, REASON, CONFIRM, DONE_STEP = "defect", "redo", "reason", "confirm", "done"
_RESULT_STYLE = {dq.PASS: "bold green", dq.FAIL: "bold red", dq.NA: "dim"}


@dataclass
class _Step:
    kind: str  # "check", defect, redo, reason, confirm, done
    check: dq.Check | None = None


class QcScreen(KioskScreen, Screen["qc.Outcome | None"]):
    """Inspect one job at a QC station against its inspection plan."""

    DEFAULT_CSS = """
    QcScreen { layout: vertical; padding: 0 1; }
    QcScreen #qc-head { height: auto; text-style: bold; }
    QcScreen .qc-info { height: auto; color: $text-muted; }
    QcScreen #qc-sample { height: auto; }
    QcScreen #qc-sample.-alert, QcScreen #qc-stones, QcScreen #qc-hold { color: $warning; text-style: bold; }
    QcScreen #qc-table { height: 1fr; min-height: 6; }
    QcScreen #qc-prompt { height: auto; margin-top: 1; text-style: bold; }
    QcScreen #qc-answer { width: 1fr; }
    QcScreen #qc-msg { height: auto; min-height: 1; }
    QcScreen #qc-msg.-error { color: $error; text-style: bold; }
    QcScreen #qc-msg.-ok { color: $success; text-style: bold; }
    QcScreen #qc-msg.-warn { color: $warning; }
    QcScreen #qc-buttons { height: auto; }
    QcScreen #qc-buttons Button { margin-right: 1; min-width: 12; }
    """

    BINDINGS = [
        Binding("escape", "cancel", "Back", show=True),
        Binding("up", "step(-1)", "Previous", show=False),
        Binding("down", "step(1)", "Next", show=False),
    ]

    def __init__(self, shop: Shop, bench_id: str, person_id: str, job_id: str, *, scale: ScaleMonitor | None = None,
                 devices: BenchDevices | None = None, reading: ScaleEvent | None = None) -> None:
        """scale: an object with a `.last` Reading (a ScaleMonitor), polled on a screen outside the kiosk;
        devices: the kiosk bench's (its scale and camera), whose readings the kiosk hands in (on_scale),
        the latest first as `reading`."""
        super().__init__()
        self.shop = shop
        self.bench_id = bench_id
        self.person_id = person_id
        self.job_id = job_id
        self._scale_source = scale
        self.devices = devices
        self._first_reading = reading
        self.insp: qc.Inspection | None = None
        self._pin: str | None = None  # the inspector's PIN, once typed for this inspection
        self.error: str | None = None
        self.steps: list[_Step] = []
        self.index = 0
        self.answers: dict[str, str] = {}
        self.sources: dict[str, str] = {}
        self.raws: dict[str, str] = {}
        self.results: dict[str, dq.CheckResult] = {}
        self.fail: dict[str, str] = {}
        self.outcome: qc.Outcome | None = None
        self.reading: Any = None  # the latest stable Reading of the bench scale
        self._prefilled: str | None = None  # answer text put in from the scale, not typed
        self._scale_state = ""
        self._said: tuple[str, str] | None = None  # the last message, kept until the screen can show it
        self._busy = False

    # -- layout ------------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static(id="qc-head", markup=False)
        yield Static(id="qc-plan", classes="qc-info", markup=False)
        yield Static(id="qc-stone-lines", classes="qc-info", markup=False)
        yield Static(id="qc-sample", markup=False)
        yield Static(id="qc-hold", markup=False)
        yield Static(id="qc-stones", markup=False)
        yield Static(id="qc-scale", classes="qc-info", markup=False)
        table = DataTable(id="qc-table", cursor_type="row", zebra_stripes=True)
        yield table
        yield Static(id="qc-prompt", markup=False)
        with Vertical():
            yield Input(id="qc-answer", placeholder="answer, then Enter")
            yield Static(id="qc-msg", markup=False)
        with Horizontal(id="qc-buttons"):
            yield Button("Pass", id="qc-pass", variant="success")
            yield Button("Fail", id="qc-fail", variant="error")
            yield Button("Scale", id="qc-weigh")
            yield Button("Record", id="qc-record", variant="primary")
            yield Button("Back (Esc)", id="qc-cancel")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("#", key="n")
        table.add_column("check", key="check")
        table.add_column("tolerance", key="limit")
        table.add_column("measured", key="value")
        table.add_column("result", key="result")
        if self._said is not None:
            self.say(*self._said)
        try:
            self.insp = qc.begin(self.shop, self.job_id, self.person_id, self.bench_id)
        except FloorkioskError as exc:
            self.error = str(exc)
            self._show_refused(str(exc))
            return
        self._show_job()
        for i, c in enumerate(self.insp.checks, 1):
            ok, why = dq.applies(c, self.insp.facts)
            table.add_row(str(i), Text(c.name), Text(c.limit_text(self.insp.facts.reference_grams, self.insp.facts.spec_size)),
                          Text("" if ok else f"n/a: {why}", style="dim"), Text("" if ok else dq.NA, style="dim"), key=c.id)
            if ok:
                self.steps.append(_Step("check", c))
        self.steps.append(_Step(CONFIRM))
        if self._first_reading is not None:
            self.on_scale(self._first_reading)
        if self._scale_source is not None:
            self.set_interval(0.2, self._poll_source)
        self._show_scale()
        self._goto(0)

    def _show_refused(self, why: str) -> None:
        self.query_one("#qc-head", Static).update(f"Inspect {self.job_id}")
        self.query_one("#qc-prompt", Static).update("Nothing can be inspected here: Esc returns")
        self.say(why, "error")
        for bid in ("qc-pass", "qc-fail", "qc-weigh", "qc-record"):
            self.query_one(f"#{bid}", Button).display = False
        self.query_one("#qc-answer", Input).disabled = True
        self.query_one("#qc-cancel", Button).focus()

    def _show_job(self) -> None:
        insp = self.insp
        j = insp.job
        site = self.shop.site
        alloy = site.alloys.get(j.alloy)
        stage = site.stages[insp.stage]
        what = "verify" if insp.target.mode == "verify" else "inspect"
        self.query_one("#qc-head", Static).update(
            f"{what.capitalize()} {stage.name} of {j.id} · {j.design} · {alloy.name if alloy else j.alloy}"
            + (f" · spec: {j.spec}" if j.spec else ""))
        self.query_one("#qc-plan", Static).update(f"Plan: {insp.target.plan_name} · inspector {insp.person.name}")
        stones = "; ".join(ds.line_text(s) for s in j.stones)
        self.query_one("#qc-stone-lines", Static).update(f"Stones: {stones}" if stones else "No stones")
        sample = self.query_one("#qc-sample", Static)
        if insp.sample is not None:
            sample.update(insp.sample.text(j.id))
            sample.set_class(insp.sample.escalated or insp.selection == qc.DRAWN, "-alert")
        else:
            sample.display = False
        hold = self.query_one("#qc-hold", Static)
        if insp.our_hold:
            hold.update(f"On hold: {j.hold.reason if j.hold else ''}. Inspecting it lifts the hold.")
        else:
            hold.display = False
        st = self.query_one("#qc-stones", Static)
        if insp.stone_problems:
            st.update("Stone parcels: " + "; ".join(insp.stone_problems))
        else:
            st.display = False

    # -- the scale ---------------------------------------------------------------------------------
    def _scale_configured(self) -> bool:
        if self._scale_source is not None:
            return True
        return self.devices is not None and self.devices.has_scale

    def on_scale(self, event: ScaleEvent) -> None:
        """A reading or state from the bench scale (the kiosk calls this for the screens on top)."""
        if isinstance(event, ScaleStatus):
            self._scale_state = (event.message or str(event.kind))[:60]
            self.reading = None
        elif event.stable:
            self.reading = event
            self._scale_state = ""
        else:
            self._scale_state = f"{fmt(event.grams, 'g')} moving"
        if self.is_mounted and self.insp is not None:
            try:
                self._show_scale()
                self._prefill_weight()
            except NoMatches:
                pass  # a reading that arrives while the screen is closing

    def _poll_source(self) -> None:
        last = self._scale_source.last if self._scale_source is not None else None
        if last is not None:
            self.on_scale(last)

    def _show_scale(self) -> None:
        w = self.query_one("#qc-scale", Static)
        if not self._scale_configured():
            w.update("Scale: none at this bench — type weights in grams")
        elif self.reading is not None:
            w.update(f"Scale: {fmt_many(self.reading.grams, self.shop.site.settings.units)} stable")
        else:
            w.update(f"Scale: {self._scale_state or 'waiting for a stable reading'} — or type the weight")

    def _prefill_weight(self) -> None:
        step = self._step()
        if step is None or step.check is None or step.check.kind != "weight" or self.reading is None:
            return
        box = self.query_one("#qc-answer", Input)
        if box.value and box.value != self._prefilled:
            return  # the inspector typed a weight: keep it
        self._prefilled = str(self.reading.grams)  # as the balance gave it, to its own readability
        box.value = self._prefilled
        box.select_all()

    # -- steps -------------------------------------------------------------------------------------
    def _step(self) -> _Step | None:
        return self.steps[self.index] if 0 <= self.index < len(self.steps) else None

    def _goto(self, index: int) -> None:
        self.index = max(0, min(index, len(self.steps) - 1))
        step = self._step()
        box = self.query_one("#qc-answer", Input)
        table = self.query_one(DataTable)
        prompt = self.query_one("#qc-prompt", Static)
        self._prefilled = None
        box.suggester = None
        visual = step.check is not None and step.check.kind == "visual"
        self.query_one("#qc-pass", Button).display = visual
        self.query_one("#qc-fail", Button).display = visual
        self.query_one("#qc-weigh", Button).display = bool(step.check and step.check.kind == "weight"
                                                          and self._scale_configured())
        self.query_one("#qc-record", Button).display = step.kind == CONFIRM
        if step.check is not None:
            c = step.check
            table.move_cursor(row=table.get_row_index(c.id))
            limit = c.limit_text(self.insp.facts.reference_grams, self.insp.facts.spec_size)
            prompt.update(f"{self.index + 1}/{self._n_checks()}  {c.name} ({limit}): {c.prompt()}")
            box.value = ""  # an earlier answer shows in the table; the line waits for the new one
            self._prefill_weight()
        elif step.kind == DEFECT:
            codes = self._defect_codes()
            prompt.update(f"Defect code ({', '.join(codes[:6])}{'…' if len(codes) > 6 else ''}): Enter accepts")
            box.suggester = SuggestFromList(sorted(self._cfg().defects), case_sensitive=False)
            box.value = self.fail.get(DEFECT, "")
        elif step.kind == REDO:
            names = ", ".join(self.shop.site.stages[s].name for s in self.insp.redo_choices)
            prompt.update(f"Stage to redo ({names}): Enter accepts")
            box.suggester = SuggestFromList([self.shop.site.stages[s].name for s in self.insp.redo_choices],
                                            case_sensitive=False)
            box.value = self.shop.site.stages[self.fail[REDO]].name if self.fail.get(REDO) else ""
        elif step.kind == REASON:
            prompt.update("Reason, for the job card: Enter accepts")
            box.value = self.fail.get(REASON, "")
        elif step.kind == CONFIRM:
            ev = self._evaluation()
            if ev.result == dq.PASS:
                prompt.update("Result: PASS — Enter (or ACCEPT) records it")
            elif ev.result == dq.FAIL:
                redo = self.shop.site.stages[self.fail[REDO]].name if self.fail.get(REDO) else "?"
                prompt.update(f"Result: FAIL {self.fail.get(DEFECT, '')}, back to {redo}: {self.fail.get(REASON, '')}\n"
                              "Enter (or ACCEPT) records it; ↑ changes an answer")
            else:
                prompt.update(f"Not answered yet: {', '.join(ev.missing)} — ↑ goes back")
            box.value = ""
        elif step.kind == DONE_STEP:
            prompt.update("Recorded — Enter or Esc returns to the job card")
            box.value = ""
        box.focus()
        if box.value:
            box.select_all()  # a proposal: Enter accepts it, typing replaces it

    def _n_checks(self) -> int:
        return sum(1 for s in self.steps if s.kind == "check")

    def _cfg(self) -> dq.QcConfig:
        return dq.qc_config(self.shop.site)

    def _defect_codes(self) -> list[str]:
        proposed = [c for r in self.results.values() if r.result == dq.FAIL for c in r.check.defects]
        rest = [c for c in sorted(self._cfg().defects) if c not in proposed]
        return list(dict.fromkeys(proposed)) + rest

    def _evaluation(self) -> dq.Evaluation:
        return self.insp.evaluate(self.answers, self.sources)

    def _rebuild_tail(self) -> None:
        """After the checks: the failure questions when something failed, then the confirmation."""
        checks = [s for s in self.steps if s.kind == "check"]
        ev = self._evaluation()
        tail = [_Step(CONFIRM)]
        if ev.complete and ev.failed:
            tail = [_Step(DEFECT), _Step(REDO), _Step(REASON), _Step(CONFIRM)]
            code, redo, reason = dq.proposal(ev, self._cfg(), self.insp.redo_choices, self.insp.default_redo)
            self.fail.setdefault(DEFECT, code)
            self.fail.setdefault(REDO, redo or "")
            self.fail.setdefault(REASON, reason)
        elif not ev.failed:
            self.fail.clear()
        self.steps = checks + tail

    def action_step(self, delta: int) -> None:
        if self.insp is None or self.outcome is not None or self._busy:
            return
        target = self.index + delta
        if delta > 0:
            step = self._step()
            if step and step.check is not None and step.check.id not in self.answers:
                return  # answer it first
        self._goto(target)

    # -- answers -----------------------------------------------------------------------------------
    def say(self, text: str, kind: str = "info") -> None:
        """Show a message on the message line (the kiosk calls this too, possibly before the screen is up)."""
        self._said = (text, kind)
        try:
            msg = self.query_one("#qc-msg", Static)
        except NoMatches:
            return  # not composed yet: shown when it is
        msg.update(text)
        for k in ("error", "ok", "warn", "info"):
            msg.set_class(k == kind, f"-{k}")

    @on(Input.Submitted, "#qc-answer")
    def _submitted(self, event: Input.Submitted) -> None:
        self.answer(event.value)

    def answer(self, text: str) -> None:
        """Take the answer for the current step (typed, scanned or from a button)."""
        if self.insp is None or self._busy:
            return
        step = self._step()
        if step is None:
            return
        if step.kind == DONE_STEP:
            self.dismiss(self.outcome)
            return
        try:
            if step.check is not None:
                self._answer_check(step.check, text)
            elif step.kind == DEFECT:
                code = self._cfg().defect(text).code if text.strip() else ""
                if not code:
                    raise dq.BadAnswer("give a defect code")
                self.fail[DEFECT] = code
                d = self._cfg().defects[code]
                if d.redo in self.insp.redo_choices:
                    self.fail[REDO] = d.redo  # the defect's usual stage, still editable next
                self.say(f"{code}: {d.text}", "info")
            elif step.kind == REDO:
                self.fail[REDO] = self._redo_id(text)
            elif step.kind == REASON:
                if not text.strip():
                    raise dq.BadAnswer("say why, for the job card")
                self.fail[REASON] = text.strip()
            elif step.kind == CONFIRM:
                if text.strip() and text.strip().casefold() not in ("y", "yes", "ok", "accept"):
                    raise dq.BadAnswer("press Enter (or scan ACCEPT) to record, ↑ to change an answer")
                self.record()
                return
        except FloorkioskError as exc:
            self.say(f"{exc}; nothing was recorded", "error")
            # The message quotes the refused answer; an empty line takes the next one whether it is typed
            # or sent by a caliper (the kiosk inserts an instrument's reading at the cursor).
            self.query_one("#qc-answer", Input).value = ""
            return
        self._goto(self.index + 1)

    def _answer_check(self, check: dq.Check, text: str) -> None:
        from_scale = check.kind == "weight" and self._prefilled is not None and text.strip() == self._prefilled
        result = dq.judge(check, text, self.insp.facts, "scale" if from_scale else "typed")
        self.answers[check.id] = text.strip()
        self.sources[check.id] = result.source
        if from_scale and self.reading is not None:
            self.raws[check.id] = self.reading.raw
        else:
            self.raws.pop(check.id, None)
        self.results[check.id] = result
        table = self.query_one(DataTable)
        shown = text.strip()
        if check.kind == "visual":
            shown = result.text
        elif check.kind == "measure":
            shown = f"{shown} {check.unit}"
        elif check.kind == "weight" and result.value is not None:
            shown = fmt(result.value, "g") + (f" ({result.deviation_pct:+} %)" if result.deviation_pct is not None else "")
            shown += " scale" if from_scale else ""
        table.update_cell(check.id, "value", Text(shown), update_width=True)
        table.update_cell(check.id, "result", Text(result.result, style=_RESULT_STYLE[result.result]))
        if result.result == dq.FAIL:
            self.say(result.note or f"{check.name} failed", "warn")
        elif result.result == dq.NA:
            self.say(f"{check.name}: {result.note}", "info")
        else:
            self.say(f"{check.name}: pass", "ok")
        self._rebuild_tail()

    def _redo_id(self, text: str) -> str:
        t = text.strip().casefold()
        for sid in self.insp.redo_choices:
            if t in (sid.casefold(), self.shop.site.stages[sid].name.casefold()):
                return sid
        names = ", ".join(self.shop.site.stages[s].name for s in self.insp.redo_choices) or "none"
        raise dq.BadAnswer(f"the piece cannot go back to {text.strip()!r}: choose one of {names}")

    # -- recording ---------------------------------------------------------------------------------
    def record(self) -> None:
        ev = self._evaluation()
        if not ev.complete:
            self.say(f"not answered yet: {', '.join(ev.missing)}", "error")
            return
        self._busy = True
        self.query_one("#qc-answer", Input).disabled = True
        stage = self.shop.site.stages[self.insp.stage]
        devices = self.devices
        wants_photo = (ev.passed and self.insp.target.mode == "stage" and stage.needs("photo")
                       and devices is not None and devices.camera_source() is not None)
        if wants_photo:
            self.say("taking the QC photo…", "info")
            self._photo_then_record(devices)
        else:
            self._record(None)

    @work(thread=True, exclusive=True, group="qc-photo", exit_on_error=False)
    def _photo_then_record(self, devices: BenchDevices) -> None:
        # the camera blocks: capture in a worker, then record on the UI thread
        try:
            sha = devices.save_photo(devices.capture()).sha256
            self.app.call_from_thread(self._record, sha)
        except FloorkioskError as exc:
            self.app.call_from_thread(self._record, None, f"no photo: {exc}")

    def _record(self, photo: str | None, photo_problem: str = "") -> None:
        me = self.shop.person(self.person_id)
        if self._pin is None and self.shop.site.settings.supervisor_pin and me.pin:
            # an inspection verifies or rejects: it asks for the inspector's PIN, as a release does
            def typed(pin: str | None) -> None:
                if pin is None:
                    self._busy = False
                    self.query_one("#qc-answer", Input).disabled = False
                    self.say("not recorded: the inspection needs your PIN", "warn")
                    self._goto(self.index)
                    return
                self._pin = pin
                self._record(photo, photo_problem)

            self.app.push_screen(PinDialog(self.shop, me, bench=self.bench_id), typed)
            return
        try:
            out = qc.record_inspection(
                self.shop, self.insp.job.id, self.person_id, self.bench_id, self.answers, sources=self.sources,
                raws=self.raws, defect=self.fail.get(DEFECT), redo=self.fail.get(REDO) or None,
                reason=self.fail.get(REASON), photo=photo, pin=self._pin)
        except FloorkioskError as exc:
            self._busy = False
            self.query_one("#qc-answer", Input).disabled = False
            self.say(f"{exc}; nothing was recorded", "error")
            self._goto(self.index)
            return
        self.outcome = out
        self._busy = False
        self.query_one("#qc-answer", Input).disabled = False
        self.steps.append(_Step(DONE_STEP))
        text = f"{out.result.upper()}: " + (out.text() or "recorded")
        if photo_problem:
            text += f"; {photo_problem}"
        self.say(text, "ok" if out.result == dq.PASS and not out.pending else "warn")
        for bid in ("qc-pass", "qc-fail", "qc-weigh", "qc-record"):
            self.query_one(f"#{bid}", Button).display = False
        self._goto(len(self.steps) - 1)

    # -- buttons, scans, keys ----------------------------------------------------------------------
    @on(Button.Pressed, "#qc-pass")
    def _pass(self) -> None:
        self.answer("pass")

    @on(Button.Pressed, "#qc-fail")
    def _fail(self) -> None:
        self.answer("fail")

    @on(Button.Pressed, "#qc-record")
    def _record_button(self) -> None:
        self.answer("")

    @on(Button.Pressed, "#qc-weigh")
    def _weigh(self) -> None:
        self._take_scale()

    @on(Button.Pressed, "#qc-cancel")
    def _cancel_button(self) -> None:
        self.action_cancel()

    @on(DataTable.RowSelected)
    def _row(self, event: DataTable.RowSelected) -> None:
        if self.outcome is not None or self._busy:
            return
        for i, s in enumerate(self.steps):
            if s.check is not None and s.check.id == event.row_key.value:
                self._goto(i)
                return
        self.query_one("#qc-answer", Input).focus()

    def _take_scale(self) -> None:
        if self._scale_source is not None:
            self._poll_source()
        step = self._step()
        if step is None or step.check is None or step.check.kind != "weight":
            self.say("the scale is read at the weight check", "warn")
            return
        if self.reading is None:
            self.say("no stable reading from the scale: wait for it to settle, or type the weight", "warn")
            return
        self._prefilled = None
        self.query_one("#qc-answer", Input).value = ""
        self._prefill_weight()

    def on_scan(self, p: payloads.Payload, text: str) -> bool:
        """Scans while inspecting: ACCEPT, CANCEL, WEIGH; a bare number is a caliper's reading."""
        if self.insp is None:
            return False
        K = payloads.Kind
        if p.kind is K.COMMAND:
            step = self._step()
            if p.value == "ACCEPT":
                if step is not None and step.check is not None and step.check.kind == "visual":
                    self.answer("pass")
                else:
                    self.answer(self.query_one("#qc-answer", Input).value if step and step.kind != CONFIRM else "")
            elif p.value == "CANCEL":
                self.action_cancel()
            elif p.value == "WEIGH":
                self._take_scale()
            else:
                self.say(f"{p.value}: not used while inspecting; ACCEPT, CANCEL and WEIGH are", "warn")
            return True
        if p.kind is K.JOB and not text.strip().upper().startswith(payloads.PREFIX + ":"):
            step = self._step()
            if step is not None and step.check is not None and step.check.kind != "visual":
                # a keyboard-wedge caliper types its number and Enter like a scanner
                self.answer(text.strip())
                return True
        if p.kind is K.JOB and p.value == self.insp.job.id:
            self.say(f"{p.value} is being inspected", "info")
            return True
        return False

    def action_cancel(self) -> None:
        if self._busy:
            return
        self.dismiss(self.outcome)
