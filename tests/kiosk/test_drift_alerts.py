"""Drift alerts at the bench: on a supervisor's worklist at every bench, with their age; opening one shows
the characteristic's chart, and the supervisor acknowledges it there, as `floorkiosk spc ack` does."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from kiosk_helpers import _stage, scan, until, worklist_loaded

from floorkiosk.domain.spc import SPC_ALERT_ACKNOWLEDGED
from floorkiosk.kiosk.app import make_app
from floorkiosk.kiosk.dialogs import NoteDialog
from floorkiosk.kiosk.screens import WorklistScreen
from floorkiosk.kiosk.spc_screen import SpcAlertScreen
from floorkiosk.kiosk.supervisor import SupervisorWork
from floorkiosk.workshop import spc, verbs
from floorkiosk.workshop.site import open_shop

SIZE = (100, 32)
# % lost at casting: with the workshop's three castings (2.419 % each), the baseline of eight (centre 2.421)
STEADY = ["2.40", "2.45", "2.38", "2.46", "2.42"]
DRIFT = ["2.43"] * 9  # nine above the centre line, within one sigma: Nelson rule 2 on the ninth


def cast(shop, job: str, loss_pct: str) -> None:
    _stage(shop, job, "wax-injection", "dev", "design")
    _stage(shop, job, "tree-building", "ana", "casting", w_in="40.000")
    out = (Decimal("40.000") * (1 - Decimal(loss_pct) / 100)).quantize(Decimal("0.001"))
    _stage(shop, job, "casting", "ana", "casting", w_in="40.000", w_out=str(out))


@pytest.fixture
def drifting(workshop, clock):
    """The kiosk workshop with casting's loss drifting: one open alert, raised two hours before now."""
    root = workshop()
    qc = root / "config" / "qc.toml"
    qc.write_text(qc.read_text().replace("baseline = 20", "baseline = 8"))
    now = clock.now
    clock.now = now - timedelta(hours=2, minutes=5)
    shop = open_shop(root, clock=clock)
    try:
        jobs = verbs.create_jobs(shop, [dict(route="casting-line", design="Stacking ring", alloy="14KY",
                                             due="2026-04-24")] * 14, person_id="dev", bench_id="design")
        for j, loss in zip(jobs, STEADY + DRIFT):
            cast(shop, j, loss)
        assert [a.rule for a in spc.open_alerts(shop.journal.conn)] == [2]
    finally:
        shop.close()
        clock.now = now
    return root, jobs


def sup_rows(app) -> list[tuple[str, ...]]:
    t = app.worklist_screen.query_one(SupervisorWork).table
    return [tuple(str(c) for c in t.get_row_at(i)) for i in range(t.row_count)]


async def test_a_drift_shows_on_a_supervisors_worklist_at_every_bench_with_its_age(drifting, clock):
    root, jobs = drifting
    for bench in ("polishing", "casting"):
        app = make_app(root, bench, clock=clock, devices="none")
        async with app.run_test(size=SIZE) as pilot:
            await scan(pilot, "FK:P:B2001")  # Eva, a supervisor
            await worklist_loaded(pilot)
            await until(pilot, lambda: any(r[1] == "DRIFT" for r in sup_rows(app)))
            row = next(r for r in sup_rows(app) if r[1] == "DRIFT")
            assert row[0] == "2 h 5 min" and row[2] == jobs[-1] and row[3] == "Casting"
            assert row[4].startswith("metal loss at Casting: 1 alert, latest ") and "(rule 2)" in row[4]
            title = str(app.worklist_screen.query_one("#sup-title").render())
            assert title.endswith(" · 1 drifting   oldest first")
    # an artisan's worklist does not show it
    app = make_app(root, "casting", clock=clock, devices="none")
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "FK:P:B1001")
        await worklist_loaded(pilot)
        assert not app.worklist_screen.query_one(SupervisorWork).display


async def test_opening_a_drift_shows_its_chart_and_the_supervisor_acknowledges_it(drifting, clock):
    root, jobs = drifting
    app = make_app(root, "polishing", clock=clock, devices="none")
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "FK:P:B2001")
        await worklist_loaded(pilot)
        await until(pilot, lambda: any(r[1] == "DRIFT" for r in sup_rows(app)))
        t = app.worklist_screen.query_one(SupervisorWork).table
        t.focus()
        t.move_cursor(row=[r[1] for r in sup_rows(app)].index("DRIFT"))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, SpcAlertScreen) and app.screen.chart is not None)
        screen = app.screen
        assert str(screen.query_one("#spc-title").render()) == ("DRIFT — metal loss at Casting (loss.casting): "
                                                                 "1 open alert")
        facts = str(screen.query_one("#spc-facts").render())
        assert "centre 2.421" in facts and "(limits from the first 8 points)" in facts and "17 points" in facts
        alerts = str(screen.query_one("#spc-alerts").render())
        assert alerts.startswith(f"✗ point 17, Mar 16 07:25 {jobs[-1]} Ana Costa: ")
        # the chart is drawn: the points, the centre line and the limits
        await until(pilot, lambda: "the latest 17 points" in app.export_screenshot().replace("&#160;", " "))
        # an empty note is refused; the alert stays open
        await scan(pilot, "FK:C:ACCEPT")
        await until(pilot, lambda: isinstance(app.screen, NoteDialog))
        await pilot.press("enter")
        assert isinstance(app.screen, NoteDialog) and "a note is needed" in str(app.screen.query_one("#dialog-msg").render())
        app.screen.query_one("#note").value = "new crucible; loss checked on the next five"
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, SpcAlertScreen) and "no open alert" in str(
            app.screen.query_one("#spc-title").render()))
        await until(pilot, lambda: app.last_message == ("1 alert of loss.casting acknowledged by Eva Lindqvist: new "
                                                        "crucible; loss checked on the next five", "ok"))
        assert "acknowledged by Eva Lindqvist" in str(screen.query_one("#spc-message").render())
        acks = [e for e in app.shop.journal.events(types=[SPC_ALERT_ACKNOWLEDGED])]
        assert [(e.person, e.bench, e.payload["name"], e.payload["note"]) for e in acks] == [
            ("eva", "polishing", "loss.casting", "new crucible; loss checked on the next five")]
        assert spc.open_alerts(app.shop.journal.conn) == []  # as `spc ack` leaves it
        # A again: nothing to acknowledge
        await pilot.press("a")
        await until(pilot, lambda: app.last_message == ("loss.casting has no open alert", "warn"))
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, WorklistScreen))
        await until(pilot, lambda: not any(r[1] == "DRIFT" for r in sup_rows(app)))


def test_snapshot_drift_chart(snap_compare, drifting, clock):
    root, _ = drifting

    async def run_before(pilot):
        app = pilot.app
        await scan(pilot, "FK:P:B2001")
        await worklist_loaded(pilot)
        await until(pilot, lambda: any(r[1] == "DRIFT" for r in sup_rows(app)))
        app.push_screen(SpcAlertScreen(app.station, "loss.casting"))
        await until(pilot, lambda: isinstance(app.screen, SpcAlertScreen) and app.screen.chart is not None)
        await pilot.pause(0.2)

    assert snap_compare(make_app(root, "polishing", clock=clock, devices="none"), terminal_size=SIZE,
                        run_before=run_before)


def test_snapshot_supervisor_worklist_with_a_drift(snap_compare, drifting, clock):
    root, _ = drifting

    async def run_before(pilot):
        await scan(pilot, "FK:P:B2001")
        await worklist_loaded(pilot)
        await until(pilot, lambda: any(r[1] == "DRIFT" for r in sup_rows(pilot.app)))

    assert snap_compare(make_app(root, "polishing", clock=clock, devices="none"), terminal_size=SIZE,
                        run_before=run_before)
