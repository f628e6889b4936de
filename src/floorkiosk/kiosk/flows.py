"""What each action does on the job card, step by step: ask the guardrails, gather evidence, call the verb.

Every flow works with scans alone: START, FINISH, WEIGH, PHOTO, HOLD, VERIFY, REJECT start one;
ACCEPT and CANCEL answer its dialogs. A blocked action shows every reason and lets a supervisor
override it with their badge (and PIN) and a reason code; the override is recorded with the event.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from textual.app import App

from floorkiosk.domain import guardrails as g
from floorkiosk.domain import qc as dq
from floorkiosk.domain.state import JobState
from floorkiosk.domain.units import fmt_many
from floorkiosk.errors import FloorkioskError
from floorkiosk.kiosk.dialogs import (
    BlockedScreen,
    ChecklistDialog,
    NoteDialog,
    PhotoDialog,
    PickDialog,
    WeighDialog,
)
from floorkiosk.kiosk.messages import PrintLabel, Say
from floorkiosk.kiosk.station import Station
from floorkiosk.kiosk.supervisor import verify_dialog
from floorkiosk.workshop import capacity, cards, judge, standards, tooling, verbs
from floorkiosk.workshop.judge import Blocked, Override

# (what is recorded, what the list shows)
HOLD_REASONS = [(r, r + ("" if quality else " (you may release it yourself)")) for r, quality in g.HOLD_REASONS]
LABEL_REASONS = [(r, r) for r in ("label torn or dirty", "label unreadable", "new job bag")]
DEFAULT_DEFECTS = [("LOOSE-STONE", "stone moves in its setting"), ("POROSITY", "porosity in the metal"),
                   ("FINISH", "finish not as specified"), ("SIZE", "size out of tolerance"),
                   ("SCRATCH", "scratch or tool mark"), ("OTHER", "other defect (see traveller)")]


# What the card shows: the job's state and what this person may do to it, judged once from that state.
Seen = Callable[[], tuple[JobState, Mapping[str, g.Decision]]]


class JobFlows:
    """The actions on the job shown on the card, for the person logged in at this bench.

    app: where the dialogs are shown and the messages sent; reload: shows the card anew after a change;
    seen: the state and decisions the card shows now. An action the card judged allowed goes straight
    to its dialog and its verb, whose write transaction judges it once more, against the journal as it
    is then; only one the card judged blocked is judged anew (the card may be older than the journal)
    before BLOCKED is shown.
    """

    def __init__(self, station: Station, app: App[Any], job: str, reload: Callable[[], None],
                 seen: Seen | None = None, *, person: str | None = None) -> None:
        self.station = station
        self.app = app
        self.reload = reload
        self.seen = seen
        self.shop = station.shop
        self.job = job
        # who acts: the person logged in, or a supervisor verifying on their card (their badge scanned on it)
        self.person = person or (station.person.id if station.person else "")
        self.bench = station.bench.id

    def state(self) -> JobState:
        return self.seen()[0] if self.seen is not None else self.shop.job(self.job)

    def judged(self, kind: str, stage: str | None = None, checklist: tuple[str, ...] = ()) -> g.Decision:
        """The card's decision on this action where it has one that is allowed, else judged now."""
        if self.seen is not None and (self.station.person is None or self.person == self.station.person.id):
            d = self.seen()[1].get(kind)
            if d is not None and d.allowed and (stage is None or d.stage == stage):
                return d
        return judge.decide(self.shop, kind, self.job, self.person, self.bench, stage=stage, checklist=checklist)

    def run(self, what: str) -> None:
        fn = {"start": self.start, "finish": self.finish, "weigh": self.weigh, "photo": self.photo,
              "hold": self.hold, "verify": self.verify, "reject": self.reject, "inspect": self.inspect,
              "label": self.label, "pause": self.pause, "resume": self.resume}.get(what)
        if fn is None:
            self.say(f"unknown action {what!r}", "error")
            return
        try:
            fn()
        except Blocked as exc:
            self.blocked(exc.decision, what, lambda o: fn(override=o))
        except FloorkioskError as exc:
            self.say(str(exc), "error")

    # -- helpers -----------------------------------------------------------------------------------
    def stage_name(self, sid: str | None) -> str:
        s = self.shop.site.stages.get(sid or "")
        return s.name if s else (sid or "the stage")

    def say(self, text: str, kind: str = "info") -> None:
        self.app.post_message(Say(text, kind))

    def done(self, text: str, kind: str = "ok") -> None:
        self.reload()
        self.say(text, kind)

    def call(self, verb: Callable[[], Any], what: str, retry: Callable[[Override], None]) -> Any:
        """Run a verb; a Blocked answer opens the blocked panel, other refusals are said plainly."""
        try:
            return verb()
        except Blocked as exc:
            self.blocked(exc.decision, what, retry)
        except FloorkioskError as exc:
            self.say(str(exc), "error")
        return None

    def blocked(self, decision: g.Decision, what: str, retry: Callable[[Override], None]) -> None:
        def answered(o: Override | None) -> None:
            if o is None:
                self.say(f"{what}: blocked; nothing was changed", "warn")
                return
            retry(o)

        self.app.push_screen(BlockedScreen(self.shop, decision, self.job,
                                           f"{what.capitalize()} {self.stage_name(decision.stage)}",
                                           bench=self.bench, actor=self.person), answered)

    # -- start ---------------------------------------------------------------------------------------
    def start(self, override: Override | None = None) -> None:
        d = self.judged(g.START)
        if not d.allowed and override is None:
            self.blocked(d, "start", lambda o: self.start(o))
            return
        e = self.call(lambda: verbs.start(self.shop, self.job, self.person, self.bench, override=override), "start",
                      lambda o: self.start(o))
        if e is None:
            return
        stage = self.shop.site.stages[e.payload["stage"]]
        self.done(f"started {stage.name}" + (f" (override {override.code})" if override else ""))
        # Evidence asked right after the start comes next, without another scan: once the card has
        # said what happened (the message is handled first, then this).
        if "weigh-in" in stage.start_evidence:
            self.app.call_later(self.weigh)
        elif "photo" in stage.start_evidence:
            self.app.call_later(self.photo)

    # -- pause and resume ----------------------------------------------------------------------------
    def _own_stage_here(self) -> str | None:
        """The stage this person has under way on the job at this bench (None: the verb says what is wrong)."""
        state = self.state()
        bench = self.station.bench
        mine = [s for s in state.in_progress() if state.stage(s).started_by == self.person and bench.serves(s)]
        return mine[0] if mine else None

    def pause(self, override: Override | None = None) -> None:
        """PAUSE: the clock of this person's stage under way stops (as `floorkiosk work pause`)."""
        sid = self.call(lambda: capacity.pause_work(self.shop, self.job, self.person, self.bench,
                                                    self._own_stage_here()), "pause", lambda o: None)
        if sid is not None:
            self.done(f"paused {self.stage_name(sid)} on {self.job}: its clock has stopped; RESUME goes on with it",
                      "warn")

    def resume(self, override: Override | None = None) -> None:
        """RESUME: the paused stage's clock runs again (as `floorkiosk work resume`)."""
        sid = self.call(lambda: capacity.resume_work(self.shop, self.job, self.person, self.bench,
                                                     self._own_stage_here()), "resume", lambda o: None)
        if sid is not None:
            self.done(f"resumed {self.stage_name(sid)} on {self.job}: its clock runs again")

    # -- tools ---------------------------------------------------------------------------------------
    def use_tool(self, code: str) -> None:
        """A tool's tag (FK:T:M12) scanned on the card: its use recorded against the stage under way here
        (as `floorkiosk tool use`); a retired tool, or one at its limit, refused in words."""
        state = self.state()
        bench = self.station.bench
        mine = [s for s in state.in_progress() if bench.serves(s)]
        res = self.call(lambda: tooling.use_tool(self.shop, self.job, code, self.person, self.bench,
                                                 mine[0] if mine else None), "tool", lambda o: None)
        if res is None:
            return
        e, note = res
        if tooling.view(self.shop, e.payload["tool"]).condition.startswith("BLOCKED"):
            note += " — at its limit now: the next use is refused until a supervisor signs off its maintenance"
        self.done(note, "warn" if "maintenance due" in note or "at its limit" in note else "ok")

    # -- weigh ---------------------------------------------------------------------------------------
    def weigh(self, override: Override | None = None, then: Callable[[], None] | None = None) -> None:
        state = self.state()
        sid, phase = verbs.weigh_phase(self.shop, state, self.bench)
        kind = g.WEIGH_IN if phase == "in" else g.WEIGH_OUT
        d = self.judged(kind, stage=sid)
        if not d.allowed and override is None:
            self.blocked(d, f"weigh-{phase}", lambda o: self.weigh(o, then))
            return
        stage = self.shop.site.stages.get(sid or "")
        w_in = state.stage(sid).weight_in if sid else None
        expected = verbs.expected_weight(self.shop, self.job)
        # the stones set at this stage are in its weigh-out and not in its weigh-in (shown, not counted as metal)
        stones_ct = (cards.stones_in(self.shop, state, sid, "out") - cards.stones_in(self.shop, state, sid, "in")
                     if phase == "out" and sid else 0)

        def weighed(reading: Any) -> None:
            if reading is None:
                self.say("weighing cancelled; nothing was recorded", "warn")
                return
            scale = self.station.bench.scale or {}
            source = verbs.FromScale(str(scale.get("profile") or scale.get("url") or "scale"), reading.raw,
                                     reading.stable)
            res = self.call(lambda: verbs.record_weight(self.shop, self.job, self.person, self.bench, reading.grams,
                                                            phase=phase, stage=sid, raw=reading.raw,
                                                            unit=reading.unit, override=override, source=source),
                            f"weigh-{phase}", lambda o: self.weigh(o, then))
            if res is None:
                return
            units = self.shop.site.settings.units
            step = self.station.devices.readability or None
            text = f"weighed {phase} {self.stage_name(sid)}: {fmt_many(res.grams, units, step)}"
            if res.loss is not None:
                text += f", loss {fmt_many(res.loss.grams, units, step)} ({res.loss.pct}%)"
                if res.loss.stones:
                    text += f" after {fmt_many(res.loss.stones, units, step)} of stones set"
            if res.held:
                self.done(text + " — BEYOND TOLERANCE: the job is ON HOLD until a supervisor releases it", "error")
                return
            self.done(text)
            if then is not None:
                self.app.call_later(then)

        self.app.push_screen(WeighDialog(self.station, self.job, stage, phase, expected=expected, weight_in=w_in,
                                         stones_ct=Decimal(stones_ct)),
                             weighed)

    # -- photo ---------------------------------------------------------------------------------------
    def photo(self, override: Override | None = None, then: Callable[[], None] | None = None) -> None:
        d = self.judged(g.PHOTO)
        if not d.allowed and override is None:
            self.blocked(d, "photo", lambda o: self.photo(o, then))
            return
        sid = d.stage

        def taken(sha: str | None) -> None:
            if sha is None:
                self.say("photo cancelled; nothing was attached", "warn")
                return
            e = self.call(lambda: verbs.attach_photo(self.shop, self.job, self.person, self.bench, sha, stage=sid,
                                                         override=override),
                          "photo", lambda o: self.photo(o, then))
            if e is None:
                return
            self.done(f"photo {sha[:10]} attached to {self.stage_name(sid)}")
            if then is not None:
                self.app.call_later(then)

        self.app.push_screen(PhotoDialog(self.station.devices, self.job, self.stage_name(sid)), taken)

    # -- finish --------------------------------------------------------------------------------------
    def finish(self, override: Override | None = None) -> None:
        state = self.state()
        sid = g.actionable_stage(self.shop.site, state, self.station.bench, g.FINISH)
        stage = self.shop.site.stages.get(sid or "")
        checklist = stage.checklist if stage else ()
        d = self.judged(g.FINISH, stage=sid, checklist=checklist)
        if not d.allowed and override is None:
            nxt = self._gather(d, state, sid)
            if nxt is not None:
                nxt()
                return
            self.blocked(d, "finish", lambda o: self.finish(o))
            return

        def confirmed(items: tuple[str, ...] | None) -> None:
            if items is None:
                self.say("finish cancelled; the stage is still in progress", "warn")
                return
            e = self.call(lambda: verbs.finish(self.shop, self.job, self.person, self.bench, stage=sid, checklist=items,
                                                   override=override), "finish", lambda o: self.finish(o))
            if e is not None:
                self.done(f"finished {self.stage_name(sid)}" + (f" (override {override.code})" if override else ""))

        if checklist:
            self.app.push_screen(ChecklistDialog(f"Finish {self.stage_name(sid)} on {self.job}: confirm each check",
                                                 list(checklist)), confirmed)
        else:
            confirmed(())

    def _gather(self, d: g.Decision, state: Any, sid: str | None) -> Callable[[], None] | None:
        """When only evidence is missing and this bench can take it, the next step to take it."""
        if sid is None or not d.reasons or any(r.code != "evidence" for r in d.reasons):
            return None
        stage = self.shop.site.stages[sid]
        st = state.stage(sid)
        devices = self.station.devices
        if ((stage.needs("weigh-in") and st.weight_in is None) or (stage.needs("weigh-out") and st.weight_out is None)) \
                and devices.has_scale:
            return lambda: self.weigh(then=self.finish)
        if len(st.photos) < stage.photos_needed and devices.camera_source() is not None:
            return lambda: self.photo(then=self.finish)
        return None

    # -- hold and release ----------------------------------------------------------------------------
    def hold(self, override: Override | None = None) -> None:
        state = self.state()
        if state.hold:
            me = self.shop.person(self.person)
            d = self.judged(g.RELEASE)
            if d.allowed and not me.is_supervisor:  # the artisan's own hold while waiting: theirs to release
                self._release(self.person, None)
                return
            if me.is_supervisor and override is None and not self.shop.site.settings.supervisor_pin:
                self._release(self.person, None)
                return

            def authorised(o: Override | None) -> None:
                if o is None:
                    self.say("release cancelled; the job stays on hold", "warn")
                    return
                self._release(o.by, o.pin)

            why = (f"{self.job} is on hold: {state.hold.reason}. Releasing it needs a supervisor"
                   + (" and their PIN" if self.shop.site.settings.supervisor_pin else "") + ".")
            self.app.push_screen(BlockedScreen(self.shop, d, self.job, "Release the hold", supervisor=why,
                                               bench=self.bench), authorised)
            return

        def picked(reason: str | None) -> None:
            if reason is None:
                self.say("hold cancelled; nothing was changed", "warn")
                return
            if self.call(lambda: verbs.hold(self.shop, self.job, self.person, self.bench, reason), "hold",
                         lambda o: None) is not None:
                self.done(f"{self.job} is ON HOLD: {reason}", "warn")

        self.app.push_screen(PickDialog(f"Put {self.job} on hold: why?", HOLD_REASONS), picked)

    def _release(self, by: str, pin: str | None) -> None:
        """Ask the note (what was checked or resolved), then release the hold as `by`."""
        hold = self.state().hold

        def noted(note: str | None) -> None:
            if note is None:
                self.say("release cancelled; the job stays on hold", "warn")
                return
            e = self.call(lambda: verbs.release(self.shop, self.job, by, self.bench, note=note, pin=pin),
                          "release", lambda o: None)
            if e is not None:
                self.done(f"hold released by {self.shop.name(by)}: {note}")

        why = f"on hold: {hold.reason}" if hold else ""
        self.app.push_screen(NoteDialog(f"Release the hold on {self.job}: a note",
                                        f"{why}\nSay what was checked or resolved (the stones came, the client "
                                        "confirmed …)."), noted)

    # -- verification --------------------------------------------------------------------------------
    def verify(self, override: Override | None = None, pin: str | None = None) -> None:
        d = self.judged(g.VERIFY)
        # evidence missing (a photo the rules need): the verify dialog says so, then it is blocked
        evidence_only = all(r.code == "evidence" for r in d.reasons) and d.stage is not None
        if not d.allowed and override is None and not evidence_only:
            self.blocked(d, "verify", lambda o: self.verify(o, pin))
            return
        me = self.shop.person(self.person)
        if pin is None:
            # verify after seeing: the stage's photos and weights, then the verifier's PIN
            at = self.station.person
            here_for = at if at is not None and at.id != me.id else None

            def typed(p: str | None) -> None:
                if p is None:
                    return  # the dialog has said why (cancelled, three wrong PINs, a badge to log in)
                if not d.allowed and override is None:
                    self.blocked(d, "verify", lambda o: self.verify(o, p))
                    return
                self.verify(override, p)

            self.app.push_screen(verify_dialog(self.station, me, self.job, d.stage or "", here_for=here_for), typed)
            return
        e = self.call(lambda: verbs.verify(self.shop, self.job, self.person, self.bench, stage=d.stage,
                                           override=override, pin=pin or None),
                      "verify", lambda o: self.verify(o, pin))
        if e is not None:
            by = "" if self.station.person is not None and self.station.person.id == me.id else f" (by {me.name})"
            self.done(f"verified {self.stage_name(e.payload.get('stage'))}{by}")

    def reject(self, override: Override | None = None) -> None:
        d = self.judged(g.REJECT)
        if not d.allowed and override is None:
            self.blocked(d, "reject", lambda o: self.reject(o))
            return
        sid = d.stage
        state = self.state()
        route = standards.site_for(self.shop, state).routes[state.route]  # the route of the job's version
        before = list(route.stage_ids[: route.stage_ids.index(sid) + 1]) if sid in route.stage_ids else [sid]
        redo_options = [(s, f"redo {self.stage_name(s)}") for s in reversed(before)]

        def picked_defect(defect: str | None) -> None:
            if defect is None:
                self.say("reject cancelled; nothing was changed", "warn")
                return

            usual = self._defect_redo().get(defect)
            options = sorted(redo_options, key=lambda o: o[0] != usual)

            def picked_redo(redo: str | None) -> None:
                if redo is None:
                    self.say("reject cancelled; nothing was changed", "warn")
                    return
                text = dict(self._defects()).get(defect, "")
                e = self.call(lambda: verbs.reject(self.shop, self.job, self.person, self.bench, defect=defect, reason=text,
                                                       redo=redo, override=override), "reject",
                              lambda o: self.reject(o))
                if e is not None:
                    self.done(f"rejected {self.stage_name(sid)}: {defect}; {self.stage_name(redo)} is to be redone", "warn")

            self.app.push_screen(PickDialog(f"Reject {self.stage_name(sid)}: which stage is redone?", options),
                                 picked_redo)

        self.app.push_screen(PickDialog(f"Reject {self.stage_name(sid)} on {self.job}: the defect",
                                        [(c, f"{c}: {t}") for c, t in self._defects(sid)]), picked_defect)

    def _defect_redo(self) -> dict[str, str]:
        """The stage that usually redoes each defect (qc.toml's [[defects]] redo)."""
        return {d.code: d.redo for d in dq.qc_config(self.shop.site).defects.values() if d.redo}

    def _defects(self, stage: str | None = None) -> list[tuple[str, str]]:
        """(code, what it means) of the defects that apply to this stage, or a short default list where qc.toml has none."""
        cfg = dq.qc_config(self.shop.site)
        if stage is None:
            out = [(d.code, d.text or d.code) for d in cfg.defects.values()]
        else:
            state = self.state()
            route = standards.site_for(self.shop, state).routes.get(state.route)
            out = [(d.code, d.text or d.code) for d in cfg.defects_for(stage, route)]
        return out or DEFAULT_DEFECTS

    # -- QC inspection, labels -----------------------------------------------------------------------
    def inspect(self, override: Override | None = None) -> None:
        if not self.station.can_inspect():
            self.say("inspection is at the QC station, by a supervisor", "warn")
            return
        from floorkiosk.kiosk.qc_screen import QcScreen  # a supervisor's screen, and one a build may leave out

        st = self.station
        screen = QcScreen(self.shop, self.bench, self.person, self.job, devices=st.devices, reading=st.scale_event)
        self.app.push_screen(screen, lambda _: self.reload())

    def label(self, override: Override | None = None) -> None:
        if self.station.bench.printer is None:
            self.say("this bench has no printer; reprint the label at a bench that has one", "warn")
            return

        def picked(reason: str | None) -> None:
            if reason is not None:
                self.app.post_message(PrintLabel(self.job, reason))

        self.app.push_screen(PickDialog(f"Reprint the job-bag label of {self.job}: why?", LABEL_REASONS), picked)
