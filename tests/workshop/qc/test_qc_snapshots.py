"""Screenshots of the QC station's screen at fixed sizes, on the fixed template workshop.

Update after an intended change with: pytest tests/workshop/qc/test_qc_snapshots.py --snapshot-update
"""

from __future__ import annotations

from floorkiosk.kiosk.app import make_app

from .conftest import FixedClock
from .driving import asked, inspect, type_answer

BIG = (100, 32)
SMALL = (80, 24)


def kiosk(qc_site):
    return make_app(qc_site[0], "qc", clock=FixedClock(), devices="none")


def test_inspection_plan(snap_compare, qc_site):
    async def run_before(pilot):
        await inspect(pilot, "B2002", qc_site[1]["final"])

    assert snap_compare(kiosk(qc_site), terminal_size=BIG, run_before=run_before)


def test_inspection_plan_small(snap_compare, qc_site):
    async def run_before(pilot):
        await inspect(pilot, "B2001", qc_site[1]["verify"])

    assert snap_compare(kiosk(qc_site), terminal_size=SMALL, run_before=run_before)


def test_failure_ready_to_record(snap_compare, qc_site):
    async def run_before(pilot):
        screen = await inspect(pilot, "B2002", qc_site[1]["final"])
        ref = str(screen.insp.facts.reference_grams)
        for c in asked(screen):
            await type_answer(pilot, {"weight": ref, "size": "7", "shank": "1.21", "alignment": "1"}.get(c.id, "p"))
        for _ in range(3):  # defect, stage to redo and reason as proposed
            await pilot.press("enter")
        await pilot.pause()

    assert snap_compare(kiosk(qc_site), terminal_size=BIG, run_before=run_before)


def test_batch_piece_drawn(snap_compare, qc_site):
    async def run_before(pilot):
        from floorkiosk.domain import qc as dq

        batch, pieces = qc_site[1]["batch"], qc_site[1]["pieces"]
        await inspect(pilot, "B2002", dq.draw(batch, "qc", pieces, 2)[0])

    assert snap_compare(kiosk(qc_site), terminal_size=BIG, run_before=run_before)
