"""A supervisor at the bench: what waits for them on the worklist (with its age, oldest first), "verify here"
on an artisan's card, and verifying a stage after seeing its photos and weights."""

from __future__ import annotations

import threading
from datetime import timedelta

from kiosk_helpers import NOW, scan, until, worklist_loaded

from scalereading import weigh as scale_weigh  # tests/ is on the path (pytest rootdir)
from floorkiosk.kiosk.app import make_app
from floorkiosk.kiosk.dialogs import BlockedScreen
from floorkiosk.kiosk.screens import JobCardScreen, WorklistScreen
from floorkiosk.kiosk.supervisor import SupervisorWork, VerifyDialog, age_words
from floorkiosk.workshop import verbs
from floorkiosk.workshop.judge import Override

SIZE = (100, 32)


def sup_rows(app) -> list[tuple[str, ...]]:
    """The supervisor's part of the worklist as shown: (waiting, what, job, stage, details) per row."""
    t = app.worklist_screen.query_one(SupervisorWork).table
    return [tuple(str(c) for c in t.get_row_at(i)) for i in range(t.row_count)]


def hold_at(app, clock, job: str, ago: timedelta, reason: str = "waiting for stones or findings") -> None:
    """Put a job on hold as Ben did `ago` before now (the kiosk's clock is then set back to now)."""
    now = clock.now
    clock.now = now - ago
    try:
        verbs.hold(app.shop, job, "ben", "setting", reason)
    finally:
        clock.now = now


async def shown(pilot) -> None:
    """The verify dialog is open, its photos drawn (or said to be absent) and its PIN line, if any, has the keys."""
    app = pilot.app
    await until(pilot, lambda: isinstance(app.screen, VerifyDialog) and app.screen.shown
                and (not app.screen.ask_pin or app.screen.focused is app.screen.query_one("#pin")))


def test_ages_read_as_a_person_says_them():
    assert age_words((NOW - timedelta(hours=3, minutes=12)).isoformat(), NOW) == "3 h 12 min"
    assert age_words((NOW - timedelta(days=2, hours=4, minutes=5)).isoformat(), NOW) == "2 d 4 h"
    assert age_words((NOW - timedelta(minutes=5)).isoformat(), NOW) == "5 min"
    assert age_words((NOW - timedelta(seconds=20)).isoformat().replace("+00:00", "Z"), NOW) == "just now"


# -- 7. finding the work ---------------------------------------------------------------------------

async def test_a_supervisors_worklist_shows_what_waits_for_a_supervisor_with_its_age_oldest_first(workshop, jobs,
                                                                                                clock):
    app = make_app(workshop(), "polishing", clock=clock, devices="none")  # any bench: not the QC station
    async with app.run_test(size=SIZE) as pilot:
        hold_at(app, clock, jobs.late, timedelta(hours=3, minutes=12))
        await scan(pilot, "FK:P:B2001")  # Eva, a supervisor
        await worklist_loaded(pilot)
        await until(pilot, lambda: len(sup_rows(app)) == 4)
        rows = sup_rows(app)
        # the two older holds were put at the same minute: by job number
        assert [(r[1], r[2]) for r in rows] == [("TO VERIFY", jobs.set_done), ("ON HOLD", jobs.held),
                                                 ("ON HOLD", jobs.batch_jobs[1]), ("ON HOLD", jobs.late)]
        assert rows[0][0] == "8 d 13 h" and rows[0][3] == "Stone setting"
        # not verifiable at the polishing bench: the row says where it is
        assert rows[0][4] == "finished by Ben Okafor; at QC station, Stone setting"
        assert rows[-1][0] == "3 h 12 min" and rows[-1][4] == "waiting for stones or findings (by Ben Okafor)"
        title = str(app.worklist_screen.query_one("#sup-title").render())
        assert title == "WAITING FOR A SUPERVISOR: 1 to verify · 3 on hold   oldest first"
        assert app.screen.focused is app.worklist_screen.query_one(SupervisorWork).table
        # Enter opens the highlighted row: the oldest, the stage to verify
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, JobCardScreen))
        assert app.screen.job_id == jobs.set_done
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, WorklistScreen))
        # down to the newest hold, and Enter opens that job's card
        await until(pilot, lambda: len(sup_rows(app)) == 4)
        await pilot.press("down", "down", "down")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, JobCardScreen) and app.screen.job_id == jobs.late)
        assert "ON HOLD" in str(app.screen.query_one("#status").render())


async def test_an_artisan_sees_no_supervisor_part_and_a_supervisor_never_the_stages_they_did(workshop, jobs, clock):
    app = make_app(workshop(), "setting", clock=clock, devices="none")
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "FK:P:B1002")  # Ben
        await worklist_loaded(pilot)
        assert not app.worklist_screen.query_one(SupervisorWork).display
        assert "WAITING FOR A SUPERVISOR" not in app.export_screenshot()
        # Eva sets the stones of the rush ring herself: its verification is another supervisor's
        shop = app.shop
        verbs.start(shop, jobs.set, "eva", "setting")
        scale_weigh(shop, jobs.set, "eva", "setting", "5.99", phase="in")
        scale_weigh(shop, jobs.set, "eva", "setting", "6.184", phase="out")
        sha = shop.job(jobs.set_done).stage("stone-setting").photos[0]
        verbs.attach_photo(shop, jobs.set, "eva", "setting", sha)
        verbs.finish(shop, jobs.set, "eva", "setting", checklist=shop.site.stages["stone-setting"].checklist)
        await scan(pilot, "FK:P:B2001")  # Eva
        await worklist_loaded(pilot)
        await until(pilot, lambda: app.worklist_screen.query_one(SupervisorWork).display and sup_rows(app))
        assert [r[2] for r in sup_rows(app) if r[1] == "TO VERIFY"] == [jobs.set_done]
        await scan(pilot, "FK:P:B2002")  # Farid: both are his to verify, the older first
        await worklist_loaded(pilot)
        await until(pilot, lambda: len([r for r in sup_rows(app) if r[1] == "TO VERIFY"]) == 2)
        assert [r[2] for r in sup_rows(app) if r[1] == "TO VERIFY"] == [jobs.set_done, jobs.set]
        assert sup_rows(app)[-1][4] == "finished by Eva Lindqvist"  # at the setting bench: verified here


async def test_a_supervisors_badge_on_an_artisans_card_offers_verify_here_and_the_artisan_stays(workshop, jobs,
                                                                                               clock):
    app = make_app(workshop(), "setting", clock=clock, devices="none")
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "FK:P:B1002")  # Ben, whose setting waits for a supervisor
        await scan(pilot, f"FK:J:{jobs.set_done}")
        assert isinstance(app.screen, JobCardScreen)
        await scan(pilot, "FK:P:B2001")  # Eva comes by and scans her badge on his card
        await shown(pilot)
        dialog = app.screen
        assert dialog.person.id == "eva" and dialog.here_for.id == "ben"
        assert app.person.id == "ben"  # nobody was logged out or in
        # CANCEL: back to Ben's card, nothing changed
        await scan(pilot, "FK:C:CANCEL")
        await until(pilot, lambda: isinstance(app.screen, JobCardScreen))
        assert app.last_message == ("Stone setting not verified; Ben Okafor is still logged in; nothing was changed",
                                    "warn")
        assert app.shop.job(jobs.set_done).stage("stone-setting").status == "done"
        # again, with her PIN: verified by Eva at this bench, Ben still at his card
        await scan(pilot, "FK:P:B2001")
        await shown(pilot)
        await pilot.press(*"2468", "enter")
        await until(pilot, lambda: app.shop.job(jobs.set_done).stage("stone-setting").status == "verified")
        st = app.shop.job(jobs.set_done).stage("stone-setting")
        assert st.verified_by == "eva"
        await until(pilot, lambda: isinstance(app.screen, JobCardScreen) and app.person.id == "ben")
        assert app.last_message == ("verified Stone setting (by Eva Lindqvist)", "ok")
        await until(pilot, lambda: "next: Polishing" in str(app.screen.query_one("#status").render()))


async def test_on_verify_here_the_supervisors_badge_again_logs_them_in_instead(workshop, jobs, clock):
    app = make_app(workshop(), "setting", clock=clock, devices="none")
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "FK:P:B1002")
        await scan(pilot, f"FK:J:{jobs.set_done}")
        await scan(pilot, "FK:P:B2001")
        await shown(pilot)
        await scan(pilot, "FK:P:B2001")  # her badge again: she logs in here instead, as a badge does
        await until(pilot, lambda: app.person.id == "eva" and isinstance(app.screen, WorklistScreen))
        assert app.shop.job(jobs.set_done).stage("stone-setting").status == "done"


async def test_an_artisans_badge_on_a_card_switches_as_ever_and_so_does_a_supervisors_with_nothing_to_verify(
        workshop, jobs, clock):
    app = make_app(workshop(), "setting", clock=clock, devices="none")
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "FK:P:B1002")
        await scan(pilot, f"FK:J:{jobs.set_done}")
        await scan(pilot, "FK:P:B1003")  # another artisan's badge: switches, as ever
        await until(pilot, lambda: app.person.id == "chloe" and isinstance(app.screen, WorklistScreen))
        # a supervisor's badge on a card with nothing to verify logs them in, as ever
        await scan(pilot, f"FK:J:{jobs.late}")
        await scan(pilot, "FK:P:B2002")
        await until(pilot, lambda: app.person.id == "farid" and isinstance(app.screen, WorklistScreen))


# -- 8. verify after seeing ------------------------------------------------------------------------

async def test_the_verify_dialog_shows_the_photos_and_weights_before_the_pin_is_taken(workshop, jobs, clock):
    app = make_app(workshop(), "qc", clock=clock, devices="none")
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "FK:P:B2001")
        await scan(pilot, f"FK:J:{jobs.set_done}")
        await scan(pilot, "FK:C:VERIFY")
        await until(pilot, lambda: isinstance(app.screen, VerifyDialog))
        dialog = app.screen
        weights = str(dialog.query_one("#verify-weights").render())
        assert "in 6.194 g" in weights and "out 6.394 g" in weights and "with 0.204 g" in weights and "loss 0.004 g" in weights
        assert "(0.06%), within 1.0%" in weights
        await shown(pilot)
        thumb = dialog.query_one("#verify-photo-0").render()
        assert "▀" in str(thumb)  # the photo itself, in half blocks
        assert "1 photo of Stone setting, 1 needed" in str(dialog.query_one("#verify-photo-note").render())
        assert app.shop.job(jobs.set_done).stage("stone-setting").status == "done"
        await scan(pilot, "FK:C:VERIFY")  # a scan is no PIN
        assert "type the PIN of Eva Lindqvist" in str(dialog.query_one("#dialog-msg").render())
        await pilot.press(*"2468", "enter")
        await until(pilot, lambda: app.shop.job(jobs.set_done).stage("stone-setting").status == "verified")


async def test_the_pin_is_taken_only_once_the_photos_are_on_screen(workshop, jobs, clock):
    app = make_app(workshop(), "qc", clock=clock, devices="none")
    drawing = threading.Event()
    photo_file = app.devices.photo_file

    def slow_photo_file(sha, thumb=True):  # a photo that takes a while to read (a slow disk, a big file)
        drawing.wait(30)
        return photo_file(sha, thumb)

    app.devices.photo_file = slow_photo_file
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "FK:P:B2001")
        await scan(pilot, f"FK:J:{jobs.set_done}")
        await scan(pilot, "FK:C:VERIFY")
        await until(pilot, lambda: isinstance(app.screen, VerifyDialog))
        dialog = app.screen
        await until(pilot, lambda: dialog.focused is dialog.query_one("#pin"))
        await pilot.press(*"2468", "enter")
        await until(pilot, lambda: "drawing the photos" in str(dialog.query_one("#dialog-msg").render()))
        assert app.screen is dialog and not dialog.shown
        assert app.shop.job(jobs.set_done).stage("stone-setting").status == "done"
        drawing.set()  # the photo is read: drawn, then verified
        await until(pilot, lambda: app.shop.job(jobs.set_done).stage("stone-setting").status == "verified")
        assert dialog.shown
        await until(pilot, lambda: isinstance(app.screen, JobCardScreen)
                    and app.screen.card.job.stage("stone-setting").status == "verified")


async def test_a_stage_without_the_photo_the_rules_need_is_said_so_and_verifying_it_is_blocked(workshop, jobs,
                                                                                              clock):
    app = make_app(workshop(), "qc", clock=clock, devices="none")
    async with app.run_test(size=SIZE) as pilot:
        shop = app.shop
        # the rush ring's setting finished without its photo, on Farid's override (the camera was down)
        verbs.start(shop, jobs.set, "ben", "setting")
        scale_weigh(shop, jobs.set, "ben", "setting", "5.99", phase="in")
        scale_weigh(shop, jobs.set, "ben", "setting", "6.184", phase="out")
        verbs.finish(shop, jobs.set, "ben", "setting", checklist=shop.site.stages["stone-setting"].checklist,
                     override=Override("farid", "DEVICE-DOWN", "1357"))
        await scan(pilot, "FK:P:B2001")
        await scan(pilot, f"FK:J:{jobs.set}")
        await scan(pilot, "FK:C:VERIFY")
        await shown(pilot)
        note = str(app.screen.query_one("#verify-photo-note").render())
        assert "NO PHOTO: THE RULES NEED 1 PHOTO OF STONE SETTING" in note
        assert "blocked until the evidence is recorded, or another supervisor overrides" in note
        await pilot.press(*"2468", "enter")
        await until(pilot, lambda: isinstance(app.screen, BlockedScreen))
        assert "needs 1 photo, has 0" in str(app.screen.query_one(".blocked-reasons").render())
        await scan(pilot, "FK:C:CANCEL")
        await until(pilot, lambda: isinstance(app.screen, JobCardScreen))
        assert shop.job(jobs.set).stage("stone-setting").status == "done"


async def test_without_site_pins_the_verify_dialog_verifies_on_accept(workshop, jobs, clock):
    app = make_app(workshop(supervisor_pin=False), "qc", clock=clock, devices="none")
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "FK:P:B2001")
        await scan(pilot, f"FK:J:{jobs.set_done}")
        await scan(pilot, "FK:C:VERIFY")
        await shown(pilot)
        assert not app.screen.query("#pin")
        await scan(pilot, "FK:C:ACCEPT")
        await until(pilot, lambda: app.shop.job(jobs.set_done).stage("stone-setting").status == "verified")


# -- screenshots -----------------------------------------------------------------------------------

SMALL = (80, 24)


def _supervisor_at_polishing(jobs, clock):
    async def run_before(pilot):
        hold_at(pilot.app, clock, jobs.late, timedelta(hours=3, minutes=12))
        await scan(pilot, "FK:P:B2001")
        await worklist_loaded(pilot)
        await until(pilot, lambda: len(sup_rows(pilot.app)) == 4)
        await pilot.pause(0.1)

    return run_before


def test_snapshot_supervisor_worklist(snap_compare, workshop, jobs, clock):
    """Eva at the polishing bench: what waits for a supervisor, with its age, above her polishing work."""
    app = make_app(workshop(), "polishing", clock=clock, devices="none")
    assert snap_compare(app, terminal_size=SIZE, run_before=_supervisor_at_polishing(jobs, clock))


def test_snapshot_supervisor_worklist_small(snap_compare, workshop, jobs, clock):
    app = make_app(workshop(), "polishing", clock=clock, devices="none")
    assert snap_compare(app, terminal_size=SMALL, run_before=_supervisor_at_polishing(jobs, clock))


def _verify_at_qc(jobs):
    async def run_before(pilot):
        await scan(pilot, "FK:P:B2001")
        await scan(pilot, f"FK:J:{jobs.set_done}")
        await scan(pilot, "FK:C:VERIFY")
        await shown(pilot)
        await pilot.pause(0.1)

    return run_before


def test_snapshot_verify_dialog(snap_compare, workshop, jobs, clock):
    """The verify dialog at 100x32: the setting's photo as large as the terminal allows, its weights, the PIN."""
    app = make_app(workshop(), "qc", clock=clock, devices="none")
    assert snap_compare(app, terminal_size=SIZE, run_before=_verify_at_qc(jobs))


def test_snapshot_verify_dialog_small(snap_compare, workshop, jobs, clock):
    app = make_app(workshop(), "qc", clock=clock, devices="none")
    assert snap_compare(app, terminal_size=SMALL, run_before=_verify_at_qc(jobs))


def test_snapshot_verify_here_on_an_artisans_card_small(snap_compare, workshop, jobs, clock):
    """Eva's badge on Ben's card at the setting bench, at 80x24: verify here, Ben staying logged in."""
    async def run_before(pilot):
        await scan(pilot, "FK:P:B1002")
        await scan(pilot, f"FK:J:{jobs.set_done}")
        await scan(pilot, "FK:P:B2001")
        await shown(pilot)
        await pilot.pause(0.1)

    app = make_app(workshop(), "setting", clock=clock, devices="none")
    assert snap_compare(app, terminal_size=SMALL, run_before=run_before)


def test_snapshot_verify_dialog_without_the_photo_the_rules_need(snap_compare, workshop, jobs, clock):
    async def run_before(pilot):
        shop = pilot.app.shop
        verbs.start(shop, jobs.set, "ben", "setting")
        scale_weigh(shop, jobs.set, "ben", "setting", "5.99", phase="in")
        scale_weigh(shop, jobs.set, "ben", "setting", "6.184", phase="out")
        verbs.finish(shop, jobs.set, "ben", "setting", checklist=shop.site.stages["stone-setting"].checklist,
                     override=Override("farid", "DEVICE-DOWN", "1357"))
        await scan(pilot, "FK:P:B2001")
        await scan(pilot, f"FK:J:{jobs.set}")
        await scan(pilot, "FK:C:VERIFY")
        await shown(pilot)
        await pilot.pause(0.1)

    app = make_app(workshop(), "qc", clock=clock, devices="none")
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


async def test_the_ages_move_on_with_the_clock(workshop, jobs, clock):
    app = make_app(workshop(), "setting", clock=clock, devices="none")
    async with app.run_test(size=SIZE) as pilot:
        hold_at(app, clock, jobs.late, timedelta(hours=3, minutes=12))
        await scan(pilot, "FK:P:B2001")
        await worklist_loaded(pilot)
        await until(pilot, lambda: len(sup_rows(app)) == 4 and sup_rows(app)[-1][0] == "3 h 12 min")
        before = app.shop.journal.count()
        clock.advance(minutes=50)
        app.worklist_screen.query_one(SupervisorWork).refresh_ages()  # as its timer does
        await until(pilot, lambda: sup_rows(app)[-1][0] == "4 h 2 min")
        assert app.shop.journal.count() == before
