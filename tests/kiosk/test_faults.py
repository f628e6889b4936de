"""Faults under a running kiosk: the journal's file deleted, replaced, its disk full or read-only.
Each is said on the screen in plain words, and nothing is acknowledged that is not on disk."""

from __future__ import annotations

import os
import shutil
import sqlite3

import pytest
from kiosk_helpers import scan, until, worklist_loaded

from floorkiosk.kiosk.app import make_app
from floorkiosk.kiosk.dialogs import WeighDialog
from floorkiosk.kiosk.screens import JobCardScreen

SIZE = (100, 32)


def on_screen(app) -> str:
    return app.screen.query_one("#message").render().plain


def stored_events(path, job: str) -> list[str]:
    """The events of a job in the file at `path` as a fresh reader sees it (not the kiosk's own connection)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return [r[0] for r in conn.execute("SELECT type FROM events WHERE job = ? ORDER BY seq", (job,))]
    finally:
        conn.close()


@pytest.mark.parametrize("how", ["deleted", "replaced"])
async def test_a_journal_deleted_or_replaced_under_the_kiosk_acknowledges_nothing(workshop, jobs, clock, how):
    site = workshop()
    journal = site / "journal.db"
    backup = site.parent / "journal-copy.db"
    app = make_app(site, "setting", clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "FK:P:B1002")
        await worklist_loaded(pilot)
        with sqlite3.connect(journal) as src, sqlite3.connect(backup) as dst:
            src.backup(dst)  # yesterday's copy, say, put back by mistake
        before = stored_events(journal, jobs.set)
        if how == "deleted":
            journal.unlink()
        else:
            os.replace(backup, journal)
        await scan(pilot, f"FK:J:{jobs.set}")
        assert isinstance(app.screen, JobCardScreen)
        await scan(pilot, "FK:C:START")
        await until(pilot, lambda: "removed or replaced" in on_screen(app))
        shown = on_screen(app)
        assert "The journal file was removed or replaced — nothing was saved; call a supervisor" in shown
        assert not isinstance(app.screen, WeighDialog)  # the start was not taken
        assert app.shop.job(jobs.set).stage("stone-setting").status != "in progress"
        # a second action is refused the same way: every one, until the right file is back
        await scan(pilot, "FK:C:START")
        await until(pilot, lambda: app.last_message[0].startswith("The journal file was removed"))
        if how == "replaced":
            assert stored_events(journal, jobs.set) == before
        else:
            assert not journal.exists()


async def test_the_journal_put_back_lets_the_kiosk_go_on(workshop, jobs, clock):
    site = workshop()
    journal = site / "journal.db"
    aside = site.parent / "journal-aside.db"
    app = make_app(site, "setting", clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, "FK:P:B1002")
        await worklist_loaded(pilot)
        os.rename(journal, aside)  # moved away by hand, then put back
        await scan(pilot, f"FK:J:{jobs.set}")
        await scan(pilot, "FK:C:START")
        await until(pilot, lambda: "removed or replaced" in on_screen(app))
        os.rename(aside, journal)
        await scan(pilot, "FK:C:START")
        await until(pilot, lambda: isinstance(app.screen, WeighDialog))
        assert app.shop.job(jobs.set).stage("stone-setting").status == "in progress"
    assert stored_events(journal, jobs.set)[-1] == "stage.started"
