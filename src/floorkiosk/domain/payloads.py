"""The scan payload scheme shared by job bags, batch bags, badges and command cards.

One scheme, short enough for Code 128 at 203 dpi on a 50 mm label:

    FK:J:J000123      a job bag
    FK:B:B0042        a batch bag
    FK:P:B1001        a person's badge (the badge code from people.toml)
    FK:C:START        a command card
    FK:S:SP0007       a stone parcel
    FK:T:M12          a tool (a mold, flask, die or fixture of tools.toml)

A bare job number typed by hand also works: ``J000123``, ``j123`` or just ``123``.
Anything else is "not a floorkiosk code" and changes nothing.

Payloads are ASCII. A code holding any other character is refused whole, however much it looks like
one of ours: Arabic-Indic, fullwidth or mathematical digits (``J٠٠٠٠١١``, ``J００００１１``) pass
Python's ``\\d`` and ``int()`` and would otherwise open J000011.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

PREFIX = "FK"


class Kind(str, Enum):
    JOB = "J"
    BATCH = "B"
    BADGE = "P"
    COMMAND = "C"
    STONE_PARCEL = "S"
    TOOL = "T"


COMMANDS = ("START", "FINISH", "WEIGH", "PHOTO", "ACCEPT", "CANCEL", "HOLD", "VERIFY", "REJECT", "LOGOUT", "BATCH",
            "PAUSE", "RESUME", "CAPACITY")

_JOB_RE = re.compile(r"^[Jj]?0*([0-9]{1,9})$", re.ASCII)
_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$", re.ASCII)
_SPACE = " \t\r\n\v\f"  # what a scanner or a hand may add around a code: ASCII white space only


def _shown(c: str) -> str:
    """A character as the refusal shows it: itself if plain printable ASCII, else its code point."""
    if c.isascii() and c.isprintable():
        return c
    n = ord(c)
    return f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}" if n < 0x10000 else f"\\U{n:08x}"


class NotOurCode(ValueError):
    """A scan that is not a floorkiosk code: the message says what was read."""

    def __init__(self, raw: str, why: str = "") -> None:
        shown = raw if len(raw) <= 60 else raw[:57] + "..."
        printable = "".join(_shown(c) for c in shown)
        msg = f"not a floorkiosk code: read {printable!r}"
        if why:
            msg += f" ({why})"
        super().__init__(msg)
        self.raw = raw


@dataclass(frozen=True)
class Payload:
    kind: Kind
    value: str

    def encode(self) -> str:
        return f"{PREFIX}:{self.kind.value}:{self.value}"


def job_number(n: int) -> str:
    """The canonical job number for a serial: 123 -> J000123."""
    return f"J{n:06d}"


def normalize_job(text: str) -> str | None:
    """The canonical job number of a typed or printed one; None unless it is ASCII digits (J000123, j123, 123)."""
    text = text.strip(_SPACE)
    if not text.isascii():
        return None
    m = _JOB_RE.match(text)
    if not m:
        return None
    return job_number(int(m.group(1)))


def encode(kind: Kind, value: str) -> str:
    if kind is Kind.JOB:
        norm = normalize_job(value)
        if norm is None:
            raise ValueError(f"not a job number: {value!r}")
        value = norm
    elif kind is Kind.COMMAND:
        value = value.upper()
        if value not in COMMANDS:
            raise ValueError(f"unknown command {value!r}; known: {', '.join(COMMANDS)}")
    elif not _CODE_RE.match(value):
        raise ValueError(f"{kind.name.lower()} code {value!r} must be 1-32 letters, digits, '.', '_' or '-'")
    return Payload(kind, value).encode()


def decode(raw: str) -> Payload:
    """Read a scan; raise NotOurCode for anything that is not ours."""
    text = raw.strip(_SPACE)
    if not text:
        raise NotOurCode(raw, "empty scan")
    if not text.isascii():
        raise NotOurCode(raw, "characters outside ASCII: no code of ours holds them")
    parts = text.split(":")
    if len(parts) == 3 and parts[0].upper() == PREFIX:
        kind_s, value = parts[1].upper(), parts[2].strip()
        try:
            kind = Kind(kind_s)
        except ValueError:
            raise NotOurCode(raw, f"unknown kind {parts[1]!r}") from None
        if kind is Kind.JOB:
            norm = normalize_job(value)
            if norm is None:
                raise NotOurCode(raw, "damaged job number")
            return Payload(kind, norm)
        if kind is Kind.COMMAND:
            if value.upper() not in COMMANDS:
                raise NotOurCode(raw, f"unknown command {value!r}")
            return Payload(kind, value.upper())
        if not _CODE_RE.match(value):
            raise NotOurCode(raw, "damaged code")
        return Payload(kind, value)
    norm = normalize_job(text)
    if norm is not None:
        return Payload(Kind.JOB, norm)
    if text.upper() in COMMANDS:
        return Payload(Kind.COMMAND, text.upper())
    raise NotOurCode(raw)
