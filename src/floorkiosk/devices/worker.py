"""The reader thread every device owns: started once, stopped with a join, state changes told once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


class DeviceWorker:
    """Base of the scale monitor and the scanners: a daemon thread running `self._run`.

    Subclasses call `_init_worker()` in their constructor, implement `_run()` (which watches
    `self._stop`) and `_thread_name()`.
    """

    on_state: Callable[[str], Any] | None

    def _init_worker(self, on_state: Callable[[str], Any] | None = None) -> None:
        self.on_state = on_state
        self.state = "starting"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _thread_name(self) -> str:
        return type(self).__name__

    def _run(self) -> None:  # pragma: no cover - every device defines its own loop
        raise NotImplementedError

    def start(self):
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=self._thread_name(), daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            if self.on_state:
                self.on_state(state)
