"""The reader thread every device owns: started once, stopped with a join, state changes told once."""

from __future__ import annotations

import errno
import threading
from collections.abc import Callable
from typing import Any


# What a port that cannot be opened means at the bench, by errno (pyserial passes the OS's on).
_PORT_ERRNO = {
    errno.ENOENT: "no such port (unplugged, or the bench's config names another port)",
    errno.ENODEV: "no such port (unplugged, or the bench's config names another port)",
    errno.ENXIO: "no such port (unplugged, or the bench's config names another port)",
    errno.EACCES: "permission denied (the kiosk's user needs the dialout group: sudo adduser USER dialout)",
    errno.EPERM: "permission denied (the kiosk's user needs the dialout group: sudo adduser USER dialout)",
    errno.EBUSY: "the port is busy (another program has it open)",
    errno.EIO: "the port does not answer (the adapter is failing, or was pulled out)",
    errno.ECONNREFUSED: "nothing listens at that address (is the serial-to-network converter on?)",
    errno.EHOSTUNREACH: "that address cannot be reached (network down?)",
    errno.ETIMEDOUT: "that address does not answer (network down?)",
}


def port_trouble(exc: BaseException) -> str:
    """Why a port could not be opened, in a bench's words, without the raw errno text."""
    code = getattr(exc, "errno", None)
    if code is None and isinstance(exc.__context__, OSError):
        code = exc.__context__.errno
    if code in _PORT_ERRNO:
        return _PORT_ERRNO[code]
    text = str(exc)
    for c, words in _PORT_ERRNO.items():  # pyserial's URL handlers put the errno in the text only
        if f"[Errno {c}]" in text:
            return words
    return text


class DeviceLost(Exception):
    """Raised by a worker's `_serve` when its device stops answering; the message says how."""


class DeviceWorker:
    """Base of the scale monitor and the scanners: a daemon thread running `self._run`.

    Subclasses call `_init_worker()` in their constructor and give `_thread_name()`. The thread
    runs `_run()`, which by default is the reconnect loop: `_open_device()`, then `_serve(device)`
    until the worker stops or the device is lost, then `_close_device(device)`, and after `retry`
    seconds the device is opened again. Each turn is told through `on_state` ("connected",
    "disconnected: why" in plain words, then "reconnecting…" while it stays away), once per change. A device with a loop of its own overrides `_run()` and
    watches `self._stop`.
    """

    on_state: Callable[[str], Any] | None
    retry: float = 0.5
    # What opening or serving the device may raise when it is unplugged, busy or gone.
    device_errors: tuple[type[BaseException], ...] = (OSError,)

    def _init_worker(self, on_state: Callable[[str], Any] | None = None) -> None:
        self.on_state = on_state
        self.state = "starting"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _thread_name(self) -> str:
        return type(self).__name__

    # -- the reconnect loop ------------------------------------------------------------------------
    def _open_device(self) -> Any:  # pragma: no cover - defined by the devices that use the loop
        raise NotImplementedError

    def _serve(self, device: Any) -> None:  # pragma: no cover - likewise
        """Read the device until `self._stop` is set (return) or it is lost (raise DeviceLost)."""
        raise NotImplementedError

    def _close_device(self, device: Any) -> None:
        close = getattr(device, "close", None)
        if close is not None:
            try:
                close()
            except self.device_errors:
                pass

    def _run(self) -> None:
        errors = (DeviceLost, *self.device_errors)
        down = False  # lost and told so: the attempts after it say "reconnecting…", once
        while not self._stop.is_set():
            try:
                device = self._open_device()
            except errors as exc:
                self._set_state("reconnecting…" if down else f"disconnected: {port_trouble(exc)}")
                down = True
                self._stop.wait(self.retry)
                continue
            down = False
            self._set_state("connected")
            try:
                self._serve(device)
            except errors as exc:
                self._set_state(f"disconnected: {port_trouble(exc)}")
                down = True
            finally:
                self._close_device(device)
            self._stop.wait(self.retry)

    # -- the thread --------------------------------------------------------------------------------
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
