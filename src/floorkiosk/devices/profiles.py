"""Scale protocol profiles: the per-model facts read from drivers/scales/*.toml, validated once."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

from floorkiosk.domain import units
from floorkiosk.errors import FloorkioskError
from floorkiosk.paths import drivers_dir

# What a reply line can mean. "weight" carries a number; every other kind never does.
REPLY_KINDS = ("weight", "overload", "underload", "unstable", "busy", "error", "ack", "ignore", "bits")
STATUS_KINDS = ("overload", "underload", "unstable", "busy", "error")
COMMAND_NAMES = ("stable", "immediate", "tare", "zero", "continuous_start", "continuous_stop")


class ProfileError(FloorkioskError):
    """A scale profile is missing, or its TOML does not describe a usable protocol."""


@dataclass(frozen=True)
class SerialSettings:
    """Line settings of the balance's RS-232 port (must match the balance's menu)."""

    baudrate: int = 9600
    bytesize: int = 8  # 7 or 8 data bits
    parity: str = "N"  # N, E, O (pyserial's PARITY_* letters)
    stopbits: float = 1
    xonxoff: bool = False
    rtscts: bool = False

    def describe(self) -> str:
        stop = int(self.stopbits) if self.stopbits == int(self.stopbits) else self.stopbits
        return f"{self.baudrate} {self.bytesize}{self.parity}{stop}"


@dataclass(frozen=True)
class BitRule:
    """One bit of a status byte (Toledo 8217): when set, the reply means `kind`."""

    bit: int
    kind: str
    message: str


@dataclass(frozen=True)
class ReplyRule:
    """One kind of line the balance sends, recognised by a regular expression.

    kind        what the line means (see REPLY_KINDS)
    pattern     regex searched in the line (terminator bytes removed, padding kept)
    message     for non-weight kinds: what a person is told; may use {group} names and {code_text}
    codes       code -> explanation, looked up with the `code` group (A&D EC,Exx; MT-SICS Error nn)
    For weights: groups `value` (required), `sign`, `unit`; stability from `stable_group` whose
    stripped text is in `stable_values` (or not in `unstable_values`); a rule without a stability
    group means the balance only sends this line when stable (`always_stable`). Net/gross from
    `net_group` in `net_values` / `gross_values`, else `net_default`.
    """

    kind: str
    pattern: re.Pattern[str]
    message: str = ""
    codes: dict[str, str] = field(default_factory=dict)
    stable_group: str | None = None
    stable_values: tuple[str, ...] = ()
    unstable_values: tuple[str, ...] = ()
    always_stable: bool = False
    net_group: str | None = None
    net_values: tuple[str, ...] = ()
    gross_values: tuple[str, ...] = ()
    net_default: bool | None = None
    bits: tuple[BitRule, ...] = ()
    status_group: str = "status"


@dataclass(frozen=True)
class Profile:
    """Everything the generic driver and the simulator need to talk to one family of balances.

    name            file stem, e.g. "mt-sics"
    title           what a person calls it ("Mettler Toledo MT-SICS")
    source          where the facts come from (the reference notes, manuals)
    mode            "poll" (send a command, read a reply) or "continuous" (the balance streams)
    serial          the port settings
    end             bytes that end a reply frame (any one of them)
    max_frame       a frame longer than this without a terminator is garbage (wrong baud rate)
    commands        name -> bytes: stable, immediate, tare, zero, continuous_start, continuous_stop
    replies         ReplyRules, tried in order; the first that matches wins
    units           the balance's unit text -> floorkiosk unit (g, mg, ct, dwt, ozt, oz, gr, kg)
    default_unit    unit of frames that carry none (Toledo 8217) or a blank unit (unstable SBI)
    readability     smallest step in grams; differences below it are noise
    stability       "flag" (the balance says), "window" (the last `window` values agree within
                    readability), or "both"
    reply_timeout   seconds to wait for a reply to a command
    poll_gap        least seconds between two polls (KERN KCP asks for 100 ms)
    confirms        commands the balance answers (MT-SICS "T S …", OHAUS "OK!"): the driver waits
                    for that reply and reports a refusal; others are sent and not waited for
    sim             the simulator's templates (see devices/sim.py)
    """

    name: str
    title: str
    source: str
    mode: str
    serial: SerialSettings
    end: bytes
    max_frame: int
    commands: dict[str, bytes]
    replies: tuple[ReplyRule, ...]
    units: dict[str, str]
    default_unit: str | None
    readability: Decimal | None
    stability: str
    window: int
    reply_timeout: float
    poll_gap: float
    confirms: tuple[str, ...]
    sim: dict[str, Any]
    extends: str | None = None

    def command(self, name: str) -> bytes | None:
        return self.commands.get(name) or None

    def device_unit(self, unit: str) -> str | None:
        """The balance's text for a floorkiosk unit (first listed wins), or None if it has none."""
        for text, canon in self.units.items():
            if canon == unit:
                return text
        return None


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = v  # arrays (reply lists) are replaced, not appended: order matters
    return out


def list_profiles() -> list[str]:
    """Names of the scale profiles shipped in drivers/scales/ (file stems), sorted."""
    return sorted(p.stem for p in (drivers_dir() / "scales").glob("*.toml"))


def _read_raw(name_or_path: str, seen: tuple[str, ...] = ()) -> tuple[dict[str, Any], str]:
    path = Path(name_or_path)
    if not (path.suffix == ".toml" and path.is_file()):
        path = drivers_dir() / "scales" / f"{name_or_path}.toml"
    if not path.is_file():
        raise ProfileError(f"no scale profile {name_or_path!r}; known: {', '.join(list_profiles())}")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{path}: {exc}") from None
    parent = raw.pop("extends", None)
    if parent:
        raw["_extends"] = parent
        if parent in seen:
            raise ProfileError(f"{path}: profile inheritance loops through {parent!r}")
        base, _ = _read_raw(parent, seen + (path.stem,))
        base.pop("name", None)
        raw = _deep_merge(base, raw)
    return raw, str(path)


def _enc(s: str) -> bytes:
    # Profiles write control bytes as TOML escapes ("\u001bP" for ESC P); they are all < 0x100.
    return s.encode("latin-1")


def _build_rule(where: str, i: int, r: dict[str, Any]) -> ReplyRule:
    kind = r.get("kind")
    if kind not in REPLY_KINDS:
        raise ProfileError(f"{where}: reply {i}: kind must be one of {', '.join(REPLY_KINDS)}, not {kind!r}")
    try:
        pattern = re.compile(r["pattern"])
    except KeyError:
        raise ProfileError(f"{where}: reply {i}: no pattern") from None
    except re.error as exc:
        raise ProfileError(f"{where}: reply {i}: bad pattern: {exc}") from None
    if kind == "weight" and "value" not in pattern.groupindex:
        raise ProfileError(f"{where}: reply {i}: a weight pattern needs a (?P<value>…) group")
    bits = []
    for b in r.get("bits", []):
        if b.get("kind") not in STATUS_KINDS:
            raise ProfileError(f"{where}: reply {i}: bit {b.get('bit')} kind must be one of {STATUS_KINDS}")
        bits.append(BitRule(int(b["bit"]), b["kind"], b.get("message", "")))
    stable_group = r.get("stable_group")
    if kind == "weight" and stable_group and stable_group not in pattern.groupindex:
        raise ProfileError(f"{where}: reply {i}: stable_group {stable_group!r} is not a group of the pattern")
    return ReplyRule(
        kind=kind,
        pattern=pattern,
        message=r.get("message", ""),
        codes={str(k): str(v) for k, v in r.get("codes", {}).items()},
        stable_group=stable_group,
        stable_values=tuple(r.get("stable_values", ())),
        unstable_values=tuple(r.get("unstable_values", ())),
        always_stable=bool(r.get("always_stable", False)),
        net_group=r.get("net_group"),
        net_values=tuple(r.get("net_values", ())),
        gross_values=tuple(r.get("gross_values", ())),
        net_default=r.get("net_default"),
        bits=tuple(bits),
        status_group=r.get("status_group", "status"),
    )


def profile_from_dict(raw: dict[str, Any], where: str = "<profile>", name: str | None = None) -> Profile:
    """Validate a profile table (as read from TOML) into a Profile; every problem names the file."""
    name = name or raw.get("name") or Path(where).stem
    mode = raw.get("mode", "poll")
    if mode not in ("poll", "continuous"):
        raise ProfileError(f"{where}: mode must be 'poll' or 'continuous', not {mode!r}")
    s = raw.get("serial", {})
    parity = str(s.get("parity", "N")).upper()[:1]
    if parity not in "NEOMS":
        raise ProfileError(f"{where}: serial.parity must be N, E or O")
    serial = SerialSettings(
        baudrate=int(s.get("baudrate", 9600)),
        bytesize=int(s.get("bytesize", 8)),
        parity=parity,
        stopbits=float(s.get("stopbits", 1)),
        xonxoff=bool(s.get("xonxoff", False)),
        rtscts=bool(s.get("rtscts", False)),
    )
    commands = {}
    for k, v in raw.get("commands", {}).items():
        if k not in COMMAND_NAMES:
            raise ProfileError(f"{where}: unknown command {k!r}; known: {', '.join(COMMAND_NAMES)}")
        commands[k] = _enc(v)
    if mode == "poll" and not commands.get("immediate"):
        raise ProfileError(f"{where}: a poll-mode profile needs commands.immediate")
    replies = tuple(_build_rule(where, i, r) for i, r in enumerate(raw.get("reply", []), 1))
    if not any(r.kind == "weight" for r in replies):
        raise ProfileError(f"{where}: no reply of kind 'weight'")
    unit_map = {str(k): str(v) for k, v in raw.get("units", {}).items()}
    for text, canon in unit_map.items():
        if canon not in units.GRAMS_PER:
            raise ProfileError(f"{where}: units.{text} = {canon!r} is not a floorkiosk unit")
    default_unit = raw.get("default_unit")
    if default_unit is not None and default_unit not in units.GRAMS_PER:
        raise ProfileError(f"{where}: default_unit {default_unit!r} is not a floorkiosk unit")
    readability = None
    if raw.get("readability") is not None:
        try:
            readability = Decimal(str(raw["readability"]))
        except InvalidOperation:
            raise ProfileError(f"{where}: readability must be a number of grams") from None
    stability = raw.get("stability", {}).get("rule", "flag")
    if stability not in ("flag", "window", "both"):
        raise ProfileError(f"{where}: stability.rule must be flag, window or both")
    end = _enc(raw.get("framing", {}).get("end", "\r\n"))
    if not end:
        raise ProfileError(f"{where}: framing.end must name at least one byte")
    return Profile(
        name=name,
        title=raw.get("title", name),
        source=raw.get("source", ""),
        mode=mode,
        serial=serial,
        end=end,
        max_frame=int(raw.get("framing", {}).get("max_frame", 128)),
        commands=commands,
        replies=replies,
        units=unit_map,
        default_unit=default_unit,
        readability=readability,
        stability=stability,
        window=int(raw.get("stability", {}).get("window", 5)),
        reply_timeout=float(raw.get("reply_timeout", 0.5)),
        poll_gap=float(raw.get("poll_gap", 0.0)),
        confirms=tuple(raw.get("confirms", ())),
        extends=raw.get("_extends"),
        sim=raw.get("sim", {}),
    )


@lru_cache(maxsize=64)
def _load_cached(name_or_path: str) -> Profile:
    raw, where = _read_raw(name_or_path)
    return profile_from_dict(raw, where, name=raw.get("name") or Path(where).stem)


def load_profile(name: str | Profile) -> Profile:
    """Load a profile by name ("mt-sics") or by the path of a .toml file; a Profile passes through."""
    if isinstance(name, Profile):
        return name
    return _load_cached(str(name))
