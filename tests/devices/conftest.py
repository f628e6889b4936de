"""Fixtures for device tests: simulators on real ptys, and a raw pty the test drives byte by byte."""

from __future__ import annotations

import os
import pty
import select
import threading
import time
import tty
from pathlib import Path

import pytest

from floorkiosk.devices.sim import ScaleSimulator

FIXTURES = Path(__file__).parent / "fixtures"


class RawPty:
    """A real pty; the test plays the balance on the master side.

    respond(replies): each command the driver writes is answered with the next reply, written in
    the given pieces (a list of byte strings) with a pause between them, so a reply can arrive
    split across reads or several replies merged into one write.
    """

    def __init__(self) -> None:
        self.master, self.slave = pty.openpty()
        tty.setraw(self.slave)
        tty.setraw(self.master)
        self.path = os.ttyname(self.slave)
        self.received: list[bytes] = []
        self._replies: list[list[bytes]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def write(self, *pieces: bytes, pause: float = 0.01) -> None:
        for i, p in enumerate(pieces):
            if i:
                time.sleep(pause)
            os.write(self.master, p)

    def respond(self, *replies: list[bytes] | bytes) -> None:
        self._replies = [r if isinstance(r, list) else [r] for r in replies]
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.02)
            if not ready:
                continue
            try:
                data = os.read(self.master, 256)
            except OSError:
                return
            self.received.append(data)
            if self._replies:
                self.write(*self._replies.pop(0))

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(1)
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass


@pytest.fixture
def raw_pty():
    p = RawPty()
    yield p
    p.close()


@pytest.fixture
def make_sim():
    """make_sim(profile, **kw) -> started ScaleSimulator; stopped after the test."""
    sims: list[ScaleSimulator] = []

    def make(profile: str, **kw) -> ScaleSimulator:
        sim = ScaleSimulator(profile, settle_time=kw.pop("settle_time", 0.2), **kw)
        sim.start()
        sims.append(sim)
        return sim

    yield make
    for s in sims:
        s.stop()


@pytest.fixture
def corpus_dir() -> Path:
    return FIXTURES / "corpus"
