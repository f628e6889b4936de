"""A kiosk in a real terminal: closing the terminal (SIGHUP) or stopping it (SIGTERM) removes the
simulated balance's folder and leaves no process behind.

Each kiosk runs under its own pty (pty.fork: a session whose controlling terminal is that pty, as in
a terminal window) with its own TMPDIR, so the folders counted are this kiosk's and no one else's.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

IDLE = b"SCAN YOUR BADGE"


def wait_for(cond, timeout: float, what: str) -> None:
    """Wait on a condition (the timeout only bounds a failing test on a busy machine)."""
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError(f"{what} (waited {timeout:.0f} s)")
        time.sleep(0.05)


class Terminal:
    """A process on the slave side of a pty; the test holds the master (the terminal window)."""

    def __init__(self, argv: list[str], tmpdir: Path) -> None:
        env = dict(os.environ, TMPDIR=str(tmpdir), TERM="xterm-256color", COLUMNS="100", LINES="32")
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: nothing of pytest runs here, only the kiosk
            try:
                os.execve(sys.executable, [sys.executable, "-m", "floorkiosk", *argv], env)
            finally:
                os._exit(127)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", 32, 100, 0, 0))
        self.out = bytearray()
        self.status: int | None = None

    def pump(self) -> None:
        """Read what the screen shows so far (a terminal that is not read blocks the app's writes)."""
        if self.fd < 0:
            return
        while select.select([self.fd], [], [], 0)[0]:
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:  # EIO: the slave side is closed, the process has gone
                return
            if not chunk:
                return
            self.out += chunk

    def shows(self, text: bytes) -> bool:
        self.pump()
        return text in self.out

    def close(self) -> None:
        """Close the terminal window: the kernel hangs up the session on the slave side."""
        os.close(self.fd)
        self.fd = -1

    def exited(self) -> bool:
        self.pump()
        if self.status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = status
        return self.status is not None

    def children(self) -> list[int]:
        """The kiosk's child processes now (from /proc)."""
        kids: list[int] = []
        for task in Path(f"/proc/{self.pid}/task").glob("*"):
            try:
                kids += [int(k) for k in (task / "children").read_text().split()]
            except OSError:
                pass
        return kids

    def kill(self) -> None:
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def sim_folders(tmpdir: Path) -> list[Path]:
    return sorted(tmpdir.glob("floorkiosk-sim-*"))


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory) -> Path:
    site = tmp_path_factory.mktemp("hangup") / "demo-site"
    r = subprocess.run([sys.executable, "-m", "floorkiosk", "--site", str(site), "demo", "--no-kiosk", "--jobs", "12"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return site


def _run_until_idle(argv: list[str], tmpdir: Path) -> Terminal:
    term = Terminal(argv, tmpdir)
    try:
        wait_for(lambda: term.shows(IDLE) or term.exited(), 120, "the kiosk never reached its idle screen")
        assert not term.exited(), term.out[-2000:].decode(errors="replace")
        wait_for(lambda: sim_folders(tmpdir), 30, "the simulated balance never made its folder")
        assert [p.name for p in sim_folders(tmpdir)[0].iterdir()], "the balance's port name is missing"
    except BaseException:
        term.kill()
        raise
    return term


@pytest.mark.parametrize("how", ["SIGHUP", "SIGTERM", "close the terminal"])
def test_a_kiosk_ended_by_its_terminal_or_a_stop_leaves_no_sim_folder(demo_site, tmp_path, how):
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    term = _run_until_idle(["--site", str(demo_site), "kiosk", "--bench", "setting"], tmpdir)
    try:
        kids = term.children()
        if how == "close the terminal":
            term.close()
        else:
            os.kill(term.pid, getattr(signal, how))
        wait_for(term.exited, 30, f"the kiosk did not exit after {how}")
        assert sim_folders(tmpdir) == []
        assert list(tmpdir.iterdir()) == [], "something else was left in the temp folder"
        assert not [k for k in kids if _alive(k)], "a child process outlived the kiosk"
        assert os.WIFEXITED(term.status), "the kiosk was killed by the signal instead of ending by itself"
        signum = signal.SIGTERM if how == "SIGTERM" else signal.SIGHUP
        assert os.WEXITSTATUS(term.status) == 128 + signum
    finally:
        term.kill()


def test_the_demo_closed_with_its_terminal_leaves_no_sim_folder(tmp_path):
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    term = _run_until_idle(["--site", str(tmp_path / "demo-site"), "demo", "--jobs", "12"], tmpdir)
    try:
        term.close()
        wait_for(term.exited, 30, "the demo did not exit when its terminal closed")
        assert sim_folders(tmpdir) == []
        assert os.WIFEXITED(term.status) and os.WEXITSTATUS(term.status) == 128 + signal.SIGHUP
    finally:
        term.kill()


def test_a_killed_kiosk_cannot_tidy_up_so_the_folder_stays(demo_site, tmp_path):
    """The other way round: SIGKILL cannot be handled, so the folder stays (what the handler prevents)."""
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    term = _run_until_idle(["--site", str(demo_site), "kiosk", "--bench", "setting"], tmpdir)
    try:
        os.kill(term.pid, signal.SIGKILL)
        wait_for(term.exited, 30, "the kiosk did not die")
        assert len(sim_folders(tmpdir)) == 1
    finally:
        term.kill()
