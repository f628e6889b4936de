"""Start-up: the demo site is built aside and put in place whole; a CLI call loads only what it uses."""

import os
import signal
import sqlite3
import subprocess
import sys
import time



def fk(site, *args):
    return subprocess.run([sys.executable, "-m", "floorkiosk", "--site", str(site), *args], capture_output=True, text=True)


def wait_for(cond, timeout: float, what: str) -> None:
    """Wait on a condition (the timeout only bounds a failing test on a busy machine)."""
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError(f"{what} (waited {timeout:.0f} s)")
        time.sleep(0.05)


def _events_in(db) -> int:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.2)
        try:
            return conn.execute("SELECT count(*) FROM events").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


def test_an_interrupted_demo_leaves_no_half_made_site_and_the_next_run_builds_it_whole(tmp_path):
    site = tmp_path / "demo-site"
    building = tmp_path / ".demo-site.building"
    proc = subprocess.Popen([sys.executable, "-m", "floorkiosk", "--site", str(site), "demo", "--no-kiosk"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        wait_for(lambda: _events_in(building / "journal.db") >= 200, 120, "the build never got going")
        os.killpg(proc.pid, signal.SIGKILL)  # the power cut, or the terminal closed, half way
    finally:
        proc.wait(30)
    assert not site.exists(), "a half-built demo site was put in place"
    r = fk(site, "demo", "--no-kiosk")
    assert r.returncode == 0 and "created" in r.stdout, r.stderr
    assert not building.exists()
    shop_events = _events_in(site / "journal.db")
    assert shop_events > 900  # the whole demo: sixty jobs and their history
    assert fk(site, "audit", "verify").returncode == 0
    again = fk(site, "demo", "--no-kiosk")
    assert again.returncode == 0 and "reused" in again.stdout


def test_the_demo_refuses_a_folder_that_holds_something_else(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("my own notes\n")
    r = fk(tmp_path / "mine", "demo", "--no-kiosk")
    assert r.returncode == 2 and "is not empty and holds no site" in r.stderr and "Traceback" not in r.stderr
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == ["notes.txt"]
    r = fk(tmp_path / "mine", "demo")  # with the kiosk: the build's refusal reaches the person the same way
    assert r.returncode == 2 and "is not empty and holds no site" in r.stderr and "Traceback" not in r.stderr


def test_a_cli_call_loads_neither_numpy_nor_pillow_nor_sqlite_utils(tmp_path):
    site = tmp_path / "demo"
    assert fk(site, "demo", "--no-kiosk", "--jobs", "5").returncode == 0
    probe = ("import sys\n"
             "from floorkiosk.cli import main\n"
             f"rc = main(['--site', {str(site)!r}, 'job', 'show', 'J000001'])\n"
             "heavy = sorted(m for m in ('numpy', 'PIL', 'sqlite_utils', 'cv2', 'zxingcpp', 'textual', 'psycopg')"
             " if m in sys.modules)\n"
             "print('LOADED', rc, ' '.join(heavy))\n")
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    line = [ln for ln in r.stdout.splitlines() if ln.startswith("LOADED")][0]
    assert line.split(" ", 2)[1:] == ["0", ""], line


def test_a_site_that_needs_a_migration_still_gets_it(tmp_path):
    site = tmp_path / "shop"
    assert fk(site, "init").returncode == 0
    assert fk(site, "job", "list").returncode == 0  # the first open creates the tables (sqlite-utils)
    conn = sqlite3.connect(site / "journal.db")
    names = {r[0] for r in conn.execute("SELECT name FROM migrations")}
    conn.close()
    assert {"001_journal", "002_jobs"} <= names
