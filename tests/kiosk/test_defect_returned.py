"""A defect told where it came from: when QC rejects a stage and charges the defect to the run's person, that
person's worklist (at whatever bench they badge in) and the job's card say so, until the card has shown it."""

from __future__ import annotations

from kiosk_helpers import scan, until, worklist_loaded

from floorkiosk.domain.qc import DEFECT_SEEN
from floorkiosk.kiosk.app import make_app
from floorkiosk.kiosk.screens import JobCardScreen, WorklistScreen
from floorkiosk.workshop import returns, verbs

SIZE = (100, 32)


def returned_line(app) -> str:
    w = app.worklist_screen.query_one("#wl-returned")
    return str(w.render()) if w.display else ""


def reject_setting(app, job: str) -> None:
    """Eva at the QC station rejects Ben's stone setting: a loose stone, the setting to redo."""
    verbs.reject(app.shop, job, "eva", "qc", "stone-setting", defect="LOOSE-STONE",
                 reason="stone moves in its setting", redo="stone-setting")


async def test_the_person_a_defect_is_charged_to_is_told_on_their_worklist_until_the_card_shows_it(workshop, jobs,
                                                                                                  clock):
    app = make_app(workshop(), "cleanup", clock=clock, devices="none")  # not the setting bench: Ben's anywhere
    async with app.run_test(size=SIZE) as pilot:
        reject_setting(app, jobs.set_done)
        clock.advance(minutes=40)
        await scan(pilot, "FK:P:B1002")  # Ben, who did the setting
        await worklist_loaded(pilot)
        await until(pilot, lambda: returned_line(app) != "")
        assert returned_line(app) == (f"↩ returned to you: defect LOOSE-STONE on {jobs.set_done} from QC station (Eva "
                                      "Lindqvist) — stone moves in its setting; Stone setting to redo (40 min ago; "
                                      f"scan {jobs.set_done} to see it)\n")
        # the card tells it too, and from then on it is seen
        await scan(pilot, f"FK:J:{jobs.set_done}")
        assert isinstance(app.screen, JobCardScreen)
        card_line = str(app.card_screen.query_one("#card-returned").render())
        assert card_line == (f"↩ returned to you: defect LOOSE-STONE on {jobs.set_done} from QC station (Eva "
                             "Lindqvist) — stone moves in its setting; Stone setting to redo")
        seen = [e for e in app.shop.journal.events(types=[DEFECT_SEEN])]
        assert [(e.person, e.job, e.bench) for e in seen] == [("ben", jobs.set_done, "cleanup")]
        # the journal moved (the seen event): the open card still says it while it is open
        await pilot.pause(1.2)
        assert app.card_screen.query_one("#card-returned").display
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, WorklistScreen))
        await worklist_loaded(pilot)
        await until(pilot, lambda: returned_line(app) == "")
        assert returns.unseen(app.shop, "ben") == []
        # opened again: nothing more to tell, nothing more recorded
        await scan(pilot, f"FK:J:{jobs.set_done}")
        assert not app.card_screen.query_one("#card-returned").display
        assert len(list(app.shop.journal.events(types=[DEFECT_SEEN]))) == 1


async def test_nobody_else_is_told_of_a_defect_charged_to_another(workshop, jobs, clock):
    app = make_app(workshop(), "cleanup", clock=clock, devices="none")
    async with app.run_test(size=SIZE) as pilot:
        reject_setting(app, jobs.set_done)
        await scan(pilot, "FK:P:B1001")  # Ana cleaned it up, but the defect is the setting's
        await worklist_loaded(pilot)
        assert returned_line(app) == ""
        await scan(pilot, f"FK:J:{jobs.set_done}")
        assert not app.card_screen.query_one("#card-returned").display
        assert list(app.shop.journal.events(types=[DEFECT_SEEN])) == []
        assert [r.job for r in returns.unseen(app.shop, "ben")] == [jobs.set_done]  # still Ben's to see


def test_snapshot_worklist_with_a_defect_returned(snap_compare, workshop, jobs, clock):
    async def run_before(pilot):
        app = pilot.app
        reject_setting(app, jobs.set_done)
        await scan(pilot, "FK:P:B1002")
        await worklist_loaded(pilot)
        await until(pilot, lambda: returned_line(app) != "")

    assert snap_compare(make_app(workshop(), "setting", clock=clock, devices="none"), terminal_size=SIZE,
                        run_before=run_before)
