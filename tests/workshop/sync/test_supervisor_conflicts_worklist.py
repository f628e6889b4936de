"""A supervisor's worklist on a hub site lists the open conflicts between benches, and Enter opens them (Pilot)."""

from __future__ import annotations

import pytest

from floorkiosk.kiosk.app import KioskApp
from floorkiosk.kiosk.conflicts_screen import ConflictsScreen
from floorkiosk.kiosk.devices import BenchDevices
from floorkiosk.kiosk.supervisor import SupervisorWork
from floorkiosk.workshop import sync, verbs
from keystrokes import until

pytestmark = pytest.mark.pg

RING = dict(route="custom-ring", design="Pear halo ring", alloy="18KY", due="2026-12-24")


async def test_open_conflicts_wait_on_a_supervisors_worklist_and_enter_opens_them(make_kiosk):
    a, b = make_kiosk("a", "qc"), make_kiosk("b", "qc")
    sa, sb = sync.Syncer(a), sync.Syncer(b)
    for s in (sa, sb):
        s.sync_once()
    job = verbs.create_job(a, **RING)
    sa.sync_once()
    sb.sync_once()
    verbs.hold(a, job, "eva", "qc", "stone loose")
    verbs.hold(b, job, "farid", "qc", "client asked to wait")  # the same job, at the same time, offline
    for s in (sb, sa, sb):
        s.sync_once()
    assert len(sync.conflicts(a)) == 1
    app = KioskApp(a, "casting", devices=BenchDevices.none(a, "casting"))  # any bench: a casting bench
    async with app.run_test(size=(100, 32)) as pilot:
        await until(pilot, lambda: app.screen is app.idle_screen and app.idle_screen.is_mounted)
        app.handle_scan("FK:P:B2002")  # Farid, a supervisor
        await until(pilot, lambda: any(i.kind == "conflict"
                                       for i in app.worklist_screen.query_one(SupervisorWork).items))
        sup = app.worklist_screen.query_one(SupervisorWork)
        t = sup.table
        rows = [[str(c) for c in t.get_row_at(i)] for i in range(t.row_count)]
        conflict = next(r for r in rows if r[1] == "CONFLICT")
        assert conflict[2] == job and "job.held" in conflict[4] and "already on hold" in conflict[4]
        assert ["ON HOLD", job] in [r[1:3] for r in rows]
        assert "1 conflict" in str(app.worklist_screen.query_one("#sup-title").render())
        t.focus()
        t.move_cursor(row=rows.index(conflict))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConflictsScreen))
        assert [c.job for c in app.screen.rows] == [job]
