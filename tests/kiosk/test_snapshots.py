"""Screenshots of every kiosk screen at fixed sizes, with a fixed clock and fixed workshop data.

Update after an intended change with: pytest tests/kiosk/test_snapshots.py --snapshot-update
"""

from __future__ import annotations

from kiosk_helpers import scan, until, weigh, worklist_loaded

from scalereading import weigh as scale_weigh  # tests/ is on the path (pytest rootdir)
from floorkiosk.workshop import verbs
from floorkiosk.kiosk.app import make_app

BIG = (100, 32)
SMALL = (80, 24)


def app_at(workshop, clock, bench: str, devices: str | None = "none"):
    return make_app(workshop(), bench, clock=clock, devices=devices)


def test_idle(snap_compare, workshop, clock):
    assert snap_compare(app_at(workshop, clock, "setting"), terminal_size=BIG)


def test_idle_small(snap_compare, workshop, clock):
    assert snap_compare(app_at(workshop, clock, "setting"), terminal_size=SMALL)


def test_worklist(snap_compare, workshop, clock):
    async def run_before(pilot):
        await scan(pilot, "FK:P:B1002")
        await worklist_loaded(pilot)

    assert snap_compare(app_at(workshop, clock, "setting"), terminal_size=BIG, run_before=run_before)


def test_job_card(snap_compare, workshop, jobs, clock):
    async def run_before(pilot):
        await scan(pilot, "FK:P:B1002")
        await scan(pilot, f"FK:J:{jobs.set}")

    assert snap_compare(app_at(workshop, clock, "setting"), terminal_size=BIG, run_before=run_before)


def test_job_card_of_work_done_here_is_calm(snap_compare, workshop, jobs, clock):
    """Ben's finished setting, waiting for a supervisor: no red BLOCKED box, but where the piece goes."""
    async def run_before(pilot):
        await scan(pilot, "FK:P:B1002")
        await scan(pilot, f"FK:J:{jobs.set_done}")
        await until(pilot, lambda: "waiting for a supervisor" in str(pilot.app.screen.query_one("#status").render()))

    assert snap_compare(app_at(workshop, clock, "setting"), terminal_size=BIG, run_before=run_before)


def test_job_card_small(snap_compare, workshop, jobs, clock):
    async def run_before(pilot):
        await scan(pilot, "FK:P:B1002")
        await scan(pilot, f"FK:J:{jobs.late}")

    assert snap_compare(app_at(workshop, clock, "setting"), terminal_size=SMALL, run_before=run_before)


def test_job_card_blocked(snap_compare, workshop, jobs, clock):
    async def run_before(pilot):
        await scan(pilot, "FK:P:B1003")
        await scan(pilot, f"FK:J:{jobs.set_done}")

    assert snap_compare(app_at(workshop, clock, "polishing"), terminal_size=BIG, run_before=run_before)


def test_job_card_on_hold(snap_compare, workshop, jobs, clock):
    async def run_before(pilot):
        await scan(pilot, "FK:P:B1001")
        await scan(pilot, f"FK:J:{jobs.held}")

    assert snap_compare(app_at(workshop, clock, "casting"), terminal_size=BIG, run_before=run_before)


def test_blocked_dialog(snap_compare, workshop, jobs, clock):
    async def run_before(pilot):
        await scan(pilot, "FK:P:B1003")
        await scan(pilot, f"FK:J:{jobs.set_done}")
        await scan(pilot, "FK:C:START")

    assert snap_compare(app_at(workshop, clock, "polishing"), terminal_size=BIG, run_before=run_before)


def test_blocked_dialog_small(snap_compare, workshop, jobs, clock):
    async def run_before(pilot):
        await scan(pilot, "FK:P:B1003")
        await scan(pilot, f"FK:J:{jobs.set_done}")
        await scan(pilot, "FK:C:START")

    assert snap_compare(app_at(workshop, clock, "polishing"), terminal_size=SMALL, run_before=run_before)


def test_override_reason(snap_compare, workshop, jobs, clock):
    async def run_before(pilot):
        await scan(pilot, "FK:P:B1003")
        await scan(pilot, f"FK:J:{jobs.set_done}")
        await scan(pilot, "FK:C:START")
        await scan(pilot, "FK:P:B2001")
        await scan(pilot, "2468")  # the PIN, typed fast

    assert snap_compare(app_at(workshop, clock, "polishing"), terminal_size=BIG, run_before=run_before)


def test_weigh_dialog(snap_compare, workshop, jobs, clock):
    async def run_before(pilot):
        await until(pilot, lambda: pilot.app.devices.cells["scale"].state == "ok")
        await scan(pilot, "FK:P:B1001")
        await scan(pilot, f"FK:J:{jobs.cast}")
        await scan(pilot, "FK:C:START")
        await weigh(pilot, "12.48")
        await pilot.pause(0.3)

    assert snap_compare(app_at(workshop, clock, "casting", devices=None), terminal_size=BIG, run_before=run_before)


def test_checklist_dialog(snap_compare, workshop, jobs, clock):
    # the setting bench's finish: its three checks
    async def setting(pilot):
        app = pilot.app
        await scan(pilot, "FK:P:B1002")
        verbs.start(app.shop, jobs.set, "ben", "setting")
        scale_weigh(app.shop, jobs.set, "ben", "setting", "5.99", phase="in")
        scale_weigh(app.shop, jobs.set, "ben", "setting", "6.184", phase="out")
        sha = app.shop.job(jobs.set_done).stage("stone-setting").photos[0]
        verbs.attach_photo(app.shop, jobs.set, "ben", "setting", sha)
        await scan(pilot, f"FK:J:{jobs.set}")
        await scan(pilot, "FK:C:FINISH")
        await scan(pilot, "FK:C:ACCEPT")

    assert snap_compare(app_at(workshop, clock, "setting"), terminal_size=BIG, run_before=setting)


def test_photo_dialog(snap_compare, workshop, jobs, clock):
    async def run_before(pilot):
        app = pilot.app
        await scan(pilot, "FK:P:B1002")
        verbs.start(app.shop, jobs.set, "ben", "setting")
        await scan(pilot, f"FK:J:{jobs.set}")
        await scan(pilot, "FK:C:PHOTO")
        await until(pilot, lambda: getattr(app.screen, "jpeg", None) is not None)
        await pilot.pause(0.1)

    # the bench's real devices: the camera reads the demo photos, the simulated balance shows 0 g
    app = app_at(workshop, clock, "setting", devices=None)
    assert snap_compare(app, terminal_size=BIG, run_before=run_before)


def test_batch_screen(snap_compare, workshop, jobs, clock):
    async def run_before(pilot):
        await scan(pilot, "FK:P:B1001")
        await scan(pilot, f"FK:B:{jobs.batch}")
        await scan(pilot, "FK:C:START")

    assert snap_compare(app_at(workshop, clock, "casting"), terminal_size=BIG, run_before=run_before)


def test_worklist_with_a_code_typed_by_hand(snap_compare, workshop, jobs, clock):
    """Keys typed slowly on the worklist: in the entry line, the top row untouched."""
    async def run_before(pilot):
        await scan(pilot, "FK:P:B1002")
        await worklist_loaded(pilot)
        for ch in f"j{int(jobs.late[1:])}":
            await pilot.press(ch)
            await pilot.pause(0.08)
        await until(pilot, lambda: pilot.app.screen.query_one("#entry").value == f"j{int(jobs.late[1:])}")

    assert snap_compare(app_at(workshop, clock, "setting"), terminal_size=BIG, run_before=run_before)


def test_job_card_with_f_waiting_for_enter(snap_compare, workshop, jobs, clock):
    """F on a card: in the entry line, and the message says Enter finishes (or type on for a code)."""
    async def run_before(pilot):
        await scan(pilot, "FK:P:B1002")
        await scan(pilot, f"FK:J:{jobs.set}")
        await pilot.press("f")
        await until(pilot, lambda: "or type on for a code" in pilot.app.last_message[0])

    assert snap_compare(app_at(workshop, clock, "setting"), terminal_size=BIG, run_before=run_before)


def test_reject_defects_beyond_nine(snap_compare, workshop, jobs, clock):
    """Rejecting polishing at the QC station: the eleven defects that apply to it, numbered to 11."""
    async def run_before(pilot):
        shop = pilot.app.shop
        verbs.verify(shop, jobs.set_done, "farid", "qc", pin="1357")
        verbs.start(shop, jobs.set_done, "chloe", "polishing")
        scale_weigh(shop, jobs.set_done, "chloe", "polishing", "6.180", phase="in")
        scale_weigh(shop, jobs.set_done, "chloe", "polishing", "6.170", phase="out")
        verbs.finish(shop, jobs.set_done, "chloe", "polishing", checklist=["finish as specified"])
        await scan(pilot, "FK:P:B2001")
        await scan(pilot, f"FK:J:{jobs.set_done}")
        await scan(pilot, "FK:C:REJECT")
        await until(pilot, lambda: "the defect" in getattr(pilot.app.screen, "title_text", ""))

    assert snap_compare(app_at(workshop, clock, "qc"), terminal_size=BIG, run_before=run_before)
