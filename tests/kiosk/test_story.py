"""The whole story at the benches, driven as an artisan would: badge, job bag, command cards."""

from __future__ import annotations

from decimal import Decimal

from kiosk_helpers import scan, until, weigh, worklist_loaded
from keystrokes import pin_if_asked

from floorkiosk.workshop import verbs
from floorkiosk.domain import events as ev
from floorkiosk.kiosk.app import make_app
from floorkiosk.kiosk.dialogs import (
    BlockedScreen,
    ChecklistDialog,
    NoteDialog,
    PhotoDialog,
    PickDialog,
    PinDialog,
    WeighDialog,
)
from floorkiosk.kiosk.screens import (
    BatchScreen,
    IdleScreen,
    JobCardScreen,
    WorklistScreen,
)
from floorkiosk.kiosk.widgets import BlockedPanel

SIZE = (100, 32)


def events_of(app, job: str) -> list[ev.Event]:
    return list(app.shop.journal.events(job=job))


async def test_casting_bench_start_weigh_in_and_out_finish(workshop, jobs, clock):
    app = make_app(workshop(), "casting", clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, IdleScreen)
        await scan(pilot, "FK:P:B1001")
        assert app.person.id == "ana"
        assert isinstance(app.screen, WorklistScreen)
        await worklist_loaded(pilot)
        assert jobs.cast in str(app.screen.query_one("#worklist").get_row_at(0))
        # due date first; the held pieces (a batch piece, the pendant) are not offered
        assert [w.job for w in app.screen.items] == [jobs.cast, jobs.batch_jobs[0], jobs.batch_jobs[2]]
        await scan(pilot, f"FK:J:{jobs.cast}")
        assert isinstance(app.screen, JobCardScreen) and app.screen.job_id == jobs.cast

        await scan(pilot, "FK:C:START")
        # casting asks for a weigh-in right after the start: the dialog opens without another scan
        await until(pilot, lambda: isinstance(app.screen, WeighDialog))
        assert app.shop.job(jobs.cast).stage("casting").status == "in progress"
        await weigh(pilot, "12.48")
        await scan(pilot, "FK:C:ACCEPT")
        await until(pilot, lambda: isinstance(app.screen, JobCardScreen))
        assert Decimal(app.shop.job(jobs.cast).stage("casting").weight_in) == Decimal("12.48")

        # FINISH: the weigh-out is missing, so the finish first weighs the piece out
        await scan(pilot, "FK:C:FINISH")
        await until(pilot, lambda: isinstance(app.screen, WeighDialog))
        assert app.screen.phase == "out"
        await weigh(pilot, "12.30")
        assert "within the 3.0% tolerance" in str(app.screen.query_one("#weigh-loss").render())
        await scan(pilot, "FK:C:ACCEPT")
        await until(pilot, lambda: app.shop.job(jobs.cast).stage("casting").status == "done")
        st = app.shop.job(jobs.cast).stage("casting")
        assert (Decimal(st.weight_in), Decimal(st.weight_out), st.finished_by) == (Decimal("12.48"), Decimal("12.3"), "ana")
        assert app.shop.job(jobs.cast).hold is None
        assert "finished Casting" in app.last_message[0]


async def test_only_a_stable_reading_is_recorded_and_a_big_loss_holds_the_job(workshop, jobs, clock):
    app = make_app(workshop(), "casting", clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "FK:P:B1001")
        await scan(pilot, f"FK:J:{jobs.cast}")
        await scan(pilot, "FK:C:START")
        await until(pilot, lambda: isinstance(app.screen, WeighDialog))
        app.devices.sim.put("12.5")
        app.devices.sim.wobble()
        await until(pilot, lambda: app.scale_event is not None and hasattr(app.scale_event, "grams")
                    and not app.scale_event.stable)
        assert "MOVING" in str(app.screen.query_one("#weigh-sign").render())
        await scan(pilot, "FK:C:ACCEPT")
        assert isinstance(app.screen, WeighDialog), "a moving reading must not be recorded"
        assert "MOVING" in app.screen.query_one("#dialog-msg").render().plain
        assert app.shop.job(jobs.cast).stage("casting").weight_in is None
        await weigh(pilot, "12.5")
        assert "STABLE" in str(app.screen.query_one("#weigh-sign").render())
        await scan(pilot, "FK:C:ACCEPT")
        await until(pilot, lambda: app.shop.job(jobs.cast).stage("casting").weight_in is not None)
        assert Decimal(app.shop.job(jobs.cast).stage("casting").weight_in) == Decimal("12.5")

        await scan(pilot, "FK:C:WEIGH")
        await until(pilot, lambda: isinstance(app.screen, WeighDialog) and app.screen.phase == "out")
        await weigh(pilot, "11.9")  # 4.8% lost, tolerance 3%
        assert "BEYOND the 3.0% tolerance" in str(app.screen.query_one("#weigh-loss").render())
        await scan(pilot, "FK:C:ACCEPT")
        await until(pilot, lambda: app.shop.job(jobs.cast).hold is not None)
        held = app.shop.job(jobs.cast).hold
        assert held.auto and "beyond the 3.0% tolerance" in held.reason
        assert isinstance(app.screen, JobCardScreen)
        status = str(app.screen.query_one("#status").render())
        assert "ON HOLD" in status and "beyond the 3.0% tolerance" in status
        assert "ON HOLD" in app.last_message[0] and app.last_message[1] == "error"


async def test_setting_bench_start_photo_finish(workshop, jobs, clock):
    app = make_app(workshop(), "setting", clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "FK:P:B1002")
        await scan(pilot, f"FK:J:{jobs.set}")
        await scan(pilot, "FK:C:START")
        await until(pilot, lambda: isinstance(app.screen, WeighDialog))
        await weigh(pilot, "5.99")
        await scan(pilot, "FK:C:ACCEPT")
        await until(pilot, lambda: isinstance(app.screen, JobCardScreen))

        await scan(pilot, "FK:C:PHOTO")
        await until(pilot, lambda: isinstance(app.screen, PhotoDialog))
        await until(pilot, lambda: app.screen.jpeg is not None)  # captured by the camera worker
        await scan(pilot, "FK:C:ACCEPT")
        await until(pilot, lambda: len(app.shop.job(jobs.set).stage("stone-setting").photos) == 1)
        sha = app.shop.job(jobs.set).stage("stone-setting").photos[0]
        assert app.devices.photo_file(sha, thumb=False).read_bytes()[:2] == b"\xff\xd8"  # the JPEG is stored

        await scan(pilot, "FK:C:FINISH")  # weigh-out still missing: weighed first
        await until(pilot, lambda: isinstance(app.screen, WeighDialog))
        await weigh(pilot, "6.184")
        await scan(pilot, "FK:C:ACCEPT")
        await until(pilot, lambda: isinstance(app.screen, ChecklistDialog))
        for _ in range(3):  # stones tight, prongs even, stone count matches the bag
            await scan(pilot, "FK:C:ACCEPT")
        await until(pilot, lambda: app.shop.job(jobs.set).stage("stone-setting").status == "done")
        st = app.shop.job(jobs.set).stage("stone-setting")
        assert st.checklist == ["stones tight", "prongs even", "stone count matches the bag"]
        assert Decimal(st.weight_out) == Decimal("6.184") and st.finished_by == "ben"


async def test_cancel_on_the_checklist_finishes_nothing(workshop, jobs, clock):
    app = make_app(workshop(), "setting", clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "FK:P:B1002")
        await scan(pilot, f"FK:J:{jobs.set}")
        await scan(pilot, "FK:C:START")
        await until(pilot, lambda: isinstance(app.screen, WeighDialog))
        await weigh(pilot, "5.99")
        await scan(pilot, "FK:C:ACCEPT")
        await until(pilot, lambda: isinstance(app.screen, JobCardScreen))
        await scan(pilot, "FK:C:PHOTO")
        await until(pilot, lambda: isinstance(app.screen, PhotoDialog) and app.screen.jpeg is not None)
        await scan(pilot, "FK:C:ACCEPT")
        await until(pilot, lambda: isinstance(app.screen, JobCardScreen))
        await scan(pilot, "FK:C:FINISH")
        await until(pilot, lambda: isinstance(app.screen, WeighDialog))
        await weigh(pilot, "6.184")
        await scan(pilot, "FK:C:ACCEPT")
        await until(pilot, lambda: isinstance(app.screen, ChecklistDialog))
        await scan(pilot, "FK:C:ACCEPT")
        await scan(pilot, "FK:C:CANCEL")
        await until(pilot, lambda: isinstance(app.screen, JobCardScreen))
        assert app.shop.job(jobs.set).stage("stone-setting").status == "in progress"
        assert "cancelled" in app.last_message[0]


async def test_polishing_bench_is_blocked_with_its_reasons(workshop, jobs, clock):
    app = make_app(workshop(), "polishing", clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "FK:P:B1003")
        await scan(pilot, f"FK:J:{jobs.set_done}")
        card = app.screen
        assert isinstance(card, JobCardScreen)
        panel = card.query_one("#card-blocked", BlockedPanel)
        assert panel.display
        text = str(panel.query_one(".blocked-reasons").render())
        assert "Stone setting is complete but not verified" in text
        assert "a supervisor other than Ben Okafor verifies Stone setting with a photo" in text
        assert "B L O C K E D" in str(panel.query_one(".blocked-title").render())
        assert ("S", "Start Polishing") not in card.keys()

        before = app.shop.journal.count()
        await scan(pilot, "FK:C:START")
        assert isinstance(app.screen, BlockedScreen)
        reasons = str(app.screen.query_one(".blocked-reasons").render())
        assert "not verified" in reasons and "→" in reasons
        await scan(pilot, "FK:C:CANCEL")
        assert isinstance(app.screen, JobCardScreen)
        assert app.shop.journal.count() == before
        assert app.shop.job(jobs.set_done).stage("polishing").status == "todo"


async def test_qc_station_a_different_person_verifies_then_polishing_is_allowed(workshop, jobs, clock):
    site = workshop()
    app = make_app(site, "qc", clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        # Ben did the setting; he may not verify it (and has no supervisor role)
        await scan(pilot, "FK:P:B1002")
        await scan(pilot, f"FK:J:{jobs.set_done}")
        assert not app.screen.decisions["verify"].allowed
        await scan(pilot, "FK:C:VERIFY")
        assert isinstance(app.screen, BlockedScreen)
        reasons = str(app.screen.query_one(".blocked-reasons").render())
        assert "another person must verify it" in reasons
        await scan(pilot, "FK:C:CANCEL")
        assert app.shop.job(jobs.set_done).stage("stone-setting").status == "done"
        await scan(pilot, "FK:C:CANCEL")  # Ben leaves the card (on it, Eva's badge would offer to verify there)
        assert isinstance(app.screen, WorklistScreen)

        await scan(pilot, "FK:P:B2001")  # Eva, a supervisor who did not do the stage
        assert app.person.id == "eva"
        await scan(pilot, f"FK:J:{jobs.set_done}")
        assert app.screen.decisions["verify"].allowed
        assert ("V", "Verify Stone setting") in app.screen.keys()
        await scan(pilot, "FK:C:VERIFY")  # a verification asks for the verifier's PIN
        await until(pilot, lambda: isinstance(app.screen, PinDialog))
        assert app.shop.job(jobs.set_done).stage("stone-setting").status == "done"
        await pin_if_asked(pilot, "2468")
        await until(pilot, lambda: app.shop.job(jobs.set_done).stage("stone-setting").status == "verified")
        assert app.shop.job(jobs.set_done).stage("stone-setting").verified_by == "eva"

    app = make_app(site, "polishing", clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "FK:P:B1003")
        await scan(pilot, f"FK:J:{jobs.set_done}")
        assert not app.screen.query_one("#card-blocked").display
        assert ("S", "Start Polishing") in app.screen.keys()
        await scan(pilot, "FK:C:START")
        await until(pilot, lambda: app.shop.job(jobs.set_done).stage("polishing").status == "in progress")
        await until(pilot, lambda: isinstance(app.screen, WeighDialog))  # polishing weighs in at the start
        await scan(pilot, "FK:C:CANCEL")
        assert isinstance(app.screen, JobCardScreen)
        assert app.shop.job(jobs.set_done).stage("polishing").weight_in is None


async def test_supervisor_override_is_recorded_and_shown(workshop, jobs, clock):
    app = make_app(workshop(), "polishing", clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "FK:P:B1003")
        await scan(pilot, f"FK:J:{jobs.set_done}")
        await scan(pilot, "FK:C:START")
        assert isinstance(app.screen, BlockedScreen)
        await scan(pilot, "FK:P:B1002")  # Ben is no supervisor
        assert isinstance(app.screen, BlockedScreen)
        assert "not a supervisor" in app.screen.query_one("#dialog-msg").render().plain
        await scan(pilot, "FK:P:B2001")  # Eva: PIN asked
        assert isinstance(app.screen, PinDialog)
        await pilot.press(*"1111", "enter")
        await until(pilot, lambda: "wrong" in app.screen.query_one("#dialog-msg").render().plain)
        assert isinstance(app.screen, PinDialog)
        assert "wrong or missing PIN" in app.screen.query_one("#dialog-msg").render().plain
        assert app.shop.job(jobs.set_done).stage("polishing").status == "todo"
        await pilot.press(*"2468", "enter")
        await until(pilot, lambda: isinstance(app.screen, PickDialog))
        assert not any("2468" in text or "1111" in text for _, text in app.scans)  # a PIN is never kept
        await pilot.press("2")  # CHECKED-BY-EYE
        await until(pilot, lambda: app.shop.job(jobs.set_done).stage("polishing").status == "in progress")
        st = app.shop.job(jobs.set_done).stage("polishing")
        assert st.overridden == ["CHECKED-BY-EYE"] and st.started_by == "chloe"
        started = [e for e in events_of(app, jobs.set_done) if e.type == ev.STAGE_STARTED][-1]
        assert started.payload["override"]["by"] == "eva"
        assert "Stone setting is complete but not verified" in started.payload["override"]["reasons"]
        await scan(pilot, "FK:C:CANCEL")  # the weigh-in dialog opened after the start
        await until(pilot, lambda: isinstance(app.screen, JobCardScreen))
        overrides = app.screen.query_one("#overrides")
        assert overrides.display and "override by Eva Lindqvist: CHECKED-BY-EYE" in str(overrides.render())


async def test_a_batch_applies_to_each_piece_and_lists_the_failures(workshop, jobs, clock):
    app = make_app(workshop(), "casting", clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "FK:P:B1001")
        await scan(pilot, f"FK:B:{jobs.batch}")
        assert isinstance(app.screen, BatchScreen)
        await scan(pilot, "FK:C:START")
        res = app.screen.result
        ok, held = [jobs.batch_jobs[0], jobs.batch_jobs[2]], jobs.batch_jobs[1]
        assert res.done == ok
        assert [j for j, _ in res.failed] == [held]
        assert "on hold: client asked for a smaller size" in res.failed[0][1]
        for j in ok:
            assert app.shop.job(j).stage("tree-building").status == "in progress"
        assert app.shop.job(held).stage("tree-building").status == "todo"
        shown = str(app.screen.query_one("#batch-result").render())
        assert f"✗ {held}" in shown and "2 done, 1 failed" in shown


async def test_a_foreign_barcode_or_a_layout_mismatch_changes_nothing(workshop, clock):
    app = make_app(workshop(), "casting", clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        before = app.shop.journal.count()
        await scan(pilot, "4006381333931")  # an EAN from a supplier's box
        assert app.last_message[1] == "error" and "not a floorkiosk code" in app.last_message[0]
        assert "nothing was changed" in app.last_message[0]
        await scan(pilot, "FKÖPÖB1001")  # a US-layout scanner on a German keyboard layout
        assert "German (QWERTZ)" in app.last_message[0] and "'FK:P:B1001'" in app.last_message[0]
        await scan(pilot, "FK:P:NOBODY")
        assert "not known here" in app.last_message[0]
        assert app.person is None and isinstance(app.screen, IdleScreen)
        assert app.shop.journal.count() == before
        shown = app.screen.query_one("#message").render().plain
        assert "not known here" in shown


async def test_job_scan_before_the_badge_asks_for_the_badge(workshop, jobs, clock):
    app = make_app(workshop(), "casting", clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, f"FK:J:{jobs.cast}")
        assert isinstance(app.screen, IdleScreen)
        assert "scan your badge first" in app.last_message[0]
        await scan(pilot, "FK:J:J999999")
        await scan(pilot, "FK:P:B1001")
        await scan(pilot, "FK:J:J999999")
        assert "no job J999999" in app.last_message[0]


async def test_another_badge_switches_person_and_idle_logs_out(workshop, clock):
    app = make_app(workshop(idle_logout_seconds=1), "casting", clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "FK:P:B1001")
        await scan(pilot, "FK:P:B2002")
        assert app.person.id == "farid" and "switched from Ana Costa to Farid Haddad" in app.last_message[0]
        await until(pilot, lambda: app.person is None, timeout=4)
        assert isinstance(app.screen, IdleScreen)
        assert "Farid Haddad was logged out after 1 second" in app.last_message[0]
        outs = [e for e in app.shop.journal.events(types=[ev.PERSON_LOGGED_OUT])]
        assert [(e.person, e.payload.get("why")) for e in outs[-2:]] == [("ana", "switched"), ("farid", "idle")]


async def test_activity_keeps_the_person_logged_in(workshop, clock):
    app = make_app(workshop(idle_logout_seconds=2), "casting", clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "FK:P:B1001")
        for _ in range(4):
            await pilot.pause(0.7)
            await pilot.press("down")
        assert app.person is not None and app.person.id == "ana"


async def test_unplugged_scale_shows_and_the_screen_keeps_answering(workshop, jobs, clock):
    app = make_app(workshop(), "casting", clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.devices.cells["scale"].state == "ok")
        app.devices.sim.unplug()
        await until(pilot, lambda: app.devices.cells["scale"].state == "off")
        assert "disconnected" in app.devices.cells["scale"].text
        strip = app.screen.query_one("#strip").render().plain
        assert "✗ scale: disconnected" in strip
        await scan(pilot, "FK:P:B1001")
        await scan(pilot, f"FK:J:{jobs.cast}")
        assert isinstance(app.screen, JobCardScreen) and app.screen.job_id == jobs.cast
        app.devices.sim.replug()
        await until(pilot, lambda: app.devices.cells["scale"].state == "ok")


async def test_hold_with_a_reason_and_release_by_a_supervisor(workshop, jobs, clock):
    app = make_app(workshop(), "casting", clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "FK:P:B1001")
        await scan(pilot, f"FK:J:{jobs.cast}")
        await scan(pilot, "FK:C:HOLD")
        assert isinstance(app.screen, PickDialog)
        await pilot.press("3")  # damage found: a hold about the piece's quality
        await until(pilot, lambda: app.shop.job(jobs.cast).hold is not None)
        assert app.shop.job(jobs.cast).hold.reason == "damage or defect found at the bench"
        assert ("H", "Release (supervisor)") in app.screen.keys()
        await scan(pilot, "FK:C:HOLD")  # on hold: HOLD asks a supervisor to release it
        assert isinstance(app.screen, BlockedScreen)
        await scan(pilot, "FK:P:B2002")
        assert isinstance(app.screen, PinDialog)
        await pilot.press(*"1357", "enter")
        await until(pilot, lambda: isinstance(app.screen, NoteDialog))  # then what was checked
        await pilot.press("enter")  # no note: refused in plain words, still on hold
        assert "a note is needed" in app.screen.query_one("#dialog-msg").render().plain
        assert app.shop.job(jobs.cast).hold is not None
        await pilot.press(*"porosity polished out", "enter")
        await until(pilot, lambda: app.shop.job(jobs.cast).hold is None)
        released = [e for e in events_of(app, jobs.cast) if e.type == ev.JOB_RELEASED][-1]
        assert released.person == "farid" and released.payload["note"] == "porosity polished out"


async def test_an_artisan_releases_her_own_hold_while_waiting_but_not_a_quality_hold(workshop, jobs, clock):
    app = make_app(workshop(), "casting", clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "FK:P:B1001")  # Ana
        await scan(pilot, f"FK:J:{jobs.cast}")
        await scan(pilot, "FK:C:HOLD")
        await pilot.press("2")  # waiting for stones or findings: not about the piece's quality
        await until(pilot, lambda: app.shop.job(jobs.cast).hold is not None)
        assert not app.shop.job(jobs.cast).hold.quality
        assert "Ana Costa, who put it on hold, or a supervisor" in str(app.screen.query_one("#status").render())
        assert ("H", "Release hold") in app.screen.keys()
        await scan(pilot, "FK:C:HOLD")  # her own wait is over: she releases it, with a note, no supervisor
        await until(pilot, lambda: isinstance(app.screen, NoteDialog))
        await pilot.press(*"findings arrived", "enter")
        await until(pilot, lambda: app.shop.job(jobs.cast).hold is None)
        released = [e for e in events_of(app, jobs.cast) if e.type == ev.JOB_RELEASED][-1]
        assert released.person == "ana" and released.payload["note"] == "findings arrived"

        # a supervisor's quality hold (the test workshop's held piece, a client change by Eva) is not hers
        await scan(pilot, f"FK:J:{jobs.held}")
        assert ("H", "Release (supervisor)") in app.screen.keys()
        await scan(pilot, "FK:C:HOLD")
        assert isinstance(app.screen, BlockedScreen)
        await scan(pilot, "FK:C:CANCEL")
        assert app.shop.job(jobs.held).hold is not None


async def test_typed_code_in_the_entry_field_reads_like_a_scan(workshop, jobs, clock):
    app = make_app(workshop(), "casting", clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "FK:P:B1001")
        await pilot.press("slash")
        await pilot.pause(0.15)  # a key is held for the scanner's gap before it reaches the screen
        assert app.focused is app.screen.query_one("#entry")
        for ch in jobs.cast[-3:]:  # a damaged label: the person types the job number, slowly
            await pilot.press(ch)
            await pilot.pause(0.08)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, JobCardScreen))
        assert app.screen.job_id == jobs.cast
        assert app.scans[-1] == ("typed", jobs.cast[-3:])


async def test_supervisor_keys_and_qc_inspect_follow_the_installed_screens(workshop, jobs, clock):
    from floorkiosk.kiosk.screens import has_module

    app = make_app(workshop(), "qc", clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "FK:P:B1002")
        keys = app.screen.keys()
        assert ("B", "Board") not in keys and ("K", "KPIs") not in keys  # not for an artisan
        await scan(pilot, "FK:P:B2001")
        keys = app.screen.keys()
        assert (("B", "Board") in keys) == has_module("floorkiosk.kiosk.board")
        assert (("K", "KPIs") in keys) == has_module("floorkiosk.kiosk.kpi_screen")
        await scan(pilot, f"FK:J:{jobs.set_done}")
        assert (("Q", "Inspect") in app.screen.keys()) == has_module("floorkiosk.kiosk.qc_screen")


async def test_thumbnails_are_drawn_on_a_wide_screen(workshop, jobs, clock):
    app = make_app(workshop(), "qc", clock=clock, devices="none")
    async with app.run_test(size=(140, 40)) as pilot:
        await scan(pilot, "FK:P:B2001")
        await scan(pilot, f"FK:J:{jobs.set_done}")
        await until(pilot, lambda: "▀" in str(app.screen.query_one("#thumb-0").render()))
        photos = str(app.screen.query_one("#photos").render())
        assert app.shop.job(jobs.set_done).stage("stone-setting").photos[0][:10] in photos


async def test_reprinting_a_label_prints_in_a_worker_and_records_it(workshop, jobs, clock):
    site = workshop()
    app = make_app(site, "casting", clock=clock, devices=None)
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "FK:P:B1001")
        await scan(pilot, f"FK:J:{jobs.cast}")
        await pilot.press("l")
        await until(pilot, lambda: isinstance(app.screen, PickDialog))
        await pilot.press("2")  # label unreadable
        await until(pilot, lambda: "reprinted" in app.last_message[0])
        out = site / "labels-out" / "casting.zpl"
        assert out.read_bytes().startswith(b"^XA") and jobs.cast.encode() in out.read_bytes()
        reprints = [e for e in events_of(app, jobs.cast) if e.type == ev.LABEL_REPRINTED]
        assert [(e.person, e.payload["reason"]) for e in reprints] == [("ana", "label unreadable")]


async def test_a_label_on_a_bench_without_a_printer_is_refused_plainly(workshop, jobs, clock):
    app = make_app(workshop(), "setting", clock=clock, devices="none")
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "FK:P:B1002")
        await scan(pilot, f"FK:J:{jobs.set}")
        assert ("L", "Label") not in app.screen.keys()
        await pilot.press("l")
        await pilot.pause(0.15)
        assert "no printer" in app.last_message[0]
        assert not [e for e in events_of(app, jobs.set) if e.type == ev.LABEL_REPRINTED]


async def test_a_camera_giving_no_usable_picture_attaches_nothing(workshop, jobs, clock):
    site = workshop()
    bad = site / "demo-photos"
    for f in bad.glob("*.jpg"):
        f.write_bytes(b"\xff\xd8 not really a picture")  # a camera that hands over broken frames
    app = make_app(site, "setting", clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "FK:P:B1002")
        verbs.start(app.shop, jobs.set, "ben", "setting")
        await scan(pilot, f"FK:J:{jobs.set}")
        await scan(pilot, "FK:C:PHOTO")
        await until(pilot, lambda: isinstance(app.screen, PhotoDialog)
                    and "no picture" in app.screen.query_one("#dialog-msg").render().plain)
        assert "NO PICTURE" in str(app.screen.query_one("#photo-preview").render())
        await scan(pilot, "FK:C:ACCEPT")
        assert isinstance(app.screen, PhotoDialog)  # nothing to keep
        await scan(pilot, "FK:C:CANCEL")
        assert app.shop.job(jobs.set).stage("stone-setting").photos == []
        assert "nothing was attached" in app.last_message[0]


async def test_a_missing_camera_is_named_in_the_strip(workshop, clock):
    import shutil

    site = workshop()
    shutil.rmtree(site / "demo-photos")
    app = make_app(site, "setting", clock=clock)
    async with app.run_test(size=SIZE):
        assert app.devices.cells["camera"].text == "camera: not found"
        assert "✗ camera: not found" in app.screen.query_one("#strip").render().plain


async def test_a_scan_and_an_allowed_start_are_judged_once_each(workshop, jobs, clock, monkeypatch):
    """The card's actions are judged from the state it loaded; START is judged again only in its write."""
    from floorkiosk.workshop import judge

    judged: list[str] = []
    real = judge._judge

    def counting(shop, conn, state, action, person, bench):
        judged.append(action.kind)
        return real(shop, conn, state, action, person, bench)

    monkeypatch.setattr(judge, "_judge", counting)
    app = make_app(workshop(), "casting", clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "FK:P:B1001")
        await worklist_loaded(pilot)
        judged.clear()
        await scan(pilot, f"FK:J:{jobs.cast}")
        assert isinstance(app.screen, JobCardScreen)
        assert sorted(judged) == sorted(judge.CARD_ACTIONS)  # each card action once, from one state
        judged.clear()
        await scan(pilot, "FK:C:START")
        await until(pilot, lambda: isinstance(app.screen, WeighDialog))
        # the start in its transaction, then the card shown anew (its actions judged once more, from
        # the new state); the weigh-in the dialog asks for is the card's own decision
        assert judged.count("start") == 2 and judged[0] == "start"
        assert len(judged) == 1 + len(judge.CARD_ACTIONS)


async def test_a_supervisor_cannot_lift_a_block_on_her_own_action_at_the_kiosk(workshop, jobs, clock):
    app = make_app(workshop(), "polishing", clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "FK:P:B2001")  # Eva, a supervisor who polishes
        await scan(pilot, f"FK:J:{jobs.set_done}")
        await scan(pilot, "FK:C:START")  # stone setting is not verified
        assert isinstance(app.screen, BlockedScreen)
        await scan(pilot, "FK:P:B2001")  # her own badge
        assert isinstance(app.screen, BlockedScreen)
        assert "cannot override a block on their own action" in app.screen.query_one("#dialog-msg").render().plain
        assert app.shop.job(jobs.set_done).stage("polishing").status == "todo"
        await scan(pilot, "FK:P:B2002")  # Farid
        assert isinstance(app.screen, PinDialog)
        await pilot.press(*"1357", "enter")
        await until(pilot, lambda: isinstance(app.screen, PickDialog))
        await pilot.press("2")
        await until(pilot, lambda: app.shop.job(jobs.set_done).stage("polishing").status == "in progress")
        started = [e for e in events_of(app, jobs.set_done) if e.type == ev.STAGE_STARTED][-1]
        assert started.person == "eva" and started.payload["override"]["by"] == "farid"


async def test_five_wrong_pins_lock_the_pin_and_the_screen_says_so(workshop, jobs, clock):
    app = make_app(workshop(), "qc", clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "FK:P:B2001")  # Eva
        await scan(pilot, f"FK:J:{jobs.set_done}")
        for attempt in range(2):
            await scan(pilot, "FK:C:VERIFY")
            await until(pilot, lambda: isinstance(app.screen, PinDialog))
            for _ in range(3 if attempt == 0 else 2):
                await pilot.press(*"0000", "enter")
                await until(pilot, lambda: not isinstance(app.screen, PinDialog)
                            or "wrong" in app.screen.query_one("#dialog-msg").render().plain)
            if attempt == 0:
                await until(pilot, lambda: isinstance(app.screen, JobCardScreen))
                assert "three wrong PINs, nothing was changed" in app.last_message[0]
        # the fifth wrong PIN: the right one is refused now, for five minutes, in plain words
        await pilot.press(*"2468", "enter")
        await until(pilot, lambda: isinstance(app.screen, JobCardScreen))
        assert app.last_message == ("5 wrong PINs for Eva Lindqvist: the PIN is refused for 5 more minutes; "
                                    "nothing was changed", "error")
        assert app.shop.job(jobs.set_done).stage("stone-setting").status == "done"
        refused = [e for e in app.shop.journal.events(types=[ev.PIN_REFUSED])]
        assert len(refused) == 5 and {e.person for e in refused} == {"eva"} and {e.bench for e in refused} == {"qc"}


async def test_the_card_says_which_stages_a_rework_reopened_and_why(workshop, jobs, clock):
    site = workshop()
    app = make_app(site, "qc", clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        # Eva verifies Ben's setting; then a defect found at QC sends the piece back to cleanup
        verbs.verify(app.shop, jobs.set_done, "eva", "qc", pin="2468")
        verbs.reject(app.shop, jobs.set_done, "farid", "qc", stage="stone-setting", defect="POROSITY", redo="cleanup")
        await scan(pilot, "FK:P:B1001")  # Ana, at the QC station's kiosk, looks at the card
        await scan(pilot, f"FK:J:{jobs.set_done}")
        assert isinstance(app.screen, JobCardScreen)
        await until(pilot, lambda: app.screen.query_one("#reopened").display)
        text = str(app.screen.query_one("#reopened").render())
        assert "↺ reopened: Stone setting (Cleanup was sent back)" in text


async def test_after_success_the_card_says_where_the_piece_goes_not_blocked(workshop, jobs, clock):
    site = workshop()
    app = make_app(site, "setting", clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        # Ben's setting is finished and waits for a supervisor: scanning it here says so, calmly
        await scan(pilot, "FK:P:B1002")
        await scan(pilot, f"FK:J:{jobs.set_done}")
        assert isinstance(app.screen, JobCardScreen)
        assert not app.screen.query_one("#card-blocked").display
        status = str(app.screen.query_one("#status").render())
        assert "Stone setting finished; waiting for a supervisor to verify it (QC station)" in status
    app = make_app(site, "casting", clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "FK:P:B1001")
        await scan(pilot, f"FK:J:{jobs.cast}")
        await scan(pilot, "FK:C:START")
        await until(pilot, lambda: isinstance(app.screen, WeighDialog))
        await weigh(pilot, "12.48")
        await scan(pilot, "FK:C:ACCEPT")
        await until(pilot, lambda: isinstance(app.screen, JobCardScreen))
        await scan(pilot, "FK:C:FINISH")
        await until(pilot, lambda: isinstance(app.screen, WeighDialog))
        await weigh(pilot, "12.30")
        await scan(pilot, "FK:C:ACCEPT")  # casting has no checklist: finished with its weigh-out
        await until(pilot, lambda: app.shop.job(jobs.cast).stage("casting").status == "done")
        await until(pilot, lambda: isinstance(app.screen, JobCardScreen) and app.screen.card.job.stage("casting").complete)
        assert "Casting done; next: Cleanup at" in str(app.screen.query_one("#status").render())
        assert not app.screen.query_one("#card-blocked").display
        assert "BLOCKED" not in str(app.screen.query_one("#status").render())


async def test_the_card_counts_its_checks_in_words(workshop, clock):
    app = make_app(workshop(), "design", clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        shop = app.shop
        j = verbs.create_job(shop, route="custom-ring", design="Signet", alloy="18KY", due="2026-04-30")
        verbs.start(shop, j, "dev", "design", "consultation")
        verbs.finish(shop, j, "dev", "design", "consultation", checklist=shop.site.stages["consultation"].checklist)
        verbs.start(shop, j, "dev", "design", "cad-approval")  # one item on its checklist
        await scan(pilot, "FK:P:B1004")
        await scan(pilot, f"FK:J:{j}")
        status = str(app.screen.query_one("#status").render())
        assert "confirm 1 check at finish (F)" in status and "1 checks" not in status


async def test_leaving_the_bench_own_badge_logs_out_and_esc_asks_first(workshop, clock):
    app = make_app(workshop(), "setting", clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "FK:P:B1002")
        await worklist_loaded(pilot)
        # Esc once on the worklist says how to leave, and leaves nobody logged out
        await pilot.press("escape")
        await until(pilot, lambda: "Esc or CANCEL again logs Ben Okafor out" in app.last_message[0])
        assert isinstance(app.screen, WorklistScreen) and app.person.id == "ben"
        await scan(pilot, "FK:C:CANCEL")  # a second time: logged out
        await until(pilot, lambda: isinstance(app.screen, IdleScreen))
        assert app.person is None
        # one's own badge again, from the card: logged out too
        await scan(pilot, "FK:P:B1002")
        await worklist_loaded(pilot)
        await scan(pilot, "FK:P:B1002")
        await until(pilot, lambda: isinstance(app.screen, IdleScreen))
        assert app.person is None and app.last_message[0] == "Ben Okafor logged out (badge scanned again)"
        outs = [e for e in app.shop.journal.events(types=[ev.PERSON_LOGGED_OUT])]
        assert [e.payload.get("why") for e in outs] == ["logout", "logout"]


async def test_a_rejection_offers_its_stages_defects_and_the_tenth_is_reached_by_number_and_by_scan(workshop, jobs, clock):
    from scalereading import weigh as scale_weigh

    app = make_app(workshop(), "qc", clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        shop = app.shop
        verbs.verify(shop, jobs.set_done, "farid", "qc", pin="1357")
        verbs.start(shop, jobs.set_done, "chloe", "polishing")
        scale_weigh(shop, jobs.set_done, "chloe", "polishing", "6.180", phase="in")
        scale_weigh(shop, jobs.set_done, "chloe", "polishing", "6.170", phase="out")
        verbs.finish(shop, jobs.set_done, "chloe", "polishing", checklist=["finish as specified"])
        await scan(pilot, "FK:P:B2001")
        await scan(pilot, f"FK:J:{jobs.set_done}")
        await scan(pilot, "FK:C:REJECT")
        assert isinstance(app.screen, PickDialog)
        codes = [c for c, _ in app.screen.options]
        assert len(codes) == 11 and codes[0] == "SCRATCH"  # polishing's own first
        assert "PLATING-THIN" not in codes  # this route has no plating
        await pilot.press("1")  # of eleven: waits for a second digit
        assert isinstance(app.screen, PickDialog) and app.screen.index == 0
        await pilot.press("0")
        await until(pilot, lambda: isinstance(app.screen, PickDialog) and "which stage is redone" in app.screen.title_text)
        assert app.screen.options[0][0] == "cleanup"  # the 10th, THIN-SHANK, is usually redone at Cleanup
        await scan(pilot, "FK:C:CANCEL")
        assert app.shop.job(jobs.set_done).stage("polishing").status == "done"

        await scan(pilot, "FK:C:REJECT")
        await scan(pilot, "thin-shank")  # the code read from a defect card
        await until(pilot, lambda: "which stage is redone" in getattr(app.screen, "title_text", ""))
        await scan(pilot, "FK:C:ACCEPT")  # the stage that usually redoes it is proposed first: Cleanup
        await until(pilot, lambda: app.shop.job(jobs.set_done).stage("cleanup").status == "rework")
        rejected = [e for e in events_of(app, jobs.set_done) if e.type == ev.STAGE_REJECTED][-1]
        assert rejected.payload["defect"] == "THIN-SHANK" and rejected.payload["redo"] == "cleanup"
