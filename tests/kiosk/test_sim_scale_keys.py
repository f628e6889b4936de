"""A plain kiosk (no --demo) on a bench whose scale is simulated: the weigh dialog's keys put weight on the pan."""

from __future__ import annotations

from decimal import Decimal

from kiosk_helpers import scan, until

from floorkiosk.kiosk.app import make_app
from floorkiosk.kiosk.dialogs import WeighDialog


async def test_a_plain_kiosk_on_a_simulated_scale_can_put_the_piece_on_the_pan(workshop, jobs, clock):
    app = make_app(workshop(), "casting", clock=clock)  # as `floorkiosk kiosk --bench casting`: demo=False
    assert not app.station.demo
    async with app.run_test(size=(100, 32)) as pilot:
        assert app.devices.sim is not None
        await scan(pilot, "FK:P:B1001")
        await scan(pilot, f"FK:J:{jobs.cast}")
        await scan(pilot, "FK:C:START")
        await until(pilot, lambda: isinstance(app.screen, WeighDialog))
        assert "1 puts the piece on the pan" in str(app.screen.query_one("#weigh-help").render())
        await pilot.press("1")
        await until(pilot, lambda: getattr(app.scale_event, "stable", False) and app.scale_event.grams > 0,
                    timeout=5)
        await scan(pilot, "FK:C:ACCEPT")
        await until(pilot, lambda: app.shop.job(jobs.cast).stage("casting").weight_in is not None)
        assert Decimal(app.shop.job(jobs.cast).stage("casting").weight_in) > 0
