"""Faults under the CLI: the journal's file replaced while a command runs, its disk full, read-only.
Each gives a plain message and a non-zero exit, never a traceback, and nothing is acknowledged."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from smalldisk import fill, read_only_view, small_disk  # tests/ is on the path (pytest rootdir)


def cli(site: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "floorkiosk", "--site", str(site), *args], capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def hs_reply() -> bytes:
    """A ready Zebra's answer to ~HS (ZPL II guide: three STX…ETX CR LF strings)."""
    strings = ("030,0,0,0812,000,0,0,0,000,0,0,0", "001,0,0,0,0,2,4,0,00000000,1,000", "1234,0")
    return b"".join(b"\x02" + s.encode() + b"\x03\r\n" for s in strings)


class ZebraThatWaits:
    """A printer on 127.0.0.1 that, asked for its status, first runs `meanwhile` (the command is then
    between opening the site and recording the print), then answers ready and takes the label."""

    def __init__(self, meanwhile) -> None:
        self.meanwhile = meanwhile
        self.label = b""
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            self.sock.settimeout(60)
            with self.sock.accept()[0] as status:
                asked = b""
                while asked != b"~HS":
                    asked += status.recv(16)
                self.meanwhile()
                status.sendall(hs_reply())
            with self.sock.accept()[0] as data:
                while chunk := data.recv(65536):
                    self.label += chunk
        except BaseException as exc:  # said by the test
            self.error = exc


def test_a_journal_replaced_while_a_command_runs_is_said_and_nothing_recorded(tmp_path):
    site = tmp_path / "site"
    assert cli(site, "init").returncode == 0
    added = cli(site, "job", "add", "--route", "custom-ring", "--design", "Halo ring", "--alloy", "PT950",
                "--due", "2026-12-24")
    assert added.returncode == 0, added.stderr
    job = added.stdout.split()[0]
    journal = site / "journal.db"
    copy = tmp_path / "journal-copy.db"
    with sqlite3.connect(journal) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)

    printer = ZebraThatWaits(lambda: os.replace(copy, journal))
    done = cli(site, "label", "print", "--job", job, "--printer", f"tcp://127.0.0.1:{printer.port}?status=1")
    printer.thread.join(timeout=30)
    assert printer.error is None
    assert printer.label.startswith(b"^XA")  # printed, then refused to record it in a file it no longer writes to
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert "The journal file was removed or replaced — nothing was saved" in done.stderr, done.stderr
    with sqlite3.connect(journal) as conn:
        assert conn.execute("SELECT count(*) FROM events WHERE type = 'label.printed'").fetchone()[0] == 0
    # with the file in place, the same command records the print
    printer = ZebraThatWaits(lambda: None)
    again = cli(site, "label", "print", "--job", job, "--printer", f"tcp://127.0.0.1:{printer.port}?status=1")
    assert again.returncode == 0, again.stderr


JOB = ("job", "add", "--route", "custom-ring", "--design", "Halo ring", "--alloy", "PT950", "--due", "2026-12-24")


def events_in(journal: Path) -> int:
    with sqlite3.connect(f"file:{journal}?mode=ro", uri=True) as conn:
        return conn.execute("SELECT count(*) FROM events").fetchone()[0]


def test_a_full_disk_is_said_nothing_recorded_and_work_goes_on_once_there_is_room(tmp_path):
    with small_disk(tmp_path / "disk", "16m") as disk:
        site = disk / "site"
        assert cli(site, "init").returncode == 0
        first = cli(site, *JOB)
        assert first.returncode == 0, first.stderr
        n = events_in(site / "journal.db")
        filler = fill(disk)
        done = cli(site, *JOB)
        assert done.returncode != 0
        assert "Traceback" not in done.stderr and "OperationalError" not in done.stderr, done.stderr
        assert "The disk is full — nothing was saved" in done.stderr, done.stderr
        assert done.stdout == ""  # no job number: nothing acknowledged
        filler.unlink()
        again = cli(site, *JOB)
        assert again.returncode == 0, again.stderr
        assert events_in(site / "journal.db") == n + 1
        assert again.stdout.split() == ["J000002"]


def test_a_read_only_journal_is_said_and_nothing_recorded(tmp_path):
    site = tmp_path / "site"
    assert cli(site, "init").returncode == 0
    assert cli(site, *JOB).returncode == 0
    with read_only_view(site, tmp_path / "ro") as ro:
        for args in (JOB, ("kiosk", "--bench", "setting"), ("job", "list")):
            done = cli(ro, *args)
            assert done.returncode != 0, args
            assert "Traceback" not in done.stderr and "OperationalError" not in done.stderr, done.stderr
            assert "read-only" in done.stderr and "nothing was saved" in done.stderr, done.stderr
    assert events_in(site / "journal.db") == 1
