"""Keyboard-wedge timing: a fast burst ending in Enter is a scan, a person's typing is not."""

from __future__ import annotations

from kiosk_helpers import key_event, scan

from floorkiosk.kiosk.app import make_app
from floorkiosk.kiosk.screens import IdleScreen, WorklistScreen
from floorkiosk.kiosk.wedge import WedgeDetector, is_scan_burst, layout_hint


def feed(det: WedgeDetector, text: str, start: float, gap_s: float) -> tuple[list, float]:
    released = []
    t = start
    for ch in text:
        released += det.char(ch, t, ch)
        t += gap_s
    return released, t


def test_a_fast_burst_ending_in_enter_is_a_scan():
    det = WedgeDetector(max_gap_ms=50)
    released, t = feed(det, "FK:J:J000123", 10.0, 0.004)
    verdict = det.enter(t)
    assert verdict.scan == "FK:J:J000123"
    assert released == [] and verdict.release == []
    assert not det.holding


def test_slow_typing_is_not_a_scan_and_every_key_is_released_in_order():
    det = WedgeDetector(max_gap_ms=50)
    released, t = feed(det, "J123", 10.0, 0.150)
    assert released == ["J", "1", "2"]  # each released when the next came too late to be a scanner
    verdict = det.enter(t)
    assert verdict.scan is None and verdict.release == ["3"]


def test_the_gap_is_configurable():
    keys = [10.0 + i * 0.040 for i in range(8)]
    assert is_scan_burst(keys, max_gap_ms=50)
    assert not is_scan_burst(keys, max_gap_ms=30)


def test_a_burst_too_short_or_an_enter_too_late_is_typing():
    assert not is_scan_burst([1.0, 1.004, 1.008], max_gap_ms=50, min_length=3)  # two keys and Enter
    assert is_scan_burst([1.0, 1.004, 1.008, 1.012], max_gap_ms=50, min_length=3)
    det = WedgeDetector(max_gap_ms=50)
    _, t = feed(det, "FK:C:START", 5.0, 0.003)
    verdict = det.enter(t + 0.5)  # the scanner sent no Enter; a person pressed it later
    assert verdict.scan is None and "".join(verdict.release) == "FK:C:START"


def test_a_key_typed_before_a_scan_is_released_alone():
    det = WedgeDetector(max_gap_ms=50)
    assert det.char("s", 1.0, "s") == []
    released, t = feed(det, "FK:J:J000007", 1.4, 0.002)
    assert released == ["s"]
    assert det.enter(t).scan == "FK:J:J000007"


def test_expire_releases_what_a_person_typed():
    det = WedgeDetector(max_gap_ms=50)
    det.char("w", 2.0, "w")
    assert det.expire(2.03) == []  # still within the gap: might be a scanner
    assert det.expire(2.06) == ["w"]


def test_configured_prefix_and_suffix_are_stripped():
    det = WedgeDetector(max_gap_ms=50, prefix="]Q1", suffix="#")
    _, t = feed(det, "]Q1FK:P:B1001#", 1.0, 0.002)
    assert det.enter(t).scan == "FK:P:B1001"


def test_layout_mismatch_is_recognised_for_german_and_french_layouts():
    de = layout_hint("FKÖJÖJ000123")
    assert de is not None and de.layout == "German (QWERTZ)" and de.meant == "FK:J:J000123"
    fr = layout_hint("FKMCMSTQRT")
    assert fr is not None and fr.layout == "French (AZERTY)" and fr.meant == "FK:C:START"
    fr_digits = layout_hint("FKMPMB&àà&")
    assert fr_digits is not None and fr_digits.meant == "FK:P:B1001"
    assert "nothing was changed" in fr.message()


def test_no_layout_hint_for_good_codes_or_plain_foreign_barcodes():
    assert layout_hint("FK:J:J000123") is None
    assert layout_hint("4006381333931") is None
    assert layout_hint("hello world") is None


async def test_app_fast_keys_log_in_slow_keys_do_not(workshop, clock):
    app = make_app(workshop(), "casting", clock=clock, devices="none")
    async with app.run_test(size=(100, 32)) as pilot:
        for ch in "FK:P:B1001":  # a person typing the badge code, 80 ms a key
            await pilot.press(ch)
            await pilot.pause(0.08)
        await pilot.pause(0.15)
        # not a scan: the keys are in the entry line, as typed, where Enter would read them
        assert app.person is None and isinstance(app.screen, IdleScreen)
        assert app.scans == [] and app.screen.query_one("#entry").value == "FK:P:B1001"
        await pilot.press("escape")  # cleared: nothing read
        await pilot.pause(0.15)
        assert app.screen.query_one("#entry").value == "" and app.person is None
        await scan(pilot, "FK:P:B1001")  # the same keys within microseconds, as a scanner types them
        assert app.person is not None and app.person.id == "ana"
        assert isinstance(app.screen, WorklistScreen)
        assert app.scans == [("scanner", "FK:P:B1001")]


async def test_app_scan_keys_never_reach_the_screen_bindings(workshop, jobs, clock):
    app = make_app(workshop(), "casting", clock=clock, devices="none")
    async with app.run_test(size=(100, 32)) as pilot:
        await scan(pilot, "FK:P:B1001")
        await scan(pilot, f"FK:J:{jobs.cast}")
        before = app.shop.journal.count()
        # "FK:C:HOLD" holds letters that are key bindings on the card (h: hold); as a scan it is one
        # command, whose hold dialog opens: nothing was typed into the card letter by letter
        for ch in "FK:C:HOLD":
            app.post_message(key_event(ch))
        from textual import events

        app.post_message(events.Key("enter", "\r"))
        await pilot.pause(0.1)
        from floorkiosk.kiosk.dialogs import PickDialog

        assert isinstance(app.screen, PickDialog)
        assert app.shop.journal.count() == before


async def test_app_uses_the_site_key_gap(workshop, clock):
    app = make_app(workshop(scan_max_key_gap_ms=1000), "casting", clock=clock, devices="none")
    async with app.run_test(size=(100, 32)) as pilot:
        for ch in "FK:P:B1001":
            await pilot.press(ch)
            await pilot.pause(0.1)  # slow for the default 50 ms, fast enough for this site's 1000 ms
        await pilot.press("enter")
        await pilot.pause(0.05)
        assert app.person is not None and app.person.id == "ana"


async def test_a_wedge_instrument_types_its_reading_into_a_focused_answer_field(workshop, clock):
    """A USB caliper types "2.35" and Enter as fast as a scanner: not our code, so it is an answer."""
    from textual.app import ComposeResult
    from textual.screen import Screen
    from textual.widgets import Input

    class Answer(Screen):
        def __init__(self) -> None:
            super().__init__()
            self.answers: list[str] = []

        def compose(self) -> ComposeResult:
            yield Input(id="answer")

        def on_mount(self) -> None:
            self.query_one(Input).focus()

        def on_input_submitted(self, event: Input.Submitted) -> None:
            self.answers.append(event.value)

    app = make_app(workshop(), "qc", clock=clock, devices="none")
    async with app.run_test(size=(100, 32)) as pilot:
        screen = Answer()
        await app.push_screen(screen)
        await scan(pilot, "2.35")
        await pilot.pause(0.05)
        assert screen.answers == ["2.35"]
        assert app.last_message == ("", "info")  # no "not a floorkiosk code" complaint
        app.pop_screen()
        await pilot.pause(0.05)
        await scan(pilot, "2.35")  # on the kiosk's own screens it is a foreign code
        assert "not a floorkiosk code" in app.last_message[0]
