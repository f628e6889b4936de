"""Barcode scanners: serial (pyserial) and USB HID through evdev, feeding the same scan path as
the keyboard wedge. A scan is delivered as the raw text the scanner read, prefix and suffix removed.
"""

from __future__ import annotations

import codecs
import os
import select
from collections.abc import Callable

import serial

from floorkiosk.devices.worker import DeviceWorker
from floorkiosk.errors import FloorkioskError


def strip_affixes(text: str, prefix: str = "", suffix: str = "") -> str:
    """Remove the scanner's configured prefix and suffix (and stray line ends) from one scan.

    Shared with the keyboard wedge, so a scan reads the same whichever way it arrived.
    """
    if prefix and text.startswith(prefix):
        text = text[len(prefix):]
    if suffix and text.endswith(suffix):
        text = text[: -len(suffix)]
    return text.strip("\r\n")


class ScanSplitter:
    """Cuts a character stream into scans at the suffix; strips the prefix. Pure, no I/O.

    With an empty suffix, any CR or LF ends a scan.
    """

    def __init__(self, prefix: str = "", suffix: str = "\r") -> None:
        self.prefix = prefix
        self.suffix = suffix
        self._buf = ""

    def feed(self, text: str) -> list[str]:
        self._buf += text
        out: list[str] = []
        while True:
            if self.suffix:
                i = self._buf.find(self.suffix)
                n = len(self.suffix)
            else:
                cands = [j for j in (self._buf.find("\r"), self._buf.find("\n")) if j >= 0]
                i, n = (min(cands), 1) if cands else (-1, 0)
            if i < 0:
                break
            scan, self._buf = self._buf[:i], self._buf[i + n:]
            scan = strip_affixes(scan, self.prefix, "")
            if scan:
                out.append(scan)
        if len(self._buf) > 4096:  # a scanner without its suffix configured: do not grow forever
            self._buf = ""
        return out

    def flush(self) -> list[str]:
        """What is buffered, as a scan (a scanner configured without a suffix, after a pause)."""
        scan, self._buf = strip_affixes(self._buf, self.prefix, ""), ""
        return [scan] if scan else []


class SerialScanner(DeviceWorker):
    """A scanner on a serial port (RS-232 or USB-CDC), read in a daemon thread.

    url        pyserial URL: /dev/ttyACM0, /dev/serial/by-id/…, socket://host:port, loop://
    on_scan    called from this thread with each scan's text
    prefix     text the scanner sends before each code (configured on the scanner), removed
    suffix     text after each code ("\\r" by default), removed; "" = any CR/LF, or a 0.1 s pause
    on_state   optional: called with "connected" / "disconnected: …" when that changes
    The thread reopens the port by itself after an unplug.
    """

    def __init__(
        self,
        url: str,
        on_scan: Callable[[str], None],
        prefix: str = "",
        suffix: str = "\r",
        baudrate: int = 9600,
        *,
        on_state: Callable[[str], None] | None = None,
        retry: float = 0.25,
    ) -> None:
        self.url = url
        self.on_scan = on_scan
        self.baudrate = baudrate
        self.retry = retry
        self.splitter = ScanSplitter(prefix, suffix)
        self._init_worker(on_state)

    def _thread_name(self) -> str:
        return f"scanner {self.url}"

    def _deliver(self, scans: list[str]) -> None:
        for s in scans:
            try:
                self.on_scan(s)
            except Exception:  # a broken listener must not stop the scanner
                pass

    # The reconnect loop is DeviceWorker's: a lost port is told once, then "reconnecting…".
    device_errors = (serial.SerialException, OSError, ValueError)

    def _open_device(self) -> serial.SerialBase:
        return serial.serial_for_url(self.url, baudrate=self.baudrate, timeout=0.1)

    def _serve(self, port: serial.SerialBase) -> None:
        text = codecs.getincrementaldecoder("utf-8")(errors="replace")
        while not self._stop.is_set():
            data = port.read(port.in_waiting or 1)
            if data:
                self._deliver(self.splitter.feed(text.decode(data)))
            elif not self.splitter.suffix:
                self._deliver(self.splitter.flush())  # a pause ends a suffix-less scan


# Linux input event key codes (linux/input-event-codes.h) for a scanner in US keyboard layout.
_KEYS = {
    2: "1!", 3: "2@", 4: "3#", 5: "4$", 6: "5%", 7: "6^", 8: "7&", 9: "8*", 10: "9(", 11: "0)",
    12: "-_", 13: "=+", 15: "\t\t", 16: "qQ", 17: "wW", 18: "eE", 19: "rR", 20: "tT", 21: "yY",
    22: "uU", 23: "iI", 24: "oO", 25: "pP", 26: "[{", 27: "]}", 28: "\n\n", 30: "aA", 31: "sS",
    32: "dD", 33: "fF", 34: "gG", 35: "hH", 36: "jJ", 37: "kK", 38: "lL", 39: ";:", 40: "'\"",
    41: "`~", 43: "\\|", 44: "zZ", 45: "xX", 46: "cC", 47: "vV", 48: "bB", 49: "nN", 50: "mM",
    51: ",<", 52: ".>", 53: "/?", 55: "**", 57: "  ", 71: "77", 72: "88", 73: "99", 74: "--",
    75: "44", 76: "55", 77: "66", 78: "++", 79: "11", 80: "22", 81: "33", 82: "00", 83: "..",
    96: "\n\n", 98: "//",
}
_SHIFTS = {42, 54}  # KEY_LEFTSHIFT, KEY_RIGHTSHIFT
_CAPSLOCK = 58
EV_KEY = 1


class HidKeys:
    """Turns key events (code, value) of a HID scanner into characters. Pure, no evdev needed.

    value 1 = key down, 2 = auto-repeat, 0 = key up. Enter becomes "\\n".
    """

    def __init__(self) -> None:
        self.shift = False
        self.caps = False

    def feed(self, code: int, value: int) -> str:
        if code in _SHIFTS:
            self.shift = value != 0
            return ""
        if value == 0:
            return ""
        if code == _CAPSLOCK:
            self.caps = not self.caps
            return ""
        pair = _KEYS.get(code)
        if pair is None:
            return ""
        upper = self.shift != (self.caps and pair[0].isalpha())
        return pair[1] if upper else pair[0]


def _evdev():
    try:
        import evdev
    except ImportError:
        raise FloorkioskError(
            "reading a USB (HID) scanner directly needs the 'evdev' package on Linux: "
            "pip install 'floorkiosk[hid]'; or use the scanner as a keyboard"
        ) from None
    return evdev


class HidScanner(DeviceWorker):
    """A USB HID scanner read through evdev with an exclusive grab, in a daemon thread.

    The grab keeps its keystrokes away from the desktop and every other widget, so a scan can
    never land in the wrong field. Needs read access to /dev/input/event* (see drivers/udev/).

    device_path  /dev/input/by-id/usb-…-event-kbd (stable) or /dev/input/eventN
    on_scan      called from this thread with each scan's text
    prefix / suffix  as on the scanner; the suffix is usually Enter ("\\n")
    grab         take the device exclusively (default True)
    """

    def __init__(
        self,
        device_path: str,
        on_scan: Callable[[str], None],
        prefix: str = "",
        suffix: str = "\n",
        *,
        grab: bool = True,
        on_state: Callable[[str], None] | None = None,
        retry: float = 0.5,
    ) -> None:
        self.evdev = _evdev()  # fail at construction, with the message, not later in the thread
        self.device_path = device_path
        self.on_scan = on_scan
        self.grab = grab
        self.retry = retry
        self.splitter = ScanSplitter(prefix, suffix)
        self.keys = HidKeys()
        self._init_worker(on_state)

    def _thread_name(self) -> str:
        return f"hid scanner {self.device_path}"

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                dev = self.evdev.InputDevice(self.device_path)
                if self.grab:
                    dev.grab()
            except OSError as exc:
                self._set_state(f"disconnected: {exc}")
                self._stop.wait(self.retry)
                continue
            self._set_state("connected")
            try:
                while not self._stop.is_set():
                    ready, _, _ = select.select([dev.fd], [], [], 0.2)
                    if not ready:
                        continue
                    for ev in dev.read():
                        if ev.type != EV_KEY:
                            continue
                        for scan in self.splitter.feed(self.keys.feed(ev.code, ev.value)):
                            try:
                                self.on_scan(scan)
                            except Exception:
                                pass
            except OSError as exc:  # unplugged: ENODEV
                self._set_state(f"disconnected: {exc}")
            finally:
                try:
                    if self.grab:
                        dev.ungrab()
                except OSError:
                    pass
                try:
                    dev.close()
                except OSError:
                    pass
            self._stop.wait(self.retry)


def list_hid_devices() -> list[tuple[str, str]]:
    """(path, name) of the input devices evdev can see; for choosing the scanner at set-up."""
    evdev = _evdev()
    out = []
    for path in evdev.list_devices():
        try:
            out.append((path, evdev.InputDevice(path).name))
        except OSError:
            continue
    return out


def by_id_path(path: str) -> str:
    """The stable /dev/…/by-id/ name of a device node, if there is one (else the path itself)."""
    real = os.path.realpath(path)
    for folder in ("/dev/input/by-id", "/dev/serial/by-id"):
        if os.path.isdir(folder):
            for name in sorted(os.listdir(folder)):
                full = os.path.join(folder, name)
                if os.path.realpath(full) == real:
                    return full
    return path
