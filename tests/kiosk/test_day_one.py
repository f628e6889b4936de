"""Day one at the bench: typing by hand, leaving the bench and quitting, and screens that follow the journal."""

from __future__ import annotations

from kiosk_helpers import scan, until, weigh, worklist_loaded

from floorkiosk.domain import events as ev
from floorkiosk.kiosk.app import make_app
from floorkiosk.kiosk.dialogs import BlockedScreen, PinDialog, WeighDialog
from floorkiosk.kiosk.screens import IdleScreen, JobCardScreen, WorklistScreen
from floorkiosk.workshop import verbs
from floorkiosk.workshop.site import open_shop

SIZE = (100, 32)


def logouts(app) -> list[tuple[str, str]]:
    return [(e.person, e.payload.get("why", "")) for e in app.shop.journal.events(types=[ev.PERSON_LOGGED_OUT])]


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
