"""Pure scale protocol parsing: bytes in, frames out, frames into typed readings or states. No I/O."""

from __future__ import annotations

import enum
import re
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from floorkiosk.devices.profiles import Profile, ReplyRule
from floorkiosk.domain import units


@dataclass(frozen=True)
class Reading:
    """A weight the balance reported.

    value     the number as the balance printed it, in `unit`
    unit      floorkiosk unit name: g, mg, kg, ct, dwt, ozt, oz, gr
    grams     the same weight in grams, converted exactly (1 ct = 0.2 g, 1 dwt = 1.55517384 g …)
    stable    the balance (or the stability rule of the profile) says the weight has settled
    net       True for a net weight (after tare), False for gross, None when the line does not say
    raw       the line as received, terminator removed
    received  time.monotonic() when the frame's last byte was read (0 when parsed offline)
    """

    value: Decimal
    unit: str
    grams: Decimal
    stable: bool
    net: bool | None
    raw: str
    received: float = field(default=0.0, compare=False)


class StatusKind(str, enum.Enum):
    """The states a balance can be in when it gives no number."""

    OVERLOAD = "overload"  # above capacity
    UNDERLOAD = "underload"  # below zero range (pan lifted, negative beyond range)
    UNSTABLE = "unstable"  # moving; this protocol sends no number while moving
    BUSY = "busy"  # cannot answer now (taring, or not stable in time)
    ERROR = "error"  # the balance reports an error or refused a command
    WRONG_UNIT = "wrong_unit"  # the balance shows pieces, %, lb … not a weight unit we convert
    UNPARSEABLE = "unparseable"  # bytes that are no line of this protocol (wrong profile or baud rate)
    DISCONNECTED = "disconnected"  # the port is gone or cannot be opened
    SILENT = "silent"  # the port is open but the balance says nothing


@dataclass(frozen=True)
class ScaleStatus:
    """A non-number state of the balance, with a message a person at the bench can act on."""

    kind: StatusKind
    message: str
    raw: str = ""
    received: float = field(default=0.0, compare=False)

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Ack:
    """A reply that confirms a command (tare done, OK!) or carries nothing the kiosk shows."""

    raw: str
    ignore: bool = False


Parsed = Reading | ScaleStatus | Ack

_SHOWN = re.compile(r"[^\x20-\x7e]")


def show(raw: str, limit: int = 40) -> str:
    """A line as a person can read it: control and 8-bit bytes as \\xNN, cut to `limit` chars."""
    text = _SHOWN.sub(lambda m: f"\\x{ord(m.group()):02x}", raw)
    if len(text) <= limit:
        return text
    out, n = [], 0
    for ch in raw:  # cut between two bytes, never inside a \xNN
        piece = _SHOWN.sub(lambda m: f"\\x{ord(m.group()):02x}", ch)
        if n + len(piece) > limit - 1:
            break
        out.append(piece)
        n += len(piece)
    return "".join(out) + "…"


class Framer:
    """Splits a byte stream into frames at any of the profile's end bytes.

    A reply split across reads is joined; several replies in one read come out one by one.
    Bytes that never reach an end byte within `max_frame` come out as one garbage frame, so a
    wrong baud rate shows up as unreadable data rather than as silence.
    """

    def __init__(self, end: bytes = b"\r\n", max_frame: int = 128) -> None:
        self._end = re.compile(b"[" + re.escape(end) + b"]")
        self._max = max_frame
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        self._buf += data
        frames: list[bytes] = []
        while True:
            m = self._end.search(self._buf)
            if m is None:
                if len(self._buf) > self._max:
                    frames.append(bytes(self._buf))
                    self._buf.clear()
                break
            frame = bytes(self._buf[: m.start()])
            del self._buf[: m.end()]
            if frame:  # CR LF leaves an empty frame between the two bytes
                frames.append(frame)
        return frames

    @property
    def pending(self) -> bytes:
        """Bytes received that do not (yet) make a frame."""
        return bytes(self._buf)

    def reset(self) -> None:
        self._buf.clear()


class Parser:
    """Turns frames of one profile into Readings, ScaleStatus or Acks.

    It keeps a little state: the last unit seen (Sartorius and KERN blank the unit while the
    weight moves) and, for the "window" stability rule, the last few values.

    unit  the unit the balance is set to show (the bench's config): what a line without a unit is
          in until the balance names one. Without it (and without the profile's default_unit) a
          moving line that carries no unit is a MOVING status, not a number: it may be in any unit.
    """

    def __init__(self, profile: Profile, readability: Decimal | str | None = None, unit: str | None = None) -> None:
        self.profile = profile
        self.readability = Decimal(str(readability)) if readability is not None else profile.readability
        self.unit = units.canonical_unit(unit) if unit else None
        self.last_unit: str | None = self.unit or profile.default_unit
        self._window: deque[Decimal] = deque(maxlen=max(2, profile.window))

    def parse(self, frame: bytes, received: float = 0.0) -> Parsed:
        text = frame.decode("latin-1")
        for rule in self.profile.replies:
            m = rule.pattern.search(text)
            if m is None:
                continue
            if rule.kind == "weight":
                return self._weight(rule, m, text, received)
            if rule.kind == "bits":
                return self._bits(rule, m, text, received)
            if rule.kind in ("ack", "ignore"):
                return Ack(text, ignore=rule.kind == "ignore")
            return ScaleStatus(StatusKind(rule.kind), _message(rule, m, text), text, received)
        self._window.clear()
        return ScaleStatus(
            StatusKind.UNPARSEABLE,
            f"unreadable reply from the balance: '{show(text)}' "
            f"(is it a {self.profile.title} at {self.profile.serial.describe()}?)",
            text,
            received,
        )

    def _weight(self, rule: ReplyRule, m: re.Match[str], text: str, received: float) -> Parsed:
        g = m.groupdict()
        sign = (g.get("sign") or "").strip()
        number = re.sub(r"[\s/]", "", g["value"] or "")  # Shinko marks the auxiliary digit with '/'
        if number[:1] not in ("+", "-") and sign == "-":
            number = "-" + number
        try:
            value = Decimal(number)
        except InvalidOperation:
            return ScaleStatus(StatusKind.UNPARSEABLE, f"the balance sent no number: '{show(text)}'", text, received)
        unit_text = (g.get("unit") or "").strip()
        if unit_text:
            unit = self.profile.units.get(unit_text)
            if unit is None:
                self._window.clear()
                known = ", ".join(sorted(set(self.profile.units.values())))
                return ScaleStatus(
                    StatusKind.WRONG_UNIT,
                    f"the balance shows '{unit_text}', which is not a weight unit here; set it to one of {known}",
                    text,
                    received,
                )
            self.last_unit = unit
        elif self.last_unit is not None:
            unit = self.last_unit
        elif self._flag_stable(rule, g):
            unit = "g"  # a settled line without a unit, of a balance whose unit nobody gave: grams
        else:
            self._window.clear()
            return ScaleStatus(
                StatusKind.UNSTABLE,
                "the weight is moving (the balance shows no unit while it moves; set the scale's unit "
                "in the bench's config to see it)",
                text,
                received,
            )
        stable = self._flag_stable(rule, g)
        grams = units.to_grams(value, unit)
        if self.profile.stability in ("window", "both"):
            self._window.append(grams)
            settled = len(self._window) == self._window.maxlen and (
                max(self._window) - min(self._window) < (self.readability or Decimal("0.000001"))
            )
            stable = settled if self.profile.stability == "window" else (stable and settled)
        return Reading(value, unit, grams, stable, self._net(rule, g), text, received)

    @staticmethod
    def _flag_stable(rule: ReplyRule, g: dict[str, str | None]) -> bool:
        if rule.always_stable or not rule.stable_group:
            return True
        flag = (g.get(rule.stable_group) or "").strip()
        if rule.stable_values:
            return flag in rule.stable_values
        return flag not in rule.unstable_values

    @staticmethod
    def _net(rule: ReplyRule, g: dict[str, str | None]) -> bool | None:
        if not rule.net_group:
            return rule.net_default
        flag = (g.get(rule.net_group) or "").strip()
        if flag in rule.net_values:
            return True
        if flag in rule.gross_values:
            return False
        return rule.net_default

    def _bits(self, rule: ReplyRule, m: re.Match[str], text: str, received: float) -> Parsed:
        byte = ord((m.group(rule.status_group) or "\0")[0])
        for b in rule.bits:  # listed in priority order: overload before motion
            if byte & (1 << b.bit):
                self._window.clear()
                return ScaleStatus(StatusKind(b.kind), b.message or b.kind, text, received)
        return Ack(text)


def _message(rule: ReplyRule, m: re.Match[str], text: str) -> str:
    g = {k: (v or "").strip() for k, v in m.groupdict().items()}
    code = g.get("code", "")
    g["code_text"] = rule.codes.get(code, rule.codes.get(code.lstrip("0"), ""))
    g["raw"] = show(text)
    try:
        msg = rule.message.format(**g) if rule.message else f"{rule.kind}: '{show(text)}'"
    except (KeyError, IndexError, ValueError):
        msg = rule.message
    return msg.replace(" ()", "").strip()


def same_weight(a: Reading, b: Reading, readability: Decimal | None) -> bool:
    """True when two readings differ by less than the balance's readability (noise, not a change)."""
    step = readability if readability is not None else Decimal(0)
    diff = abs(a.grams - b.grams)
    return diff < step if step else diff == 0
