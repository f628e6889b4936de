"""The supervisor's conflicts screen (Pilot): it lists what the hub's order refused, and decides it."""

from __future__ import annotations

import pytest
from textual.app import App

from floorkiosk.workshop import verbs
from floorkiosk.workshop import sync
from floorkiosk.kiosk.conflicts_screen import ConflictsScreen

pytestmark = pytest.mark.pg

RING = dict(route="custom-ring", design="Pear halo ring", alloy="18KY", due="2026-12-24")


class Host(App):
    """The kiosk as far as the screen needs it: the shop, the bench, and who is logged in."""

    def __init__(self, shop, person, bench) -> None:
        super().__init__()
        self.shop, self.person, self.bench = shop, person, bench
        self.messages: list[str] = []

    def on_mount(self) -> None:
        self.push_screen(ConflictsScreen(self.shop, person=self.person, bench=self.bench.id))

    def say(self, text: str, kind: str = "info") -> None:
        self.messages.append(text)


def _conflict(make_kiosk):
    a, b = make_kiosk("a", "qc"), make_kiosk("b", "qc")
    sa, sb = sync.Syncer(a), sync.Syncer(b)
    for s in (sa, sb):
        s.sync_once()
    job = verbs.create_job(a, **RING)
    sa.sync_once()
    sb.sync_once()
    verbs.hold(a, job, "eva", "qc", "stone loose")
    verbs.hold(b, job, "farid", "qc", "client asked to wait")
    for s in (sb, sa, sb):
        s.sync_once()
    return a, b, sa, sb, job


async def test_the_screen_lists_conflicts_and_a_supervisor_dismisses_one(make_kiosk):
    a, b, sa, sb, job = _conflict(make_kiosk)
    app = Host(a, a.person("farid"), a.bench("qc"))
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ConflictsScreen)
        assert [c.job for c in screen.rows] == [job]
        detail = str(screen.query_one("#cf-detail").render())
        assert "already on hold" in detail and "Eva Lindqvist" in detail
        await pilot.press("d")
        await pilot.pause()
        for k in "1357":  # the PIN dialog: the site asks supervisors for their PIN
            await pilot.press(k)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ConflictsScreen)
        assert screen.rows == []
        assert "dismissed" in str(screen.query_one("#cf-message").render())
    assert sync.conflicts(a, status="dismissed")[0].resolved_by == "farid"
    sa.sync_once()
    sb.sync_once()
    assert sync.conflicts(b) == [] and a.journal.state_digest() == b.journal.state_digest()


async def test_an_artisan_cannot_decide_a_conflict(make_kiosk):
    a, *_ = _conflict(make_kiosk)
    app = Host(a, a.person("ben"), a.bench("qc"))
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        await pilot.press("a")
        await pilot.pause()
        assert "a supervisor decides conflicts" in str(app.screen.query_one("#cf-message").render())
    assert len(sync.conflicts(a)) == 1
