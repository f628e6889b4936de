"""Serial lab scales: one generic driver over pyserial, driven by the profiles in drivers/scales/.

The parsing is pure (devices/scaleparse.py); this module is the thin transport around it:
open the port by pyserial URL, send the profile's command, frame the bytes, parse the frame.

    scale = Scale("/dev/serial/by-id/usb-FTDI…", "mt-sics")
    r = scale.read_stable(timeout=5)      # Reading, or a ScaleStatus (never a number for a bad state)

    monitor = ScaleMonitor(url, "mt-sics", on_event=print)   # a daemon thread, ~10 events a second
    monitor.start(); …; monitor.stop()
"""

from __future__ import annotations

import os
import termios
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

import serial

from floorkiosk.devices.profiles import (
    Profile,
    ProfileError,
    SerialSettings,
    list_profiles,
    load_profile,
)
from floorkiosk.devices.scaleparse import (
    Ack,
    Framer,
    Parsed,
    Parser,
    Reading,
    ScaleStatus,
    StatusKind,
    same_weight,
    show,
)
from floorkiosk.devices.worker import DeviceWorker, port_trouble
from floorkiosk.errors import FloorkioskError

__all__ = [
    "ProbeResult",
    "Reading",
    "Scale",
    "ScaleError",
    "ScaleMonitor",
    "ScaleStatus",
    "StatusKind",
    "list_profiles",
    "load_profile",
    "probe",
    "same_weight",
]

Event = Reading | ScaleStatus

_PARITY = {"N": serial.PARITY_NONE, "E": serial.PARITY_EVEN, "O": serial.PARITY_ODD, "M": serial.PARITY_MARK, "S": serial.PARITY_SPACE}
_STOPBITS = {1.0: serial.STOPBITS_ONE, 1.5: serial.STOPBITS_ONE_POINT_FIVE, 2.0: serial.STOPBITS_TWO}


class ScaleError(FloorkioskError):
    """A scale command could not be carried out (no tare command, tare refused, port gone)."""


def open_port(url: str, settings: SerialSettings, timeout: float = 0.02) -> serial.SerialBase:
    """Open a pyserial URL (/dev/ttyUSB0, /dev/serial/by-id/…, socket://host:port, loop://)."""
    port = serial.serial_for_url(url, do_not_open=True)
    port.timeout = timeout
    port.write_timeout = 1.0
    # socket:// and loop:// ignore line settings; a real port and a pty take them.
    port.baudrate = settings.baudrate
    port.bytesize = settings.bytesize
    port.parity = _PARITY[settings.parity]
    port.stopbits = _STOPBITS[float(settings.stopbits)]
    port.xonxoff = settings.xonxoff
    port.rtscts = settings.rtscts
    try:
        port.open()
    except termios.error:
        # A pty has no parity or data bits (the kernel keeps it CS8) and Linux at times refuses a
        # 7-bit setting on it with EINVAL; only the baud rate means something there.
        if not _is_pty(url):
            raise
        port.bytesize, port.parity = serial.EIGHTBITS, serial.PARITY_NONE
        port.open()
    return port


def _is_pty(url: str) -> bool:
    return "://" not in url and os.path.realpath(url).startswith("/dev/pts/")


class Scale:
    """One balance on one port, spoken to with one profile. Thread-safe (a lock around the port).

    url          pyserial URL of the port
    profile      profile name ("mt-sics"), path of a .toml, or a Profile
    readability  smallest step in grams (Decimal or str); default from the profile
    serial       optional SerialSettings overriding the profile's (a balance set to 1200 baud)
    unit         the unit the balance is set to show (g, dwt, ct …): what a line without a unit is in
                 (Sartorius SBI blanks the unit while the weight moves); see scaleparse.Parser

    Every read returns a Reading or a ScaleStatus; it never raises for a bad line, silence or a
    lost port (that is a DISCONNECTED status, and the next call opens the port again).
    """

    def __init__(
        self,
        url: str,
        profile: str | Profile,
        readability: Decimal | str | None = None,
        *,
        serial_settings: SerialSettings | None = None,
        unit: str | None = None,
    ) -> None:
        self.url = url
        self.profile = load_profile(profile)
        self.settings = serial_settings or self.profile.serial
        self.parser = Parser(self.profile, readability, unit)
        self.readability = self.parser.readability
        self._framer = Framer(self.profile.end, self.profile.max_frame)
        self._frames: list[tuple[bytes, float]] = []
        self._port: serial.SerialBase | None = None
        self._lock = threading.RLock()
        self._last_poll = 0.0

    # -- transport ---------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._port is not None

    def open(self) -> ScaleStatus | None:
        """Open the port if it is closed; a DISCONNECTED status when it cannot be opened."""
        with self._lock:
            if self._port is not None:
                return None
            try:
                self._port = open_port(self.url, self.settings)
            except (serial.SerialException, OSError, ValueError, termios.error) as exc:
                return self._lost(exc, opening=True)
            self._framer.reset()
            self._frames.clear()
            return None

    def close(self) -> None:
        """Close the port (a later read opens it again)."""
        with self._lock:
            port, self._port = self._port, None
            if port is not None:
                try:
                    port.close()
                except (serial.SerialException, OSError):
                    pass

    def __enter__(self) -> Scale:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def flush(self) -> None:
        """Forget what the balance sent so far (lines streamed before a tare or a unit change)."""
        with self._lock:
            if self._port is not None:
                try:
                    self._discard_input()
                except (serial.SerialException, OSError, termios.error) as exc:
                    self._lost(exc)

    def _lost(self, exc: BaseException, opening: bool = False) -> ScaleStatus:
        was_open = self._port is not None
        self.close()
        if was_open and not opening:
            why = "the port went away (cable unplugged, or the balance switched off)"
        else:
            why = port_trouble(exc)
        return ScaleStatus(StatusKind.DISCONNECTED, f"scale not connected at {self.url}: {why}")

    def _write(self, data: bytes) -> None:
        assert self._port is not None
        gap = self.profile.poll_gap - (time.monotonic() - self._last_poll)
        if gap > 0:
            time.sleep(gap)
        self._port.write(data)
        self._last_poll = time.monotonic()

    def _discard_input(self) -> None:
        # Poll mode: a late reply to an earlier command must not be taken as this one's answer.
        assert self._port is not None
        self._port.reset_input_buffer()
        self._framer.reset()
        self._frames.clear()

    def _next_frame(self, deadline: float) -> tuple[bytes, float] | None:
        """The next complete frame before `deadline`, or None. Raises SerialException if the port goes."""
        port = self._port
        assert port is not None
        while not self._frames:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            # The port's timeout stays fixed (0.02 s): changing it re-runs tcsetattr on every read.
            data = port.read(1)  # returns as soon as one byte is there
            if not data:
                continue
            waiting = port.in_waiting
            if waiting:
                data += port.read(waiting)
            now = time.monotonic()
            self._frames.extend((f, now) for f in self._framer.feed(data))
        return self._frames.pop(0)

    def _silence(self, seconds: float) -> ScaleStatus:
        pending = self._framer.pending
        if pending:
            self._framer.reset()
            return ScaleStatus(
                StatusKind.UNPARSEABLE,
                f"the balance sends bytes that make no line: '{show(pending.decode('latin-1'))}' "
                f"(wrong baud rate? the profile says {self.settings.describe()})",
                pending.decode("latin-1"),
            )
        return ScaleStatus(
            StatusKind.SILENT,
            f"the balance did not answer within {seconds:g} s (is it on, and set to {self.settings.describe()}?)",
        )

    def _await(self, timeout: float, accept_acks: bool = False) -> Parsed:
        """Read frames until one that is a Reading or a status (or an Ack, if asked)."""
        deadline = time.monotonic() + timeout
        while True:
            got = self._next_frame(deadline)
            if got is None:
                return self._silence(timeout)
            parsed = self.parser.parse(got[0], got[1])
            if isinstance(parsed, Ack):
                if accept_acks and not parsed.ignore:
                    return parsed
                continue
            return parsed

    def _exchange(self, command: bytes | None, timeout: float, accept_acks: bool = False) -> Parsed:
        with self._lock:
            lost = self.open()
            if lost is not None:
                return lost
            try:
                if command:
                    self._discard_input()
                    self._write(command)
                return self._await(timeout, accept_acks)
            except (serial.SerialException, OSError, termios.error) as exc:
                return self._lost(exc)

    # -- the interface the kiosk uses ---------------------------------------------------------

    def read_now(self, timeout: float | None = None) -> Event:
        """The weight now, stable or not (poll: the immediate command; continuous: the next line)."""
        timeout = self.profile.reply_timeout if timeout is None else timeout
        cmd = self.profile.command("immediate") if self.profile.mode == "poll" else None
        got = self._exchange(cmd, timeout)
        assert not isinstance(got, Ack)
        return got

    def listen(self, timeout: float = 1.0) -> Event:
        """The next line the balance sends by itself (continuous mode), without sending anything."""
        got = self._exchange(None, timeout)
        assert not isinstance(got, Ack)
        return got

    def read_stable(self, timeout: float = 5.0) -> Event:
        """A stable weight, waiting up to `timeout` seconds for the balance to settle.

        Returns at once on overload, underload, errors, a wrong unit and a lost port. If the
        weight never settles, an UNSTABLE status says so (the last moving value is not returned).
        """
        deadline = time.monotonic() + timeout
        cmd = self.profile.command("stable") or self.profile.command("immediate")
        last: Event | None = None
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            if self.profile.mode == "poll":
                got = self._exchange(cmd, min(left, max(self.profile.reply_timeout * 3, 1.5)))
                immediate = self.profile.command("immediate")
                if isinstance(got, ScaleStatus) and got.kind is StatusKind.SILENT and cmd != immediate:
                    # Balances hold the answer to "stable" until they settle: silence may only mean
                    # "still moving". Ask for the weight now to tell that from a dead line.
                    got = self._exchange(immediate, self.profile.reply_timeout)
            else:
                got = self._exchange(None, left)
            assert not isinstance(got, Ack)
            if (
                isinstance(got, ScaleStatus)
                and got.kind is StatusKind.SILENT
                and last is not None
                and time.monotonic() >= deadline - 0.001
            ):
                break  # the deadline cut the wait for the next line: the weight was moving, not silent
            last = got
            if isinstance(got, Reading):
                if got.stable:
                    return got
            elif got.kind not in (StatusKind.UNSTABLE, StatusKind.BUSY):
                return got
            # S I (not stable in time) and moving readings: ask again until the deadline
        if isinstance(last, ScaleStatus) and last.kind not in (StatusKind.UNSTABLE, StatusKind.BUSY):
            return last
        return ScaleStatus(StatusKind.UNSTABLE, f"the weight did not settle within {timeout:g} s", getattr(last, "raw", ""))

    def _command(self, name: str, what: str, timeout: float) -> None:
        cmd = self.profile.command(name)
        if cmd is None:
            raise ScaleError(f"{self.profile.title} has no {what} command; use the balance's key")
        expects_reply = name in self.profile.confirms
        with self._lock:
            lost = self.open()
            if lost is not None:
                raise ScaleError(lost.message)
            try:
                if self.profile.mode == "poll":
                    self._discard_input()
                self._write(cmd)
                if not expects_reply:
                    return
                deadline = time.monotonic() + timeout
                while True:
                    got = self._next_frame(deadline)
                    if got is None:
                        raise ScaleError(f"the balance did not confirm the {what} within {timeout:g} s")
                    parsed = self.parser.parse(*got)
                    if isinstance(parsed, Ack) and not parsed.ignore:
                        return
                    if isinstance(parsed, ScaleStatus) and parsed.kind not in (StatusKind.UNPARSEABLE,):
                        raise ScaleError(f"{what} not done: {parsed.message}")
                    # weights streaming by (continuous mode) are not the answer; keep reading
            except (serial.SerialException, OSError) as exc:
                raise ScaleError(self._lost(exc).message) from None

    def tare(self, timeout: float = 3.0) -> None:
        """Tare the balance; raises ScaleError with the balance's reason if it refuses."""
        self._command("tare", "tare", timeout)

    def zero(self, timeout: float = 3.0) -> None:
        """Zero the balance; raises ScaleError with the balance's reason if it refuses."""
        self._command("zero", "zero", timeout)


class ScaleMonitor(DeviceWorker):
    """A daemon thread that keeps a live reading of one balance and reconnects by itself.

    on_event(Reading | ScaleStatus) is called from the monitor's thread about 1/interval times a
    second (poll mode), or for every line the balance streams (continuous mode); the kiosk
    marshals it to the UI. A lost port is told once (why, in plain words), then once
    "reconnecting…", while the monitor tries again every `retry` seconds (counted in `retries`),
    so a replugged balance is back within that time and the log is not one line a retry.
    on_stable(Reading), if given, is called once per new stable weight: again only after the
    weight has changed by at least the readability (noise below it is not a new weight).
    """

    def __init__(
        self,
        url: str,
        profile: str | Profile,
        on_event: Callable[[Event], None],
        interval: float = 0.1,
        readability: Decimal | str | None = None,
        *,
        on_stable: Callable[[Reading], None] | None = None,
        retry: float = 0.25,
        serial_settings: SerialSettings | None = None,
        unit: str | None = None,
    ) -> None:
        self.scale = Scale(url, profile, readability, serial_settings=serial_settings, unit=unit)
        self.on_event = on_event
        self.on_stable = on_stable
        self.interval = interval
        self.retry = retry
        self.last: Event | None = None
        self.last_stable: Reading | None = None
        self.retries = 0  # failed attempts to open the port again since it was lost
        self._init_worker()

    @property
    def profile(self) -> Profile:
        return self.scale.profile

    def _thread_name(self) -> str:
        return f"scale {self.scale.url}"

    def stop(self, timeout: float = 2.0) -> None:
        super().stop(timeout)
        self.scale.close()

    def tare(self) -> None:
        """Tare from the kiosk's thread; the lock around the port keeps it between two polls."""
        self.scale.tare()

    def zero(self) -> None:
        """Zero from the kiosk's thread (see tare)."""
        self.scale.zero()

    def _emit(self, event: Event) -> None:
        self.last = event
        try:
            self.on_event(event)
        except Exception:  # a broken listener must not kill the device thread
            pass
        if isinstance(event, Reading) and event.stable and self.on_stable is not None:
            if self.last_stable is None or not same_weight(event, self.last_stable, self.scale.readability):
                self.last_stable = event
                try:
                    self.on_stable(event)
                except Exception:
                    pass

    def _run(self) -> None:
        scale = self.scale
        poll = scale.profile.mode == "poll"
        silent_after = max(scale.profile.reply_timeout, 1.0)
        down = False
        while not self._stop.is_set():
            started = time.monotonic()
            event = scale.read_now() if poll else scale.listen(silent_after)
            if isinstance(event, ScaleStatus) and event.kind is StatusKind.DISCONNECTED:
                if not down:
                    down = True
                    self._emit(event)  # why, once
                else:
                    self.retries += 1
                    if self.retries == 1:
                        self._emit(ScaleStatus(StatusKind.DISCONNECTED, "reconnecting…", received=time.monotonic()))
                self._stop.wait(self.retry)
                continue
            down, self.retries = False, 0
            self._emit(event)
            if poll:
                self._stop.wait(max(0.0, self.interval - (time.monotonic() - started)))


# -- probing an unknown balance ----------------------------------------------------------------

COMMON_SETTINGS = (
    SerialSettings(9600, 8, "N", 1),
    SerialSettings(2400, 7, "E", 1),
    SerialSettings(9600, 7, "E", 1),
    SerialSettings(9600, 7, "O", 1),
    SerialSettings(4800, 8, "N", 1),
    SerialSettings(1200, 7, "O", 1),
    SerialSettings(19200, 8, "N", 1),
    SerialSettings(2400, 8, "N", 1),
)


@dataclass(frozen=True)
class ProbeResult:
    """What answered on a port: the profile, the serial settings, and the first thing it said."""

    profile: str
    settings: SerialSettings
    event: Event

    @property
    def weighs(self) -> bool:
        """True when the balance answered with a weight (not only an error to our command)."""
        return isinstance(self.event, Reading) or self.event.kind in (
            StatusKind.OVERLOAD, StatusKind.UNDERLOAD, StatusKind.UNSTABLE, StatusKind.BUSY, StatusKind.WRONG_UNIT)


def probe(
    url: str,
    profiles: Iterable[str] | None = None,
    settings: Iterable[SerialSettings] | None = None,
    timeout: float = 0.4,
    first_only: bool = True,
    heard: list[tuple[SerialSettings, str]] | None = None,
) -> list[ProbeResult]:
    """Try each profile at its own settings, then at the common ones, and report what answered.

    A weight (or an overload…) is an answer; an error reply such as ES only says that something
    is there, and is reported after the weights. Stops at the first weight unless first_only=False.
    What arrived but no profile could read (garbage: a wrong baud rate, noise, another device on
    the port) is appended to `heard`, as (settings, the bytes as text), once per setting.
    """
    names = list(profiles) if profiles is not None else list_profiles()
    loaded = []
    for n in names:
        try:
            loaded.append(load_profile(n))
        except ProfileError:
            continue
    loaded.sort(key=lambda p: p.extends is not None)  # a family's base profile before its dialects
    trials: list[tuple[Profile, SerialSettings]] = [(p, p.serial) for p in loaded]
    for s in settings if settings is not None else COMMON_SETTINGS:
        trials += [(p, s) for p in loaded if s != p.serial]
    found: list[ProbeResult] = []
    others: list[ProbeResult] = []
    for prof, s in trials:
        scale = Scale(url, prof, serial_settings=s)
        try:
            if scale.open() is None and prof.mode == "poll":
                # End whatever the previous trial left half-sent in the balance's input (a bare
                # "w" waits there for more, and turns our next command into a syntax error).
                scale._write(b"\r\n")
                time.sleep(0.05)
            ev = scale.read_now(timeout)
        finally:
            scale.close()
        if isinstance(ev, ScaleStatus) and ev.kind is StatusKind.DISCONNECTED:
            raise ScaleError(ev.message)
        if isinstance(ev, ScaleStatus) and ev.kind in (StatusKind.SILENT, StatusKind.UNPARSEABLE):
            if ev.kind is StatusKind.UNPARSEABLE and ev.raw and heard is not None and all(h[0] != s for h in heard):
                heard.append((s, ev.raw))
            continue
        result = ProbeResult(prof.name, s, ev)
        if result.weighs:
            found.append(result)
            if first_only:
                break
        elif not any(o.settings == s for o in others):
            others.append(result)
    return found + others
