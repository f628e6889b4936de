"""Faults under a running kiosk: the journal's file deleted, replaced, its disk full or read-only.
Each is said on the screen in plain words, and nothing is acknowledged that is not on disk."""

from __future__ import annotations

import os
import shutil
import sqlite3

import pytest
from kiosk_helpers import scan, until, worklist_loaded
from smalldisk import fill, read_only_view, small_disk

from floorkiosk.kiosk.app import make_app
from floorkiosk.kiosk.dialogs import WeighDialog
from floorkiosk.kiosk.screens import JobCardScreen
from floorkiosk.store.journal import JournalFault

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


def wal_emptied(journal) -> bool:
    """Everything in the journal's WAL moved into the file and the WAL cut to nothing (as a backup
    tool's checkpoint does): the next action must find new room on the disk."""
    conn = sqlite3.connect(journal, timeout=1)
    try:
        busy, log, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        conn.close()
    return busy == 0 and log == 0


async def test_a_full_disk_is_said_acknowledges_nothing_and_work_goes_on_once_there_is_room(workshop, jobs, clock,
                                                                                           tmp_path):
    with small_disk(tmp_path / "disk", "16m") as disk:
        site = disk / "site"
        shutil.copytree(workshop(), site)
        journal = site / "journal.db"
        app = make_app(site, "setting", clock=clock)
        async with app.run_test(size=SIZE) as pilot:
            await scan(pilot, "FK:P:B1002")
            await worklist_loaded(pilot)
            await scan(pilot, f"FK:J:{jobs.set}")
            assert isinstance(app.screen, JobCardScreen)
            before = stored_events(journal, jobs.set)
            await until(pilot, lambda: wal_emptied(journal))
            filler = fill(disk)
            await scan(pilot, "FK:C:START")
            await until(pilot, lambda: "disk is full" in on_screen(app))
            assert "The disk is full — nothing was saved" in on_screen(app)
            assert app.last_message[1] == "error"
            assert not isinstance(app.screen, WeighDialog)
            assert app.shop.job(jobs.set).stage("stone-setting").status != "in progress"
            assert stored_events(journal, jobs.set) == before
            filler.unlink()  # a supervisor made room: the same kiosk goes on, not restarted
            await scan(pilot, "FK:C:START")
            await until(pilot, lambda: isinstance(app.screen, WeighDialog))
            assert app.shop.job(jobs.set).stage("stone-setting").status == "in progress"
        assert stored_events(journal, jobs.set) == [*before, "stage.started"]


def test_a_kiosk_on_a_read_only_journal_says_so_before_it_starts(workshop, tmp_path):
    site = workshop()
    with read_only_view(site, tmp_path / "ro") as ro:
        with pytest.raises(JournalFault) as err:
            make_app(ro, "setting")
    assert "is read-only" in str(err.value) and "nothing was saved; call a supervisor" in str(err.value)
