"""The real lines quoted in shared/reference/scale-protocols.md, parsed and read through a real pty."""

from __future__ import annotations

from decimal import Decimal

import pytest

from floorkiosk.devices.profiles import list_profiles, load_profile
from floorkiosk.devices.scaleparse import (
    Ack,
    Framer,
    Parser,
    Reading,
    ScaleStatus,
    StatusKind,
)
from floorkiosk.devices.scales import Scale

W = "weight"
S = StatusKind

# (profile, line as sent incl. terminator, expected): expected is (value, unit, stable, net) for a
# weight, a StatusKind for a state, or "ack". Sources are the tags in the reference file.
REAL_LINES = [
    # MT-SICS §1.4 [R Atlantis tests, metosi, AT/AL manuals, pylabrobot]
    ("mt-sics", b"S S     100.00 g\r\n", ("100.00", "g", True, None)),
    ("mt-sics", b"S D     129.07 g\r\n", ("129.07", "g", False, None)),
    ("mt-sics", b"S S    -12.345 g\r\n", ("-12.345", "g", True, None)),
    ("mt-sics", b"S S12345678.12 g\r\n", None),  # metosi: the field can overflow; no space after S S
    ("mt-sics", b"S I\r\n", S.BUSY),
    ("mt-sics", b"S +\r\n", S.OVERLOAD),
    ("mt-sics", b"S -\r\n", S.UNDERLOAD),
    ("mt-sics", b"ES\r\n", S.ERROR),
    ("mt-sics", b"ET\r\n", S.ERROR),
    ("mt-sics", b"EL\r\n", S.ERROR),
    ("mt-sics", b"S S Error 10b\r\n", S.ERROR),
    ("mt-sics", b"T S     50.000 g\r\n", "ack"),
    ("mt-sics", b"Z A\r\n", "ack"),
    ("mt-sics", b"T I\r\n", S.ERROR),
    ("kern-kcp", b"S S     100.00 g\r\n", ("100.00", "g", True, None)),
    ("kern-kcp", b"S D     129.07 g\r\n", ("129.07", "g", False, None)),
    ("kern-kcp", b"S +\r\n", S.OVERLOAD),
    # OHAUS §2.3 [R Navigator, RS232, AS manuals]
    ("ohaus", b"     192.21 g\r\n", ("192.21", "g", True, None)),
    ("ohaus", b"       0.01 g ?\r\n", ("0.01", "g", False, None)),
    ("ohaus", b"       0.01 g    00:00:15\r\n", ("0.01", "g", True, None)),
    ("ohaus", b"     207.80 g TOTAL\r\n", ("207.80", "g", True, None)),
    ("ohaus", b"        0.00 g     \r\n", ("0.00", "g", True, None)),
    ("ohaus", b"       12.73 g    ?\r\n", ("12.73", "g", False, None)),
    ("ohaus", b"      0.4500 oz    \r\n", ("0.4500", "oz", True, None)),
    ("ohaus", b"           3 PCS  ?\r\n", S.WRONG_UNIT),
    ("ohaus", b"OK!\r\n", "ack"),
    ("ohaus", b"ES\r\n", S.ERROR),
    # A&D §3.3 [R GX-A p16, GH, EK-i/EJ, GC]
    ("and-standard", b"ST,+00123.45  g\r\n", ("123.45", "g", True, None)),
    ("and-standard", b"US,-00183.96  g\r\n", ("-183.96", "g", False, None)),
    ("and-standard", b"QT,+00012345 PC\r\n", S.WRONG_UNIT),
    ("and-standard", b"ST,+00123.4  %\r\n", S.WRONG_UNIT),
    ("and-standard", b"OL,+999999.9  g\r\n", S.OVERLOAD),
    ("and-standard", b"OL,-99999999 PC\r\n", S.UNDERLOAD),
    ("and-standard", b"OL,+9999999E+19\r\n", S.OVERLOAD),
    ("and-standard", b"ST,OK,+0001.234 kg\r\n", ("1.234", "kg", True, None)),
    ("and-standard", b"WT,+001.2346 kg\r\n", ("1.2346", "kg", True, None)),
    ("and-standard", b"EC,E11\r\n", S.ERROR),
    # Sartorius SBI §4.3-4.4 [R sartoriuslib captures, Master/MC1 manuals]
    ("sartorius-sbi16", b"+     0.00 g  \r\n", ("0.00", "g", True, None)),
    ("sartorius-sbi16", b"+   1255.7 g  \r\n", ("1255.7", "g", True, None)),
    ("sartorius-sbi16", b"-   12.345 mg \r\n", ("-12.345", "mg", True, None)),
    ("sartorius-sbi16", b"+150.11775 g  \r\n", ("150.11775", "g", True, None)),
    ("sartorius-sbi16", b"Stat     Cal.Int.\r\n", S.BUSY),
    ("sartorius-sbi16", b"WZA8202-N\r\n", "ignore"),
    ("sartorius-wza-autoprint", b"+     0.00 g  \r\n", ("0.00", "g", True, None)),
    ("sartorius-wza-autoprint", b"+   1255.7 g  \r\n", ("1255.7", "g", True, None)),
    ("sartorius-sbi22", b"N     +    0.006 g  \r\n", ("0.006", "g", True, True)),
    ("sartorius-sbi22", b"N     +    0.031    \r\n", ("0.031", "g", False, True)),
    ("sartorius-sbi22", b"SerNo.    0031801165\r\n", "ignore"),
    ("sartorius-sbi22", b"Stat     Cal.Int.\r\n", S.BUSY),
    ("sartorius-sbi22", b"Stat High\r\n", S.OVERLOAD),
    ("sartorius-sbi22", b"Stat Low\r\n", S.UNDERLOAD),
    # KERN tws §5.2 [I layout from the PCB table; R "Error"]
    ("kern-legacy", b"       12.34 g  \r\n", ("12.34", "g", True, None)),
    ("kern-legacy", b"       12.34    \r\n", ("12.34", "g", False, None)),
    ("kern-legacy", b"           Error\r\n", S.ERROR),
    # Toledo 8217 §5.4 [R DIVA manual: STX weight (N) CR, STX ? status CR]
    ("toledo-8217", b"\x0200.500\r", ("0.500", "kg", True, False)),
    ("toledo-8217", b"\x0201.250N\r", ("1.250", "kg", True, True)),
    ("toledo-8217", b"\x02?A\r", S.UNSTABLE),
    ("toledo-8217", b"\x02?B\r", S.OVERLOAD),
    ("toledo-8217", b"\x02?D\r", S.UNDERLOAD),
    ("toledo-8217", b"\x02?H\r", S.ERROR),
    ("toledo-8217", b"\x02?P\r", "ack"),
    # Adam §5.3 [R layout words; I padding] and the ST,GS family
    ("adam", b"ST,GS,+   123.45 g  \r\n", ("123.45", "g", True, False)),
    ("adam", b"US,NT,-     1.20 dwt\r\n", ("-1.20", "dwt", False, True)),
    ("adam", b"ST,GS 1.000KG\r\n", None),  # KERN industrial capital KG: not an Adam unit text
    # Shinko Vibra §6 [R Vibra HG examples]
    ("shinko-vibra", b"+00123.4 G S\r\n", ("123.4", "g", True, None)),
    ("shinko-vibra", b"-65.4321KG U\r\n", ("-65.4321", "kg", False, None)),
    ("shinko-vibra", b"+00123.4 G E\r\n", S.ERROR),
    ("shinko-vibra", b"+001/23.4 G S\r\n", ("123.4", "g", True, None)),
    # a user's pattern
    ("generic-stream", b"Net: 3.456 dwt\r\n", ("3.456", "dwt", False, None)),
    ("generic-stream", b"  -0.5 ct\r\n", ("-0.5", "ct", False, None)),
]


def _parse_one(profile: str, line: bytes):
    p = load_profile(profile)
    frames = Framer(p.end, p.max_frame).feed(line)
    assert len(frames) == 1
    return Parser(p, unit=None if p.default_unit else "g").parse(frames[0])  # set to grams, as a bench says


def _check(result, expected) -> None:
    if expected is None:
        assert isinstance(result, ScaleStatus), result
        assert result.kind in (StatusKind.UNPARSEABLE, StatusKind.WRONG_UNIT)
        return
    if isinstance(expected, tuple):
        value, unit, stable, net = expected
        assert isinstance(result, Reading), result
        assert result.value == Decimal(value)
        assert result.unit == unit
        assert result.stable is stable
        assert result.net is net
        return
    if expected in ("ack", "ignore"):
        assert isinstance(result, Ack) and result.ignore is (expected == "ignore"), result
        return
    assert isinstance(result, ScaleStatus), result
    assert result.kind is expected
    assert len(result.message) > 10 and not hasattr(result, "grams")  # words for a person, no number


@pytest.mark.parametrize("profile,line,expected", REAL_LINES, ids=[f"{p}:{l!r}" for p, l, _ in REAL_LINES])
def test_real_line_parses(profile, line, expected):
    _check(_parse_one(profile, line), expected)


def test_every_profile_has_real_lines():
    covered = {p for p, _, _ in REAL_LINES}
    assert covered == set(list_profiles())


def _weights_and_states(profile: str):
    """One stable weight line and, if any, the status lines of a profile from REAL_LINES."""
    rows = [(line, exp) for p, line, exp in REAL_LINES if p == profile and exp not in ("ack", "ignore", None)]
    return rows


@pytest.mark.parametrize("profile", list_profiles())
def test_real_lines_through_a_pty(profile, raw_pty):
    """Each real line, written by the far end of a pty, read by Scale as a reply or a stream."""
    rows = _weights_and_states(profile)
    prof = load_profile(profile)
    with Scale(raw_pty.path, profile) as scale:
        assert scale.open() is None
        for line, expected in rows:
            if prof.mode == "poll":
                raw_pty.respond(line)
                got = scale.read_now(1.0)
            else:
                raw_pty.write(line)
                got = scale.listen(1.0)
            _check(got, expected)
    if prof.mode == "poll":
        assert raw_pty.received and all(r.startswith(prof.commands["immediate"]) for r in raw_pty.received)


@pytest.mark.parametrize("profile", list_profiles())
def test_reply_split_across_reads(profile, raw_pty):
    line, expected = next((l, e) for l, e in _weights_and_states(profile) if isinstance(e, tuple))
    prof = load_profile(profile)
    pieces = [line[:3], line[3:7], line[7:-1], line[-1:]]
    with Scale(raw_pty.path, profile) as scale:
        scale.open()
        if prof.mode == "poll":
            raw_pty.respond(pieces)
            got = scale.read_now(1.0)
        else:
            raw_pty.write(*pieces)
            got = scale.listen(1.0)
    _check(got, expected)


@pytest.mark.parametrize("profile", list_profiles())
def test_replies_merged_into_one_read(profile, raw_pty):
    """Two lines in one write (a streaming balance, or a late reply) come out as two events."""
    rows = _weights_and_states(profile)
    (l1, e1), (l2, e2) = rows[0], rows[1]
    with Scale(raw_pty.path, profile) as scale:
        scale.open()
        raw_pty.write(l1 + l2)
        _check(scale.listen(1.0), e1)
        _check(scale.listen(1.0), e2)


@pytest.mark.parametrize("profile", list_profiles())
def test_garbage_bytes_before_a_line(profile, raw_pty):
    """Noise on the line is its own unparseable event; the real line after it still reads."""
    line, expected = next((l, e) for l, e in _weights_and_states(profile) if isinstance(e, tuple))
    end = load_profile(profile).end[-1:]
    with Scale(raw_pty.path, profile) as scale:
        scale.open()
        raw_pty.write(b"\x93\xa5\xff\x00~#" + end + line)
        first = scale.listen(1.0)
        assert isinstance(first, ScaleStatus) and first.kind is StatusKind.UNPARSEABLE
        assert "unreadable" in first.message
        _check(scale.listen(1.0), expected)
