"""Day one at the bench: typing by hand, leaving the bench and quitting, and screens that follow the journal."""

from __future__ import annotations

import pytest
from kiosk_helpers import scan, until, weigh, worklist_loaded

from floorkiosk.domain import events as ev
from floorkiosk.kiosk.app import make_app
from floorkiosk.kiosk.dialogs import BlockedScreen, PinDialog, WeighDialog
from floorkiosk.kiosk.screens import IdleScreen, JobCardScreen, WorklistScreen
from floorkiosk.workshop import verbs
from floorkiosk.workshop.site import open_shop

SIZE = (100, 32)


async def type_slowly(pilot, text: str) -> None:
    """A person typing: each key well after the scanner's gap, so none of them reads as a scan."""
    for ch in text:
        await pilot.press(ch)
        await pilot.pause(0.08)


def entry_text(app) -> str:
    return app.screen.query_one("#entry").value


def logouts(app) -> list[tuple[str, str]]:
    return [(e.person, e.payload.get("why", "")) for e in app.shop.journal.events(types=[ev.PERSON_LOGGED_OUT])]


# -- typing by hand --------------------------------------------------------------------------------------

@pytest.mark.parametrize("typed", ["{n}", "j{n}", "{J}", "fk:j:{J}", "FK:J:j{n}"])
async def test_a_job_number_typed_slowly_on_the_worklist_opens_that_job_not_the_top_row(workshop, jobs, clock, typed):
    app = make_app(workshop(), "setting", clock=clock, devices="none")
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "FK:P:B1002")
        await worklist_loaded(pilot)
        assert app.worklist_screen.items[0].job == jobs.set != jobs.late  # the top row, a RUSH job
        text = typed.format(n=int(jobs.late[1:]), J=jobs.late)
        await type_slowly(pilot, text)
        await until(pilot, lambda: entry_text(app) == text)  # every key in the one entry line, as typed
        assert isinstance(app.screen, WorklistScreen)
        assert text in app.export_screenshot()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, JobCardScreen))
        assert app.screen.job_id == jobs.late
        assert app.scans[-1] == ("typed", text)


async def test_a_code_typed_slowly_on_a_card_opens_it_and_never_runs_the_cards_keys(workshop, jobs, clock):
    app = make_app(workshop(), "setting", clock=clock, devices="none")
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "FK:P:B1002")
        await scan(pilot, f"FK:J:{jobs.set}")
        before = app.shop.journal.count()
        await type_slowly(pilot, f"fk:j:j{int(jobs.late[1:])}")  # f is Finish, h Hold, … on this card
        assert isinstance(app.screen, JobCardScreen) and app.screen.job_id == jobs.set
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, JobCardScreen) and app.screen.job_id == jobs.late)
        assert app.shop.journal.count() == before
        # what names nothing says so, and opens nothing
        await type_slowly(pilot, "zz9")
        await pilot.press("enter")
        await until(pilot, lambda: "not a floorkiosk code: read 'zz9'" in app.last_message[0])
        assert app.screen.job_id == jobs.late and entry_text(app) == ""
        await type_slowly(pilot, "j999999")
        await pilot.press("enter")
        await until(pilot, lambda: "no job J999999" in app.last_message[0])
        assert app.screen.job_id == jobs.late and app.shop.journal.count() == before


async def test_on_the_worklist_a_typed_line_is_not_a_row_and_an_emptied_one_gives_enter_back(workshop, jobs, clock):
    app = make_app(workshop(), "setting", clock=clock, devices="none")
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "FK:P:B1002")
        await worklist_loaded(pilot)
        await type_slowly(pilot, "57")
        await pilot.press("enter")
        await until(pilot, lambda: "no job J000057" in app.last_message[0])
        assert isinstance(app.screen, WorklistScreen)  # not the top row's card
        await type_slowly(pilot, "x")
        await pilot.press("backspace")
        await until(pilot, lambda: entry_text(app) == "" and app.focused is app.screen.query_one("#worklist"))
        await pilot.press("enter")  # an empty entry line: Enter opens the highlighted row, as before
        await until(pilot, lambda: isinstance(app.screen, JobCardScreen))
        assert app.screen.job_id == jobs.set


async def test_shortcuts_act_on_an_empty_entry_in_either_case_and_f_waits_for_enter(workshop, jobs, clock):
    app = make_app(workshop(), "casting", clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "FK:P:B1001")
        await scan(pilot, f"FK:J:{jobs.cast}")
        await pilot.press("S")  # upper case: Start, as s is
        await until(pilot, lambda: isinstance(app.screen, WeighDialog))
        assert app.shop.job(jobs.cast).stage("casting").status == "in progress"
        await weigh(pilot, "12.48")
        await scan(pilot, "FK:C:ACCEPT")
        await until(pilot, lambda: isinstance(app.screen, JobCardScreen))
        await pilot.press("F")  # the first letter of every printed code: it waits for Enter
        await until(pilot, lambda: entry_text(app) == "F")
        await until(pilot, lambda: "F: Enter for Finish Casting, or type on for a code" in app.last_message[0])
        assert isinstance(app.screen, JobCardScreen)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, WeighDialog) and app.screen.phase == "out")
        await scan(pilot, "FK:C:CANCEL")
        await until(pilot, lambda: isinstance(app.screen, JobCardScreen))
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, WorklistScreen))
        await pilot.pause(0.1)
        await pilot.press("L")  # upper case on the worklist: log out
        await until(pilot, lambda: isinstance(app.screen, IdleScreen))


async def test_a_badge_typed_by_hand_in_lower_case_logs_in(workshop, clock):
    app = make_app(workshop(), "setting", clock=clock, devices="none")
    async with app.run_test(size=SIZE) as pilot:
        await type_slowly(pilot, "fk:p:b1002")
        await pilot.press("enter")
        await until(pilot, lambda: app.person is not None)
        assert app.person.id == "ben" and isinstance(app.screen, WorklistScreen)


# -- leaving the bench and quitting the kiosk ----------------------------------------------------------

async def test_the_logout_card_logs_out_from_the_worklist_and_the_card_and_waits_for_a_dialog(workshop, jobs, clock):
    app = make_app(workshop(), "casting", clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "FK:C:LOGOUT")  # nobody here yet: said, nothing recorded
        assert isinstance(app.screen, IdleScreen)
        assert app.last_message[0] == "LOGOUT: nobody is logged in at this bench"
        await scan(pilot, "FK:P:B1001")
        await worklist_loaded(pilot)
        await scan(pilot, "FK:C:LOGOUT")  # from the worklist: at once, no second scan asked
        await until(pilot, lambda: isinstance(app.screen, IdleScreen))
        assert app.person is None and app.last_message[0] == "Ana Costa logged out (LOGOUT card)"

        await scan(pilot, "FK:P:B1001")
        await scan(pilot, f"FK:J:{jobs.cast}")
        await scan(pilot, "FK:C:START")
        await until(pilot, lambda: isinstance(app.screen, WeighDialog))
        await scan(pilot, "FK:C:LOGOUT")  # a weigh-in is half done: the dialog asks to finish it first
        assert isinstance(app.screen, WeighDialog) and app.person.id == "ana"
        assert "finish here first" in app.screen.query_one("#dialog-msg").render().plain
        await weigh(pilot, "12.48")
        await scan(pilot, "FK:C:ACCEPT")
        await until(pilot, lambda: isinstance(app.screen, JobCardScreen))
        await scan(pilot, "FK:C:LOGOUT")  # from the card
        await until(pilot, lambda: isinstance(app.screen, IdleScreen))
        assert app.person is None
        assert logouts(app) == [("ana", "logout"), ("ana", "logout")]
        assert app.shop.job(jobs.cast).stage("casting").weight_in is not None  # what was accepted stays


async def test_ctrl_q_is_refused_to_an_artisan_and_to_nobody(workshop, clock):
    app = make_app(workshop(), "setting", clock=clock, devices="none")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+q")
        await pilot.pause(0.1)
        assert app.is_running and isinstance(app.screen, IdleScreen)
        assert "for a supervisor only" in app.last_message[0]
        await scan(pilot, "FK:P:B1002")  # Ben, an artisan
        await worklist_loaded(pilot)
        app.station.last_message = ("", "info")
        await pilot.press("ctrl+q")
        await until(pilot, lambda: "for a supervisor only" in app.last_message[0])
        assert "for a supervisor only" in app.screen.query_one("#message").render().plain
        assert app.is_running and isinstance(app.screen, WorklistScreen) and app.person.id == "ben"
        assert not isinstance(app.screen, PinDialog)
        assert logouts(app) == []


async def test_ctrl_q_quits_after_a_supervisors_badge_and_pin(workshop, clock):
    site = workshop()
    app = make_app(site, "qc", clock=clock, devices="none")
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "FK:P:B2001")  # Eva, a supervisor
        await worklist_loaded(pilot)
        await pilot.press("ctrl+q")
        await until(pilot, lambda: isinstance(app.screen, PinDialog))
        await pilot.press(*"1111", "enter")  # a wrong PIN: still running
        await until(pilot, lambda: "wrong" in app.screen.query_one("#dialog-msg").render().plain)
        assert app.is_running and isinstance(app.screen, PinDialog)
        await pilot.press("escape")  # no PIN given: the kiosk stays
        await until(pilot, lambda: isinstance(app.screen, WorklistScreen))
        assert app.is_running
        await pilot.press("ctrl+q")
        await until(pilot, lambda: isinstance(app.screen, PinDialog))
        await pilot.press(*"2468", "enter")
        await until(pilot, lambda: not app.is_running or app._exit)
    assert app.return_code == 0
    shop = open_shop(site)
    try:
        assert [(e.person, e.payload.get("why")) for e in shop.journal.events(types=[ev.PERSON_LOGGED_OUT])] \
            == [("eva", "quit")]
    finally:
        shop.close()


# -- screens that follow the journal ---------------------------------------------------------------------

async def test_an_open_card_follows_a_verify_at_another_bench(workshop, jobs, clock):
    site = workshop()
    app = make_app(site, "polishing", clock=clock, devices="none")
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "FK:P:B1003")  # Chloe at polishing: the setting is not verified yet
        await scan(pilot, f"FK:J:{jobs.set_done}")
        assert app.screen.query_one("#card-blocked").display
        other = open_shop(site, clock=clock)  # the QC station: another process on the same site
        try:
            verbs.verify(other, jobs.set_done, "eva", "qc", pin="2468")
        finally:
            other.close()
        await until(pilot, lambda: not app.screen.query_one("#card-blocked").display)  # no scan, no key
        assert isinstance(app.screen, JobCardScreen)
        assert ("S", "Start Polishing") in app.screen.keys()
        assert "✓✓ Stone setting" in str(app.screen.query_one("#route").render())


async def test_the_worklist_follows_a_hold_put_at_another_bench(workshop, jobs, clock):
    site = workshop()
    app = make_app(site, "casting", clock=clock, devices="none")
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "FK:P:B1001")
        await worklist_loaded(pilot)
        assert jobs.cast in [w.job for w in app.worklist_screen.items]
        other = open_shop(site, clock=clock)
        try:
            verbs.hold(other, jobs.cast, "eva", "qc", "client change request")
        finally:
            other.close()
        await until(pilot, lambda: jobs.cast not in [w.job for w in app.worklist_screen.items])
        await until(pilot, lambda: jobs.cast not in app.export_screenshot())


async def test_the_header_clock_ticks_while_a_dialog_is_open(workshop, jobs, clock):
    app = make_app(workshop(), "polishing", clock=clock, devices="none")
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "FK:P:B1003")
        await scan(pilot, f"FK:J:{jobs.set_done}")
        await scan(pilot, "FK:C:START")  # blocked: the BLOCKED dialog covers the card
        assert isinstance(app.screen, BlockedScreen)
        shown = lambda: str(app.card_screen.query_one("#clock").render())  # noqa: E731
        before = shown()
        clock.advance(minutes=7)
        await until(pilot, lambda: shown() != before)
        assert shown() == app.station.now().strftime("%a %d %b %H:%M:%S")
        assert isinstance(app.screen, BlockedScreen)


async def test_a_batch_code_typed_on_a_batch_screen_finishes_nothing(workshop, jobs, clock):
    app = make_app(workshop(), "casting", clock=clock, devices="none")
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "FK:P:B1001")
        await scan(pilot, f"FK:B:{jobs.batch}")
        before = app.shop.journal.count()
        await type_slowly(pilot, f"fk:b:{jobs.batch.lower()}")  # f is Finish all here, s Start all
        await pilot.press("enter")
        await until(pilot, lambda: app.scans[-1] == ("typed", f"fk:b:{jobs.batch.lower()}"))
        await until(pilot, lambda: type(app.screen).__name__ == "BatchScreen" and app.screen.batch_id == jobs.batch)
        assert app.shop.journal.count() == before and app.screen.result is None
